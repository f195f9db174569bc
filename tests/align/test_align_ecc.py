"""When the ECC refinement is refused, and what is then reported: fast, every number known.

Face mode keeps the landmark fit when ECC fails (too little texture, images that do not
correlate, too small a mask), when ECC moves the stable landmarks too far (a gross failure), or
when it does not raise the correlation (then the disagreement of the two maps is added to the
residual); a local change of the skin is left out of ECC's mask so that it does not pull the map.
Body mode takes ECC's homography only when it raises the correlation and keeps the features'
reprojection error within its bound. The decisions are checked on synthetic pairs of a known
similarity, and, for exact figures, with ``refine_ecc`` replaced by a stub returning a known map
and known correlations. The synthetic pairs are those of ``test_align_synthetic.py``.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from test_align_synthetic import SIZE, T, _body_texture, _landmarks, _points

from mesovision.align import ECC_MAX_SHIFT_IOD, align_body, align_faces
from mesovision.align.ecc import refine_ecc
from mesovision.align.fit import STABLE_LANDMARKS, apply_matrix, fit_landmarks, rms_distance

IOD = 80.0  # pupils (468, 473) 80 px apart, as test_align_synthetic's points


def _translation(dx, dy=0.0):
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _texture(seed=1, shape=(SIZE, SIZE)):
    rng = np.random.default_rng(seed)
    g = gaussian_filter(rng.normal(size=shape), 3.0)
    g = 0.5 + 0.25 * g / g.std()
    return np.clip(np.stack([g, 0.8 * g, 0.7 * g], axis=-1), 0, 1).astype(np.float32)


def _seen_through(before, m):
    """The after photo: ``before`` seen through ``m`` (after -> before): after(x) = before(m x)."""
    return cv2.warpAffine(
        before, m[:2], (before.shape[1], before.shape[0]),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pair():
    before = _texture()
    face = np.zeros((SIZE, SIZE), bool)
    cv2.ellipse(face.view(np.uint8), (150, 150), (80, 100), 0, 0, 360, 1, -1)
    lm_b = _points()
    lm_a = apply_matrix(np.linalg.inv(T), lm_b)  # exact landmarks
    return before, _seen_through(before, T), face, lm_b, lm_a


def _faces(pair, after=None, lm_a=None, refine="ecc"):
    before, after0, face, lm_b, lm_a0 = pair
    return align_faces(
        before, after0 if after is None else after, _landmarks(lm_b),
        _landmarks(lm_a0 if lm_a is None else lm_a), face_mask=face, refine=refine,
    )  # fmt: skip


def _stable(points):
    return points[list(STABLE_LANDMARKS)]


# -- ECC fails: the landmark fit is kept, with the reason --------------------------------------


def test_ecc_fails_on_a_featureless_or_uncorrelated_pair(pair, caplog):
    _, _, face, lm_b, lm_a = pair
    flat = np.full((SIZE, SIZE, 3), 0.5, np.float32)
    with caplog.at_level(logging.INFO, logger="mesovision.align.ecc"):
        assert refine_ecc(flat, flat, T, face, motion=cv2.MOTION_AFFINE) is None
    # the log names OpenCV's reason, its last line
    (rec,) = [r for r in caplog.records if r.name == "mesovision.align.ecc"]
    msg = rec.getMessage()
    assert msg.startswith("ECC refinement did not converge: ") and "\n" not in msg
    assert len(msg) > len("ECC refinement did not converge: ") + 10
    rng = np.random.default_rng(5)
    noise_b, noise_a = (rng.uniform(0, 1, (SIZE, SIZE, 3)).astype(np.float32) for _ in "ba")
    assert refine_ecc(noise_b, noise_a, T, face, motion=cv2.MOTION_AFFINE) is None
    # landmarks off by 2 px at one stable point: the landmark fit and its residual are kept
    k = STABLE_LANDMARKS[3]
    lm_off = lm_a.copy()
    lm_off[k] += (2.0, 0.0)
    for b, a in ((flat, flat), (noise_b, noise_a)):
        al = align_faces(b, a, _landmarks(lm_b), _landmarks(lm_off), face_mask=face)
        # the fit of float32 points, as align_faces makes it
        m = fit_landmarks(_stable(lm_off).astype(np.float32), _stable(lm_b).astype(np.float32))
        assert al.method == "landmarks-similarity"
        assert al.warnings == ("ECC refinement did not converge; landmark fit kept",)
        assert al.matrix == pytest.approx(m, abs=1e-9)
        assert al.residual_px == pytest.approx(
            rms_distance(apply_matrix(m, _stable(lm_off)), _stable(lm_b)), rel=1e-9
        )
        assert al.residual_px > 0.01


def test_the_correlations_are_those_of_the_masked_area(pair):
    # The same texture inside the mask, unrelated texture around it (in the crop's margin):
    # the starting correlation, over the mask, is 1.
    before, _, face, _, _ = pair
    other = _texture(seed=7)
    after = np.where(face[..., None], before, other)
    res = refine_ecc(before, after, np.eye(3), face, motion=cv2.MOTION_AFFINE)
    assert res is not None
    m, cc0, cc1 = res
    assert cc0 == pytest.approx(1.0, abs=2e-3) and cc1 == pytest.approx(1.0, abs=2e-3)
    assert np.abs(m - np.eye(3)).max() < 0.03


def test_ecc_needs_a_mask_of_100_pixels(pair):
    before, after, face, _, _ = pair
    small = np.zeros_like(face)
    small[150:160, 150:160] = True  # 100 px: enough
    assert refine_ecc(before, after, T, small, motion=cv2.MOTION_AFFINE) is not None
    small[159, 159] = False
    assert refine_ecc(before, after, T, small, motion=cv2.MOTION_AFFINE) is None


# -- ECC moves the landmarks too far: rejected ---------------------------------------------------


def test_a_refinement_that_moves_the_landmarks_too_far_is_rejected(pair):
    # Every landmark of the after photo 10 px off (a mesh dragged as a whole, > 8 % of 80 px):
    # ECC finds the true map, which moves the stable landmarks by 10.4 px: rejected as implausible,
    # the landmark fit kept with its own (zero) residual and no disagreement added.
    _, _, _, _, lm_a = pair
    al = _faces(pair, lm_a=lm_a + (10.0, 0.0))
    assert al.method == "landmarks-similarity"
    assert al.matrix == pytest.approx(T @ _translation(-10.0), abs=1e-4)
    assert al.residual_px == pytest.approx(0.0, abs=1e-4)
    (w,) = al.warnings
    assert w.startswith("ECC refinement rejected (correlation ")
    assert w.endswith(", median landmark shift 10.4 px)")
    cc0, cc1 = (float(x) for x in w.split("correlation ")[1].split(",")[0].split(" -> "))
    assert cc1 > 0.99 > cc0  # ECC did raise the correlation: the shift alone rejects it
    # 4 px off (5 % of the IOD): plausible, and ECC corrects it
    near = _faces(pair, lm_a=lm_a + (4.0, 0.0))
    assert near.method == "landmarks-similarity+ecc" and near.warnings == ()
    pts = _points()[:200]
    assert np.abs(apply_matrix(near.matrix, pts) - apply_matrix(T, pts)).max() < 0.1
    assert near.residual_px == pytest.approx(4.0 * 1.04, rel=0.02)


# -- a local change of the skin: left out of ECC's mask ------------------------------------------


def test_a_local_change_does_not_pull_the_refinement(pair):
    # A 30 % darker disc (a bruise) on the after photo: ECC on the whole face would lower the
    # correlation from the exact start; with the change left out it keeps the exact map.
    before, after, face, _, lm_a = pair
    yy, xx = np.mgrid[:SIZE, :SIZE]
    changed = after.copy()
    changed[(yy - 150) ** 2 + (xx - 120) ** 2 <= 20**2] *= 0.7
    whole = refine_ecc(before, changed, T, face, motion=cv2.MOTION_AFFINE)
    assert whole is not None and whole[2] < whole[1]  # pulled: the correlation drops
    al = _faces(pair, after=changed)
    assert al.method == "landmarks-similarity+ecc" and al.warnings == ()
    pts = _points()[:200]
    assert np.abs(apply_matrix(al.matrix, pts) - apply_matrix(T, pts)).max() < 0.03
    assert al.residual_px == pytest.approx(0.0, abs=0.03)


# -- the decision's figures, with ECC's answer given --------------------------------------------


def _stub(monkeypatch, shift, cc0, cc1, calls=None):
    """``refine_ecc`` replaced: the map it is given followed by a translation ``shift``."""

    def fake(before, after, init, mask, *, motion, exclude_changes=False, **kw):
        if calls is not None:
            calls.append((motion, exclude_changes, kw))
        return _translation(*shift) @ init, cc0, cc1

    monkeypatch.setattr("mesovision.align.face.refine_ecc", fake)


def test_ecc_is_called_with_affine_motion_and_the_changes_left_out(pair, monkeypatch):
    calls = []
    _stub(monkeypatch, (0.0, 0.0), 0.5, 0.6, calls)
    al = _faces(pair)
    assert calls == [(cv2.MOTION_AFFINE, True, {})]
    assert al.method == "landmarks-similarity+ecc"


def test_a_plausible_refinement_that_lowers_the_correlation(pair, monkeypatch):
    # ECC's map 3 px (3.0 px at every landmark) from the landmark fit, correlation 0.900 ->
    # 0.850: the landmark fit kept, and the 3 px disagreement added to its residual in
    # quadrature.
    _, _, _, _, lm_a = pair
    k = STABLE_LANDMARKS[3]
    lm_off = lm_a.copy()
    lm_off[k] += (2.0, 0.0)
    base = _faces(pair, lm_a=lm_off, refine="none")
    _stub(monkeypatch, (3.0, 0.0), 0.9, 0.85)
    al = _faces(pair, lm_a=lm_off)
    assert al.method == "landmarks-similarity"
    assert al.matrix == pytest.approx(base.matrix, abs=1e-12)
    assert al.residual_px == pytest.approx(math.hypot(base.residual_px, 3.0), rel=1e-9)
    assert al.residual_iod == pytest.approx(al.residual_px / IOD, rel=1e-9)
    assert al.warnings == (
        "ECC refinement rejected (correlation 0.900 -> 0.850, median landmark shift 3.0 px); "
        "their disagreement, 3.0 px, added to the residual",
    )


def test_equal_correlation_is_not_an_improvement(pair, monkeypatch):
    _stub(monkeypatch, (1.0, 0.0), 0.9, 0.9)
    al = _faces(pair)
    assert al.method == "landmarks-similarity"
    assert al.residual_px == pytest.approx(1.0, rel=1e-4)  # hypot(0, 1)
    assert al.warnings[0].startswith("ECC refinement rejected (correlation 0.900 -> 0.900")


def test_the_shift_is_the_median_over_the_stable_landmarks(pair, monkeypatch):
    limit = ECC_MAX_SHIFT_IOD * IOD  # 6.4 px
    # just under the limit: accepted, the residual measured under ECC's map
    _stub(monkeypatch, (limit - 0.01, 0.0), 0.9, 0.95)
    al = _faces(pair)
    assert al.method == "landmarks-similarity+ecc" and al.warnings == ()
    assert al.residual_px == pytest.approx(limit - 0.01, rel=1e-4)
    # just over: rejected without a disagreement term (implausible), the residual the fit's
    _stub(monkeypatch, (limit + 0.01, 0.0), 0.9, 0.95)
    al = _faces(pair)
    assert al.method == "landmarks-similarity"
    assert al.residual_px == pytest.approx(0.0, abs=1e-4)
    assert al.warnings == (
        "ECC refinement rejected (correlation 0.900 -> 0.950, median landmark shift 6.4 px)",
    )
    # a rotation about the first stable landmark: the median of the landmark shifts, not their
    # mean or maximum, sets the decision (the points far from the centre move most)
    _, _, _, lm_b, _ = pair
    stable_b = _stable(lm_b)
    c = stable_b[0]
    ang = math.radians(4.0)
    r = np.array([[math.cos(ang), -math.sin(ang), 0], [math.sin(ang), math.cos(ang), 0], [0, 0, 1]])
    about = _translation(*c) @ r @ _translation(*-c)
    moves = np.linalg.norm(apply_matrix(about, stable_b) - stable_b, axis=1)
    assert np.median(moves) < limit < moves.max()

    def fake(before, after, init, mask, *, motion, exclude_changes=False, **kw):
        return about @ init, 0.9, 0.95

    monkeypatch.setattr("mesovision.align.face.refine_ecc", fake)
    al = _faces(pair)
    assert al.method == "landmarks-similarity+ecc"
    assert al.residual_px == pytest.approx(
        rms_distance(apply_matrix(about, stable_b), stable_b), rel=1e-4
    )


# -- body mode: ECC's homography taken only when it helps ---------------------------------------


@pytest.fixture(scope="module")
def body_pair():
    h, w = 240, 320
    base = _body_texture(h, w)
    after = _seen_through(base, _translation(-12.0, -8.0))
    mask = np.ones((h, w), bool)
    sift = align_body(base, after, mask=mask, refine=False)
    return base, after, mask, sift


def _body_stub(monkeypatch, shift, cc0, cc1, scale=1.0, calls=None):
    def fake(before, after, init, mask, *, motion, **kw):
        if calls is not None:
            calls.append((motion, kw))
        return scale * (_translation(*shift) @ init), cc0, cc1

    monkeypatch.setattr("mesovision.align.body.refine_ecc", fake)


def test_body_mode_takes_a_refinement_that_helps_normalized(body_pair, monkeypatch):
    base, after, mask, sift = body_pair
    assert sift.method == "sift-ransac-homography" and sift.residual_px < 0.3
    # before pixel (x, y) comes from (x + 12, y + 8) of the 320 x 240 after photo
    assert sift.matrix == pytest.approx(_translation(-12.0, -8.0), abs=0.02)
    assert sift.coverage == pytest.approx((320 - 12) * (240 - 8) / (320 * 240), abs=0.002)
    calls = []
    _body_stub(monkeypatch, (0.5, 0.0), 0.9, 0.95, scale=3.0, calls=calls)
    al = align_body(base, after, mask=mask)
    assert calls == [(cv2.MOTION_HOMOGRAPHY, {})]
    assert al.method == "sift-ransac-homography+ecc"
    # the homography returned is normalized by its h33
    assert al.matrix == pytest.approx(_translation(0.5) @ sift.matrix, abs=1e-12)
    assert al.matrix[2, 2] == 1.0
    assert al.residual_px == pytest.approx(math.hypot(sift.residual_px, 0.5), abs=0.05)
    assert al.n_points == sift.n_points


@pytest.mark.parametrize(
    ("shift", "cc0", "cc1"),
    [((0.5, 0.0), 0.9, 0.9), ((0.5, 0.0), 0.9, 0.8), ((1.5, 0.0), 0.9, 0.95)],
)
def test_body_mode_keeps_the_features_map(body_pair, monkeypatch, shift, cc0, cc1):
    # no gain in correlation, or features reprojected more than 1 px worse: the SIFT map kept
    base, after, mask, sift = body_pair
    _body_stub(monkeypatch, shift, cc0, cc1)
    al = align_body(base, after, mask=mask)
    assert al.method == "sift-ransac-homography"
    assert np.array_equal(al.matrix, sift.matrix)
    assert al.residual_px == sift.residual_px


def test_body_mode_when_ecc_fails(body_pair, monkeypatch):
    base, after, mask, sift = body_pair
    monkeypatch.setattr("mesovision.align.body.refine_ecc", lambda *a, **k: None)
    al = align_body(base, after, mask=mask)
    assert al.method == "sift-ransac-homography" and np.array_equal(al.matrix, sift.matrix)
