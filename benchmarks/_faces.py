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


def faces_arguments(ap, argv=None):
    """``ap`` (an ``argparse`` parser) with ``--faces`` added, parsed from ``argv``: ``(args,
    folder)``, the folder from ``--faces`` or :func:`faces_dir`, ``None`` (said on stderr) when
    neither has it; the package's warnings are silenced for the run."""
    import logging
    import sys

    ap.add_argument("--faces", type=Path, default=None)
    args = ap.parse_args(argv)
    folder = args.faces or faces_dir()
    if folder is None:
        print("no face folder: pass --faces or set MESOVISION_FACES", file=sys.stderr)
    logging.disable(logging.WARNING)
    return args, folder


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


#: The held-out people of ``../shared/faces``: every figure a benchmark reports as held-out is
#: measured on them, and no setting of any benchmark was chosen on them (they were held out by
#: every earlier split of the benchmarks). Everyone else -- the sample faces (under any name),
#: the other people of ``faces.csv`` and any person another faces folder adds -- is a
#: development person.
HELD_OUT_PEOPLE = frozenset(
    {
        "amy_adams",
        "joe_biden",
        "john_salley",
        "john_schneider",
        "john_simm",
        "kit_harington",
        "paul_rudd",
        "steve_carell",
        "unknown_1",
    }
)


def split_people(people) -> tuple[set[str], set[str]]:
    """``(development, held-out)`` people of ``people``: held out are those of
    :data:`HELD_OUT_PEOPLE`, whatever other names are given (a person's half never depends on
    who else is split); develop on the first, report on the second."""
    names = set(people)
    return names - HELD_OUT_PEOPLE, names & HELD_OUT_PEOPLE


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
