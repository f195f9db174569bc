"""The shipped demo: the whole pipeline on ``sample_images/`` (made by scripts/make_samples.py)."""

from __future__ import annotations

import logging
from pathlib import Path

from .errors import InputFileError

__all__ = [
    "find_samples",
    "sample_mode",
    "sample_pairs",
    "SAMPLE_TREATED",
    "DEMO_PATIENT",
    "DEMO_COURSE",
    "DEMO_PRODUCT",
    "course_outputs",
    "build_demo_course",
    "run_demo",
]

log = logging.getLogger(__name__)


def find_samples(samples: str | None) -> Path:
    """The sample folder: the one given, else ``./sample_images``, else the repository's."""
    candidates = (
        [Path(samples)]
        if samples
        else [Path.cwd() / "sample_images", Path(__file__).resolve().parents[1] / "sample_images"]
    )
    for c in candidates:
        if (c / "grace_hopper" / "before.jpg").is_file():
            return c
    raise InputFileError(
        "sample folder not found (run from the repository root, or pass --samples DIR)",
        path=str(candidates[0]),
    )


#: What the demo prints last: where the changes painted on the samples are, and which of the
#: changes found beside them are what the painted changes move too.
DEMO_TRUTH_NOTE = (
    "what was painted on each sample is in its truth.json; docs/validation.md ('Validated on "
    "known truth') sets it beside what is found, and says which other significant changes the "
    "painted ones bring"
)


def sample_pairs(folder: Path) -> list[tuple[str, Path, Path]]:
    """``(name, before, after)`` for every ``*/before.jpg`` + ``*/after_*.jpg`` in ``folder``."""
    out = []
    for d in sorted(p for p in folder.iterdir() if (p / "before.jpg").is_file()):
        for after in sorted(d.glob("after_*.jpg")):
            out.append((f"{d.name}/{after.stem}", d / "before.jpg", after))
    return out


def sample_mode(pair_folder: Path) -> tuple[str, float | None]:
    """``(mode, px_per_mm)`` of a sample folder: a scalp close-up (its ``truth.json`` records
    hair and a scale) is compared in ``trichoscopy`` mode at that scale, a body patch (it
    records dimples and a scale) in ``body`` mode at that scale, a face in ``face`` mode
    without one."""
    import json

    truth = pair_folder / "truth.json"
    if truth.is_file():
        t = json.loads(truth.read_text(encoding="utf-8"))
        if "hair" in (t.get("field") or {}):
            return "trichoscopy", t.get("px_per_mm")
        if "dimples_per_cm2" in (t.get("field") or {}):
            return "body", t.get("px_per_mm")
    return "face", None


#: Treated regions of the shipped samples (see sample_images/*/truth.json).
SAMPLE_TREATED = ("left_cheek", "right_cheek", "forehead", "chin")


#: The demo course: the astronaut samples filed as three sessions two weeks apart (the
#: grace_hopper after photos are brightened until 19 % of the skin clips, which the capture checks
#: refuse). Session 2 has no skin change; session 3 has the recorded treatment effects.
DEMO_PATIENT = "DEMO-01"
DEMO_COURSE = (
    ("2026-01-05", "before.jpg", "baseline"),
    ("2026-01-19", "after_no_change.jpg", "session 2 (no skin change)"),
    ("2026-02-02", "after_treated.jpg", "session 3"),
)
DEMO_PRODUCT = "hyaluronic acid + vitamin C cocktail (demo)"


def course_outputs() -> list[str]:
    """The demo course's outputs, under ``course/``."""
    return ["course/report.html", "course/report.pdf", "course/store/store.sqlite"]


def build_demo_course(folder: Path, out: Path, *, force: bool = False) -> list[Path]:
    """File the demo course into a store under ``out/course/store`` and write its report
    (``out/course/report.html`` and ``.pdf``). Returns the report files."""
    import shutil

    from .course import add_checked_session, course_document
    from .report import write_report
    from .store import Store

    store_dir = out / "course" / "store"
    if store_dir.exists() and force:
        shutil.rmtree(store_dir)
    with Store(store_dir) as store:
        store.add_patient(DEMO_PATIENT)
        for date, name, note in DEMO_COURSE:
            add_checked_session(
                store,
                DEMO_PATIENT,
                date=date,
                photos=[(str(folder / "astronaut" / name), "front")],
                treated=SAMPLE_TREATED,
                product=DEMO_PRODUCT,
                notes=note,
            )
        doc = course_document(store, DEMO_PATIENT)
    return write_report(doc, out / "course" / "report.html", pdf=True, force=force)


def run_demo(out: str, *, samples: str | None = None, force: bool = False, on_stage=None) -> Path:
    """Compare every sample pair (outputs under ``out/<pair>/<after>/``, the significant changes
    on stdout), then build the demo treatment course and its report (``out/course/``). Returns
    the output folder. ``on_stage(doing, done)`` is called as each stage starts (for a progress
    display)."""
    stage = on_stage or (lambda doing, done: None)
    from .checks import add_body_checks
    from .compare import compare_pair, comparison_record, output_images, output_names
    from .io import prepare_output_dir, write_json, write_png
    from .pipeline import align_pair

    folder = find_samples(samples)
    pairs = sample_pairs(folder)
    root = Path(out)
    # Check every target before creating or writing anything: nothing is half-written or
    # overwritten, and a refused demo leaves no empty folder behind.
    modes = {name: sample_mode(before.parent) for name, before, _ in pairs}
    names = [f"{n}/{f}" for n, _, _ in pairs for f in output_names(mode=modes[n][0])]
    prepare_output_dir(root, names + course_outputs(), force=force)
    dirs = {name: root / name for name, _, _ in pairs}
    for name, before, after in pairs:
        stage(f"comparing {name}", f"compared {name}")
        mode, ppm = modes[name]
        pair = align_pair(str(before), str(after), mode=mode)
        treated = SAMPLE_TREATED if mode == "face" else ()
        cmp = add_body_checks(compare_pair(pair, treated=treated, px_per_mm_at_before=ppm))
        for fname, img in output_images(cmp).items():
            write_png(dirs[name] / fname, img, force=force)
        write_json(dirs[name] / "result.json", comparison_record(cmp), force=force)
        sig = cmp.significant()
        print(f"{name}: {len(sig)} significant change(s)")
        for region, metric, c in sig:
            print(
                f"    {region:<18} {metric:<34} {c.delta:+.3g} {c.unit} "
                f"(noise floor {c.noise_floor:.3g})"
            )
    stage("filing the demo course and writing its report", "filed the course, wrote its report")
    reports = build_demo_course(folder, root, force=force)
    print(
        f"treatment course of patient {DEMO_PATIENT} (3 sessions): " + ", ".join(map(str, reports))
    )
    print(DEMO_TRUTH_NOTE)
    return root
