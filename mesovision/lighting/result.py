"""What lighting normalization returns: the normalized pair and the report of how well it went.

:class:`LightingReport` states the method, the model and its parameters, the shading removed and
the CIEDE2000 between the photos on the reference pixels before and after (JSON-ready through
:meth:`LightingReport.as_dict`). :class:`LightingResult` holds the normalized photos (the after
photo computed on first access) and the correction as a function, so that it can be applied to the
after photo in another frame (:mod:`.transfer`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from ..color import linear_to_srgb, srgb_to_linear

__all__ = ["LightingReport", "LightingResult"]


@dataclass(frozen=True)
class LightingReport:
    """How the lighting was normalized, and how well.

    Attributes
    ----------
    method : ``"reference"``, ``"card"`` or ``"none"``.
    model : colour model used (:data:`MODELS`, ``"card:affine"``), or ``None``.
    reference : what the reference pixels were (e.g. ``"reference_mask"``, ``"all valid pixels"``).
    n_reference_px : usable reference pixels (valid in both photos, not clipped).
    delta_e_before, delta_e_after : dict
        CIEDE2000 between the two photos on the reference pixels, ``{"median", "p95"}``, for the
        photos as given and after normalization.
    params : dict
        The model's parameters (linear light, after -> before) and the "auto" selection scores.
    shading : dict or None
        The shading fields removed (``None`` when ``shading=False``).
    card : dict or None
        For ``method="card"``: per photo, whether a card was found and the patches' mean/max
        CIEDE2000 to the reference before and after correction.
    warnings : tuple of str
    """

    method: str
    model: str | None
    reference: str
    n_reference_px: int
    delta_e_before: dict
    delta_e_after: dict
    params: dict
    shading: dict | None
    card: dict | None
    warnings: tuple[str, ...]

    def as_dict(self) -> dict:
        """JSON-ready dict (numpy scalars and arrays converted to Python numbers and lists)."""
        return _jsonable(asdict(self))


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


class LightingResult:
    """The normalized pair (float32 sRGB in [0, 1]) and its report.

    ``before`` is the before photo as given, unless a card correction or the common (absolute)
    shading removal changed it; ``after`` is the after photo in the before photo's lighting
    (computed on first access: a comparison that scores the after photo in its own frame never
    needs it). ``apply_after(pixels, relative_field)`` is the correction as a function of
    after-photo pixels and the relative shading field in the same frame (see
    :func:`correct_image`); ``relative_field`` (divides the after photo) and ``absolute_field``
    (divides both) are in the before photo's frame.
    """

    def __init__(
        self,
        before: np.ndarray,
        after: np.ndarray | Callable[[], np.ndarray],
        report: LightingReport,
        apply_after: Callable | None = None,
        relative_field: np.ndarray | None = None,
        absolute_field: np.ndarray | None = None,
        source_after: np.ndarray | None = None,
    ):
        self.before = before
        self._after = after
        self._source_after = source_after  # the uncorrected after photo, when after is lazy
        self.report = report
        self.apply_after = apply_after
        self.relative_field = relative_field
        self.absolute_field = absolute_field

    def __repr__(self) -> str:  # the report's key numbers, not the pixels
        r = self.report
        h, w = self.before.shape[:2]
        model = f" ({r.model})" if r.model else ""
        return (
            f"<LightingResult {r.method}{model}: {w}x{h} px, {r.n_reference_px} reference px, "
            f"dE00 median {r.delta_e_before['median']:.2f} -> {r.delta_e_after['median']:.2f}, "
            f"{len(r.warnings)} warnings>"
        )

    @property
    def after(self) -> np.ndarray:
        if callable(self._after):
            self._after = self._after()
        return self._after

    def after_at(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """``after[ys, xs]`` (``(N, 3)``), computed for those pixels only when ``after`` has
        not been made."""
        if not callable(self._after):
            return self._after[ys, xs]
        pix = self._source_after[ys, xs][:, None, :]
        rel = None if self.relative_field is None else self.relative_field[ys, xs][:, None]
        out = self.apply_after(pix, rel)[:, 0, :]
        if self.absolute_field is not None:
            out = linear_to_srgb(srgb_to_linear(out) / self.absolute_field[ys, xs][:, None])
        return np.clip(out, 0.0, 1.0)
