"""One photo of a comparison as scored: :class:`ScoredPhoto`, ``r.before`` and ``r.after`` of a
:class:`~mesovision.Comparison`. Importable from :mod:`mesovision.compare` too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import ImageMaps
from .metrics.bruise import BruiseResult

__all__ = ["ScoredPhoto"]


@dataclass(frozen=True, eq=False)
class ScoredPhoto:
    """One photo in its scoring frame: image, region masks, per-pixel maps, scores.

    Attributes
    ----------
    rgb : numpy.ndarray
        The photo (the after photo lighting-corrected): ``float32`` sRGB, ``(H, W, 3)``.
    regions : dict of str to numpy.ndarray
        The region masks (``bool``, scoring frame) by name.
    maps : ImageMaps
        The per-pixel maps the metrics read (redness, melanin, wrinkles, ...).
    scores : dict of str to dict of str to float
        ``scores[region][metric]``, in each metric's unit (NaN: not measured).
    scale : float
        Scoring px per working px of this photo.
    bruises : BruiseResult
        The bruises found on the photo (matched with the other photo's).
    frame : numpy.ndarray
        ``3 x 3``: this photo's working pixels -> its scoring pixels (crop, then ``scale``).
    """

    rgb: np.ndarray
    regions: dict[str, np.ndarray]
    maps: ImageMaps
    scores: dict[str, dict[str, float]]
    scale: float
    bruises: BruiseResult
    frame: np.ndarray

    def __repr__(self) -> str:  # the photo's summary, not its image, masks and maps
        (h, w), n = self.rgb.shape[:2], sum(len(per) for per in self.scores.values())
        return (
            f"<ScoredPhoto: {w}x{h} px, scale {self.scale:.4g}, {len(self.regions)} regions, "
            f"{n} scores>"
        )
