"""Face landmarks: MediaPipe's Face Landmarker (478 points, 52 expression blendshapes, head pose).

The only module that imports mediapipe, lazily, so that ``mesovision --version`` and the parts of
the library that need no face stay fast. The model bundle ships inside this package
(``mesovision/models/face_landmarker.task``, provenance and licence in ``models/NOTICE.md``):
nothing is downloaded. One model per process, created on first use (never before a fork) and
closed at exit; its native log lines on stderr go to the debug log instead
(:mod:`mesovision._native_stderr`, around model creation, inference and closing; environment
variables do not stop them).

Head pose (:class:`~mesovision.types.HeadPose`) is :func:`head_pose`, read from vectors of the
mesh's 3-D points. :func:`pose_from_matrix` reads the model's facial transformation matrix (a
perspective fit of MediaPipe's canonical face) and stays available (``Landmarks.transform``),
but on synthetic turns of 82 faces of 22 people it measured yaw and pitch differences less
closely (mean abs error 3.4 deg against 2.5 for yaw, 1.8 against 1.3 for pitch) and, unlike the
mesh estimate, its angles move when a photo is only framed differently (up to 10.7 deg of yaw):
``docs/pose.md``, ``python benchmarks/pose.py``.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import threading
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from ._native_stderr import native_stderr_to_debug_log
from .errors import InvalidImage, NoFace
from .types import HeadPose, Landmarks

__all__ = [
    "N_LANDMARKS",
    "MODEL_PATH",
    "MODEL_SHA256",
    "MAX_FACES",
    "MIN_DETECTION_CONFIDENCE",
    "MIN_PRESENCE_CONFIDENCE",
    "model_sha256",
    "mesh_triangles",
    "head_pose",
    "pose_from_matrix",
    "DETECT_MAX_SIDE",
    "NO_FACE_HINT",
    "UPRIGHT_LIMIT_DEG",
    "detect_landmarks",
    "detect_landmarks_upright",
    "eye_line_deg",
    "faces_beside",
    "faces_found",
    "turned_note",
    "upright_turns",
    "upright_vote",
    "PLAIN_YAW_DEG",
    "LEVEL_PITCH_DEG",
    "LEVEL_ROLL_DEG",
]

log = logging.getLogger(__name__)

N_LANDMARKS = 478
#: The model bundle shipped in the package, and its SHA-256 (checked by the tests).
MODEL_PATH = Path(__file__).parent / "models" / "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
#: Most faces looked for in one photo (the largest is kept, a warning says how many there were).
MAX_FACES = 4
#: The detector's and the landmark model's confidence limits (MediaPipe's defaults).
MIN_DETECTION_CONFIDENCE = 0.5
MIN_PRESENCE_CONFIDENCE = 0.5

_lock = threading.Lock()
_model = None
_model_pid: int | None = None


def _detach_model() -> None:
    """At exit: let the model go without closing it. mediapipe's finalizer would close it through
    a thread pool that the interpreter has already shut down and print a traceback on stderr; the
    process is ending, so the operating system frees the native model."""
    global _model
    with _lock:
        if _model is not None:
            _model._handle = None
        _model = None


def _landmarker():
    global _model, _model_pid
    with _lock:
        if _model is None or _model_pid != os.getpid():
            with native_stderr_to_debug_log("face landmarker"):
                import mediapipe as mp
                from mediapipe.tasks.python.core.base_options import BaseOptions
                from mediapipe.tasks.python.vision import (
                    FaceLandmarker,
                    FaceLandmarkerOptions,
                    RunningMode,
                )

                options = FaceLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(MODEL_PATH)),
                    running_mode=RunningMode.IMAGE,
                    num_faces=MAX_FACES,
                    min_face_detection_confidence=MIN_DETECTION_CONFIDENCE,
                    min_face_presence_confidence=MIN_PRESENCE_CONFIDENCE,
                    output_face_blendshapes=True,
                    output_facial_transformation_matrixes=True,
                )
                _model = FaceLandmarker.create_from_options(options)
                # The graph starts its native delegates (which log to fd 2) on the first frame:
                # run one blank frame while stderr is silenced.
                blank = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), "u1"))
                _model.detect(blank)
            if _model_pid is None:
                atexit.register(_detach_model)
            _model_pid = os.getpid()
        return _model


@cache
def model_sha256() -> str:
    """SHA-256 of the face-landmark model bundle used (for provenance)."""
    return hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest()


@cache
def mesh_triangles() -> tuple[tuple[int, int, int], ...]:
    """The triangles of MediaPipe's face-mesh tessellation (vertex indices, sorted)."""
    from mediapipe.tasks.python.vision import FaceLandmarksConnections

    adj: dict[int, set[int]] = {}
    edges = [(c.start, c.end) for c in FaceLandmarksConnections.FACE_LANDMARKS_TESSELATION]
    for a, b in edges:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    tris = set()
    for a, b in edges:
        for c in adj[a] & adj[b]:
            tris.add(tuple(sorted((a, b, c))))
    return tuple(sorted(tris))


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    return cv2.convertScaleAbs(np.ascontiguousarray(rgb, dtype=np.float32), alpha=255.0)


def head_pose(points: np.ndarray, z: np.ndarray) -> HeadPose:
    """Yaw, pitch and roll (degrees) from the mesh's 3-D points (the fallback estimate).

    The face's own frame is built from two vectors: across, from the patient's right outer eye
    corner (33) to the left one (263); and down, from the top of the forehead (10) to the chin
    (152). ``yaw = atan2(across_z, across_x)``, ``roll = atan2(across_y, across_x)`` and
    ``pitch = atan2(-down_z', down_y')`` with the down vector taken orthogonal to ``across``.
    MediaPipe's depth is relative and approximate: pose is good to a few degrees.
    """
    p3 = np.c_[points, z]
    across = p3[263] - p3[33]
    down = p3[152] - p3[10]
    yaw = np.degrees(np.arctan2(across[2], across[0]))
    roll = np.degrees(np.arctan2(across[1], across[0]))
    a = across / np.linalg.norm(across)
    d = down - a * np.dot(down, a)
    # In MediaPipe's depth a frontal face's forehead top lies behind its chin; the offset makes a
    # straight head read about 0.
    pitch = np.degrees(np.arctan2(-d[2], d[1])) - _PITCH_OFFSET_DEG
    return HeadPose(yaw_deg=float(yaw), pitch_deg=float(pitch), roll_deg=float(roll))


_PITCH_OFFSET_DEG = -8.0
#: Raw matrix pitch of a straight head: the mean over frontal-looking photos of half of the people
#: of the face set (benchmarks/pose.py, docs/pose.md); subtracted by :func:`pose_from_matrix`.
_MATRIX_PITCH_OFFSET_DEG = -5.5


def pose_from_matrix(matrix: np.ndarray) -> HeadPose:
    """Yaw, pitch and roll (degrees) from MediaPipe's 4 x 4 facial transformation matrix.

    The matrix maps the canonical face (x toward the patient's left, y up, z out of the face) into
    the frame of MediaPipe's virtual pinhole camera (x right, y up, z toward the viewer). Its 3 x 3
    block divided by the cube root of its determinant (the fit carries a scale) is the rotation
    ``R``; with ``f`` the face's forward axis and ``a`` its across axis in the camera frame (the
    third and first columns of ``R``): ``yaw = atan2(f_x, f_z)``, ``pitch = atan2(f_y,
    hypot(f_x, f_z)) - _MATRIX_PITCH_OFFSET_DEG`` and ``roll = atan2(-a'_y, a'_x)``, with ``a'``
    the across axis after undoing yaw (about the camera's y) and the raw pitch (about its x),
    i.e. ``R = Ry(yaw) Rx(-pitch) Rz(-roll)`` in right-handed rotations about the camera's
    axes (pitch here before the offset). Signs as :class:`~mesovision.types.HeadPose`
    (checked on synthetic 3-D turns, in-plane rotations and mirror images of 82 real faces).

    What was measured (``benchmarks/pose.py``, ``docs/pose.md``): pose differences follow
    synthetic turns at 0.66 of the applied yaw, 0.77 of the pitch and 1.00 of the roll (the mesh
    estimator :func:`head_pose`: 0.75, 0.86, 1.00). The angles are relative to the virtual
    camera's axes and follow the line of sight to the face in part (0.26 deg of yaw and 0.30 of
    pitch per degree it turns): the same pixels framed differently (the face moved off-centre on a
    larger canvas) read yaw and pitch changes of 2.1 and 1.9 deg on average, up to 11 (mesh: 0.4
    and 0.5), and a camera roll about the image centre leaks 0.8 deg into each. The offset
    ``_MATRIX_PITCH_OFFSET_DEG`` makes frontal-looking photos read 0 on average; single photos
    scatter by several degrees about it.
    """
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    r = r / np.cbrt(np.linalg.det(r))  # the fit carries a scale
    f, a = r[:, 2], r[:, 0]
    yaw = np.arctan2(f[0], f[2])
    pitch = np.arctan2(f[1], np.hypot(f[0], f[2]))
    # Undo yaw (about the camera's y) then pitch (about its x) and read the in-plane angle.
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    a2 = rx @ ry @ a
    roll = np.arctan2(-a2[1], a2[0])
    return HeadPose(
        yaw_deg=float(np.degrees(yaw)),
        pitch_deg=float(np.degrees(pitch)) - _MATRIX_PITCH_OFFSET_DEG,
        roll_deg=float(np.degrees(roll)),
    )


#: The Face Landmarker runs its landmark model on a 256x256 crop of the face: a larger input adds
#: time, not precision. Larger images are downscaled to this long side for detection only.
DETECT_MAX_SIDE = 1280
#: What a refusal for no face says a photo needs. The face detector finds faces that fill a
#: good part of the frame: with a plain border added around three face photos (``fr_obama.jpg``,
#: ``fp_kate_siegel_1.jpg``, the astronaut sample), their faces were found down to a mesh 13,
#: 13 and 12 % of the photo's width wide and missed from 10, 10 and 9 %.
NO_FACE_HINT = (
    "a face narrower than about an eighth of the photo, as in a group or distant shot, is not "
    "found: crop the photo around the face"
)


def detect_landmarks(
    rgb: np.ndarray, *, path: str | None = None, max_side: int = DETECT_MAX_SIDE
) -> Landmarks:
    """Find the face in ``rgb`` (float [0, 1] or uint8 RGB): 478 points, blendshapes, pose.

    Several faces: the largest (by landmark bounding-box area) is kept and a warning is logged
    when another lies as it lies (:func:`faces_found`);
    ``other_faces`` holds the others' points (at most :data:`MAX_FACES` faces are looked for).
    No face: :class:`~mesovision.errors.NoFace` naming ``path``. Points are returned in ``rgb``'s
    own pixel frame whatever the detection size.
    """
    lm = _find(rgb, path, max_side)
    _warn_faces(lm, path)
    return lm


def _warn_faces(lm: Landmarks, path: str | None) -> None:
    n = faces_found(lm)
    if n > 1:
        log.warning("%s: %d faces found; the largest is used", path or "image", n)


def faces_beside(lm: Landmarks) -> tuple[np.ndarray, ...]:
    """The other faces of ``lm`` (:attr:`Landmarks.other_faces`, largest first) that lie as its
    face lies: their eye lines within :data:`UPRIGHT_LIMIT_DEG` of its eye line. A mesh turned
    further from it was fitted to something that is not a face (the one extra mesh on a photo
    of one person, ``fr_obama1.jpg``'s, fitted to the windows behind him, lies at 85 deg)."""
    own = eye_line_deg(lm)
    return tuple(
        m
        for m in lm.other_faces
        if abs((eye_line_deg(m) - own + 180.0) % 360.0 - 180.0) <= UPRIGHT_LIMIT_DEG
    )


def faces_found(lm: Landmarks) -> int:
    """How many faces ``lm``'s photo holds as the checks count them: the face of ``lm`` and
    the other faces lying as it lies (:func:`faces_beside`); :attr:`Landmarks.n_faces` counts
    every mesh the Face Landmarker fitted (at most :data:`MAX_FACES`)."""
    return 1 + len(faces_beside(lm))


def _find(rgb: np.ndarray, path: str | None, max_side: int = DETECT_MAX_SIDE) -> Landmarks:
    """:func:`detect_landmarks` without the warning of several faces."""
    import mediapipe as mp

    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidImage(f"expected an RGB image (H, W, 3), got shape {rgb.shape}", path=path)
    H, W = rgb.shape[:2]
    k = min(1.0, max_side / max(H, W))
    if k < 1.0:
        small = cv2.resize(rgb, (round(W * k), round(H * k)), interpolation=cv2.INTER_AREA)
    else:
        small = rgb
    img = _to_uint8(small)
    h, w = img.shape[:2]
    model = _landmarker()
    with _lock, native_stderr_to_debug_log(path or "face landmarker"):
        result = model.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=img))
    faces = result.face_landmarks or []
    if not faces:
        raise NoFace("no face found", path=path, hint=NO_FACE_HINT, check="no_face")
    best, best_i, best_area, meshes = None, 0, -1.0, []
    for i, f in enumerate(faces):
        arr = np.array([(p.x * w, p.y * h, p.z * w) for p in f], dtype=np.float64)
        span = arr[:, :2].max(0) - arr[:, :2].min(0)
        meshes.append((float(span[0] * span[1]), i, arr))
        if span[0] * span[1] > best_area:
            best, best_i, best_area = arr, i, float(span[0] * span[1])
    assert best is not None
    # MediaPipe's normalized coordinates put 0 at the image's left edge, pixel centres at +0.5.
    sx, sy = W / w, H / h
    pts = best[:, :2] * [sx, sy] - 0.5
    z = best[:, 2] * sx
    blend = {c.category_name: float(c.score) for c in result.face_blendshapes[best_i]}
    blend.pop("_neutral", None)
    matrix = np.asarray(result.facial_transformation_matrixes[best_i], dtype=np.float64)
    return Landmarks(
        points=pts,
        z=z,
        image_size=(W, H),
        n_faces=len(faces),
        pose=head_pose(pts, z),
        blendshapes=blend,
        transform=matrix,
        other_faces=tuple(
            m[:, :2] * [sx, sy] - 0.5
            for _, i, m in sorted(meshes, key=lambda t: -t[0])
            if i != best_i
        ),
    )


#: A face whose eye line is turned further than this from the image's rows lies sideways (or
#: upside down) in the photo: its orientation tag is missing or wrong, since a face photographed
#: for a comparison is upright within the capture checks' roll limit.
UPRIGHT_LIMIT_DEG = 45.0


def eye_line_deg(landmarks: Landmarks | np.ndarray) -> float:
    """Angle (degrees, -180..180, clockwise on screen) of the line from the subject's right pupil
    to the left one against the image's rows: about 0 for an upright face (``landmarks``, or a
    mesh's points as :attr:`Landmarks.other_faces` holds them)."""
    p = landmarks.points if isinstance(landmarks, Landmarks) else np.asarray(landmarks, float)
    d = p[473] - p[468]
    return float(np.degrees(np.arctan2(d[1], d[0])))


def upright_turns(landmarks: Landmarks) -> int:
    """Quarter turns counterclockwise (:func:`numpy.rot90`'s ``k``, 0-3) that put the face of
    ``landmarks`` upright: 0 when its eye line is within :data:`UPRIGHT_LIMIT_DEG` of the rows."""
    angle = eye_line_deg(landmarks)
    if abs(angle) <= UPRIGHT_LIMIT_DEG:
        return 0
    return round(angle / 90.0) % 4


def turned_note(k: int) -> str:
    """The warning of a photo that ``k`` (1-3) quarter turns counterclockwise put upright: how its
    face lay, and that it is measured turned upright."""
    how = {1: "a quarter turn clockwise", 2: "upside down", 3: "a quarter turn counterclockwise"}
    return (
        f"the face lies {how[k % 4]} in the photo (its orientation tag is missing or wrong); "
        "measured turned upright"
    )


#: A face found as a photo shows it is taken as it is, with no other turn tried, when its eye line
#: lies within :data:`UPRIGHT_LIMIT_DEG` of the rows and its pose is one a photo taken for a
#: comparison can have: yaw within this, pitch and roll within :data:`LEVEL_PITCH_DEG` and
#: :data:`LEVEL_ROLL_DEG`. The 83 single-face photos of ``../shared/faces`` read yaw up to 22 deg
#: upright; the false faces the landmarker finds in a photo lying sideways mostly read a strong
#: yaw, pitch or roll (``benchmarks/orientation.py``, ``docs/how-it-works.md``).
PLAIN_YAW_DEG = 25.0
#: The pitch and roll (deg) within which a face is level: a plain face's limits, and the first
#: tie-break between turns that as many detections point to.
LEVEL_PITCH_DEG = 15.0
LEVEL_ROLL_DEG = 10.0


def _level(lm: Landmarks) -> bool:
    return abs(lm.pose.pitch_deg) <= LEVEL_PITCH_DEG and abs(lm.pose.roll_deg) <= LEVEL_ROLL_DEG


def _plain(lm: Landmarks | None) -> bool:
    return (
        lm is not None
        and upright_turns(lm) == 0
        and _level(lm)
        and abs(lm.pose.yaw_deg) <= PLAIN_YAW_DEG
    )


def _find_or_none(rgb: np.ndarray, path: str | None) -> Landmarks | None:
    try:
        return _find(rgb, path)
    except NoFace:
        return None


def upright_vote(found: dict[int, Landmarks | None]) -> int | None:
    """The quarter turn that the faces found at the four turns of a photo agree puts it upright.

    ``found[t]``: the face found in the photo turned by ``t`` quarter turns (:func:`numpy.rot90`'s
    ``k``, 0-3), ``None`` for none. Each face votes for the turn ``(t + upright_turns) % 4`` that
    puts it upright; a turn counts only when its own face is upright there (eye line within
    :data:`UPRIGHT_LIMIT_DEG` of the rows). The turn with the most votes wins; between turns with
    as many votes, a level face (:data:`LEVEL_PITCH_DEG`, :data:`LEVEL_ROLL_DEG`), then the photo
    as it is (turn 0), then the larger face (interocular distance). A face found upright as the
    photo is gives way only to a level face: a head turned or tilted in earnest is not turned
    onto a false face. ``None`` when no turn counts.
    """
    votes: dict[int, int] = {}
    for t, lm in found.items():
        if lm is None:
            continue
        c = (t + upright_turns(lm)) % 4
        there = found.get(c)
        if there is not None and upright_turns(there) == 0:
            votes[c] = votes.get(c, 0) + 1
    if not votes:
        return None

    def rank(c: int) -> tuple[int, bool, bool, float]:
        lm = found[c]
        assert lm is not None
        return votes[c], _level(lm), c == 0, lm.interocular_px

    best = max(votes, key=rank)
    lm = found[best]
    assert lm is not None
    return 0 if best != 0 and 0 in votes and not _level(lm) else best


def detect_landmarks_upright(
    rgb: np.ndarray, *, path: str | None = None, warn_faces: bool = True
) -> tuple[int, np.ndarray, Landmarks]:
    """The face of ``rgb`` found upright: ``(k, rgb turned by k quarter turns, its landmarks)``.

    The face found in the photo as it is, upright and posed as a comparison photo can be (eye line
    within :data:`UPRIGHT_LIMIT_DEG` of the rows, yaw within :data:`PLAIN_YAW_DEG`, pitch and
    roll within :data:`LEVEL_PITCH_DEG` and :data:`LEVEL_ROLL_DEG`), is taken as it is: one
    detection. Otherwise (no face, a face lying sideways, or a strong yaw, pitch or roll, which
    is what the landmarker's false faces in a photo lying sideways mostly read) the photo is
    searched at the three other quarter turns as well (three more detections) and the faces found
    vote for the turn that puts the photo upright (:func:`upright_vote`). ``k`` is 0 and ``rgb``
    itself is returned when the photo is upright as it is, or when no turn gives an upright face.
    No face in any turn: :class:`~mesovision.errors.NoFace`, as :func:`detect_landmarks` raises
    it. Measured on real photos turned by each quarter turn and on synthetic head turns of 20-45
    deg: ``benchmarks/orientation.py``, ``docs/how-it-works.md``. Several faces
    (:func:`faces_found`) are warned about as :func:`detect_landmarks` does, unless
    ``warn_faces`` is false (the capture checks say it in their own words).
    """
    first = _find_or_none(rgb, path)
    k: int | None = 0
    found: dict[int, Landmarks | None] = {0: first}
    if not _plain(first):
        for t in (1, 2, 3):
            found[t] = _find_or_none(np.ascontiguousarray(np.rot90(rgb, t)), path)
        k = upright_vote(found)
    if k is None:
        if first is None:
            raise NoFace("no face found", path=path, hint=NO_FACE_HINT, check="no_face")
        k = 0
    lm = found[k]
    assert lm is not None
    if warn_faces:
        _warn_faces(lm, path)
    return k, (np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb), lm
