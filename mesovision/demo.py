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
