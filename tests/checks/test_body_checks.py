"""Capture checks of body photos (mesovision.checks.body) and the body_texture verdict
(mesovision.comparability) on rendered skin with a known lamp."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import SAMPLES

from mesovision.checks import (
    BODY_CHECKS,
    body_pair_checks,
    evaluate_capture,
    light_features,
    measure_capture,
)
from mesovision.checks.thresholds import MAX_LIGHT_TURN_DEG
from mesovision.comparability import Mismatch, verdicts
from mesovision.relief import angle_between_deg
from mesovision.testing.body import body_field, render

THIGH = SAMPLES / "thigh"


def _mismatch(**kw) -> Mismatch:
    base = dict(delta_e00=0.5, n_reference_tiles=20, detail_ratio=1.0, noise_ratio=1.0,
                scoring_iod_px=None, size_ratio=None, jpeg_quality=90, pose_deg=None)  # fmt: skip
    return Mismatch(**{**base, **kw})


@pytest.fixture(scope="module")
def field():
    return body_field(21, dimples_per_cm2=0.4)


def _photo(field, azimuth, **kw):
    return render(field, px_per_mm=4.0, size_px=400, light_azimuth_deg=azimuth, blur_px=0.6,
                  noise_sd=0.01, **kw).rgb  # fmt: skip


@pytest.mark.parametrize("azimuth", [20.0, 140.0, 260.0])
def test_light_features_find_the_lamp_at_capture_time(field, azimuth):
    """At capture time the scale is assumed (the long side taken as 13 cm: 3.9 px/mm for the
    4 px/mm render); the lamp's azimuth is still within 8 degrees."""
    got = light_features(_photo(field, azimuth))
    assert abs(angle_between_deg(azimuth, got["light_azimuth_deg"])) < 8.0
    assert got["light_coherence"] > 0.2


def test_a_turned_lamp_warns_against_the_baseline(field):
    base = measure_capture(_photo(field, 140.0), view="body:thigh")
    same = measure_capture(_photo(field, 145.0, seed=3), view="body:thigh")
    turned = measure_capture(_photo(field, 80.0, seed=4), view="body:thigh")
    ok = {c["name"]: c for c in evaluate_capture(same, baseline=base)}["light_vs_baseline"]
    assert ok["ok"] and ok["value"] < 8.0 and ok["threshold"] == MAX_LIGHT_TURN_DEG
    bad = {c["name"]: c for c in evaluate_capture(turned, baseline=base)}["light_vs_baseline"]
    assert not bad["ok"] and bad["severity"] == "warn"
    assert 50.0 < bad["value"] < 70.0
    assert "comes from the top" in bad["message"] and "(upper left)" in bad["message"]
    # at capture time a turned camera turns the light's azimuth with it
    assert bad["message"].endswith(
        "(upper left) (or the camera was turned): put the lamp and the camera where they were "
        "for the baseline"
    )


def test_a_camera_turned_by_90_degrees_names_the_camera_and_aligns_the_lamp_back(field, tmp_path):
    """The same skin under the same lamp, the camera turned by a quarter turn (portrait to
    landscape): at capture time the light reads 90 degrees away, which the message says may be
    the camera; after the alignment has undone the camera's turn the lamp is where it was."""
    from PIL import Image

    from mesovision.pipeline import align_pair

    before = _photo(field, 140.0)
    turned = np.ascontiguousarray(np.rot90(_photo(field, 140.0, seed=5), -1))
    base = measure_capture(before, view="body:thigh")
    now = measure_capture(turned, view="body:thigh")
    c = {c["name"]: c for c in evaluate_capture(now, baseline=base)}["light_vs_baseline"]
    assert not c["ok"] and 80.0 < c["value"] < 100.0
    assert "(or the camera was turned)" in c["message"]
    paths = []
    for name, rgb in (("before.png", before), ("turned.png", turned)):
        Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    after = {c["name"]: c for c in body_pair_checks(align_pair(*paths, mode="body"))}
    light = after["light_after_alignment"]
    assert light["ok"] and light["value"] < 8.0


def test_body_pair_checks_on_the_sample_pair_and_a_cropped_one(tmp_path):
    from PIL import Image

    from mesovision.pipeline import align_pair

    pair = align_pair(str(THIGH / "before.jpg"), str(THIGH / "after_treated.jpg"), mode="body")
    checks = {c["name"]: c for c in body_pair_checks(pair)}
    assert set(checks) == set(BODY_CHECKS) - {"light_vs_baseline", "no_face"}
    assert all(c["ok"] for c in checks.values()), checks
    assert checks["framing_overlap"]["value"] > 0.95  # moved by 2 mm of 100
    assert checks["framing_scale"]["value"] == pytest.approx(1.0, abs=0.01)
    assert checks["light_after_alignment"]["value"] < 8.0  # the lamp turned by 3 degrees
    # the after photo cut to its left 60 %: the baseline's right part is missing (the
    # alignment itself refuses such a pair unless forced)
    img = Image.open(THIGH / "after_treated.jpg")
    img.crop((0, 0, 240, 400)).save(tmp_path / "crop.jpg", quality=95)
    crop = str(tmp_path / "crop.jpg")
    pair = align_pair(str(THIGH / "before.jpg"), crop, mode="body", force=True)
    c = {c["name"]: c for c in body_pair_checks(pair)}["framing_overlap"]
    assert not c["ok"] and c["value"] == pytest.approx(0.6, abs=0.05)
    assert "frame the same area" in c["message"]


def test_body_texture_verdict_follows_the_light_and_the_framing():
    v = verdicts(_mismatch(light_before_deg=150.0, light_after_deg=154.0, overlap=0.98))
    assert v["body_texture"].status == "comparable"
    assert v["texture"].status == "comparable"
    v = verdicts(_mismatch(light_before_deg=150.0, light_after_deg=165.0, overlap=0.98))
    assert v["body_texture"].status == "limited"
    assert v["body_texture"].inflation == pytest.approx(1.5)
    v = verdicts(_mismatch(light_before_deg=150.0, light_after_deg=190.0, overlap=0.98))
    nc = v["body_texture"]
    assert nc.status == "not_comparable" and not nc.tested
    assert nc.reason == (
        "light: the raking light comes from 40 deg further counter-clockwise (on screen) than "
        "in the baseline, from the left; retake with the baseline's lamp position"
    )
    assert v["texture"] == dataclasses.replace(nc, family="texture")  # texture reads relief
    assert v["colour"].status == "comparable"  # the colour families do not read the lamp
    # across 0 degrees, and clockwise
    m = _mismatch(light_before_deg=10.0, light_after_deg=340.0, overlap=0.98)
    assert m.light_change_deg == pytest.approx(30.0)
    assert "clockwise" in verdicts(m)["body_texture"].reason
    # framing: 60 % of the area
    fr = verdicts(_mismatch(light_before_deg=150.0, light_after_deg=150.0, overlap=0.6))
    assert fr["body_texture"].status == "not_comparable"
    assert fr["body_texture"].reason.startswith("framing: only 60% of the baseline's")
    # no dominant light in one photo: not judged on the light
    m = _mismatch(light_before_deg=None, light_after_deg=200.0, overlap=0.98)
    assert m.light_change_deg is None and verdicts(m)["body_texture"].status == "comparable"
    # a face pair (no overlap measured) has no body_texture verdict, nor limits of the lamp
    face = verdicts(_mismatch(light_before_deg=150.0, light_after_deg=190.0))
    assert "body_texture" not in face and face["texture"].status == "comparable"
    assert dataclasses.asdict(m)["light_after_deg"] == 200.0


@pytest.mark.slow
def test_a_raking_light_change_makes_the_body_family_not_comparable(field, tmp_path):
    """Two renders of the same skin, the lamp turned by 35 degrees: the body family is reported
    untested with the light's reason; turned by 4 degrees: comparable, and no body change is
    significant."""
    from PIL import Image

    import mesovision as mv

    paths = {}
    for name, az, seed in (("b", 140.0, 1), ("small", 144.0, 2), ("large", 175.0, 3)):
        rgb = _photo(field, az, seed=seed)
        paths[name] = tmp_path / f"{name}.png"
        Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(paths[name])
    large = mv.compare(paths["b"], paths["large"], mode="body", px_per_mm=4.0)
    v = large.verdicts["body_texture"]
    assert v.status == "not_comparable" and v.reason.startswith("light: ")
    assert large.mismatch.light_change_deg == pytest.approx(35.0, abs=8.0)
    body = {m: c for m, c in large.changes["area"].items() if m.startswith("body.")}
    assert body and all(c.z is None and not c.significant for c in body.values())
    small = mv.compare(paths["b"], paths["small"], mode="body", px_per_mm=4.0)
    assert small.verdicts["body_texture"].status == "comparable"
    assert not [m for _, m, _ in small.significant() if m.startswith("body.")]


def _aligned_thigh(after, **kw):
    from mesovision.pipeline import align_pair

    return align_pair(str(THIGH / "before.jpg"), str(after), mode="body", **kw)


def test_body_pair_checks_take_the_verdicts_measures_from_a_mismatch(monkeypatch):
    """With the comparison's mismatch the overlap and the lamp come from it (no second light
    measurement); the scale still comes from the alignment."""
    pair = _aligned_thigh(THIGH / "after_treated.jpg")
    alone = {c["name"]: c for c in body_pair_checks(pair)}

    def no_second_measurement(*a, **k):
        raise AssertionError("the light was measured again")

    monkeypatch.setattr("mesovision.checks.body.light_features", no_second_measurement)
    m = _mismatch(light_before_deg=150.0, light_after_deg=190.0, overlap=0.6)
    got = {c["name"]: c for c in body_pair_checks(pair, mismatch=m)}
    assert got["framing_overlap"]["value"] == 0.6 and not got["framing_overlap"]["ok"]
    light = got["light_after_alignment"]
    assert light["value"] == pytest.approx(40.0) and not light["ok"]
    assert light["message"] == (
        "the raking light comes from the left, 40° away from the baseline's (upper left): put "
        "the lamp where it was for the baseline"
    )  # the camera's turn is undone by the alignment: only the lamp moved
    assert got["framing_scale"] == alone["framing_scale"]


def test_framing_scale_of_a_known_zoom(tmp_path):
    """The after photo is its central 80 % enlarged to the whole frame: the skin looks 1.25x
    larger, and 64 % of the baseline's area is left in it."""
    from PIL import Image

    img = Image.open(THIGH / "after_treated.jpg")
    w, h = img.size
    img.crop((w // 10, h // 10, w - w // 10, h - h // 10)).resize((w, h), Image.LANCZOS).save(
        tmp_path / "zoom.jpg", quality=95
    )
    pair = _aligned_thigh(tmp_path / "zoom.jpg", force=True)
    c = {c["name"]: c for c in body_pair_checks(pair)}
    assert c["framing_scale"]["value"] == pytest.approx(1.25, abs=0.02)
    assert not c["framing_scale"]["ok"] and c["framing_scale"]["threshold"] == 1.15
    assert "1.25x larger than in the baseline" in c["framing_scale"]["message"]
    assert c["framing_overlap"]["value"] == pytest.approx(0.64, abs=0.05)


def test_a_body_comparison_records_its_checks_once_with_the_verdicts_measures():
    """``mesovision.compare`` in body mode: the checks in ``settings["body_checks"]`` and in
    ``result.json`` ``body_checks``, their overlap and light turn those of the mismatch; the
    thigh sample's lamp turned by 3 degrees (truth.json), the after photo moved by 2 mm."""
    import mesovision as mv
    from mesovision.record import comparison_record

    cmp = mv.compare(THIGH / "before.jpg", THIGH / "after_treated.jpg", mode="body",
                     px_per_mm=4.0)  # fmt: skip
    checks = {c["name"]: c for c in cmp.settings["body_checks"]}
    assert set(checks) == {"framing_overlap", "framing_scale", "light_after_alignment"}
    assert all(c["ok"] and c["severity"] == "warn" for c in checks.values()), checks
    assert checks["framing_overlap"]["value"] == cmp.mismatch.overlap > 0.95
    turn = checks["light_after_alignment"]["value"]
    assert turn == pytest.approx(round(cmp.mismatch.light_change_deg, 1))
    assert abs(turn - 3.0) < 3.0
    assert checks["framing_scale"]["value"] == pytest.approx(1.0, abs=0.01)
    rec = comparison_record(cmp)
    assert rec["schema_version"] == "3.2"
    assert rec["body_checks"] == cmp.settings["body_checks"]
    assert "body_checks" not in rec["settings"]


def test_add_body_checks_leaves_other_modes_alone():
    from types import SimpleNamespace

    from mesovision.checks import add_body_checks

    for mode in ("face", "scalp", "trichoscopy"):
        cmp = SimpleNamespace(pair=SimpleNamespace(settings={"mode": mode}), settings={})
        assert add_body_checks(cmp) is cmp
