"""``mesovision report`` of a course with nothing to report: a patient without a session, or
without a photo of the view asked for, is a usage error naming what there is (exit 2, one
line, nothing written), not an unexpected failure."""

from __future__ import annotations

from conftest import SAMPLES, message_lines

from mesovision.cli import main
from mesovision.store import PhotoImport, Store


def test_a_view_without_photos_or_a_patient_without_sessions_is_said(tmp_path, capsys):
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        st.add_patient("P2")
        st.import_session(
            "P1", date="2026-01-05", photos=[PhotoImport(str(SAMPLES / "astronaut" / "before.jpg"))]
        )
    out = tmp_path / "r.html"
    code = main(
        ["report", "P1", "-o", str(out), "--view", "left-45", "--store", str(tmp_path / "s")]
    )
    assert code == 2
    (line,) = message_lines(capsys.readouterr().err)
    assert line.endswith("patient P1 has no left-45 photo (its photos: front); use --view")
    code = main(["report", "P2", "-o", str(out), "--store", str(tmp_path / "s")])
    assert code == 2
    (line,) = message_lines(capsys.readouterr().err)
    assert line.endswith("patient P2 has no session yet: nothing to report")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["s"]
