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

A colour outside sRGB in a wide-gamut file's profile is clipped to sRGB's edge by the conversion
at load (:attr:`mesovision.types.Photo.gamut_clipped`), not by the exposure: as the capture
checks do (``clipping`` and ``gamut``, :mod:`mesovision.checks`), those pixels are not counted as
clipped (:class:`FrameGamut`), and a region with more than :data:`CLIP_WARN_SHARE` of them in
either photo gets a warning of its own (:func:`gamut_warnings`): its colours read less saturated
than they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "CLIP_WARN_SHARE",
    "Clipping",
    "FrameGamut",
    "clip_warnings",
    "clipped_shares",
    "clipping_record",
    "frame_gamut",
    "gamut_warnings",
]

#: Past this share of a region's skin left out as clipped, the comparison warns.
CLIP_WARN_SHARE = 0.25


@dataclass(frozen=True, eq=False)
class FrameGamut:
    """In one photo's scoring frame, the pixels clipped at capture (not by the colour-profile
    conversion) in the photo itself (``own_capture``) and in either photo (``either_capture``),
    and those the conversion clipped (:attr:`mesovision.types.Photo.gamut_clipped`) in the photo
    itself (``own``) and in either photo (``either``): :func:`frame_gamut`."""

    own_capture: np.ndarray
    either_capture: np.ndarray
    own: np.ndarray
    either: np.ndarray


def frame_gamut(
    photos: tuple, scales: tuple, boxes: tuple, clipped: tuple, a_to_b: np.ndarray
) -> tuple[FrameGamut, FrameGamut] | None:
    """The :class:`FrameGamut` of the before and the after photo's scoring frames (``(before,
    after)`` each: the photos, their scoring scales and crops, and the pixels clipped on their
    scoring frames), with ``a_to_b`` the map from the after frame to the before frame; ``None``
    when neither photo has pixels the conversion clipped."""
    from .scoring_frame import warp_mask

    if all(p.gamut_clipped is None for p in photos):
        return None
    shapes = [c.shape for c in clipped]
    g = [
        _on_scoring(p.gamut_clipped, k, box, shape)
        for p, k, box, shape in zip(photos, scales, boxes, shapes, strict=True)
    ]
    cap = [c & ~m for c, m in zip(clipped, g, strict=True)]
    maps = (a_to_b, np.linalg.inv(a_to_b))  # the other photo's frame to this one's
    return tuple(
        FrameGamut(
            cap[i],
            cap[i] | warp_mask(cap[1 - i], maps[i], shapes[i]),
            g[i],
            g[i] | warp_mask(g[1 - i], maps[i], shapes[i]),
        )
        for i in (0, 1)
    )


def _on_scoring(mask, k: float, box, shape) -> np.ndarray:
    """A photo's gamut marks (``None``: none; the working copy's size, as
    :class:`mesovision.types.Photo` keeps them) on its scoring frame of ``shape``: a pixel at
    least half of whose working pixels are marked."""
    from .scoring_frame import to_scoring

    if mask is None:
        return np.zeros(shape[:2], bool)
    return to_scoring(mask.astype(np.float32), k, box) >= 0.5  # cropped and resampled as the photo


def clipped_shares(
    regions: dict[str, np.ndarray],
    own: np.ndarray,
    either: np.ndarray,
    gamut: FrameGamut | None = None,
) -> dict[str, dict[str, float]]:
    """``{region: {"own": share, "lost": share, "gamut_own": share, "gamut": share}}``: the
    share of each region's pixels (before the clipped ones are left out) clipped in this photo
    itself (``own``) and left out as clipped in either photo (``either``), without those
    the colour-profile conversion clipped (``gamut``, when given: its capture masks are counted
    instead), and the shares the conversion clipped in this photo itself (``gamut_own``) and in
    either photo (``gamut``); 0 for an empty region."""
    masks = [own, either]
    if gamut is not None:
        masks = [gamut.own_capture, gamut.either_capture, gamut.own, gamut.either]
    out = {}
    for r, m in regions.items():
        n = int(np.count_nonzero(m))
        shares = [int(np.count_nonzero(m & c)) / n if n else 0.0 for c in masks]
        shares += [0.0] * (4 - len(shares))  # no gamut marks in either photo
        keys = ("own", "lost", "gamut_own", "gamut")
        out[r] = {k: round(v, 4) for k, v in zip(keys, shares, strict=True)}
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


def gamut_warnings(before: dict[str, dict], after: dict[str, dict]) -> dict[str, str]:
    """``{region: warning}`` for each region more than :data:`CLIP_WARN_SHARE` of whose skin
    holds colours the conversion from the file's colour profile clipped to sRGB's edge, in
    either photo: one line naming the region, the share and the photo that holds most."""
    out = {}
    for r in (r for r in before if r in after):
        share = max(before[r].get("gamut", 0.0), after[r].get("gamut", 0.0))
        if share > CLIP_WARN_SHARE:
            b, a = before[r].get("gamut_own", 0.0), after[r].get("gamut_own", 0.0)
            side = "after photo" if a > b else "before photo"
            where = "in both photos" if abs(a - b) < 0.01 else f"most in the {side}"
            out[r] = (
                f"{r}: {100 * share:.0f} % of its skin has colours outside sRGB in the file's "
                f"colour profile ({where}), clipped to sRGB's edge by the conversion, not by the "
                "exposure: its colours read less saturated than they are and its colour change "
                "may be under-reported"
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
    #: ``{region: line}`` for each region whose colours the conversion from the file's colour
    #: profile clipped past :attr:`warn_share` (:func:`gamut_warnings`)
    gamut_warnings: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The ``result.json`` block."""
        return {
            "warn_share": self.warn_share,
            "regions": self.regions,
            "warnings": self.warnings,
            "gamut_warnings": self.gamut_warnings,
        }


def clipping_record(before: dict[str, dict], after: dict[str, dict]) -> Clipping:
    """The :class:`Clipping` of a comparison: the warning share, each region's share clipped in
    each photo itself (``before``, ``after``) and left out of the comparison (``lost``: clipped
    in either photo, the larger of the two photos' frames), all three at capture only; the
    shares the conversion from the file's colour profile clipped in each photo itself
    (``gamut_before``, ``gamut_after``) and in either photo (``gamut``, the larger of the two
    frames); and the warnings."""
    regions = {
        r: {
            "before": before[r]["own"],
            "after": after[r]["own"],
            "lost": max(before[r]["lost"], after[r]["lost"]),
            "gamut_before": before[r].get("gamut_own", 0.0),
            "gamut_after": after[r].get("gamut_own", 0.0),
            "gamut": max(before[r].get("gamut", 0.0), after[r].get("gamut", 0.0)),
        }
        for r in before
        if r in after
    }
    return Clipping(
        CLIP_WARN_SHARE, regions, clip_warnings(before, after), gamut_warnings(before, after)
    )
