"""Bruises, the common side effect of injections: segmentation, area and colour stage.

A bruise is a compact area of skin whose colour departs from the patient's own local skin
toward purple, blue, green or yellow by more than that photo's lighting explains
(:func:`~mesovision.metrics._bruise_colour.bruise_candidates`):

1. **Local background.** CIELAB, smoothed by a Gaussian of ``BRUISE_SMOOTH_SIGMA_PX``, minus the
   median of the *skin* pixels in a window of about a third of the interocular distance
   (``skin_background``; non-skin pixels do not vote): departures ``dL*, da*, db*``.
2. **The photo's own shading.** In every photo colour moves with lightness: plain shading scales
   a* and b* with L* + 16, and a warm key light with a cool fill makes lit skin yellower and
   shadows bluer. The slopes ``c_a``, ``c_b`` of ``da*``, ``db*`` on ``dL*`` over the face's skin
   (least squares through 0 on the inliers, clipped to [0, ``BRUISE_SLOPE_MAX``]) are taken out:
   residuals ``r_a = da* - c_a dL*``, ``r_b = db* - c_b dL*``.
3. **Bruise hue.** The departure is ``|r_b|`` (bilirubin yellows, deoxygenated blood blues),
   plus ``BRUISE_PURPLE_WEIGHT * max(r_a, 0)`` on the blue side (a fresh, red-purple bruise is
   redder too) or ``BRUISE_GREEN_WEIGHT * max(-r_a, 0)`` on the yellow side (a green one is less
   red), rising to ``BRUISE_GREEN_DARK_WEIGHT`` on up to ``BRUISE_GREEN_YELLOW_RATIO`` times the
   yellowing where the skin is darker than its background (a green bruise darkens; pale skin
   lightens, and skin beside a redder patch loses redness without yellowing); a pixel is a
   candidate beyond ``BRUISE_DB`` (7). Plain redness (a* up, b* unchanged) or its loss is not a
   bruise and is not segmented.
4. **Bruise lightness.** A bluer candidate lies within ``BRUISE_BLUE_DL`` of the background's L*
   (blood darkens; sheen is lighter and bluer; frames and hair are far darker), a yellower one
   within ``BRUISE_YELLOW_DL`` (lit skin is lighter and yellower; brows and hair are darker).
5. **Shape.** A bruise needs a core beyond ``1 + BRUISE_CORE_SCORE`` times the threshold,
   extends to ``BRUISE_EXTENT_SHARE`` of its peak departure, covers at least
   ``bruise_min_area`` pixels (``BRUISE_MIN_AREA_PX``, 40, or 0.2 % of the skin on a
   small face, at least 15) and is compact: shadows along the nose, folds, frames and
   hairlines are elongated (``BRUISE_MAX_ELONGATION``, the square root of the ratio of the
   component's second-moment eigenvalues; see ``filter_components``). The core lies more than
   ``BRUISE_EDGE_SHARE`` x sqrt(skin area) px (about 4 % of the interocular distance) inside
   the outline of the skin mask, where the landmark outline takes in hair and background.
6. **Against the skin around it** (:mod:`~mesovision.metrics._bruise_ring`). Each component is
   compared with its ring (the skin within ``BRUISE_RING_PX`` px of it): its colour departure
   from the ring must be at least ``BRUISE_LOCAL_SHARE`` (0.3) of its departure from the
   background (a bruise is local; the deepest part of a broad tint is not), a bluer one must be
   darker than its ring (blood absorbs; sheen and lens reflections are lighter), a yellower one
   may darken against its ring by at most ``BRUISE_YELLOW_SHADOW`` (1.5) times its colour
   departure from it (a warm shadow in an eye socket darkens about twice as much as it
   yellows) and must turn the skin's colour toward yellow by at least ``BRUISE_YELLOWING_DEG``
   (18 degrees, in the log-chromaticity of linear sRGB) from the ring's own chroma (light
   bounced in a frown furrow or under the nose deepens the skin's own colour), and it must be
   a blob: its largest inscribed disc has at least ``BRUISE_MIN_THICKNESS`` (0.45) of the
   radius of the disc of its area (a spectacle bridge is a thin arch), clipped pixels inside
   it counted in; and at most ``BRUISE_MAX_OUTLINE_SHARE`` (0.5) of its boundary pixels may
   touch the outside of the skin mask (a half-disc cut by the outline has 0.39 there; a band
   along the face's edge is hair or background that the landmark outline took in), nor, on a
   bluer one, more than ``BRUISE_MAX_OPENING_SHARE`` (0.5) the outline or an opening (a hole
   of the mask of at least 0.5 % of its area: the eyes, brows, nostrils and mouth; on a small
   face the lid margins and the shadow in the corners of the eyes and the mouth blur into the
   skin as a dark blue rim); a bluer one, or its ring, must have at least
   ``BRUISE_MIN_SKIN_CHROMA`` (0.6) of the chroma of the skin's median colour (a bruise is
   skin seen through blood; a grey microphone or hair inside the landmark regions is not).

Measured by ``benchmarks/bruise.py`` over the real faces of ``../shared/faces`` and the sample
faces (settings chosen on the development half of the people; the held-out half is the result):
false bruise area and injected-bruise IoU per colour stage; the figures are in that script's
output, not here.

The colour stage is read from the hue of the mean Lab departure (da*, db*) of each bruise from
the median of the surrounding skin (a ring of ``RING_PX`` px around it, inside the skin mask and
outside every bruise-coloured pixel; the baseline median when the ring is empty):
``yellow-brown`` when db* > 0 and db* >= -da*; ``red-purple`` when db* <= 0 and da* > 0;
``blue-green`` otherwise. No age in days is claimed: colour explains little of a bruise's age
(Hughes V. K. et al., "Bruise colour and age", J. Clin. Pathol. 57 (2004) 1193-1196; Langlois
N. E. I., "The science behind the quest to determine the age of bruises", Forensic Sci. Med.
Pathol. 3 (2007) 241-251). Track area and stage over time instead.

**In a comparison** (:func:`pair_maps`, stage ``bruises`` of :mod:`mesovision.compare`) the
two photos agree on standing features: a bruise one photo finds and the other misses is looked
for at the same place in the other (carried by the alignment) and, when that photo departs
there on the same hue side beyond the threshold and by at least ``BRUISE_SEEN_SHARE`` (0.6) of
the bruise's own departure, counted in both (``carried`` in the other photo's
:class:`BruiseResult`). A spectacle nose pad or a shadow beside the nose near one of the tests
above no longer makes the area jump; a bruise that appears or fades leaves the other photo near
its background and is still a change. Each photo is also searched for bruises against the
other: the other photo's colour, carried by the alignment, is taken from its own, the light
left between them taken out, and what is left goes through the same tests (not where the other
photo is darker than a bruise can be), so a bruise its own tests miss -- on stubble, in a
shadow, within the spread of the face's own colours -- is found where it differs from the same
skin in the other photo and is darker there (``difference`` in its :class:`BruiseResult`;
:func:`~mesovision.metrics._bruise_pair.difference_components`).

The family's maps (:func:`make_maps`): ``bruise_px``, ``bruise_score``, ``bruise_ra`` and
``bruise_rb`` (the residual departures ``r_a``, ``r_b``), ``lab_smooth`` and ``bruise_flip``;
its heatmap colours the bruise score on bruise pixels only. Noise: a bruise is found or missed
as a whole, so the counting term of its area carries, beside the Poisson term of its pixels, the
variance of the bruises another capture would miss (``bruise_flip``: of one photo,
:func:`~mesovision.metrics._bruise_colour.flip_variance`; in a comparison, of the bruises the
pair could still lose, :func:`~mesovision.metrics._bruise_pair.pair_flip_variance`). The
area has no paired tile term (``untiled``): a tile's bruised share is set by the whole bruise
(its core, area, shape and ring), so the spread of the per-tile changes over a region is the
layout of the bruises that changed, not what another capture moves (20 % of a chin in 5 tiles
read 0, 0, 26, 84 and 21 %: a term of 13.7 %); what it moves is whole bruises (the counting
term) and their edges (the registration and recapture terms).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import cv2
import numpy as np

from ..color import rgb_to_lab
from ._bruise_colour import (
    BRUISE_SMOOTH_SIGMA_PX,
    bruise_departures,
    bruise_min_area,
    candidates_of,
    filter_components,
    flip_variance,
)
from ._bruise_pair import pair_maps, paired_after
from ._family import HeatmapSpec, register_family
from ._maps import ImageMaps, MapContext, SkinBaseline, crop_window
from ._registry import register
from .inputs import check_mask, check_rgb

__all__ = [
    "STAGES",
    "Bruise",
    "BruiseResult",
    "area_pct",
    "bruise_stage",
    "make_maps",
    "pair_maps",
    "paired_after",
    "segment_bruises",
]

#: Width (px) of the ring of surrounding skin used as the stage reference.
RING_PX = 8
#: Colour stages, in the usual order of appearance.
STAGES = ("red-purple", "blue-green", "yellow-brown")


@dataclass(frozen=True)
class Bruise:
    """One segmented bruise. ``centroid_xy`` is pixel (x, y) in the photo's frame; ``mean_lab`` the
    mean CIELAB of its pixels; ``region`` the name of the region mask holding most of it;
    ``carried``: found in the other photo of a pair and seen here (:func:`pair_maps`), not by
    this photo's own segmentation; ``difference``: found where this photo departs from the
    other photo's skin at the same place (a bruise that appeared or faded between them), not
    by this photo's own segmentation."""

    area_px: int
    area_pct: float  # of the skin mask
    area_mm2: float | None
    centroid_xy: tuple[float, float]
    mean_lab: tuple[float, float, float]
    stage: str
    region: str | None
    carried: bool = False
    difference: bool = False

    def as_dict(self) -> dict[str, object]:
        """The bruise as plain JSON values."""
        return {
            "area_px": self.area_px,
            "area_pct": self.area_pct,
            "area_mm2": self.area_mm2,
            "centroid_xy": list(self.centroid_xy),
            "mean_lab": list(self.mean_lab),
            "stage": self.stage,
            "region": self.region,
            "carried": self.carried,
            "difference": self.difference,
        }


@dataclass(frozen=True, eq=False)
class BruiseResult:
    """All bruises of a photo: ``mask`` (bool, the photo's shape) and one :class:`Bruise` each,
    largest first; ``baseline`` is the skin baseline they were measured against."""

    mask: np.ndarray
    bruises: tuple[Bruise, ...]
    skin_area_px: int = 0
    px_per_mm: float | None = None
    baseline: SkinBaseline | None = None

    @property
    def total_area_px(self) -> int:
        """Pixels of all the bruises together."""
        return int(sum(b.area_px for b in self.bruises))

    def as_dict(self) -> dict[str, object]:
        """The result as plain JSON values (the ``bruises`` of ``result.json``)."""
        total = self.total_area_px
        return {
            "n_bruises": len(self.bruises),
            "total_area_px": total,
            "total_area_pct": 100.0 * total / self.skin_area_px if self.skin_area_px else None,
            "total_area_mm2": None if self.px_per_mm is None else total / self.px_per_mm**2,
            "skin_area_px": self.skin_area_px,
            "bruises": [b.as_dict() for b in self.bruises],
            "baseline": None if self.baseline is None else self.baseline.as_dict(),
        }

    def mask_image(self) -> np.ndarray:
        """The bruise mask as an 8-bit single-channel image (255 on bruises, 0 elsewhere)."""
        return self.mask.astype(np.uint8) * np.uint8(255)

    def write_mask(self, path: str | os.PathLike, *, force: bool = False) -> None:
        """Write the mask as an 8-bit PNG (255 on bruises; no metadata), atomically, refusing to
        overwrite unless ``force`` (see :func:`mesovision.io.write_png`)."""
        from ..io import write_png

        write_png(path, self.mask, force=force)


def bruise_stage(delta_a: float, delta_b: float) -> str:
    """Colour stage of a mean Lab departure from the baseline (see the module docstring)."""
    if delta_b > 0 and delta_b >= -delta_a:
        return "yellow-brown"
    if delta_b <= 0 and delta_a > 0:
        return "red-purple"
    return "blue-green"


def segment_bruises(
    rgb: np.ndarray,
    skin_mask: np.ndarray,
    *,
    baseline: SkinBaseline | None = None,
    region_masks: dict[str, np.ndarray] | None = None,
    px_per_mm: float | None = None,
    min_area_px: int | None = None,
    background_sigma_px: float | None = None,
    maps: ImageMaps | None = None,
    carried: np.ndarray | None = None,
) -> BruiseResult:
    """Segment bruise-coloured areas of ``rgb`` inside ``skin_mask``.

    Parameters
    ----------
    rgb : (row, col, 3) float sRGB in [0, 1]
    skin_mask : (row, col) bool
        Where to look (usually the ``face`` region); ``area_pct`` is relative to it.
    baseline : SkinBaseline, optional
        Default: from ``skin_mask`` of this photo (robust to a bruise covering less than about a
        third of it). In a comparison, pass the BEFORE photo's baseline.
    region_masks : dict of name -> mask, optional
        Each bruise is assigned the region holding most of its pixels.
    px_per_mm : float, optional
        Enables ``area_mm2``.
    min_area_px : int, optional
        Smallest bruise (8-connected px); default ``bruise_min_area`` of the skin mask
        (40 px, or 0.2 % of the skin when that is less, at least 15).
    background_sigma_px : float, optional
        Scale (Gaussian sigma, px) of the local skin background a bruise departs from; about a
        third of the interocular distance suits faces. Default ``BRUISE_BG_SHARE * sqrt(skin
        area)``, which is that when ``skin_mask`` is a whole face; pass it when ``skin_mask`` is
        a single region.
    maps : ImageMaps, optional
        The maps :func:`~mesovision.metrics.prepare` made of this ``rgb`` with ``skin_mask`` as
        its ``roi_mask``: their bruise candidates are reused (with the default minimum area and
        background scale) instead of being computed again.
    carried : (row, col) bool, optional
        In a comparison, the bruises this photo gains from the other (:func:`pair_maps`):
        counted as bruises whatever their size, and flagged ``carried`` (the other photo's
        bruises it sees) or ``difference`` (those ``maps``' ``bruise_diff`` marks: found in the
        difference of the two photos).

    Returns
    -------
    BruiseResult
        The mask and the bruises, largest first. An empty skin mask gives no bruise.
    """
    rgb = check_rgb(rgb)
    shape = rgb.shape[:2]
    skin = check_mask(skin_mask, shape, "skin_mask")
    n_skin = int(np.count_nonzero(skin))
    default_area = bruise_min_area(n_skin)
    min_area = default_area if min_area_px is None else int(min_area_px)
    full = np.zeros(shape, dtype=bool)
    if n_skin == 0:
        return BruiseResult(full, (), 0, px_per_mm, baseline)
    if baseline is None:
        baseline = SkinBaseline.from_image(rgb, skin)
    window = crop_window(skin, shape)  # the crop prepare() makes for this mask
    r0, r1, c0, c1 = window
    reuse = min_area == default_area and background_sigma_px is None
    lab, cand = _candidates(
        rgb, skin, window, maps if reuse else None, min_area, background_sigma_px
    )
    regions = {
        k: check_mask(v, shape, f"region mask {k!r}")[r0:r1, c0:c1]
        for k, v in (region_masks or {}).items()
    }
    car, diff = _gained(carried, maps, window, shape)
    components = _Components.of(cand | car, lab, skin[r0:r1, c0:c1])
    found = []
    for i, carried_i, diff_i in components.kept(min_area, car, diff):
        sel, bruise = _measure(components, i, regions, baseline, n_skin, px_per_mm, (r0, c0))
        x, y, w, h = (int(v) for v in components.stats[i, :4])
        full[r0 + y : r0 + y + h, c0 + x : c0 + x + w] |= sel
        found.append(dataclasses.replace(bruise, carried=carried_i, difference=diff_i))
    found.sort(key=lambda b: -b.area_px)
    return BruiseResult(full, tuple(found), n_skin, px_per_mm, baseline)


def _gained(carried, maps: ImageMaps | None, window, shape):
    """``(carried, difference)`` on the crop ``window``: the pixels a comparison gave the photo
    (``carried``, full frame, or none) and those of them found in the difference of the two
    photos (``bruise_diff`` of ``maps``, when they were made on that window)."""
    r0, r1, c0, c1 = window
    car = np.zeros((r1 - r0, c1 - c0), bool)
    if carried is not None:
        car = check_mask(carried, shape, "carried")[r0:r1, c0:c1]
    diff = np.zeros_like(car)
    if maps is not None and maps.window == window and "bruise_diff" in maps.maps:
        diff = maps.maps["bruise_diff"] > 0
    return car, diff


def _candidates(rgb, skin, window, maps: ImageMaps | None, min_area: int, background_sigma_px):
    """``(lab, candidates)`` on the crop ``window``: the crop's CIELAB and its bruise-coloured
    areas, taken from ``maps`` when they were prepared on that window, else computed."""
    if maps is not None and maps.window == window:
        lab = cv2.merge([maps.maps["L"], maps.maps["a"], maps.maps["b"]])
        return lab, maps.maps["bruise_px"] > 0
    r0, r1, c0, c1 = window
    lab = rgb_to_lab(np.ascontiguousarray(rgb[r0:r1, c0:c1], dtype=np.float32))
    lab_s = cv2.GaussianBlur(lab, (0, 0), BRUISE_SMOOTH_SIGMA_PX, borderType=cv2.BORDER_REFLECT)
    dep = bruise_departures(lab_s, skin[r0:r1, c0:c1], background_sigma_px=background_sigma_px)
    cand, score = candidates_of(dep)
    return lab, filter_components(cand, min_area, score, dep)


@dataclass(frozen=True, eq=False)
class _Components:
    """The bruise-coloured components of a crop: OpenCV's labels, stats and centroids, the
    candidate mask, the crop's CIELAB and its skin mask."""

    labels: np.ndarray
    stats: np.ndarray
    cents: np.ndarray
    cand: np.ndarray
    lab: np.ndarray
    skin: np.ndarray

    @classmethod
    def of(cls, cand: np.ndarray, lab: np.ndarray, skin: np.ndarray) -> _Components:
        """The 8-connected components of ``cand`` (bool, on the crop of ``lab`` and ``skin``)."""
        _, labels, stats, cents = cv2.connectedComponentsWithStats(cand.view(np.uint8), 8)
        return cls(labels, stats, cents, cand, lab, skin)

    def kept(
        self, min_area: int, carried: np.ndarray, difference: np.ndarray
    ) -> list[tuple[int, bool, bool]]:
        """``(label, carried, difference)`` of the components of at least ``min_area`` px or
        holding pixels of ``carried`` (bool: bruises the pair gave this photo, counted whatever
        their size); for a component made of those pixels only, ``difference`` when some of
        them were found in the difference of the two photos (``difference``, bool), else
        ``carried``."""
        n = len(self.stats)
        n_car = np.bincount(self.labels[carried], minlength=n)
        n_diff = np.bincount(self.labels[difference & carried], minlength=n)
        areas = self.stats[:, cv2.CC_STAT_AREA]
        out = []
        for i in range(1, n):
            if areas[i] >= min_area or n_car[i]:
                gained = bool(n_car[i] == areas[i])
                out.append((i, gained and not n_diff[i], gained and bool(n_diff[i])))
        return out


def _measure(
    cc: _Components,
    i: int,
    regions: dict[str, np.ndarray],
    baseline: SkinBaseline,
    n_skin: int,
    px_per_mm: float | None,
    origin: tuple[int, int],
) -> tuple[np.ndarray, Bruise]:
    """Component ``i`` as a :class:`Bruise` (crop origin ``origin`` = (row, col) in the photo),
    and its mask on its bounding box."""
    area = int(cc.stats[i, cv2.CC_STAT_AREA])
    x, y, w, h = (int(v) for v in cc.stats[i, :4])
    sel = cc.labels[y : y + h, x : x + w] == i
    lab = cc.lab
    mean_lab = lab[y : y + h, x : x + w][sel].mean(axis=0, dtype=np.float64)
    ry0, rx0 = max(y - RING_PX, 0), max(x - RING_PX, 0)
    ry1, rx1 = min(y + h + RING_PX, cc.cand.shape[0]), min(x + w + RING_PX, cc.cand.shape[1])
    own = (cc.labels[ry0:ry1, rx0:rx1] == i).view(np.uint8)
    ring = cv2.dilate(own, np.ones((2 * RING_PX + 1,) * 2, np.uint8)).astype(bool)
    ring &= ~cc.cand[ry0:ry1, rx0:rx1] & cc.skin[ry0:ry1, rx0:rx1]
    med = baseline.lab_median
    ref = np.median(lab[ry0:ry1, rx0:rx1][ring], axis=0) if ring.any() else np.asarray(med)
    r0, c0 = origin
    bruise = Bruise(
        area_px=area,
        area_pct=100.0 * area / n_skin,
        area_mm2=None if px_per_mm is None else area / float(px_per_mm) ** 2,
        centroid_xy=(float(cc.cents[i, 0] + c0), float(cc.cents[i, 1] + r0)),
        mean_lab=(float(mean_lab[0]), float(mean_lab[1]), float(mean_lab[2])),
        stage=bruise_stage(mean_lab[1] - ref[1], mean_lab[2] - ref[2]),
        region=_region_of(regions, sel, (x, y, w, h)),
    )
    return sel, bruise


def _region_of(regions: dict[str, np.ndarray], sel: np.ndarray, box) -> str | None:
    """The region holding most of a bruise (``sel`` on its box ``(x, y, w, h)`` of the crop):
    the most specific one, ``face`` (the union of all skin) only when no other holds it."""
    if not regions:
        return None
    x, y, w, h = box
    overlaps = {k: int(np.count_nonzero(v[y : y + h, x : x + w] & sel)) for k, v in regions.items()}
    named = {k: v for k, v in overlaps.items() if k != "face" and v > 0}
    pool = named or {k: v for k, v in overlaps.items() if v > 0}
    return max(pool, key=pool.get) if pool else None


@register(
    "bruise.area_pct",
    display="bruised area",
    plain="How much of the area shows bruise colours (red-purple, blue-green or yellow-brown).",
    unit_label="% of the area",
    unit="%",
    direction="higher_is_worse",
    maps=("bruise_px",),
)
def area_pct(bruise_px):
    """Share of the region covered by bruise-coloured skin (as segmented by segment_bruises).

    Formula
    -------
    100 * mean over the region of B, B = 1 on compact 8-connected areas (>= 40 px, or 0.2 % of
    the skin on a small face) whose smoothed Lab departs from the local skin background toward
    purple, blue, green or yellow beyond what the photo's shading explains (module docstring).

    References
    ----------
    Hughes V. K., Ellis P. S., Langlois N. E. I., "The perception of yellow in bruises",
    J. Clin. Forensic Med. 11 (2004) 257-259. Rousseeuw P. J., Croux C., J. Am. Stat. Assoc. 88
    (1993) 1273-1283 (robust MAD margins).
    """
    return 100.0 * bruise_px


def make_maps(ctx: MapContext) -> None:
    """The bruise maps: ``bruise_px`` (1 on bruise-coloured areas of at least
    ``bruise_min_area`` of the skin), ``bruise_score`` (the departure beyond the margin),
    ``bruise_ra``, ``bruise_rb`` and ``bruise_dl`` (the departures the pair rule reads) and
    ``lab_smooth`` (CIELAB smoothed by ``BRUISE_SMOOTH_SIGMA_PX``)."""
    lab_s = ctx.smoothed_lab(BRUISE_SMOOTH_SIGMA_PX)
    dep = bruise_departures(lab_s, ctx.skin)
    cand, score = candidates_of(dep)
    min_area = bruise_min_area(int(np.count_nonzero(ctx.skin)))
    bruise = filter_components(cand, min_area, score, dep)
    ctx.maps["bruise_px"] = bruise.astype(np.float32)
    ctx.maps.defer("bruise_flip", flip_variance, bruise, score)
    ctx.maps["bruise_score"] = score
    ctx.maps["bruise_ra"], ctx.maps["bruise_rb"] = dep.r_a, dep.r_b
    ctx.maps["bruise_dl"] = dep.d_l
    ctx.maps["lab_smooth"] = lab_s


register_family(
    "bruise",
    make_maps=make_maps,
    heatmap=HeatmapSpec(
        "bruise_score",
        None,
        0.0,
        2.0,
        "RdPu",
        legend="bruise score (departure beyond the margin)",
    ),
    headline="bruise.area_pct",
    near_threshold={"bruise_px": "bruise_flip"},
    two_sided_registration=("bruise.area_pct",),
    untiled=("bruise.area_pct",),
    local=True,
)
