"""The checks of the Python API's arguments (:mod:`mesovision.api`), before any work.

Each bad argument raises :class:`~mesovision.errors.UsageError` (also a ``ValueError``) naming
the argument; an image array too small is an :class:`~mesovision.errors.InvalidImage`, as a
file is.
"""

from __future__ import annotations

import dataclasses
import numbers
import os

import numpy as np

from .errors import InvalidImage, UsageError
from .types import Photo

__all__ = [
    "check_array",
    "checked_mask",
    "checked_max_side",
    "checked_metrics",
    "checked_options",
    "checked_threads",
    "kind",
    "max_side_used",
    "reduced",
]

#: Scale tolerance of an array reduced to ``max_side`` (as :func:`mesovision.io.load_photo`).
_SCALE_TOLERANCE = 1e-3


def kind(value: object) -> str:
    """How an error names the type of a wrong argument."""
    return "None" if value is None else type(value).__name__


def _positive_or_none(value, name: str) -> int | None:
    """``value`` as an ``int`` (or ``None``); anything but a positive integer (``True``
    included) is refused with a :class:`UsageError` naming the argument ``name``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise UsageError(f"{name} must be a positive integer or None, got {value!r}")
    return int(value)


def checked_max_side(max_side: int | None) -> int | None:
    """``max_side`` as an ``int`` (or ``None``); anything but a positive integer is refused."""
    return _positive_or_none(max_side, "max_side")


def check_array(a: np.ndarray, name: str) -> None:
    """Refuse, with a ``UsageError`` naming ``name``, an array outside the array convention."""
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise UsageError(f"{name}: expected an RGB array shaped (H, W, 3), got shape {a.shape}")
    if a.dtype in (np.uint8, np.uint16):
        return
    if not np.issubdtype(a.dtype, np.floating):
        raise UsageError(f"{name}: unsupported dtype {a.dtype}; use uint8, uint16 or float")
    if not np.isfinite(a).all():
        raise UsageError(f"{name}: array has NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise UsageError(f"{name}: float values must be in [0, 1], got [{lo:g}, {hi:g}]")


def reduced(photo: Photo, max_side: int | None, name: str) -> Photo:
    """``photo`` reduced by area averaging to ``max_side`` on its long side (one scale for
    both axes, as :func:`mesovision.io.load_photo` reduces a file)."""
    w, h = photo.size
    if max_side is None or max(w, h) <= max_side:
        return photo
    import cv2

    s = max_side / max(w, h)
    new_w, new_h = max(1, round(w * s)), max(1, round(h * s))
    if abs(new_w / w - new_h / h) > _SCALE_TOLERANCE:
        msg = f"{w}x{h} cannot be reduced to max_side {max_side} with one scale"
        raise InvalidImage(msg, path=name)
    rgb = cv2.resize(photo.rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return dataclasses.replace(photo, rgb=np.ascontiguousarray(rgb), scale=new_w / w)


def checked_mask(mask: object, before: Photo) -> str | np.ndarray | None:
    """A mask file's path as a ``str``, or a mask array checked against the before photo (2-D,
    ``bool`` or ``uint8``, the before photo's size as given, not empty)."""
    if mask is None or isinstance(mask, (str, os.PathLike)):
        return None if mask is None else os.fspath(mask)
    if not isinstance(mask, np.ndarray):
        raise UsageError(f"mask: expected a file path or a numpy array, got {kind(mask)}")
    if mask.dtype not in (np.bool_, np.uint8):
        raise UsageError(f"mask: unsupported dtype {mask.dtype}; use bool or uint8")
    w, h = before.original_size
    rows, cols = (w, h) if before.quarter_turns % 2 else (h, w)  # as given, before any turn
    if mask.shape != (rows, cols):
        msg = f"shape {mask.shape} is not the before photo's (rows, columns) ({rows}, {cols})"
        raise UsageError(f"mask: {msg}")
    if not mask.any():
        raise UsageError("mask: no non-zero pixel (nothing to measure)")
    return mask


def checked_threads(threads: int | None) -> int | None:
    """``threads`` as an ``int`` (or ``None``); anything but a positive integer is refused."""
    return _positive_or_none(threads, "threads")


def max_side_used(max_side: int | None, photos: tuple[Photo, Photo]) -> int | None:
    """The ``max_side`` that gives both working copies: ``max_side`` (always, for files and
    arrays, which it reduced) unless a :class:`Photo` given as it is does not fit it; then
    ``None`` when both are at full resolution, else a reduced Photo's long side (the before
    photo's first)."""

    def gives(cap: int | None, p: Photo) -> bool:
        long_side = max(p.size)
        return long_side == cap if p.scale < 1 else cap is None or long_side <= cap

    caps = (max_side, None, *(max(p.size) for p in photos if p.scale < 1))
    for cap in caps:
        if all(gives(cap, p) for p in photos):
            return cap
    return next(cap for cap in caps if gives(cap, photos[0]))


def checked_options(
    treated: str | list[str] | tuple[str, ...],
    mode: str,
    ipd_mm: float | None,
    px_per_mm: float | None,
    metrics: str | list[str] | tuple[str, ...] | None,
) -> tuple[tuple[str, ...], list[str] | None]:
    """Refuse, before any work, the options of :func:`compare` that would fail later, or give a
    result they do not mean; returns the treated regions and the metric names."""
    from .pipeline import MODES
    from .regions import validate_region_names

    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    if ipd_mm is not None and px_per_mm is not None:
        raise UsageError("give ipd_mm or px_per_mm, not both")
    if ipd_mm is not None and not 40 <= ipd_mm <= 80:
        raise UsageError(f"ipd_mm {ipd_mm} is not a plausible interpupillary distance (40-80 mm)")
    if ipd_mm is not None and mode not in ("face", "scalp"):
        raise UsageError("ipd_mm needs face or scalp mode (the pupils give the scale)")
    if px_per_mm is not None:
        from .scale import check_px_per_mm

        check_px_per_mm(px_per_mm)
    names = None if metrics is None else checked_metrics(metrics, mode)
    return (validate_region_names(treated, mode=mode) if treated else ()), names


def checked_metrics(metrics: str | list[str] | tuple[str, ...], mode: str) -> list[str]:
    """The metric names (a sequence, or one string separated by commas), each one scored in
    ``mode`` (:func:`mesovision.metrics.metrics_for_mode`)."""
    from .metrics import REGISTRY, metrics_for_mode
    from .pipeline import MODES

    if isinstance(metrics, str):
        metrics = [n.strip() for n in metrics.split(",") if n.strip()]
    if not isinstance(metrics, (list, tuple)) or not all(isinstance(n, str) for n in metrics):
        raise UsageError(f"metrics: expected a list of metric names, got {metrics!r}")
    if not metrics:
        raise UsageError("metrics: no metric name given (None scores every metric of the mode)")
    valid = metrics_for_mode(mode)
    for name in metrics:
        if name not in REGISTRY:
            raise UsageError(f"unknown metric {name!r}; valid in {mode} mode: {', '.join(valid)}")
        if name not in valid:
            modes = " or ".join(m for m in MODES if name in metrics_for_mode(m))
            raise UsageError(
                f"metric {name!r} needs mode {modes}, not {mode}; valid in {mode} mode: "
                f"{', '.join(valid)}"
            )
    return list(metrics)
