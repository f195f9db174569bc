"""A saved comparison reads back (``mv.load_result``) with the numbers of the comparison saved."""

from __future__ import annotations

import dataclasses
import json
import math

import pandas as pd
import pytest

import mesovision as mv


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A comparison of the astronaut sample, saved, and read back from its folder."""
    r = mv.compare(*mv.sample_pair(), treated=["left_cheek"], max_side=512)
    out = r.save(tmp_path_factory.mktemp("saved") / "visit-2")
    return r, out, mv.load_result(out)


def _same(a, b) -> bool:
    both_nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    return both_nan or (a == b and (a is None) == (b is None))


def test_the_table_and_the_record_read_back_equal(saved):
    r, out, s = saved
    pd.testing.assert_frame_equal(s.to_frame(), r.to_frame())
    assert {c: str(t) for c, t in s.to_frame().dtypes.items()} == mv.Comparison.FRAME_COLUMNS
    assert s.to_dict() == r.to_dict() == json.loads((out / "result.json").read_text())
    assert s.verdicts == r.verdicts and set(s.verdicts) >= {"colour", "texture"}
    sig = [(g, m) for g, m, _ in s.significant()]
    assert sig == [(g, m) for g, m, _ in r.significant()]
    assert ("left_cheek", "redness.mean_a") in sig
    assert s.settings["lighting"] == "reference" and s.settings["treated"] == ["left_cheek"]
    assert s.path == out / "result.json"


def test_every_change_reads_back_field_by_field(saved):
    r, _, s = saved
    assert list(s.changes) == list(r.changes)
    nan_seen = none_seen = 0
    for region, per in r.changes.items():
        assert list(s.changes[region]) == list(per)
        for metric, c in per.items():
            d = s.changes[region][metric]
            for f in dataclasses.fields(c):
                a, b = getattr(c, f.name), getattr(d, f.name)
                pairs = (
                    [(getattr(a, g.name), getattr(b, g.name)) for g in dataclasses.fields(a)]
                    if f.name == "noise"
                    else [(a, b)]
                )
                for x, y in pairs:
                    assert _same(x, y), (region, metric, f.name, x, y)
                    nan_seen += isinstance(x, float) and math.isnan(x)
                    none_seen += x is None
    assert nan_seen > 0 and none_seen > 0  # both kinds of missing value were read back


def test_a_file_path_and_a_record_read_as_the_folder(saved):
    r, out, s = saved
    for source in (out / "result.json", str(out), r.to_dict()):
        pd.testing.assert_frame_equal(mv.load_result(source).to_frame(), s.to_frame())
    n = sum(len(per) for per in r.changes.values())
    assert repr(mv.load_result(r.to_dict())) == (
        f"<SavedComparison record: {n} changes in {len(r.changes)} regions, "
        f"{len(r.significant())} significant; lighting reference>"
    )
    assert repr(s).startswith(f"<SavedComparison '{out / 'result.json'}': {n} changes")


def test_a_batch_cache_entry_reads_as_its_comparison(saved, tmp_path):
    """``OUT/cache/<cache_key>.json`` of a batch holds the comparison's record with the task:
    it reads as the comparison; the entry of a failed comparison is refused with its error."""
    from mesovision.batch.cache import write_cache_entry
    from mesovision.batch.plan import CACHE_FORMAT

    r, _, s = saved
    (tmp_path / "cache").mkdir()
    entry = {"cache_format": CACHE_FORMAT, "key": "a" * 64, "status": "ok", "log": [],
             "seconds": 1.0, "record": r.to_dict()}  # fmt: skip
    path = write_cache_entry(tmp_path, entry)
    got = mv.load_result(path)
    pd.testing.assert_frame_equal(got.to_frame(), s.to_frame())
    assert got.to_dict() == r.to_dict() and got.path == path
    failed = {**entry, "key": "b" * 64, "status": "failed", "error_type": "NoFace",
              "message": "after.jpg: no face found", "record": None}  # fmt: skip
    with pytest.raises(mv.InputFileError, match=r"json: a batch's comparison that failed, no "
                       r"result: NoFace: after.jpg: no face found$"):  # fmt: skip
        mv.load_result(write_cache_entry(tmp_path, failed))


def test_a_loaded_record_is_a_copy(saved):
    r, _, _ = saved
    record = r.to_dict()
    s = mv.load_result(record)
    record["settings"]["lighting"] = "changed"
    s.to_dict()["settings"]["lighting"] = "changed"
    assert s.settings["lighting"] == "reference"


def test_what_is_not_a_saved_comparison_is_refused_naming_it(saved, tmp_path):
    r, _, _ = saved
    with pytest.raises(mv.InputFileError, match=r"empty/result.json: no result.json here"):
        mv.load_result((tmp_path / "empty").mkdir() or tmp_path / "empty")
    with pytest.raises(mv.InputFileError, match=r"nope.json: no such file"):
        mv.load_result(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(mv.InputFileError, match=r"bad.json: not a result.json: not JSON"):
        mv.load_result(bad)
    bad.write_text('{"rows": []}')
    with pytest.raises(mv.InputFileError, match=r"bad.json: not a comparison's result.json"):
        mv.load_result(bad)
    bad.write_text(json.dumps({**r.to_dict(), "schema_version": "9.0"}))
    with pytest.raises(mv.InputFileError, match=r"version '9.0' cannot be read; readable: 3.0, "):
        mv.load_result(bad)
    broken = r.to_dict()
    del broken["changes"]["left_cheek"]["redness.mean_a"]["noise"]
    with pytest.raises(mv.UsageError, match=r"^record: not a comparison's result.json record"):
        mv.load_result(broken)
    with pytest.raises(mv.UsageError, match="got int"):
        mv.load_result(3)
