"""What ``delta / se`` of a change follows on unchanged skin: each metric family's null reference.

The noise model's terms (:mod:`mesovision.noise`) are added in quadrature and each is taken at
its worst plausible size, so on two captures of unchanged skin most changes lie well inside
their standard error, while a few (a lamp the between-region term only half sees, a detector's
fluke) go far beyond it: ``delta / se`` is narrower than the normal in its core and heavier in
its tails. A single factor on the standard errors cannot fix both.

So ``delta / se`` is referred to ``scale`` x Student's t with ``df`` degrees of freedom
(:class:`NullReference`): the two-sided p-value is its tail, ``z`` the p-value's normal score
(``|z| > 1.96`` exactly when ``p < 0.05``) and the noise floor the ``|delta|`` at which
``p = 0.05``. ``benchmarks/calibration.py reference`` fits the two numbers per family on the
development half of the synthetic null pairs, once for comparisons with treated regions
declared (the between-region term is then taken about zero) and once without, and writes them
to :data:`REFERENCE_FILE`. A metric its family's reference fits badly has its own, which takes
over its family's for it (``reference --own``: where the family's puts it outside 4-6 % of
``p < 0.05`` and a scale of its own is safe, the family's df and that scale; the under-eye
shade both numbers, ``reference --metrics``). A family without a fit (the bruised area, mostly
0 on null pairs; body and hair measures) and a comparison without the between-region term keep
the normal reference (:data:`NORMAL`: ``z = delta / se``, floor ``1.96 se``).
``docs/method.md`` gives the fit and its figures.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "NORMAL",
    "REFERENCE_FILE",
    "Z95",
    "Z_MAX",
    "NullReference",
    "SCALED_METRICS",
    "normal_score",
    "null_reference",
    "reference_tests",
]

#: Two-sided 95 % quantile of the normal distribution.
Z95 = 1.959963984540054
#: Just above the largest normal score of a p-value above 0 in double precision (``norm.isf``
#: of the smallest positive double, 5e-324, is 38.47): a ratio whose p underflows to 0 (beyond
#: about 1e60 standard errors under t(5)) gets this ``|z|``, not infinity, which the tables and
#: ``result.json`` cannot write.
Z_MAX = 38.5
#: The fitted references, per declaration and family (``benchmarks/calibration.py reference``).
REFERENCE_FILE = Path(__file__).parent / "null_reference.json"


@dataclass(frozen=True)
class NullReference:
    """The distribution of ``delta / se`` on unchanged skin for one metric family:
    ``scale`` x Student's t with ``df`` degrees of freedom (``df`` ``None``: the normal)."""

    scale: float = 1.0
    df: float | None = None

    def test(self, ratio) -> tuple[np.ndarray, np.ndarray]:
        """``(z, p)`` of ``delta / se`` ratios: the two-sided p-value under this reference and
        its normal score with the ratio's sign (the ratio itself under :data:`NORMAL`)."""
        from scipy.stats import norm, t

        r = np.asarray(ratio, np.float64)
        if self == NORMAL:
            return r, 2 * norm.sf(np.abs(r))
        x = np.abs(r) / self.scale
        p = 2 * (norm.sf(x) if self.df is None else t.sf(x, self.df))
        return normal_score(r, p), p

    @property
    def floor(self) -> float:
        """The noise floor in standard errors: the ``|delta| / se`` at which ``p = 0.05``."""
        return self.scale * (Z95 if self.df is None else _t975(self.df))


def normal_score(ratio, p) -> np.ndarray:
    """The normal score of two-sided p-values ``p`` with the ``ratio``'s sign, at most
    :data:`Z_MAX` (a p that underflowed to 0)."""
    from scipy.stats import norm

    return np.sign(ratio) * np.minimum(norm.isf(np.asarray(p) / 2), Z_MAX)


def reference_tests(ratios, references) -> tuple[np.ndarray, np.ndarray]:
    """``(z, p)`` of each ratio under its own reference (``references``, one per ratio): what
    :meth:`NullReference.test` gives each, element by element, in one call of each distribution
    (SciPy's distributions take an array of degrees of freedom)."""
    from scipy.stats import norm, t

    r = np.asarray(ratios, np.float64)
    scale = np.array([ref.scale for ref in references], np.float64)
    df = np.array([np.nan if ref.df is None else ref.df for ref in references], np.float64)
    normal = np.isnan(df)
    x = np.abs(r) / scale
    p = np.empty_like(x)
    p[normal] = 2 * norm.sf(x[normal])
    p[~normal] = 2 * t.sf(x[~normal], df[~normal])
    z = normal_score(r, p)
    plain = normal & (scale == 1.0)  # NORMAL: the ratio is its own normal score
    z[plain] = r[plain]
    return z, p


@functools.cache
def _t975(df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, df))


#: The standard normal reference (``z = delta / se``).
NORMAL = NullReference()


@functools.cache
def _table() -> dict:
    return json.loads(REFERENCE_FILE.read_text()) if REFERENCE_FILE.is_file() else {}


#: Metrics in millimetres that are another metric of the scoring frame times a factor of the
#: scale: ``{metric: (the metric in the frame's units, factor(px per mm, interocular px) or
#: None for no fixed factor)}``. The noise model's fitted parts (this null reference, the
#: capture term of :mod:`mesovision.noise_capture`) are fitted on null pairs without a scale,
#: so these take their frame metric's: the same change tests alike in either unit.
SCALED_METRICS = {
    "pigmentation.spot_area_mm2": ("pigmentation.spot_area_px", lambda ppm, iod: ppm**-2),
    "swelling.contour_mm": ("swelling.contour_pct_iod", lambda ppm, iod: iod / (100 * ppm)),
    "swelling.puffiness_mm2": ("swelling.puffiness_pct", None),  # a share of a zone
}


def null_reference(
    family: str | None,
    *,
    declared: bool,
    field: bool,
    metric: str | None = None,
    table: dict | None = None,
) -> NullReference:
    """The :class:`NullReference` of a change of ``metric`` of ``family``, fitted on null pairs
    with treated regions declared or not (``declared``) and with the between-region term: the
    metric's own where it has one (a metric its family's reference fits badly), else its
    family's; :data:`NORMAL` without that term (``field`` false: too few facial parts, body
    mode) or without a fit. ``table``: references in :data:`REFERENCE_FILE`'s layout to take
    them from instead (``benchmarks/calibration.py cv`` fits them in memory). A metric of
    :data:`SCALED_METRICS` without its own takes its frame metric's."""
    if not field:
        return NORMAL
    kind = "declared" if declared else "undeclared"
    table = _table() if table is None else table
    own = table.get("metrics", {}).get(kind, {})
    fitted = own.get(metric, own.get(SCALED_METRICS.get(metric, ("",))[0]))
    if fitted is None:
        fitted = table.get(kind, {}).get(family)
    if fitted is None:
        return NORMAL
    return NullReference(float(fitted["scale"]), float(fitted["df"]))
