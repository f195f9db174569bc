"""Alignment on synthetic landmarks and textures of a known transform: fast, every number known.

The landmark fit, the warp and its valid area, the mesh flow, the ECC refinement, the change
mask, body mode's skin mask, the face-mode entry and its checks, each on inputs made with a
known similarity ``T`` (after -> before): random landmark sets (the mesh triangulation does not
need a real face for a map that is the same on every triangle) and a smooth random texture.
The real-face counterparts are ``test_align.py`` and ``test_alignment_truth.py``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from mesovision.align import (
    THRESHOLDS,
    align_body,
    align_faces,
    check_alignment,
    check_capture,
    default_body_mask,
    fit_landmarks,
    mesh_flow,
    skin_mask,
    valid_mask,
    warp_by_matrix,
    warp_to_before,
)
from mesovision.align.ecc import refine_ecc, unchanged_mask
from mesovision.align.fit import STABLE_LANDMARKS, apply_matrix, homogeneous, rms_distance
from mesovision.align.warp import covered_share, original_matrix
from mesovision.errors import AlignmentError, CaptureError, UsageError
from mesovision.types import Alignment, HeadPose, Landmarks, Photo

SIZE = 300


def _similarity(scale=1.04, deg=3.0, tx=4.0, ty=-6.0, centre=(150.0, 150.0)):
    c, s = scale * math.cos(math.radians(deg)), scale * math.sin(math.radians(deg))
    cx, cy = centre
    m = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    m[:2, 2] = np.array([cx, cy]) - m[:2, :2] @ np.array([cx, cy]) + np.array([tx, ty])
    return m


T = _similarity()


def _points(seed=0):
    """478 points in a face-sized ellipse; pupils (468, 473) 80 px apart."""
    rng = np.random.default_rng(seed)
    ang = rng.uniform(0, 2 * np.pi, 478)
    rad = np.sqrt(rng.uniform(0, 1, 478))
    pts = np.stack([150 + 90 * rad * np.cos(ang), 150 + 110 * rad * np.sin(ang)], axis=1)
    pts[468], pts[473] = (110.0, 130.0), (190.0, 130.0)
    return pts


def _landmarks(points, pose=(0.0, 0.0, 0.0)):
    return Landmarks(
        points=points,
        z=np.zeros(len(points)),
        image_size=(SIZE, SIZE),
        n_faces=1,
        pose=HeadPose(*pose),
    )


@pytest.fixture(scope="module")
def textures():
    rng = np.random.default_rng(1)
    g = gaussian_filter(rng.normal(size=(SIZE, SIZE)), 3.0)
    g = 0.5 + 0.25 * g / g.std()
    before = np.clip(np.stack([g, 0.8 * g, 0.7 * g], axis=-1), 0, 1).astype(np.float32)
    # after(x) = before(T x): the after photo is the before photo seen through T^-1
    after = cv2.warpAffine(
        before, T[:2], (SIZE, SIZE), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip
    face = np.zeros((SIZE, SIZE), bool)
    cv2.ellipse(face.view(np.uint8), (150, 150), (80, 100), 0, 0, 360, 1, -1)
    return before, after, face


# -- the landmark fit ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["similarity", "affine"])
def test_fit_recovers_an_exact_map(model):
    src = _points()[:60]
    truth = (
        T if model == "similarity" else np.array([[1.1, 0.1, 3.0], [-0.05, 0.9, 7.0], [0, 0, 1]])
    )
    m = fit_landmarks(src, apply_matrix(truth, src), model=model)
    assert m == pytest.approx(truth, abs=1e-9)


def test_similarity_fit_is_never_a_reflection():
    src = _points()[:60]
    mirrored = src * [-1.0, 1.0] + [300.0, 0.0]
    m = fit_landmarks(src, mirrored)
    assert np.linalg.det(m[:2, :2]) > 0
    # the best rotation onto a mirror image leaves a large residual, not zero
    assert rms_distance(apply_matrix(m, src), mirrored) > 20


def test_similarity_scale_of_a_noisy_fit():
    rng = np.random.default_rng(2)
    src = _points()[:200]
    dst = apply_matrix(T, src) + rng.normal(0, 0.5, (200, 2))
    m = fit_landmarks(src, dst)
    assert math.sqrt(np.linalg.det(m[:2, :2])) == pytest.approx(1.04, abs=2e-3)
    assert np.abs(apply_matrix(m, src) - apply_matrix(T, src)).max() < 0.3


def test_fit_gives_no_weight_to_displaced_points():
    src = _points()[:41]
    dst = apply_matrix(T, src)
    dst[[3, 11, 20, 33]] += [[30.0, 0.0], [0.0, -25.0], [15.0, 15.0], [-20.0, 5.0]]
    m = fit_landmarks(src, dst)
    assert m == pytest.approx(T, abs=1e-6)


def test_fit_refuses_too_few_or_collinear_points_and_unknown_models():
    src = _points()[:10]
    with pytest.raises(UsageError, match="unknown alignment model 'rigid'; valid: similarity"):
        fit_landmarks(src, src, model="rigid")
    with pytest.raises(AlignmentError, match="landmark fit failed"):
        fit_landmarks(src[:2], src[:2])
    line = np.stack([np.arange(10.0), 2 * np.arange(10.0)], axis=1)
    with pytest.raises(AlignmentError):
        fit_landmarks(line, line)
    three = src[:3]
    assert fit_landmarks(three, apply_matrix(T, three)) == pytest.approx(T, abs=1e-9)


def test_matrix_helpers():
    h = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [0.01, 0.0, 1.0]])
    assert apply_matrix(h, np.array([[10.0, 5.0]]))[0] == pytest.approx([12.0 / 1.1, 5.0 / 1.1])
    assert rms_distance(np.array([[0.0, 0.0], [3.0, 4.0]]), np.zeros((2, 2))) == pytest.approx(
        math.sqrt(12.5)
    )
    assert homogeneous(np.array([[1, 2, 3], [4, 5, 6]])).tolist() == [
        [1, 2, 3],
        [4, 5, 6],
        [0, 0, 1],
    ]


# -- warping -------------------------------------------------------------------------------------


def test_valid_mask_and_coverage_of_a_translation():
    shift = np.array([[1.0, 0.0, 5.0], [0.0, 1.0, -3.0], [0.0, 0.0, 1.0]])  # after -> before
    valid = valid_mask(shift, None, (40, 30), (30, 40))
    expected = np.zeros((30, 40), bool)
    expected[:27, 5:] = True  # before x >= 5 and y <= 26 have a source
    assert np.array_equal(valid, expected)
    assert covered_share(shift, None, (40, 30), np.ones((30, 40), bool)) == pytest.approx(
        27 * 35 / 1200
    )
    assert covered_share(shift, None, (40, 30), np.zeros((30, 40), bool)) == 0.0
    yy, xx = np.mgrid[:30, :40].astype(np.float32)
    flow = np.dstack([xx - 5.3, yy + 2.6])  # before pixel -> after position
    fvalid = valid_mask(shift, flow, (40, 30), (30, 40))
    # inside means within half a pixel of the after photo's pixel centres
    assert np.array_equal(fvalid, (xx - 5.3 >= -0.5) & (yy + 2.6 <= 29.5))
    edge = np.dstack([xx - 0.5, yy + 0.5])  # exactly on the edges: inside
    assert valid_mask(shift, edge, (40, 30), (30, 40)).all()
    # the before photo's shape may carry its channels
    assert np.array_equal(valid_mask(shift, None, (40, 30), (30, 40, 3)), expected)
    past = valid_mask(shift, np.dstack([xx + 0.51, yy - 0.51]), (40, 30), (30, 40))
    assert not past[0].any() and not past[:, 39].any() and past[1:, :39].all()


def test_warp_by_matrix_samples_the_source_at_the_inverse_map():
    yy, xx = np.mgrid[:60, :80].astype(np.float32)
    ramp = (xx + 2.0 * yy).astype(np.float32)
    for m in (
        np.array([[1.0, 0.0, 3.5], [0.0, 1.0, -2.25], [0.0, 0.0, 1.0]]),  # affine
        np.array([[1.0, 0.02, 1.0], [0.01, 1.0, 0.5], [1e-4, 2e-4, 1.0]]),  # homography
    ):
        out = warp_by_matrix(ramp, m, (80, 60))
        pts = np.stack([xx.ravel(), yy.ravel()], axis=1)
        src = apply_matrix(np.linalg.inv(m), pts)
        expected = (src[:, 0] + 2.0 * src[:, 1]).reshape(60, 80)
        inner = (slice(8, -8), slice(8, -8))
        assert out[inner] == pytest.approx(expected[inner], abs=0.02)
        assert out[0, 0] == 0 or m[0, 2] < 0  # constant border: 0 outside


def test_warp_to_before_by_matrix_and_by_flow():
    rng = np.random.default_rng(4)
    after = rng.uniform(0, 1, (30, 40, 3)).astype(np.float32)
    after[0, 0] = 1.3  # out of range: clipped
    shift = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    al = Alignment("t", shift, shift, 0.0, None, 1.0)
    out, valid = warp_to_before(after, al, (30, 40, 3))
    assert np.array_equal(out[1:, 2:], np.clip(after[:-1, :-2], 0, 1))
    assert not valid[0].any() and not valid[:, :2].any() and valid[1:, 2:].all()
    assert (out[~valid] == 0).all() and out.max() <= 1.0
    yy, xx = np.mgrid[:30, :40].astype(np.float32)
    flow = np.dstack([xx - 2.0, yy - 1.0])
    alf = Alignment("t", shift, shift, 0.0, None, 1.0, flow=flow)
    outf, validf = warp_to_before(after, alf, (30, 40))
    assert np.array_equal(validf, valid)
    assert outf[1:, 2:] == pytest.approx(out[1:, 2:], abs=1e-6)


def test_mesh_flow_of_a_global_similarity_is_that_similarity():
    before = _points()
    after = apply_matrix(np.linalg.inv(T), before)
    flow = mesh_flow(_landmarks(before), _landmarks(after), T, (SIZE, SIZE))
    yy, xx = np.mgrid[:SIZE, :SIZE]
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float64)
    expected = apply_matrix(np.linalg.inv(T), pts).reshape(SIZE, SIZE, 2)
    assert flow.dtype == np.float32 and flow.shape == (SIZE, SIZE, 2)
    assert np.abs(flow - expected).max() < 2e-3
    # a global map other than the landmarks': used outside the mesh only
    flow2 = mesh_flow(_landmarks(before), _landmarks(after), np.eye(3), (SIZE, SIZE))
    centre = (slice(140, 160), slice(140, 160))
    assert np.abs(flow2[centre] - expected[centre]).max() < 2e-3
    corner = (slice(0, 10), slice(0, 10))
    assert flow2[corner][..., 0] == pytest.approx(xx[corner], abs=1e-4)
    assert flow2[corner][..., 1] == pytest.approx(yy[corner], abs=1e-4)


def test_mesh_flow_inside_each_triangle_is_that_triangle_s_affine_map(monkeypatch):
    # Two triangles apart (the tessellation replaced), the after landmarks no global map: the
    # pixels of each triangle, the first one included, take that triangle's affine map, the
    # others the global map.
    pts = np.zeros((478, 2))
    pts[:6] = [(40, 40), (120, 50), (60, 130), (180, 180), (260, 170), (220, 260)]
    tris = [(0, 1, 2), (3, 4, 5)]
    monkeypatch.setattr("mesovision.landmarks.mesh_triangles", lambda: tris)
    after = apply_matrix(np.linalg.inv(T), pts)
    after[:6] += [(2.0, -1.0), (-1.5, 2.0), (1.0, 1.0), (-2.0, 0.5), (0.5, -2.0), (1.5, 1.5)]
    flow = mesh_flow(_landmarks(pts), _landmarks(after), T, (SIZE, SIZE))
    yy, xx = np.mgrid[:SIZE, :SIZE]
    covered = np.zeros((SIZE, SIZE), bool)
    for t in tris:
        inside = np.zeros((SIZE, SIZE), np.uint8)
        cv2.fillConvexPoly(inside, np.round(pts[list(t)]).astype(np.int32), 1)
        ys, xs = np.nonzero(inside)
        a = cv2.getAffineTransform(
            pts[list(t)].astype(np.float32), after[list(t)].astype(np.float32)
        )
        expected = np.stack([xs, ys, np.ones_like(xs)], axis=1) @ a.T
        assert flow[ys, xs] == pytest.approx(expected, abs=1e-3), t
        covered |= inside > 0
    glob = apply_matrix(np.linalg.inv(T), np.stack([xx[~covered], yy[~covered]], axis=1))
    assert flow[~covered] == pytest.approx(glob, abs=1e-3)


def test_original_matrix_maps_original_pixels():
    rgb = np.zeros((10, 10, 3), np.float32)
    before = Photo(rgb, None, None, (40, 40), scale=0.25)
    after = Photo(rgb, None, None, (20, 20), scale=0.5)
    mo = original_matrix(T, before, after)
    p_after_orig = np.array([[7.0, 11.0], [3.0, 2.0]])
    p_before_work = apply_matrix(T, after.from_original(p_after_orig))
    assert apply_matrix(mo, p_after_orig) == pytest.approx(before.to_original(p_before_work))
    same = original_matrix(T, None, after)
    assert same == pytest.approx(T) and same is not T


# -- ECC and the change mask ---------------------------------------------------------------------


def test_refine_ecc_recovers_a_known_map(textures):
    before, after, face = textures
    res = refine_ecc(before, after, np.eye(3), face, motion=cv2.MOTION_AFFINE)
    assert res is not None
    m, cc0, cc1 = res
    assert cc1 > 0.99 > cc0
    pts = _points()[:200]
    assert np.abs(apply_matrix(m, pts) - apply_matrix(T, pts)).max() < 0.1
    hom = refine_ecc(before, after, T, face, motion=cv2.MOTION_HOMOGRAPHY, work_px=128)
    assert hom is not None
    assert np.abs(apply_matrix(hom[0], pts) - apply_matrix(T, pts)).max() < 0.3
    tiny = np.zeros_like(face)
    tiny[:9, :11] = True  # 99 px
    assert refine_ecc(before, after, T, tiny, motion=cv2.MOTION_AFFINE) is None


def test_unchanged_mask_leaves_out_a_local_change_only():
    rng = np.random.default_rng(6)
    tmpl = gaussian_filter(rng.normal(size=(120, 120)), 2).astype(np.float32)
    tmpl = 0.5 + 0.1 * tmpl / tmpl.std()
    inp = 0.8 * tmpl + 0.1  # gain and offset: no change
    yy, xx = np.mgrid[:120, :120]
    blob = (yy - 60) ** 2 + (xx - 40) ** 2 <= 10**2
    changed = inp + np.where(blob, np.float32(0.2), np.float32(0.0))
    mask = np.ones((120, 120), np.uint8)
    assert np.array_equal(unchanged_mask(tmpl, inp, mask, sigma=2.0), mask)
    out = unchanged_mask(tmpl, changed, mask, sigma=2.0)
    assert out.dtype == mask.dtype
    assert not out[blob].any()
    far = (yy - 60) ** 2 + (xx - 40) ** 2 > 20**2
    assert out[far].all()
    # a change over more than a quarter of the mask is not local: nothing left out
    wide = inp + np.where(xx < 50, np.float32(0.2), np.float32(0.0))
    assert np.array_equal(unchanged_mask(tmpl, wide, mask, sigma=2.0), mask)
    small = np.zeros_like(mask)
    small[:9, :11] = 1
    assert unchanged_mask(tmpl, changed, small, sigma=2.0) is small


# -- body mode's skin mask -----------------------------------------------------------------------


def test_skin_mask_by_the_ycrcb_box():
    img = np.empty((60, 80, 3), np.float32)
    img[:] = (0.2, 0.3, 0.8)  # blue: Cb far above the box
    img[10:40, 10:50] = (0.8, 0.6, 0.5)  # skin: Cr 156, Cb 107
    img[50:53, 60:63] = (0.8, 0.6, 0.5)  # a 3 x 3 speck: removed by the opening
    m = skin_mask(img)
    rect = np.zeros((60, 80), bool)
    rect[10:40, 10:50] = True
    assert not (m & ~rect).any()  # nothing outside the skin patch, not the speck
    assert m[12:38, 12:48].all()  # the opening by a 7 x 7 disc rounds the corners only
    assert 1200 - 4 * 6 <= m.sum() <= 1200
    mask, note = default_body_mask(img)
    assert np.array_equal(mask, m) and note is None
    # green (Cr 93, Cb 104) and grey (Cr = Cb = 128): inside one bound of the box only
    for colour in ((0.2, 0.6, 0.2), (0.5, 0.5, 0.5)):
        assert not skin_mask(np.full((20, 20, 3), colour, np.float32)).any(), colour
    blue = np.empty((60, 80, 3), np.float32)
    blue[:] = (0.2, 0.3, 0.8)
    blue[:5, :10] = (0.8, 0.6, 0.5)  # 50 px of skin: about 1 %, under 5 %
    whole, note = default_body_mask(blue)
    assert whole.all() and whole.dtype == bool and whole.shape == (60, 80)
    assert note == "no skin area detected; the whole image is measured"


# -- face mode -----------------------------------------------------------------------------------


def test_align_faces_without_refinement_reports_the_true_residual(textures):
    before_rgb, after_rgb, face = textures
    before = _points()
    after = apply_matrix(np.linalg.inv(T), before)
    # one stable landmark displaced by 10 px (in the before frame)
    k = STABLE_LANDMARKS[5]
    after[k] = apply_matrix(np.linalg.inv(T), (before[k] + [6.0, 8.0])[None])[0]
    al = align_faces(
        before_rgb, after_rgb, _landmarks(before), _landmarks(after, (4.0, -2.0, 1.0)),
        face_mask=face, refine="none",
    )  # fmt: skip
    n = len(STABLE_LANDMARKS)
    assert al.method == "landmarks-similarity"
    assert al.matrix == pytest.approx(T, abs=1e-4)
    assert al.residual_px == pytest.approx(10.0 / math.sqrt(n), rel=1e-6)
    assert al.residual_iod == pytest.approx(al.residual_px / 80.0, rel=1e-9)
    assert al.n_points == n
    assert al.flow is None and al.warnings == ()
    assert al.thresholds == THRESHOLDS
    assert al.pose_difference() == {"yaw_deg": 4.0, "pitch_deg": -2.0, "roll_deg": 1.0}
    assert al.coverage == pytest.approx(covered_share(T, None, (SIZE, SIZE), face))
    assert np.array_equal(al.matrix_original, al.matrix)


def test_align_faces_with_mesh_and_ecc(textures):
    before_rgb, after_rgb, face = textures
    before = _points()
    after = apply_matrix(np.linalg.inv(T), before)
    mesh = align_faces(
        before_rgb, after_rgb, _landmarks(before), _landmarks(after), face_mask=face,
        refine="mesh", model="affine",
    )  # fmt: skip
    assert mesh.method == "landmarks-affine+mesh"
    assert mesh.flow is not None and mesh.flow.shape == (SIZE, SIZE, 2)
    assert mesh.residual_px == pytest.approx(0.0, abs=1e-4)
    # landmarks off by a common 3 px (a mesh dragged as a whole): ECC corrects it
    off = after + [3.0, 0.0]
    ecc = align_faces(
        before_rgb, after_rgb, _landmarks(before), _landmarks(off), face_mask=face, refine="ecc"
    )
    pts = before[:200]
    assert ecc.method == "landmarks-similarity+ecc"
    assert np.abs(apply_matrix(ecc.matrix, pts) - apply_matrix(T, pts)).max() < 0.3
    # its residual is the landmarks' distance under the refined map: the 3 px offset
    assert ecc.residual_px == pytest.approx(3.0 * 1.04, rel=0.05)
    with pytest.raises(UsageError, match="unknown refinement 'warp'; valid: none, ecc, mesh"):
        align_faces(before_rgb, after_rgb, _landmarks(before), _landmarks(after), face_mask=face,
                    refine="warp")  # fmt: skip


def test_align_faces_without_an_interocular_distance(textures):
    before_rgb, after_rgb, face = textures
    before = _points()
    before[473] = before[468]
    after = apply_matrix(np.linalg.inv(T), before)
    al = align_faces(
        before_rgb, after_rgb, _landmarks(before), _landmarks(after), face_mask=face,
        refine="none",
    )  # fmt: skip
    assert al.residual_iod is None
    # pupils half a pixel apart (a degenerate mesh): still a share of that distance
    before[473] = before[468] + [0.5, 0.0]
    k = STABLE_LANDMARKS[5]
    after = apply_matrix(np.linalg.inv(T), before)
    after[k] = apply_matrix(np.linalg.inv(T), (before[k] + [6.0, 8.0])[None])[0]
    al = align_faces(
        before_rgb, after_rgb, _landmarks(before), _landmarks(after), face_mask=face,
        refine="none",
    )  # fmt: skip
    assert al.residual_px > 1.0
    assert al.residual_iod == pytest.approx(al.residual_px / 0.5, rel=1e-9)


def test_check_capture_at_the_face_size_limit():
    pts = _points()
    assert check_capture(_landmarks(pts)) == []
    small = pts.copy()
    small[473] = small[468] + [29.0, 0.0]
    with pytest.raises(
        CaptureError, match=r"face too small: interocular distance 29 px, minimum 30"
    ):
        check_capture(_landmarks(small), path="a.jpg")
    assert check_capture(_landmarks(small), force=True) == [
        "face too small: interocular distance 29 px, minimum 30 px"
    ]
    at = pts.copy()
    at[473] = at[468] + [30.0, 0.0]
    assert check_capture(_landmarks(at)) == []


def _alignment(**kw):
    base = dict(
        method="t", matrix=np.eye(3), matrix_original=np.eye(3), residual_px=1.0,
        residual_iod=0.01, coverage=0.95, pose_before=HeadPose(0.0, 0.0, 0.0),
        pose_after=HeadPose(0.0, 0.0, 0.0), thresholds=dict(THRESHOLDS),
    )  # fmt: skip
    base.update(kw)
    return Alignment(**base)


def test_check_alignment_limits():
    assert check_alignment(_alignment()) == []
    at_limits = _alignment(residual_iod=0.05, coverage=0.90, pose_after=HeadPose(15.0, -15.0, 40.0))
    assert check_alignment(at_limits) == []
    bad = _alignment(residual_iod=0.06, coverage=0.85, pose_after=HeadPose(-16.0, 16.0, 0.0))
    with pytest.raises(AlignmentError) as e:
        check_alignment(bad, path="after.jpg")
    assert str(e.value).endswith(
        "head turned -16 deg (yaw) from the before photo; limit 15 (use --force to proceed)"
    )
    problems = check_alignment(bad, force=True)
    assert problems == [
        "head turned -16 deg (yaw) from the before photo; limit 15",
        "head tilted +16 deg (pitch) from the before photo; limit 15",
        "alignment residual 6.0 % of the interocular distance; limit 5 %",
        "aligned photo covers 85 % of the measured area; limit 90 %",
    ]
    # a face alignment names the face
    face = _alignment(method="landmarks-similarity", coverage=0.85)
    assert check_alignment(face, force=True) == [
        "aligned photo covers 85 % of the face; limit 90 %"
    ]
    no_pose = _alignment(pose_before=None, residual_iod=None, thresholds={})
    assert check_alignment(no_pose) == []


def _body_texture(h: int, w: int, seed: int = 3) -> np.ndarray:
    """A skin-coloured ``(h, w, 3)`` texture with coarse and fine grain (body-mode features)."""
    rng = np.random.default_rng(seed)
    base = np.empty((h, w, 3), np.float32)
    base[:] = (0.78, 0.6, 0.5)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 3)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1)
    return np.clip(base + 0.5 * noise[..., None] + 0.15 * fine[..., None], 0, 1)


def test_body_mode_reports_the_coverage_and_residual_of_its_map():
    h, w = 300, 420
    base = _body_texture(h, w)
    shift = np.array([[1.0, 0.0, 30.0], [0.0, 1.0, -20.0], [0.0, 0.0, 1.0]])
    after = cv2.warpAffine(base, shift[:2], (w, h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)  # fmt: skip
    photos = (Photo(base, None, None, (2 * w, 2 * h), scale=0.5),
              Photo(after, None, None, (4 * w, 4 * h), scale=0.25))  # fmt: skip
    al = align_body(base, after, mask=np.ones((h, w), bool), before=photos[0], after=photos[1])
    assert al.matrix_original == pytest.approx(original_matrix(al.matrix, *photos), abs=1e-12)
    # after(x) = base(x - t): the map after -> before is the translation by -t
    assert al.matrix == pytest.approx(np.linalg.inv(shift), abs=0.05)
    assert al.residual_px < 0.5 and al.residual_iod is None and al.n_points >= 8
    # coverage: the share of before pixels whose source lies inside the after photo
    yy, xx = np.mgrid[:h, :w]
    src = apply_matrix(np.linalg.inv(al.matrix), np.stack([xx.ravel(), yy.ravel()], 1))
    inside = (src[:, 0] >= -0.5) & (src[:, 0] <= w - 0.5) & (src[:, 1] >= -0.5)
    inside &= src[:, 1] <= h - 0.5
    assert al.coverage == pytest.approx(inside.mean(), abs=0.01)
    assert al.coverage == pytest.approx((w - 30) * (h - 20) / (w * h), abs=0.01)
    assert al.thresholds == {"min_coverage": THRESHOLDS["min_coverage"]}
