"""``benchmarks/calibration.py shift`` fits the under-eye shade's threshold shift
(``_undereye.SHIFT_SD_LSTAR``) by maximum likelihood on the development half: on rows drawn
with a known shift it finds it, whatever shift the run itself had."""

from __future__ import annotations

import csv
import re
import sys

import numpy as np
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from _faces import HELD_OUT_PEOPLE  # noqa: E402
from calibration import FIELDS, main  # noqa: E402

#: 22 people: the 9 held-out ones and 13 development people.
PEOPLE = sorted(HELD_OUT_PEOPLE) + [f"p{k:02d}" for k in range(22 - len(HELD_OUT_PEOPLE))]


def _run_file(path, shift_true: float, shift_run: float, scale: float) -> None:
    # 22 people (PEOPLE), 60 recaptures, both eyes: delta ~ N(0, scale^2 (a^2 + shift_true^2
    # v)), with a the other terms (here the registration term) and v the rows' variance per
    # L*^2; the run recorded its own shift (shift_run) in the counting term.
    rng = np.random.default_rng(7)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS, extrasaction="ignore")
        w.writeheader()
        for person in PEOPLE:
            for rec in range(60):
                for region in ("right_periorbital", "left_periorbital"):
                    a, v = rng.uniform(0.2, 2.0), rng.uniform(0.5, 50.0)
                    delta = scale * rng.normal(0.0, np.sqrt(a * a + shift_true**2 * v))
                    w.writerow({
                        "photo": f"{person}/a.jpg", "person": person, "recapture": rec,
                        "region": region, "metric": "swelling.puffiness_pct", "before": 10.0,
                        "after": 10.0 + delta, "delta": delta, "se_paired": 0.0,
                        "n_tiles": 0, "sd_registration": a, "sd_recapture": 0.0,
                        "sd_counting": shift_run * np.sqrt(v), "kind": "none",
                        "delta_e00": 0.4, "detail_ratio": 1.0, "noise_ratio": 1.0,
                        "jpeg_quality": 90, "pose_deg": 0.3, "expression": 0, "treated": 0,
                        "scoring_iod_px": 100.0, "shift_sd": shift_run, "shift_var": v,
                    })  # fmt: skip


def test_shift_finds_the_shift_the_rows_were_drawn_with(tmp_path, capsys):
    path = tmp_path / "null.csv"
    for shift_run in (0.0, 0.4):
        _run_file(path, shift_true=0.5, shift_run=shift_run, scale=0.8)
        assert main(["shift", str(path)]) == 0
        out = capsys.readouterr().out
        found = re.search(r"shift sd ([0-9.]+) L\* \(maximum likelihood; scale ([0-9.]+)\)", out)
        assert found, out
        # 13 development people x 60 x 2 = 1560 changes: the shift within 0.05 L*, the scale
        # within 0.05
        assert abs(float(found.group(1)) - 0.5) < 0.05, out
        assert abs(float(found.group(2)) - 0.8) < 0.05, out
        assert "1560 development changes of 780 pairs" in out
