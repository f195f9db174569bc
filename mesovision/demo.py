"""The shipped demo: the whole pipeline on ``sample_images/`` (made by scripts/make_samples.py)."""

from __future__ import annotations

import logging
from pathlib import Path

from .errors import InputFileError

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


def sample_pairs(folder: Path) -> list[tuple[str, Path, Path]]:
    """``(name, before, after)`` for every ``*/before.jpg`` + ``*/after_*.jpg`` in ``folder``."""
    out = []
    for d in sorted(p for p in folder.iterdir() if (p / "before.jpg").is_file()):
        for after in sorted(d.glob("after_*.jpg")):
            out.append((f"{d.name}/{after.stem}", d / "before.jpg", after))
    return out


#: Treated regions of the shipped samples (see sample_images/*/truth.json).
SAMPLE_TREATED = ("left_cheek", "right_cheek", "forehead", "chin")


def run_demo(out: str, *, samples: str | None = None, force: bool = False) -> Path:
    """Compare every sample pair; write each pair's outputs under ``out/<pair>/<after>/`` and a
    summary of the significant changes to stdout. Returns the output folder."""
    from .compare import compare_pair, comparison_record, output_images, output_names
    from .io import prepare_output_dir, write_json, write_png
    from .pipeline import align_pair

    folder = find_samples(samples)
    pairs = sample_pairs(folder)
    root = Path(out)
    # Check every target before writing anything: nothing is half-written or overwritten.
    dirs = {
        name: prepare_output_dir(root / name, output_names(), force=force) for name, _, _ in pairs
    }
    for name, before, after in pairs:
        pair = align_pair(str(before), str(after))
        cmp = compare_pair(pair, treated=SAMPLE_TREATED)
        for fname, img in output_images(cmp).items():
            write_png(dirs[name] / fname, img, force=force)
        write_json(dirs[name] / "result.json", comparison_record(cmp), force=force)
        sig = cmp.significant()
        print(f"{name}: {len(sig)} significant change(s)")
        for region, metric, c in sig:
            print(
                f"    {region:<18} {metric:<34} {c['delta']:+.3g} {c['unit']} "
                f"(noise floor {c['noise_floor']:.3g})"
            )
    return root
