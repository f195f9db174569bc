"""The two photos of a pair agree on standing features (a bruise found in one photo is looked
for at the same place in the other), and each photo is searched for bruises against the other.

Each photo is segmented on its own (:mod:`mesovision.metrics.bruise`), and a bruise-coloured
feature that stands in both photos -- a spectacle nose pad or frame, a shadow beside the nose,
dark circles, beard shadow -- can pass the tests in one capture and fail them in the other
when it sits near one of them (the core level, the ring tests, the shape tests, the minimum
area): the region's bruised area then jumps with no change of the skin. So, in a comparison,
each bruise that one photo finds and the other does not (no pixel of the other's bruises within
``BRUISE_PAIR_REACH_PX`` px of it, once carried into the other photo's frame by the alignment)
is looked for in the other photo over the same skin: when the other photo departs there on the
same hue side (:func:`~mesovision.metrics._bruise_ring.hue_departure`) beyond the colour
threshold and by at least ``BRUISE_SEEN_SHARE`` of the bruise's own departure (each the robust
peak, the 90th percentile over the component), it is the same feature, and it is **carried**
into the other photo: counted there too, over the same pixels. A bruise that appears or fades
between the photos leaves the other photo's skin near its background (a departure of a small
share of the bruise's) and is still measured as a change.

A bruise too faint for a photo's own tests against its own skin -- its colour sits within the
spread of the face's own colours, stubble or a shadow under it -- can still stand out against
the other photo of the same skin: :func:`difference_components` takes the other photo's
colour, carried by the alignment, from the photo's own, takes out the light left between them
(smooth over the face: the difference's windowed median over wide windows,
:func:`colour_difference`), and puts the rest through the
same tests with a lower colour threshold (``BRUISE_DIFF_DB``). What both photos show (a mole,
dark circles, stubble, a shadow) leaves nothing; a bruise that appeared leaves its colour. Such
a bruise counts in the photo that is darker there (``BRUISE_DIFF_DARKER``: a bruise that faded
from the other photo leaves a lighter difference), flagged ``difference``. Where the other
photo is darker than its skin by more than a bruise can be (the single photo's lightness
window: a moustache, brows, a deep shadow) nothing is searched: no bruise shows through hair,
and the two photos' light, fitted on skin, differs most on such dark pixels.

After the rule a bruise is lost between the two photos only when the other photo's departure
there drops below that level: :func:`pair_flip_variance` is the variance of the area from those
losses (the photo's own flip term,
:func:`~mesovision.metrics._bruise_colour.flip_variance`, with that level in place of the core
test; for a bruise found in the difference, the difference's core test).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from ._bruise_colour import (
    BRUISE_BG_SHARE,
    BRUISE_BLUE_DL,
    BRUISE_CORE_SCORE,
    BRUISE_DB,
    BRUISE_YELLOW_DL,
    bruise_min_area,
    candidates_of,
    filter_components,
    skin_background,
    whole_flip_variance,
)
from ._bruise_ring import Departures, hue_departure
from ._maps import ImageMaps
from ._shapes import component_areas, component_quantile
from .inputs import check_mask

__all__ = [
    "BRUISE_DIFF_BG_SCALE",
    "BRUISE_DIFF_DARKER",
    "BRUISE_DIFF_DB",
    "BRUISE_PAIR_REACH_PX",
    "BRUISE_SEEN_SHARE",
    "Carried",
    "CropFrame",
    "carried_components",
    "colour_difference",
    "difference_components",
    "own_margin",
    "pair_flip_variance",
    "pair_maps",
    "paired_after",
    "peak_departures",
    "seen_components",
]

#: A bruise of one photo is seen in the other when the other departs over the same skin, on the
#: same hue side, by at least this share of the bruise's own departure (robust peaks) and
#: beyond the colour threshold ``BRUISE_DB``. From the development half of the null pairs of
#: ``benchmarks/calibration.py``: the bruises one photo missed showed 0.84-1.02 of the other's
#: departure (8 bruises), those both photos found 0.94-1.06 (20); a bruise that appears or fades
#: leaves the other photo's skin near its background. 0.6 leaves room below the first and keeps
#: a bruise that fades to under 60 % of its colour a change.
BRUISE_SEEN_SHARE = 0.6
#: A bruise of one photo is found by the other when one of the other's bruises comes within this
#: many px of it in the other's frame (the alignment's residual and the two extents' jitter).
BRUISE_PAIR_REACH_PX = 2
#: A bruise found in the difference of the two photos darkens the photo's skin against the
#: other's by at least this much (L*, mean over the bruise). Blood and bilirubin absorb light:
#: every colour stage darkens (the weakest bruise the benchmarks inject, a yellow one, by about
#: 2.7 L* on average over its half-maximum area), whereas a bruise that faded from the other
#: photo leaves a lighter difference of the opposite hue, and a change of hue alone (a yellow
#: feature paling, light of another colour) none.
BRUISE_DIFF_DARKER = 1.0
#: The colour threshold of the difference of the two photos (the single photo's is ``BRUISE_DB``,
#: 7, set against the spread of a face's own colours, which the difference takes out). A core
#: lies at ``1 + BRUISE_CORE_SCORE`` (1.8) times it, 9.0: on the development null pairs (42
#: photos, 3 recaptures each: 375 searches, ``benchmarks/_bruise_pairs.null_pairs``) the
#: largest hue departure of the difference (:func:`colour_difference`) within a search's skin
#: (eroded by 2 px) and lightness windows has a median of 3.6, a 99th percentile of 6.6 and a
#: maximum of 7.5.
BRUISE_DIFF_DB = 5.0
#: The difference of two photos is taken against its own background at this many times the
#: single photo's scale (``BRUISE_BG_SHARE``). The face's own colours cancel in it, leaving the
#: recapture's light, smooth over the face, and the bruise: a wider window is pulled less by a
#: large bruise. On the development faces' injected bruises in a comparison the departures'
#: difference (each photo against its own background) read a green bruise of 4128 px over a
#: forehead at IoU 0.33, its background pulled toward the bruise; this difference reads 0.77.
BRUISE_DIFF_BG_SCALE = 2.0
#: The share of a component's departure values its robust peak is taken at (as the extent's).
_PEAK_QUANTILE = 0.9


@dataclass(frozen=True)
class CropFrame:
    """Where a photo's bruise maps live: ``window`` ``(row0, row1, col0, col1)`` of the crop in
    the photo's scoring frame, and its departures ``r_a``, ``r_b``, ``d_l``, skin mask and
    smoothed CIELAB ``lab`` on the crop."""

    window: tuple[int, int, int, int]
    r_a: np.ndarray
    r_b: np.ndarray
    skin: np.ndarray
    d_l: np.ndarray
    lab: np.ndarray


def peak_departures(labels: np.ndarray, n: int, frame: CropFrame, yellow: np.ndarray):
    """Per component ``1 .. n - 1`` of ``labels`` (on ``frame``'s crop), the robust peak
    (``_PEAK_QUANTILE``) of its hue departure (:func:`~mesovision.metrics._bruise_ring.
    hue_departure`) on the side ``yellow[i]``; 0 for an empty component and for label 0."""
    out = np.zeros(n, np.float64)
    sel = labels > 0
    lab = labels[sel]
    if lab.size == 0:
        return out
    dep = hue_departure(frame.r_a[sel], frame.r_b[sel], yellow[lab], frame.d_l[sel])
    out[:] = component_quantile(lab, dep, n, _PEAK_QUANTILE)
    out[0] = 0.0
    return out


def _sides(labels: np.ndarray, n: int, frame: CropFrame) -> np.ndarray:
    """Per component, whether it lies on the yellow side (its mean ``r_b`` > 0)."""
    sel = labels > 0
    sums = np.bincount(labels[sel], weights=frame.r_b[sel], minlength=n)
    return sums > 0


def _warp(img: np.ndarray, x_to_y: np.ndarray, src: CropFrame, dst: CropFrame, flags: int):
    """``img`` (uint8 or float32, on ``src``'s crop) carried into ``dst``'s crop by ``x_to_y``
    (3 x 3, the source photo's scoring pixels -> the destination's) with the interpolation
    ``flags``; 0 where nothing maps."""
    r0, _, c0, _ = src.window
    t0, t1, u0, u1 = dst.window  # rows, then columns
    to_crop = np.array([[1.0, 0.0, -u0], [0.0, 1.0, -t0], [0.0, 0.0, 1.0]])
    from_crop = np.array([[1.0, 0.0, c0], [0.0, 1.0, r0], [0.0, 0.0, 1.0]])
    return cv2.warpPerspective(
        img,
        to_crop @ x_to_y @ from_crop,
        (u1 - u0, t1 - t0),
        flags=flags,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def _carry(labels: np.ndarray, x_to_y: np.ndarray, src: CropFrame, dst: CropFrame):
    """``labels`` (int, on ``src``'s crop) carried into ``dst``'s crop, nearest; 0 where nothing
    maps."""
    moved = _warp(labels.astype(np.float32), x_to_y, src, dst, cv2.INTER_NEAREST)
    return moved.astype(np.int32)


@dataclass(frozen=True, eq=False)
class Carried:
    """The bruises one photo of a pair gains from the other: ``mask`` (bool, on its crop) and
    ``margin`` (float32, the same crop; 0 elsewhere): on each bruise carried from the other
    photo, how far (in thresholds, ``BRUISE_DB``) this photo's departure there lies above
    ``BRUISE_SEEN_SHARE`` of the source's; on each bruise found in the difference
    (``difference``, bool, a part of ``mask``; ``None``: none), how far the difference's
    score lies above the core level."""

    mask: np.ndarray
    margin: np.ndarray
    difference: np.ndarray | None = None

    def __or__(self, other: Carried) -> Carried:
        """Both sets of bruises (``other``'s margin where it has a bruise)."""
        diff = [d for d in (self.difference, other.difference) if d is not None]
        return Carried(
            self.mask | other.mask,
            np.where(other.mask, other.margin, self.margin),
            np.logical_or.reduce(diff) if diff else None,
        )


def carried_components(
    own_x: np.ndarray,
    x: CropFrame,
    own_y: np.ndarray,
    y: CropFrame,
    x_to_y: np.ndarray,
) -> Carried:
    """The bruises ``own_x`` (bool, on ``x``'s crop) that photo ``y`` did not find (``own_y``,
    on ``y``'s crop) and sees (module docstring), carried into ``y``'s crop.

    Parameters
    ----------
    own_x, own_y : bool arrays
        Each photo's own bruise mask on its crop.
    x, y : CropFrame
        Each photo's crop and departures.
    x_to_y : (3, 3) array
        Photo ``x``'s scoring pixels -> photo ``y``'s (the alignment).

    Returns
    -------
    Carried
        The carried mask on ``y``'s crop (the source components' pixels that land on ``y``'s
        skin) and its margin.
    """
    empty = Carried(np.zeros(y.skin.shape, bool), np.zeros(y.skin.shape, np.float32))
    if not own_x.any():
        return empty
    n, labels, _ = component_areas(own_x)
    side = _sides(labels, n, x)
    peak_x = peak_departures(labels, n, x, side)
    at_y = _carry(labels, x_to_y, x, y) * y.skin
    reach = 2 * BRUISE_PAIR_REACH_PX + 1
    near_y = cv2.dilate(own_y.view(np.uint8), np.ones((reach, reach), np.uint8)).view(bool)
    found = np.zeros(n, bool)
    found[np.unique(at_y[near_y])] = True
    peak_y = peak_departures(at_y, n, y, side)
    present = np.bincount(at_y.ravel(), minlength=n) > 0
    ratio = np.divide(peak_y, peak_x, out=np.zeros(n), where=peak_x > 0)
    keep = present & ~found & (ratio >= BRUISE_SEEN_SHARE) & (peak_y >= BRUISE_DB)
    keep[0] = False
    if not keep.any():
        return empty
    level = np.maximum(BRUISE_SEEN_SHARE * peak_x, BRUISE_DB)
    margin = np.where(keep, (peak_y - level) / BRUISE_DB, 0.0)
    return Carried(keep[at_y], margin.astype(np.float32)[at_y])


def difference_components(
    own_y: np.ndarray, x: CropFrame, y: CropFrame, x_to_y: np.ndarray
) -> Carried:
    """The bruises photo ``y`` shows against photo ``x`` at the same place, outside ``own_y``
    (bool, on ``y``'s crop: the bruises ``y`` has already).

    The colour of ``x`` is carried into ``y``'s crop by ``x_to_y`` and taken from ``y``'s, and
    the difference is taken against its own robust background (:func:`colour_difference`): what
    is left is what differs between the two captures of the same skin, beyond their light. A
    mole, a dark circle, stubble or a shadow that both photos show leaves nothing, and the
    face's shading cancels (none is taken out). The difference is put through the photo's
    bruise tests (colour threshold -- ``BRUISE_DIFF_DB``, below the single photo's: the
    difference carries the recapture's noise, not the spread of the face's own colours --
    lightness window, core, half-maximum extent, area, compactness, the tests against the skin
    around it; not the yellowing test, which reads a photo's own colour) where ``x``'s own
    departure lies above the lightness window's lower end (``BRUISE_YELLOW_DL``,
    ``BRUISE_BLUE_DL``, on the difference's hue side: not hair, brows or a deep shadow), and a
    component is a bruise of ``y`` when it is darker in ``y`` than in ``x`` by at least
    ``BRUISE_DIFF_DARKER`` (mean L*): blood and bilirubin absorb light, whereas a bruise that
    faded from ``x`` leaves a lighter difference of the opposite hue (a purple one fading reads
    yellower, a yellow one bluer). Its margin is the difference's score above the core level."""
    valid = _warp(x.skin.view(np.uint8), x_to_y, x, y, cv2.INTER_NEAREST).view(bool) & y.skin
    empty = Carried(np.zeros(y.skin.shape, bool), np.zeros(y.skin.shape, np.float32))
    if not valid.any():
        return empty
    d_l, r_a, r_b = colour_difference(x, y, x_to_y, valid)
    # Skin that ``x`` shows darker than a bruise can be (a moustache, brows) is not searched.
    lo = np.where(r_b > 0, np.float32(BRUISE_YELLOW_DL[0]), np.float32(BRUISE_BLUE_DL[0]))
    valid &= _warp(x.d_l, x_to_y, x, y, cv2.INTER_LINEAR) > lo
    if not valid.any():
        return empty
    dep = Departures(d_l, r_a, r_b, valid)  # (the tests read the difference on ``valid`` only)
    # |r_a| + |r_b| bounds the hue departure: below a core's anywhere, nothing can pass.
    bound = cv2.add(np.abs(dep.r_a), np.abs(dep.r_b))
    if float(bound[valid].max()) < (1.0 + BRUISE_CORE_SCORE) * BRUISE_DIFF_DB:
        return empty
    cand, score = candidates_of(dep, BRUISE_DIFF_DB)
    min_area = bruise_min_area(int(np.count_nonzero(y.skin)))
    found = filter_components(cand, min_area, score, dep) & ~own_y
    if not found.any():
        return empty
    n, labels, areas = component_areas(found)
    sel = labels > 0
    dl_sum = np.bincount(labels[sel], weights=dep.d_l[sel], minlength=n)
    keep = dl_sum < -BRUISE_DIFF_DARKER * areas  # darker than the other photo's skin there
    keep[0] = False
    mask = keep[labels]
    # The margin in thresholds of the photos' own test (BRUISE_DB), as the flip term reads it.
    margin = (score - np.float32(BRUISE_CORE_SCORE)) * np.float32(BRUISE_DIFF_DB / BRUISE_DB)
    return Carried(mask, np.where(mask, margin, 0).astype(np.float32), mask)


def colour_difference(x: CropFrame, y: CropFrame, x_to_y: np.ndarray, valid: np.ndarray):
    """``(d_l, r_a, r_b)`` on ``y``'s crop: ``y``'s smoothed CIELAB less ``x``'s carried by
    ``x_to_y``, less the difference's own robust background (the single photo's windowed median,
    :func:`~mesovision.metrics._bruise_colour.skin_background`, over ``valid`` with windows
    ``BRUISE_DIFF_BG_SCALE`` times the single photo's)."""
    diff = cv2.subtract(y.lab, _warp(x.lab, x_to_y, x, y, cv2.INTER_LINEAR))
    diff[..., 0] += np.float32(50.0)  # L* differences into the background's L* range
    n = np.count_nonzero(valid)
    sigma = BRUISE_DIFF_BG_SCALE * max(3.0, BRUISE_BG_SHARE * float(np.sqrt(n)))
    return cv2.split(cv2.subtract(diff, skin_background(diff, valid, sigma)))


def seen_components(
    own_x: np.ndarray, x: CropFrame, own_y: np.ndarray, y: CropFrame, x_to_y: np.ndarray
) -> Carried:
    """What photo ``y`` gains from photo ``x``: the bruises of ``x`` it sees
    (:func:`carried_components`) and those it shows against ``x`` (:func:`difference_components`,
    outside its own and the carried ones)."""
    carried = carried_components(own_x, x, own_y, y, x_to_y)
    return carried | difference_components(own_y | carried.mask, x, y, x_to_y)


def own_margin(own: np.ndarray, frame: CropFrame) -> np.ndarray:
    """On each of a photo's own bruises (``own``, bool on ``frame``'s crop), how far (in
    thresholds, ``BRUISE_DB``) its robust peak departure ``P`` lies above the level at which
    the other photo would no longer see it: ``min((1 - BRUISE_SEEN_SHARE) P, P - 1)``, at least
    0 (float32, 0 elsewhere)."""
    out = np.zeros(own.shape, np.float32)
    if not own.any():
        return out
    n, labels, _ = component_areas(own)
    peak = peak_departures(labels, n, frame, _sides(labels, n, frame)) / BRUISE_DB
    margin = np.maximum(np.minimum((1.0 - BRUISE_SEEN_SHARE) * peak, peak - 1.0), 0.0)
    margin[0] = 0.0
    return margin.astype(np.float32)[labels]


def pair_flip_variance(mask: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """Per-pixel share of the variance of the bruise area (px²) from the bruises of ``mask``
    (bool) that the pair would lose after the rule: a component of ``A`` pixels whose departure
    lies ``m`` thresholds above the level at which the other photo no longer sees it
    (``margin``, per pixel: :func:`own_margin`, :attr:`Carried.margin`; the component's
    largest) is lost with probability ``p = Phi(-m / BRUISE_FLIP_SD)``, and each of its pixels
    carries ``p (1 - p) A`` (as :func:`~mesovision.metrics._bruise_colour.flip_variance`).
    0 outside ``mask`` (float32)."""
    return whole_flip_variance(mask, margin)


class _PairMaps(dict):
    """A photo's maps with the bruise maps of its pair in place of its own: the replacements,
    and the photo's own maps read through for every other name."""

    def __init__(self, own: dict, **replaced: np.ndarray):
        super().__init__(replaced)
        self._own = own

    def __missing__(self, name: str) -> np.ndarray:
        return self._own[name]

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or name in self._own

    def get(self, name, default=None):
        return self[name] if name in self else default


def _crop_frame(maps: ImageMaps, skin: np.ndarray) -> CropFrame:
    """A photo's bruise departures on its maps' crop, with ``skin`` (full frame) cropped."""
    r0, r1, c0, c1 = maps.window
    skin = check_mask(skin, maps.shape, "skin_mask")[r0:r1, c0:c1]
    m = maps.maps
    return CropFrame(
        maps.window, m["bruise_ra"], m["bruise_rb"], skin, m["bruise_dl"], m["lab_smooth"]
    )


def _paired(maps: ImageMaps, frame: CropFrame, own: np.ndarray, carried: Carried) -> tuple:
    """``(maps, carried)``: the photo's maps with its own and its gained bruises as
    ``bruise_px``, their pair flip term as ``bruise_flip`` and the bruises found in the
    difference as ``bruise_diff`` (1 there), and the gained bruises (bool, full frame)."""
    mask = own | carried.mask
    margin = np.where(carried.mask, carried.margin, own_margin(own, frame))
    diff = carried.difference if carried.difference is not None else np.zeros_like(mask)
    new = _PairMaps(
        maps.maps,
        bruise_px=mask.astype(np.float32),
        bruise_flip=pair_flip_variance(mask, margin),
        bruise_diff=diff.astype(np.float32),
    )
    full = np.zeros(maps.shape, bool)
    r0, r1, c0, c1 = maps.window
    full[r0:r1, c0:c1] = carried.mask
    return dataclasses.replace(maps, maps=new), full


def pair_maps(
    maps_b: ImageMaps,
    skin_b: np.ndarray,
    maps_a: ImageMaps,
    skin_a: np.ndarray,
    a_to_b: np.ndarray,
) -> tuple[ImageMaps, np.ndarray, ImageMaps, np.ndarray]:
    """The bruise maps of the two photos of a pair made to agree on standing features, with the
    bruises each shows against the other (:mod:`~mesovision.metrics._bruise_pair`).

    Parameters
    ----------
    maps_b, maps_a : ImageMaps
        Each photo's maps (:func:`~mesovision.metrics.prepare`), the before photo's first.
    skin_b, skin_a : (row, col) bool
        Each photo's skin mask (full frame; where a bruise carried into it may lie).
    a_to_b : (3, 3) array
        The after photo's pixels -> the before photo's (the alignment).

    Returns
    -------
    tuple
        ``(maps_b, carried_b, maps_a, carried_a)``: each photo's maps with its ``bruise_px``
        (its own bruises, those of the other photo it sees, carried in, and those it shows
        against the other, :func:`seen_components`) and ``bruise_flip``
        (:func:`~mesovision.metrics._bruise_pair.pair_flip_variance`) replaced and
        ``bruise_diff`` (1 on the bruises found in the difference) added, and the bruises it
        gained (bool, full frame; pass them to :func:`segment_bruises`).
    """
    fb, fa = _crop_frame(maps_b, skin_b), _crop_frame(maps_a, skin_a)
    own_b, own_a = maps_b.maps["bruise_px"] > 0, maps_a.maps["bruise_px"] > 0
    into_a = seen_components(own_b, fb, own_a, fa, np.linalg.inv(a_to_b))
    into_b = seen_components(own_a, fa, own_b, fb, a_to_b)
    return (*_paired(maps_b, fb, own_b, into_b), *_paired(maps_a, fa, own_a, into_a))


def paired_after(
    maps_b: ImageMaps,
    skin_b: np.ndarray,
    maps_a: ImageMaps,
    skin_a: np.ndarray,
    a_to_b: np.ndarray,
) -> ImageMaps:
    """The after photo's maps of :func:`pair_maps` alone (the arguments are its own): its
    ``bruise_px``, ``bruise_flip`` and ``bruise_diff`` with the bruises it gains from the
    before photo, without making the before photo's (what the comparison's recapture term reads)."""
    fb, fa = _crop_frame(maps_b, skin_b), _crop_frame(maps_a, skin_a)
    own_b, own_a = maps_b.maps["bruise_px"] > 0, maps_a.maps["bruise_px"] > 0
    into_a = seen_components(own_b, fb, own_a, fa, np.linalg.inv(a_to_b))
    return _paired(maps_a, fa, own_a, into_a)[0]
