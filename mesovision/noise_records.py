"""The records of the noise model: one region x metric :class:`Change` and the
:class:`NoiseTerms` of its standard error (:func:`standard_error` adds them in quadrature).

:mod:`mesovision.noise` computes the terms and the tests (its module docstring derives each
term); :mod:`mesovision.compare` fills these records, ``r.changes[region][metric]`` of a
:class:`~mesovision.Comparison` and of a :class:`~mesovision.SavedComparison`. Both classes are
importable from :mod:`mesovision.noise` too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .null_reference import NullReference

__all__ = ["Change", "NoiseTerms", "standard_error"]

_DOUBLES = (float, np.float64)  # double precision: NumPy's float64 arithmetic


@dataclass(frozen=True)
class NoiseTerms:
    """The terms of one change's standard error, each in the metric's unit (derived in
    :mod:`mesovision.noise`), and the null reference its test uses.

    Attributes
    ----------
    se_paired : float
        The paired term: ``MAD_TO_SD`` x the median absolute deviation of the region's per-tile
        changes over ``sqrt(n_tiles)``, x the region's size in tiles for counts and areas (the
        spread pooled over the untreated parts in a treated region, over the facial parts with
        fewer than ``MIN_PAIRED_TILES`` tiles; 0 for a metric its family registers untiled).
    n_tiles : int
        The number of paired tiles behind ``se_paired``.
    sd_registration : float
        The RMS change of the after value when the region's masks move by the alignment
        residual in the four directions; for a metric its family registers two-sided, the
        quadratic mean of that and the before value's (:func:`~mesovision.noise.registration_sd`).
    sd_recapture : float
        The change of the after value when it is scored as if captured once more.
    sd_counting : float
        The Poisson noise of the detections and flagged pixels behind a count, density, area or
        thresholded share (:func:`~mesovision.noise.counting_sd`); 0 for other metrics.
    sd_capture : float
        What a second capture moves the value by beyond the terms above, one number per metric
        fitted on null pairs (:func:`~mesovision.noise.capture_sd`).
    sd_field : float
        The between-region term: how far the metric moved on the pair's unchanged facial parts
        (:func:`~mesovision.noise.field_terms`); 0 for counts, areas and a ``local`` family, and
        when the pair has too few facial parts for it (``sd_capture`` is then the one fitted
        without it).
    sd_mismatch : float
        The widening of a ``limited`` family (:class:`~mesovision.Verdict`): the other terms'
        total x ``sqrt(inflation**2 - 1)``, so that the standard error is ``inflation`` times
        theirs; 0 when the family is not widened.
    sd_detail : float
        The focus or sharpness mismatch term of texture metrics
        (:func:`~mesovision.noise.detail_sd`); 0 for two photos equally sharp, for other
        metrics and without the between-region term.
    null_scale : float
        The scale of the null reference ``delta / se`` is referred to (1: unscaled).
    null_df : float or None
        Its Student t degrees of freedom; ``None``: the normal distribution.
    sd_pose : float
        The head-turn term of the swelling family's contour metrics
        (:func:`~mesovision.noise.pose_sd`); 0 for other metrics and without a turn.
    """

    se_paired: float
    n_tiles: int
    sd_registration: float
    sd_recapture: float
    sd_counting: float
    sd_capture: float
    sd_field: float = 0.0
    sd_mismatch: float = 0.0
    sd_detail: float = 0.0
    null_scale: float = 1.0
    null_df: float | None = None
    sd_pose: float = 0.0

    def total(self) -> float:
        """The standard error: the terms added in quadrature (NaN if one is NaN)."""
        terms = (self.se_paired, self.sd_registration, self.sd_recapture, self.sd_counting,
                 self.sd_capture, self.sd_field, self.sd_mismatch, self.sd_detail,
                 self.sd_pose)  # fmt: skip
        if not all(type(t) in _DOUBLES for t in terms):
            return float(standard_error(*terms))
        a, b, c, d, e, f, g, h, i = terms  # standard_error's sum, in its order, without arrays
        return math.sqrt(a * a + b * b + c * c + d * d + e * e + f * f + g * g + h * h + i * i)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def reference(self) -> NullReference:
        return NullReference(self.null_scale, self.null_df)


@dataclass
class Change:
    """One region x metric change: its values, standard error and test.

    Attributes
    ----------
    before, after : float
        The region's value in the before and the after photo, in ``unit`` (NaN: not measured,
        e.g. a metric in mm without the photo's scale).
    delta : float
        ``after - before``, in ``unit``.
    relative : float or None
        ``delta / abs(before)`` (dimensionless; ``None`` when ``before`` is 0 or NaN).
    se : float
        The standard error of ``delta``, in ``unit``: ``noise.total()`` (NaN when the change is
        not measured or its metric is not tested).
    z : float or None
        The normal score of ``p`` with the sign of ``delta`` (``|z| > 1.96`` exactly when
        ``p < 0.05``); ``None`` when not tested (no finite standard error, or the family is
        ``not_comparable`` for this pair).
    p : float or None
        The two-sided p-value of ``delta / se`` under the change's null reference
        (:class:`~mesovision.null_reference.NullReference`); ``None`` when not tested.
    q : float or None
        The Benjamini-Hochberg adjusted p-value over the pair's tested changes of the same
        ``endpoint`` (:func:`~mesovision.noise.control_fdr`); ``None`` when not tested.
    noise_floor : float
        The smallest ``abs(delta)`` with ``p < 0.05``, in ``unit`` (NaN without a standard
        error).
    significant : bool
        ``q < FDR`` (0.05): the change is larger than two captures of unchanged skin explain.
    unit : str
        The metric's unit (``"1"`` for dimensionless).
    direction : str
        ``"higher_is_better"``, ``"higher_is_worse"`` or ``"neutral"`` for the skin.
    family : str
        The comparability family (``colour``, ``pigmentation``, ``texture``, ``bruise``,
        ``geometry``, ``body_texture``): the key of its verdict in ``verdicts``.
    noise : NoiseTerms
        The terms of ``se`` and the null reference of the test.
    endpoint : str
        ``"primary"`` for the headline metric of a treated region, else ``"secondary"``; the
        false discovery rate is controlled within each.
    """

    before: float
    after: float
    delta: float
    relative: float | None
    se: float
    z: float | None
    p: float | None
    q: float | None
    noise_floor: float
    significant: bool
    unit: str
    direction: str
    family: str
    noise: NoiseTerms
    endpoint: str = "secondary"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["noise"] = self.noise.as_dict()
        return d


def standard_error(
    se_paired,
    sd_registration,
    sd_recapture,
    sd_counting,
    sd_capture,
    sd_field=0.0,
    sd_mismatch=0.0,
    sd_detail=0.0,
    sd_pose=0.0,
):
    """The standard error of a change, its noise terms added in quadrature (numbers or arrays;
    a NaN term makes it NaN: the change is then not tested)."""
    return np.sqrt(
        np.square(se_paired)
        + np.square(sd_registration)
        + np.square(sd_recapture)
        + np.square(sd_counting)
        + np.square(sd_capture)
        + np.square(sd_field)
        + np.square(sd_mismatch)
        + np.square(sd_detail)
        + np.square(sd_pose)
    )
