"""The real face photographs of ``../shared/faces`` (test data of other open-source projects).

Found beside the clone (``<repo>/../shared/faces``) or at ``$MESOVISION_FACES``; never copied
into the repository. ``faces.csv`` labels each file with a person (``group`` for photos of
several faces, ``unknown_N`` for unnamed singletons).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def faces_dir() -> Path | None:
    """The faces folder, or ``None`` when neither place has it."""
    env = os.environ.get("MESOVISION_FACES")
    for p in ([Path(env)] if env else []) + [REPO.parent / "shared" / "faces"]:
        if (p / "faces.csv").is_file():
            return p
    return None


def labelled_faces(folder: Path) -> list[tuple[Path, str]]:
    """``(path, person)`` of every single-face photo (``group`` rows left out), sorted."""
    with open(folder / "faces.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["person"] != "group"]
    return sorted((folder / r["file"], r["person"]) for r in rows)


def sample_faces() -> list[Path]:
    """The before photos of the shipped face samples (``sample_images/*/before.jpg`` whose
    folder is a face pair, :func:`mesovision.demo.sample_mode`; not the scalp or body pairs)."""
    from mesovision.demo import sample_mode

    return [
        p
        for p in sorted((REPO / "sample_images").glob("*/before.jpg"))
        if sample_mode(p.parent)[0] == "face"
    ]


def split_people(people) -> tuple[set[str], set[str]]:
    """A fixed split of the people in two halves (alternate names in sorted order): develop on
    the first, report on the second."""
    names = sorted(set(people))
    return set(names[0::2]), set(names[1::2])


def recapture_arguments(ap) -> None:
    """The options of a script that recaptures the photos of one half: ``--half``,
    ``--recaptures`` and ``--photos``."""
    ap.add_argument("--half", choices=("dev", "held-out"), default="dev")
    ap.add_argument("--recaptures", type=int, default=2)
    ap.add_argument("--photos", type=int, default=None, help="only the first N photos")


def half_photos(half: str, limit: int | None = None) -> list[tuple[Path, str]] | None:
    """``(path, person)`` of the labelled photos of the people of ``half`` (``dev`` or
    ``held-out``, :func:`split_people`), the first ``limit`` of them; ``None`` without the faces
    folder."""
    folder = faces_dir()
    if folder is None:
        return None
    faces = labelled_faces(folder)
    dev, held = split_people({q for _, q in faces})
    people = dev if half == "dev" else held
    return [(p, q) for p, q in faces if q in people][:limit]
