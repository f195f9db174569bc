"""Face landmarks: MediaPipe face mesh (478 points) and head pose.

The only module that imports mediapipe, lazily, so that ``mesovision --version`` and the parts of
the library that need no face stay fast. The model ships inside the ``mediapipe==0.10.21`` wheel:
nothing is downloaded. One model per process, created on first use (never before a fork); its
native log lines on stderr go to the debug log instead (:mod:`mesovision._native_stderr`, around
model creation and inference; environment variables do not stop them).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import cv2
import numpy as np

from ._native_stderr import native_stderr_to_debug_log
from .errors import InvalidImage, NoFace
from .types import HeadPose, Landmarks

log = logging.getLogger(__name__)

N_LANDMARKS = 478
_MODEL_FILE = "face_landmark_with_attention.tflite"

_lock = threading.Lock()
_model = None
_model_pid: int | None = None


def _face_mesh():
    global _model, _model_pid
    with _lock:
        if _model is None or _model_pid != os.getpid():
            with native_stderr_to_debug_log("face mesh"):
                from mediapipe.python.solutions import face_mesh

                _model = face_mesh.FaceMesh(
                    static_image_mode=True,
                    refine_landmarks=True,
                    max_num_faces=4,
                    min_detection_confidence=0.5,
                )
                # The graph starts its native delegates (which log to fd 2) on the first frame:
                # run one blank frame while stderr is silenced.
                _model.process(np.zeros((64, 64, 3), np.uint8))
            _model_pid = os.getpid()
        return _model


def model_sha256() -> str:
    """SHA-256 of the face-landmark model file used (for provenance)."""
    import mediapipe

    p = (
        Path(mediapipe.__file__).parent
        / "modules/face_landmark/face_landmark_with_attention.tflite"
    )
    if not p.exists():
        p = Path(mediapipe.__file__).parent / "modules/face_landmark/face_landmark.tflite"
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    return cv2.convertScaleAbs(np.ascontiguousarray(rgb, dtype=np.float32), alpha=255.0)


def head_pose(points: np.ndarray, z: np.ndarray) -> HeadPose:
    """Yaw, pitch and roll (degrees) from the mesh's 3-D points.

    The face's own frame is built from two vectors: across, from the patient's right outer eye
    corner (33) to the left one (263); and down, from the top of the forehead (10) to the chin
    (152). ``yaw = atan2(across_z, across_x)``, ``roll = atan2(across_y, across_x)`` and
    ``pitch = atan2(-down_z', down_y')`` with the down vector taken orthogonal to ``across``.
    MediaPipe's depth is relative and approximate: pose is good to a few degrees, enough for
    capture checks and for the pose difference between two photos.
    """
    p3 = np.c_[points, z]
    across = p3[263] - p3[33]
    down = p3[152] - p3[10]
    yaw = np.degrees(np.arctan2(across[2], across[0]))
    roll = np.degrees(np.arctan2(across[1], across[0]))
    a = across / np.linalg.norm(across)
    d = down - a * np.dot(down, a)
    # In MediaPipe's depth a frontal face's forehead top lies behind its chin; the offset makes a
    # straight head read about 0 (raw -9.7 and -6.5 deg on the two frontal sample faces).
    pitch = np.degrees(np.arctan2(-d[2], d[1])) - _PITCH_OFFSET_DEG
    return HeadPose(yaw_deg=float(yaw), pitch_deg=float(pitch), roll_deg=float(roll))


_PITCH_OFFSET_DEG = -8.0


#: MediaPipe runs its landmark model on a 192x192 crop of the face: a larger input adds time,
#: not precision. Larger images are downscaled to this long side for detection only.
DETECT_MAX_SIDE = 1280


def detect_landmarks(
    rgb: np.ndarray, *, path: str | None = None, max_side: int = DETECT_MAX_SIDE
) -> Landmarks:
    """Find the face mesh in ``rgb`` (float [0, 1] or uint8 RGB).

    Several faces: the largest (by landmark bounding-box area) is kept and a warning is logged.
    No face: :class:`~mesovision.errors.NoFace` naming ``path``. Points are returned in ``rgb``'s
    own pixel frame whatever the detection size.
    """
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
    model = _face_mesh()
    with _lock, native_stderr_to_debug_log(path or "face mesh"):
        result = model.process(img)
    faces = result.multi_face_landmarks or []
    if not faces:
        raise NoFace("no face found", path=path)
    best, best_area = None, -1.0
    for f in faces:
        arr = np.array([(p.x * w, p.y * h, p.z * w) for p in f.landmark], dtype=np.float64)
        span = arr[:, :2].max(0) - arr[:, :2].min(0)
        if span[0] * span[1] > best_area:
            best, best_area = arr, float(span[0] * span[1])
    if len(faces) > 1:
        log.warning("%s: %d faces found; the largest is used", path or "image", len(faces))
    assert best is not None
    # MediaPipe's normalized coordinates put 0 at the image's left edge, pixel centres at +0.5.
    sx, sy = W / w, H / h
    pts = best[:, :2] * [sx, sy] - 0.5
    z = best[:, 2] * sx
    return Landmarks(points=pts, z=z, image_size=(W, H), n_faces=len(faces), pose=head_pose(pts, z))
