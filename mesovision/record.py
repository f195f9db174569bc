"""The ``result.json`` record of a comparison and the images ``mesovision compare`` writes.

The record (schema :data:`RESULT_SCHEMA_VERSION`, documented in the README) holds the inputs and
provenance, the settings, the alignment, the lighting report, every score, every change with
its noise terms and test, the pair's measured mismatch with a comparability verdict per family,
the significant changes and the bruises. The images are all in the before photo's frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from ._threads import one_thread_each
from .align import warp_by_matrix
from .noise import FDR

if TYPE_CHECKING:
    from .compare import Comparison
    from .scoring import ScoringPlan

__all__ = [
    "READABLE_SCHEMA_VERSIONS",
    "RESULT_SCHEMA_VERSION",
    "comparison_record",
    "method_summary",
    "heatmap_families",
    "null_columns",
    "output_images",
    "output_names",
    "pair_settings",
    "record_changes",
    "scale_record",
    "significant_changes",
]

RESULT_SCHEMA_VERSION = "3.2"
#: The record versions the readers of a record (report, ``progress``, batch tables, the app)
#: accept. 3.1 adds ``scale``, ``hairline`` and ``body_checks`` to 3.0, and 3.2 the photos'
#: chroma (``inputs.*.capture.chroma_p99``, ``grayscale``) and ``mismatch.grayscale_photos``
#: (``docs/result-json.md``, "Migration from 3.0"): a 3.0 record reads as one without a scale,
#: hairline or body checks, an earlier record as one of colour photos.
READABLE_SCHEMA_VERSIONS = ("3.0", "3.1", "3.2")


def method_summary() -> list[str]:
    """The comparison method of the face mode in plain words (for reports; the module docstring
    has the detail). The body and hair modes' is :mod:`mesovision.report._mode_methods`."""
    from .metrics import FLIP_BAND_PX
    from .scoring import SCORE_IOD_SHARE, SCORE_MAX_IOD_PX, TILE_IOD

    return [
        "Each photo is scored in its own frame, over its own landmark regions (warping would "
        "soften fine detail), after lighting normalization fitted on reference pixels the "
        "treatment does not change. Both photos are resampled the same way to a common face "
        f"scale ({SCORE_IOD_SHARE} x the smaller interocular distance, at most "
        f"{SCORE_MAX_IOD_PX:.0f} px). Pixels clipped at capture in either photo are left out of "
        "both. The before photo's facial skin is the baseline of both photos.",
        "Every change has a standard error se = sqrt(se_paired^2 + sd_registration^2 + "
        "sd_recapture^2 + sd_counting^2 + sd_capture^2 + sd_detail^2 + sd_field^2 + "
        "sd_pose^2) and a noise "
        "floor, the smallest change with p < 0.05 under its null reference (delta / se ~ a "
        "scaled Student t fitted on null pairs). se_paired comes from the change itself: the "
        "region is cut into "
        f"square tiles of {TILE_IOD} x the interocular distance in the before photo, each tile "
        "is measured in both photos over the same skin (carried into the after photo by the "
        "alignment), and the spread of the per-tile changes (1.4826 x their median absolute "
        "deviation, robust to the few tiles a local change moves) over the square root of their "
        "number is its standard error (scaled to the region's size for counts and areas); "
        "sd_registration is the change when "
        "the region masks move by the alignment residual; sd_recapture the change when the "
        "after photo is scored as if captured again, its scoring grid moved by one pixel and "
        "the residual lighting error applied once more; sd_counting Poisson noise of "
        "detections and flagged pixels; for the red and wrinkle areas, thresholds of a smooth "
        "per-pixel value, also of the pixels at risk of flipping: those closer to the threshold "
        f"than a move of {FLIP_BAND_PX:g} px can change them (|value - threshold| < the largest "
        f"gradient within a pixel x {FLIP_BAND_PX:g} px), which a sub-pixel move of the photos "
        "can push over it; for the spot count and areas, instead, the variance of the spots "
        "another capture would find or miss (each candidate P (1 - P), P the probability that "
        "it passes the detector's tests again, from its margins to them). sd_capture is "
        "what a second capture of unchanged skin moves a value "
        "by beyond the other terms, one number per metric fitted on synthetic recaptures of "
        "real faces; sd_detail, for texture, the pair's measured focus mismatch times a factor "
        "per metric fitted on the same recaptures; sd_field how far the same metric moved on "
        "the facial parts that did not change; sd_pose, for the swelling contour, what a turn "
        "of the head in depth, measured on the flow at the stable landmarks and taken off the "
        "outline, may leave in it. The changes are tested in two groups, the headline "
        "measure of each family in each treated region (the primary endpoints) apart from "
        "every other change: a change is significant when its p-value, adjusted by "
        "Benjamini-Hochberg within its group, is below 0.05 (a false discovery rate of 5 % "
        "in each group).",
        "Each metric family (colour, pigmentation, texture, bruise, geometry) gets a verdict "
        "from what the pair's photos measurably differ in beyond the skin: the colour error left "
        "on untreated skin after normalization, focus and detail, image noise, JPEG quality, "
        "face size, head pose and expression. A family is comparable within the range the noise "
        "model was calibrated on; limited beyond it (its standard errors widened, up to twice, "
        "except where the noise model carries the mismatch itself, texture's focus, or only "
        "sensitivity is lost, a small face); "
        "not comparable beyond the limits (its values are shown but not tested), with the "
        "reason.",
    ]


def _to_before_frame(img: np.ndarray, cmp: Comparison, *, after: bool, nearest: bool):
    """A scoring-frame image (mask or RGB) of the before or after photo, in the before photo's
    working frame (zero outside the scored crop)."""
    pair = cmp.pair
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    src = img.astype(np.uint8) if img.dtype == bool else np.ascontiguousarray(img, np.float32)
    bh, bw = pair.before.rgb.shape[:2]
    # before-frame pixel -> scoring pixel of the photo (WARP_INVERSE_MAP samples src there)
    m = cmp.after.frame @ np.linalg.inv(pair.alignment.matrix) if after else cmp.before.frame
    full = warp_by_matrix(src, m, (bw, bh), flags=interp | cv2.WARP_INVERSE_MAP)
    return full.astype(bool) if img.dtype == bool else full


@one_thread_each()  # OpenCV's warps give other last bits with another size of its thread pool
def output_images(cmp: Comparison) -> dict[str, np.ndarray]:
    """Every image ``mesovision compare`` writes, by file name, all in the before photo's frame."""
    from .metrics.heatmaps import heatmap

    out = {"aligned_after.png": cmp.pair.aligned_after}
    if cmp.lighting is not None:
        from .lighting import correct_image
        from .scoring_frame import scale_matrix

        # The correction was fitted at a reduced scale: apply it at full working resolution.
        k = cmp.settings["lighting_fit_scale"]
        out["normalized_after.png"] = correct_image(
            cmp.lighting, cmp.pair.aligned_after, scale_matrix(k)
        )
    out["bruise_mask_before.png"] = _to_before_frame(
        cmp.before.bruises.mask, cmp, after=False, nearest=True
    )
    out["bruise_mask_after.png"] = _to_before_frame(
        cmp.after.bruises.mask, cmp, after=True, nearest=True
    )
    for fam in heatmap_families(cmp.pair.settings.get("mode", "face")):
        for which, sp in (("before", cmp.before), ("after", cmp.after)):
            hm = heatmap(sp.rgb, sp.maps, fam, mask=sp.regions.get("face", sp.regions.get("area")))
            out[f"heatmap_{fam}_{which}.png"] = _to_before_frame(
                hm, cmp, after=which == "after", nearest=False
            )
    return out


def heatmap_families(mode: str = "face") -> list[str]:
    """The families whose heatmaps a comparison in capture mode ``mode`` draws: those with a
    heatmap that are scored in that mode (:func:`mesovision.metrics.metrics_for_mode`)."""
    from .metrics import get_family
    from .metrics.heatmaps import FAMILIES

    return [f for f in FAMILIES if mode in get_family(f).modes]


def output_names(mode: str = "face") -> list[str]:
    """File names ``mesovision compare`` writes in capture mode ``mode`` (known before any
    work, for the overwrite check)."""
    names = [
        "result.json",
        "aligned_after.png",
        "normalized_after.png",
        "bruise_mask_before.png",
        "bruise_mask_after.png",
    ]
    families = heatmap_families(mode)
    return names + [f"heatmap_{f}_{w}.png" for f in families for w in ("before", "after")]


def scale_record(settings: dict, working_scale: float) -> dict:
    """The ``scale`` of ``result.json``: ``settings["scale"]`` as
    :func:`mesovision.scale.resolve_scale` leaves it (taken out of the settings), else the
    comparison's own ``px_per_mm_at_before`` (source ``"option"``) or no scale. In body mode
    without a scale the body filters assume one: the source is then ``"assumed"`` and
    ``px_per_mm_assumed`` that scale (:data:`mesovision.metrics.body.FALLBACK_PX_PER_MM`, px per
    mm of the image the body metrics measure)."""
    given = settings.pop("scale", None)
    if given is None:
        ppm = settings.get("px_per_mm_at_before")
        given = {
            "px_per_mm": None if ppm is None else ppm / working_scale,
            "px_per_mm_working": ppm,
            "source": None if ppm is None else "option",
            "ruler": None,
        }
    if given.get("source") is None and settings.get("mode") == "body":
        from .metrics.body import FALLBACK_PX_PER_MM

        given = {**given, "source": "assumed", "px_per_mm_assumed": FALLBACK_PX_PER_MM}
    return given


def pair_settings(plan: ScoringPlan, gain: np.ndarray, px_per_mm_at_before) -> dict:
    """The comparison's settings, as ``result.json`` records them."""
    return {
        "lighting": plan.lighting,
        "treated": list(plan.treated),
        "score_scale_before": plan.kb,
        "score_scale_after": plan.ka,
        "score_frame_before": plan.frame_b.round(6).tolist(),
        "score_frame_after": plan.frame_a.round(6).tolist(),
        "lighting_fit_scale": plan.kf,
        "tile_px": plan.tile,
        "registration_shift_px": plan.shift,
        "registration_residual_px": round(plan.pair.alignment.residual_px * plan.kb, 4),
        "residual_lighting_gain": gain.tolist(),
        "fdr": FDR,
        "px_per_mm_at_before": px_per_mm_at_before,
    }


def comparison_record(cmp: Comparison) -> dict:
    """The ``result.json`` document (schema in the README)."""
    from .pipeline import alignment_record

    al = alignment_record(cmp.pair)
    settings = {**al.pop("settings"), **cmp.settings}
    inputs = al.pop("inputs")
    for key, photo in (("before", cmp.pair.before), ("after", cmp.pair.after)):
        # share of the file's pixels not fully opaque (None for a photo not read from a file)
        inputs[key]["transparent_share"] = photo.transparent_share
        # the face's enlargement factor (mesovision.enlargement; None when not measured)
        inputs[key]["enlargement"] = photo.enlargement
        # colours of the file's palette, 0 for a file of full colour (None: not read from a file)
        inputs[key]["palette_colours"] = photo.palette_colours
    record = {
        "schema_version": RESULT_SCHEMA_VERSION,
        "inputs": inputs,
        "provenance": al.pop("provenance"),
        "scale": scale_record(settings, cmp.pair.before.scale),
        "hairline": settings.pop("hairline", None),
        "body_checks": settings.pop("body_checks", None),
        "settings": settings,
        "alignment": {k: v for k, v in al.items() if k != "schema_version"},
        "lighting": cmp.lighting.report.as_dict() if cmp.lighting is not None else None,
        "scores": {"before": cmp.before.scores, "after": cmp.after.scores},
        "mismatch": cmp.mismatch.as_dict() if cmp.mismatch is not None else None,
        "comparability": {f: v.as_dict() for f, v in cmp.verdicts.items()},
        "changes": {r: {m: c.as_dict() for m, c in per.items()} for r, per in cmp.changes.items()},
        "clipping": cmp.clipping.as_dict() if cmp.clipping else None,
        "significant": [],  # below, from the changes and the hairline's
        "bruises": {
            "before": cmp.before.bruises.as_dict(),
            "after": cmp.after.bruises.as_dict(),
            "frame": "scoring frame of each photo (settings.score_frame_* maps its working "
            "pixels to it); masks are written in the before photo's frame",
        },
    }
    record["significant"] = significant_changes(record)
    return record


def significant_changes(record: dict) -> list[dict]:
    """The ``significant`` list of a ``result.json`` record: ``{region, metric, delta,
    noise_floor, unit}`` of every significant change of :func:`record_changes`, the regions'
    first, then the frontal hairline's sites (scalp mode) as regions: the changes that
    ``mesovision compare`` prints, and that ``progress``, ``export`` and the tables mark."""
    return [
        {
            "region": r,
            "metric": m,
            "delta": c["delta"],
            "noise_floor": c["noise_floor"],
            "unit": c["unit"],
        }
        for r, per in record_changes(record).items()
        for m, c in per.items()
        if c.get("significant")
    ]


def null_columns(change: dict) -> dict[str, float | None]:
    """``{"null_scale", "null_df"}`` of a change of a record, the columns of the tables: the
    reference its ``p`` is read under, ``p = 2 P(T > |delta| / (se x null_scale))`` with ``T`` a
    Student t of ``null_df`` degrees of freedom, or the normal when ``null_df`` is ``None``
    (``noise.null_scale``, ``null_df``; the normal, scale 1 and ``None``, for a change without
    them, e.g. the frontal hairline's)."""
    noise = change.get("noise") or {}
    scale, df = noise.get("null_scale"), noise.get("null_df")
    return {
        "null_scale": 1.0 if scale is None else float(scale),
        "null_df": None if df is None else float(df),
    }


def record_changes(record: dict) -> dict[str, dict[str, dict]]:
    """Every change of a ``result.json`` record (of schema :data:`READABLE_SCHEMA_VERSIONS`) as
    ``{region: {metric: change}}``: the record's ``changes``, then the frontal hairline's
    (``hairline.changes``, scalp mode) with each site as a region (``hairline_mid``, ...,
    ``temple_right``), unless a photo shows no face (the hairline's ``note``: a crown or
    close-up view, where nothing was measured). A hairline change gets what a region's change
    has: ``relative``,
    ``noise_floor`` (1.96 x its standard error; NaN untested) and ``family`` and
    ``endpoint`` ``None`` (its test has its own capture term and no family verdict,
    :mod:`mesovision.hairline`). Tables, ``progress`` and the report read the changes here."""
    import math

    from .noise import Z95

    out = dict(record.get("changes") or {})
    hairline = record.get("hairline") or {}
    if hairline.get("note"):  # no face in a photo: no hairline was looked for
        return out
    for site, per in (hairline.get("changes") or {}).items():
        rows = {}
        for metric, c in per.items():
            b, d, se = c.get("before"), c.get("delta"), c.get("se")
            ok = [isinstance(x, (int, float)) and math.isfinite(x) for x in (b, d, se)]
            rows[metric] = {
                **c,
                "relative": d / abs(b) if ok[0] and ok[1] and b != 0 else None,
                "noise_floor": Z95 * se if ok[2] else None,
                "family": None,
                "endpoint": None,
            }
        out[site] = rows
    return out
