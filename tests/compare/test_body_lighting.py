"""Body mode's colour normalization keeps the chroma contrast the stretch marks are found on.

The reference of a body pair is skin of one hue: the "auto" rule chooses among per-channel gain
and offset only (:data:`mesovision.lighting.ONE_HUE_MODELS`); the 3 x 3 matrix it picked on
these renders shrank the after photo's a* contrast, and a new red streak read as one lost.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import mesovision as mv
import mesovision.testing.body as B
from mesovision.lighting import MODELS, ONE_HUE_MODELS
from mesovision.lighting.models import select_model

PPM = 4.0
RENDER = {
    "px_per_mm": PPM,
    "size_px": 600,
    "light_azimuth_deg": 150,
    "light_elevation_deg": 30,
    "blur_px": 0.6,
    "noise_sd": 0.01,
}
#: The painted streak: 188 x 68 px at 4 px/mm, 50 mm long.
STREAK = ((150, 450), (338, 382))
STREAK_MM = float(np.hypot(188, 68)) / PPM


def _u8(render) -> np.ndarray:
    return (np.clip(render.rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def _paint_streak(rgb: np.ndarray) -> np.ndarray:
    """A red-purple band 2.5 mm wide along :data:`STREAK` (a* +6, L* -4 at its centre)."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    mask = np.zeros(rgb.shape[:2], np.float32)
    cv2.line(mask, *STREAK, 1.0, 10, cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.5)
    lab[..., 1] += mask * 6
    lab[..., 0] -= mask * 4
    out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def thigh():
    field = B.body_field(42, size_mm=170)
    before = _u8(B.render(field, seed=1, **RENDER))
    moved = _u8(B.render(field, seed=5, **{**RENDER, "angle_deg": 1.0, "shift_mm": (1, -1)}))
    recap = _u8(
        B.render(
            field,
            seed=2,
            **{
                **RENDER,
                "angle_deg": 1.5,
                "shift_mm": (2, -1.5),
                "gain": 0.95,
                "light_azimuth_deg": 152,
            },
        )
    )
    return before, moved, recap


def _changes(before, after):
    cmp = mv.compare(before, after, mode="body", px_per_mm=PPM, threads=1)
    return cmp, cmp.changes["area"]


@pytest.mark.slow
def test_a_new_stretch_mark_reads_as_one_more(thigh):
    """The same skin, lamp and exposure, the camera moved by 1 deg and 1 mm, one new red streak
    50 mm long: one streak more, about 50 mm longer, a larger red share."""
    before, moved, _ = thigh
    cmp, ch = _changes(before, _paint_streak(moved))
    assert ch["body.streak_count"].delta == 1
    assert ch["body.streak_length_mm"].delta == pytest.approx(STREAK_MM, rel=0.2)
    assert ch["body.streak_length_mm"].significant
    assert (
        ch["body.streak_red_share_pct"].delta > 10 and ch["body.streak_red_share_pct"].significant
    )
    assert cmp.lighting.report.model in ONE_HUE_MODELS


@pytest.mark.slow
def test_a_recapture_under_a_dimmer_turned_lamp_changes_no_streak(thigh):
    """The same skin again, exposure 0.95, the lamp 2 deg away, the camera moved: no streak
    or redness change is significant, and the streaks are all found again."""
    before, _, recap = thigh
    _, ch = _changes(before, recap)
    assert ch["body.streak_count"].delta == 0
    assert abs(ch["body.streak_length_mm"].delta) < ch["body.streak_length_mm"].noise_floor
    moved = sorted(
        m for m, c in ch.items() if c.significant and m.split(".")[0] in ("body", "redness")
    )
    assert moved == []


def test_auto_chooses_among_the_candidates_only():
    """Samples of one hue (skin under a luminance spread) and a colour cast: restricted to
    :data:`ONE_HUE_MODELS`, the rule scores and returns one of them; unrestricted it scores all."""
    rng = np.random.default_rng(0)
    x = np.array([0.55, 0.35, 0.27]) * rng.uniform(0.3, 1.0, (4000, 1))
    x = x * (1 + 0.02 * rng.normal(size=x.shape))
    y = x * np.array([1.05, 0.97, 0.9])
    name, scores = select_model(x, y, candidates=ONE_HUE_MODELS)
    assert name in ONE_HUE_MODELS and set(scores) == set(ONE_HUE_MODELS)
    assert set(select_model(x, y)[1]) == set(MODELS)
    with pytest.raises(mv.UsageError):
        select_model(x, y, candidates=("nonsense",))
