"""Small helpers the render benchmarks (``hair.py``, ``body.py``) share: a change's columns in
a result row, the summary of an error column and the rows' CSV."""

from __future__ import annotations

import csv
import math

import numpy as np


def change_columns(c) -> dict:
    """A :class:`mesovision.Change`'s columns in a benchmark row."""
    return {
        "before": c.before,
        "after": c.after,
        "delta": c.delta,
        "z": c.z,
        "tested": c.z is not None and math.isfinite(c.z),
        "significant": bool(c.significant),
    }


def stat(values) -> str:
    """``mean (median |x|)`` of the finite values, and how many were NaN (not measured)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    missing = len(values) - v.size
    if v.size == 0:
        return "n/a"
    out = f"{np.mean(v):+.1f} ({np.median(np.abs(v)):.1f})"
    return out + (f", {missing} NaN" if missing else "")


def write_csv(path, rows: list[dict]) -> None:
    """``rows`` to a CSV at ``path``, the union of their keys as columns (sorted)."""
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
        w.writeheader()
        w.writerows(rows)
