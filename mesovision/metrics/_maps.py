"""Per-pixel maps computed once per photo, and the patient's skin baseline.

:func:`prepare` turns an sRGB photo into an :class:`ImageMaps`: CIELAB, then every per-pixel
quantity the registered families need (each family's ``make_maps``, :mod:`._family`), computed
with OpenCV on the bounding box of a region of interest (plus a margin wide enough for every
filter, so that a pure translation of the photo leaves every value unchanged). A family reads
the crop through a :class:`MapContext`, which also makes the products several families share
(smoothed CIELAB, optical densities) once. Metrics then only reduce these maps over region
masks (:class:`~mesovision.metrics.RegionView`).

Filter sizes are in working pixels. Values of the texture and spot metrics therefore depend on
the working size: compare photos at the same working size (the comparison stage does).
Reflectances are the sRGB-decoded (linear) channels, clipped below at ``REFLECTANCE_FLOOR``;
optical density is ``OD = -log10(reflectance)``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..color import kept_lab, rgb_to_lab, srgb_to_linear
from ..errors import UsageError
from ..types import Landmarks
from ._family import FAMILIES
from .inputs import check_mask, check_rgb

__all__ = [
    "CROP_MARGIN_PX",
    "FLIP_BAND_PX",
    "HAEMOGLOBIN_OD_VECTOR",
    "MELANIN_OD_VECTOR",
    "REFLECTANCE_FLOOR",
    "DeferredMaps",
    "ImageMaps",
    "MapContext",
    "SkinBaseline",
    "crop_window",
    "near_threshold",
    "optical_density",
    "prepare",
    "tsumura_matrix",
]

#: Lowest reflectance used in logarithms (keeps OD finite on black pixels).
REFLECTANCE_FLOOR = 1e-3
#: Tsumura et al. (1999) optical-density directions used by public implementations (melanin,
#: haemoglobin); the third basis vector (1, 1, 1) absorbs shading / illumination intensity.
MELANIN_OD_VECTOR = (0.4143, 0.3570, 0.8372)
HAEMOGLOBIN_OD_VECTOR = (0.2988, 0.6838, 0.6657)

#: Move (px) of the sampling grid against which a pixel of a thresholded map ``[v > t]`` (``v`` a
#: smooth field) is *at risk of flipping*: a move of ``u`` changes ``v`` by at most the largest
#: ``|grad v|`` within ``|u|`` times ``|u|`` (mean value theorem), so only a pixel with
#: ``|v - t| < max |grad v| * FLIP_BAND_PX`` can change sides (:func:`near_threshold`). One pixel
#: is the grid's own spacing, the move in the comparison's recapture term: a translated photo is
#: sampled at another sub-pixel phase, and resampling (area averaging, aliasing of unsmoothed
#: detail) moves a smoothed value by up to about the difference to the next pixel (measured: 0.6
#: a* where |grad a*| is 1 a*/px, for a phase change of 0.2 px).
FLIP_BAND_PX = 1.0
#: Pixels added around the region of interest before filtering (>= 3 sigma of every filter and
#: half the top-hat side), so that values inside the region do not depend on where the crop ends.
CROP_MARGIN_PX = 32

_MAD_TO_SIGMA = 1.4826


def _robust(values: np.ndarray) -> tuple[float, float]:
    med = float(np.median(values))
    return med, float(np.median(np.abs(values - med)))


@dataclass(frozen=True)
class SkinBaseline:
    """Robust statistics of the patient's own skin (normally the ``face`` region of the BEFORE
    photo): medians and median absolute deviations (MAD, unscaled) of L*, a*, b* and of the
    erythema and melanin indices. In a comparison pass the before photo's baseline for both
    photos, so that a global change still shows. Also the medians of the Tsumura melanin and
    haemoglobin densities (heatmap references)."""

    lab_median: tuple[float, float, float]
    lab_mad: tuple[float, float, float]
    erythema_index_median: float
    erythema_index_mad: float
    melanin_index_median: float
    melanin_index_mad: float
    melanin_density_median: float
    haemoglobin_density_median: float
    n_pixels: int

    @classmethod
    def from_image(cls, rgb: np.ndarray, mask: np.ndarray | None = None) -> SkinBaseline:
        """Baseline from the pixels of ``rgb`` under ``mask`` (all pixels when ``None``).

        Raises ``ValueError`` for an empty mask or a mask of another shape.
        """
        rgb = check_rgb(rgb)
        if mask is None:
            px = rgb.reshape(-1, 3)
        else:
            mask = check_mask(mask, rgb.shape[:2], "mask")
            px = rgb[mask]
        if px.shape[0] == 0:
            raise ValueError("cannot compute a skin baseline from an empty mask (0 pixels)")
        kept = kept_lab(rgb)  # (the region masks' conversion of the image, in a comparison)
        if kept is None:
            lab = rgb_to_lab(px)
        else:
            lab = kept.reshape(-1, 3) if mask is None else kept[mask]
        od = optical_density(px.reshape(-1, 1, 3)).reshape(-1, 3)
        ei = 100.0 * (od[:, 1] - od[:, 0])
        mi = 100.0 * od[:, 0]
        stats = [_robust(lab[:, k]) for k in range(3)]
        ei_med, ei_mad = _robust(ei)
        mi_med, mi_mad = _robust(mi)
        dens = od @ tsumura_matrix().T
        return cls(
            lab_median=tuple(s[0] for s in stats),
            lab_mad=tuple(s[1] for s in stats),
            erythema_index_median=ei_med,
            erythema_index_mad=ei_mad,
            melanin_index_median=mi_med,
            melanin_index_mad=mi_mad,
            melanin_density_median=float(np.median(dens[:, 0])),
            haemoglobin_density_median=float(np.median(dens[:, 1])),
            n_pixels=int(px.shape[0]),
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "lab_median": list(self.lab_median),
            "lab_mad": list(self.lab_mad),
            "erythema_index_median": self.erythema_index_median,
            "erythema_index_mad": self.erythema_index_mad,
            "melanin_index_median": self.melanin_index_median,
            "melanin_index_mad": self.melanin_index_mad,
            "melanin_density_median": self.melanin_density_median,
            "haemoglobin_density_median": self.haemoglobin_density_median,
            "n_pixels": self.n_pixels,
        }

    def margin(self, channel: int, *, k: float, minimum: float) -> float:
        """``max(k * 1.4826 * MAD, minimum)`` for Lab channel ``channel`` (0 L*, 1 a*, 2 b*)."""
        return max(k * _MAD_TO_SIGMA * self.lab_mad[channel], minimum)


def optical_density(x: np.ndarray) -> np.ndarray:
    """``-log10`` of the linear reflectance (floored at ``REFLECTANCE_FLOOR``), float32."""
    lin = srgb_to_linear(np.clip(x, 0.0, 1.0))
    np.maximum(lin, np.float32(REFLECTANCE_FLOOR), out=lin)
    cv2.log(lin, lin)
    lin *= np.float32(-1.0 / np.log(10.0))
    return lin


def _lightness(rgb: np.ndarray, lab: np.ndarray | None = None) -> np.ndarray:
    """CIE L* of sRGB ``rgb`` (clipped to [0, 1], float32), contiguous (``lab``: its CIELAB,
    when the caller has it)."""
    return np.ascontiguousarray((rgb_to_lab(rgb) if lab is None else lab)[..., 0])


def tsumura_matrix() -> np.ndarray:
    """The 3 x 3 matrix from optical density to (melanin, haemoglobin, shading) densities."""
    basis = np.array([MELANIN_OD_VECTOR, HAEMOGLOBIN_OD_VECTOR, (1.0, 1.0, 1.0)]).T
    return np.linalg.inv(basis).astype(np.float32)  # rows: melanin, haemoglobin, shading


def near_threshold(v: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels at risk of being flagged by ``v > threshold`` when the sampling grid moves by up
    to ``FLIP_BAND_PX``: not flagged, and closer to the threshold than that move can change them.

    Parameters
    ----------
    v : (row, col) float32
        A smooth per-pixel field (e.g. the Gaussian-smoothed a*), in any unit.
    threshold : float
        The level a flagged pixel exceeds, in the unit of ``v``.

    Returns
    -------
    (row, col) bool
        ``0 <= threshold - v < G * FLIP_BAND_PX``, with ``G`` the largest gradient magnitude
        ``|grad v|`` (3 x 3 Sobel, units of ``v`` per px, exact on a linear ramp) over the
        pixel's 3 x 3 neighbourhood: the bound of the mean value theorem, so that the top of a
        bump just under the threshold (no gradient of its own) is at risk too. On a linear ramp
        the band is the one column of pixels within one pixel under the threshold; a flat field
        has no pixel at risk.
    """
    # Sobel 3 x 3 carries a factor 8 ([1, 0, -1] x [1, 2, 1]); the band width is folded into it.
    k, border = 0.125 * FLIP_BAND_PX, cv2.BORDER_REFLECT
    band = cv2.Sobel(v, cv2.CV_32F, 1, 0, ksize=3, scale=k, borderType=border)
    gap = cv2.Sobel(v, cv2.CV_32F, 0, 1, ksize=3, scale=k, borderType=border)
    # |grad| in place (large temporaries cost more than the arithmetic), by NumPy: each step is
    # rounded exactly, where cv2.magnitude's last bits depend on the arrays' memory alignment
    np.multiply(band, band, out=band)
    np.multiply(gap, gap, out=gap)
    band += gap
    np.sqrt(band, out=band)
    cv2.dilate(band, None, band, borderType=border)  # the largest gradient within one pixel
    np.subtract(np.float32(threshold), v, out=gap)
    out = gap < band
    out &= gap >= 0
    return out


@dataclass(frozen=True, eq=False)
class ImageMaps:
    """Every per-pixel map of one photo, on the crop ``rows x cols`` of the full frame.

    ``shape`` is the full photo's ``(rows, cols)``; ``window`` is ``(row0, row1, col0, col1)`` of
    the crop in the full frame; ``maps`` holds float32 (or bool / int16) 2-D arrays of the crop's
    shape; ``px_per_mm`` is the scale if known; ``baseline`` the skin baseline used for the red
    area, bruise and heatmap references.

    Maps: ``L``, ``a``, ``b`` (CIELAB), made here; every family adds its own (see each family
    module's ``make_maps``): pigmentation ``L2``, ``ita``, ``ita2``, ``mi``, ``mel``, ``spot``,
    ``spot_contrast``; redness ``ei``, ``hb``, ``red_px``, ``red_near``; texture ``detail``,
    ``ridge``, ``ridge_bin``, ``ridge_px``, ``ridge_near``, ``pore``, ``glcm_q``; bruise
    ``bruise_px``, ``bruise_score``, ``lab_smooth``. The ``*_near`` maps (bool: the pixels at
    risk of flipping into a thresholded share, :func:`near_threshold`) are made on first use, as
    only the noise floor's counting term needs them.
    """

    shape: tuple[int, int]
    window: tuple[int, int, int, int]
    maps: dict[str, np.ndarray]
    baseline: SkinBaseline
    px_per_mm: float | None = None
    rgb: np.ndarray | None = field(default=None, repr=False)

    def full_frame(self, name: str, *, fill: float = np.nan) -> np.ndarray:
        """Map ``name`` pasted into an array of the full photo's shape (``fill`` elsewhere)."""
        src = self.maps[name]
        out = np.full(self.shape, fill, dtype=np.float32)
        r0, r1, c0, c1 = self.window
        out[r0:r1, c0:c1] = src
        return out

    def total(self, name: str, mask: np.ndarray) -> float:
        """Sum of map ``name`` over ``mask`` (full frame; in float64)."""
        r0, r1, c0, c1 = self.window
        return float(self.maps[name][mask[r0:r1, c0:c1]].sum(dtype=np.float64))


class DeferredMaps(dict):
    """A dict of maps in which some are computed on first access (:meth:`defer`); safe to read
    from several threads (a deferred map is made once)."""

    def __init__(self):
        super().__init__()
        self._deferred: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def defer(self, name: str, func, *args) -> None:
        """Make map ``name`` as ``func(*args)`` when it is first read."""
        self._deferred[name] = (func, args)

    def __missing__(self, name: str):
        with self._lock:
            if dict.__contains__(self, name):  # made meanwhile by another thread
                return dict.__getitem__(self, name)
            if name not in self._deferred:
                raise KeyError(name)
            func, args = self._deferred[name]
            self[name] = value = func(*args)
            del self._deferred[name]
            return value

    def __reduce__(self):
        # Pickled (a comparison returned from a worker process) with every map made: a deferred
        # map's recipe may be a closure, which pickle cannot carry; the lock is made anew.
        for name in list(self._deferred):
            self[name]
        return _made_maps, (dict(self),)


def _made_maps(maps: dict) -> DeferredMaps:
    out = DeferredMaps()
    out.update(maps)
    return out


def crop_window(roi: np.ndarray | None, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(row0, row1, col0, col1)``: the bounding box of ``roi`` plus ``CROP_MARGIN_PX``, within
    ``shape`` (the whole frame when ``roi`` is ``None``); ``UsageError`` for an empty ``roi``."""
    h, w = shape
    if roi is None:
        return 0, h, 0, w
    rows = np.flatnonzero(roi.any(axis=1))
    cols = np.flatnonzero(roi.any(axis=0))
    if rows.size == 0:
        raise UsageError("roi_mask is empty (0 pixels): there is nothing to measure")
    m = CROP_MARGIN_PX
    return (
        max(int(rows[0]) - m, 0),
        min(int(rows[-1]) + 1 + m, h),
        max(int(cols[0]) - m, 0),
        min(int(cols[-1]) + 1 + m, w),
    )


class MapContext:
    """What a family's ``make_maps`` reads and writes while :func:`prepare` runs.

    ``rgb``: the crop, float32 sRGB clipped to [0, 1]; ``lab`` its CIELAB and ``L``, ``a``,
    ``b`` the channels; ``baseline`` the skin baseline; ``skin`` the region of interest on the
    crop (all pixels without one); ``reference_skin`` the skin on the crop whose pixels a
    family may read as the patient's reference (the under-eye shade's cheek; default
    ``skin``); ``maps`` the maps made so far (a :class:`DeferredMaps`: add a map with
    ``maps[name] = ...`` or, when only some callers need it, ``maps.defer(...)``).
    :meth:`shared` makes a product several families use once. ``landmarks``: the face's
    landmarks with their points on the crop (``None`` when the photo has none, or in body
    mode); ``reference``: the landmarks the geometric families measure against (in a
    comparison, the before photo's carried onto this crop by the alignment; ``None``: the
    photo's own); ``before``: in a comparison, the before photo's image carried onto this
    crop by the alignment (the geometric families follow the skin between the two; ``None``
    otherwise; its L* once per photo: :meth:`before_L`); ``px_per_mm``: the photo's scale, if
    known.
    """

    def __init__(
        self,
        rgb,
        lab,
        baseline: SkinBaseline,
        skin: np.ndarray,
        maps: DeferredMaps,
        *,
        landmarks: Landmarks | None = None,
        reference: Landmarks | None = None,
        before: np.ndarray | None = None,
        px_per_mm: float | None = None,
        reference_skin: np.ndarray | None = None,
        before_lab: np.ndarray | None = None,
    ):
        self.rgb, self.lab, self.baseline, self.skin, self.maps = rgb, lab, baseline, skin, maps
        self.landmarks, self.reference, self.px_per_mm = landmarks, reference, px_per_mm
        self.before, self._before_lab = before, before_lab
        self.reference_skin = skin if reference_skin is None else reference_skin
        self.L, self.a, self.b = (np.ascontiguousarray(lab[..., k]) for k in range(3))
        self._shared: dict[tuple, object] = {}

    def shared(self, key: tuple, make: Callable[[], object]):
        """``make()``, made once per photo for ``key`` (a tuple naming the product and its
        settings) and shared by the families that ask for it."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def smoothed_lab(self, sigma_px: float) -> np.ndarray:
        """CIELAB smoothed by a Gaussian of ``sigma_px`` (reflected borders)."""
        return self.shared(
            ("lab", sigma_px),
            lambda: cv2.GaussianBlur(self.lab, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT),
        )

    def smoothed_L(self, sigma_px: float) -> np.ndarray:
        """L* smoothed by a Gaussian of ``sigma_px`` (reflected borders)."""
        return self.shared(
            ("L", sigma_px),
            lambda: cv2.GaussianBlur(self.L, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT),
        )

    def before_L(self) -> np.ndarray | None:
        """L* of ``before`` (the before photo carried onto this crop; ``None`` outside a
        comparison)."""
        if self.before is None:
            return None
        return self.shared(("before L",), lambda: _lightness(self.before, self._before_lab))

    def smoothed_before_L(self, sigma_px: float) -> np.ndarray:
        """:meth:`before_L` smoothed by a Gaussian of ``sigma_px`` (reflected borders; in a
        comparison only)."""
        return self.shared(
            ("before L", sigma_px),
            lambda: cv2.GaussianBlur(
                self.before_L(), (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT
            ),
        )

    def optical_density(self) -> np.ndarray:
        """:func:`optical_density` of the crop, ``(row, col, 3)``."""
        return self.shared(("od",), lambda: optical_density(self.rgb))

    def densities(self) -> np.ndarray:
        """Tsumura (melanin, haemoglobin, shading) densities, ``(row, col, 3)``."""
        return self.shared(
            ("dens",), lambda: cv2.transform(self.optical_density(), tsumura_matrix())
        )


def _on_crop(lm: Landmarks | None, window) -> Landmarks | None:
    """Landmarks with their points moved onto the crop ``window`` (``None`` stays ``None``)."""
    if lm is None:
        return None
    r0, r1, c0, c1 = window
    pts = lm.points - np.array([c0, r0], np.float64)
    return dataclasses.replace(lm, points=pts, image_size=(c1 - c0, r1 - r0))


def _checked(rgb, roi_mask, reference_skin, px_per_mm):
    """:func:`prepare`'s inputs checked: ``(rgb, roi_mask, reference_skin)`` as arrays (the
    masks bool), ``ValueError`` for a bad image, mask or scale."""
    rgb = check_rgb(rgb)
    shape = rgb.shape[:2]
    if roi_mask is not None:
        roi_mask = check_mask(roi_mask, shape, "roi_mask")
    if reference_skin is not None:
        reference_skin = check_mask(reference_skin, shape, "reference_skin")
    if px_per_mm is not None and not (np.isfinite(px_per_mm) and px_per_mm > 0):
        raise ValueError(f"px_per_mm must be a positive number, got {px_per_mm!r}")
    return rgb, roi_mask, reference_skin


def prepare(
    rgb: np.ndarray,
    *,
    roi_mask: np.ndarray | None = None,
    px_per_mm: float | None = None,
    baseline: SkinBaseline | None = None,
    landmarks: Landmarks | None = None,
    reference: Landmarks | None = None,
    before_rgb: np.ndarray | None = None,
    reference_skin: np.ndarray | None = None,
) -> ImageMaps:
    """Compute every per-pixel map of ``rgb`` once (see :class:`ImageMaps`).

    Parameters
    ----------
    rgb : (row, col, 3) float sRGB in [0, 1]
    roi_mask : (row, col) bool, optional
        Only the bounding box of this mask (plus ``CROP_MARGIN_PX``) is processed; region masks
        scored later must lie inside it. Usually the ``face`` region.
    px_per_mm : float, optional
        Scale of the photo; enables the metrics in mm² and per cm².
    baseline : SkinBaseline, optional
        The patient's skin baseline. Default: computed from ``roi_mask`` (or the whole photo).
        In a comparison pass the BEFORE photo's baseline for both photos.
    landmarks : Landmarks, optional
        The face's landmarks in ``rgb``'s frame, for the families that measure geometry
        (:mod:`mesovision.metrics.swelling`); their metrics are NaN without them.
    reference : Landmarks, optional
        The landmarks those families measure against, in ``rgb``'s frame (in a comparison the
        before photo's, carried into the after photo by the alignment); default ``landmarks``.
    before_rgb : ndarray, optional
        In a comparison, the before photo carried onto ``rgb``'s pixels by the alignment (same
        shape as ``rgb``): the geometric families measure how the skin moved from it.
    reference_skin : (row, col) bool, optional
        Where the patient's reference skin is read, in ``rgb``'s frame (the under-eye shade's
        cheek, :mod:`mesovision.metrics._undereye`); default ``roi_mask``. In a comparison the
        before photo's skin without only its own clipped pixels (in the after photo, carried
        onto it with ``before_rgb``), so that a photo's reference does not depend on the other
        photo's clipped pixels.
    """
    rgb, roi_mask, reference_skin = _checked(rgb, roi_mask, reference_skin, px_per_mm)
    shape = rgb.shape[:2]
    r0, r1, c0, c1 = crop_window(roi_mask, shape)
    if baseline is None:
        baseline = SkinBaseline.from_image(rgb, roi_mask)
    x = np.ascontiguousarray(np.clip(rgb[r0:r1, c0:c1], 0.0, 1.0), dtype=np.float32)
    # (the CIELAB the region masks kept of this image, in a comparison; else rgb_to_lab's
    # conversion of the crop, without its clip: x is clipped)
    kept = kept_lab(rgb, (r0, r1, c0, c1))
    lab = cv2.cvtColor(x, cv2.COLOR_RGB2Lab) if kept is None else kept.copy()
    skin = np.ones(x.shape[:2], bool) if roi_mask is None else roi_mask[r0:r1, c0:c1]
    ref_skin = None if reference_skin is None else reference_skin[r0:r1, c0:c1]
    landmarks, reference = (_on_crop(lm, (r0, r1, c0, c1)) for lm in (landmarks, reference))
    ctx = MapContext(
        x,
        lab,
        baseline,
        skin,
        DeferredMaps(),
        landmarks=landmarks,
        reference=reference,
        before=None if before_rgb is None else before_rgb[r0:r1, c0:c1],
        px_per_mm=px_per_mm,
        reference_skin=ref_skin,
        before_lab=kept_lab(before_rgb, (r0, r1, c0, c1)),
    )
    ctx.maps.update(L=ctx.L, a=ctx.a, b=ctx.b)
    for family in FAMILIES.values():
        if family.make_maps is not None:
            family.make_maps(ctx)
    return ImageMaps(
        shape=(int(shape[0]), int(shape[1])),
        window=(r0, r1, c0, c1),
        maps=ctx.maps,
        baseline=baseline,
        px_per_mm=None if px_per_mm is None else float(px_per_mm),
        rgb=x,
    )
