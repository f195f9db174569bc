"""Two photos -> a :class:`Comparison`: scores per region before and after, their changes, and a
noise floor for every change.

How the numbers are made (the README's "Method" section says the same):

1. **Align** (:mod:`mesovision.align`) and **normalize lighting** (:mod:`mesovision.lighting`) on
   the after photo resampled into the before frame; the lighting model is fitted on reference
   pixels only (untreated regions, background).
2. **Score each photo in its own frame.** Warping interpolates and softens fine detail, so a
   warped photo would read "smoother" than an unwarped one with no real change. Instead each photo
   is scored on its own pixels, over its own landmark regions, after the lighting correction
   (a per-pixel colour function and a smooth shading field, carried back into the after photo's
   frame). Both photos are first resampled the same way (area averaging) to a common face scale,
   ``SCORE_IOD_SHARE`` x the smaller interocular distance of the two (at most ``SCORE_MAX_IOD_PX``),
   so that filters of a fixed size in pixels see the same anatomy in both.
3. **Skin baseline**: the before photo's facial skin (median and MAD of L*a*b*, EI, MI) is the
   baseline of both photos, so that a global change still shows.
4. **Noise floor** of each change (region x metric), the half-width of a 95 % interval:
   ``noise_floor = 1.96 * sqrt(2 * se^2 + sd_registration^2 + sd_lighting^2 + sd_counting^2)``

   * ``se``: standard error of the region value in the *before* photo, from a bootstrap over
     tiles of the region (``TILE_IOD`` x IOD square tiles, ``N_BOOTSTRAP`` resamples of the tile
     means), counted once for each photo. The floor is what the metric does when nothing
     changed, so it is estimated on the baseline: the after photo's own spread includes the
     change being measured (a new bruise makes its tiles unequal). For an extensive metric
     (a count or an area, units in ``EXTENSIVE_UNITS``) the region value is a sum
     over tiles, so the standard error of the mean is multiplied by the region's size in tiles;
   * ``sd_registration``: RMS change of the after value when its region masks are moved by the
     alignment residual (rounded, at least 1 px) in the four directions;
   * ``sd_lighting``: change of the after value when the residual lighting error left after
     normalization (per-channel median ratio after/before on the reference pixels, in linear
     light) is applied once more to the after photo.

   * ``sd_counting``: Poisson noise of metrics made of discrete detections (spots, pores, fine
     lines): with ``N`` detections in the two photos together, ``sqrt(max(N, 1))`` detections,
     in the metric's unit (a count; a density per area; for spot areas, the mean spot area
     times ``sqrt(N)``). It keeps one spot more or less from reading as a change when the
     baseline has too few detections for the tile bootstrap to see any spread.

   A change is ``significant`` when ``|delta| > noise_floor`` and the noise floor is finite.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import UsageError
from .pipeline import AlignedPair

log = logging.getLogger(__name__)

SCORE_IOD_SHARE = 0.9
SCORE_MAX_IOD_PX = 400.0
TILE_IOD = 0.25
N_BOOTSTRAP = 200
Z95 = 1.959963984540054
#: Units of metrics that add up over a region (counts, areas) rather than average.
EXTENSIVE_UNITS = ("count", "px", "mm^2")


@dataclass(frozen=True, eq=False)
class ScoredPhoto:
    """One photo in its scoring frame: image, region masks, per-pixel maps, scores."""

    rgb: np.ndarray
    regions: dict[str, np.ndarray]
    maps: object  # metrics.ImageMaps
    scores: dict[str, dict[str, float]]
    scale: float  # scoring px per working px of this photo
    bruises: object  # metrics.bruise.BruiseResult


@dataclass(frozen=True, eq=False)
class Comparison:
    pair: AlignedPair
    lighting: object | None  # lighting.LightingResult
    before: ScoredPhoto
    after: ScoredPhoto
    changes: dict[str, dict[str, dict[str, float | bool | None]]]
    settings: dict = field(default_factory=dict)

    def significant(self) -> list[tuple[str, str, dict]]:
        """``(region, metric, change)`` for every significant change."""
        return [
            (r, m, c) for r, ms in self.changes.items() for m, c in ms.items() if c["significant"]
        ]


def normalize_pair(pair: AlignedPair, *, method: str = "reference", treated=()):
    """Lighting normalization of an aligned pair, with the reference built from the untreated
    regions (and a uniform background when one is found)."""
    from . import lighting

    if pair.regions and "face" in pair.regions:
        ref = lighting.reference_mask(pair.regions, treated=treated, image=pair.before.rgb)
    else:
        ref = pair.measured
    return lighting.normalize_lighting(
        pair.before.rgb,
        pair.aligned_after,
        method=method,
        reference_mask=ref & pair.valid,
        valid_mask=pair.valid,
    )


def _scale_factors(pair: AlignedPair) -> tuple[float, float]:
    if pair.before_landmarks is not None and pair.after_landmarks is not None:
        ib, ia = pair.before_landmarks.interocular_px, pair.after_landmarks.interocular_px
        target = min(SCORE_MAX_IOD_PX, SCORE_IOD_SHARE * min(ib, ia))
        return target / ib, target / ia
    # Body mode: the alignment's scale gives the after/before size ratio.
    s = float(np.sqrt(abs(np.linalg.det(pair.alignment.matrix[:2, :2]))))
    k = SCORE_IOD_SHARE * min(1.0, s)
    return k, k / s


def _resize(img: np.ndarray, k: float) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(
        img, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA
    )


def _scaled_landmarks(lm, k: float, shape):
    import dataclasses

    return dataclasses.replace(
        lm, points=(lm.points + 0.5) * k - 0.5, z=lm.z * k, image_size=(shape[1], shape[0])
    )


def _regions_in(rgb, lm, k, fallback_mask) -> dict[str, np.ndarray]:
    from .regions import region_masks

    if lm is not None:
        return region_masks(_scaled_landmarks(lm, k, rgb.shape), rgb.shape, rgb=rgb)
    m = (
        cv2.resize(
            fallback_mask.astype(np.uint8),
            (rgb.shape[1], rgb.shape[0]),
            interpolation=cv2.INTER_NEAREST,
        )
        > 0
    )
    return {"area": m}


def _skin(regions: dict[str, np.ndarray]) -> np.ndarray:
    return regions["face"] if "face" in regions else regions["area"]


def _score(rgb, regions, *, baseline, px_per_mm, metrics):
    from .metrics import prepare, score_region

    maps = prepare(rgb, roi_mask=_skin(regions), px_per_mm=px_per_mm, baseline=baseline)
    scores = {r: score_region(maps, m, metrics=metrics) for r, m in regions.items()}
    return maps, scores


def _bootstrap_se(values: np.ndarray, rng: np.random.Generator) -> float:
    v = values[np.isfinite(values)]
    if v.size < 3:
        return float("nan")
    idx = rng.integers(0, v.size, size=(N_BOOTSTRAP, v.size))
    return float(v[idx].mean(axis=1).std(ddof=1))


def _shift(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(mask)
    h, w = mask.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = mask[ys, xs]
    return out


def _counting_sd(name: str, vb: float, va: float, nb: int, na: int, ppm, scores_b, scores_a):
    """Poisson noise of a detection-based metric (see the module docstring), or 0."""
    from .metrics import get_metric

    unit = get_metric(name).unit
    if not (np.isfinite(vb) and np.isfinite(va)):
        return 0.0
    if unit == "count":
        return float(np.sqrt(max(1.0, vb + va)))
    area = {
        "1/(1000 px^2)": lambda n: n / 1000.0,
        "1/cm^2": lambda n: n / ppm**2 / 100.0 if ppm else np.nan,
    }.get(unit)
    if area is not None:
        ab, aa = area(nb), area(na)
        if not (ab > 0 and aa > 0):
            return 0.0
        n = vb * ab + va * aa
        return float(np.sqrt(max(1.0, n)) / (0.5 * (ab + aa)))
    if name.startswith("pigmentation.spot_area"):
        n = scores_b.get("pigmentation.spot_count", np.nan) + scores_a.get(
            "pigmentation.spot_count", np.nan
        )
        if not np.isfinite(n):
            return 0.0
        return float((vb + va) / np.sqrt(max(1.0, n)))
    return 0.0


def residual_gain(lres, ref: np.ndarray) -> np.ndarray:
    """Per-channel median ratio (linear light) of the normalized after photo to the before photo
    on the reference pixels: the lighting error normalization left (1 = none)."""
    from .lighting import to_linear

    if lres is None or not ref.any():
        return np.ones(3)
    b = to_linear(lres.before[ref])
    a = to_linear(lres.after[ref])
    ok = (b > 0.01).all(axis=1) & (a > 0.01).all(axis=1) & (b < 0.98).all(axis=1)
    if ok.sum() < 50:
        return np.ones(3)
    return np.median(a[ok] / b[ok], axis=0).astype(np.float64)


def compare_pair(
    pair: AlignedPair,
    *,
    lighting: str = "reference",
    treated=(),
    metrics=None,
    px_per_mm_at_before: float | None = None,
    seed: int = 0,
) -> Comparison:
    """Normalize, score and compare an aligned pair (see the module docstring for the method).

    ``px_per_mm_at_before``: the scale of the before photo's working copy, when known (e.g. from
    the patient's measured interpupillary distance); enables the mm-based metrics.
    """
    from .lighting import METHODS
    from .metrics import SkinBaseline, get_metric, tile_values
    from .metrics.bruise import segment_bruises

    if lighting not in METHODS:
        raise UsageError(f"unknown lighting method {lighting!r}; valid: {', '.join(METHODS)}")
    lres = normalize_pair(pair, method=lighting, treated=treated) if lighting != "none" else None
    kb, ka = _scale_factors(pair)
    from .lighting import correct_in_own_frame

    before_rgb = lres.before if lres is not None else pair.before.rgb
    after_own = (
        correct_in_own_frame(lres, pair.after.rgb, pair.alignment)
        if lres is not None
        else pair.after.rgb
    )
    rgb_b, rgb_a = _resize(before_rgb, kb), _resize(after_own, ka)
    reg_b = _regions_in(rgb_b, pair.before_landmarks, kb, pair.measured)
    mask_after_frame = None
    if pair.after_landmarks is None:
        # The measured area carried into the after frame (zero where it has no source).
        size = (pair.after.rgb.shape[1], pair.after.rgb.shape[0])
        mask_after_frame = (
            cv2.warpPerspective(
                pair.measured.astype(np.uint8),
                np.linalg.inv(pair.alignment.matrix),
                size,
                flags=cv2.INTER_NEAREST,
                borderValue=0,
            )
            > 0
        )
    reg_a = _regions_in(rgb_a, pair.after_landmarks, ka, mask_after_frame)
    ppm_b = None if px_per_mm_at_before is None else px_per_mm_at_before * kb
    # The same anatomy has the same size in both scoring frames (common face scale).
    ppm_a = ppm_b
    baseline = SkinBaseline.from_image(rgb_b, _skin(reg_b))
    maps_b, scores_b = _score(rgb_b, reg_b, baseline=baseline, px_per_mm=ppm_b, metrics=metrics)
    maps_a, scores_a = _score(rgb_a, reg_a, baseline=baseline, px_per_mm=ppm_a, metrics=metrics)

    # Noise-floor ingredients.
    rng = np.random.default_rng(seed)
    iod_s = (
        pair.before_landmarks.interocular_px * kb
        if pair.before_landmarks is not None
        else 0.1 * min(rgb_b.shape[:2])
    )
    tile = max(6, int(round(TILE_IOD * iod_s)))
    shift = max(1, int(round(pair.alignment.residual_px * ka)))
    ref_before_frame = pair.regions.get("face", pair.measured) & pair.valid
    gain = residual_gain(lres, ref_before_frame)
    if np.allclose(gain, 1.0):
        maps_l = None
    else:
        from .lighting import to_linear, to_srgb
        from .metrics import prepare

        pert = to_srgb(to_linear(rgb_a) * gain.astype(np.float32))
        maps_l = prepare(pert, roi_mask=_skin(reg_a), px_per_mm=ppm_a, baseline=baseline)
    from .metrics import score_region

    changes: dict[str, dict[str, dict]] = {}
    for region in reg_b:
        if region not in reg_a:
            continue
        mb, ma = reg_b[region], reg_a[region]
        nb, na = int(mb.sum()), int(ma.sum())
        shifted = [
            _shift(ma, dy, dx) for dy, dx in ((shift, 0), (-shift, 0), (0, shift), (0, -shift))
        ]
        shifted_scores = [score_region(maps_a, m, metrics=metrics) for m in shifted]
        light_scores = score_region(maps_l, ma, metrics=metrics) if maps_l is not None else None
        out = {}
        for name, vb in scores_b[region].items():
            va = scores_a[region][name]
            spec = get_metric(name)
            se_b = _bootstrap_se(tile_values(maps_b, mb, name, tile_px=tile), rng)
            if spec.unit in EXTENSIVE_UNITS:
                se_b *= nb / tile**2
            reg = np.array([s[name] for s in shifted_scores], dtype=np.float64)
            sd_reg = float(np.sqrt(np.nanmean((reg - va) ** 2))) if np.isfinite(reg).any() else 0.0
            sd_light = abs(light_scores[name] - va) if light_scores is not None else 0.0
            if not np.isfinite(sd_light):
                sd_light = 0.0
            sd_count = _counting_sd(name, vb, va, nb, na, ppm_b, scores_b[region], scores_a[region])
            floor = Z95 * float(np.sqrt(2 * se_b**2 + sd_reg**2 + sd_light**2 + sd_count**2))
            delta = va - vb
            rel = delta / abs(vb) if np.isfinite(vb) and vb != 0 else None
            sig = bool(np.isfinite(floor) and np.isfinite(delta) and abs(delta) > floor)
            out[name] = {
                "before": vb,
                "after": va,
                "delta": delta,
                "relative": rel,
                "noise_floor": floor,
                "significant": sig,
                "unit": spec.unit,
                "direction": spec.direction,
                "noise": {
                    "se_before": se_b,
                    "sd_registration": sd_reg,
                    "sd_lighting": sd_light,
                },
            }
        changes[region] = out

    bruises_b = segment_bruises(
        rgb_b, _skin(reg_b), baseline=baseline, region_masks=reg_b, px_per_mm=ppm_b
    )
    bruises_a = segment_bruises(
        rgb_a, _skin(reg_a), baseline=baseline, region_masks=reg_a, px_per_mm=ppm_a
    )
    settings = {
        "lighting": lighting,
        "treated": list(treated),
        "score_scale_before": kb,
        "score_scale_after": ka,
        "tile_px": tile,
        "registration_shift_px": shift,
        "residual_lighting_gain": gain.tolist(),
        "n_bootstrap": N_BOOTSTRAP,
        "seed": seed,
        "px_per_mm_at_before": px_per_mm_at_before,
    }
    return Comparison(
        pair=pair,
        lighting=lres,
        before=ScoredPhoto(rgb_b, reg_b, maps_b, scores_b, kb, bruises_b),
        after=ScoredPhoto(rgb_a, reg_a, maps_a, scores_a, ka, bruises_a),
        changes=changes,
        settings=settings,
    )


RESULT_SCHEMA_VERSION = "1.0"


def _to_before_frame(img: np.ndarray, cmp: Comparison, *, after: bool, nearest: bool):
    """A scoring-frame image (mask or RGB) of the before or after photo, in the before photo's
    working frame."""
    pair = cmp.pair
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    src = img.astype(np.uint8) if img.dtype == bool else np.ascontiguousarray(img, np.float32)
    photo = pair.after if after else pair.before
    w, h = photo.size
    full = cv2.resize(src, (w, h), interpolation=interp)
    if after:
        bh, bw = pair.before.rgb.shape[:2]
        m = pair.alignment.matrix
        if np.allclose(m[2], [0, 0, 1]):
            full = cv2.warpAffine(full, m[:2], (bw, bh), flags=interp)
        else:
            full = cv2.warpPerspective(full, m, (bw, bh), flags=interp)
    return full.astype(bool) if img.dtype == bool else full


def output_images(cmp: Comparison) -> dict[str, np.ndarray]:
    """Every image ``mesovision compare`` writes, by file name, all in the before photo's frame."""
    from .metrics.heatmaps import FAMILIES, heatmap

    out = {"aligned_after.png": cmp.pair.aligned_after}
    if cmp.lighting is not None:
        out["normalized_after.png"] = cmp.lighting.after
    out["bruise_mask_before.png"] = _to_before_frame(
        cmp.before.bruises.mask, cmp, after=False, nearest=True
    )
    out["bruise_mask_after.png"] = _to_before_frame(
        cmp.after.bruises.mask, cmp, after=True, nearest=True
    )
    for fam in FAMILIES:
        for which, sp in (("before", cmp.before), ("after", cmp.after)):
            hm = heatmap(sp.rgb, sp.maps, fam, mask=sp.regions.get("face", sp.regions.get("area")))
            out[f"heatmap_{fam}_{which}.png"] = _to_before_frame(
                hm, cmp, after=which == "after", nearest=False
            )
    return out


def output_names() -> list[str]:
    """File names ``mesovision compare`` writes (known before any work, for the overwrite check)."""
    from .metrics.heatmaps import FAMILIES

    names = [
        "result.json",
        "aligned_after.png",
        "normalized_after.png",
        "bruise_mask_before.png",
        "bruise_mask_after.png",
    ]
    return names + [f"heatmap_{f}_{w}.png" for f in FAMILIES for w in ("before", "after")]


def comparison_record(cmp: Comparison) -> dict:
    """The ``result.json`` document (schema in the README)."""
    from .pipeline import alignment_record

    al = alignment_record(cmp.pair)
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "inputs": al.pop("inputs"),
        "provenance": al.pop("provenance"),
        "settings": {**al.pop("settings"), **cmp.settings},
        "alignment": {k: v for k, v in al.items() if k != "schema_version"},
        "lighting": cmp.lighting.report.as_dict() if cmp.lighting is not None else None,
        "scores": {"before": cmp.before.scores, "after": cmp.after.scores},
        "changes": cmp.changes,
        "significant": [
            {
                "region": r,
                "metric": m,
                "delta": c["delta"],
                "noise_floor": c["noise_floor"],
                "unit": c["unit"],
            }
            for r, m, c in cmp.significant()
        ],
        "bruises": {
            "before": cmp.before.bruises.as_dict(),
            "after": cmp.after.bruises.as_dict(),
            "frame": "scoring frame of each photo (settings.score_scale_*); masks are "
            "written in the before photo's frame",
        },
    }
