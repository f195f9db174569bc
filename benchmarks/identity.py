"""Calibration of the identity check on real photos: distances, threshold, held-out error rates.

For every single-face photo of ``shared/faces`` (``faces.csv``; ``group`` photos are left out) this
loads the photo (``mesovision.io.load_photo``, working copy of 2048 px), finds its face mesh and
computes the dlib face descriptor (``mesovision.identity.face_descriptor``), then:

1. prints the distance distributions of same-person pairs (distinct photographs), of the
   same-photograph controls (one photograph saved again in another size or format, listed in the
   folder's README) and of different-person pairs;
2. splits the people into two halves (people with several photos ordered by photo count then
   name, and the one-photo people by name, each list dealt alternately to A and B), chooses the
   threshold on one half's pairs with :func:`choose_threshold` and counts false accepts and false
   rejects on the other half's pairs, in both directions; then leave-one-person-out (threshold
   chosen on the pairs without that person, applied to the pairs with them);
3. chooses the final threshold on all pairs and gives the rates on all pairs at it (the data it
   was chosen on: a description, not a result);
4. times the descriptor per photo.

``--melanin OD`` darkens every photo's skin first (``_melanin.darker_face``: melanin of optical
density ``OD`` at the red channel, in linear light) and finds its mesh again: the same people
with darker skin.

``--boxes`` also computes each descriptor from dlib's HOG detector box (upsample 1) instead of the
mesh box and compares the two.

Controls are not pairs of the calibration; different-person pairs that straddle the two halves
belong to neither half. Prints Markdown (and writes it with ``-o FILE``).

Run: python benchmarks/identity.py [--faces DIR] [--boxes] [-o FILE]
(``DIR`` defaults to ``$MESOVISION_FACES``, else ``<repo>/../shared/faces``.)
"""

from __future__ import annotations

import argparse
import csv
import itertools
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mesovision.identity import MAX_DISTANCE, descriptor_distance, face_descriptor
from mesovision.io import load_photo
from mesovision.landmarks import detect_landmarks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _melanin import darker_face  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FACES_ENV = "MESOVISION_FACES"
#: The same photograph saved again (``shared/faces/README.md``): controls, not independent pairs.
CONTROL_PAIRS = frozenset(
    frozenset(p)
    for p in (
        ("fr_obama.jpg", "fr_obama-240p.jpg"),
        ("fr_obama.jpg", "fr_obama-1080p.jpg"),
        ("fr_obama-240p.jpg", "fr_obama-1080p.jpg"),
        ("fr_obama2.jpg", "fr_32bit.png"),
    )
)


def faces_dir(arg: str | None = None) -> Path:
    """``arg``, else ``$MESOVISION_FACES``, else ``<repo>/../shared/faces``."""
    return Path(arg or os.environ.get(FACES_ENV) or REPO.parent / "shared" / "faces")


def listed_faces_dir(arg: str | None = None) -> Path | None:
    """:func:`faces_dir` when it has its ``faces.csv``; else ``None``, said on stderr."""
    folder = faces_dir(arg)
    if (folder / "faces.csv").is_file():
        return folder
    print(f"no faces.csv in {folder} (set {FACES_ENV} or pass --faces)", file=sys.stderr)
    return None


def labelled_photos(folder: Path) -> list[tuple[str, str]]:
    """``(file, person)`` of the single-face photos listed in ``faces.csv``."""
    with open(folder / "faces.csv", newline="") as f:
        return [(r["file"], r["person"]) for r in csv.DictReader(f) if r["person"] != "group"]


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    same: bool
    control: bool
    distance: float


def all_pairs(people: dict[str, str], distance) -> list[Pair]:
    """Every unordered pair of files; ``people`` maps file to person."""
    out = []
    for a, b in itertools.combinations(sorted(people), 2):
        out.append(
            Pair(a, b, people[a] == people[b], frozenset((a, b)) in CONTROL_PAIRS, distance(a, b))
        )
    return out


def choose_threshold(same: list[float], different: list[float]) -> float:
    """Midway between the smallest different-person distance and the largest same-person
    distance below it (the middle of the gap when the two sets separate). A false accept (two
    patients' photos compared) is worse than a false reject (``--force`` overrides it): no
    different-person pair of the data is ever accepted."""
    lo = min(different)
    below = [s for s in same if s < lo]
    return (max(below) + lo) / 2 if below else lo / 2


def rates(pairs: list[Pair], t: float) -> dict:
    """False accepts among different-person pairs and false rejects among same-person pairs
    (controls left out) at threshold ``t``."""
    same = [p for p in pairs if p.same and not p.control]
    diff = [p for p in pairs if not p.same]
    fa = [p for p in diff if p.distance <= t]
    fr = [p for p in same if p.distance > t]
    return {"n_same": len(same), "n_diff": len(diff), "fa": fa, "fr": fr}


def split_people(people: dict[str, str]) -> tuple[set[str], set[str]]:
    """Two halves of the people (see the module docstring)."""
    count: dict[str, int] = {}
    for p in people.values():
        count[p] = count.get(p, 0) + 1
    multi = sorted((p for p in count if count[p] > 1), key=lambda p: (-count[p], p))
    single = sorted(p for p in count if count[p] == 1)
    a = set(multi[0::2] + single[0::2])
    return a, set(count) - a


def _summary(xs: list[float]) -> str:
    if not xs:
        return "n=0"
    q = np.percentile(xs, [0, 5, 50, 95, 100])
    return (
        f"n={len(xs)}: min {q[0]:.3f}, 5 % {q[1]:.3f}, median {q[2]:.3f}, 95 % {q[3]:.3f}, "
        f"max {q[4]:.3f}"
    )


def _rate(k: int, n: int) -> str:
    return f"{k} / {n} ({100 * k / n:.1f} %)" if n else "-"


def _hog_descriptors(folder: Path, files: list[str]) -> dict[str, np.ndarray]:
    """Descriptors from dlib's HOG detector box (upsample 1; the largest box), for comparison."""
    import dlib

    from mesovision.identity import DESCRIPTOR_MODEL, SHAPE_MODEL, model_dir

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(model_dir() / SHAPE_MODEL))
    model = dlib.face_recognition_model_v1(str(model_dir() / DESCRIPTOR_MODEL))
    out = {}
    for f in files:
        rgb = load_photo(str(folder / f), max_side=2048).rgb
        img = np.ascontiguousarray(np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8))
        boxes = detector(img, 1)
        if not boxes:
            continue
        shape = predictor(img, max(boxes, key=lambda b: b.area()))
        out[f] = np.array(model.compute_face_descriptor(img, shape, 1))
    return out


def run(folder: Path, *, boxes: bool = False, melanin: float = 0.0) -> str:
    lines: list[str] = []
    say = lines.append
    photos = labelled_photos(folder)
    desc, times_desc, times_mesh, skipped = {}, [], [], []
    t0 = time.perf_counter()
    for i, (f, _) in enumerate(photos):
        path = str(folder / f)
        rgb = load_photo(path, max_side=2048).rgb
        t = time.perf_counter()
        try:
            lm = detect_landmarks(rgb, path=path)
            if melanin:  # the same face with darker skin: its mesh found again
                rgb = darker_face(rgb, lm, melanin)
                lm = detect_landmarks(rgb, path=path)
        except Exception as e:  # a photo without a usable mesh is listed, not fatal
            skipped.append(f"{f}: {e}")
            continue
        times_mesh.append(time.perf_counter() - t)
        first = not desc  # the first descriptor also loads the models: not timed
        t = time.perf_counter()
        desc[f] = face_descriptor(rgb, lm)
        if not first:
            times_desc.append(time.perf_counter() - t)
        print(f"\r{i + 1}/{len(photos)} photos", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    people = {f: p for f, p in photos if f in desc}
    pairs = all_pairs(people, lambda a, b: descriptor_distance(desc[a], desc[b]))
    same = [p.distance for p in pairs if p.same and not p.control]
    ctrl = [p.distance for p in pairs if p.control]
    diff = [p.distance for p in pairs if not p.same]
    n_people = len(set(people.values()))
    n_multi = len({people[p.a] for p in pairs if p.same})

    say("# Identity check: calibration on shared/faces\n")
    if melanin:
        say(f"Every photo's skin darkened by melanin of optical density {melanin:g} first.\n")
    say(
        f"{len(desc)} single-face photos of {n_people} people ({n_multi} with several photos); "
        f"{len(skipped)} without a face mesh{': ' + '; '.join(skipped) if skipped else ''}. "
        f"Total time {time.perf_counter() - t0:.0f} s.\n"
    )
    say("## Distances (Euclidean, 128-d dlib descriptors)\n")
    say(f"- same person, distinct photographs: {_summary(same)}")
    say(f"- same photograph saved again (controls): {_summary(ctrl)}")
    say(f"- different people: {_summary(diff)}")
    crops = {f for f in people if load_size(folder / f) == (150, 150)}
    for label, keep in (
        ("150x150 crops only", lambda p: p.a in crops and p.b in crops),
        ("full photos only", lambda p: p.a not in crops and p.b not in crops),
    ):
        sub = [p for p in pairs if keep(p)]
        say(
            f"- {label}: same {_summary([p.distance for p in sub if p.same and not p.control])}"
            f"; different {_summary([p.distance for p in sub if not p.same])}"
        )
    worst_same = sorted((p for p in pairs if p.same and not p.control), key=lambda p: p.distance)
    best_diff = sorted((p for p in pairs if not p.same), key=lambda p: p.distance)
    say("\nLargest same-person distances:")
    for p in worst_same[-3:][::-1]:
        say(f"- {p.distance:.3f} {p.a} / {p.b}")
    say("\nSmallest different-person distances:")
    for p in best_diff[:3]:
        say(f"- {p.distance:.3f} {p.a} ({people[p.a]}) / {p.b} ({people[p.b]})")

    say("\n## Threshold chosen on one half of the people, tested on the other\n")
    half_a, half_b = split_people(people)
    say(f"- half A ({len(half_a)} people): {', '.join(sorted(half_a))}")
    say(f"- half B ({len(half_b)} people): {', '.join(sorted(half_b))}\n")
    say(
        "| chosen on | threshold | development pairs (same / different) | held-out pairs "
        "(same / different) | held-out false accepts | held-out false rejects |"
    )
    say("|---|---|---|---|---|---|")
    tot = {"fa": 0, "fr": 0, "n_same": 0, "n_diff": 0}
    errors = []
    for dev_name, dev, test_name, test in (("A", half_a, "B", half_b), ("B", half_b, "A", half_a)):
        dev_pairs = [p for p in pairs if people[p.a] in dev and people[p.b] in dev]
        test_pairs = [p for p in pairs if people[p.a] in test and people[p.b] in test]
        t = choose_threshold(
            [p.distance for p in dev_pairs if p.same and not p.control],
            [p.distance for p in dev_pairs if not p.same],
        )
        rd, rt = rates(dev_pairs, t), rates(test_pairs, t)
        for k in tot:
            tot[k] += len(rt[k]) if k in ("fa", "fr") else rt[k]
        say(
            f"| half {dev_name} | {t:.3f} | {rd['n_same']} / {rd['n_diff']} | half {test_name}: "
            f"{rt['n_same']} / {rt['n_diff']} | {_rate(len(rt['fa']), rt['n_diff'])} | "
            f"{_rate(len(rt['fr']), rt['n_same'])} |"
        )
        errors += [
            f"- wrong on the held-out half at {t:.3f}: {p.distance:.3f} {p.a} / {p.b}"
            for p in rt["fa"] + rt["fr"]
        ]
    if errors:
        lines += ["", *errors]
    n_cross = sum(
        1 for p in pairs if not p.same and (people[p.a] in half_a) != (people[p.b] in half_a)
    )
    say(
        f"\nBoth directions together: false accepts {_rate(tot['fa'], tot['n_diff'])}, false "
        f"rejects {_rate(tot['fr'], tot['n_same'])}. The {n_cross} different-person pairs "
        "across the halves are in neither half."
    )

    say("\n## Leave one person out\n")
    fa = fr = n_same = n_diff = 0
    ts = []
    for person in sorted(set(people.values())):
        rest = [p for p in pairs if person not in (people[p.a], people[p.b])]
        held = [p for p in pairs if person in (people[p.a], people[p.b])]
        t = choose_threshold(
            [p.distance for p in rest if p.same and not p.control],
            [p.distance for p in rest if not p.same],
        )
        ts.append(t)
        r = rates(held, t)
        fa, fr = fa + len(r["fa"]), fr + len(r["fr"])
        n_same, n_diff = n_same + r["n_same"], n_diff + r["n_diff"]
    say(
        f"{len(ts)} folds, thresholds {min(ts):.3f}-{max(ts):.3f}: false accepts "
        f"{_rate(fa, n_diff)}, false rejects {_rate(fr, n_same)} (a different-person pair is "
        "held out in both its people's folds, so it counts twice)."
    )

    t_final = choose_threshold(same, diff)
    r = rates(pairs, t_final)
    say("\n## Final threshold, all pairs\n")
    say(
        f"Chosen on all pairs: {t_final:.4f} (the library's `MAX_DISTANCE`: {MAX_DISTANCE}). "
        f"At `MAX_DISTANCE`, on the pairs it was chosen on: false accepts "
        f"{_rate(len(rates(pairs, MAX_DISTANCE)['fa']), r['n_diff'])}, false rejects "
        f"{_rate(len(rates(pairs, MAX_DISTANCE)['fr']), r['n_same'])}; controls accepted "
        f"{sum(d <= MAX_DISTANCE for d in ctrl)} / {len(ctrl)}. "
        f"dlib's customary 0.6 accepts {len(rates(pairs, 0.6)['fa'])} different-person pair(s)."
    )

    say("\n## Time per photo (one CPU core)\n")
    say(
        f"- descriptor (5-point alignment + ResNet): median {1000 * np.median(times_desc):.0f} ms,"
        f" max {1000 * max(times_desc):.0f} ms over {len(times_desc)} photos (the models' first "
        "load not included)"
    )
    say(
        f"- face mesh, for comparison (already computed by the pipeline): median "
        f"{1000 * np.median(times_mesh):.0f} ms"
    )

    if boxes:
        say("\n## Face box: mesh box against dlib's HOG detector box\n")
        hog = _hog_descriptors(folder, sorted(people))
        say(f"HOG (upsample 1) finds a face in {len(hog)} / {len(people)} photos.")
        self_d = [float(np.linalg.norm(desc[f].vector - v)) for f, v in hog.items()]
        say(
            f"Same photo, mesh box against HOG box: descriptor distance median "
            f"{np.median(self_d):.3f}, max {max(self_d):.3f}."
        )
        hp = all_pairs(
            {f: people[f] for f in hog}, lambda a, b: float(np.linalg.norm(hog[a] - hog[b]))
        )
        mp = [p for p in pairs if p.a in hog and p.b in hog]
        for label, ps in (("mesh box", mp), ("HOG box", hp)):
            s = [p.distance for p in ps if p.same and not p.control]
            d = [p.distance for p in ps if not p.same]
            say(
                f"- {label}: same max {max(s):.3f}, different min {min(d):.3f}, gap "
                f"{min(d) - max(s):+.3f}"
            )
    return "\n".join(lines) + "\n"


def load_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", default=None, help="the faces folder (default: see module doc)")
    ap.add_argument("--boxes", action="store_true", help="also compare with dlib's HOG box")
    ap.add_argument("-o", "--output", default=None, help="also write the Markdown here")
    ap.add_argument(
        "--melanin",
        type=float,
        default=0.0,
        help="darken every photo's skin first by melanin of this optical density (_melanin.py)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    folder = listed_faces_dir(args.faces)
    if folder is None:
        return 2
    text = run(folder, boxes=args.boxes, melanin=args.melanin)
    print(text)
    if args.output:
        Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
