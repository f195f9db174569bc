"""The ``result.json`` record (mesovision.record): schema 3.1 and its readers.

A body comparison of the thigh sample pair (with its ``body_checks``) is the 3.1 record; the same
record without ``scale``, ``hairline`` and ``body_checks``, labelled 3.0, is what an earlier
version wrote. Every reader of records in the code -- the CLI summary, ``progress`` and
``export`` rows, the batch tables' columns and the report -- takes both. The frontal hairline's
changes, with known heights, become rows of their own (:func:`record_changes`).
"""

from __future__ import annotations

import copy
import math

import pytest
from conftest import SAMPLES

from mesovision.hairline import CAPTURE_SD_IOD_PCT, SITES, Hairline, hairline_changes
from mesovision.record import READABLE_SCHEMA_VERSIONS, RESULT_SCHEMA_VERSION, record_changes

THIGH = SAMPLES / "thigh"


@pytest.fixture(scope="module")
def thigh(tmp_path_factory):
    """``(record 3.1, record 3.0, images)`` of the thigh sample pair, written once."""
    import mesovision as mv
    from mesovision.io import to_jsonable, write_png
    from mesovision.record import comparison_record

    cmp = mv.compare(THIGH / "before.jpg", THIGH / "after_treated.jpg", mode="body",
                     px_per_mm=4.0)  # fmt: skip
    out = cmp.save(tmp_path_factory.mktemp("thigh") / "out")
    write_png(out / "before.png", cmp.pair.before.rgb)
    images = {p.stem: str(p) for p in out.glob("*.png")}
    new = to_jsonable(comparison_record(cmp))
    old = copy.deepcopy(new)
    for key in ("scale", "hairline", "body_checks"):
        del old[key]
    old["schema_version"] = "3.0"
    return new, old, images


def _hairline_record() -> dict:
    """A hairline record of known heights: every site 100 % IOD before, 108 after (receded),
    each photo's own standard error 0.5 % IOD; mm from an IPD of 63 mm."""
    sites = dict.fromkeys(SITES, 100.0)
    se = dict.fromkeys(SITES, 0.5)
    before = Hairline(sites, se, iod_px=200.0, brow_iod=0.3)
    after = Hairline(dict.fromkeys(SITES, 108.0), se, iod_px=200.0, brow_iod=0.3)
    changes = hairline_changes(before, after, mm_per_iod_pct=(0.63, 0.63))
    return {"before": before.as_dict(), "after": after.as_dict(), "changes": changes,
            "mm_source": "ipd", "note": None}  # fmt: skip


def test_the_schema_version_is_3_2_and_3_0_and_3_1_are_still_read():
    assert RESULT_SCHEMA_VERSION == "3.2"
    assert READABLE_SCHEMA_VERSIONS == ("3.0", "3.1", "3.2")


def test_record_changes_adds_the_hairline_sites_as_regions():
    rec = {"changes": {"area": {"hair.scalp_share_pct": {"delta": 1.0}}},
           "hairline": _hairline_record()}  # fmt: skip
    got = record_changes(rec)
    assert list(got) == ["area", *SITES]
    se = math.sqrt(2 * 0.5**2 + CAPTURE_SD_IOD_PCT**2)
    for site in SITES:
        c = got[site]["hair.hairline_iod_pct"]
        assert c["delta"] == pytest.approx(8.0) and c["se"] == pytest.approx(se)
        assert c["noise_floor"] == pytest.approx(1.959964 * se)
        assert c["relative"] == pytest.approx(0.08)
        assert c["z"] == pytest.approx(8.0 / se) and c["significant"] and c["q"] < 1e-6
        assert c["family"] is None and c["unit"] == "% IOD"
        mm = got[site]["hair.hairline_mm"]
        assert mm["delta"] == pytest.approx(8.0 * 0.63) and mm["unit"] == "mm"
        assert mm["se"] == pytest.approx(se * 0.63) and mm["significant"]
    # a 3.0 record, a record of another mode, a photo without a face: the region changes only
    assert record_changes({"changes": rec["changes"]}) == rec["changes"]
    assert record_changes({"changes": {}, "hairline": None}) == {}
    no_face = {**rec["hairline"], "note": "after.jpg: no face found: ..."}
    assert record_changes({**rec, "hairline": no_face}) == rec["changes"]


def test_the_significant_list_holds_the_hairline_changes_the_summary_prints(thigh, capsys):
    """``significant`` lists the regions' significant changes, then the hairline sites' (what
    ``progress``, ``export`` and the tables mark, :func:`record_changes`); the CLI summary
    prints exactly that list, and names the sites where the hairline moved."""
    from mesovision.commands.compare import print_changes
    from mesovision.record import significant_changes

    new, _, _ = thigh
    assert new["significant"] and all(s["region"] == "area" for s in new["significant"])
    rec = {**new, "hairline": _hairline_record()}
    sig = significant_changes(rec)
    assert sig[: len(new["significant"])] == new["significant"]
    sites = sig[len(new["significant"]) :]
    metrics = ("hair.hairline_iod_pct", "hair.hairline_mm")
    assert [(s["region"], s["metric"]) for s in sites] == [(r, m) for r in SITES for m in metrics]
    se = math.sqrt(2 * 0.5**2 + CAPTURE_SD_IOD_PCT**2)
    for s in sites:
        k = 0.63 if s["metric"] == "hair.hairline_mm" else 1.0
        assert s["delta"] == pytest.approx(8.0 * k)
        assert s["noise_floor"] == pytest.approx(1.959964 * se * k)
    marked = [(r, m) for r, per in record_changes(rec).items() for m, c in per.items()
              if c["significant"]]  # fmt: skip
    assert [(s["region"], s["metric"]) for s in sig] == marked
    print_changes({**rec, "significant": sig})
    out = capsys.readouterr().out.splitlines()
    assert f"hairline: receded at {', '.join(SITES)} (the rows of these sites below)" in out
    rows = [ln.split()[:2] for ln in out if ln.split() and ln.split()[0] in ("area", *SITES)]
    assert rows == [[s["region"], s["metric"]] for s in sig]
    # a photo without a face: no hairline change is listed
    no_face = {**rec["hairline"], "note": "after.jpg: no face found: ..."}
    assert significant_changes({**rec, "hairline": no_face}) == new["significant"]


def test_the_cli_summary_reads_both_versions(thigh, capsys):
    from mesovision.commands.compare import print_changes

    new, old, _ = thigh
    assert all(c["ok"] for c in new["body_checks"])
    for rec in (new, old):
        print_changes(rec)
        out = capsys.readouterr().out
        assert "alignment: " in out and "warning:" not in out
        assert "body.dimple_count" in out


def test_the_batch_columns_read_both_versions(thigh):
    from mesovision.batch.results import body_check_columns

    new, old, _ = thigh
    cols = body_check_columns(new["body_checks"])
    assert cols["framing_overlap"] == new["mismatch"]["overlap"] > 0.95
    assert cols["framing_scale"] == pytest.approx(1.0, abs=0.01)
    assert 0.0 <= cols["light_turn_deg"] < 6.0  # the lamp turned by 3 degrees
    assert cols["body_checks_failed"] is None
    empty = body_check_columns(old.get("body_checks"))
    assert all(math.isnan(empty[k]) for k in ("framing_overlap", "framing_scale", "light_turn_deg"))
    assert empty["body_checks_failed"] is None
    bad = copy.deepcopy(new["body_checks"])
    bad[0]["ok"] = bad[2]["ok"] = False
    assert body_check_columns(bad)["body_checks_failed"] == "framing_overlap,light_after_alignment"


def test_progress_rows_and_the_report_read_both_versions(thigh):
    from mesovision.course import progress_rows
    from mesovision.report import render_html
    from mesovision.report.pair import pair_document

    new, old, images = thigh
    html = {}
    for rec in (new, old):
        doc = pair_document(rec, images, generated_by="test")
        rows = progress_rows(doc)
        assert len(rows) == sum(len(per) for per in rec["changes"].values())
        dimples = next(r for r in rows if r["metric"] == "body.dimple_count")
        assert dimples["delta"] < 0 and dimples["se"] > 0
        html[rec["schema_version"]] = render_html(doc)
    # the body checks in the quality section's capture checks, with the pair as their photo
    assert "framing_overlap" in html["3.2"] and "after, aligned to before" in html["3.2"]
    assert "framing_overlap" not in html["3.0"]
    # a record of another version is refused, naming the versions the report reads
    doc = pair_document({**new, "schema_version": "2.0"}, images, generated_by="test")
    with pytest.raises(ValueError, match=r"schema_version '2.0'; supported: 3.0, 3.1, 3.2"):
        render_html(doc)


def test_the_hairline_reaches_progress_and_the_report_rows(thigh):
    from mesovision.course import progress_rows
    from mesovision.report._doc import measured_specs, table_rows
    from mesovision.report.pair import pair_document

    new, _, images = thigh
    rec = {**new, "hairline": _hairline_record()}
    rows = [r for r in progress_rows(pair_document(rec, images, generated_by="t"))
            if r["region"] in SITES]  # fmt: skip
    assert len(rows) == 2 * len(SITES)
    se = math.sqrt(2 * 0.5**2 + CAPTURE_SD_IOD_PCT**2)
    for r in rows:
        k = 0.63 if r["metric"] == "hair.hairline_mm" else 1.0
        assert r["delta"] == pytest.approx(8.0 * k) and r["significant"]
        assert r["comparability"] is None and r["z"] == pytest.approx(8.0 / se, rel=1e-6)
    table, _ = table_rows(rec)
    sites = [r for r in table if r.region in SITES]
    assert len(sites) == 2 * len(SITES) and all(r.reading == "worse" for r in sites)
    assert "How far the hairline lies above the eyes" in sites[0].summary
    # the methods list the hairline's measures when the comparison has them
    assert {"hair.hairline_iod_pct", "hair.hairline_mm"} <= set(measured_specs(rec))
    assert "hair.hairline_iod_pct" not in measured_specs(new)
