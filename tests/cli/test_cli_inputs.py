"""Hostile command-line input: every case gets its documented exit code and one escaped line.

Absurd integers and ``--max-side`` <= 0 (usage, exit 2), non-UTF-8 and control characters in
names (escaped), NUL bytes and huge repeats in a manifest (exit 2), a malformed cache entry
(recomputed), outputs mesovision did not write (exit 9 without ``--force``), and a closed stdout
(quiet, exit 141).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from mesovision.cli import EXIT_BROKEN_PIPE, main
from mesovision.commands.common import printable

FACE = REPO / "sample_images" / "astronaut" / "before.jpg"


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _run_bytes(*args) -> subprocess.CompletedProcess:
    """``mesovision ARGS`` with arguments given as bytes (file names need not be UTF-8)."""
    argv = [os.fsencode(sys.executable), b"-m", b"mesovision"]
    argv += [a if isinstance(a, bytes) else os.fsencode(str(a)) for a in args]
    return subprocess.run(argv, capture_output=True, timeout=300, cwd=REPO)


# --------------------------------------------------------------------------------------------
# Escaping
# --------------------------------------------------------------------------------------------


def test_printable_escapes_control_characters_and_undecodable_bytes():
    assert printable("Zoë 山田 🙂 a\\b") == "Zoë 山田 🙂 a\\b"
    assert printable("a\x1b[31mb") == "a\\x1b[31mb"
    assert printable("x\nmesovision: error: forged") == "x\\nmesovision: error: forged"
    assert printable("t\tr\r\x7f\x85") == "t\\tr\\r\\x7f\\x85"
    assert printable("bad\udcff.jpg") == "bad\\xff.jpg"  # os.fsdecode(b"bad\xff.jpg")
    assert printable("rev\u202eerse\u2028") == "rev\\u202eerse\\u2028"
    assert printable(Path("/tmp/a\x00b")) == "/tmp/a\\x00b"


def test_log_lines_are_escaped():
    from mesovision.cli import _OneLineFormatter

    rec = logging.LogRecord("mesovision", logging.WARNING, __file__, 1, "%s: odd", ("a\nb",), None)
    line = _OneLineFormatter("mesovision: %(levelname)s: %(message)s").format(rec)
    assert line == "mesovision: WARNING: a\\nb: odd"


def test_a_warning_is_printed_once_per_command():
    """A photo in several comparisons (a course) warns once; lower levels and other messages
    pass."""
    import logging

    from mesovision.cli import _Once

    once = _Once()

    def rec(level, msg):
        return logging.LogRecord("mesovision", level, __file__, 1, msg, None, None)

    seen = [
        once.filter(rec(lvl, msg))
        for lvl, msg in [
            (logging.WARNING, "a.jpg: 2 faces found"),
            (logging.WARNING, "a.jpg: 2 faces found"),
            (logging.WARNING, "b.jpg: 2 faces found"),
            (logging.ERROR, "a.jpg: 2 faces found"),
            (logging.INFO, "cached"),
            (logging.INFO, "cached"),
        ]
    ]
    assert seen == [True, False, True, True, True, True]


def test_batch_failure_lines_are_escaped():
    from mesovision.commands.batch import failure_line

    f = {
        "subject": "S1\nmesovision: error: forged",
        "view": "front\x1b[2J",
        "timepoint": "0",
        "comparison": "baseline",
        "error_type": "NoFace",
        "message": "x.jpg: no face found",
    }
    assert failure_line(f) == (
        "  failed: S1\\nmesovision: error: forged front\\x1b[2J 0 (baseline): NoFace: "
        "x.jpg: no face found"
    )


def test_a_control_character_in_a_file_name_is_escaped_in_the_error(tmp_path, capsys):
    name = tmp_path / "x\x1b[31m\nmesovision: error: forged.jpg"
    assert main(["compare", str(FACE), str(name), "-o", str(tmp_path / "o")]) == 3
    line = _one_line(capsys)
    assert (
        line
        == f"mesovision: error: {tmp_path}/x\\x1b[31m\\nmesovision: error: forged.jpg: no such file"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "-IMG_0001.jpg"],
        ["check", "b.jpg", "-IMG_0001.jpg"],
        ["compare", "-IMG_0001.jpg", "b.jpg", "-o", "out"],
        ["compare", "b.jpg", "-IMG_0001.jpg", "-o", "out"],
        ["session", "add", "P1", "--date", "2026-01-01", "--photo", "-IMG_0001.jpg"],
    ],
)
def test_a_photo_named_with_a_leading_dash_is_named_in_the_error(
    tmp_path, monkeypatch, capsys, argv
):
    monkeypatch.chdir(tmp_path)
    for name in ("-IMG_0001.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(FACE.read_bytes())
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    line = _one_line(capsys)
    assert line.startswith(
        "mesovision: error: -IMG_0001.jpg: is read as an option; write ./-IMG_0001.jpg or put file "
        "names after -- (see: mesovision "
    ), line
    assert not (tmp_path / "out").exists()


def test_an_unknown_option_that_names_no_file_keeps_argparse_s_message(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "--no-such-option-or-file", "a.jpg"])
    assert exc.value.code == 2
    assert _one_line(capsys) == (
        "mesovision: error: unrecognized arguments: --no-such-option-or-file "
        "(see: mesovision --help)"
    )


# --------------------------------------------------------------------------------------------
# Integers out of range: usage errors (exit 2), one line
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["compare", "a.jpg", "b.jpg", "-o", "o", "--max-side", "0"],
         "argument --max-side: must be a number of pixels from 1 to 100000, got '0' "
         "(see: mesovision compare --help)"),
        (["align", "a.jpg", "b.jpg", "-o", "o", "--max-side", "-5"],
         "argument --max-side: must be a number of pixels from 1 to 100000, got '-5' "
         "(see: mesovision align --help)"),
        (["check", "a.jpg", "--max-side", "99999999999999999999"],
         "argument --max-side: must be a number of pixels from 1 to 100000, got "
         "'99999999999999999999' (see: mesovision check --help)"),
        (["batch", "m.csv", "-o", "o", "--max-side", "0"],
         "argument --max-side: must be a number of pixels from 1 to 100000, got '0' "
         "(see: mesovision batch --help)"),
        (["batch", "m.csv", "-o", "o", "-j", "0"],
         "argument -j/--jobs: must be a number of workers from 1 to 4096, got '0' "
         "(see: mesovision batch --help)"),
        (["progress", "P1", "--session", "99999999999999999999"],
         "argument --session: must be an id from 1 to 9223372036854775807, got "
         "'99999999999999999999' (see: mesovision progress --help)"),
        (["report", "P1", "-o", "r.html", "--session", "-1"],
         "argument --session: must be an id from 1 to 9223372036854775807, got '-1' "
         "(see: mesovision report --help)"),
    ],
)  # fmt: skip
def test_integers_out_of_range_are_usage_errors(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert _one_line(capsys) == f"mesovision: error: {needle}"


@pytest.mark.parametrize("value", ["inf", "1e308", "0", "-2", "nan"])
def test_an_implausible_scale_is_a_usage_error_before_any_photo_is_read(tmp_path, capsys, value):
    argv = ["compare", "missing_a.jpg", "missing_b.jpg", "-o", str(tmp_path / "o")]
    assert main([*argv, "--mode", "body", "--px-per-mm", value]) == 2
    assert _one_line(capsys) == (
        f"mesovision: error: --px-per-mm {float(value)} is not a plausible scale "
        "(0.01-10000 px per mm)"
    )
    assert not (tmp_path / "o").exists()


def test_a_missing_colour_card_names_the_photos_and_the_option(tmp_path, capsys):
    before = REPO / "sample_images" / "astronaut" / "before.jpg"
    after = REPO / "sample_images" / "astronaut" / "after_no_change.jpg"
    argv = [
        "-q",
        "compare",
        str(before),
        str(after),
        "-o",
        str(tmp_path / "o"),
        "--lighting",
        "card",
    ]
    assert main(argv) == 8
    assert _one_line(capsys) == (
        f"mesovision: error: {before} and {after}: no 24-patch colour card found in the before "
        "and after photo; photograph the card beside the face (or give its corners), or use the "
        "reference method (--lighting reference)"
    )
    assert not (tmp_path / "o").exists()


def test_progress_huge_session_through_the_real_command(tmp_path):
    proc = _run_bytes("progress", "P1", "--session", "99999999999999999999", "--store", tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mesovision: error: argument --session: ")


# --------------------------------------------------------------------------------------------
# Names that are not UTF-8
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", FACE, b"%s/bad\xff.jpg", "-o", b"%s/out"],
        ["session", "add", "P1", b"%s/bad\xff.jpg", "--store", b"%s/store"],
        ["check", b"%s/bad\xff.jpg"],
    ],
)
def test_a_non_utf8_file_name_is_one_escaped_line(tmp_path, argv):
    bad = os.fsencode(str(tmp_path)) + b"/bad\xff.jpg"
    bad_path = Path(os.fsdecode(bad))
    bad_path.write_bytes(FACE.read_bytes())
    args = [a % os.fsencode(str(tmp_path)) if isinstance(a, bytes) else a for a in argv]
    proc = _run_bytes(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.decode("utf-8").strip().splitlines()
    assert lines == [
        f"mesovision: error: {tmp_path}/bad\\xff.jpg: not valid UTF-8 (undecodable bytes "
        "shown as \\xNN); rename the file or use UTF-8 text"
    ]
    assert not (tmp_path / "out").exists() and not (tmp_path / "store").exists()


# --------------------------------------------------------------------------------------------
# A closed stdout (``mesovision ... | head``)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["metrics", "--json"],
        ["metrics"],
        pytest.param(["check", "--json", str(FACE)], marks=pytest.mark.slow),
    ],
)
def test_a_closed_pipe_ends_quietly_with_141(argv):
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "mesovision", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        proc.stdout.close()  # the reader is gone before the first line is written
        err = proc.stderr.read()
        proc.wait(timeout=60)
        proc.stderr.close()
        assert proc.returncode == EXIT_BROKEN_PIPE == 141, err
        assert err == b""


# --------------------------------------------------------------------------------------------
# Manifests
# --------------------------------------------------------------------------------------------


def _manifest(tmp_path: Path, body: str) -> Path:
    m = tmp_path / "m.csv"
    m.write_text(body, encoding="utf-8")
    return m


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("subject,timepoint,view,path\nS1,0,front,a.jpg\nS1,1,front,b\x00.jpg\n",
         "row 3: path contains a NUL character"),
        ("subject,timepoint,view,path,repeat\nS1,0,front,a.jpg,1\n"
         "S1,0,front,b.jpg,99999999999999999999\n",
         "row 3: repeat '99999999999999999999' is not an integer from 1 to 1000"),
        ("subject,timepoint,view,path\nS1,0,front,a.jpg\nS1,1e300,front,b.jpg\n",
         "row 3: timepoint '1e300' is out of range (at most 1e15)"),
    ],
)  # fmt: skip
def test_bad_manifest_values_are_usage_errors(tmp_path, capsys, body, needle):
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(FACE.read_bytes())
    m = _manifest(tmp_path, body)
    assert main(["batch", str(m), "-o", str(tmp_path / "out")]) == 2
    assert _one_line(capsys) == f"mesovision: error: {m}: {needle}"
    assert not (tmp_path / "out").exists()


def test_huge_digit_runs_sort_without_int_conversion():
    from mesovision.batch import natural_key

    labels = ["w10", "w2", "w" + "9" * 5000, "w002"]
    assert sorted(labels, key=natural_key) == ["w2", "w002", "w10", "w" + "9" * 5000]


# --------------------------------------------------------------------------------------------
# Cache entries and outputs mesovision did not write
# --------------------------------------------------------------------------------------------


def _entry(key: str, **kw) -> dict:
    from mesovision.batch import CACHE_FORMAT

    change = {"before": 1.0, "after": 2.0, "delta": 1.0, "noise_floor": 0.5, "unit": "a*"}
    base = {
        "cache_format": CACHE_FORMAT,
        "key": key,
        "status": "ok",
        "record": {"alignment": {}, "changes": {"left_cheek": {"redness.mean_a": change}}},
        "seconds": 1.0,
        "log": [],
    }
    return {**base, **kw}


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"record": {}}, "no changes in the record"),
        ({"record": {"changes": {}}}, "no changes in the record"),
        ({"record": {"changes": {"face": {"m": {"delta": "x"}}}}}, "change face/m is not"),
        ({"record": None}, "no record"),
        ({"status": "done"}, "status 'done'"),
        ({"status": "failed", "record": None}, "a failure without error_type"),
        ({"log": "x"}, "log or seconds"),
    ],
)
def test_a_malformed_cache_entry_is_recomputed(tmp_path, caplog, override, problem):
    from mesovision.batch import load_cache_entry, write_cache_entry

    key = "ab" * 32
    (tmp_path / "cache").mkdir()
    write_cache_entry(tmp_path, _entry(key))
    assert load_cache_entry(tmp_path, key) is not None  # the well-formed entry is used
    write_cache_entry(tmp_path, _entry(key, **override))
    with caplog.at_level(logging.WARNING, logger="mesovision.batch"):
        assert load_cache_entry(tmp_path, key) is None
    assert f"malformed cache entry ({problem}" in caplog.text
    assert "recomputing" in caplog.text


def _photo_manifest(tmp_path: Path) -> Path:
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(FACE.read_bytes())
    return _manifest(tmp_path, "subject,timepoint,view,path\nS1,0,front,a.jpg\nS1,1,front,b.jpg\n")


def test_batch_refuses_a_results_csv_it_did_not_write(tmp_path, capsys):
    m = _photo_manifest(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("my own work\n")
    assert main(["batch", str(m), "-o", str(out)]) == 9
    assert _one_line(capsys) == (
        f"mesovision: error: {out}/results.csv: exists and was not written by mesovision "
        "batch; use --force to replace it"
    )
    assert sorted(p.name for p in out.iterdir()) == ["results.csv"]  # nothing written
    assert (out / "results.csv").read_text() == "my own work\n"


def test_claim_outputs_records_what_it_wrote(tmp_path):
    from mesovision.batch import OUTPUT_MARKER, TABLE_NAMES, claim_outputs
    from mesovision.errors import OutputExists

    claim_outputs(tmp_path, TABLE_NAMES, command="batch")
    for n in TABLE_NAMES:
        (tmp_path / n).write_text("x")
    claim_outputs(tmp_path, TABLE_NAMES, command="batch")  # ours: accepted again
    claim_outputs(tmp_path, ("stats.csv",), command="stats")  # merged into the same list
    assert set(json.loads((tmp_path / OUTPUT_MARKER).read_text())["files"]) == {
        *TABLE_NAMES,
        "stats.csv",
    }
    other = tmp_path / "other"
    other.mkdir()
    (other / "status.csv").write_text("x")
    (other / "summary.json").write_text("{}")
    with pytest.raises(OutputExists, match=r"not written by mesovision batch \(and 1 more\)"):
        claim_outputs(other, TABLE_NAMES, command="batch")
    claim_outputs(other, TABLE_NAMES, command="batch", force=True)
    assert (other / OUTPUT_MARKER).is_file()
    legacy = tmp_path / "legacy"  # a batch folder written before the marker existed
    legacy.mkdir()
    (legacy / "results.csv").write_text("x")
    doc = {"manifest_sha256": "0" * 64, "mesovision": "0.1", "n_items": 1}
    (legacy / "summary.json").write_text(json.dumps(doc))
    claim_outputs(legacy, TABLE_NAMES, command="batch")


def test_stats_refuses_a_stats_csv_it_did_not_write(tmp_path, capsys):
    import pandas as pd

    from mesovision.batch import write_table

    out = tmp_path / "out"
    (out / "stats").mkdir(parents=True)
    row = {
        "subject": "s1", "arm": "a", "view": "front", "timepoint": 1, "timepoint_rank": 1,
        "reference_timepoint": 0, "reference_timepoint_rank": 0, "comparison": "baseline",
        "repeat": 1, "region": "face", "metric": "m", "unit": "u", "direction": "neutral",
        "before": 1.0, "after": 2.0, "delta": 1.0, "noise_floor": 1.0, "noise_floor_pair": 1.0,
        "sdc": float("nan"), "significant": False,
    }  # fmt: skip
    write_table(pd.DataFrame([row]), out / "results.csv", out / "results.parquet")
    (out / "stats" / "stats.csv").write_text("mine\n")
    argv = ["stats", str(out), "--no-plots"]
    assert main(argv) == 9
    assert _one_line(capsys) == (
        f"mesovision: error: {out}/stats/stats.csv: exists and was not written by mesovision "
        "stats; use --force to replace it"
    )
    assert (out / "stats" / "stats.csv").read_text() == "mine\n"
    assert main([*argv, "--force"]) == 0
    assert main(argv) == 0  # written by mesovision now: replaced without --force


# --------------------------------------------------------------------------------------------
# The export CSV
# --------------------------------------------------------------------------------------------


def test_export_csv_cells_are_spreadsheet_safe():
    from mesovision.commands.export import to_csv
    from mesovision.course import ROW_FIELDS

    row = dict.fromkeys(ROW_FIELDS)
    row.update(patient="=cmd|' /C calc'!A0", region="@SUM(1)", delta=-1.5)
    import csv
    import io

    (got,) = list(csv.DictReader(io.StringIO(to_csv([row]))))
    assert got["patient"] == "'=cmd|' /C calc'!A0"
    assert got["region"] == "'@SUM(1)"
    assert got["delta"] == "-1.5"  # a negative number stays a number
