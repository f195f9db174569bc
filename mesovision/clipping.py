"""How much of each region's skin a comparison loses to clipping, and a warning where it is
large.

A pixel clipped at capture in either photo (:data:`mesovision.scoring.CLIP_LEVEL`) carries no
measurement and is left out of both photos' regions (:mod:`mesovision.scoring`). The pixels a
change pushes into clipping are the ones it changed most, so when a large share of a region is
lost its colour change is read on the pixels that changed least: a redness that clips most of a
light cheek reads about half its size. Each region's clipped share is recorded per photo and
the share left out of the comparison (``result.json`` ``clipping``); past
:data:`CLIP_WARN_SHARE` the comparison warns, naming the region and the share. The warning
changes no test: an ordinary recapture of a light face (exposure +15 %) clips as much of a
cheek as a strong redness does (``docs/method.md``, "Clipped skin"), so no share tells the two
apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["CLIP_WARN_SHARE", "Clipping", "clip_warnings", "clipped_shares", "clipping_record"]

#: Past this share of a region's skin left out as clipped, the comparison warns.
CLIP_WARN_SHARE = 0.25


def clipped_shares(
    regions: dict[str, np.ndarray], own: np.ndarray, either: np.ndarray
) -> dict[str, dict[str, float]]:
    """``{region: {"own": share, "lost": share}}``: the share of each region's pixels (before
    the clipped ones are left out) clipped in this photo itself (``own``) and left out as
    clipped in either photo (``either``; 0 for an empty region)."""
    out = {}
    for r, m in regions.items():
        n = int(np.count_nonzero(m))
        shares = [int(np.count_nonzero(m & c)) / n if n else 0.0 for c in (own, either)]
        out[r] = {"own": round(shares[0], 4), "lost": round(shares[1], 4)}
    return out


def clip_warnings(before: dict[str, dict], after: dict[str, dict]) -> dict[str, str]:
    """``{region: warning}`` for each region that loses more than :data:`CLIP_WARN_SHARE` of
    its skin to clipping in either photo's frame: one line naming the region, the share and the
    photo that clips it most."""
    out = {}
    for r in (r for r in before if r in after):
        lost = max(before[r]["lost"], after[r]["lost"])
        if lost > CLIP_WARN_SHARE:
            b, a = before[r]["own"], after[r]["own"]
            side = "after photo" if a > b else "before photo"
            where = "in both photos" if abs(a - b) < 0.01 else f"most in the {side}"
            out[r] = (
                f"{r}: {100 * lost:.0f} % of its skin is clipped ({where}) and left out: its "
                "colour change is read on the rest and may be under-reported"
            )
    return out


@dataclass(frozen=True)
class Clipping:
    """Each region's skin lost to clipping in a comparison (``result.json`` ``clipping``:
    :meth:`as_dict`)."""

    #: the share of a region's skin lost past which the comparison warns
    warn_share: float = CLIP_WARN_SHARE
    #: ``{region: {"before": share, "after": share, "lost": share}}``: clipped in each photo
    #: itself, and left out of the comparison (clipped in either photo)
    regions: dict[str, dict[str, float]] = field(default_factory=dict)
    #: ``{region: line}`` for each region past :attr:`warn_share`
    warnings: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The ``result.json`` block."""
        return {"warn_share": self.warn_share, "regions": self.regions, "warnings": self.warnings}


def clipping_record(before: dict[str, dict], after: dict[str, dict]) -> Clipping:
    """The :class:`Clipping` of a comparison: the warning share, each region's share clipped in
    each photo itself (``before``, ``after``) and left out of the comparison (``lost``: clipped
    in either photo, the larger of the two photos' frames), and the warnings."""
    regions = {
        r: {
            "before": before[r]["own"],
            "after": after[r]["own"],
            "lost": max(before[r]["lost"], after[r]["lost"]),
        }
        for r in before
        if r in after
    }
    return Clipping(CLIP_WARN_SHARE, regions, clip_warnings(before, after))
