"""Judging measured features: the checks of one photo, alone and against the course's baseline.

:func:`evaluate_capture` turns :class:`~mesovision.checks.measures.CaptureFeatures` into check
dicts ``{"name", "ok", "severity", "value", "threshold", "unit", "message"}``: the file's
transparency and palette, the face checks (found, alone, size, enlargement, pose, eyes, mouth,
expression), the image checks (colour, sharpness, exposure, clipping, glare) and, with a
baseline, the pose and expression changes since it. ``severity`` is ``"fail"`` for
:data:`~mesovision.checks.thresholds.FAIL_CHECKS`, else ``"warn"``; the message says what to fix
in the practitioner's words. Body views get the light's check against the
baseline (:mod:`mesovision.checks.body`).
"""

from __future__ import annotations

from ..align.capture import (
    enlarged_message,
    opaque_message,
    palette_message,
    single_face_message,
)
from ..comparability import SCORE_IOD_SHARE
from ..expression import EXPRESSIONS, MAX_EXPRESSION_SCORE, NEUTRAL_CHECKED
from ..views import FACE_VIEWS
from .body import body_baseline_checks, body_photo_checks
from .measures import CaptureFeatures
from .thresholds import (
    BLUR_IOD_PX,
    CHECKS,
    ENLARGED_FACTOR,
    EXPRESSION_CHECKS,
    FAIL_CHECKS,
    MAX_CLIPPED_SHARE,
    MAX_GAMUT_SHARE,
    MAX_GLARE_SHARE,
    MAX_MOUTH_OPEN_RATIO,
    MAX_OTHER_FACE_SHARE,
    MAX_PALETTE_COLOURS,
    MAX_PITCH_DEG,
    MAX_PITCH_DIFFERENCE_DEG,
    MAX_POSE_FOR_SWELLING_DEG,
    MAX_ROLL_DEG,
    MAX_SKIN_L,
    MAX_TRANSPARENT_SHARE,
    MAX_YAW_DIFFERENCE_DEG,
    MAX_YAW_FRONT_DEG,
    MAX_YAW_OBLIQUE_ERROR_DEG,
    MIN_CHROMA,
    MIN_EYE_ASPECT_RATIO,
    MIN_INTEROCULAR_PX,
    MIN_SHARPNESS,
    MIN_SKIN_L,
    MIN_TEXTURE_INTEROCULAR_PX,
    OBLIQUE_YAW_DEG,
    SMALL_FILE_SIDE,
    shown,
)

__all__ = [
    "evaluate_capture",
]


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


def _turn_head(err: float, limit: float, digits: int = 0) -> str:
    """What to do about a yaw ``err`` (degrees) too far to one side (beyond ``limit``)."""
    return f"turn the head {shown(abs(err), limit, digits)}° to the patient's {_side(-err)}"


def _move_chin(err: float, limit: float, digits: int = 0) -> str:
    """What to do about a pitch ``err`` (degrees) beyond ``limit``: positive lowers the chin."""
    return f"{'lower' if err > 0 else 'raise'} the chin by {shown(abs(err), limit, digits)}°"


def _percent(share: float, limit: float, digits: int = 0) -> str:
    """A ``share`` checked against ``limit`` (a share), as a percentage (:func:`shown`)."""
    return shown(100 * share, 100 * limit, digits)


def evaluate_capture(f: CaptureFeatures, *, baseline: CaptureFeatures | None = None) -> list[dict]:
    """The capture checks of :data:`CHECKS` for the measured features ``f``; with ``baseline``
    (the features of the course's first photo of the same view) also the ``*_vs_baseline``
    ones."""
    from ..landmarks import NO_FACE_HINT

    out = _opaque_check(f) + _palette_check(f)
    face_view = f.view in FACE_VIEWS
    if face_view:
        # the words of a comparison's refusal ("no face found (hint)"), then the framing
        no_face = f"no face found ({NO_FACE_HINT}); frame the whole face, unobstructed"
        found = int(f.face_found) if f.faces_found is None else f.faces_found
        out.append(_check("face_found", f.face_found, found, no_face))
        if not f.face_found:
            return out
        out += _single_face_check(f)
        out += _face_checks(f)
    if f.view.startswith("body:"):  # a portrait filed as a body view
        out += body_photo_checks(f)
    out += _image_checks(f)
    if baseline is not None and face_view and baseline.face_found:
        out += _baseline_checks(f, baseline)
    if baseline is not None and f.view.startswith("body:"):  # the raking light of cellulite
        out += body_baseline_checks(f, baseline)
    return out


def _opaque_check(f: CaptureFeatures) -> list[dict]:
    """The file has no transparency (no check for features stored without it): its alpha is
    dropped when it is loaded, so the pixels measured are not those a viewer shows."""
    t = f.transparent_share
    if t is None:
        return []
    return [_check("opaque", t <= MAX_TRANSPARENT_SHARE, t, opaque_message(t))]


def _palette_check(f: CaptureFeatures) -> list[dict]:
    """The file is not a palette image (no check for features stored without the measure): its
    colours are quantized to the palette's, which limits colour metrics."""
    n = f.palette_colours
    if n is None:
        return []
    return [_check("palette", n <= MAX_PALETTE_COLOURS, n, palette_message(n))]


def _single_face_check(f: CaptureFeatures) -> list[dict]:
    """No other face of comparable size (no check for features stored without the measure):
    the largest face is measured, and another one nearly as large could be taken for it."""
    s = f.other_face_share
    if s is None:
        return []
    message = single_face_message(s, f.faces_found)
    return [_check("single_face", s <= MAX_OTHER_FACE_SHARE, s, message)]


def _orientation_check(f: CaptureFeatures) -> dict:
    from ..landmarks import turned_note

    k = f.quarter_turns
    advice = f"{turned_note(k)}; save the photo upright, or leave it" if k else ""
    return _check("orientation", k == 0, k, advice)


def _small_copy(f: CaptureFeatures, needed_px: float) -> str | None:
    """What makes the photo's face small, beyond the distance: ``"max_side"`` when the working
    copy is reduced below the default's size (:data:`SMALL_FILE_SIDE`, 2048 px: a smaller
    ``--max-side``) from a file where the face has ``needed_px`` between the eyes, ``"file"``
    when the file itself is small, else ``None`` (also for features stored without their
    sizes). In a working copy of the default size a face too small is too far away."""
    if f.file_size is None or f.working_size is None:
        return None
    file_side, work_side = max(f.file_size), max(f.working_size)
    reduced = work_side < min(file_side, SMALL_FILE_SIDE)
    if reduced and (f.interocular_px or 0.0) * file_side / work_side >= needed_px:
        return "max_side"
    return "file" if file_side < SMALL_FILE_SIDE else None


def _px(size) -> str:
    return f"{size[0]} x {size[1]} px"


def _in_file(f: CaptureFeatures) -> str:
    """The face's interocular distance in the file's pixels (the working copy reduced it)."""
    return f"{f.interocular_px * max(f.file_size) / max(f.working_size):.0f}"


def _full_resolution(f: CaptureFeatures) -> str:
    return f", or use the camera's full-resolution file (this one is {_px(f.file_size)})"


def _size_message(f: CaptureFeatures, lim: float) -> str:
    """The ``face_size`` advice for a face ``f.interocular_px`` between the eyes, under ``lim``:
    move closer, unless the working copy (raise ``--max-side``) or the file (use the camera's
    full-resolution file) is the cause."""
    iod = f.interocular_px
    cause = _small_copy(f, lim)
    if cause == "max_side":
        return (
            f"raise --max-side: the face is {shown(iod, lim)} px between the eyes in the working "
            f"copy ({_px(f.working_size)}), {_in_file(f)} px in the file ({_px(f.file_size)}); "
            f"minimum {lim:.0f}"
        )
    full = _full_resolution(f) if cause == "file" else ""
    return (
        f"move closer{full}: the face is {shown(iod, lim)} px between the eyes, minimum {lim:.0f}"
    )


def _texture_message(f: CaptureFeatures, tex: float) -> str:
    """The ``face_size_texture`` advice (as :func:`_size_message` for ``face_size``)."""
    iod = f.interocular_px
    why = (
        f"pores, fine lines and roughness are compared in full from {tex:.0f} px between the eyes "
        f"in the photo ({tex * SCORE_IOD_SHARE:.0f} as scored), this face has {shown(iod, tex)}"
    )
    cause = _small_copy(f, tex)
    if cause == "max_side":
        return (
            f"raise --max-side for texture: {why} in the working copy ({_px(f.working_size)}), "
            f"{_in_file(f)} in the file ({_px(f.file_size)})"
        )
    full = _full_resolution(f) if cause == "file" else ""
    return f"move closer for texture{full}: {why}"


def _size_checks(f: CaptureFeatures) -> list[dict]:
    """The face's size in the working copy (px between the eyes): enough to align it, and
    enough to compare its texture in full. The advice names the working copy's size
    (``--max-side``) or the file's when either, not the distance, is the cause."""
    iod = f.interocular_px
    lim, tex = MIN_INTEROCULAR_PX, MIN_TEXTURE_INTEROCULAR_PX
    return [
        _check("face_size", iod >= lim, iod, _size_message(f, lim)),
        _check("face_size_texture", iod >= tex, iod, _texture_message(f, tex)),
    ]


def _enlarged_check(f: CaptureFeatures) -> list[dict]:
    """The face is not a small image enlarged (no check for features stored without the
    measure, or a face too small to measure): its fine detail would be that of the small
    image, whatever its size in pixels (a blurred face reads as enlarged too)."""
    k = f.enlargement
    if k is None or k != k:
        return []
    message = enlarged_message(k, f.interocular_px)
    return [_check("enlarged", k < ENLARGED_FACTOR, k, message)]


def _face_checks(f: CaptureFeatures) -> list[dict]:
    out = [_orientation_check(f), *_size_checks(f), *_enlarged_check(f)]
    target = {"front": 0.0, "left-45": -OBLIQUE_YAW_DEG, "right-45": OBLIQUE_YAW_DEG}[f.view]
    tol = MAX_YAW_FRONT_DEG if f.view == "front" else MAX_YAW_OBLIQUE_ERROR_DEG
    err = f.yaw_deg - target
    want = "" if f.view == "front" else f" (the {f.view} view needs yaw {target:+.0f}°)"
    out.append(
        _check(
            "head_yaw",
            abs(err) <= tol,
            f.yaw_deg,
            f"{_turn_head(err, tol)}{want}",
            threshold=tol,
        )
    )
    out.append(
        _check(
            "head_pitch",
            abs(f.pitch_deg) <= MAX_PITCH_DEG,
            f.pitch_deg,
            _move_chin(f.pitch_deg, MAX_PITCH_DEG),
        )
    )
    r = f.roll_deg
    out.append(
        _check(
            "head_roll",
            abs(r) <= MAX_ROLL_DEG,
            r,
            f"level the head: it is tilted {shown(abs(r), MAX_ROLL_DEG)}° toward the patient's "
            f"{_side(r)} shoulder (or hold the camera level)",
        )
    )
    ear = f.eye_aspect_ratio
    out.append(
        _check(
            "eyes_open",
            ear >= MIN_EYE_ASPECT_RATIO,
            ear,
            f"open the eyes (eye aspect ratio {shown(ear, MIN_EYE_ASPECT_RATIO, 2)}, minimum "
            f"{MIN_EYE_ASPECT_RATIO:.2f})",
        )
    )
    mar = f.mouth_open_ratio
    out.append(
        _check(
            "mouth_closed",
            mar <= MAX_MOUTH_OPEN_RATIO,
            mar,
            f"close the mouth / neutral expression (lips apart by "
            f"{_percent(mar, MAX_MOUTH_OPEN_RATIO)} % of the mouth's width, maximum "
            f"{100 * MAX_MOUTH_OPEN_RATIO:.0f} %)",
        )
    )
    if f.expression is not None:
        visible = [k for k in NEUTRAL_CHECKED if f.expression[k] > MAX_EXPRESSION_SCORE]
        top = max(NEUTRAL_CHECKED, key=lambda k: f.expression[k])
        out.append(
            _check(
                "expression_neutral",
                not visible,
                f.expression[top],
                "ask for a neutral expression: "
                + ", ".join(
                    f"{EXPRESSIONS[k].words} ({shown(f.expression[k], MAX_EXPRESSION_SCORE, 2)})"
                    for k in visible
                )
                + f" (maximum {MAX_EXPRESSION_SCORE:.2f})",
            )
        )
    return out


def _colour_check(f: CaptureFeatures) -> list[dict]:
    """The photo has colour (no check for features stored without their chroma)."""
    c = f.chroma_p99
    if c is None:
        return []
    message = (
        f"retake in colour: the photo has no colour (grayscale; chroma {shown(c, MIN_CHROMA, 1)}, "
        f"a photo in colour has more than {MIN_CHROMA:g}): redness, pigmentation and bruises "
        "cannot be compared"
    )
    return [_check("colour", bool(c > MIN_CHROMA), c, message)]


def _image_checks(f: CaptureFeatures) -> list[dict]:
    out = _colour_check(f)
    s = f.sharpness
    out.append(_check("sharpness", bool(s >= MIN_SHARPNESS), s, _sharpness_message(f)))
    L = f.skin_l_median
    ok = bool(MIN_SKIN_L <= L <= MAX_SKIN_L)
    what = "reduce the light" if L > MAX_SKIN_L else "add light"
    lim = MAX_SKIN_L if L > MAX_SKIN_L else MIN_SKIN_L
    out.append(
        _check(
            "exposure",
            ok,
            L,
            f"{what}: the skin's median lightness is L* {shown(L, lim)}, expected "
            f"{MIN_SKIN_L:.0f}-{MAX_SKIN_L:.0f}",
            threshold=lim,
        )
    )
    c, hi = f.clipped_share, f.clipped_high_share
    what = "reduce the light" if hi >= c - hi else "add light"
    out.append(
        _check(
            "clipping",
            bool(c <= MAX_CLIPPED_SHARE),
            c,
            f"{what}: {_percent(c, MAX_CLIPPED_SHARE, 1)} % of the skin is clipped (maximum "
            f"{100 * MAX_CLIPPED_SHARE:.0f} %)",
        )
    )
    out += _gamut_check(f)
    g = f.glare_share
    out.append(
        _check(
            "glare",
            bool(g <= MAX_GLARE_SHARE),
            g,
            f"avoid glare: shiny highlights cover {_percent(g, MAX_GLARE_SHARE, 1)} % of the skin "
            f"(maximum {100 * MAX_GLARE_SHARE:.0f} %); diffuse the light or blot the skin",
        )
    )
    return out


def _gamut_check(f: CaptureFeatures) -> list[dict]:
    """The face skin outside sRGB in the file's profile (no check for features stored without
    the measure): its colours are clipped to sRGB's edge by the conversion, which is no
    over-exposure (those pixels are not counted by ``clipping``)."""
    s = f.gamut_share
    if s is None:
        return []
    message = (
        f"{_percent(s, MAX_GAMUT_SHARE, 1)} % of the face's pixels are outside sRGB after the "
        f"colour-profile conversion (maximum {100 * MAX_GAMUT_SHARE:.0f} %): their colours are "
        "clipped to sRGB's and read less saturated than they are; not an exposure problem"
    )
    return [_check("gamut", bool(s <= MAX_GAMUT_SHARE), s, message)]


def _sharpness_message(f: CaptureFeatures) -> str:
    """The advice for a blurred photo: hold the camera still or focus, and, when the face has
    fewer than :data:`BLUR_IOD_PX` px between the eyes (the sharpness is measured at that
    scale: a smaller face is enlarged to it), raise ``--max-side`` or use the camera's
    full-resolution file when the working copy or the file is small."""
    s, iod = f.sharpness, f.interocular_px
    blurred = (
        f"the image is blurred (sharpness {shown(s, MIN_SHARPNESS, 1)}, minimum "
        f"{MIN_SHARPNESS:.0f})"
    )
    cause = None
    if iod is None:  # a body view: only a small file is told apart
        cause = "file" if _small_copy(f, float("inf")) == "file" else None
    elif iod < BLUR_IOD_PX:  # enlarged to be measured: a working copy reduced by --max-side
        cause = _small_copy(f, 0.0)
    if cause == "max_side":
        return (
            f"raise --max-side, or hold the camera still or focus: {blurred} in the working copy "
            f"({_px(f.working_size)}; the file is {_px(f.file_size)})"
        )
    if cause == "file":
        return f"hold the camera still or focus{_full_resolution(f)}: {blurred}"
    return f"hold the camera still or focus: {blurred}"


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
            f"{_turn_head(dy, MAX_YAW_DIFFERENCE_DEG)} to match the baseline",
        )
    )
    dp = f.pitch_deg - b.pitch_deg
    out.append(
        _check(
            "pitch_vs_baseline",
            abs(dp) <= MAX_PITCH_DIFFERENCE_DEG,
            dp,
            f"{_move_chin(dp, MAX_PITCH_DIFFERENCE_DEG)} to match the baseline",
        )
    )
    # Not assessed on a blurred photo (ok, value None): its pose moves by degrees, and it is
    # retaken anyway.
    out.append(
        _swelling_pose_check(dy, dp) if sharp else _check("pose_for_swelling", True, None, "")
    )
    return out


def _swelling_pose_check(dy: float, dp: float) -> dict:
    """``pose_for_swelling``: a head turned by more than the ``geometry`` verdict's limit from
    the baseline's pose leaves swelling uncompared (a warning: the other measures hold)."""
    lim = MAX_POSE_FOR_SWELLING_DEG
    fix = _turn_head(dy, lim, 1) if abs(dy) >= abs(dp) else _move_chin(dp, lim, 1)
    worst = max(abs(dy), abs(dp))
    return _check(
        "pose_for_swelling",
        worst <= MAX_POSE_FOR_SWELLING_DEG,
        worst,
        f"to follow swelling, {fix}: a head turned from the baseline's pose moves the face's "
        f"outline (swelling is compared within {MAX_POSE_FOR_SWELLING_DEG:g}°)",
    )


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
