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


def test_progress_and_export_of_a_view_without_photos_say_use_view(tmp_path, capsys):
    """The same line as ``report`` (exit 2, nothing written), not an empty table with exit 0;
    a patient without any session is an empty course ("no session yet")."""
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        st.add_patient("P2")
        st.import_session(
            "P1", date="2026-01-05", photos=[PhotoImport(str(SAMPLES / "astronaut" / "before.jpg"))]
        )
    store = ["--store", str(tmp_path / "s")]
    out = tmp_path / "e.csv"
    for args in (["progress", "P1"], ["export", "P1", "--csv", "-o", str(out)]):
        assert main([*args, "--view", "body:thigh", *store]) == 2
        (line,) = message_lines(capsys.readouterr().err)
        assert line.endswith("patient P1 has no body:thigh photo (its photos: front); use --view")
    assert not out.exists()
    assert main(["progress", "P2", *store]) == 0
    assert capsys.readouterr().out == "patient P2, front view: 0 session(s)\nno session yet\n"
