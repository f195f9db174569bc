"""A patient's interpupillary distance (``patient add|edit --ipd-mm``): the scale of the front
view's stored comparisons, as ``compare --ipd-mm`` gives it, so that ``progress`` and ``report``
give the swelling in mm too; a patient without one gets what a course always gave."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLES, run_cli

from mesovision.course.cache import IPD_VIEW, cache_key, comparison_settings

BEFORE = SAMPLES / "astronaut" / "before.jpg"
AFTER = SAMPLES / "astronaut" / "after_treated.jpg"


def test_the_patient_s_ipd_is_the_scale_of_the_front_view_only():
    treated = ["left_cheek"]
    assert IPD_VIEW == "front"
    plain = comparison_settings("front", treated)
    scaled = comparison_settings("front", treated, None, 63.0)
    assert "ipd_mm" not in plain and scaled["ipd_mm"] == 63.0
    assert {k: v for k, v in scaled.items() if k != "ipd_mm"} == plain
    # a new distance is a new comparison; none is the comparison a course always made
    keys = {cache_key("a" * 64, "b" * 64, comparison_settings("front", treated, None, d))
            for d in (None, 63.0, 64.0)}  # fmt: skip
    assert len(keys) == 3
    # the photo's own scale wins (as --px-per-mm over --ipd-mm); oblique views' eyes are
    # foreshortened: no scale from the distance there
    assert comparison_settings("front", treated, 8.0, 63.0)["px_per_mm"] == 8.0
    assert "ipd_mm" not in comparison_settings("front", treated, 8.0, 63.0)
    for view in ("left-45", "right-45", "body:thigh"):
        assert "ipd_mm" not in comparison_settings(view, treated, None, 63.0)


def _progress(store) -> tuple[dict, dict, str]:
    """``progress --json`` (its rows by region and metric of the comparison with the baseline)
    and the text's first line."""
    proc = run_cli("progress", "P1", "--all", "--json", "--store", store)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    rows = {(r["region"], r["metric"]): r for r in out["rows"] if r["against"] == "baseline"}
    head = run_cli("progress", "P1", "--store", store).stdout.splitlines()[0]
    return out, rows, head


@pytest.mark.slow
def test_progress_and_report_give_the_swelling_in_mm_at_the_patient_s_ipd(tmp_path):
    store = str(tmp_path / "store")
    assert run_cli("patient", "add", "P1", "--store", store).returncode == 0
    for date, photo in (("2026-01-05", BEFORE), ("2026-01-12", AFTER)):
        add = ("session", "add", "P1", "--date", date, "--photo", photo, "--treated",
               "left_cheek,right_cheek", "--store", store)  # fmt: skip
        assert run_cli(*add).returncode == 0
    # no distance: no swelling in mm, and nothing said of a scale
    out, rows, head = _progress(store)
    assert "ipd_mm" not in out and "interpupillary" not in head
    assert rows[("right_cheek", "swelling.contour_mm")]["delta"] is None
    pct = {r: rows[(r, "swelling.contour_pct_iod")]["delta"] for r in ("right_cheek", "chin")}
    assert all(v is not None and v != 0 for v in pct.values()), pct

    proc = run_cli("patient", "edit", "P1", "--ipd-mm", "63", "--store", store)
    assert proc.returncode == 0 and "interpupillary distance 63 mm" in proc.stdout
    shown = run_cli("patient", "show", "P1", "--store", store).stdout
    assert shown.startswith("patient P1, interpupillary distance 63 mm: 2 session(s)")
    out, rows, head = _progress(store)
    assert out["ipd_mm"] == 63.0
    assert head.endswith("; interpupillary distance 63 mm: the scale of the measures in mm "
                         "(swelling.contour_mm and others)")  # fmt: skip
    mm63 = {}
    for region, p in pct.items():
        # the same change (the % IOD unchanged by the scale) in mm: its IOD is about 63 mm
        assert rows[(region, "swelling.contour_pct_iod")]["delta"] == pytest.approx(p)
        mm63[region] = rows[(region, "swelling.contour_mm")]["delta"]
        assert mm63[region] == pytest.approx(p * 0.63, rel=0.03), (region, p)
        assert rows[(region, "swelling.contour_mm")]["unit"] == "mm"

    report = tmp_path / "report.html"
    assert run_cli("report", "P1", "--store", store, "-o", report).returncode == 0
    html = report.read_text(encoding="utf-8")
    assert "interpupillary distance 63 mm (the scale of the measures in mm)" in html
    assert 'data-metric="swelling.contour_mm"' in html

    # a new distance: the comparisons are made again at it
    assert run_cli("patient", "edit", "P1", "--ipd-mm", "70", "--store", store).returncode == 0
    _, rows, _ = _progress(store)
    for region, mm in mm63.items():
        assert rows[(region, "swelling.contour_mm")]["delta"] == pytest.approx(mm * 70 / 63)
    # cleared: the course as without one
    assert run_cli("patient", "edit", "P1", "--ipd-mm", "", "--store", store).returncode == 0
    out, rows, head = _progress(store)
    assert "ipd_mm" not in out and "interpupillary" not in head
    assert rows[("right_cheek", "swelling.contour_mm")]["delta"] is None


def test_an_implausible_ipd_is_refused_before_anything_is_written(tmp_path):
    store = tmp_path / "store"
    proc = run_cli("patient", "add", "P1", "--ipd-mm", "6.3", "--store", store)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        "mesovision: error: --ipd-mm 6.3 is not a plausible interpupillary distance (40-80 mm)\n"
    )
    assert run_cli("patient", "add", "P1", "--store", store).returncode == 0
    for bad in ("abc", "81", "nan"):
        proc = run_cli("patient", "edit", "P1", "--ipd-mm", bad, "--store", store)
        assert proc.returncode == 2 and "--ipd-mm" in proc.stderr, (bad, proc.stderr)
    shown = run_cli("patient", "show", "P1", "--store", store).stdout
    assert shown == "patient P1: 0 session(s)\n"
