"""What a comparison says about a photo that the capture checks fault: the file's transparency,
its palette, a face enlarged from a smaller image (:mod:`mesovision.enlargement`) and other
faces of comparable size, in the words of the ``opaque``, ``palette``, ``enlarged`` and
``single_face`` checks
(:mod:`mesovision.checks`, which take their limits, measures and messages from here), so that
``compare`` and ``batch`` warn about such a photo as ``check`` does.

Also :func:`shown`, how every capture message prints a value checked against a limit.
"""

from __future__ import annotations

import logging

import numpy as np

from ..enlargement import ENLARGED_FACTOR

__all__ = [
    "MAX_OTHER_FACE_SHARE",
    "MAX_PALETTE_COLOURS",
    "MAX_TRANSPARENT_SHARE",
    "capture_warnings",
    "enlarged_message",
    "opaque_message",
    "other_face_note",
    "other_face_share",
    "shown",
    "single_face_message",
]

log = logging.getLogger(__name__)

#: Another face at most this share of the measured (largest) face's size: the square root of
#: the face meshes' bounding-box areas, the measure by which the largest face is kept
#: (:func:`mesovision.landmarks.detect_landmarks`). On the photos of ``../shared/faces``
#: (``faces.csv``): the 8 of the 15 group photos where the Face Landmarker finds two or more
#: faces have their second face at 0.81-0.99 of the largest's size (it finds no face in 6
#: others, which fail ``face_found``, and one of the six faces of the last, too small to pass
#: ``face_size``); none of the 83 photos of one person has another face. Half keeps a wide
#: margin on both sides. A face seen lying sideways or upside down (its eye line more than
#: :data:`mesovision.landmarks.UPRIGHT_LIMIT_DEG` from the rows, while the measured face is
#: upright) is not counted: the one extra mesh on a photo of one person (``fr_obama1.jpg``,
#: fitted to the windows behind him, 0.97 of his face's size) has its eye line at 85 deg.
MAX_OTHER_FACE_SHARE = 0.5
#: Largest share of the file's pixels that are not fully opaque (an alpha channel below its
#: maximum): any.
MAX_TRANSPARENT_SHARE = 0.0
#: Largest number of colours of a file's palette (a palette, indexed-colour, image): none, a
#: file of full colour (0).
MAX_PALETTE_COLOURS = 0


def shown(value: float, limit: float, digits: int = 0) -> str:
    """``value`` printed with ``digits`` decimals, or with more (up to 8 more) while it would
    print on the other side of ``limit`` or equal to it though it is not: a check decides on
    the measured value, so a value just over a maximum of 10 prints as "10.3", never "10"."""
    text = f"{value:.{digits}f}"
    if value == limit:
        return text
    for d in range(digits, digits + 9):
        text = f"{value:.{d}f}"
        if (float(text) > limit) == (value > limit) and float(text) != limit:
            break
    return text


def _percent(share: float, limit: float) -> str:
    return shown(100 * share, 100 * limit)


def opaque_message(share: float) -> str:
    """The ``opaque`` check's advice for a file with ``share`` of its pixels not fully opaque."""
    return (
        f"save the photo without transparency: {_percent(share, MAX_TRANSPARENT_SHARE)} % of its "
        "pixels are transparent or see-through (alpha channel), so a viewer shows it blank or "
        "faded while the colours under the transparency are measured"
    )


def enlarged_message(factor: float, interocular_px: float) -> str:
    """The ``enlarged`` check's advice for a face ``factor`` times enlarged from a smaller image
    (:mod:`mesovision.enlargement`), ``interocular_px`` between the eyes."""
    return (
        f"photo appears enlarged about {shown(factor, ENLARGED_FACTOR, 1)}x from a smaller "
        f"image; fine detail (texture, spots) is that of a face {interocular_px / factor:.0f} px "
        f"between the eyes (this one has {interocular_px:.0f}): use the camera's original file, "
        "not an enlarged copy, in sharp focus (a soft photo reads as enlarged too)"
    )


def palette_message(colours: int) -> str:
    """The ``palette`` check's advice for a palette image of ``colours`` colours.

    The colour families' verdict is not made ``limited`` for such a photo: it follows the
    pair's measured light mismatch on untreated skin, which carries the quantization. Each of
    82 single-face photos of ``../shared/faces`` compared with its own palette copy stayed
    comparable on 78 with an adaptive palette of 256 colours, and 60 of 81 with Pillow's web
    palette of 216 colours, dithered; the others were made limited or not comparable by that
    measure (``benchmarks/palette.py``; ``docs/clinic.md``, "Capture checks")."""
    return (
        f"use the photo in full colour (the camera's JPEG or HEIC, or an RGB PNG): this file is "
        f"a palette image, its colour quantized to {colours} colours: colour metrics (redness, "
        "pigmentation, bruises) read the palette's steps, which can look like a change of "
        "light or colour"
    )


def single_face_message(share: float, n_faces: int | None = None) -> str:
    """The ``single_face`` check's advice for another face ``share`` of the measured one's size,
    with the number of faces found (:func:`mesovision.landmarks.faces_found`) when given."""
    lim = MAX_OTHER_FACE_SHARE
    found = f"{n_faces} faces found" if n_faces else "several faces"
    return (
        f"{found}: crop the photo to the patient (another face is {_percent(share, lim)} % "
        f"of the size of the largest, the one measured; maximum {100 * lim:.0f} %)"
    )


def other_face_note(share: float, n_faces: int) -> str:
    """What a photo of ``n_faces`` faces whose others pass ``single_face`` (the largest other
    ``share`` of the measured one's size) is told: which face is measured, and why it passes."""
    lim = MAX_OTHER_FACE_SHARE
    other = "the other is" if n_faces == 2 else "the largest other is"
    return (
        f"{n_faces} faces found; the largest is used ({other} {_percent(share, lim)} % of its "
        f"size; the photo fails single_face above {100 * lim:.0f} %)"
    )


def _box_size(points: np.ndarray) -> float:
    """The square root of the bounding-box area of mesh ``points`` (px)."""
    span = np.ptp(np.asarray(points, dtype=np.float64), axis=0)
    return float(np.sqrt(span[0] * span[1]))


def other_face_share(landmarks) -> float:
    """The size of the largest other face in the photo over the size of the face of
    ``landmarks`` (each the square root of its mesh's bounding-box area); 0 without one.

    Other faces: those lying as the measured face lies, their eye lines (pupil 468 to 473)
    within :data:`mesovision.landmarks.UPRIGHT_LIMIT_DEG` of its eye line
    (:func:`mesovision.landmarks.faces_beside`); a mesh lying sideways or upside down beside an
    upright face was fitted to something that is not a face (:data:`MAX_OTHER_FACE_SHARE`)."""
    from ..landmarks import faces_beside

    size = _box_size(landmarks.points)
    return max([0.0, *(_box_size(other) / size for other in faces_beside(landmarks))])


def _warnings(photo, landmarks) -> list[str]:
    out = []
    t = photo.transparent_share
    if t is not None and t > MAX_TRANSPARENT_SHARE:
        out.append(opaque_message(t))
    n = photo.palette_colours
    if n is not None and n > MAX_PALETTE_COLOURS:
        out.append(palette_message(n))
    if landmarks is not None and (photo.enlargement or 0.0) >= ENLARGED_FACTOR:
        out.append(enlarged_message(photo.enlargement, landmarks.interocular_px))
    if landmarks is not None and landmarks.n_faces > 1:
        from ..landmarks import faces_found

        s = other_face_share(landmarks)
        if s > MAX_OTHER_FACE_SHARE:
            out.append(single_face_message(s, faces_found(landmarks)))
    return out


def capture_warnings(photos, landmarks, names) -> list[str]:
    """The warnings that the ``opaque``, ``palette``, ``enlarged`` and ``single_face`` checks
    would give, in their words, about compared ``photos`` (:class:`~mesovision.types.Photo`),
    with their face
    meshes (``landmarks``; None outside face mode) and ``names`` (how messages name them):
    logged, and returned (each line starting with the photo's name) to be recorded."""
    out = []
    for photo, lm, name in zip(photos, landmarks, names, strict=True):
        for w in _warnings(photo, lm):
            log.warning("%s: %s", name, w)
            out.append(f"{name}: {w}")
    return out
