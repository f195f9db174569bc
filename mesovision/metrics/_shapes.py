"""Shapes of connected components: their areas, elongation, a quantile of a value over each,
and dropping the elongated ones.

The elongation of a component is ``sqrt(l1 / l2)`` of the eigenvalues of its pixels' second
moments (each pixel a unit square, hence the ``1/12``): an ellipse's axis ratio. Lines, folds,
frames and hairlines are elongated; spots and bruises are compact.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "compact_components",
    "component_areas",
    "component_quantile",
    "elongation",
    "nonzero_rc",
]


def component_areas(binary: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``(n, labels, areas)``: the 8-connected components of ``binary`` (bool or uint8), as
    OpenCV labels them (int32; 0 the background), and each label's pixel count (``n`` of them,
    the background's first). The labels and areas of ``cv2.connectedComponentsWithStats``,
    without its other statistics (bounding boxes, centroids), which cost about 6x the labelling
    on the skin maps."""
    b = binary.view(np.uint8) if binary.dtype == bool else binary.astype(np.uint8, copy=False)
    n, labels = cv2.connectedComponents(b, connectivity=8)
    fg = labels[binary] if binary.dtype == bool else labels[labels > 0]
    areas = np.bincount(fg, minlength=n)  # (counted over the few labelled pixels only)
    areas[0] = labels.size - fg.size
    return n, labels, areas


def component_quantile(
    lab: np.ndarray, val: np.ndarray, n: int, q: float, empty: float = 0.0
) -> np.ndarray:
    """Per label ``0 .. n - 1``, the ``q`` quantile of the values ``val`` whose labels are
    ``lab`` (1-D, the same length): the value of rank ``floor(q (count - 1))`` among the label's
    sorted values, in ``val``'s dtype; ``empty`` for a label without values. A robust peak of
    each component (spots, bruises): one noisy pixel does not set it."""
    out = np.full(n, empty, dtype=val.dtype)
    if val.size == 0:
        return out
    order = np.lexsort((val, lab))
    lab_s, val_s = lab[order], val[order]
    starts = np.searchsorted(lab_s, np.arange(n))
    counts = np.bincount(lab_s, minlength=n)
    idx = np.minimum(starts + (q * np.maximum(counts - 1, 0)).astype(int), len(val_s) - 1)
    has = counts > 0
    out[has] = val_s[idx[has]]
    return out


def nonzero_rc(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.nonzero`` of a 2-D array, ``(rows, cols)`` in row-major order, through its flat
    indices: the same arrays, 10-40x faster when few elements are set (NumPy's 2-D ``nonzero``
    visits every element; the flat one skips runs of zeros)."""
    idx = np.flatnonzero(a)
    rows = idx // a.shape[1]
    return rows, idx - rows * a.shape[1]


def elongation(labels: np.ndarray, n: int) -> np.ndarray:
    """``sqrt(l1 / l2)`` of the second-moment eigenvalues of each labelled component (index 0
    included, meaningless)."""
    ys, xs = nonzero_rc(labels)
    lab = labels[ys, xs]
    w = np.maximum(np.bincount(lab, minlength=n).astype(np.float64), 1.0)
    mx = np.bincount(lab, xs, n) / w
    my = np.bincount(lab, ys, n) / w
    dx, dy = xs - mx[lab], ys - my[lab]
    sxx = np.bincount(lab, dx * dx, n) / w + 1 / 12
    syy = np.bincount(lab, dy * dy, n) / w + 1 / 12
    sxy = np.bincount(lab, dx * dy, n) / w
    tr, det = sxx + syy, sxx * syy - sxy * sxy
    disc = np.sqrt(np.maximum(tr * tr / 4 - det, 0.0))
    return np.sqrt((tr / 2 + disc) / np.maximum(tr / 2 - disc, 1e-9))


def compact_components(binary: np.ndarray, maxelongation: float) -> np.ndarray:
    """Drop the 8-connected components of ``binary`` more elongated than ``maxelongation``."""
    n, labels = cv2.connectedComponents(binary.view(np.uint8), connectivity=8)
    keep = elongation(labels, n) <= maxelongation
    keep[0] = False
    return keep[labels]
