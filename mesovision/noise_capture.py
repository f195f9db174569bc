"""The noise model's fitted terms: what a second capture adds beyond the measured terms.

Two terms of :mod:`mesovision.noise` are not measured on the pair but fitted on synthetic null
pairs of the development people (``benchmarks/calibration.py fit``, written to
:data:`CAPTURE_NOISE_FILE`):

* the **capture term** (:func:`capture_sd`): one number per metric, in the metric's unit or, for
  the metrics their family registers as ``relative_noise`` (texture and spot contrast, which
  focus, noise and JPEG scale rather than shift), a share of the larger of the two values;
* the **detail term** (:func:`detail_sd`): for the metrics that read the image's fine detail
  (:data:`DETAIL_FAMILIES`), a change of focus or sharpness between the two photos moves their
  values in proportion to the change: ``kappa x |ln(detail ratio)| x max(|before|, |after|)``,
  with the pair's measured detail ratio (:class:`mesovision.comparability.Mismatch`) and
  ``kappa`` per metric, fitted by maximum likelihood under a scaled Student t on the development
  null changes (kept where it improves the likelihood beyond chance, ``calibration.py``). Two
  photos equally sharp get none of it, so their texture changes are tested against the noise
  they have, not against that of a mismatched pair. It goes with the between-region term: a
  comparison without that term (body mode, too few facial parts) takes the capture term fitted
  without either (``capture_noise(with_field=False)``), which carries the mismatch as a
  constant.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np

from .metrics import FAMILIES
from .null_reference import SCALED_METRICS

__all__ = [
    "CAPTURE_NOISE_FILE",
    "DETAIL_FAMILIES",
    "capture_noise",
    "capture_sd",
    "detail_noise",
    "detail_sd",
    "family_of_metric",
    "relative_capture",
]

#: Per-metric capture standard deviations fitted on null pairs (``benchmarks/calibration.py``).
CAPTURE_NOISE_FILE = Path(__file__).parent / "capture_noise.json"
#: The metric families whose values follow the image's fine detail (the detail term's).
DETAIL_FAMILIES = ("texture",)


def family_of_metric(metric: str):
    """The registered family of ``metric`` (its name's prefix), or ``None``."""
    return FAMILIES.get(metric.split(".", 1)[0])


def relative_capture(metric: str) -> bool:
    """Whether a metric's capture term is relative (a share of its value): those its family
    registers as ``relative_noise`` (texture and spot contrast, which focus, noise and JPEG
    scale rather than shift); the others, and metrics of no registered family, are absolute."""
    family = family_of_metric(metric)
    return family is not None and metric in family.relative_noise


def _magnitude(before: float, after: float) -> float:
    return max(abs(before), abs(after)) if np.isfinite(before) and np.isfinite(after) else 0.0


def capture_sd(
    table: dict[str, float],
    metric: str,
    before: float,
    after: float,
    scale: tuple[float | None, float] | None = None,
) -> float:
    """The capture term of one change: ``table[metric]`` (else the metric family's own
    ``capture_sd``) in the metric's unit, or for a :func:`relative_capture` metric that share of
    the larger of ``|before|`` and ``|after|``. A metric of :data:`SCALED_METRICS` without a term
    of its own takes its frame metric's, converted with ``scale`` (``(px per mm, interocular
    distance in px)`` of the scoring frame; none without a scale): the capture terms are fitted
    on null pairs without a scale."""
    if metric in SCALED_METRICS and metric not in table:
        frame_metric, factor = SCALED_METRICS[metric]
        c = table.get(frame_metric, 0.0)
        if c == 0.0 or factor is None or scale is None or not scale[0]:
            return 0.0
        return c * factor(*scale)
    c = table.get(metric, 0.0)
    if c == 0.0:
        family = family_of_metric(metric)
        c = 0.0 if family is None else family.capture_sd.get(metric, 0.0)
    if c == 0.0:
        return 0.0
    return c * _magnitude(before, after) if relative_capture(metric) else c


def detail_sd(
    table: dict[str, float], metric: str, before: float, after: float, detail_ratio
) -> float:
    """The detail term of one change: ``table[metric] x |ln(detail_ratio)| x max(|before|,
    |after|)``; 0 for a metric not in ``table`` or without a measured ratio."""
    kappa = table.get(metric, 0.0)
    if kappa == 0.0 or detail_ratio is None or not (0.0 < detail_ratio < math.inf):
        return 0.0
    return kappa * abs(math.log(detail_ratio)) * _magnitude(before, after)


def _doc() -> dict:
    return json.loads(CAPTURE_NOISE_FILE.read_text()) if CAPTURE_NOISE_FILE.is_file() else {}


@functools.cache
def capture_noise(with_field: bool = True) -> dict[str, float]:
    """``{metric: sd_capture}``: what a second capture of unchanged skin moves a change by,
    beyond the other noise terms, in the metric's unit (``CAPTURE_NOISE_FILE``; 0 for a metric
    not in it). ``with_field=False``: the table fitted without the between-region term, for
    comparisons with too few facial parts to have one (body mode)."""
    return dict(_doc().get("capture_sd" if with_field else "capture_sd_without_field", {}))


@functools.cache
def detail_noise() -> dict[str, float]:
    """``{metric: kappa}`` of the detail term (``CAPTURE_NOISE_FILE``'s ``detail_sd``; a metric
    not in it has none)."""
    return dict(_doc().get("detail_sd", {}))
