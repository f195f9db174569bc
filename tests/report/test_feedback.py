"""Feedback on long commands (mesovision.commands.feedback): one line per finished stage on a
pipe, a live line at a terminal, nothing with --quiet."""

import io
import re

import pytest

from mesovision.commands.feedback import Feedback

STAGE = re.compile(r"^mesovision compare: (.+) \((\d+\.\d) s\)$")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_one_line_per_finished_stage_on_a_pipe():
    err = io.StringIO()
    with Feedback("compare", stream=err) as fb:
        fb.stage("aligning the photos", done="aligned the photos")
        fb.stage("comparing", done="compared", total=3)
        for k in range(3):
            fb.step(f"region {k}")
    lines = err.getvalue().splitlines()
    assert [STAGE.match(ln).group(1) for ln in lines] == ["aligned the photos", "compared"]


def test_a_failing_stage_prints_nothing_for_itself():
    err = io.StringIO()
    with pytest.raises(RuntimeError), Feedback("compare", stream=err) as fb:
        fb.stage("aligning the photos", done="aligned the photos")
        fb.stage("comparing", done="compared")
        raise RuntimeError("no face")
    assert [STAGE.match(ln).group(1) for ln in err.getvalue().splitlines()] == [
        "aligned the photos"
    ]


def test_quiet_prints_nothing_and_a_terminal_gets_a_transient_line():
    err = io.StringIO()
    with Feedback("compare", quiet=True, stream=err) as fb:
        fb.stage("comparing")
    assert err.getvalue() == ""
    tty = _Tty()
    with Feedback("compare", stream=tty) as fb:
        fb.stage("comparing", total=2)
        fb.step()
    assert fb.tty and not STAGE.search(tty.getvalue())  # live, then cleared: no log lines


def test_compare_reports_its_stages(tmp_path, capsys):
    from conftest import SAMPLES

    from mesovision import cli

    before, after = (
        SAMPLES / "astronaut" / "before.jpg",
        SAMPLES / "astronaut" / "after_treated.jpg",
    )
    assert cli.main(["compare", str(before), str(after), "-o", str(tmp_path / "a")]) == 0
    stages = [STAGE.match(ln) for ln in capsys.readouterr().err.splitlines()]
    assert [m.group(1) for m in stages if m] == [
        "aligned the photos",
        "compared",
        "wrote the outputs",
    ]
    assert cli.main(["-q", "compare", str(before), str(after), "-o", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err == ""
