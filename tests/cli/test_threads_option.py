"""``--threads N`` of the commands that run comparisons: validated in one line (exit 2), passed
to the comparisons (the API's ``threads``), and without effect on the results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, message_lines, run_cli

from mesovision.cli import build_parser

SAMPLE = REPO / "sample_images" / "grace_hopper"
COMMANDS = {
    "compare": ["compare", "b.jpg", "a.jpg", "-o", "out"],
    "batch": ["batch", "m.csv", "-o", "out"],
    "progress": ["progress", "P1"],
    "report": ["report", "P1", "-o", "r.html"],
    "export": ["export", "P1", "--json"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_commands_that_compare_accept_threads(name):
    args = build_parser().parse_args([*COMMANDS[name], "--threads", "3"])
    assert args.threads == 3
    assert build_parser().parse_args(COMMANDS[name]).threads is None


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
@pytest.mark.parametrize("name", ["compare", "batch"])
def test_a_bad_thread_count_is_refused_in_one_line(name, value):
    p = run_cli(*COMMANDS[name], "--threads", value)
    assert p.returncode == 2, p.stderr
    lines = message_lines(p.stderr)
    assert len(lines) == 1 and "--threads" in lines[0] and "a number of threads" in lines[0]
    assert p.stdout == ""


def _result(out: Path) -> dict:
    rec = json.loads((out / "result.json").read_text())
    rec["provenance"].pop("seconds", None)
    return rec


def test_compare_gives_the_same_result_on_any_thread_count(tmp_path):
    outs = []
    for n in ("1", "2"):
        out = tmp_path / f"t{n}"
        p = run_cli(
            "compare", SAMPLE / "before.jpg", SAMPLE / "after_treated.jpg", "-o", out,
            "--treated", "left_cheek", "--threads", n,
        )  # fmt: skip
        assert p.returncode == 0, p.stderr
        outs.append(_result(out))
    assert outs[0] == outs[1]
    assert outs[0]["changes"]["left_cheek"]["redness.mean_a"]["delta"] != 0


def test_batch_passes_threads_to_each_worker_and_gives_the_same_records(tmp_path):
    from mesovision.testing.trial import make_trial

    trial = make_trial(tmp_path / "trial", n_subjects=1, timepoints=(0, 6), long_side_px=512)
    records = []
    for n in ("1", "2"):
        out = tmp_path / f"b{n}"
        p = run_cli("batch", trial.manifest, "-o", out, "-j", "1", "--threads", n)
        assert p.returncode == 0, p.stderr
        entries = {e.name: json.loads(e.read_text()) for e in (out / "cache").glob("*.json")}
        assert entries and all(e["status"] == "ok" for e in entries.values())
        records.append({k: e["record"] for k, e in entries.items()})
    assert records[0] == records[1]
    assert all(r["changes"] for r in records[0].values())


def test_run_batch_refuses_a_bad_thread_count(tmp_path):
    from mesovision.batch import run_batch
    from mesovision.errors import UsageError

    with pytest.raises(UsageError, match="threads must be a positive integer, got 0"):
        run_batch(tmp_path / "m.csv", tmp_path / "out", threads=0)
