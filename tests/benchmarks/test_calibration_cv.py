"""``benchmarks/calibration.py cv``: every person's changes are tested by the noise model fitted
on the other people only (``_cv.out_of_fold``)."""

from __future__ import annotations

import sys

import numpy as np
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import _cv  # noqa: E402
import calibration  # noqa: E402

METRIC = "redness.mean_a"


def _table(spread: dict[str, float], n: int = 600, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` null changes per person of one metric, ``delta / se`` ~ normal(0, spread)."""
    rng = np.random.default_rng(seed)
    people = np.repeat(list(spread), n)
    size = people.size
    return {
        "person": people,
        "metric": np.full(size, METRIC),
        "before": np.full(size, 10.0),
        "after": np.full(size, 10.0),
        "delta": np.concatenate([rng.normal(0.0, s, n) for s in spread.values()]),
        "se_paired": np.ones(size),
        "sd_registration": np.zeros(size),
        "sd_recapture": np.zeros(size),
        "sd_counting": np.zeros(size),
        "sd_field": np.zeros(size),
        "field": np.ones(size, bool),
        "tested": np.ones(size, bool),
        "detail_ratio": np.ones(size),
        "treated": np.zeros(size),
    }


def _share(t, p, person) -> float:
    return float(np.mean(p[t["person"] == person] < 0.05))


def test_a_person_noisier_than_the_others_is_tested_by_their_model_only():
    spread = {f"p{i}": 0.6 for i in range(5)} | {"wide": 2.0}
    t = _table(spread)
    (p,) = _cv.out_of_fold(calibration, [t], calibration.TAIL_QUANTILE)
    # Fitted on the five at 0.6 only, the reference's 95 % point is about 1.96 x 0.6: a person
    # at 2.0 exceeds it in P(|N(0, 2)| > 1.18) = 56 % of changes. A fit that had seen them
    # (a sixth of the changes, most of the tail) would put them near a quarter.
    assert 0.48 < _share(t, p, "wide") < 0.64
    # The five are tested by models that include the wide person: conservative for them.
    assert all(_share(t, p, f"p{i}") < 0.05 for i in range(5))


def test_people_alike_come_out_near_five_percent():
    t = _table({f"p{i}": 0.6 for i in range(6)}, seed=1)
    (p,) = _cv.out_of_fold(calibration, [t], calibration.TAIL_QUANTILE)
    assert 0.035 < float(np.mean(p < 0.05)) < 0.065
    assert np.isfinite(p).all()


def test_a_persons_p_values_do_not_depend_on_their_own_changes():
    """The model testing a person is fitted without them: tripling their changes moves their
    own ratios along the same reference (one decreasing curve of p against |delta / se|),
    where a fit that had seen them would have widened with them."""
    t = _table({f"p{i}": 0.6 for i in range(5)} | {"x": 1.0}, seed=2)
    (p1,) = _cv.out_of_fold(calibration, [t], calibration.TAIL_QUANTILE)
    x = t["person"] == "x"
    (p2,) = _cv.out_of_fold(calibration, [{**t, "delta": np.where(x, 3, 1) * t["delta"]}], 0.999)
    ratio = np.abs(np.concatenate([t["delta"][x], 3 * t["delta"][x]]))
    p = np.concatenate([p1[x], p2[x]])[np.argsort(ratio)]
    assert np.all(np.diff(p) <= 1e-12)
    assert np.mean(p2[x] < 0.05) > 2 * np.mean(p1[x] < 0.05)
