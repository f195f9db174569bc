"""scripts/make_metric_baselines.py guards the baselines: it refuses a changed value unless the
metric is accepted with a reason, writes only accepted values and records them in CHANGELOG.md.

Each test runs the script on temporary copies of tests/baselines/metrics.json and CHANGELOG.md,
with one stored value changed so that the recomputed value differs from it (as a wrong formula
would make it differ from a correct baseline).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, load_script

BASELINES = REPO / "tests" / "baselines" / "metrics.json"
EI = "redness.erythema_index"
RA = "texture.roughness_ra"


@pytest.fixture(scope="module")
def script():
    return load_script("make_metric_baselines")


@pytest.fixture(scope="module")
def computed(script):
    return script.compute()


@pytest.fixture
def copies(tmp_path, script, computed, monkeypatch):
    """``(baselines, changelog)`` temporary copies; the script's compute() returns the values
    computed once for the module (it is deterministic)."""
    monkeypatch.setattr(script, "compute", lambda: json.loads(json.dumps(computed)))
    base = tmp_path / "metrics.json"
    base.write_text(BASELINES.read_text())
    log = tmp_path / "CHANGELOG.md"
    log.write_text(
        "# Changelog\n\n## 0.3.0 (unreleased)\n\n### Metrics\n- something\n\n## 0.2.0\n- old\n"
    )
    return base, log


def _tamper(path, metric, factor, region="face"):
    data = json.loads(path.read_text())
    data["values"][region][metric] *= factor
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return data["values"][region][metric]


def _run(script, base, log, *args):
    return script.main(["--baselines", str(base), "--changelog", str(log), *args])


def test_unchanged_baselines_are_left_alone(script, copies, capsys):
    base, log = copies
    before, log_before = base.read_bytes(), log.read_bytes()
    assert _run(script, base, log) == 0
    out = capsys.readouterr().out
    assert "no change beyond tolerance" in out
    assert f"ok       {EI}" in out
    assert base.read_bytes() == before and log.read_bytes() == log_before


def test_a_change_within_tolerance_is_not_written(script, copies):
    base, log = copies
    _tamper(base, EI, 1 + 1e-6)  # far inside rel 1e-4: rounding, not a change
    before = base.read_bytes()
    assert _run(script, base, log) == 0
    assert base.read_bytes() == before  # the stored value stays: no creep


def test_a_change_is_refused_without_accept(script, copies, computed, capsys):
    base, log = copies
    old = _tamper(base, EI, 1 / 2.3026)  # as if the baseline had been made with ln, not log10
    before, log_before = base.read_bytes(), log.read_bytes()
    assert _run(script, base, log) == 1
    cap = capsys.readouterr()
    new = computed["face"][EI]
    assert f"CHANGED  {EI}: face {old:.6g} -> {new:.6g}" in cap.out
    assert "refused" in cap.err and EI in cap.err
    assert base.read_bytes() == before and log.read_bytes() == log_before


def test_accept_writes_the_metric_and_the_changelog(script, copies, computed):
    base, log = copies
    old = _tamper(base, EI, 1 / 2.3026)
    stored = json.loads(base.read_text())
    assert _run(script, base, log, "--accept", EI, "--reason", "log10, as published") == 0
    data = json.loads(base.read_text())
    # the accepted metric takes its new values (in every region); every other value is the
    # stored one, untouched
    for region, values in stored["values"].items():
        for name, value in values.items():
            want = computed[region][name] if name == EI else value
            assert data["values"][region][name] == want, (region, name)
    text = log.read_text()
    line = f"- `{EI}`: face {old:.6g} → {computed['face'][EI]:.6g}. Reason: log10, as published"
    assert line in text
    # under the Unreleased heading, in its own section, before the released version
    unreleased, released = text.split("## 0.2.0")
    assert "## 0.3.0 (unreleased)" in unreleased and "### Metric baselines" in unreleased
    assert line in unreleased and "- something" in unreleased
    assert released == "\n- old\n"
    # accepted once: the next run finds nothing to do
    assert _run(script, base, log) == 0
    assert log.read_text() == text


def test_every_changed_metric_must_be_accepted(script, copies):
    base, log = copies
    _tamper(base, EI, 2.0)
    _tamper(base, RA, 0.5, region="forehead")
    before, log_before = base.read_bytes(), log.read_bytes()
    assert _run(script, base, log, "--accept", EI, "--reason", "x") == 1
    assert base.read_bytes() == before and log.read_bytes() == log_before
    assert _run(script, base, log, "--accept", EI, RA, "--reason", "both intended") == 0
    text = log.read_text()
    assert f"`{EI}`" in text and f"`{RA}`: forehead" in text


def test_usage_errors(script, copies, capsys):
    base, log = copies
    _tamper(base, EI, 2.0)
    before = base.read_bytes()
    with pytest.raises(SystemExit) as e:
        _run(script, base, log, "--accept", EI)  # no reason
    assert e.value.code == 2 and "--reason" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        _run(script, base, log, "--accept", RA, "--reason", "x")  # RA did not change
    assert e.value.code == 2 and "no change beyond tolerance" in capsys.readouterr().err
    assert base.read_bytes() == before


def test_changelog_without_unreleased_heading_gets_one(script, copies):
    base, log = copies
    log.write_text("# Changelog\n\n## 0.2.0\n- old\n")
    _tamper(base, EI, 2.0)
    assert _run(script, base, log, "--accept", EI, "--reason", "intended") == 0
    text = log.read_text()
    assert text.startswith("# Changelog\n\n## Unreleased\n\n### Metric baselines\n- `")
    assert text.endswith("\n\n## 0.2.0\n- old\n")


def test_command_line_refuses_and_accepts(tmp_path):
    # the script as it is run, in a process of its own, computing the values itself
    base = tmp_path / "metrics.json"
    base.write_text(BASELINES.read_text())
    log = tmp_path / "CHANGELOG.md"
    log.write_text("# Changelog\n\n## Unreleased\n")
    _tamper(base, RA, 2.0, region="left_cheek")
    cmd = [sys.executable, str(REPO / "scripts" / "make_metric_baselines.py")]
    cmd += ["--baselines", str(base), "--changelog", str(log)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert f"CHANGED  {RA}: left_cheek" in run.stdout and "refused" in run.stderr
    run = subprocess.run(
        [*cmd, "--accept", RA, "--reason", "halved"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert f"- `{RA}`: left_cheek " in log.read_text()
    assert "Reason: halved" in log.read_text()
