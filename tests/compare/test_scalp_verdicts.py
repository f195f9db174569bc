"""Scalp comparisons: verdicts only for the families the mode scores, and the hair change itself
read neither as a light nor as a noise or focus mismatch (the mismatch is measured on the scalp
between the hairs, :func:`mesovision.mismatch.between_hairs`)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import mesovision as mv
from mesovision.comparability import FAMILIES, Mismatch, verdicts
from mesovision.mismatch import between_hairs

H, W = 900, 1200
PART = (560, 640)


def _hairs(n: int, seed: int) -> list[tuple[float, float, float, float, int]]:
    """``n`` straight hairs combed away from a part (x in :data:`PART`), 40-130 px long."""
    r = np.random.default_rng(seed)
    segs = []
    while len(segs) < n:
        x, y = r.uniform(-50, W + 50), r.uniform(-50, H + 50)
        if PART[0] - 10 < x < PART[1] + 10:
            continue
        ang = r.uniform(-0.6, 0.6) + (np.pi if x < sum(PART) / 2 else 0)
        length = r.uniform(40, 130)
        x2, y2 = x + length * np.cos(ang), y + length * np.sin(ang)
        if min(x, x2) < PART[1] and max(x, x2) > PART[0]:
            continue
        segs.append((x, y, x2, y2, int(r.integers(1, 3))))
    return segs


def _crown(segs, seed: int, *, gain=1.0, dx=0.0, dy=0.0, rot=0.0) -> np.ndarray:
    """Dark hairs on skin-coloured scalp with a smooth mottle, moved, pixel noise (sd 2)."""
    r = np.random.default_rng(seed)
    img = np.zeros((H, W, 3), np.float32)
    img[:] = (215, 170, 150)
    img += cv2.GaussianBlur(r.normal(0, 8, (H, W)).astype(np.float32), (0, 0), 6)[..., None]
    for x, y, x2, y2, t in segs:
        p, q = (int(x * 4), int(y * 4)), (int(x2 * 4), int(y2 * 4))
        cv2.line(img, p, q, (60, 45, 40), t, cv2.LINE_AA, shift=2)
    m = cv2.getRotationMatrix2D((W / 2, H / 2), rot, 1.0)
    m[0, 2] += dx
    m[1, 2] += dy
    img = cv2.warpAffine(img, m, (W, H), borderMode=cv2.BORDER_REFLECT)
    img = img * gain + r.normal(0, 2, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def crowns():
    hairs = _hairs(2500, 1)
    before = _crown(hairs, 1)
    fewer = _crown(hairs[:1600], 3, dx=4, dy=3, rot=-0.8)  # 36 % of the hairs lost
    recap = _crown(hairs, 2, gain=1.08, dx=6, dy=-4, rot=1.0)
    return before, fewer, recap


@pytest.mark.slow
def test_fewer_hairs_are_no_light_or_noise_mismatch(crowns):
    """The same light and noise, 36 % of the hairs lost: only the family scalp mode scores
    (texture, which the hair metrics take) gets a verdict, and it is comparable: the colour,
    noise and detail measured between the hairs agree; the scalp share goes up."""
    before, fewer, _ = crowns
    r = mv.compare(before, fewer, mode="scalp", threads=1)
    assert set(r.verdicts) == {"texture"}
    assert r.verdicts["texture"].status == "comparable", r.verdicts["texture"].reason
    m = r.mismatch
    assert m.delta_e00 < 1.0
    assert 0.8 < m.noise_ratio < 1.25 and 0.85 < m.detail_ratio < 1.18
    share = r.changes["area"]["hair.scalp_share_pct"]
    assert share.delta > 3 and share.significant
    rec = r.to_dict()
    assert set(rec["comparability"]) == {"texture"}


@pytest.mark.slow
def test_a_scalp_recapture_stays_comparable(crowns):
    """The same hairs again, exposure 1.08, the camera moved and turned by 1 deg."""
    before, _, recap = crowns
    r = mv.compare(before, recap, mode="scalp", threads=1)
    assert set(r.verdicts) == {"texture"} and r.verdicts["texture"].status == "comparable"


def test_verdicts_for_the_families_named_only():
    """The light measure past colour's not-comparable limit: named families only, each as
    without the filter."""
    m = Mismatch(
        delta_e00=3.9,
        n_reference_tiles=90,
        detail_ratio=1.0,
        noise_ratio=1.0,
        scoring_iod_px=None,
        size_ratio=None,
        jpeg_quality=92,
        pose_deg=None,
    )
    full = verdicts(m)
    assert set(full) == set(FAMILIES) - {"body_texture"}
    assert full["colour"].status == "not_comparable"
    only = verdicts(m, {"texture"})
    assert only == {"texture": full["texture"]}


def test_between_hairs_keeps_scalp_clear_of_hair():
    """A 3 px hair on bare scalp: the scalp kept is at least the margin away from it."""
    bare = np.ones((40, 40), bool)
    bare[:, 19:22] = False
    kept = between_hairs(bare, 2)
    assert not kept[:, 17:24].any() and kept[:, :17].all() and kept[:, 24:].all()
