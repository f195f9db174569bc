"""What the course commands print around a comparison the photos refuse: ``progress`` names
each comparison by session id and date, ``export`` and ``report`` do not repeat the course's
notes as warnings (``export`` says in one line what has no rows; a failing ``report`` prints
its one-line error only). The refused pair (a face too small: 28 px between the eyes, limit
30) is found in about a second."""

from __future__ import annotations

import csv
import io
import json

from conftest import SAMPLES, message_lines, run_cli
from PIL import Image

from mesovision.store import PhotoImport, Store

FACE = SAMPLES / "grace_hopper"


def _refused_course(tmp_path):
    """Patient P4: a baseline, then two sessions on one date whose photo is too small."""
    small = tmp_path / "small.png"
    small2 = tmp_path / "small2.png"
    with Image.open(FACE / "before.jpg") as im:
        im.resize((im.width // 6, im.height // 6)).save(small)
        im.resize((im.width // 6 + 1, im.height // 6 + 1)).save(small2)
    store = tmp_path / "s"
    with Store(store) as st:
        st.add_patient("P4")
        ids = [
            st.import_session("P4", date=d, photos=[PhotoImport(str(p))])["id"]
            for d, p in (("2026-01-01", FACE / "before.jpg"), ("2026-01-15", small),
                         ("2026-01-15", small2))
        ]  # fmt: skip
    return store, ids


def test_course_notes_are_not_repeated_as_warnings(tmp_path):
    store, ids = _refused_course(tmp_path)
    proc = run_cli("export", "P4", "--csv", "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert list(csv.DictReader(io.StringIO(proc.stdout))) == []
    assert message_lines(proc.stderr) == [
        "mesovision: WARNING: 2 of 2 later session(s) not compared with the baseline, 1 not with "
        "the previous one: no rows for them (mesovision progress P4 says why)"
    ]
    out = tmp_path / "r.html"
    proc = run_cli("report", "P4", "-o", out, "--session", ids[1], "--store", store)
    assert proc.returncode == 2
    (line,) = message_lines(proc.stderr)  # the error alone, with its reason
    assert line.startswith(f"mesovision: error: session {ids[1]} (2026-01-15) could not be ")
    assert line.endswith("(sessions compared: none)")
    proc = run_cli("progress", "P4", "--json", "--store", store)
    assert proc.returncode == 0 and message_lines(proc.stderr) == [], proc.stderr
    doc = json.loads(proc.stdout)
    assert len(doc["notes"]) == 3  # s2 against baseline (= previous, noted once), s3 against both
    assert [s["label"] for s in doc["sessions"]] == [
        f"s{ids[0]} 2026-01-01",
        f"s{ids[1]} 2026-01-15",
        f"s{ids[2]} 2026-01-15",
    ]


def test_a_report_in_one_format_warns_of_an_earlier_one_in_the_other(tmp_path):
    """``report -o r.html --force`` beside an earlier ``--pdf`` run's ``r.pdf`` leaves it (not
    ours to remove) and says that it does not show this report's course."""
    store, _ = _refused_course(tmp_path)
    out = tmp_path / "r.html"
    proc = run_cli("report", "P4", "-o", out, "--store", store)
    assert proc.returncode == 0 and message_lines(proc.stderr) == [], proc.stderr
    old = tmp_path / "r.pdf"
    old.write_bytes(b"%PDF-1.4 an earlier report")
    proc = run_cli("report", "P4", "-o", out, "--force", "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert message_lines(proc.stderr) == [
        f"mesovision: WARNING: {old} is an earlier report's and was left as it is: it does not "
        "show this report's course (write both with --pdf, or remove it)"
    ]
    assert old.read_bytes() == b"%PDF-1.4 an earlier report"
