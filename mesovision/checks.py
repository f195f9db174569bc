"""Capture checks: is this photo usable for measurement, and if not, what to fix.

Run on import (``mesovision session add``) and on demand (``mesovision check PHOTO...``), while
the patient is still in the chair. Two steps:

1. :func:`measure_capture` measures a photo once (:class:`CaptureFeatures`: face size, head pose,
   eye and mouth opening, sharpness, lightness, clipping, glare). The features of a session's
   photo are stored with it and serve as the baseline of later sessions.
2. :func:`evaluate_capture` compares the features with the thresholds of :data:`CHECKS` (and,
   with a baseline, with the baseline's features). Each check is a dict ``{"name", "ok",
   "severity", "value", "threshold", "unit", "message"}``; ``severity`` is ``"fail"`` (the photo
   should be retaken: ``session add`` refuses it without ``--force``, ``check`` exits 6) or
   ``"warn"``; the message says what to fix in the practitioner's words.

Conventions. Sides are the patient's (:class:`mesovision.types.HeadPose`): yaw > 0 when the face
turns toward the patient's left (the image's right), pitch > 0 chin up, roll > 0 when the
patient's left eye is lower (clockwise on screen). Views: ``front`` expects yaw 0;
``left-45`` shows the patient's **left** cheek, so the face is turned toward the patient's
right: yaw ``-45``; ``right-45``: yaw ``+45``. ``body:<area>`` views have no face: only
sharpness, lightness, clipping and glare are checked, on the skin found by
:func:`mesovision.align.default_body_mask`, with a fifth of the skin area's longer side standing in
for the interocular distance (not validated on real body photos yet).

Measures:

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
  channel >= 254/255 or <= 1/255. **Glare**: share of the face skin in connected blobs (each at
  least ``GLARE_MIN_SIDE_IOD`` x IOD squared in area) that are brighter than the skin's median L*
  by ``GLARE_DL`` and less saturated than ``GLARE_CHROMA_SHARE`` x its median chroma.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from .align import THRESHOLDS
from .expression import (
    EXPRESSIONS,
    MAX_EXPRESSION_SCORE,
    NEUTRAL_CHECKED,
    expression_scores,
)
from .views import FACE_VIEWS, validate_view

log = logging.getLogger(__name__)

#: Face size: interocular distance in the working copy (px), as the alignment requires.
MIN_INTEROCULAR_PX = THRESHOLDS["min_interocular_px"]
#: Front view: largest |yaw| and |pitch| (deg).
MAX_YAW_FRONT_DEG = 10.0
MAX_PITCH_DEG = 12.0
#: Oblique views: expected |yaw| and the largest departure from it (deg).
OBLIQUE_YAW_DEG = 45.0
MAX_YAW_OBLIQUE_ERROR_DEG = 12.0
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
MIN_SHARPNESS = 10.0
MIN_SKIN_L = 25.0
MAX_SKIN_L = 85.0
CLIP_HIGH = 254 / 255
CLIP_LOW = 1 / 255
MAX_CLIPPED_SHARE = 0.10
GLARE_DL = 15.0
GLARE_CHROMA_SHARE = 0.5
GLARE_MIN_SIDE_IOD = 0.03
MAX_GLARE_SHARE = 0.01
MAX_YAW_DIFFERENCE_DEG = THRESHOLDS["max_yaw_difference_deg"]
MAX_PITCH_DIFFERENCE_DEG = THRESHOLDS["max_pitch_difference_deg"]

#: Every check: name -> (threshold, unit, what is checked). The README shows this table.
CHECKS: dict[str, tuple[float, str, str]] = {
    "face_found": (1, "faces", "a face is found (face views)"),
    "face_size": (MIN_INTEROCULAR_PX, "px", "interocular distance in the working copy >= this"),
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
        "skin pixels with a channel at 0-1 or 254-255 <= this",
    ),
    "glare": (MAX_GLARE_SHARE, "share", "skin covered by bright, desaturated blobs <= this"),
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
}

#: Checks whose failure makes a photo unusable (the others warn).
FAIL_CHECKS = frozenset(
    {
        "face_found",
        "face_size",
        "head_yaw",
        "head_pitch",
        "sharpness",
        "clipping",
        "glare",
        "yaw_vs_baseline",
        "pitch_vs_baseline",
    }
)

#: Mesh points (p1..p6) of each eye for the eye aspect ratio: outer corner, two upper-lid points,
#: inner corner, two lower-lid points (MediaPipe's ``RIGHT`` is the patient's right).
RIGHT_EYE = (33, 160, 158, 133, 153, 144)
LEFT_EYE = (362, 385, 387, 263, 373, 380)
MOUTH_CORNERS = (61, 291)
INNER_LIPS = (13, 14)
PUPILS = (468, 473)


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Mean eye aspect ratio of both eyes from ``(478, 2)`` mesh points (see module docstring)."""
    p = np.asarray(points, dtype=np.float64)

    def one(idx):
        p1, p2, p3, p4, p5, p6 = (p[i] for i in idx)
        width = np.linalg.norm(p1 - p4)
        return (np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2 * width)

    return float(0.5 * (one(RIGHT_EYE) + one(LEFT_EYE)))


def mouth_open_ratio(points: np.ndarray) -> float:
    """Inner-lip gap (points 13-14) over mouth width (61-291); about 0 for a closed mouth."""
    p = np.asarray(points, dtype=np.float64)
    gap = np.linalg.norm(p[INNER_LIPS[0]] - p[INNER_LIPS[1]])
    return float(gap / np.linalg.norm(p[MOUTH_CORNERS[0]] - p[MOUTH_CORNERS[1]]))


def mouth_width_iod(points: np.ndarray) -> float:
    """Mouth width (61-291) over the interocular distance (pupils 468-473)."""
    p = np.asarray(points, dtype=np.float64)
    iod = np.linalg.norm(p[PUPILS[0]] - p[PUPILS[1]])
    return float(np.linalg.norm(p[MOUTH_CORNERS[0]] - p[MOUTH_CORNERS[1]]) / iod)


def _crop(mask: np.ndarray, pad: int) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (
        slice(max(0, ys.min() - pad), min(h, ys.max() + pad + 1)),
        slice(max(0, xs.min() - pad), min(w, xs.max() + pad + 1)),
    )


def sharpness(rgb: np.ndarray, mask: np.ndarray, *, ref_px: float) -> float:
    """Variance of the 3x3 Laplacian of the grey image (0-255) over ``mask`` (eroded by 2 px),
    after resampling so that ``ref_px`` (the interocular distance) becomes :data:`BLUR_IOD_PX`.
    NaN for an empty mask."""
    import cv2

    if not mask.any():
        return float("nan")
    ys, xs = _crop(mask, int(ref_px))
    k = BLUR_IOD_PX / ref_px
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[ys, xs], np.float32), cv2.COLOR_RGB2GRAY) * 255
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC
    g = cv2.resize(grey, None, fx=k, fy=k, interpolation=interp)
    m = cv2.resize(mask[ys, xs].astype(np.uint8), (g.shape[1], g.shape[0]), cv2.INTER_NEAREST)
    m = cv2.erode(m, np.ones((5, 5), np.uint8)) > 0
    if not m.any():
        return float("nan")
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=1)
    return float(lap[m].var())


def clipped_share(rgb: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """``(share, high share)``: pixels of ``mask`` with any channel >= 254/255 or <= 1/255, and
    those with a channel >= 254/255 only."""
    px = rgb[mask]
    if px.size == 0:
        return float("nan"), float("nan")
    hi = (px >= CLIP_HIGH).any(axis=1)
    return float((hi | (px <= CLIP_LOW).any(axis=1)).mean()), float(hi.mean())


def glare_share(rgb: np.ndarray, mask: np.ndarray, *, ref_px: float) -> float:
    """Share of ``mask`` covered by specular glare (see the module docstring)."""
    import cv2

    from .color import rgb_to_lab

    if not mask.any():
        return float("nan")
    ys, xs = _crop(mask, 0)
    lab = rgb_to_lab(rgb[ys, xs])
    m = mask[ys, xs]
    light = lab[..., 0]
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    cand = (light >= np.median(light[m]) + GLARE_DL) & (
        chroma <= GLARE_CHROMA_SHARE * np.median(chroma[m])
    )
    cand &= m
    n, _, stats, _ = cv2.connectedComponentsWithStats(cand.astype(np.uint8), connectivity=8)
    min_area = (GLARE_MIN_SIDE_IOD * ref_px) ** 2
    area = sum(int(stats[i, cv2.CC_STAT_AREA]) for i in range(1, n) if stats[i, 4] >= min_area)
    return float(area / m.sum())


@dataclass(frozen=True)
class CaptureFeatures:
    """What :func:`measure_capture` measured on one photo (NaN / None where not applicable)."""

    view: str
    face_found: bool
    interocular_px: float | None = None
    yaw_deg: float | None = None
    pitch_deg: float | None = None
    roll_deg: float | None = None
    eye_aspect_ratio: float | None = None
    mouth_open_ratio: float | None = None
    mouth_width_iod: float | None = None
    expression: dict[str, float] | None = None
    sharpness: float | None = None
    skin_l_median: float | None = None
    clipped_share: float | None = None
    clipped_high_share: float | None = None
    glare_share: float | None = None

    def as_dict(self) -> dict:
        from .io import to_jsonable

        return to_jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> CaptureFeatures:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def measure_capture(rgb: np.ndarray, *, view: str = "front", landmarks=None, path=None):
    """Measure a photo's working copy (float RGB in [0, 1]) for the capture checks.

    ``landmarks`` (optional) saves a detection. A face view without a face gives
    ``face_found=False`` and no other measure.
    """
    from .errors import NoFace

    view = validate_view(view)
    if view not in FACE_VIEWS:
        from .align import default_body_mask

        skin, _ = default_body_mask(rgb)
        ys, xs = np.nonzero(skin)
        ref = 0.2 * max(np.ptp(xs) + 1, np.ptp(ys) + 1)
        return CaptureFeatures(view=view, face_found=False, **_image_measures(rgb, skin, ref))
    from .landmarks import detect_landmarks
    from .regions import region_masks

    if landmarks is None:
        try:
            landmarks = detect_landmarks(rgb, path=path)
        except NoFace:
            return CaptureFeatures(view=view, face_found=False)
    p = landmarks.points
    iod = landmarks.interocular_px
    skin = region_masks(landmarks, rgb.shape, rgb=rgb)["face"]
    return CaptureFeatures(
        view=view,
        face_found=True,
        interocular_px=iod,
        yaw_deg=landmarks.pose.yaw_deg,
        pitch_deg=landmarks.pose.pitch_deg,
        roll_deg=landmarks.pose.roll_deg,
        eye_aspect_ratio=eye_aspect_ratio(p),
        mouth_open_ratio=mouth_open_ratio(p),
        mouth_width_iod=mouth_width_iod(p),
        expression=expression_scores(landmarks.blendshapes),
        **_image_measures(rgb, skin, iod),
    )


def _image_measures(rgb: np.ndarray, skin: np.ndarray, ref_px: float) -> dict:
    from .color import rgb_to_lab

    clip, clip_hi = clipped_share(rgb, skin)
    light = float(np.median(rgb_to_lab(rgb[skin])[..., 0])) if skin.any() else float("nan")
    return {
        "sharpness": sharpness(rgb, skin, ref_px=ref_px),
        "skin_l_median": light,
        "clipped_share": clip,
        "clipped_high_share": clip_hi,
        "glare_share": glare_share(rgb, skin, ref_px=ref_px),
    }


def _check(name: str, ok: bool, value, message: str, *, threshold=None) -> dict:
    thr, unit, _ = CHECKS[name]
    return {
        "name": name,
        "ok": bool(ok),
        "severity": "fail" if name in FAIL_CHECKS else "warn",
        "value": value,
        "threshold": thr if threshold is None else threshold,
        "unit": unit,
        "message": "ok" if ok else message,
    }


def _side(deg: float) -> str:
    return "left" if deg > 0 else "right"


def evaluate_capture(f: CaptureFeatures, *, baseline: CaptureFeatures | None = None) -> list[dict]:
    """The capture checks of :data:`CHECKS` for the measured features ``f``; with ``baseline``
    (the features of the course's first photo of the same view) also the ``*_vs_baseline``
    ones."""
    out: list[dict] = []
    face_view = f.view in FACE_VIEWS
    if face_view:
        out.append(
            _check(
                "face_found",
                f.face_found,
                int(f.face_found),
                "no face found: frame the whole face, unobstructed",
            )
        )
        if not f.face_found:
            return out
        out += _face_checks(f)
    out += _image_checks(f)
    if baseline is not None and face_view and baseline.face_found:
        out += _baseline_checks(f, baseline)
    return out


def _face_checks(f: CaptureFeatures) -> list[dict]:
    out = []
    iod, lim = f.interocular_px, MIN_INTEROCULAR_PX
    out.append(
        _check(
            "face_size",
            iod >= lim,
            iod,
            f"move closer: the face is {iod:.0f} px between the eyes, minimum {lim:.0f}",
        )
    )
    target = {"front": 0.0, "left-45": -OBLIQUE_YAW_DEG, "right-45": OBLIQUE_YAW_DEG}[f.view]
    tol = MAX_YAW_FRONT_DEG if f.view == "front" else MAX_YAW_OBLIQUE_ERROR_DEG
    err = f.yaw_deg - target
    want = "" if f.view == "front" else f" (the {f.view} view needs yaw {target:+.0f}°)"
    out.append(
        _check(
            "head_yaw",
            abs(err) <= tol,
            f.yaw_deg,
            f"turn the head {abs(err):.0f}° to the patient's {_side(-err)}{want}",
            threshold=tol,
        )
    )
    out.append(
        _check(
            "head_pitch",
            abs(f.pitch_deg) <= MAX_PITCH_DEG,
            f.pitch_deg,
            f"{'lower' if f.pitch_deg > 0 else 'raise'} the chin by {abs(f.pitch_deg):.0f}°",
        )
    )
    r = f.roll_deg
    out.append(
        _check(
            "head_roll",
            abs(r) <= MAX_ROLL_DEG,
            r,
            f"level the head: it is tilted {abs(r):.0f}° toward the patient's {_side(r)} "
            "shoulder (or hold the camera level)",
        )
    )
    ear = f.eye_aspect_ratio
    out.append(
        _check(
            "eyes_open",
            ear >= MIN_EYE_ASPECT_RATIO,
            ear,
            f"open the eyes (eye aspect ratio {ear:.2f}, minimum {MIN_EYE_ASPECT_RATIO:.2f})",
        )
    )
    mar = f.mouth_open_ratio
    out.append(
        _check(
            "mouth_closed",
            mar <= MAX_MOUTH_OPEN_RATIO,
            mar,
            f"close the mouth / neutral expression (lips apart by {100 * mar:.0f} % of the "
            f"mouth's width, maximum {100 * MAX_MOUTH_OPEN_RATIO:.0f} %)",
        )
    )
    if f.expression is not None:
        shown = [k for k in NEUTRAL_CHECKED if f.expression[k] > MAX_EXPRESSION_SCORE]
        top = max(NEUTRAL_CHECKED, key=lambda k: f.expression[k])
        out.append(
            _check(
                "expression_neutral",
                not shown,
                f.expression[top],
                "ask for a neutral expression: "
                + ", ".join(f"{EXPRESSIONS[k].words} ({f.expression[k]:.2f})" for k in shown)
                + f" (maximum {MAX_EXPRESSION_SCORE:.2f})",
            )
        )
    return out


def _image_checks(f: CaptureFeatures) -> list[dict]:
    out = []
    s = f.sharpness
    out.append(
        _check(
            "sharpness",
            bool(s >= MIN_SHARPNESS),
            s,
            f"hold the camera still or focus: the image is blurred (sharpness {s:.1f}, "
            f"minimum {MIN_SHARPNESS:.0f})",
        )
    )
    L = f.skin_l_median
    ok = bool(MIN_SKIN_L <= L <= MAX_SKIN_L)
    what = "reduce the light" if L > MAX_SKIN_L else "add light"
    out.append(
        _check(
            "exposure",
            ok,
            L,
            f"{what}: the skin's median lightness is L* {L:.0f}, expected "
            f"{MIN_SKIN_L:.0f}-{MAX_SKIN_L:.0f}",
            threshold=MAX_SKIN_L if L > MAX_SKIN_L else MIN_SKIN_L,
        )
    )
    c, hi = f.clipped_share, f.clipped_high_share
    what = "reduce the light" if hi >= c - hi else "add light"
    out.append(
        _check(
            "clipping",
            bool(c <= MAX_CLIPPED_SHARE),
            c,
            f"{what}: {100 * c:.1f} % of the skin is clipped (maximum "
            f"{100 * MAX_CLIPPED_SHARE:.0f} %)",
        )
    )
    g = f.glare_share
    out.append(
        _check(
            "glare",
            bool(g <= MAX_GLARE_SHARE),
            g,
            f"avoid glare: shiny highlights cover {100 * g:.1f} % of the skin (maximum "
            f"{100 * MAX_GLARE_SHARE:.0f} %); diffuse the light or blot the skin",
        )
    )
    return out


def _baseline_checks(f: CaptureFeatures, b: CaptureFeatures) -> list[dict]:
    out = []
    # A blurred photo fails and is retaken: its expression scores are not read.
    sharp = bool(f.sharpness >= MIN_SHARPNESS)
    out += _expression_checks(f.expression if sharp else None, b.expression)
    dy = f.yaw_deg - b.yaw_deg
    out.append(
        _check(
            "yaw_vs_baseline",
            abs(dy) <= MAX_YAW_DIFFERENCE_DEG,
            dy,
            f"turn the head {abs(dy):.0f}° to the patient's {_side(-dy)} to match the baseline",
        )
    )
    dp = f.pitch_deg - b.pitch_deg
    out.append(
        _check(
            "pitch_vs_baseline",
            abs(dp) <= MAX_PITCH_DIFFERENCE_DEG,
            dp,
            f"{'lower' if dp > 0 else 'raise'} the chin by {abs(dp):.0f}° to match the baseline",
        )
    )
    return out


def _expression_checks(now: dict | None, base: dict | None) -> list[dict]:
    """The ``*_vs_baseline`` expression checks (:data:`EXPRESSION_CHECKS`): each reports the
    largest change of its expressions' scores; not assessed (ok, value ``None``) when either
    photo has no expression scores (a baseline stored before they were measured, or a photo that
    fails the sharpness check)."""
    out = []
    for name, exprs in EXPRESSION_CHECKS.items():
        if now is None or base is None:
            # Not assessed: a passing check with no value (a passing check's message is "ok").
            out.append(_check(name, True, None, ""))
            continue
        k = max(exprs, key=lambda e: abs(now[e] - base[e]))
        d = now[k] - base[k]
        out.append(
            _check(
                name,
                abs(d) <= EXPRESSIONS[k].max_change,
                d,
                f"expression as at baseline: {EXPRESSIONS[k].words} "
                f"{'more' if d > 0 else 'less'} ({now[k]:.2f} vs {base[k]:.2f} at baseline; "
                f"it moves the {', '.join(r for r in EXPRESSIONS[k].regions if r != 'face')})",
            )
        )
    return out


@dataclass(frozen=True)
class CaptureReport:
    """The checks of one photo file."""

    path: str
    sha256: str
    capture_date: str | None
    features: CaptureFeatures
    checks: list[dict]

    @property
    def failed(self) -> list[dict]:
        """The failed checks of severity ``fail``."""
        return [c for c in self.checks if not c["ok"] and c["severity"] == "fail"]

    @property
    def problems(self) -> list[dict]:
        """All failed checks (``fail`` and ``warn``)."""
        return [c for c in self.checks if not c["ok"]]

    def as_dict(self) -> dict:
        return {
            "file": self.path,
            "sha256": self.sha256,
            "capture_date": self.capture_date,
            "view": self.features.view,
            "ok": not self.failed,
            "checks": self.checks,
            "features": self.features.as_dict(),
        }


def capture_date(photo) -> str | None:
    """The EXIF capture date of a :class:`~mesovision.types.Photo` as ISO 8601, or None."""
    raw = photo.capture.datetime_original
    if not raw:
        return None
    import datetime

    try:
        return datetime.datetime.strptime(raw.strip()[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def check_photo(
    path: str,
    *,
    view: str = "front",
    baseline: CaptureFeatures | None = None,
    max_side: int = 2048,
) -> CaptureReport:
    """Load ``path`` (as :func:`mesovision.io.load_photo`, working copy of ``max_side``), measure
    it and run the checks (against ``baseline`` when given). Unreadable files raise the loader's
    errors."""
    from .io import load_photo

    photo = load_photo(path, max_side=max_side)
    f = measure_capture(photo.rgb, view=view, path=str(path))
    return CaptureReport(
        path=str(path),
        sha256=photo.sha256,
        capture_date=capture_date(photo),
        features=f,
        checks=evaluate_capture(f, baseline=baseline),
    )
