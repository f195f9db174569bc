"""A metric's own null reference (``benchmarks/calibration.py``: ``own_reference``, the rule of
``reference --own``), on ``delta / se`` ratios of known distribution."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO
from scipy.stats import t as student

from mesovision.null_reference import NullReference

sys.path.insert(0, str(REPO / "benchmarks"))

from calibration import _own_references, own_reference  # noqa: E402

FAMILY = NullReference(0.6, 5.0)


def _ratios(k: float, n: int = 1000, zeros: int = 0) -> np.ndarray:
    """``n`` ratios at evenly spaced quantiles of ``k`` x the family's reference (``|t|``,
    alternating signs), after ``zeros`` exact zeros."""
    u = (np.arange(n) + 0.5) / n
    r = k * FAMILY.scale * student.ppf(0.5 + u / 2, FAMILY.df) * np.where(np.arange(n) % 2, 1, -1)
    return np.r_[np.zeros(zeros), r]


def _share(ref: NullReference, ratio: np.ndarray) -> float:
    return float(np.mean(ref.test(ratio)[1] < 0.05))


def test_a_metric_the_family_fits_keeps_it():
    r = _ratios(1.0)
    assert _share(FAMILY, r) == pytest.approx(0.05, abs=0.002)
    assert own_reference(r, FAMILY) is None


@pytest.mark.parametrize("k", [1.3, 0.85])
def test_a_metric_off_target_gets_the_family_df_and_its_own_core(k):
    # 1.3 x the family's: 10.5 % of p < 0.05 under it; 0.85 x: 2.9 %. Its own scale is
    # k x 0.6 (to the grid of 1000 quantiles) and brings it to 5 %, with the family's df.
    r = _ratios(k)
    assert not 0.04 <= _share(FAMILY, r) <= 0.06
    own = own_reference(r, FAMILY)
    assert own.df == FAMILY.df
    assert own.scale == pytest.approx(k * FAMILY.scale, rel=5e-3)
    assert _share(own, r) == pytest.approx(0.05, abs=0.002)


def test_a_much_narrower_scale_is_not_taken():
    # 0.6 x the family's (0.36, below 0.75 x 0.6 = 0.45): the family's stays, conservative.
    r = _ratios(0.6)
    assert _share(FAMILY, r) < 0.01
    assert own_reference(r, FAMILY) is None
    assert own_reference(_ratios(0.76), FAMILY).scale == pytest.approx(0.456, rel=5e-3)


def test_a_metric_mostly_zero_keeps_a_safe_reference():
    # 600 changes exactly 0 and 400 moved as 1.1 x the family's: 2.7 % of p < 0.05. Its 95 %
    # quantile is the moved changes' 87.5 %: a scale of 0.47 (within a quarter of the
    # family's), set by a few small moves. The family's stays.
    r = _ratios(1.1, n=400, zeros=600)
    assert _share(FAMILY, r) == pytest.approx(0.027, abs=0.001)
    assert own_reference(r, FAMILY) is None
    # Half of them moved: its own narrower scale is taken.
    assert own_reference(_ratios(1.0, n=500, zeros=500), FAMILY).scale == pytest.approx(
        0.469, abs=1e-3
    )
    # Moved twice as far (10 % of p < 0.05): a wider scale of its own is safe and taken.
    r = _ratios(2.0, n=400, zeros=600)
    assert _share(FAMILY, r) == pytest.approx(0.102, abs=0.001)
    own = own_reference(r, FAMILY)
    assert own.scale > FAMILY.scale and _share(own, r) == pytest.approx(0.05, abs=0.002)


def test_too_few_changes_or_a_normal_family_keep_the_family():
    assert own_reference(_ratios(1.3, n=199), FAMILY) is None
    assert own_reference(_ratios(1.3, n=200), FAMILY) is not None
    assert own_reference(_ratios(1.3), NullReference()) is None
    # NaN ratios (untested changes) are not counted.
    r = np.r_[_ratios(1.3, n=150), np.full(100, np.nan)]
    assert own_reference(r, FAMILY) is None


def test_a_refit_replaces_the_rules_references_and_keeps_the_fitted_ones():
    metrics = ["texture.roughness_ra", "texture.glcm_contrast", "swelling.puffiness_pct"]
    z = np.r_[_ratios(1.3), _ratios(1.0), _ratios(2.0)]
    t = {"metric": np.repeat(metrics, 1000)}
    families = {f: {"scale": FAMILY.scale, "df": FAMILY.df} for f in ("texture", "swelling")}
    old = {
        # the rule's from an earlier fit: refitted (contrast now fits its family's: dropped)
        "texture.glcm_contrast": {"scale": 0.9, "df": 5.0, "n": 300, "df_from": "family"},
        # fitted on both quantiles (reference --metrics): kept as it is
        "swelling.puffiness_pct": {"scale": 0.9, "df": 18.9, "n": 311},
    }
    sel = np.ones(z.size, bool)
    out = _own_references(t, z, sel, families, old, None, "undeclared")
    assert set(out) == {"texture.roughness_ra", "swelling.puffiness_pct"}
    assert out["swelling.puffiness_pct"] == old["swelling.puffiness_pct"]
    assert out["texture.roughness_ra"]["df"] == FAMILY.df
    assert out["texture.roughness_ra"]["scale"] == pytest.approx(0.78, rel=5e-3)
    assert out["texture.roughness_ra"]["df_from"] == "family"
    # Refitting only another family keeps this family's metrics as they were.
    out = _own_references(t, z, sel, families, old, ("swelling",), "undeclared")
    assert out == old
