"""The capture checks' thresholds, and the table of every check.

Each check compares one measure of :mod:`mesovision.checks.measures` with one threshold here;
:data:`CHECKS` names them all with their unit and what is checked (the README shows this table),
and :data:`FAIL_CHECKS` are those whose failure makes a photo unusable (the others warn). The
face-size and pose limits are the alignment's (:data:`mesovision.align.THRESHOLDS`); the
expression limits are those of :mod:`mesovision.expression`.
"""

from __future__ import annotations

from ..align import MIN_FACE_FILL, THRESHOLDS
from ..align.capture import (
    MAX_OTHER_FACE_SHARE,
    MAX_PALETTE_COLOURS,
    MAX_TRANSPARENT_SHARE,
    shown,
)
from ..comparability import BODY_LIMITS, LIMITS, SCORE_IOD_SHARE
from ..enlargement import ENLARGED_FACTOR
from ..expression import EXPRESSIONS, MAX_EXPRESSION_SCORE, NEUTRAL_CHECKED
from ..io import GRAYSCALE_MAX_CHROMA

__all__ = [
    "BLUR_IOD_PX",
    "BODY_CHECKS",
    "ENLARGED_FACTOR",
    "MAX_FRAMING_SCALE",
    "MAX_LIGHT_TURN_DEG",
    "MIN_FRAMING_OVERLAP",
    "CHECKS",
    "CLIP_HIGH",
    "CLIP_LOW",
    "EXPRESSION_CHECKS",
    "FAIL_CHECKS",
    "GLARE_CHROMA_SHARE",
    "GLARE_DL",
    "GLARE_MIN_SIDE_IOD",
    "MAX_CLIPPED_SHARE",
    "MAX_GAMUT_SHARE",
    "MAX_GLARE_SHARE",
    "MAX_MOUTH_OPEN_RATIO",
    "MAX_OTHER_FACE_SHARE",
    "MAX_PALETTE_COLOURS",
    "MAX_PITCH_DEG",
    "MAX_PITCH_DIFFERENCE_DEG",
    "MAX_POSE_FOR_SWELLING_DEG",
    "MAX_ROLL_DEG",
    "MAX_SKIN_L",
    "MAX_TRANSPARENT_SHARE",
    "MAX_YAW_DIFFERENCE_DEG",
    "MAX_YAW_FRONT_DEG",
    "MAX_YAW_OBLIQUE_ERROR_DEG",
    "MIN_EYE_ASPECT_RATIO",
    "MIN_INTEROCULAR_PX",
    "MIN_SHARPNESS",
    "MIN_CHROMA",
    "MIN_SKIN_L",
    "SMALL_FILE_SIDE",
    "MIN_TEXTURE_INTEROCULAR_PX",
    "OBLIQUE_YAW_DEG",
    "shown",
]

#: :data:`MAX_OTHER_FACE_SHARE`, :data:`MAX_PALETTE_COLOURS` and :data:`MAX_TRANSPARENT_SHARE`
#: are those of
#: :mod:`mesovision.align.capture`, with which ``compare`` warns about a photo as these checks do.
#: Face size: interocular distance in the working copy (px), as the alignment requires.
MIN_INTEROCULAR_PX = THRESHOLDS["min_interocular_px"]
#: Front view: largest |yaw| and |pitch| (deg).
MAX_YAW_FRONT_DEG = 10.0
MAX_PITCH_DEG = 12.0
#: Oblique views: expected |yaw| and the largest departure from it (deg).
OBLIQUE_YAW_DEG = 45.0
MAX_YAW_OBLIQUE_ERROR_DEG = 12.0
#: The head's turn from the baseline's (the larger of the yaw and pitch differences, deg)
#: beyond which swelling is no longer compared as such: the ``geometry`` verdict's limited-from
#: turn (a turn in depth moves the face's outline, :mod:`mesovision.comparability`). Warns.
MAX_POSE_FOR_SWELLING_DEG = next(lim.ok for lim in LIMITS["geometry"] if lim.measure == "pose_deg")
#: Face size from which texture (pores, fine lines, roughness) is compared in full: the
#: texture verdict's comparable limit in the scoring frame, which holds ``SCORE_IOD_SHARE`` of
#: the working copy's interocular distance (:mod:`mesovision.comparability`). Warns.
MIN_TEXTURE_INTEROCULAR_PX = round(
    next(lim.ok for lim in LIMITS["texture"] if lim.measure == "scoring_iod_px") / SCORE_IOD_SHARE
)
#: Largest |roll| (deg); a warning only: the similarity alignment undoes in-plane rotation.
MAX_ROLL_DEG = 10.0
MIN_EYE_ASPECT_RATIO = 0.15
MAX_MOUTH_OPEN_RATIO = 0.25
#: The baseline expression checks: name -> the expressions it compares.
EXPRESSION_CHECKS = {
    "smile_vs_baseline": ("smile",),
    "mouth_vs_baseline": ("mouth_open", "pucker"),
    "eyes_vs_baseline": ("eye_blink", "eye_squint"),
    "brows_vs_baseline": ("brow_raise",),
    "frown_vs_baseline": ("frown",),
}
#: Face scale of the sharpness measure: interocular distance (px) after resampling.
BLUR_IOD_PX = 100.0
#: A file whose longer side is under this many px is not a camera's full-resolution file (a
#: phone's is 3000-4000 px and more; a messenger's copy 1280-1600 px, a thumbnail less): the
#: advice for a face too small or blurred in it adds "or use the camera's full-resolution file".
SMALL_FILE_SIDE = 2048
MIN_SHARPNESS = 10.0
MIN_SKIN_L = 25.0
MAX_SKIN_L = 85.0
CLIP_HIGH = 254 / 255
CLIP_LOW = 1 / 255
MAX_CLIPPED_SHARE = 0.10
#: Largest share of the face skin outside sRGB in the file's colour profile (clipped by the
#: conversion to sRGB): such pixels are lost to colour measurement as clipped ones are.
MAX_GAMUT_SHARE = MAX_CLIPPED_SHARE
GLARE_DL = 15.0
GLARE_CHROMA_SHARE = 0.5
GLARE_MIN_SIDE_IOD = 0.03
MAX_GLARE_SHARE = 0.01
#: A photo has colour above this chroma (C*ab, :func:`mesovision.io.chroma_p99`): the limit
#: that records a photo without colour when it is loaded
#: (:data:`mesovision.io.GRAYSCALE_MAX_CHROMA`).
MIN_CHROMA = GRAYSCALE_MAX_CHROMA
MAX_YAW_DIFFERENCE_DEG = THRESHOLDS["max_yaw_difference_deg"]
MAX_PITCH_DIFFERENCE_DEG = THRESHOLDS["max_pitch_difference_deg"]

#: Every check: name -> (threshold, unit, what is checked). The README shows this table.
CHECKS: dict[str, tuple[float, str, str]] = {
    "opaque": (
        MAX_TRANSPARENT_SHARE,
        "share",
        "share of the file's pixels that are not fully opaque (alpha channel) <= this",
    ),
    "palette": (
        MAX_PALETTE_COLOURS,
        "colours",
        "colours of the file's palette (a palette, indexed-colour, image) <= this: 0, a file of "
        "full colour",
    ),
    "face_found": (1, "faces", "a face is found (face views; the value: how many)"),
    "single_face": (
        MAX_OTHER_FACE_SHARE,
        "share",
        "the largest other upright face's size over the measured face's <= this",
    ),
    "face_size": (MIN_INTEROCULAR_PX, "px", "interocular distance in the working copy >= this"),
    "face_size_texture": (
        MIN_TEXTURE_INTEROCULAR_PX,
        "px",
        "interocular distance in the working copy >= this: texture is compared in full",
    ),
    "enlarged": (
        ENLARGED_FACTOR,
        "factor",
        "the face's enlargement factor (where its detail ends, mesovision.enlargement) < this: "
        "the photo is not a small image enlarged",
    ),
    "orientation": (
        0,
        "quarter turns",
        "the face lies upright in the photo (one lying sideways is measured turned upright)",
    ),
    "head_yaw": (
        MAX_YAW_FRONT_DEG,
        "deg",
        f"front: |yaw| <= this; left-45 / right-45: |yaw -/+ {OBLIQUE_YAW_DEG:.0f}| <= "
        f"{MAX_YAW_OBLIQUE_ERROR_DEG:.0f}",
    ),
    "head_pitch": (MAX_PITCH_DEG, "deg", "|pitch| <= this (chin neither raised nor lowered)"),
    "head_roll": (MAX_ROLL_DEG, "deg", "|roll| <= this (head level)"),
    "eyes_open": (MIN_EYE_ASPECT_RATIO, "ratio", "eye aspect ratio (mean of both eyes) >= this"),
    "mouth_closed": (MAX_MOUTH_OPEN_RATIO, "ratio", "inner-lip gap / mouth width <= this"),
    "sharpness": (
        MIN_SHARPNESS,
        "grey^2",
        f"variance of the Laplacian on the face skin at {BLUR_IOD_PX:.0f} px between the pupils "
        ">= this",
    ),
    "exposure": (
        MAX_SKIN_L,
        "L*",
        f"median L* of the face skin between {MIN_SKIN_L:.0f} and this",
    ),
    "clipping": (
        MAX_CLIPPED_SHARE,
        "share",
        "skin pixels with a channel at 0-1 or 254-255 <= this (not those of gamut)",
    ),
    "gamut": (
        MAX_GAMUT_SHARE,
        "share",
        "skin pixels whose colour lies outside sRGB in the file's colour profile, clipped by "
        "the conversion to sRGB (not by the exposure) <= this",
    ),
    "glare": (MAX_GLARE_SHARE, "share", "skin covered by bright, desaturated blobs <= this"),
    "colour": (
        MIN_CHROMA,
        "C*ab",
        "99th percentile of the chroma over the photo > this: the photo has colour (not "
        "grayscale, not RGB of equal channels)",
    ),
    "expression_neutral": (
        MAX_EXPRESSION_SCORE,
        "score",
        f"every expression score of {', '.join(NEUTRAL_CHECKED)} <= this",
    ),
    **{
        name: (
            EXPRESSIONS[exprs[0]].max_change,
            "score",
            f"|{' / '.join(exprs)} score - baseline's| <= this",
        )
        for name, exprs in EXPRESSION_CHECKS.items()
    },
    "yaw_vs_baseline": (
        MAX_YAW_DIFFERENCE_DEG,
        "deg",
        "|yaw - baseline's| <= this (the alignment's limit)",
    ),
    "pitch_vs_baseline": (
        MAX_PITCH_DIFFERENCE_DEG,
        "deg",
        "|pitch - baseline's| <= this (the alignment's limit)",
    ),
    "pose_for_swelling": (
        MAX_POSE_FOR_SWELLING_DEG,
        "deg",
        "the larger of |yaw - baseline's| and |pitch - baseline's| <= this (swelling's limit)",
    ),
}

#: Body photos (:mod:`mesovision.checks.body`): the lamp's largest turn since the baseline
#: (the ``body_texture`` family's not-comparable limit), the smallest share of the baseline's
#: measured area in the photo and the largest change of scale (folded, >= 1).
MAX_LIGHT_TURN_DEG = next(lim.bad for lim in BODY_LIMITS if lim.measure == "light_change_deg")
MIN_FRAMING_OVERLAP = next(lim.ok for lim in BODY_LIMITS if lim.measure == "overlap")
MAX_FRAMING_SCALE = 1.15
#: Every body-photo check: name -> (threshold, unit, what is checked); they warn. ``no_face``
#: takes the limit with which a body-mode comparison warns about a face that fills a photo
#: (:data:`mesovision.align.MIN_FACE_FILL`).
BODY_CHECKS: dict[str, tuple[float, str, str]] = {
    "no_face": (
        MIN_FACE_FILL,
        "share",
        "the size of a face in the photo (square root of its mesh's bounding-box area) over the "
        "photo's (square root of its area) < this: a body view shows no portrait",
    ),
    "light_vs_baseline": (
        MAX_LIGHT_TURN_DEG,
        "deg",
        "the raking light's azimuth differs from the baseline's by <= this (capture time: the "
        "camera's own turn counts too)",
    ),
    "light_after_alignment": (
        MAX_LIGHT_TURN_DEG,
        "deg",
        "the same, with the after photo's azimuth carried into the baseline's frame",
    ),
    "framing_overlap": (
        MIN_FRAMING_OVERLAP,
        "share",
        "share of the baseline's measured area that the photo covers >= this",
    ),
    "framing_scale": (
        MAX_FRAMING_SCALE,
        "ratio",
        "the area's size over its size in the baseline (or its inverse) <= this",
    ),
}

#: Checks whose failure makes a photo unusable (the others warn).
FAIL_CHECKS = frozenset(
    {
        "face_found",
        "single_face",
        "face_size",
        "head_yaw",
        "head_pitch",
        "sharpness",
        "clipping",
        "glare",
        "colour",
        "yaw_vs_baseline",
        "pitch_vs_baseline",
    }
)
