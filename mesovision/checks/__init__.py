"""Capture checks: is this photo usable for measurement, and if not, what to fix.

Run on import (``mesovision session add``) and on demand (``mesovision check PHOTO...``), while
the patient is still in the chair. Two steps:

1. :func:`measure_capture` measures a photo once (:class:`CaptureFeatures`: face size, other
   faces, head pose, eye and mouth opening, sharpness, lightness, clipping, glare;
   :func:`check_photo` adds the file's transparency). The features of a session's photo are
   stored with it and serve as the baseline of later sessions.
2. :func:`evaluate_capture` compares the features with the thresholds of :data:`CHECKS` (and,
   with a baseline, with the baseline's features). Each check is a dict ``{"name", "ok",
   "severity", "value", "threshold", "unit", "message"}``; ``severity`` is ``"fail"`` (the photo
   should be retaken: ``session add`` refuses it without ``--force``, ``check`` exits 6) or
   ``"warn"``; the message says what to fix in the practitioner's words. A check decides on
   the measured value, and its message prints the value with the decimals that show which side
   of the limit it is on (:func:`shown`: "10.3°" for a maximum of 10, never "10°").

Conventions. Sides are the patient's (:class:`mesovision.types.HeadPose`): yaw > 0 when the face
turns toward the patient's left (the image's right), pitch > 0 chin up, roll > 0 when the
patient's left eye is lower (clockwise on screen). Views: ``front`` expects yaw 0;
``left-45`` shows the patient's **left** cheek, so the face is turned toward the patient's
right: yaw ``-45``; ``right-45``: yaw ``+45``. ``body:<area>`` views have no face: only
sharpness, lightness, clipping and glare are checked, on the skin found by
:func:`mesovision.align.default_body_mask`, with a fifth of the skin area's longer side standing in
for the interocular distance (not validated on real body photos yet). Body views also measure the
raking light's direction, and are checked against the baseline's light and, after alignment,
framing (:mod:`mesovision.checks.body`, :data:`BODY_CHECKS`).

Measures:

* **Other faces** (:func:`other_face_share`): the size (square root of the mesh's bounding-box
  area) of the largest other face the Face Landmarker finds upright beside the measured one (the
  largest), over the measured face's; ``single_face`` fails above
  :data:`MAX_OTHER_FACE_SHARE`. The Face Landmarker looks for at most four faces and finds
  none narrower than about an eighth of the photo: the smaller faces of a group shot are not
  seen.
* **Transparency**: the share of the file's pixels that are not fully opaque
  (:attr:`mesovision.types.Photo.transparent_share`); the loader drops the alpha channel, so
  ``opaque`` warns that the colours measured are not those a viewer shows.
* **Palette**: the number of colours of the file's palette
  (:attr:`mesovision.types.Photo.palette_colours`, 0 for a file of full colour); ``palette``
  warns that a palette image's colour is quantized to them, which limits colour metrics.
* **Eye aspect ratio** (Soukupova & Cech 2016), per eye ``(|p2 - p6| + |p3 - p5|) / (2 |p1 -
  p4|)`` on the mesh points :data:`RIGHT_EYE` / :data:`LEFT_EYE`, mean of both eyes; about 0.25-0.35
  open, below 0.15 closed.
* **Mouth opening ratio**: inner-lip gap (13-14) over mouth width (61-291); ~0 closed.
* **Expression** (:mod:`mesovision.expression`): smile, mouth open, pursed lips, eye blink, squint,
  raised brows and frown, each a score in [0, 1] from the Face Landmarker's blendshapes. One
  photo warns when a visible expression (smile, mouth open, pursed lips, raised brows)
  scores above :data:`MAX_EXPRESSION_SCORE`; against the baseline, each group (smile; mouth;
  eyes; brows; frown) warns when a score moved by more than its limit, above what recaptures of
  an unchanged expression produce (``benchmarks/expression.py``).
* **Sharpness**: variance of the Laplacian (3x3, 8-bit grey levels squared) over the face skin
  (eroded by 2 px) after resampling the face to :data:`BLUR_IOD_PX` between the pupils, so that
  the value does not depend on the file's resolution.
* **Lightness**: median L* of the face skin. **Clipping**: share of face-skin pixels with any
  channel >= 254/255 or <= 1/255, except those of **gamut**: the share of face-skin pixels
  whose colour lay outside sRGB in the file's colour profile (Display P3, Adobe RGB), clipped
  by the conversion to sRGB (:attr:`mesovision.types.Photo.gamut_clipped`), not by the
  exposure. **Glare**: share of the face skin in connected blobs (each at
  least ``GLARE_MIN_SIDE_IOD`` x IOD squared in area) that are brighter than the skin's median L*
  by ``GLARE_DL`` and less saturated than ``GLARE_CHROMA_SHARE`` x its median chroma.
"""

from __future__ import annotations

from .body import add_body_checks, body_baseline_checks, body_pair_checks, light_features
from .evaluate import evaluate_capture
from .measures import (
    INNER_LIPS,
    LEFT_EYE,
    MOUTH_CORNERS,
    PUPILS,
    RIGHT_EYE,
    CaptureFeatures,
    clipped_share,
    eye_aspect_ratio,
    gamut_share,
    glare_share,
    measure_capture,
    mouth_open_ratio,
    mouth_width_iod,
    other_face_share,
    sharpness,
)
from .run import CaptureReport, capture_date, check_photo
from .thresholds import (
    BLUR_IOD_PX,
    BODY_CHECKS,
    CHECKS,
    CLIP_HIGH,
    CLIP_LOW,
    EXPRESSION_CHECKS,
    FAIL_CHECKS,
    GLARE_CHROMA_SHARE,
    GLARE_DL,
    GLARE_MIN_SIDE_IOD,
    MAX_CLIPPED_SHARE,
    MAX_GAMUT_SHARE,
    MAX_GLARE_SHARE,
    MAX_MOUTH_OPEN_RATIO,
    MAX_OTHER_FACE_SHARE,
    MAX_PALETTE_COLOURS,
    MAX_PITCH_DEG,
    MAX_PITCH_DIFFERENCE_DEG,
    MAX_ROLL_DEG,
    MAX_SKIN_L,
    MAX_TRANSPARENT_SHARE,
    MAX_YAW_DIFFERENCE_DEG,
    MAX_YAW_FRONT_DEG,
    MAX_YAW_OBLIQUE_ERROR_DEG,
    MIN_EYE_ASPECT_RATIO,
    MIN_INTEROCULAR_PX,
    MIN_SHARPNESS,
    MIN_SKIN_L,
    MIN_TEXTURE_INTEROCULAR_PX,
    OBLIQUE_YAW_DEG,
    shown,
)

__all__ = [
    "BLUR_IOD_PX",
    "BODY_CHECKS",
    "CHECKS",
    "CLIP_HIGH",
    "CLIP_LOW",
    "CaptureFeatures",
    "CaptureReport",
    "EXPRESSION_CHECKS",
    "FAIL_CHECKS",
    "GLARE_CHROMA_SHARE",
    "GLARE_DL",
    "GLARE_MIN_SIDE_IOD",
    "INNER_LIPS",
    "LEFT_EYE",
    "MAX_CLIPPED_SHARE",
    "MAX_GAMUT_SHARE",
    "MAX_GLARE_SHARE",
    "MAX_MOUTH_OPEN_RATIO",
    "MAX_OTHER_FACE_SHARE",
    "MAX_PITCH_DEG",
    "MAX_PITCH_DIFFERENCE_DEG",
    "MAX_ROLL_DEG",
    "MAX_SKIN_L",
    "MAX_TRANSPARENT_SHARE",
    "MAX_PALETTE_COLOURS",
    "MAX_YAW_DIFFERENCE_DEG",
    "MAX_YAW_FRONT_DEG",
    "MAX_YAW_OBLIQUE_ERROR_DEG",
    "MIN_EYE_ASPECT_RATIO",
    "MIN_INTEROCULAR_PX",
    "MIN_SHARPNESS",
    "MIN_SKIN_L",
    "MIN_TEXTURE_INTEROCULAR_PX",
    "MOUTH_CORNERS",
    "OBLIQUE_YAW_DEG",
    "PUPILS",
    "RIGHT_EYE",
    "add_body_checks",
    "body_baseline_checks",
    "body_pair_checks",
    "capture_date",
    "check_photo",
    "clipped_share",
    "evaluate_capture",
    "eye_aspect_ratio",
    "gamut_share",
    "glare_share",
    "light_features",
    "measure_capture",
    "mouth_open_ratio",
    "mouth_width_iod",
    "other_face_share",
    "sharpness",
    "shown",
]
