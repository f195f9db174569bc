"""The comparison's re-measurements: the before photo's tile grid carried into the after frame."""

from __future__ import annotations

import numpy as np

from mesovision.metrics import grid_labels
from mesovision.remeasure import LABEL_ROWS, after_labels


def _whole_frame(shape_a, shape_b, a_to_b, tile):
    """The labels by the formula on whole-frame grids (what the row blocks must reproduce)."""
    h, w = shape_a
    hb, wb = shape_b
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    den = a_to_b[2, 0] * xx + a_to_b[2, 1] * yy + a_to_b[2, 2]
    xb = (a_to_b[0, 0] * xx + a_to_b[0, 1] * yy + a_to_b[0, 2]) / den
    yb = (a_to_b[1, 0] * xx + a_to_b[1, 1] * yy + a_to_b[1, 2]) / den
    col, row = np.floor((xb + 0.5) / tile), np.floor((yb + 0.5) / tile)
    inside = (xb >= -0.5) & (yb >= -0.5) & (xb < wb - 0.5) & (yb < hb - 0.5)
    return np.where(inside, row * -(-wb // tile) + col, -1).astype(np.int32)


def test_after_labels_of_the_identity_is_the_grid():
    assert np.array_equal(after_labels((50, 70), (50, 70), np.eye(3), 8), grid_labels((50, 70), 8))


def test_after_labels_row_blocks_match_the_whole_frame_formula():
    rng = np.random.default_rng(7)
    for k in range(20):
        m = np.eye(3)
        m[:2] += rng.normal(0.0, 0.05, (2, 3))
        m[:2, 2] = rng.normal(0.0, 20.0, 2)
        if k % 2:  # a perspective map too
            m[2, :2] = rng.normal(0.0, 1e-4, 2)
        shape_a = (int(rng.integers(1, 3 * LABEL_ROWS)), int(rng.integers(1, 90)))
        shape_b = (int(rng.integers(1, 90)), int(rng.integers(1, 90)))
        tile = int(rng.integers(1, 20))
        got = after_labels(shape_a, shape_b, m, tile)
        assert got.dtype == np.int32 and got.shape == shape_a
        assert np.array_equal(got, _whole_frame(shape_a, shape_b, m, tile))
    shifted = np.array([[1.0, 0.0, -1000.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert (after_labels((10, 10), (10, 10), shifted, 4) == -1).all()  # outside the before frame


def test_the_registration_move_is_the_residual_at_the_before_photos_scale(tmp_path):
    """The alignment residual is in the before photo's pixels, so the registration move is the
    residual at the before photo's scoring scale. A half-size after photo sets the common face
    scale, so the before photo is scored at about half its scale, and so is the move. At the
    after photo's scale the moves read 3 and 5 px."""
    import dataclasses

    import cv2
    from conftest import SAMPLES

    from mesovision.pipeline import align_pair
    from mesovision.record import pair_settings
    from mesovision.scoring import plan_scoring

    g = SAMPLES / "grace_hopper"
    full = cv2.imread(str(g / "after_no_change.jpg"))
    half = tmp_path / "after_half.png"
    cv2.imwrite(str(half), cv2.resize(full, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    plans = [
        plan_scoring(
            align_pair(str(g / "before.jpg"), str(after)),
            lighting="auto",
            treated=None,
            metrics=None,
            px_per_mm_at_before=None,
        )
        for after in (g / "after_no_change.jpg", half)
    ]
    for plan in plans:
        assert plan.shift == max(1, round(plan.pair.alignment.residual_px * plan.kb))
    assert plans[1].kb < 0.6 * plans[0].kb  # the half-size photo sets the face scale
    # residuals 4.0 and 5.4 px of the before photo, at its scales 0.90 and 0.47
    assert (plans[0].shift, plans[1].shift) == (4, 3)
    # The residual each move rounds, as result.json records it.
    residuals = []
    for plan in plans:
        settings = pair_settings(dataclasses.replace(plan, treated=()), np.ones(3), None)
        residuals.append(settings["registration_residual_px"])
        assert settings["registration_residual_px"] == round(
            plan.pair.alignment.residual_px * plan.kb, 4
        )
        assert settings["registration_shift_px"] == plan.shift == max(1, round(residuals[-1]))
    assert [round(r, 1) for r in residuals] == [3.6, 2.5]
