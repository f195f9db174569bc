"""Whole-streak flips of the stretch-mark count and length (mesovision.metrics._streak_flip), and
the hysteresis that keeps a streak whole where its contrast dips."""

from __future__ import annotations

import numpy as np
import pytest

from mesovision.metrics._body_detect import STREAK_DA, STREAK_DA_LINK
from mesovision.metrics._streak_flip import STREAK_FLIP_SD, STREAK_GAIN_SD, streak_flip_maps

PPM = 5.0
MIN_LEN_PX = 8.0 * PPM


def _band(contrast_of_column, *, rows=(50, 60), cols=(20, 220), shape=(100, 240)):
    """A horizontal streak (bool) and its ``da`` (a* contrast per column), 0 around it."""
    da = np.zeros(shape, np.float32)
    streak = np.zeros(shape, bool)
    streak[rows[0] : rows[1], cols[0] : cols[1]] = True
    for c in range(*cols):
        da[rows[0] : rows[1], c] = contrast_of_column(c)
    return streak, da


def _variances(streak, da):
    vn, vl = streak_flip_maps(
        streak, da, PPM, da_core=STREAK_DA, da_link=STREAK_DA_LINK, min_len_px=MIN_LEN_PX
    )
    assert np.all(vn[~streak] == 0) and np.all(vl[~streak] == 0)
    return float(vn.sum()), float(vl.sum())


def test_a_strong_streak_does_not_flip():
    # 40 mm long, contrast 8 a* everywhere: no bin is near the link (2) or at risk under a
    # gain of 0.85 (6.8): no count or length variance to speak of.
    vn, vl = _variances(*_band(lambda c: 8.0))
    assert vn < 1e-6 and vl < 1e-3


def test_a_dip_at_the_link_breaks_the_streak_in_two_with_probability_one_half():
    # The middle 1 mm (5 columns, one bin) at exactly the link contrast: another capture
    # breaks the streak there with probability 1/2 into two pieces of 20 mm (both longer than
    # the 8 mm minimum): count variance 1/4 from the noise, plus the gain's: at 0.85 the
    # dip falls under the link (a second streak), at 1.15 not: 0.5 x 1^2. The length loses
    # the broken bin (5 px) either way: 0.25 x 5^2 from the noise, 0.5 x 5^2 from the gain.
    def contrast(c):
        return STREAK_DA_LINK if 120 <= c < 125 else 8.0  # one bin (bins start at column 20)

    vn, vl = _variances(*_band(contrast))
    assert vn == pytest.approx(0.25 + 0.5, abs=0.02)
    assert vl == pytest.approx(0.75 * 5.0**2, rel=0.05)


def test_a_weak_tail_moves_the_length_under_a_contrast_gain():
    # 30 mm at contrast 8, then a 10 mm tail at 2.2 a*: over the link (2) but under it at a
    # gain of 0.85 (1.87). The tail is lost at 0.85 (10 mm = 50 px, one bin either way of
    # where it starts), kept at 1.15: length variance about 0.5 x 50^2 px². The tail's bins
    # are also at risk of breaking by noise (each at p = Phi(-0.2 / 0.5)), which drops the
    # piece beyond the break (under 3 a*, it is no streak of its own).
    def contrast(c):
        return 8.0 if c < 170 else 2.2

    vn, vl = _variances(*_band(contrast))
    gain = 0.5 * 50.0**2
    assert STREAK_FLIP_SD == 0.5 and STREAK_GAIN_SD == 0.15
    assert gain < vl < gain + 10 * 0.25 * 50.0**2
    assert vn < 0.1  # its pieces of the tail are under 8 mm: the count does not move


def test_hysteresis_keeps_a_streak_whole_where_its_contrast_dips():
    # A red streak whose contrast dips to 2.5 a* (under STREAK_DA = 3, over the link 2) over
    # 2 mm in its middle is one streak, counted once, its length end to end; its area is the
    # pixels of da >= 3 only.
    import cv2

    from mesovision.metrics._body_detect import BodyAnalysis

    def contrast(c):
        return 2.5 if 115 <= c < 125 else 6.0

    streak, da = _band(contrast)
    ba = BodyAnalysis(np.zeros(da.shape + (3,), np.float32), np.zeros(da.shape + (3,), np.float32),
                      np.ones(da.shape, bool), PPM)  # fmt: skip
    ba.__dict__["da"] = da  # the contrast map itself (cached property)
    n, _ = cv2.connectedComponents(ba.streak_link.view(np.uint8), connectivity=8)
    assert n - 1 == 1 and np.array_equal(ba.streak_link, streak)
    assert ba.streak.sum() == streak.sum() - 10 * 10
