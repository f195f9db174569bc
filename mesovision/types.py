"""The dataclasses that flow between stages: io -> landmarks -> regions/align -> lighting -> ...

Array convention, stated once for the whole package:

* images are ``numpy.float32`` RGB in ``[0, 1]``, sRGB-encoded, shaped ``(row, col, 3)``;
* masks are ``bool`` arrays shaped ``(row, col)``;
* points are pixel ``(x, y)`` (column, row) with ``(0, 0)`` the centre of the top-left pixel, in the
  frame of the image named by the attribute (the working copy, unless the name says ``original``).

A point in a :class:`Photo`'s working copy maps to the original file's (EXIF-rotated) pixels by
``Photo.to_original``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

__all__ = [
    "Alignment",
    "CaptureInfo",
    "HeadPose",
    "Landmarks",
    "MetricInfo",
    "Photo",
    "resample_matrix",
]


def resample_matrix(sx: float, sy: float | None = None) -> np.ndarray:
    """3 x 3 map from a frame's pixels to the pixels of the same frame resampled by ``sx`` across
    and ``sy`` down (default ``sx``), pixel centres at integer coordinates, as
    :func:`cv2.resize` samples them."""
    sy = sx if sy is None else sy
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class CaptureInfo:
    """What we keep of a photo's metadata, and whether its pixels hold colour. Never GPS, serial
    numbers, owner or maker notes.

    Attributes
    ----------
    datetime_original : str or None
        EXIF DateTimeOriginal, e.g. ``"2026:03:01 10:22:05"``.
    make, model, lens_model : str or None
        The camera's maker, model and lens (EXIF Make, Model, LensModel).
    exposure_time_s, f_number, iso, focal_length_mm : float, int or None
        The exposure (seconds), aperture, ISO speed and focal length (mm) from EXIF.
    chroma_p99 : float or None
        Measured on the pixels (:mod:`mesovision.io.chroma`): the 99th percentile of the chroma
        C*ab; ``None`` when not measured.
    grayscale : bool
        Whether the photo has no colour (``chroma_p99`` at most the grayscale limit).
    """

    datetime_original: str | None = None
    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    exposure_time_s: float | None = None
    f_number: float | None = None
    iso: int | None = None
    focal_length_mm: float | None = None
    chroma_p99: float | None = None
    grayscale: bool = False


@dataclass(frozen=True, eq=False)
class Photo:
    """A decoded photo: the working copy plus everything needed to map back to the file.

    Attributes
    ----------
    rgb : numpy.ndarray
        The working copy: ``float32`` sRGB in ``[0, 1]``, ``(H, W, 3)``, display orientation.
    path : str or None
        The file (``None`` for a photo made from an array).
    sha256 : str or None
        The SHA-256 of the file's bytes (of an array: :func:`mesovision.io.photo_from_array`).
    original_size : (int, int)
        ``(width, height)`` of the file's pixels after EXIF orientation and ``quarter_turns``.
    scale : float
        Working pixels per original pixel (``<= 1``; 1 at full resolution).
    format : str or None
        The file's format as Pillow names it (``"JPEG"``, ``"PNG"``, ...).
    bit_depth : int
        8 or 16 bits per channel in the file.
    exif_orientation : int
        The file's EXIF orientation tag (1-8; 1 upright), applied to ``rgb``.
    icc_profile : str or None
        The description of the embedded colour profile converted to sRGB, if any.
    capture : CaptureInfo
        The camera's metadata and the pixels' colour measure.
    jpeg_quality : int or None
        The IJG quality estimated from the file's quantization tables (JPEG only).
    quarter_turns : int
        The quarter turns (counterclockwise on screen, as :func:`numpy.rot90`) that put a face
        lying sideways upright (:func:`mesovision.landmarks.detect_landmarks_upright`; 0 for a
        photo used as it is).
    transparent_share : float or None
        The share of the file's pixels not fully opaque (alpha channel or transparent colour,
        dropped from ``rgb``): 0.0 without transparency, ``None`` for a photo not read from a
        file.
    enlargement : float or None
        The face's enlargement factor (:func:`mesovision.enlargement.enlargement_factor`: about
        ``k`` for a face enlarged ``k`` times from a smaller image), measured when a comparison
        finds the face; ``None`` when not measured.
    palette_colours : int or None
        The number of colours in the file's palette when it is a palette (indexed-colour) image,
        a PNG, BMP or TIFF of at most 256 colours: its colours are quantized to them. 0 for a
        file of full colour, ``None`` for a photo not read from a file.
    gamut_clipped : numpy.ndarray or None
        ``bool (H, W)`` like ``rgb``: the pixels whose colour lay outside sRGB's gamut in the
        file's colour profile, clipped by the conversion to sRGB (not by the exposure;
        :func:`mesovision.io.icc.gamut_clipped`); ``None`` when there is none.
    """

    rgb: np.ndarray
    path: str | None
    sha256: str | None
    original_size: tuple[int, int]
    scale: float = 1.0
    format: str | None = None
    bit_depth: int = 8
    exif_orientation: int = 1
    icc_profile: str | None = None
    capture: CaptureInfo = field(default_factory=CaptureInfo)
    jpeg_quality: int | None = None
    quarter_turns: int = 0
    transparent_share: float | None = None
    enlargement: float | None = None
    palette_colours: int | None = None
    gamut_clipped: np.ndarray | None = None

    def turned(self, k: int) -> Photo:
        """This photo turned by ``k`` quarter turns counterclockwise (:func:`numpy.rot90`): its
        working copy and original size turned, ``quarter_turns`` counting them (mod 4)."""
        k %= 4
        if k == 0:
            return self
        w, h = self.original_size
        return replace(
            self,
            rgb=np.ascontiguousarray(np.rot90(self.rgb, k)),
            gamut_clipped=None
            if self.gamut_clipped is None
            else np.ascontiguousarray(np.rot90(self.gamut_clipped, k)),
            original_size=(h, w) if k % 2 else (w, h),
            quarter_turns=(self.quarter_turns + k) % 4,
        )

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the working copy."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    def to_original(self, points_xy: np.ndarray) -> np.ndarray:
        """Map working-copy pixel ``(x, y)`` points to the original (EXIF-rotated) file's pixels."""
        p = np.asarray(points_xy, dtype=np.float64)
        return (p + 0.5) / self.scale - 0.5

    def from_original(self, points_xy: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_original`."""
        p = np.asarray(points_xy, dtype=np.float64)
        return (p + 0.5) * self.scale - 0.5

    def scale_matrix(self) -> np.ndarray:
        """3x3 homogeneous matrix mapping original pixels to working pixels."""
        return resample_matrix(self.scale)

    def __repr__(self) -> str:  # the pixels' summary, not the pixels
        (w, h), (ow, oh) = self.size, self.original_size
        source = "array" if self.path is None else repr(self.path)
        turns = f", {self.quarter_turns} quarter turns" if self.quarter_turns else ""
        return (
            f"<Photo {source}: {w}x{h} px {self.rgb.dtype}, original {ow}x{oh}, scale "
            f"{self.scale:.4g}{turns}, sha256 {str(self.sha256)[:12]}>"
        )


@dataclass(frozen=True)
class HeadPose:
    """Head rotation in degrees.

    Attributes
    ----------
    yaw_deg : float
        > 0: the face turns toward the patient's left (the image's right).
    pitch_deg : float
        > 0: chin up.
    roll_deg : float
        > 0: the head tilts so that the patient's left eye is lower (clockwise on screen).
    """

    yaw_deg: float
    pitch_deg: float
    roll_deg: float

    def as_dict(self) -> dict[str, float]:
        return {"yaw_deg": self.yaw_deg, "pitch_deg": self.pitch_deg, "roll_deg": self.roll_deg}


@dataclass(frozen=True, eq=False)
class Landmarks:
    """MediaPipe face mesh (478 points) in a photo's working frame.

    Attributes
    ----------
    points : numpy.ndarray
        ``(478, 2)`` pixel ``(x, y)``.
    z : numpy.ndarray
        ``(478,)``: MediaPipe's relative depth scaled to pixels (smaller is closer to the camera).
    image_size : (int, int)
        ``(width, height)`` of the image the points are in.
    n_faces : int
        The faces seen (the largest is kept).
    pose : HeadPose
        The head's rotation.
    blendshapes : dict of str to float, or None
        MediaPipe's 51 expression coefficients (ARKit names such as ``mouthSmileLeft``,
        ``jawOpen``, ``eyeBlinkRight``; each in [0, 1], the sides the patient's); ``None`` for
        landmarks built without them.
    transform : numpy.ndarray or None
        The model's 4 x 4 facial transformation matrix (canonical face to camera, centimetres);
        ``None`` for landmarks built without it.
    other_faces : tuple of numpy.ndarray
        The ``(478, 2)`` points of each other face seen, in the pixel frame of the image the
        faces were found in, largest first; empty for landmarks built without them.
    """

    points: np.ndarray
    z: np.ndarray
    image_size: tuple[int, int]
    n_faces: int
    pose: HeadPose
    blendshapes: dict[str, float] | None = None
    transform: np.ndarray | None = None
    other_faces: tuple[np.ndarray, ...] = ()

    @property
    def interocular_px(self) -> float:
        """Distance between the two pupil centres (refined iris landmarks 468 and 473)."""
        return float(np.linalg.norm(self.points[468] - self.points[473]))

    @property
    def face_width_px(self) -> float:
        """Width of the face oval at the cheekbones (landmarks 234 and 454)."""
        return float(np.linalg.norm(self.points[234] - self.points[454]))

    def __repr__(self) -> str:  # the mesh's summary, not its points
        p = self.pose
        return (
            f"<Landmarks: {len(self.points)} points in {self.image_size[0]}x{self.image_size[1]} "
            f"px, {self.n_faces} face(s), interocular {self.interocular_px:.1f} px, yaw "
            f"{p.yaw_deg:+.1f} pitch {p.pitch_deg:+.1f} roll {p.roll_deg:+.1f} deg>"
        )


@dataclass(frozen=True, eq=False)
class Alignment:
    """How the after photo maps onto the before photo, and how well.

    Attributes
    ----------
    method : str
        The fit and its refinement: ``landmarks-similarity``, ``landmarks-affine`` (face mode),
        ``sift-ransac-homography`` (the other modes), with ``+ecc`` or ``+mesh`` when refined.
    matrix : numpy.ndarray
        3 x 3, homogeneous: after-photo working pixels to before-photo working pixels.
    matrix_original : numpy.ndarray
        The same map in the original files' pixels.
    residual_px : float
        RMS landmark (or inlier-feature) error after alignment, in before-frame pixels.
    residual_iod : float or None
        ``residual_px`` over the interocular distance (face mode; ``None`` otherwise).
    coverage : float
        The share of the measured area (face or mask) covered by valid warped pixels.
    pose_before, pose_after : HeadPose or None
        Each photo's head pose (face mode).
    n_points : int
        The landmarks (or matched features) the fit used.
    thresholds : dict of str to float
        The limits the alignment was checked against (``max_yaw_difference_deg``,
        ``max_residual_iod``, ``min_coverage``, ...).
    warnings : tuple of str
        What the fit warned of (e.g. a refinement that failed or was rejected).
    flow : numpy.ndarray or None
        For non-rigid refinement (``+mesh``): a ``(H, W, 2)`` ``float32`` field in the before
        frame giving, for each before pixel, the after-photo working-pixel ``(x, y)`` to sample;
        when present it supersedes ``matrix`` for warping.
    """

    method: str
    matrix: np.ndarray
    matrix_original: np.ndarray
    residual_px: float
    residual_iod: float | None
    coverage: float
    pose_before: HeadPose | None = None
    pose_after: HeadPose | None = None
    n_points: int = 0
    thresholds: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    flow: np.ndarray | None = None

    def pose_difference(self) -> dict[str, float] | None:
        if self.pose_before is None or self.pose_after is None:
            return None
        b, a = self.pose_before, self.pose_after
        return {
            "yaw_deg": a.yaw_deg - b.yaw_deg,
            "pitch_deg": a.pitch_deg - b.pitch_deg,
            "roll_deg": a.roll_deg - b.roll_deg,
        }

    def __repr__(self) -> str:  # the fit's summary, not its matrices or flow field
        flow = "" if self.flow is None else f", flow {self.flow.shape[1]}x{self.flow.shape[0]}"
        return (
            f"<Alignment {self.method}: residual {self.residual_px:.2f} px, coverage "
            f"{100 * self.coverage:.1f} %, {self.n_points} points{flow}, "
            f"{len(self.warnings)} warnings>"
        )


@dataclass(frozen=True)
class MetricInfo:
    """What a registered metric measures (one row of :func:`mesovision.metrics`).

    Attributes
    ----------
    name : str
        Dotted: ``family.metric``.
    family : str
        The metric family (``redness``, ``pigmentation``, ``swelling``, ...: what
        :func:`mesovision.metrics` filters on). It is not the ``family`` of a
        :class:`~mesovision.noise.Change`, of :meth:`~mesovision.Comparison.to_frame` or a key
        of ``Comparison.verdicts``, which is the comparability family (``colour``,
        ``pigmentation``, ``texture``, ``bruise``, ``geometry``, ``body_texture``:
        :func:`mesovision.comparability.family_of`).
    unit : str
        The unit of the value (``"1"`` for dimensionless).
    direction : str
        ``"higher_is_better"``, ``"higher_is_worse"`` or ``"neutral"`` for the skin.
    description : str
        The one-line summary of the metric's docstring.
    formula, reference : str
        Its docstring's ``Formula`` and ``References`` sections.
    needs_scale : bool
        The metric is NaN unless the photo's scale (px per mm) is known.
    """

    name: str
    family: str
    unit: str
    direction: str
    description: str
    formula: str
    reference: str
    needs_scale: bool = False
