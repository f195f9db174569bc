"""The body renderer (mesovision.testing.body): seeded, and its truth follows the field."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mesovision.testing.body import (
    HALF_DEPTH_RADIUS,
    add_dimples,
    body_field,
    render,
    treat,
)


def test_renders_are_seeded_and_the_truth_follows_the_field():
    f = body_field(5)
    a, b = render(f, seed=1, noise_sd=0.01), render(f, seed=1, noise_sd=0.01)
    assert np.array_equal(a.rgb, b.rgb) and a.truth == b.truth
    assert not np.array_equal(a.rgb, render(f, seed=2, noise_sd=0.01).rgb)
    assert a.rgb.dtype == np.float32 and a.rgb.shape == (512, 512, 3)
    assert 0.0 <= a.rgb.min() and a.rgb.max() <= 1.0
    t = a.truth
    # 512 px at 5 px/mm on a 110 mm field: the frame is the middle 102.4 mm
    inside = np.all(np.abs(f.dimple_xy - 55.0) < 51.2, axis=1)
    assert t.dimple_count == int(inside.sum()) > 20
    assert t.area_mm2 == pytest.approx(102.4**2)
    assert t.dimple_share_pct == pytest.approx(100 * a.dimple_mask.mean())
    lengths = np.hypot(*(f.streak_p1 - f.streak_p0).T) + f.streak_width_mm
    assert t.streak_count == 3 and t.streak_length_mm == pytest.approx(lengths.sum())


def test_dimple_area_is_the_half_depth_disks():
    f = body_field(6)
    t = render(f, px_per_mm=5.0).truth
    disks = math.pi * (HALF_DEPTH_RADIUS * f.dimple_sigma_mm) ** 2
    inside = np.all(np.abs(f.dimple_xy - 55.0) < 51.2 - 2 * f.dimple_sigma_mm[:, None], axis=1)
    # dimples lie 2.2 sigma apart at least: the disks (1.18 sigma) do not overlap
    assert t.dimple_area_mm2 >= disks[inside].sum() * 0.97
    assert t.dimple_area_mm2 <= disks.sum() * 1.03


def test_treatment_and_more_dimples_change_the_count_camera_placement_does_not():
    f = body_field(8)
    n = render(f).truth.dimple_count
    g = treat(f, removed=0.5, shallower=0.5, seed=1)
    assert len(g.dimple_depth_mm) < 0.7 * len(f.dimple_depth_mm)
    assert np.all(g.dimple_depth_mm <= 0.5 * f.dimple_depth_mm.max())
    assert render(g).truth.dimple_count < 0.7 * n
    more = add_dimples(f, 0.5, seed=2)
    assert len(more.dimple_depth_mm) > 1.3 * len(f.dimple_depth_mm)
    moved = render(f, angle_deg=3.0, shift_mm=(1.0, -1.0)).truth
    assert abs(moved.dimple_count - n) <= 3  # only dimples at the frame's edge
    assert render(f, light_azimuth_deg=33.0).truth.light_azimuth_deg == 33.0


def test_the_lamp_lights_the_side_facing_it():
    """A single pit lit from the right (azimuth 0): its left wall faces right, toward the lamp
    (brighter), its right wall faces away (darker); above and below the centre alike."""
    f = body_field(0, dimples_per_cm2=0.0, streaks=0)
    pit = dataclasses.replace(
        f,
        dimple_xy=np.array([[55.0, 55.0]]),
        dimple_sigma_mm=np.array([4.0]),
        dimple_depth_mm=np.array([1.5]),
        micro=np.zeros_like(f.micro),
        albedo=np.ones_like(f.albedo),
    )
    rgb = render(pit, px_per_mm=5.0, light_azimuth_deg=0.0, falloff=0.0).rgb
    y = rgb.mean(axis=2)
    assert y[256, 256 - 20] > y[256, 256 + 20] + 0.05
    assert y[256 - 20, 256] == pytest.approx(y[256 + 20, 256], abs=0.01)
