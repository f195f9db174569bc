"""The research quickstart of README.md (repeated in docs/research.md): a generated trial large
enough that ``stats`` shows what it is for, the treated arm's injected change found and the
control arm's absence of one.

The fast test reads the commands and checks that each arm can reach p < 0.05 within it at all
(a signed-rank test of n non-zero changes has p >= 2 / 2^n); the slow one runs them as a new
user does (``stats --no-plots``: the plots are not what is checked) and reads ``stats.csv``."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO, run_cli

from mesovision.stats import ALPHA


def _commands(path) -> list[list[str]]:
    """The indented block that starts with ``python scripts/make_trial.py`` in ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if "scripts/make_trial.py" in line)
    block = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(shlex.split(line))
    return block


def _subjects(make: list[str]) -> int:
    return int(make[make.index("--subjects") + 1])


def test_the_quickstart_trial_can_show_a_change_within_each_arm():
    readme = _commands(REPO / "README.md")
    assert readme == _commands(REPO / "docs" / "research.md")
    make, batch, stats = readme
    assert make[:2] == ["python", "scripts/make_trial.py"]
    assert batch[:2] == ["mesovision", "batch"] and stats[:2] == ["mesovision", "stats"]
    per_arm = _subjects(make) // 2  # subjects alternate between control and treated
    assert 2 / 2**per_arm < ALPHA, f"{per_arm} subjects per arm cannot reach p < {ALPHA}"
    # the numbers the README quotes are of that trial
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"trial of\s+{_subjects(make)} subjects, {per_arm} per arm", text)


@pytest.mark.slow
def test_the_quickstart_finds_the_treated_arm_s_change_and_not_the_control_s(tmp_path):
    make, batch, stats = _commands(REPO / "README.md")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    made = subprocess.run(
        [sys.executable, str(REPO / make[1]), *make[2:]],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    for cmd in (batch[1:], [*stats[1:], "--no-plots"]):
        proc = run_cli(*cmd, cwd=tmp_path, env=env, timeout=900)
        assert proc.returncode == 0, proc.stderr
    out = stats[2]
    s = pd.read_csv(tmp_path / out / "stats" / "stats.csv")
    cheeks = s[(s.metric == "redness.mean_a") & s.region.isin(["left_cheek", "right_cheek"])]
    within = cheeks[cheeks.test == "within"].set_index(["arm", "region"])
    # the treated arm's injected a* drop (-6 x 0.86 of each cheek's mask: about -5.2)
    for side in ("left_cheek", "right_cheek"):
        row = within.loc[("treated", side)]
        assert row.significant_fdr and -5.8 < row.estimate < -4.2, row
        assert row.ci_high < 0
        control = within.loc[("control", side)]
        assert not control.significant_fdr and control.ci_low < 0 < control.ci_high, control
    between = cheeks[cheeks.test == "between"]
    assert len(between) == 2 and between.significant_fdr.all()
    assert (between.estimate < -4).all()
    # nothing within the control arm is a discovery, primary or not
    assert not s[(s.test == "within") & (s.arm == "control")].significant_fdr.any()
