"""The Python API's arguments: every bad one is a ``UsageError`` naming it, arrays are checked like
files, masks may be arrays, ``sample_pair`` reaches every shipped photo, and the records say what
was used (mesovision/api.py, mesovision/_api_args.py, Comparison.to_dict)."""

from __future__ import annotations

import json
import typing

import numpy as np
import PIL.Image
import pytest
from conftest import SAMPLES

import mesovision as mv
from mesovision.errors import InvalidImage, UsageError

BEFORE = SAMPLES / "astronaut" / "before.jpg"
AFTER = SAMPLES / "astronaut" / "after_treated.jpg"


@pytest.fixture(scope="module")
def small():
    """A quick comparison of the sample pair (working copies at 512 px)."""
    return mv.compare(BEFORE, AFTER, treated=["left_cheek"], max_side=512)


def test_sample_pair_reaches_every_shipped_after_photo():
    names = sorted(p.name for p in SAMPLES.iterdir() if (p / "before.jpg").is_file())
    assert names == ["astronaut", "grace_hopper", "scalp", "thigh"]
    for name in names:
        assert f'"{name}"' in mv.sample_pair.__doc__  # the docstring lists every sample
        for after in ("treated", "no_change"):
            before, photo = mv.sample_pair(name, after)
            assert before.is_file() and photo.is_file(), (name, after)
    assert mv.sample_pair("scalp")[1].name == "after_denser.jpg"
    assert mv.sample_pair("scalp", "denser") == mv.sample_pair("scalp", "treated")
    with pytest.raises(UsageError, match="unknown after photo 'denser' of thigh; valid: no_change"):
        mv.sample_pair("thigh", "denser")


def _bad_calls():
    b, a = BEFORE, AFTER
    good = np.zeros((64, 64, 3), np.uint8)
    n = "must be a positive integer or None, got"
    return [
        ("path: expected a file path", lambda: mv.load_photo(None)),
        (f"max_side {n} 0", lambda: mv.compare(b, a, max_side=0)),
        (f"max_side {n} True", lambda: mv.load_photo(b, max_side=True)),
        (f"max_side {n} -1", lambda: mv.as_photo(good, max_side=-1)),
        ("mask: expected a file path or a numpy array, got int", lambda: mv.compare(b, a, mask=3)),
        (
            r"mask: shape \(10, 10\) is not the before photo's \(rows, columns\) \(1024, 1024\)",
            lambda: mv.align(b, a, mask=np.ones((10, 10), bool)),
        ),
        ("mask: unsupported dtype float64", lambda: mv.align(b, a, mask=np.ones((1024, 1024)))),
        ("mask: no non-zero pixel", lambda: mv.align(b, a, mask=np.zeros((1024, 1024), bool))),
        (f"threads {n} '2'", lambda: mv.compare(b, a, threads="2")),
        (f"threads {n} 0", lambda: mv.compare(b, a, threads=0)),
        (f"threads {n} -3", lambda: mv.align(b, a, threads=-3)),
        (f"threads {n} 2.5", lambda: mv.compare(b, a, threads=2.5)),
        (f"threads {n} True", lambda: mv.compare(b, a, threads=True)),
        ("metrics: no metric name given", lambda: mv.compare(b, a, metrics=[])),
        ("metrics: expected a list of metric names, got 3", lambda: mv.compare(b, a, metrics=3)),
        (
            "unknown mode 'skin'; valid: face, body, scalp, trichoscopy",
            lambda: mv.compare(b, a, mode="skin"),
        ),
        (
            "before: expected a file path, a numpy array or a mesovision.Photo, got None",
            lambda: mv.compare(None, a),
        ),
        (  # an image object: asarray would lose the orientation and profile its file has
            r"after: .* got .*Image.* \(give its file's path, or mesovision.load_photo\(path\): "
            r"numpy.asarray of an image object drops its EXIF orientation and colour profile\)",
            lambda: mv.compare(b, PIL.Image.open(a)),
        ),
    ]


@pytest.mark.parametrize(("message", "call"), _bad_calls(), ids=lambda x: str(x)[:40])
def test_bad_arguments_are_usage_errors_naming_the_argument(message, call):
    with pytest.raises(UsageError, match=message) as info:
        call()
    # one class for a batch loop's `except`: a MesovisionError (exit 2), also a ValueError
    assert isinstance(info.value, mv.MesovisionError) and isinstance(info.value, ValueError)
    assert info.value.exit_code == 2


def test_save_refuses_a_folder_that_is_not_a_path(small, tmp_path):
    with pytest.raises(UsageError, match="out: expected a folder path"):
        small.save(None)


def test_arrays_get_the_size_checks_of_files():
    tiny = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(InvalidImage, match=r"before: image too narrow \(20 x 20 px"):
        mv.compare(tiny, tiny)
    thin = np.zeros((40, 4000, 3), np.uint8)  # 40 px high: 10 px once reduced to 1000
    with pytest.raises(InvalidImage, match="about 10 px wide at max_side 1000"):
        mv.as_photo(thin, name="after", max_side=1000)


def test_metrics_must_be_scored_in_the_mode():
    with pytest.raises(UsageError, match="'hair.density_per_kpx' needs mode trichoscopy, not face"):
        mv.compare(BEFORE, AFTER, metrics=["hair.density_per_kpx"])
    with pytest.raises(UsageError, match="'redness.mean_a' needs mode face or body, not scalp"):
        mv.compare(BEFORE, AFTER, mode="scalp", metrics=["redness.mean_a"])
    with pytest.raises(UsageError, match="unknown metric 'redness.nope'; valid in face mode: "):
        mv.compare(BEFORE, AFTER, metrics="redness.mean_a,redness.nope")


def test_metrics_as_one_string_like_treated():
    r = mv.compare(BEFORE, AFTER, metrics="redness.mean_a, texture.roughness_ra", max_side=512)
    assert {m for per in r.changes.values() for m in per} == {
        "redness.mean_a",
        "texture.roughness_ra",
    }


def test_a_mask_array_measures_what_its_png_measures(tmp_path):
    from PIL import Image

    mask = np.zeros((1024, 1024), bool)
    mask[300:700, 250:800] = True
    png = tmp_path / "mask.png"
    Image.fromarray(mask.astype(np.uint8) * 255).save(png)
    by_file = mv.align(BEFORE, AFTER, mask=png, max_side=512)
    for arr in (mask, mask.astype(np.uint8) * 7):
        by_array = mv.align(BEFORE, AFTER, mask=arr, max_side=512)
        np.testing.assert_array_equal(by_array.measured, by_file.measured)
        assert by_array.settings["mask"] == "array"
    assert by_file.settings["mask"] == str(png)
    assert 0 < by_file.measured.sum() < mv.align(BEFORE, AFTER, max_side=512).measured.sum()


def test_max_side_records_the_working_size_used():
    full = mv.load_photo(BEFORE), mv.load_photo(AFTER)  # 1024 px, full resolution
    half = mv.load_photo(BEFORE, max_side=512), mv.load_photo(AFTER, max_side=512)
    assert mv.align(*full, max_side=512).settings["max_side"] is None
    assert mv.align(*half).settings["max_side"] == 512
    assert mv.align(*half, max_side=512).settings["max_side"] == 512
    assert mv.align(BEFORE, AFTER, max_side=512).settings["max_side"] == 512  # as the CLI's
    assert mv.align(BEFORE, AFTER).settings["max_side"] == 2048


def test_type_hints_resolve():
    import mesovision.api as api

    assert typing.get_type_hints(api.compare)["return"] is mv.Comparison
    assert typing.get_type_hints(api.align)["return"] is mv.AlignedPair
    assert typing.get_type_hints(api.as_photo)["return"] is mv.Photo


def test_to_dict_is_the_saved_result_json(small, tmp_path):
    record = small.to_dict()
    out = small.save(tmp_path / "r")
    assert record == json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert json.loads(json.dumps(record, allow_nan=False)) == record  # JSON types only
    c = small.changes["left_cheek"]["redness.mean_a"]
    assert record["changes"]["left_cheek"]["redness.mean_a"]["delta"] == c.delta
    assert record["settings"]["max_side"] == 512 and record["settings"]["treated"] == ["left_cheek"]
