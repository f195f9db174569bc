"""Is the after photo the same person as the before photo? A face-recognition descriptor.

Method. Each face is described by dlib's ResNet face descriptor (King 2017; the file
``dlib_face_recognition_resnet_model_v1.dat``: a ResNet of 29 convolutional layers trained with a
metric loss on about 3 million web photos of about 7,500 people, 128 numbers out) and two faces
are compared by the Euclidean distance of their descriptors. The network sees the face aligned by
dlib's 5-point shape predictor (``shape_predictor_5_face_landmarks.dat``: the eye corners and the
base of the nose) on a 150 x 150 chip. Both model files come from the registry package
``face-recognition-models`` 0.3.0 and the code from ``dlib-bin`` (prebuilt dlib wheels, no
compiler): dlib's own models, used as dlib ships them. This is the only module that imports dlib,
lazily; the models are created once per process on first use (a forked child makes its own).
dlib aligns the face and cuts the 150 x 150 chip; the network's forward pass runs on NumPy from
dlib's own weights (:mod:`mesovision._face_resnet`: about 14 ms instead of dlib's 75-100 ms, the
GIL released in its matrix products), checked equal to dlib's on 92 faces of ``shared/faces`` and
the 2 sample faces (distances within 6.3e-7; ``benchmarks/face_resnet.py``).

Face box. The shape predictor starts from a face box; here it comes from the MediaPipe face mesh
every face photo already has (:func:`face_box`: a square of :data:`BOX_SIDE_IOD` interocular
distances, centred :data:`BOX_CENTRE_BELOW_PUPILS_IOD` of it below the pupils' midpoint: the
median geometry of dlib's HOG detector boxes on the 83 single-face photos of ``shared/faces``; no
identity label is used). No second detector runs, so the check works wherever the mesh does (the
HOG detector finds frontal faces only and took up to 2 s on a 2048 px photo). On those photos a
descriptor from the mesh box lies 0.035 (median; at most 0.13) from the one from the HOG box, and
both separate the people: gap between the largest same-person and the smallest different-person
distance +0.046 (mesh box) and +0.064 (HOG box), within what a box 15 % larger or smaller, or
moved by 0.13 interocular distance, changes (+0.03 to +0.06).

Calibration (``benchmarks/identity.py``; ``docs/identity.md`` has the table). 83 single-face
photos of 20 people: 292 same-person pairs of distinct photographs (12 people; 265 of the pairs
are 150 x 150 crops of 5 people), 3107 different-person pairs, and 4 pairs of one photograph saved
again (controls, 0.05-0.15). The threshold is set midway between the smallest different-person
distance and the largest same-person distance below it. Chosen on one half of the people and
applied to the other half's pairs: 0.591 (half A) accepted none of half B's 644 different-person
pairs and rejected none of its 132 same-person pairs; 0.516 (half B) accepted none of half A's 743
and rejected 4 of its 160 (2.5 %). Held out in both directions: 0 / 1387 false accepts, 4 / 292
false rejects (1.4 %). Leaving one person out at a time (thresholds 0.567-0.591): no error.
On all pairs the rule gives :data:`MAX_DISTANCE` = 0.585: every different-person pair refused
(smallest distance 0.609), every same-person pair accepted (largest 0.562; median 0.33). The
margins are thin (about 0.02 either side): these say "no error in 292 same-person and 3107
different-person pairs of 20 people", not that errors cannot happen.

Pose. There is no pose switch-off: the descriptor is computed on each photo's own aligned face.
Synthetic head turns of the sample faces within the alignment's limits (up to 15 deg of yaw)
stay below 0.35; a failed check between photos whose poses differ beyond those limits says so.
Limits: twins and close relatives, heavy make-up, large age gaps and children were not tested;
dlib's model was trained mostly on adults in web photos (and public figures such as those of
``shared/faces`` may be in its training data, which flatters these figures). It is a guard
against mixed-up files, not proof of identity.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from . import _face_resnet
from .errors import FORCE_HINT, IdentityMismatch
from .types import Landmarks

__all__ = [
    "MAX_DISTANCE",
    "BOX_SIDE_IOD",
    "BOX_CENTRE_BELOW_PUPILS_IOD",
    "PUPILS",
    "DESCRIPTOR_MODEL",
    "SHAPE_MODEL",
    "DESCRIPTOR_MODEL_SHA256",
    "SHAPE_MODEL_SHA256",
    "METHOD",
    "model_dir",
    "model_sha256",
    "FaceDescriptor",
    "IdentityCheck",
    "face_box",
    "face_descriptor",
    "descriptor_distance",
    "compare_descriptors",
    "check_identity",
    "NO_FACE_NOTE",
    "check_identity_if_faces",
]

log = logging.getLogger(__name__)

#: Largest Euclidean distance between two face descriptors accepted as the same person.
#: Calibrated on ``shared/faces`` (module docstring, ``docs/identity.md``).
MAX_DISTANCE = 0.585

#: The face box given to the 5-point shape predictor, from the mesh's pupils (468, 473): its side
#: and how far its centre lies below the pupils' midpoint (along the face's own down direction),
#: both in interocular distances.
BOX_SIDE_IOD = 2.3
BOX_CENTRE_BELOW_PUPILS_IOD = 0.53
PUPILS = (468, 473)

#: The model files, in the ``face_recognition_models`` package's ``models`` folder.
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
#: Their SHA-256 in face-recognition-models 0.3.0 (checked by the tests; recorded with every check).
DESCRIPTOR_MODEL_SHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
SHAPE_MODEL_SHA256 = "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"

METHOD = (
    "dlib ResNet face descriptor (128-d, dlib_face_recognition_resnet_model_v1) on the face "
    "aligned by dlib's 5-point predictor in a box from the MediaPipe mesh; Euclidean distance"
)

_lock = threading.Lock()
_models: tuple | None = None
_models_pid: int | None = None


def model_dir() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models`` package.

    Found without importing the package: its ``__init__`` imports ``pkg_resources``, which comes
    with setuptools, not a run-time dependency (and not installed in our environment).

    Raises
    ------
    ImportError
        The package is not installed.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the identity check needs the package face-recognition-models "
            "(pip install face-recognition-models)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@cache
def model_sha256(name: str = DESCRIPTOR_MODEL) -> str:
    """SHA-256 of a model file in :func:`model_dir` (default: the descriptor model)."""
    return hashlib.sha256((model_dir() / name).read_bytes()).hexdigest()


def _dlib_models():
    """``(shape predictor, descriptor network)``, created once per process (after any fork): dlib's
    predictor, and dlib's ResNet weights read by :func:`mesovision._face_resnet.network`."""
    global _models, _models_pid
    with _lock:
        if _models is None or _models_pid != os.getpid():
            import dlib

            folder = model_dir()
            _models = (
                dlib.shape_predictor(str(folder / SHAPE_MODEL)),
                _face_resnet.network(folder / DESCRIPTOR_MODEL),
            )
            _models_pid = os.getpid()
            if model_sha256() != DESCRIPTOR_MODEL_SHA256:
                log.warning(
                    "%s is not the descriptor model MAX_DISTANCE was calibrated with (SHA-256 "
                    "%s); the identity threshold may not hold",
                    folder / DESCRIPTOR_MODEL,
                    model_sha256(),
                )
        return _models


@dataclass(frozen=True, eq=False)
class FaceDescriptor:
    """A face's 128-d dlib descriptor and the model that made it.

    ``vector`` is ``(128,)`` float64; ``model_sha256`` is the descriptor model file's SHA-256
    (descriptors of different models are not comparable); ``box`` is the face box given to the
    shape predictor, ``(left, top, right, bottom)`` pixels of the photo's working copy.
    """

    vector: np.ndarray
    model_sha256: str
    box: tuple[int, int, int, int]

    def as_dict(self) -> dict:
        """Plain JSON types (what the store keeps with a photo)."""
        return {
            "model_sha256": self.model_sha256,
            "box": list(self.box),
            "vector": [float(v) for v in self.vector],
        }

    @classmethod
    def from_dict(cls, d: dict) -> FaceDescriptor:
        """The inverse of :meth:`as_dict`."""
        return cls(np.asarray(d["vector"], np.float64), d["model_sha256"], tuple(d["box"]))


@dataclass(frozen=True)
class IdentityCheck:
    """Outcome of :func:`check_identity` (under ``"identity"`` in ``alignment.json``).

    ``distance`` is the Euclidean distance of the two descriptors (unitless, 0 to about 1.3),
    ``threshold`` the largest accepted one; ``passed`` is ``distance <= threshold``. ``note``
    says why a failed check did not stop the caller (``--force``).
    """

    method: str
    distance: float
    threshold: float
    passed: bool
    descriptor_model_sha256: str
    shape_model_sha256: str
    note: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def face_box(landmarks: Landmarks) -> tuple[int, int, int, int]:
    """The square face box, ``(left, top, right, bottom)`` pixels, derived from the mesh.

    With ``p`` the pupils' midpoint (mesh points 468 and 473), ``d`` the interocular distance and
    ``n`` the unit vector perpendicular to the eye line pointing down the face, the box is centred
    at ``p + BOX_CENTRE_BELOW_PUPILS_IOD * d * n`` with side ``BOX_SIDE_IOD * d`` (axis-aligned,
    as dlib's detectors give it).
    """
    right, left = (np.asarray(landmarks.points[i], np.float64) for i in PUPILS)
    v = left - right
    iod = float(np.hypot(*v))
    if not iod > 0:
        raise ValueError(f"degenerate face mesh: interocular distance {iod} px")
    u = v / iod
    down = np.array([-u[1], u[0]])  # the eye line turned by +90 deg: toward the chin
    cx, cy = (right + left) / 2 + BOX_CENTRE_BELOW_PUPILS_IOD * iod * down
    half = BOX_SIDE_IOD * iod / 2
    return (round(cx - half), round(cy - half), round(cx + half), round(cy + half))


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    """8-bit RGB for dlib: ``round(255 * v)`` saturated to 0-255."""
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    return cv2.convertScaleAbs(np.ascontiguousarray(rgb, dtype=np.float32), alpha=255.0)


def face_descriptor(rgb: np.ndarray, landmarks: Landmarks) -> FaceDescriptor:
    """The dlib face descriptor of the face that ``landmarks`` locate in ``rgb``.

    Parameters
    ----------
    rgb : ndarray
        ``(H, W, 3)`` RGB, float in [0, 1] or uint8: the photo's working copy.
    landmarks : Landmarks
        That photo's face mesh, in the same frame (``landmarks.image_size == (W, H)``).

    Returns
    -------
    FaceDescriptor

    Raises
    ------
    ValueError
        ``rgb`` is not ``(H, W, 3)``, or the landmarks belong to another frame.
    """
    import dlib

    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    if tuple(landmarks.image_size) != (w, h):
        raise ValueError(
            f"landmarks are in a {landmarks.image_size[0]}x{landmarks.image_size[1]} frame, "
            f"the image is {w}x{h}"
        )
    box = face_box(landmarks)
    img = _to_uint8(rgb)
    predictor, network = _dlib_models()
    with _lock:  # dlib's objects are used by one thread at a time; the network needs no lock
        shape = predictor(img, dlib.rectangle(*box))
        chip = dlib.get_face_chip(
            img, shape, size=_face_resnet.CHIP_SIZE, padding=_face_resnet.CHIP_PADDING
        )
    # what dlib's compute_face_descriptor(img, shape, 1) returns (no jitter), to float32 rounding
    vec = network.descriptor(chip).astype(np.float64)
    return FaceDescriptor(vector=vec, model_sha256=model_sha256(), box=box)


def descriptor_distance(a: FaceDescriptor, b: FaceDescriptor) -> float:
    """Euclidean distance ``||a - b||`` of two descriptors of the same model.

    Raises
    ------
    ValueError
        The descriptors were made by different model files.
    """
    if a.model_sha256 != b.model_sha256:
        raise ValueError(
            f"descriptors of different models ({a.model_sha256[:12]}, {b.model_sha256[:12]}) "
            "cannot be compared"
        )
    return float(np.linalg.norm(a.vector - b.vector))


def compare_descriptors(
    before: FaceDescriptor,
    after: FaceDescriptor,
    *,
    max_distance: float = MAX_DISTANCE,
    reference: str = "the before photo",
) -> IdentityCheck:
    """Compare two descriptors with the threshold; a refusal is a value (``passed`` false).

    Parameters
    ----------
    before, after : FaceDescriptor
        The reference face and the face checked against it (:func:`face_descriptor`).
    max_distance : float, optional
        The largest accepted distance (default :data:`MAX_DISTANCE`).
    reference : str, optional
        How ``note`` names the reference photo when the check fails.

    Returns
    -------
    IdentityCheck
        ``passed`` is ``distance <= max_distance``; a failed check's ``note`` says by how much.
    """
    d = descriptor_distance(before, after)
    passed = d <= max_distance
    note = None
    if not passed:
        note = (
            f"a different person from {reference}: face-descriptor distance {d:.3f}, "
            f"limit {max_distance:.3f}"
        )
    return IdentityCheck(
        method=METHOD,
        distance=d,
        threshold=max_distance,
        passed=passed,
        descriptor_model_sha256=before.model_sha256,
        shape_model_sha256=model_sha256(SHAPE_MODEL),
        note=note,
    )


def check_identity(
    before_rgb: np.ndarray,
    before_landmarks: Landmarks,
    after_rgb: np.ndarray,
    after_landmarks: Landmarks,
    *,
    path: str | None = None,
    force: bool = False,
    max_distance: float = MAX_DISTANCE,
) -> IdentityCheck:
    """Refuse an after photo that shows another person than the before photo.

    :func:`face_descriptor` of each photo, then :func:`compare_descriptors`; whatever the head
    poses (when they differ beyond the alignment's limits the error says so, as a turned head also
    raises the distance). About 15 ms per photo (13 ms median, 22 ms at most on 82 photos of
    ``shared/faces``).

    Parameters
    ----------
    before_rgb, after_rgb : ndarray
        The photos' working copies (float RGB in [0, 1] or uint8), any sizes.
    before_landmarks, after_landmarks : Landmarks
        Their face meshes, each in its own photo's frame.
    path : str, optional
        The after photo, named in the error.
    force : bool, optional
        Log a warning and return the failed check instead of raising.
    max_distance : float, optional
        The largest accepted descriptor distance (default :data:`MAX_DISTANCE`).

    Returns
    -------
    IdentityCheck

    Raises
    ------
    IdentityMismatch
        The distance exceeds ``max_distance`` and ``force`` is false (exit code 11).
    """
    check = compare_descriptors(
        face_descriptor(before_rgb, before_landmarks),
        face_descriptor(after_rgb, after_landmarks),
        max_distance=max_distance,
    )
    if check.passed:
        return check
    from .align import THRESHOLDS

    msg = check.note
    dyaw = after_landmarks.pose.yaw_deg - before_landmarks.pose.yaw_deg
    dpitch = after_landmarks.pose.pitch_deg - before_landmarks.pose.pitch_deg
    if (
        abs(dyaw) > THRESHOLDS["max_yaw_difference_deg"]
        or abs(dpitch) > THRESHOLDS["max_pitch_difference_deg"]
    ):
        msg += (
            f" (the head poses also differ by {dyaw:+.0f} deg of yaw and {dpitch:+.0f} deg of "
            "pitch, which raises the distance)"
        )
    if not force:
        raise IdentityMismatch(
            msg,
            path=path,
            hint=FORCE_HINT,
            check="identity",
            value=check.distance,
            limit=check.threshold,
        )
    log.warning("%s: %s; proceeding (--force)", path, msg)
    return replace(check, note=msg)


#: Why the body, scalp and trichoscopy modes did not check the identity: a photo without a face.
NO_FACE_NOTE = "no face found: the identity is not checked"


def check_identity_if_faces(
    before_rgb: np.ndarray,
    after_rgb: np.ndarray,
    *,
    names: tuple[str, str] = ("before", "after"),
    force: bool = False,
) -> tuple[IdentityCheck | None, str | None]:
    """The identity check of a pair aligned on image features (body, scalp, trichoscopy).

    Each photo is searched for a face (:func:`mesovision.landmarks.detect_landmarks_upright`,
    the after photo only when the before photo shows one); where both show one,
    :func:`check_identity` compares them (same refusal, same ``force``).

    Returns
    -------
    tuple
        ``(check, None)``, or ``(None, note)`` when a photo shows no face (a thigh, a crown):
        the note names that photo and says the identity is not checked.

    Raises
    ------
    IdentityMismatch
        Both photos show a face, of different people, and ``force`` is false (exit code 11).
    """
    from .errors import NoFace
    from .landmarks import detect_landmarks_upright

    found = []
    for rgb, name in zip((before_rgb, after_rgb), names, strict=True):
        try:
            _, upright, lm = detect_landmarks_upright(rgb, path=name)
        except NoFace:
            return None, f"{name}: {NO_FACE_NOTE}"
        found.append((upright, lm))
    (rgb_b, lb), (rgb_a, la) = found
    return check_identity(rgb_b, lb, rgb_a, la, path=names[1], force=force), None
