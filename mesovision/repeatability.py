"""Measurement error from same-day repeat captures, and the smallest detectable change as a
noise floor.

A batch compares every same-day repeat ``r`` of a visit with repeat 1 (``comparison ==
"repeat"``): ``before`` is the repeat-1 value, ``after`` the repeat-``r`` value, both measured as
in any comparison. :func:`measurement_error` takes these rows of a results table and gives, per
view x region x metric, each (subject, timepoint, r) one target measured twice:

* ``icc``: ICC(2,1), two-way random effects, absolute agreement, single measurement (Shrout and
  Fleiss 1979; McGraw and Wong 1996, "ICC(A,1)"):
  ``(MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)`` with ``k = 2``;
* ``sem``: standard error of measurement for agreement, ``sqrt(var_sessions + var_error)`` with
  ``var_error = MSE`` and ``var_sessions = max(0, (MSC - MSE) / n)`` (de Vet et al. 2006): it
  includes a systematic difference between the repeats, unlike ``SD * sqrt(1 - ICC)``;
* ``sdc = 1.96 * sqrt(2) * sem``: the smallest detectable change between two measurements of one
  subject (95 %).

:func:`apply_sdc` uses it as a noise floor: ``noise_floor = max(noise_floor_pair, sdc)`` (the
comparison's own floor stays a lower bound), and a change stays ``significant`` only where it
exceeds that floor as well. Both ``mesovision batch`` (``measurement_error.csv``, ``--sdc``,
``--sdc-from-repeats``) and :mod:`mesovision.stats` use this module.
"""

from __future__ import annotations

import math

import numpy as np

from .null_reference import Z95
from .tables import round_sig

__all__ = ["ME_COLUMNS", "Z95", "apply_sdc", "icc_agreement", "measurement_error"]

ME_COLUMNS = (
    "view", "region", "metric", "unit", "n", "mean_repeat1", "mean_repeat2", "mean_diff",
    "sd_diff", "icc", "sem", "sdc",
)  # fmt: skip


def icc_agreement(y: np.ndarray) -> dict:
    """ICC(2,1) (absolute agreement), the SEM for agreement and the SDC of an ``(n, k)`` table
    of ``n`` targets measured ``k`` times (see the module docstring). NaN when ``n < 2``."""
    y = np.asarray(y, np.float64)
    n, k = y.shape
    out = {"icc": math.nan, "sem": math.nan, "sdc": math.nan}
    if n < 2 or k < 2:
        return out
    gm = y.mean()
    rm, cm = y.mean(axis=1), y.mean(axis=0)
    msr = k * float(((rm - gm) ** 2).sum()) / (n - 1)
    msc = n * float(((cm - gm) ** 2).sum()) / (k - 1)
    mse = float(((y - rm[:, None] - cm[None, :] + gm) ** 2).sum()) / ((n - 1) * (k - 1))
    den = msr + (k - 1) * mse + k * (msc - mse) / n
    out["icc"] = (msr - mse) / den if den > 0 else math.nan
    sem = math.sqrt(max(0.0, (msc - mse) / n) + mse)
    out["sem"] = sem
    out["sdc"] = Z95 * math.sqrt(2.0) * sem
    return out


def measurement_error(results):
    """Test-retest ICC, SEM and SDC per view x region x metric from the ``repeat`` rows of a
    results table (columns :data:`ME_COLUMNS`; empty without repeats)."""
    import pandas as pd

    rep = results[results["comparison"] == "repeat"]
    rows = []
    for (view, region, metric), g in rep.groupby(["view", "region", "metric"], sort=True):
        y = g[["before", "after"]].to_numpy(np.float64)
        y = y[np.isfinite(y).all(axis=1)]
        d = y[:, 1] - y[:, 0]
        res = icc_agreement(y)
        rows.append(
            {
                "view": view,
                "region": region,
                "metric": metric,
                "unit": g["unit"].iloc[0],
                "n": len(y),
                "mean_repeat1": float(y[:, 0].mean()) if len(y) else math.nan,
                "mean_repeat2": float(y[:, 1].mean()) if len(y) else math.nan,
                "mean_diff": float(d.mean()) if len(y) else math.nan,
                "sd_diff": float(d.std(ddof=1)) if len(y) > 1 else math.nan,
                **res,
            }
        )
    df = pd.DataFrame(rows, columns=list(ME_COLUMNS))
    df["n"] = df["n"].astype("int64")
    for c in ME_COLUMNS[5:]:
        df[c] = df[c].map(round_sig).astype("float64")
    return df


def apply_sdc(results, sdc_table):
    """``results`` with ``sdc`` from ``sdc_table`` (matched on view, region, metric),
    ``noise_floor = max(noise_floor_pair, sdc)`` where an SDC is known, and ``significant``
    only where the comparison found it significant (its false-discovery-rate decision) and
    ``|delta| > sdc``. Rows without a matching finite SDC keep their comparison's floor and
    significance; a comparison floor that is NaN (not estimable) stays NaN, so such a change is
    never called significant on the SDC alone."""
    key = list(zip(sdc_table["view"], sdc_table["region"], sdc_table["metric"], strict=True))
    lookup = dict(zip(key, sdc_table["sdc"].astype("float64"), strict=True))
    out = results.copy()
    sdc = np.array(
        [
            round_sig(lookup.get(k, math.nan))
            for k in zip(out["view"], out["region"], out["metric"], strict=True)
        ],
        dtype=np.float64,
    )
    pair = out["noise_floor_pair"].to_numpy(np.float64)
    has = np.isfinite(sdc)
    floor = np.where(has, np.maximum(pair, sdc), pair)  # an unknown pair floor stays unknown
    delta = out["delta"].to_numpy(np.float64)
    own = out["significant"].to_numpy(bool)
    with np.errstate(invalid="ignore"):
        sig = own & np.isfinite(floor) & np.isfinite(delta) & (np.abs(delta) > floor)
    out["sdc"] = sdc
    out["noise_floor"] = floor
    out["significant"] = np.where(has, sig, own)
    return out
