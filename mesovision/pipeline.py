"""The align stage as one library call: two files in, an :class:`AlignedPair` out (the record
is defined in :mod:`mesovision.aligned_pair`).

Used by the CLI's ``align`` and ``compare`` commands and by the batch runner; the CLI only parses
arguments and writes what this returns.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

import cv2
import numpy as np

from .align import (
    align_body,
    align_faces,
    check_alignment,
    check_capture,
    valid_mask,
)
from .align.capture import capture_warnings
from .aligned_pair import AlignedPair
from .errors import UsageError
from .provenance import FACE_MODEL_NOTE, provenance
from .types import Alignment, Landmarks, Photo

__all__ = [
    "FACE_MODEL_NOTE",
    "HAIR_MODES",
    "MODES",
    "SCHEMA_VERSION",
    "AlignedPair",
    "align_pair",
    "alignment_record",
    "checkerboard",
    "expression_record",
    "load_mask",
    "photo_record",
    "provenance",
]

log = logging.getLogger(__name__)

#: Capture modes: ``face`` aligns on the face mesh; the others on image features. ``body``
#: measures the detected skin; ``scalp`` (crown, part-line views) and ``trichoscopy``
#: (close-ups with a scale) measure the whole photo (or the mask) and score the hair family
#: (:func:`mesovision.metrics.metrics_for_mode`).
MODES = ("face", "body", "scalp", "trichoscopy")
#: The modes whose photos show hair on scalp rather than skin.
HAIR_MODES = ("scalp", "trichoscopy")
SCHEMA_VERSION = "1.0"


def load_mask(path: str | np.ndarray, shape: tuple[int, int], photo: Photo) -> np.ndarray:
    """A user mask file (any image; non-zero = measured) or a ``(row, col)`` array (the Python
    API's), drawn on the before photo as its file shows it: turned as the photo was turned
    upright (``Photo.quarter_turns``) and resized to the working frame."""
    if isinstance(path, np.ndarray):
        size, g, path = (path.shape[1], path.shape[0]), (path > 0).astype(np.float32), "mask"
    else:
        from .io import load_photo

        m = load_photo(path, max_side=None)
        size, g = m.size, m.rgb.max(axis=2)
    w, h = photo.original_size
    shown = (h, w) if photo.quarter_turns % 2 else (w, h)  # the file's size before the turns
    if size != shown:
        msg = f"mask is {size[0]}x{size[1]} px but the before photo is {shown[0]}x{shown[1]}"
        raise UsageError(msg, path=path)
    g = np.ascontiguousarray(np.rot90(g, photo.quarter_turns))
    g = cv2.resize(g, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    mask = g > 0.5
    if not mask.any():
        raise UsageError("mask is empty (no non-zero pixel): nothing to measure", path=path)
    return mask


def align_pair(
    before_path: str | os.PathLike[str] | Photo,
    after_path: str | os.PathLike[str] | Photo,
    *,
    mode: str = "face",
    refine: str = "ecc",
    model: str = "similarity",
    mask_path: str | np.ndarray | None = None,
    max_side: int = 2048,
    force: bool = False,
    threads: int | None = None,
) -> AlignedPair:
    """Load both photos, find faces (face mode), align after onto before and resample it; the
    other modes check the identity where both photos show a face (:func:`_align_body`).

    ``before_path`` and ``after_path`` are image files (loaded with ``max_side``) or
    :class:`~mesovision.types.Photo` objects, used as they are (their working copies are not
    resampled); errors and warnings name a photo by its ``path``, else ``"before"`` or
    ``"after"``.
    ``threads``: the two photos are prepared (loaded, face mesh found, the before photo's region
    masks drawn) side by side on this many threads (default: see :mod:`mesovision._threads`);
    JPEG pixels decode side by side, other formats take turns
    (:func:`~mesovision.io.load_photo`), and the face mesh runs one photo at a time. Errors come
    as the sequential order gives them: the before photo's first.

    Raises the package's specific errors (unreadable file, no face, face too small, head turned
    too far, another person, ...) unless ``force`` turns a threshold refusal into a warning.
    """
    from ._threads import run as run_threads

    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    names = (_label(before_path, "before"), _label(after_path, "after"))
    # The after photo's own region masks are drawn only if asked for (AlignedPair.after_regions).
    (before, lb, regions), (after, la, _) = run_threads(
        threads,
        lambda: _prepare(before_path, names[0], mode=mode, max_side=max_side, regions=True),
        lambda: _prepare(after_path, names[1], mode=mode, max_side=max_side, regions=False),
    )
    settings = dict(
        mode=mode, refine=refine, model=model, max_side=max_side, force=force, mask=mask_path
    )
    identity_note = None  # why a feature-aligned pair's identity was not checked
    if mode == "face":
        faces = (lb, la, regions["face"])
        al, measured, identity, warnings, forced = _align_faces(
            before, after, faces, names, model, refine, mask_path, force, threads
        )
    else:
        al, measured, identity, identity_note, warnings = _align_body(
            before, after, names, refine, mask_path, mode, force, threads
        )
        regions, forced = {"area": measured}, []
    if identity and identity.get("passed") is False:  # another person, let through by force
        forced.append(f"{names[1]}: {identity['note']}")
        warnings.append(forced[-1])
    # Thresholds first: a refused pair prints its one error line and no warnings before it.
    refused = check_alignment(al, path=names[1], force=force)
    for w in al.warnings:
        log.warning("%s: %s", names[1], w)
    warnings += [*capture_warnings((before, after), (lb, la), names), *al.warnings, *refused]
    forced += [f"{names[1]}: {r}" for r in refused]
    valid = valid_mask(
        al.matrix, al.flow, (after.rgb.shape[1], after.rgb.shape[0]), before.rgb.shape
    )
    return AlignedPair(
        before=before,
        after=after,
        alignment=al,
        valid=valid,
        measured=measured,
        before_landmarks=lb,
        after_landmarks=la,
        regions=regions,
        warnings=tuple(warnings),
        settings=settings,
        identity=identity,
        identity_note=identity_note,
        forced=tuple(forced),
    )


def _prepare(
    source: str | os.PathLike[str] | Photo, name: str, *, mode: str, max_side: int, regions: bool
) -> tuple[Photo, Landmarks | None, dict[str, np.ndarray]]:
    """One photo of a pair: loaded (unless given as a :class:`Photo`), its face mesh (face
    mode) and, if ``regions``, its region masks."""
    from .io import load_photo
    from .io.limits import check_compare_memory

    photo = source if isinstance(source, Photo) else load_photo(source, max_side=max_side)
    check_compare_memory(photo.size, photo.original_size, max_side, name)  # too large a pair
    if mode != "face":
        return photo, None, {}
    from .enlargement import enlargement_factor
    from .landmarks import detect_landmarks_upright, turned_note
    from .regions import region_masks

    k, _, lm = detect_landmarks_upright(photo.rgb, path=name)
    if k:  # the face lies sideways: its orientation tag is missing or wrong
        photo = photo.turned(k)
        log.warning("%s: %s", name, turned_note(k))
    photo = replace(photo, enlargement=enlargement_factor(photo.rgb, lm.points, lm.interocular_px))
    return photo, lm, region_masks(lm, photo.rgb.shape, rgb=photo.rgb) if regions else {}


def _align_faces(
    before: Photo,
    after: Photo,
    faces: tuple[Landmarks, Landmarks, np.ndarray],
    names: tuple[str, str],
    model: str,
    refine: str,
    mask_path: str | np.ndarray | None,
    force: bool,
    threads: int | None,
) -> tuple[Alignment, np.ndarray, dict[str, str | float | bool | None], list[str], list[str]]:
    """Face mode: the capture checks, then the identity check and the alignment side by side.
    ``faces`` is both photos' landmarks and the before photo's face mask. Returns the
    alignment, the measured area (the face, within the user's mask), the identity record, the
    warnings and the capture refusals that ``force`` overrode."""
    from ._threads import run as run_threads
    from .identity import check_identity
    from .landmarks import turned_note

    lb, la, face = faces
    warnings: list[str] = []
    capture: list[str] = []
    for lm, p, photo in ((lb, names[0], before), (la, names[1], after)):
        if photo.quarter_turns:
            warnings.append(f"{p}: {turned_note(photo.quarter_turns)}")
        if lm.n_faces > 1:
            warnings.append(f"{p}: {lm.n_faces} faces found; the largest is used")
        capture += [f"{p}: {m}" for m in check_capture(lm, path=p, force=force)]
    warnings += capture
    measured = face
    if mask_path is not None:
        measured = measured & load_mask(mask_path, measured.shape, before)

    # The identity descriptors (about 15 ms per photo) and the alignment run side by side;
    # an identity refusal is raised first, as if they had run in that order.
    def identity_check():
        return check_identity(before.rgb, lb, after.rgb, la, path=names[1], force=force)

    def alignment():
        return align_faces(
            before.rgb,
            after.rgb,
            lb,
            la,
            face_mask=measured,
            model=model,
            refine=refine,
            before=before,
            after=after,
        )

    ident, al = run_threads(threads, identity_check, alignment)
    return al, measured, ident.as_dict(), warnings, capture


def _align_body(
    before: Photo,
    after: Photo,
    names: tuple[str, str],
    refine: str,
    mask_path: str | np.ndarray | None,
    mode: str,
    force: bool,
    threads: int | None,
) -> tuple[Alignment, np.ndarray, dict | None, str | None, list[str]]:
    """Body and hair modes: the measured area (the user's mask, else the detected skin in body
    mode and the whole photo in the hair modes), then the identity check (where both photos
    show a face, :func:`mesovision.identity.check_identity_if_faces`) and the feature alignment
    side by side. Returns the alignment, the measured area, the identity record (``None``
    when a photo shows no face), the note saying which photo showed none, and the warnings."""
    from ._threads import run as run_threads
    from .identity import check_identity_if_faces

    warnings: list[str] = []
    if mask_path is not None:
        measured = load_mask(mask_path, before.rgb.shape[:2], before)
    elif mode in HAIR_MODES:
        measured = np.ones(before.rgb.shape[:2], bool)
    else:
        from .align import default_body_mask

        measured, note = default_body_mask(before.rgb)
        if note:
            log.warning("%s: %s", names[0], note)
            warnings.append(f"{names[0]}: {note}")

    # As in face mode, an identity refusal is raised first, as if they had run in that order.
    def identity_check():
        return check_identity_if_faces(before.rgb, after.rgb, names=names, force=force)

    def alignment():
        return align_body(
            before.rgb,
            after.rgb,
            mask=measured,
            refine=refine != "none",
            before=before,
            after=after,
            path=names[1],
        )

    def faces():  # a portrait given to the body or trichoscopy mode (scalp: add_hairline)
        from .align import face_fill_warning

        photos = zip((before.rgb, after.rgb), names, strict=True)
        return None if mode == "scalp" else face_fill_warning(photos, mode)

    (ident, no_face), al, filled = run_threads(threads, identity_check, alignment, faces)
    if no_face:  # a note, not a warning: a thigh or a crown view shows no face
        log.info("%s", no_face)
    if mode == "scalp" and ident is not None and mask_path is None:
        measured, al, note = frontal_overlap(before, after, measured, al, names[1])
        warnings += [note] if note else []
    if filled:
        log.warning("%s", filled)
        warnings.append(filled)
    return al, measured, None if ident is None else ident.as_dict(), no_face, warnings


#: The least share of the before photo that the after photo of a frontal-hairline view (both
#: photos show a face, scalp mode) must cover: a retake up to about 1.4 times closer. Below it the
#: coverage limit refuses as for any pair.
FRONTAL_MIN_COVERAGE = 0.5


def frontal_overlap(
    before: Photo, after: Photo, measured: np.ndarray, al: Alignment, name: str
) -> tuple[np.ndarray, Alignment, str | None]:
    """A scalp-mode pair whose photos both show a face (a frontal-hairline view) that the after
    photo covers less than ``min_coverage`` of, but at least :data:`FRONTAL_MIN_COVERAGE`:
    ``(measured, al, note)`` with the measured area cut to the part both photos show and the
    coverage limit lowered to :data:`FRONTAL_MIN_COVERAGE` (the coverage recorded stays the
    share of the before photo covered), so that a retake from a little closer is compared. The
    frontal hairline is measured in each photo's own frame (the alignment does not enter it),
    and the scalp's area measures then read the same skin in both photos. The note (a warning)
    gives the share. Other pairs come back unchanged, with no note."""
    thresholds = dict(al.thresholds or {})
    if not FRONTAL_MIN_COVERAGE <= al.coverage < thresholds.get("min_coverage", 0.0):
        return measured, al, None
    size = (after.rgb.shape[1], after.rgb.shape[0])
    overlap = measured & valid_mask(al.matrix, al.flow, size, before.rgb.shape)
    note = (
        f"{name}: covers {100 * al.coverage:.0f} % of the before photo (a frontal-hairline "
        "view: the hairline is measured in each photo's own frame, the scalp where both photos "
        "show it)"
    )
    log.warning("%s", note)
    thresholds["min_coverage"] = FRONTAL_MIN_COVERAGE
    return overlap, replace(al, thresholds=thresholds), note


def _label(source: str | os.PathLike[str] | Photo, default: str) -> str:
    """How errors and warnings name a photo given as a file or as a :class:`Photo`."""
    if isinstance(source, Photo):
        return source.path or default
    return os.fspath(source)


def checkerboard(a: np.ndarray, b: np.ndarray, *, tile_px: int) -> np.ndarray:
    """Alternate square tiles of ``a`` and ``b`` (same shape), for checking alignment by eye."""
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    sel = ((yy // tile_px + xx // tile_px) % 2).astype(bool)
    out = a.copy()
    out[sel] = b[sel]
    return out


def photo_record(p: Photo) -> dict:
    """What a result file says about an input photo (never GPS, serials or maker notes)."""
    from dataclasses import asdict

    return {
        "file": p.path,
        "sha256": p.sha256,
        "format": p.format,
        "original_size": list(p.original_size),
        "working_size": list(p.size),
        "scale": p.scale,
        "bit_depth": p.bit_depth,
        "jpeg_quality": p.jpeg_quality,
        "exif_orientation": p.exif_orientation,
        "quarter_turns": p.quarter_turns,
        "icc_profile": p.icc_profile,
        "capture": asdict(p.capture),
    }


def alignment_record(pair: AlignedPair) -> dict:
    """The JSON-ready description of an alignment (``alignment.json``)."""
    al = pair.alignment
    return {
        "schema_version": SCHEMA_VERSION,
        "inputs": {"before": photo_record(pair.before), "after": photo_record(pair.after)},
        "provenance": provenance(),
        "settings": pair.settings,
        "method": al.method,
        "matrix_working": al.matrix.tolist(),
        "matrix_original": al.matrix_original.tolist(),
        "matrix_note": "maps after-photo pixels (x, y, 1) to before-photo pixels; "
        + (
            "non-rigid mesh warp: the matrix is its global part"
            if al.flow is not None
            else "the warp is global"
        ),
        "residual_px": al.residual_px,
        "residual_iod": al.residual_iod,
        "coverage": al.coverage,
        "n_points": al.n_points,
        "pose_before": al.pose_before.as_dict() if al.pose_before else None,
        "pose_after": al.pose_after.as_dict() if al.pose_after else None,
        "pose_difference": al.pose_difference(),
        "interocular_px": pair.before_landmarks.interocular_px if pair.before_landmarks else None,
        "thresholds": al.thresholds,
        "identity": pair.identity,
        "identity_note": pair.identity_note,
        "forced": list(pair.forced),
        "expression": expression_record(pair.before_landmarks, pair.after_landmarks),
        "warnings": list(pair.warnings),
    }


def expression_record(before: Landmarks | None, after: Landmarks | None) -> dict | None:
    """Both photos' expression scores, their difference and the regions an expression change
    beyond its limit moves (:mod:`mesovision.expression`); ``None`` outside face mode."""
    from .expression import expression_difference, expression_scores, regions_moved

    if before is None or after is None:
        return None
    b, a = expression_scores(before.blendshapes), expression_scores(after.blendshapes)
    diff = expression_difference(b, a)
    return {"before": b, "after": a, "difference": diff, "regions_moved": regions_moved(diff)}
