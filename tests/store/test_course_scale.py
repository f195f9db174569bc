"""Courses of body and hair views that can be measured: each photo's scale in the store
(``session add|edit --px-per-mm``), the ``trichoscopy:<area>`` view, and body, scalp and
trichoscopy areas declared treated (``--treated body:thigh``)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from mesovision.course import course_document
from mesovision.course.cache import cache_key, comparison_settings
from mesovision.errors import UsageError
from mesovision.regions import validate_region_names, validate_treated
from mesovision.store import PhotoImport, Store
from mesovision.views import view_treated

cli = run_cli


def _save(rgb: np.ndarray, path) -> str:
    if rgb.dtype != np.uint8:
        rgb = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return str(path)


# --------------------------------------------------------------------------------------------
# treated areas and the settings of a stored comparison (fast)
# --------------------------------------------------------------------------------------------


def test_a_sessions_treated_areas_give_each_views_treated_regions():
    areas = validate_treated("left_cheek,body:thigh,trichoscopy:vertex")
    assert view_treated(areas, "front") == ["left_cheek"]
    assert view_treated(areas, "body:thigh") == ["area"]
    assert view_treated(areas, "trichoscopy:vertex") == ["area"]
    assert view_treated(areas, "body:abdomen") == [] == view_treated(areas, "scalp:crown")
    with pytest.raises(UsageError, match="name the view whose area was treated"):
        validate_treated("left_cheek,area")
    with pytest.raises(UsageError, match="unknown treated area 'front'"):
        validate_treated("front")
    assert validate_region_names("area", mode="body") == ("area",)
    with pytest.raises(UsageError, match="'left_cheek' in body mode; its only region: area"):
        validate_region_names("left_cheek", mode="body")
    with pytest.raises(UsageError, match="unknown region 'area'; valid regions: forehead"):
        validate_region_names("area")  # face mode


def test_the_cache_key_holds_the_reference_photos_scale_and_the_views_treated_regions():
    treated = ["body:thigh", "left_cheek"]
    none, eight = (comparison_settings("body:thigh", treated, s) for s in (None, 8.0))
    assert none["treated"] == eight["treated"] == ["area"] and "px_per_mm" not in none
    assert eight["px_per_mm"] == 8.0
    keys = {cache_key("a" * 64, "b" * 64, comparison_settings("body:thigh", treated, s))
            for s in (None, 8.0, 8.5)}  # fmt: skip
    assert len(keys) == 3  # a new scale is a new comparison
    face = comparison_settings("front", treated)
    assert face["treated"] == ["left_cheek"] and face["mode"] == "face"


# --------------------------------------------------------------------------------------------
# command line refusals (fast: before any photo is measured)
# --------------------------------------------------------------------------------------------


def test_the_command_line_refuses_a_trichoscopy_photo_without_scale_and_a_bare_area(tmp_path):
    store = tmp_path / "s"
    assert cli("patient", "add", "P1", "--store", store).returncode == 0
    photo = _save(np.full((64, 64, 3), 0.6, np.float32), tmp_path / "t.png")
    base = ("session", "add", "P1", "--date", "2026-01-01", "--photo", photo, "--store", store)
    proc = cli(*base, "--view", "trichoscopy:vertex")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == (
        f"mesovision: error: {photo}: a trichoscopy:vertex photo needs its scale: give "
        "--px-per-mm (the file's pixels per mm)"
    )
    proc = cli(*base, "--view", "body:thigh", "--treated", "area")
    assert proc.returncode == 2 and "name the view whose area was treated" in proc.stderr
    proc = cli(*base, "--view", "body:thigh", "--px-per-mm", "8", "--px-per-mm", "9")
    assert proc.returncode == 2 and "1 --photo but 2 --px-per-mm" in proc.stderr
    proc = cli(*base, "--view", "body:thigh", "--px-per-mm", "0")
    assert proc.returncode == 2 and "--px-per-mm 0.0 is not a plausible scale" in proc.stderr
    with Store(store) as st:
        assert st.sessions("P1") == []
    out = tmp_path / "o"
    proc = cli("compare", photo, photo, "-o", out, "--mode", "body", "--treated", "left_cheek")
    assert proc.returncode == 2 and "'left_cheek' in body mode; its only region: area" in (
        proc.stderr
    )
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# courses (slow: real comparisons)
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_body_course_takes_the_photos_scale_and_its_treated_area(tmp_path):
    """A thigh rendered at 8 px per mm (:mod:`mesovision.testing.body`), then treated (40 % of
    the dimples removed). Without a scale the comparison runs at the assumed 4 px per mm and
    says so (``result.json`` ``scale.source`` ``assumed``, a course note); ``session edit
    --px-per-mm 8`` gives the baseline photo its scale: the comparison is computed again (a new
    cache key) in mm, and its dimple count is the truth's. ``--treated body:thigh`` makes the
    thigh's headline measure a primary endpoint; the face regions of the same session are not
    the thigh's."""
    from mesovision.testing import body as B

    field = B.body_field(42, size_mm=110)
    kw = dict(px_per_mm=8, size_px=700, light_azimuth_deg=150, light_elevation_deg=30,
              blur_px=0.6, noise_sd=0.01)  # fmt: skip
    r0 = B.render(field, seed=1, **kw)
    r1 = B.render(B.treat(field, seed=3), seed=3, **{**kw, "angle_deg": -1.0})
    store = tmp_path / "s"
    with Store(store) as st:
        st.add_patient("P1")
        for date, r, treated in (("2026-01-01", r0, ["body:thigh", "left_cheek"]),
                                 ("2026-03-01", r1, [])):  # fmt: skip
            path = _save(r.rgb, tmp_path / f"{date}.png")
            st.import_session(
                "P1", date=date, photos=[PhotoImport(path, view="body:thigh")], treated=treated
            )
        base_id = st.sessions("P1")[0]["id"]
        doc = course_document(st, "P1", view="body:thigh")
    rec = doc["comparisons"][0]["record"]
    assert rec["scale"]["source"] == "assumed" and rec["scale"]["px_per_mm_assumed"] == 4.0
    assert rec["scale"]["px_per_mm"] is None
    assert any("dimple and stretch-mark counts assume 4 px per mm" in n for n in doc["notes"])
    assert rec["settings"]["treated"] == ["area"]
    assert [s["treated"] for s in doc["sessions"]] == [["area"], []]
    assert doc["sessions"][0]["treated_areas"] == ["body:thigh", "left_cheek"]
    dimples = rec["changes"]["area"]["body.dimple_count"]
    assert dimples["endpoint"] == "primary"  # the treated area's headline measure
    assumed_before = dimples["before"]

    proc = cli("session", "edit", base_id, "--px-per-mm", "8", "--store", store)
    assert proc.returncode == 0, proc.stderr
    proc = cli("progress", "P1", "--view", "body:thigh", "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert f"session {base_id:<4} 2026-01-01  baseline  8 px/mm" in proc.stdout
    assert "assume 4 px per mm" not in proc.stdout
    with Store(store) as st:
        doc = course_document(st, "P1", view="body:thigh")
        # computed again: the comparison at the assumed scale was dropped with the edit
        settings = [json.loads(r[0]) for r in st.conn.execute("SELECT settings FROM analyses")]
    assert [s.get("px_per_mm") for s in settings] == [8.0]
    assert doc["sessions"][0]["photo"]["px_per_mm"] == 8.0
    rec = doc["comparisons"][0]["record"]
    assert rec["scale"]["source"] == "option" and rec["scale"]["px_per_mm"] == 8.0
    assert not any("assume" in n for n in doc["notes"])
    d = rec["changes"]["area"]["body.dimple_count"]
    truth = r0.truth.dimple_count, r1.truth.dimple_count
    assert abs(d["before"] - truth[0]) <= 0.25 * truth[0] < abs(assumed_before - truth[0])
    assert d["delta"] < 0 and d["significant"] and d["endpoint"] == "primary"
    assert np.isfinite(rec["changes"]["area"]["body.dimple_area_mm2"]["before"])
    with Store(store) as st:  # a face comparison of the session takes its face regions only
        assert comparison_settings("front", st.sessions("P1")[0]["treated"])["treated"] == [
            "left_cheek"
        ]


@pytest.mark.slow
def test_a_trichoscopy_course_follows_hair_density_end_to_end(tmp_path):
    """Close-ups rendered at 50 px per mm (:mod:`mesovision.testing.hair`), then 36 % of the
    hairs gone: filed as ``trichoscopy:vertex`` with their scale, compared in the trichoscopy
    mode by ``progress``, ``export`` and ``report``, listed with the scale by ``store
    manifest``."""
    import dataclasses

    from mesovision.testing.hair import render, trichogram_field

    field = trichogram_field(5, density_per_cm2=200)
    k = int(0.64 * field.n)
    fewer = dataclasses.replace(
        field, p0=field.p0[:k], p1=field.p1[:k], width_um=field.width_um[:k]
    )
    store, view = tmp_path / "s", "trichoscopy:vertex"
    truth = []
    assert cli("patient", "add", "H1", "--store", store).returncode == 0
    for date, f, seed, treated in (("2026-01-01", field, 1, view), ("2026-03-01", fewer, 2, "")):
        r = render(f, px_per_mm=50, size_px=512, seed=seed, angle_deg=1.5 * seed,
                   shift_mm=(0.1 * seed, 0.0), blur_px=0.6, noise_sd=0.01)  # fmt: skip
        truth.append(r.truth.density_per_cm2)
        photo = _save(r.rgb, tmp_path / f"{date}.png")
        proc = cli("session", "add", "H1", "--date", date, "--photo", photo, "--view", view,
                   "--px-per-mm", "50", "--treated", treated, "--store", store)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    proc = cli("progress", "H1", "--view", view, "--json", "--store", store)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    rows = {r["metric"]: r for r in out["rows"] if r["against"] == "baseline"}
    d = rows["hair.density_per_cm2"]
    assert d["significant"] and d["region"] == "area"
    assert truth[1] - truth[0] < -60 and d["delta"] < 0.5 * (truth[1] - truth[0])
    assert rows["hair.scalp_share_pct"]["delta"] > 0
    assert not any("no scale" in n for n in out["notes"])
    with Store(store) as st:  # the treated close-up's headline measure is its primary endpoint
        doc = course_document(st, "H1", view=view)
    changes = doc["comparisons"][0]["record"]["changes"]["area"]
    assert [m for m, c in changes.items() if c["endpoint"] == "primary"] == ["hair.density_per_cm2"]
    proc = cli("export", "H1", "--view", view, "--csv", "--store", store)
    assert proc.returncode == 0, proc.stderr
    exported = [r for r in csv.DictReader(proc.stdout.splitlines())]
    assert {"hair.density_per_cm2", "hair.shaft_width_median_um"} <= {r["metric"] for r in exported}
    proc = cli("report", "H1", "--view", view, "-o", tmp_path / "r.html", "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert 'data-metric="hair.density_per_cm2"' in (tmp_path / "r.html").read_text()
    proc = cli("store", "manifest", tmp_path / "m.csv", "--view", view, "--store", store)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "m.csv", newline="") as f:
        manifest = list(csv.DictReader(f))
    assert [(r["mode"], r["px_per_mm"], r["treated"]) for r in manifest] == [
        ("trichoscopy", "50.0", "area"),
        ("trichoscopy", "50.0", ""),
    ]
