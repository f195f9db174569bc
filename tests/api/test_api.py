"""The public Python API (mesovision/__init__.py, mesovision/api.py, Comparison's methods)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, SAMPLES, run_cli

import mesovision as mv
from mesovision.errors import OutputExists, UsageError

BEFORE = SAMPLES / "astronaut" / "before.jpg"
AFTER = SAMPLES / "astronaut" / "after_treated.jpg"
TREATED = ["left_cheek"]


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (the import state of this one is shared by tests)."""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def by_path():
    return mv.compare(str(BEFORE), str(AFTER), treated=TREATED)


@pytest.fixture(scope="module")
def photos():
    return mv.load_photo(BEFORE), mv.load_photo(AFTER)


def test_import_loads_no_heavy_library():
    out = _python(
        "import sys, mesovision; "
        "print(sorted(m for m in ('cv2', 'mediapipe', 'scipy', 'pandas', 'matplotlib') "
        "if m in sys.modules))"
    )
    assert out == "[]"


def test_all_and_dir_list_the_public_api():
    assert set(dir(mv)) == set(mv.__all__)
    for name in ("compare", "align", "load_photo", "metrics", "Photo", "Comparison", "Change"):
        assert name in mv.__all__
    for name in mv.__all__:
        assert getattr(mv, name) is not None
    assert issubclass(mv.NoFace, mv.MesovisionError)
    assert mv.Verdict.__module__ == "mesovision.comparability_records"
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        mv.nonexistent  # noqa: B018


def test_submodules_are_reachable_after_importing_the_package_alone():
    """``help(mesovision.api.compare)`` (the docs' advice) works in a fresh interpreter."""
    out = _python(
        "import sys, mesovision\n"
        "print(hasattr(mesovision, 'nope'), hasattr(mesovision, 'x.y'), 'cv2' in sys.modules)\n"
        "print(mesovision.api.compare.__doc__.splitlines()[0])\n"
        "print(mesovision.io.load_photo.__module__)"
    )
    assert out.splitlines() == [
        "False False False",
        "Align, normalize, score and compare two photos (``mesovision compare``).",
        "mesovision.io.load",
    ]


@pytest.mark.parametrize("name", ["compare", "align", "metrics"])
def test_help_on_a_function_named_like_a_submodule_shows_the_function_first(name):
    """``help(mv.compare)`` and IPython's ``mv.compare?`` read ``__doc__``: the function's page
    (signature, parameters, examples), then the module's own docstring."""
    import importlib
    import inspect
    import pydoc

    fn, module = getattr(mv.api, name), importlib.import_module(f"mesovision.{name}")
    doc = inspect.getdoc(getattr(mv, name))
    assert doc.startswith(f"{name}{inspect.signature(fn)}\n\n{inspect.getdoc(fn)}\n\n")
    heading = f"The module mesovision.{name}"
    own = inspect.cleandoc(module.__dict__["__doc__"])
    assert doc.endswith(f"{heading}\n{'-' * len(heading)}\n\n{own}")
    page = pydoc.render_doc(getattr(mv, name), renderer=pydoc.plaintext)
    description = page.split("DESCRIPTION\n", 1)[1]
    assert description.startswith(f"    {inspect.getdoc(fn).splitlines()[0]}\n")


def test_help_shows_the_tour_and_the_functions():
    import pydoc

    page = pydoc.render_doc(mv, renderer=pydoc.plaintext)
    assert "A short tour" in page and "mv.compare(before, after" in page
    for name in ("load_photo", "as_photo", "sample_pair"):  # their full pages, under FUNCTIONS
        assert f"\n    {name}(" in page
    api_page = pydoc.render_doc(mv.api, renderer=pydoc.plaintext)
    for name in ("compare", "align", "metrics"):
        assert f"\n    {name}(" in api_page


@pytest.mark.parametrize(
    "first",
    ["import mesovision.metrics as M", "mesovision.metrics()", "import mesovision.compare"],
)
def test_functions_named_like_submodules_work_in_any_import_order(first):
    """``mv.metrics`` is callable and is the module, whichever is touched first."""
    out = _python(
        f"import mesovision\n{first}\n"
        "import mesovision.metrics as M\n"
        "import mesovision.align as A\n"
        "print(len(M.REGISTRY), len(mesovision.metrics()), callable(mesovision.compare), "
        "A.THRESHOLDS['min_coverage'], mesovision.compare.compare_pair.__name__)"
    )
    n = len(mv.metrics())
    assert out == f"{n} {n} True 0.9 compare_pair"


def _deltas(cmp) -> dict[tuple[str, str], float]:
    return {(r, m): c.delta for r, per in cmp.changes.items() for m, c in per.items()}


def _assert_same_changes(a, b):
    da, db = _deltas(a), _deltas(b)
    assert da.keys() == db.keys()
    for key, value in da.items():
        assert value == pytest.approx(db[key], abs=1e-6, nan_ok=True), key
    assert [(r, m) for r, m, _ in a.significant()] == [(r, m) for r, m, _ in b.significant()]


def test_compare_by_path_finds_the_treatment(by_path):
    # sample_images/astronaut/truth.json: a* lowered by 5 on the left cheek
    c = by_path.changes["left_cheek"]["redness.mean_a"]
    assert c.significant and c.endpoint == "primary"
    assert -5.5 < c.delta < -3.0 and c.se < 1.0
    assert by_path.changes["forehead"]["redness.mean_a"].endpoint == "secondary"
    assert len(by_path.changes) == 10 and len(by_path.significant()) >= 3


@pytest.mark.parametrize("kind", ["uint8", "float64", "photo"])
def test_arrays_and_photos_give_the_changes_of_the_files(by_path, photos, kind):
    b, a = photos
    if kind == "uint8":
        args = [np.round(p.rgb * 255).astype(np.uint8) for p in (b, a)]
    elif kind == "float64":
        args = [p.rgb.astype(np.float64) for p in (b, a)]
    else:
        args = [b, a]
    r = mv.compare(*args, treated=TREATED)
    _assert_same_changes(r, by_path)
    np.testing.assert_allclose(r.pair.alignment.matrix, by_path.pair.alignment.matrix, atol=1e-9)


def test_to_frame_is_tidy_with_stable_dtypes(by_path):
    df = by_path.to_frame()
    assert list(df.columns) == list(mv.Comparison.FRAME_COLUMNS)
    assert {c: str(t) for c, t in df.dtypes.items()} == mv.Comparison.FRAME_COLUMNS
    assert len(df) == sum(len(per) for per in by_path.changes.values()) == 290  # 10 x 29
    row = df[(df.region == "left_cheek") & (df.metric == "redness.mean_a")].iloc[0]
    c = by_path.changes["left_cheek"]["redness.mean_a"]
    assert (row.before, row.after, row.delta) == (c.before, c.after, c.delta)
    assert (row.se, row.q, row.noise_floor) == (c.se, c.q, c.noise_floor)
    assert row.family == "colour" and row.endpoint == "primary" and bool(row.significant)
    assert row.comparability == by_path.verdicts["colour"].status == "comparable"
    assert df.significant.sum() == len(by_path.significant())
    untested = [c for per in by_path.changes.values() for c in per.values() if c.z is None]
    assert df.z.isna().sum() == len(untested)


def test_save_writes_what_the_cli_writes(by_path, tmp_path):
    proc = run_cli("compare", BEFORE, AFTER, "--treated", ",".join(TREATED), "-o", tmp_path / "cli")
    assert proc.returncode == 0, proc.stderr
    out = by_path.save(tmp_path / "api")
    assert out == tmp_path / "api"
    from mesovision.tables import OUTPUT_MARKER

    # the command also lists what it wrote, for a later --force run (its own bookkeeping)
    cli_files = sorted(p.name for p in (tmp_path / "cli").iterdir() if p.name != OUTPUT_MARKER)
    assert (tmp_path / "cli" / OUTPUT_MARKER).is_file()
    assert sorted(p.name for p in out.iterdir()) == cli_files
    assert "result.json" in cli_files and "normalized_after.png" in cli_files
    api_rec = json.loads((out / "result.json").read_text())
    cli_rec = json.loads((tmp_path / "cli" / "result.json").read_text())
    for rec in (api_rec, cli_rec):
        for side in ("before", "after"):
            rec["inputs"][side].pop("file")
    assert api_rec == cli_rec


def test_save_refuses_a_non_empty_folder_unless_forced(by_path, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    with pytest.raises(OutputExists, match="not empty"):
        by_path.save(out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    by_path.save(out, force=True)
    assert (out / "notes.txt").read_text() == "keep"
    rec = json.loads((out / "result.json").read_text())
    assert rec["settings"]["treated"] == TREATED


@pytest.mark.parametrize(
    ("array", "name", "message"),
    [
        (np.zeros((64, 64)), "before", r"before: expected an RGB array shaped \(H, W, 3\)"),
        (np.zeros((64, 64, 4)), "before", r"got shape \(64, 64, 4\)"),
        (np.full((64, 64, 3), 1.2), "after", r"after: float values must be in \[0, 1\]"),
        (np.full((64, 64, 3), -0.1), "after", r"got \[-0.1, -0.1\]"),
        (np.full((64, 64, 3), np.nan), "after", "after: array has NaN"),
        (np.zeros((64, 64, 3), np.int32), "before", "before: unsupported dtype int32"),
    ],
)
def test_bad_arrays_are_refused_naming_the_argument(photos, array, name, message):
    good = photos[0].rgb
    args = (array, good) if name == "before" else (good, array)
    with pytest.raises(ValueError, match=message):
        mv.compare(*args)


def test_large_array_is_reduced_like_a_file():
    p = mv.as_photo(np.zeros((3000, 1500, 3), np.uint8), max_side=1000)
    assert p.size == (500, 1000) and p.scale == 500 / 1500 and p.original_size == (1500, 3000)
    x = np.array([[10.0, 20.0]])
    np.testing.assert_allclose(p.to_original(x), (x + 0.5) * 3 - 0.5)
    assert mv.as_photo(np.zeros((48, 36, 3), np.uint16), max_side=1000).size == (36, 48)


def test_options_are_checked_before_any_work():
    with pytest.raises(UsageError, match="unknown region 'cheek'"):
        mv.compare(BEFORE, AFTER, treated=["cheek"])
    with pytest.raises(UsageError, match="not both"):
        mv.compare(BEFORE, AFTER, ipd_mm=63, px_per_mm=10)
    with pytest.raises(UsageError, match="40-80 mm"):
        mv.compare(BEFORE, AFTER, ipd_mm=6.3)
    with pytest.raises(UsageError, match="ipd_mm needs face or scalp mode"):
        mv.compare(BEFORE, AFTER, ipd_mm=63, mode="body")
    for ppm in (0.0, float("inf"), float("nan"), 1e308):
        with pytest.raises(UsageError, match=r"px_per_mm .* is not a plausible scale \(0.01-"):
            mv.compare(BEFORE, AFTER, px_per_mm=ppm)
    with pytest.raises(UsageError, match="unknown metric 'redness.nope'"):
        mv.compare(BEFORE, AFTER, metrics=["redness.nope"])
    with pytest.raises(ValueError, match="before: expected a file path"):
        mv.compare([[0, 0, 0]], AFTER)


def test_metrics_lists_the_registry():
    from mesovision.metrics import REGISTRY

    infos = mv.metrics()
    assert [m.name for m in infos] == sorted(REGISTRY)
    for m in infos:
        spec = REGISTRY[m.name]
        assert (m.family, m.unit, m.direction, m.description) == (
            spec.family,
            spec.unit,
            spec.direction,
            spec.summary,
        )
        assert m.description and m.formula and m.reference
    texture = mv.metrics("texture")
    assert texture and all(m.family == "texture" for m in texture)
    valid = "valid: body, bruise, hair, pigmentation, redness, swelling, texture"
    with pytest.raises(UsageError, match=valid):
        mv.metrics("melanin")


def test_px_per_mm_is_the_before_file_scale(by_path):
    """``px_per_mm`` is in the before file's pixels: a working copy at half size gets half."""
    r = mv.compare(BEFORE, AFTER, treated=TREATED, px_per_mm=10.0, max_side=512)
    assert r.pair.before.scale == 0.5
    assert r.settings["px_per_mm_at_before"] == 5.0
    by_ipd = mv.compare(BEFORE, AFTER, ipd_mm=63.0, max_side=512)
    iod = by_ipd.pair.before_landmarks.interocular_px
    assert 35 < iod < 55  # about 43 px at half size
    assert by_ipd.settings["px_per_mm_at_before"] == iod / 63.0  # as `compare --ipd-mm 63`
    # the metrics with a scale that a face comparison scores (not the hair or body families')
    from mesovision.metrics import metrics_for_mode

    face = set(metrics_for_mode("face"))
    scaled = [m.name for m in mv.metrics() if m.needs_scale and m.name in face]
    assert scaled
    for name in scaled:
        assert math.isnan(by_path.changes["face"][name].before)
        assert math.isfinite(r.changes["face"][name].before)


def test_result_types_have_no_untyped_fields():
    """Every dataclass an API result holds declares its fields' types (no bare ``dict`` or
    ``object``), down to the nested results."""
    import dataclasses

    from mesovision.metrics import ImageMaps
    from mesovision.metrics.bruise import BruiseResult

    roots = [mv.Comparison, mv.AlignedPair, mv.MetricInfo, mv.Verdict, ImageMaps, BruiseResult]
    seen, bad = set(), []
    for cls in roots + [mv.ScoredPhoto, mv.Alignment, mv.Photo, mv.Landmarks, mv.Change]:
        if cls in seen:
            continue
        seen.add(cls)
        for f in dataclasses.fields(cls):
            t = f.type if isinstance(f.type, str) else repr(f.type)
            if t in ("dict", "list", "tuple", "object") or "object" in t or t.startswith("dict |"):
                bad.append(f"{cls.__name__}.{f.name}: {t}")
    assert len(seen) == 11 and not bad, bad
