"""Align the after photo onto the before photo.

Face mode (:func:`align_faces`): a robust similarity (or affine) fit on landmarks that do not move
with expression (eye corners, nose bridge and base, forehead, temples, cheekbones; iteratively
reweighted least squares with Tukey's biweight, :func:`fit_landmarks`), then an optional
refinement: ``ecc`` (OpenCV's enhanced-correlation-coefficient maximisation, Evangelidis &
Psarakis 2008, on the face's luminance; invariant to gain and offset of the light; skin that
changed locally between the photos, such as a bruise, is left out of it, :func:`_unchanged`) or
``mesh`` (piecewise affine over MediaPipe's triangle mesh, for small expression differences).
Body mode (:func:`align_body`): SIFT features, RANSAC homography, then ECC.

Every :class:`~mesovision.types.Alignment` states its quality; :func:`check_alignment` compares it
with :data:`THRESHOLDS` and refuses (or, with ``force``, warns). In face mode the residual is the
RMS distance, over the stable landmarks, between the before photo's landmarks and the after
photo's mapped by the final map; when the landmark fit is kept against a plausible intensity
refinement, their disagreement (RMS over the same landmarks) is added in quadrature, as the
landmarks cannot see an error they share. It bounds the mean true error of the map over the mesh
(``benchmarks/alignment_truth.py``: in-plane moves, 3-D head turns up to the pose limits, strong
local changes; every face of ``../shared/faces`` and the samples: in 99 % of the accepted pairs),
including the part a global map cannot follow when the head turned in depth; it does not bound
the largest point error of a turned head (the nose tip, the face's edge), 2-5 times the mean.
Landmarks moved by a bruise around them raise it (a conservative figure for such pairs).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from .errors import AlignmentError, CaptureError, UsageError
from .types import Alignment, Landmarks, Photo

log = logging.getLogger(__name__)

#: Landmarks that do not move with expression: eye corners, nose bridge and base, forehead,
#: temples and upper face oval, cheekbones.
STABLE_LANDMARKS: tuple[int, ...] = (
    33, 133, 362, 263,  # eye corners
    168, 6, 197, 195, 5, 4, 1, 2, 98, 327,  # nose bridge, tip, base
    10, 151, 9, 8, 109, 338, 67, 297,  # forehead
    234, 454, 127, 356, 162, 389, 21, 251, 54, 284, 103, 332,  # temples, upper oval
    116, 345, 123, 352, 117, 346,  # cheekbones
)  # fmt: skip

#: Documented limits. ``face too small``: interocular distance below ``min_interocular_px``
#: (working-copy pixels); ``head turned too far``: yaw or pitch difference beyond the limits;
#: fit residual and covered share of the face.
THRESHOLDS: dict[str, float] = {
    "min_interocular_px": 30.0,
    "max_yaw_difference_deg": 15.0,
    "max_pitch_difference_deg": 15.0,
    "max_residual_iod": 0.05,
    "min_coverage": 0.90,
}

FACE_REFINEMENTS = ("none", "ecc", "mesh")
#: ECC refinement is rejected when it moves the stable landmarks by more than this share of the IOD
#: (median over the landmarks).
ECC_MAX_SHIFT_IOD = 0.08
FACE_MODELS = ("similarity", "affine")


def _h(m23: np.ndarray) -> np.ndarray:
    return np.vstack([np.asarray(m23, np.float64), [0.0, 0.0, 1.0]])


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.c_[pts, np.ones(len(pts))] @ m.T
    return p[:, :2] / p[:, 2:3]


def _rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1))))


def _weighted_fit(src: np.ndarray, dst: np.ndarray, w: np.ndarray, model: str) -> np.ndarray:
    """Weighted least-squares 3x3 map of ``src`` onto ``dst``: similarity (Umeyama 1991, with
    weights) or affine."""
    w = w / w.sum()
    ms, md = w @ src, w @ dst
    a, b = src - ms, dst - md
    if model == "similarity":
        cov = (b * w[:, None]).T @ a
        u, sv, vt = np.linalg.svd(cov)
        d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
        r = u @ d @ vt
        var = float(w @ np.sum(a * a, axis=1))
        lin = r * (float(np.sum(sv * np.diag(d))) / var if var > 0 else 1.0)
    else:
        sw = np.sqrt(w)[:, None]
        lin = np.linalg.lstsq(a * sw, b * sw, rcond=None)[0].T
    m = np.eye(3)
    m[:2, :2], m[:2, 2] = lin, md - lin @ ms
    return m


#: Tukey biweight tuning constant for :func:`fit_landmarks` (the usual one; as the scale is
#: 1.4826 x the median of 2-D distances, a point gets no weight past ~8 standard deviations of
#: isotropic Gaussian noise per axis), and the floor of the scale as a share of the points' spread
#: (detection noise of a landmark is about 1 % of the interocular distance, ~0.5 % of the set's
#: spread).
TUKEY_C = 4.685
MIN_SCALE_SPREAD = 0.005


def fit_landmarks(src: np.ndarray, dst: np.ndarray, *, model: str = "similarity") -> np.ndarray:
    """Robust 3x3 transform mapping ``src`` points onto ``dst``.

    Iteratively reweighted least squares: the least-squares fit of all points, then Tukey's
    biweight (``c`` = :data:`TUKEY_C` times the residuals' robust scale, 1.4826 x their median
    absolute value, floored at :data:`MIN_SCALE_SPREAD` of the points' spread). Unlike a random
    consensus, the result moves continuously with the points: a few landmarks displaced by a local
    skin change lose their weight instead of flipping the fit between subsets, and a map that
    cannot fit every point (a head turned in depth) is a stable compromise over all of them.
    """
    if model not in FACE_MODELS:
        raise UsageError(f"unknown alignment model {model!r}; valid: {', '.join(FACE_MODELS)}")
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if len(src) < 3 or np.linalg.matrix_rank(src - src.mean(axis=0)) < 2:
        raise AlignmentError("landmark fit failed")
    floor = MIN_SCALE_SPREAD * max(float(np.ptp(dst, axis=0).max()), 1.0)
    m = _weighted_fit(src, dst, np.ones(len(src)), model)
    for _ in range(10):
        r = np.linalg.norm(_apply(m, src) - dst, axis=1)
        scale = max(1.4826 * float(np.median(r)), floor)
        u = np.clip(r / (TUKEY_C * scale), 0.0, 1.0)
        w = (1.0 - u * u) ** 2
        if np.count_nonzero(w) < 3 or np.linalg.matrix_rank(src[w > 0] - src.mean(axis=0)) < 2:
            break
        m_new = _weighted_fit(src, dst, w, model)
        done = np.abs(m_new - m).max() < 1e-6
        m = m_new
        if done:
            break
    if not np.all(np.isfinite(m)):
        raise AlignmentError("landmark fit failed")
    return m


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2GRAY)


#: :func:`_unchanged`: a pixel is a local change when its smoothed intensity difference (after
#: the pair's gain and offset) exceeds this many robust standard deviations of the difference, and
#: at least ``CHANGE_MIN_DIFF`` (grey level in [0, 1]). Up to ``CHANGE_MAX_SHARE`` of the mask may
#: be left out; past it the difference is not local (light, expression) and nothing is left out.
CHANGE_Z = 6.0
CHANGE_MIN_DIFF = 0.05
CHANGE_MAX_SHARE = 0.25
#: Smoothing of the difference, in units of the ECC pre-blur.
CHANGE_SIGMA = 4.0


def _unchanged(tmpl: np.ndarray, inp: np.ndarray, mask: np.ndarray, *, sigma: float) -> np.ndarray:
    """``mask`` without the pixels where the skin itself changed between the photos (a bruise, a
    redness patch), so that they do not pull the intensity refinement.

    ``inp`` is the after photo's grey level warped by the landmark fit onto ``tmpl``, the before
    photo's. The difference ``inp - (g * tmpl + o)`` (gain and offset by least squares over the
    mask, as ECC is invariant to them) is smoothed by a Gaussian of ``sigma`` px: a residual
    misalignment leaves thin lobes of both signs along edges that the smoothing cancels, a local
    change of colour is a blob of one sign that it keeps. Pixels past :data:`CHANGE_Z` robust
    standard deviations (and :data:`CHANGE_MIN_DIFF`) are left out, grown by ``sigma``.
    """
    m = mask > 0
    n = int(np.count_nonzero(m))
    if n < 100:
        return mask
    t, a = tmpl[m].astype(np.float64), inp[m].astype(np.float64)
    vt = float(np.var(t))
    g = float(np.cov(t, a, bias=True)[0, 1] / vt) if vt > 1e-12 else 1.0
    o = float(a.mean() - g * t.mean())
    d = (inp - (g * tmpl + o)) * m
    w = cv2.GaussianBlur(m.astype(np.float32), (0, 0), sigma)
    d = cv2.GaussianBlur(d.astype(np.float32), (0, 0), sigma) / np.maximum(w, 1e-3)
    dm = d[m]
    med = float(np.median(dm))
    mad = 1.4826 * float(np.median(np.abs(dm - med)))
    out = m & (np.abs(d - med) > max(CHANGE_Z * mad, CHANGE_MIN_DIFF))
    if not out.any() or np.count_nonzero(out) > CHANGE_MAX_SHARE * n:
        return mask
    k = 2 * int(np.ceil(sigma)) + 1
    out = cv2.dilate(out.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    return (m & ~out).astype(mask.dtype)


def _ecc(
    before: np.ndarray,
    after: np.ndarray,
    init: np.ndarray,
    mask: np.ndarray,
    *,
    motion: int,
    work_px: int = 384,
    exclude_changes: bool = False,
) -> tuple[np.ndarray, float, float] | None:
    """ECC refinement of ``init`` (after->before) on the bounding box of ``mask``, computed on a
    copy whose long side is at most ``work_px``. Returns ``(matrix, cc_init, cc_refined)`` (the
    masked correlation coefficients before and after refinement) or None if it fails.
    ``exclude_changes``: leave skin that changed locally out of the mask (:func:`_unchanged`; face
    mode)."""
    if np.count_nonzero(mask) < 100:
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    pad = int(0.1 * max(cols[-1] - cols[0], rows[-1] - rows[0]))
    x0, y0 = max(0, cols[0] - pad), max(0, rows[0] - pad)
    x1, y1 = min(mask.shape[1], cols[-1] + pad + 1), min(mask.shape[0], rows[-1] + pad + 1)
    s = min(1.0, work_px / max(x1 - x0, y1 - y0))
    # Frame F: before's crop scaled by s.  T maps before px -> F px.
    T = np.array([[s, 0, -s * x0], [0, s, -s * y0], [0, 0, 1.0]])
    fw, fh = max(8, int(round((x1 - x0) * s))), max(8, int(round((y1 - y0) * s)))
    tmpl = cv2.warpAffine(_gray(before), T[:2], (fw, fh), flags=cv2.INTER_AREA)
    m_f = T @ init  # after px -> F px
    inp = cv2.warpAffine(_gray(after), m_f[:2], (fw, fh), flags=cv2.INTER_LINEAR)
    fmask = cv2.warpAffine(mask.astype(np.uint8), T[:2], (fw, fh), flags=cv2.INTER_NEAREST) > 0
    fmask = fmask.astype(np.uint8)
    sigma = max(0.8, 1.0 * (fw / 256))
    tmpl = cv2.GaussianBlur(tmpl, (0, 0), sigma)
    inp = cv2.GaussianBlur(inp, (0, 0), sigma)
    if exclude_changes:
        fmask = _unchanged(tmpl, inp, fmask, sigma=CHANGE_SIGMA * sigma)
    rows = 3 if motion == cv2.MOTION_HOMOGRAPHY else 2
    warp = np.eye(3, dtype=np.float32)[:rows]
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
    try:
        cc0 = float(cv2.computeECC(tmpl, inp, fmask))
        cc, warp = cv2.findTransformECC(tmpl, inp, warp, motion, crit, fmask, 5)
    except cv2.error as e:
        log.info("ECC refinement did not converge: %s", str(e).splitlines()[-1])
        return None
    w = warp.astype(np.float64)
    if w.shape[0] == 2:
        w = _h(w)
    # findTransformECC's warp maps template (F) coords to input (warped-after-in-F) coords.
    # after -> before = T^-1 @ (m_f^-1 composition): before_F = W^-1 @ m_f @ after.
    return np.linalg.inv(T) @ np.linalg.inv(w) @ m_f, cc0, float(cc)


def _coverage(matrix: np.ndarray, flow, after_size: tuple[int, int], mask: np.ndarray) -> float:
    if not mask.any():
        return 0.0
    valid = valid_mask(matrix, flow, after_size, mask.shape[:2])
    return np.count_nonzero(valid & mask) / np.count_nonzero(mask)


def warp_by_matrix(
    src: np.ndarray,
    matrix: np.ndarray,
    size: tuple[int, int],
    *,
    flags: int = cv2.INTER_LINEAR,
    border_mode: int = cv2.BORDER_CONSTANT,
) -> np.ndarray:
    """``src`` resampled by the 3 x 3 map ``matrix`` into an image of ``size`` ``(w, h)``:
    :func:`cv2.warpAffine` when the map is affine (cheaper), else :func:`cv2.warpPerspective`.
    ``flags`` as OpenCV's (interpolation, ``WARP_INVERSE_MAP``); constant borders are 0."""
    if np.allclose(matrix[2], [0, 0, 1]):
        return cv2.warpAffine(src, matrix[:2], size, flags=flags, borderMode=border_mode)
    return cv2.warpPerspective(src, matrix, size, flags=flags, borderMode=border_mode)


def valid_mask(
    matrix: np.ndarray, flow, after_size: tuple[int, int], before_shape: tuple[int, int]
) -> np.ndarray:
    """Before-frame pixels whose source lies inside the after photo."""
    h, w = before_shape[:2]
    if flow is not None:
        aw, ah = after_size
        fx, fy = flow[..., 0], flow[..., 1]
        return (fx >= -0.5) & (fy >= -0.5) & (fx <= aw - 0.5) & (fy <= ah - 0.5)
    ones = np.ones((after_size[1], after_size[0]), np.uint8)
    return warp_by_matrix(ones, matrix, (w, h), flags=cv2.INTER_NEAREST).astype(bool)


def mesh_flow(
    before_lm: Landmarks, after_lm: Landmarks, global_matrix: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """Piecewise-affine flow over MediaPipe's tessellation: inside each mesh triangle of the before
    face, the affine map of that triangle's after-photo vertices; outside, ``global_matrix``."""
    from .landmarks import mesh_triangles

    tris = mesh_triangles()
    h, w = shape[:2]
    inv = np.linalg.inv(global_matrix)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fx = (inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]).astype(np.float32)
    fy = (inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]).astype(np.float32)
    ids = np.full((h, w), -1, np.int32)
    bp, ap = before_lm.points, after_lm.points
    mats = np.zeros((len(tris), 2, 3))
    for k, t in enumerate(tris):
        src = bp[list(t)].astype(np.float32)
        mats[k] = cv2.getAffineTransform(src, ap[list(t)].astype(np.float32))
        cv2.fillConvexPoly(ids, np.round(src).astype(np.int32), k)
    inside = ids >= 0
    m = mats[ids[inside]]
    x, y = xx[inside], yy[inside]
    fx[inside] = m[:, 0, 0] * x + m[:, 0, 1] * y + m[:, 0, 2]
    fy[inside] = m[:, 1, 0] * x + m[:, 1, 1] * y + m[:, 1, 2]
    return np.dstack([fx, fy])


def _original_matrix(m: np.ndarray, before: Photo | None, after: Photo | None) -> np.ndarray:
    if before is None or after is None:
        return m.copy()
    return np.linalg.inv(before.scale_matrix()) @ m @ after.scale_matrix()


def align_faces(
    before_rgb: np.ndarray,
    after_rgb: np.ndarray,
    before_lm: Landmarks,
    after_lm: Landmarks,
    *,
    face_mask: np.ndarray,
    model: str = "similarity",
    refine: str = "ecc",
    before: Photo | None = None,
    after: Photo | None = None,
) -> Alignment:
    """Align the after photo onto the before photo using their face meshes.

    ``face_mask`` is the before photo's ``face`` region (the area measured; used by ECC and for
    coverage). ``before``/``after`` (optional) give the original-file frames for
    ``matrix_original``. Quality is measured on :data:`STABLE_LANDMARKS`: the RMS distance between
    the before landmarks and the after landmarks mapped by the final map (``residual_px``;
    ``residual_iod`` as a share of the before photo's interocular distance), an upper estimate of
    the map's mean error over the face (see the module's docstring).
    """
    if refine not in FACE_REFINEMENTS:
        raise UsageError(f"unknown refinement {refine!r}; valid: {', '.join(FACE_REFINEMENTS)}")
    idx = list(STABLE_LANDMARKS)
    src, dst = after_lm.points[idx], before_lm.points[idx]
    m = fit_landmarks(src.astype(np.float32), dst.astype(np.float32), model=model)
    resid = _rms(_apply(m, src), dst)
    iod = before_lm.interocular_px
    method = f"landmarks-{model}"
    warnings: list[str] = []
    flow = None
    if refine == "ecc":
        # ECC has no similarity motion (Euclidean has no scale): refine with affine; the landmark
        # check below rejects a refinement that drifts away from the landmarks.
        res = _ecc(
            before_rgb, after_rgb, m, face_mask, motion=cv2.MOTION_AFFINE, exclude_changes=True
        )
        if res is not None:
            m2, cc0, cc1 = res
            # Landmarks carry errors of ~1-3 % of the IOD (glasses, hair, expression, and a local
            # skin change such as a bruise moves the landmarks around it), so ECC is judged by its
            # own figure, the correlation, with a guard against gross failure: the refined map may
            # not move the stable landmarks by more than ECC_MAX_SHIFT_IOD (the median over
            # them: a few landmarks displaced by a local change, or a head turned in depth, must
            # not veto a refinement that agrees with the rest).
            shift = float(np.median(np.linalg.norm(_apply(m2, src) - _apply(m, src), axis=1)))
            plausible = shift <= ECC_MAX_SHIFT_IOD * iod
            if cc1 > cc0 and plausible:
                m, method = m2, f"{method}+ecc"
                resid = _rms(_apply(m, src), dst)
            else:
                note = ""
                if plausible:
                    # Two plausible maps: the landmark fit kept, and the intensity refinement
                    # that did not raise the correlation. The landmarks' own residual cannot see
                    # an error they share (the mesh dragged as a whole, by a bruise or the
                    # compression of a small face); their disagreement with the refinement can,
                    # and is added to the residual.
                    disagree = _rms(_apply(m2, src), _apply(m, src))
                    resid = float(np.hypot(resid, disagree))
                    note = f"; their disagreement, {disagree:.1f} px, added to the residual"
                warnings.append(
                    f"ECC refinement rejected (correlation {cc0:.3f} -> {cc1:.3f}, "
                    f"median landmark shift {shift:.1f} px){note}"
                )
        else:
            warnings.append("ECC refinement did not converge; landmark fit kept")
    elif refine == "mesh":
        flow = mesh_flow(before_lm, after_lm, m, before_rgb.shape[:2])
        method = f"{method}+mesh"
    coverage = _coverage(m, flow, (after_rgb.shape[1], after_rgb.shape[0]), face_mask)
    return Alignment(
        method=method,
        matrix=m,
        matrix_original=_original_matrix(m, before, after),
        residual_px=resid,
        residual_iod=resid / iod if iod > 0 else None,
        coverage=coverage,
        pose_before=before_lm.pose,
        pose_after=after_lm.pose,
        n_points=len(idx),
        thresholds=dict(THRESHOLDS),
        warnings=tuple(warnings),
        flow=flow,
    )


def check_capture(landmarks: Landmarks, *, path: str | None = None, force: bool = False) -> list:
    """Refuse a face too small to measure (interocular distance below the threshold)."""
    iod = landmarks.interocular_px
    lim = THRESHOLDS["min_interocular_px"]
    if iod < lim:
        msg = f"face too small: interocular distance {iod:.0f} px, minimum {lim:.0f} px"
        if not force:
            raise CaptureError(msg + " (use --force to proceed)", path=path)
        log.warning("%s: %s; proceeding (--force)", path, msg)
        return [msg]
    return []


def check_alignment(
    alignment: Alignment, *, path: str | None = None, force: bool = False
) -> list[str]:
    """Compare an alignment with its thresholds; raise :class:`AlignmentError` past any of them
    unless ``force`` (then return the problems as warnings)."""
    t = alignment.thresholds or THRESHOLDS
    problems = []
    d = alignment.pose_difference()
    if d is not None:
        if abs(d["yaw_deg"]) > t["max_yaw_difference_deg"]:
            problems.append(
                f"head turned {d['yaw_deg']:+.0f} deg (yaw) from the before photo; limit "
                f"{t['max_yaw_difference_deg']:.0f}"
            )
        if abs(d["pitch_deg"]) > t["max_pitch_difference_deg"]:
            problems.append(
                f"head tilted {d['pitch_deg']:+.0f} deg (pitch) from the before photo; limit "
                f"{t['max_pitch_difference_deg']:.0f}"
            )
    if alignment.residual_iod is not None and alignment.residual_iod > t["max_residual_iod"]:
        problems.append(
            f"alignment residual {100 * alignment.residual_iod:.1f} % of the interocular distance;"
            f" limit {100 * t['max_residual_iod']:.0f} %"
        )
    if alignment.coverage < t["min_coverage"]:
        problems.append(
            f"aligned photo covers {100 * alignment.coverage:.0f} % of the face; limit "
            f"{100 * t['min_coverage']:.0f} %"
        )
    if problems and not force:
        raise AlignmentError(problems[0] + " (use --force to proceed)", path=path)
    for p in problems:
        log.warning("%s: %s; proceeding (--force)", path, p)
    return problems


def warp_to_before(
    after_rgb: np.ndarray, alignment: Alignment, before_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Resample the after photo into the before frame. Returns ``(image, valid_mask)``; invalid
    pixels are 0."""
    h, w = before_shape[:2]
    src = np.ascontiguousarray(after_rgb, dtype=np.float32)
    if alignment.flow is not None:
        out = cv2.remap(src, alignment.flow[..., 0], alignment.flow[..., 1], cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
    else:
        out = warp_by_matrix(src, alignment.matrix, (w, h))
    valid = valid_mask(alignment.matrix, alignment.flow, (after_rgb.shape[1], after_rgb.shape[0]),
                       (h, w))  # fmt: skip
    out[~valid] = 0
    return np.clip(out, 0.0, 1.0), valid


def skin_mask(rgb: np.ndarray) -> np.ndarray:
    """Skin pixels by the classic YCrCb box (Cr 133-173, Cb 77-127; Chai & Ngan 1999), cleaned by
    a morphological opening and closing. For body mode when no mask file is given."""
    u8 = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    ycc = cv2.cvtColor(u8, cv2.COLOR_RGB2YCrCb)
    m = (ycc[..., 1] >= 133) & (ycc[..., 1] <= 173) & (ycc[..., 2] >= 77) & (ycc[..., 2] <= 127)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_OPEN, k)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, k)
    return m.astype(bool)


#: Body mode measures the whole image when skin pixels cover less than this share of it.
MIN_SKIN_SHARE = 0.05


def default_body_mask(rgb: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The measured area of a body photo without a mask file: :func:`skin_mask`, or the whole
    image when skin covers less than ``MIN_SKIN_SHARE`` (then a warning is returned too)."""
    mask = skin_mask(rgb)
    if mask.mean() < MIN_SKIN_SHARE:
        return np.ones(rgb.shape[:2], bool), "no skin area detected; the whole image is measured"
    return mask, None


def align_body(
    before_rgb: np.ndarray,
    after_rgb: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    refine: bool = True,
    before: Photo | None = None,
    after: Photo | None = None,
) -> Alignment:
    """Align photos without a face (thigh, abdomen, arm, scalp): SIFT + RANSAC homography, then
    ECC (homography motion) on ``mask`` (the measured area in the before frame; default: skin
    pixels by :func:`default_body_mask`). Residual = RMS reprojection error of the
    RANSAC inliers."""
    g1 = np.clip(_gray(before_rgb) * 255, 0, 255).astype(np.uint8)
    g2 = np.clip(_gray(after_rgb) * 255, 0, 255).astype(np.uint8)
    sift = cv2.SIFT_create(nfeatures=4000)
    k1, d1 = sift.detectAndCompute(g1, None)
    k2, d2 = sift.detectAndCompute(g2, None)
    if d1 is None or d2 is None or len(k1) < 8 or len(k2) < 8:
        raise AlignmentError("too few image features to align (uniform or blurred photo?)")
    matches = cv2.BFMatcher(cv2.NORM_L2).knnMatch(d2, d1, k=2)
    good = [m for m, n in (p for p in matches if len(p) == 2) if m.distance < 0.75 * n.distance]
    if len(good) < 8:
        raise AlignmentError(f"only {len(good)} matching features; at least 8 are needed")
    src = np.float32([k2[m.queryIdx].pt for m in good])
    dst = np.float32([k1[m.trainIdx].pt for m in good])
    H, inl = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
    if H is None:
        raise AlignmentError("no consistent homography between the photos")
    keep = inl.ravel().astype(bool)
    warnings = []
    if mask is None:
        mask, note = default_body_mask(before_rgb)
        if note:
            warnings.append(note)
    method = "sift-ransac-homography"
    if refine:
        res = _ecc(before_rgb, after_rgb, H, mask, motion=cv2.MOTION_HOMOGRAPHY)
        if res is not None and res[2] > res[1]:
            r1 = _rms(_apply(H, src[keep]), dst[keep])
            r2 = _rms(_apply(res[0], src[keep]), dst[keep])
            if r2 <= max(1.5 * r1, r1 + 1.0):
                H, method = res[0] / res[0][2, 2], method + "+ecc"
    resid = _rms(_apply(H, src[keep]), dst[keep])
    return Alignment(
        method=method,
        matrix=H,
        matrix_original=_original_matrix(H, before, after),
        residual_px=resid,
        residual_iod=None,
        coverage=_coverage(H, None, (after_rgb.shape[1], after_rgb.shape[0]), mask),
        n_points=int(keep.sum()),
        thresholds={"min_coverage": THRESHOLDS["min_coverage"]},
        warnings=tuple(warnings),
    )
