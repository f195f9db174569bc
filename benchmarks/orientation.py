"""Orientation: a photo lying sideways or upside down is found upright; a turned head stays as is.

Every photo below is given to :func:`mesovision.landmarks.detect_landmarks_upright` turned by
``k = 0, 1, 2, 3`` quarter turns counterclockwise (:func:`numpy.rot90`) from upright; the right
answer is the turn ``(4 - k) % 4`` that puts it back. Counted per ``k``: correct, wrong (another
turn, or the photo kept as it is when it needed turning) and no face. Beside it, as a baseline,
the first face's eye line alone (:func:`eye_line_alone`: the face found as the photo is decides
the turn by :func:`~mesovision.landmarks.upright_turns`, taken when the face found there is
upright; no face: turns 1, 3, 2 until an upright face). The photos:

* ``real``: every single-face photo of ``../shared/faces`` (``faces.csv``, ``group`` rows left out),
  loaded as the toolkit loads it (:func:`mesovision.io.load_photo`, working copy of 2048 px; the
  150 x 150 crops are used at their size), taken to be upright as loaded; split into the
  benchmarks' development and held-out people (``_faces.split_people``);
* ``turned``: synthetic head turns (:func:`mesovision.testing.head_turn.turn_head`) of yaw
  -45, -40, -35, -30, -20, +20, +30, +35, +40 and +45 deg of every real photo whose face is found
  upright as loaded with less than 15 deg of yaw: a genuinely turned head, upright, that must stay
  as it is at ``k = 0`` (and come back upright at the other turns);
* ``samples``: the astronaut's three sample photos and grace hopper's three, their raw pixels
  without the EXIF orientation tag (the astronaut's files are stored a quarter turn clockwise
  and tagged 6), the upright photo being the raw pixels turned as the tag says.

Also printed: the cost (detections per photo, and the time of one), the strongest-yaw real faces
as found upright and what each rule returns for them, and the raw samples turn by turn.

Run: python benchmarks/orientation.py [--faces DIR] [--limit N] [--json FILE]
(``DIR`` defaults to ``$MESOVISION_FACES``, else ``<repo>/../shared/faces``.) About 10 min.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faces import REPO, faces_dir, labelled_faces, split_people  # noqa: E402

from mesovision import landmarks  # noqa: E402
from mesovision.errors import NoFace  # noqa: E402
from mesovision.io import load_photo  # noqa: E402
from mesovision.landmarks import (  # noqa: E402
    detect_landmarks,
    detect_landmarks_upright,
    upright_turns,
)
from mesovision.testing.head_turn import turn_head  # noqa: E402

#: The synthetic head turns (deg of yaw).
TURN_YAWS = (-45, -40, -35, -30, -20, 20, 30, 35, 40, 45)
#: Real photos whose face reads more yaw than this as loaded are not turned further.
TURN_FROM_MAX_YAW = 15.0
#: The EXIF orientations of the raw samples: the quarter turns (rot90's k) that put them upright.
EXIF_TURNS = {1: 0, 3: 2, 6: 3, 8: 1}
SAMPLE_FILES = [
    f"sample_images/{d}/{n}.jpg"
    for d in ("astronaut", "grace_hopper")
    for n in ("before", "after_no_change", "after_treated")
]


def eye_line_alone(rgb: np.ndarray) -> int | None:
    """The baseline rule: the first face's eye line decides (``None``: no face in any turn)."""

    def find(t: int):
        try:
            return detect_landmarks(np.ascontiguousarray(np.rot90(rgb, t)))
        except NoFace:
            return None

    first = find(0)
    for t in (1, 3, 2) if first is None else (upright_turns(first),):
        if t == 0:
            break
        there = find(t)
        if there is not None and upright_turns(there) == 0:
            return t
    return None if first is None else 0


def vote(rgb: np.ndarray) -> int | None:
    """The toolkit's rule (``None``: no face in any turn)."""
    try:
        return detect_landmarks_upright(rgb)[0]
    except NoFace:
        return None


RULES: dict[str, Callable[[np.ndarray], int | None]] = {
    "eye line alone": eye_line_alone,
    "vote": vote,
}


class Counter:
    """Counts the landmarker's runs (and their time) while :meth:`counting`."""

    def __init__(self):
        self.n, self.seconds = 0, 0.0

    @contextmanager
    def counting(self):
        inner = landmarks._find

        def counted(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.n += 1
                self.seconds += time.perf_counter() - t0

        landmarks._find = counted
        try:
            yield
        finally:
            landmarks._find = inner


def run_turns(group: str, name: str, upright: np.ndarray, counter: Counter) -> list[dict]:
    """One record per rule and quarter turn of ``upright``."""
    out = []
    for k in range(4):
        img = np.ascontiguousarray(np.rot90(upright, k))
        for rule, fn in RULES.items():
            n0 = counter.n
            got = fn(img)
            want = (4 - k) % 4
            result = "none" if got is None else ("correct" if got == want else "wrong")
            out.append(
                dict(group=group, name=name, k=k, rule=rule, got=got, want=want, result=result)
                | {"detections": counter.n - n0}
            )
    return out


def measure(folder: Path, limit: int | None, counter: Counter) -> tuple[list[dict], list[dict]]:
    """The records of every photo and the real faces' pose as found upright."""
    photos = labelled_faces(folder)[:limit]
    _, held = split_people({p for _, p in photos})
    records, poses = [], []
    with counter.counting():
        for i, (path, person) in enumerate(photos):
            half = "held-out" if person in held else "dev"
            rgb = load_photo(path).rgb
            recs = run_turns(f"real {half}", path.name, rgb, counter)
            records += recs
            try:
                lm = detect_landmarks(rgb)
            except NoFace:
                continue
            got = {r["rule"]: r["got"] for r in recs if r["k"] == 0}
            poses.append(dict(name=path.name, yaw=lm.pose.yaw_deg, got=got))
            if upright_turns(lm) or abs(lm.pose.yaw_deg) > TURN_FROM_MAX_YAW:
                continue
            for yaw in TURN_YAWS:
                img, _ = turn_head(rgb, lm, yaw_deg=yaw)
                records += run_turns(f"turned {half}", f"{path.name} yaw {yaw:+d}", img, counter)
            print(f"  {i + 1}/{len(photos)} {path.name}", file=sys.stderr, flush=True)
        for rel in SAMPLE_FILES:
            im = Image.open(REPO / rel)
            raw = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
            turns = EXIF_TURNS.get(im.getexif().get(274, 1), 0)
            records += run_turns("samples raw", rel, np.rot90(raw, turns), counter)
    return records, poses


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _cell(rs: list[dict]) -> str:
    c = {x: sum(r["result"] == x for r in rs) for x in ("correct", "wrong", "none")}
    return f"{c['correct']} / {c['wrong']} / {c['none']}"


def report(records: list[dict], poses: list[dict], counter: Counter) -> str:
    groups = sorted({r["group"] for r in records}, key=lambda g: (g.split()[0] != "real", g))
    rows = []
    for g in groups:
        n = len({r["name"] for r in records if r["group"] == g})
        for rule in RULES:
            rs = [r for r in records if r["group"] == g and r["rule"] == rule]
            rows.append(
                [g, str(n), rule] + [_cell([r for r in rs if r["k"] == k]) for k in range(4)]
            )
    out = [
        "Returned turn per quarter turn k of the upright photo: correct / wrong / no face",
        "",
        _table(["photos", "n", "rule", "k = 0", "k = 1", "k = 2", "k = 3"], rows),
    ]
    rows = []
    for g in groups:
        for rule in RULES:
            rs = [r for r in records if r["group"] == g and r["rule"] == rule]
            per_k = [np.mean([r["detections"] for r in rs if r["k"] == k]) for k in range(4)]
            more = [r for r in rs if r["k"] == 0 and r["detections"] > 1]
            ok = sum(r["result"] == "correct" for r in more)
            rows.append([g, rule] + [f"{d:.2f}" for d in per_k] + [f"{len(more)} ({ok})"])
    head = ["photos", "rule", "k = 0", "k = 1", "k = 2", "k = 3", "k = 0: looked further (correct)"]
    ms = 1000 * counter.seconds / max(counter.n, 1)
    out += [
        "",
        f"Detections per photo (one detection: {ms:.0f} ms on average)",
        "",
        _table(head, rows),
    ]
    strongest = sorted(poses, key=lambda p: -abs(p["yaw"]))[:6]
    rows = [
        [p["name"], f"{p['yaw']:+.1f}"] + [str(p["got"].get(r)) for r in RULES] for p in strongest
    ]
    out += ["", "Strongest-yaw real faces, as loaded (turn returned; 0 is right)", ""]
    out.append(_table(["photo", "yaw (deg)"] + list(RULES), rows))
    rows = []
    for r in records:
        if r["group"] == "samples raw" and r["rule"] == "vote":
            base = [x for x in records if x["name"] == r["name"] and x["k"] == r["k"]]
            rows.append([r["name"], str(r["k"]), str(r["want"])] + [str(x["got"]) for x in base])
    out += ["", "Raw samples (k from upright; turn needed, and returned by each rule)", ""]
    out.append(_table(["photo", "k", "needed"] + list(RULES), rows))
    wrong = sorted(
        (r["group"], r["name"], r["k"])
        for r in records
        if r["rule"] == "vote" and r["result"] != "correct"
    )
    out += ["", f"Not correct with the vote ({len(wrong)}):"]
    out += [f"  {g}: {n} at k = {k}" for g, n, k in wrong]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", default=None, help="the faces folder (default: see module doc)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N photos")
    ap.add_argument("--json", default=None, help="also write the records here")
    args = ap.parse_args(argv)
    folder = Path(args.faces) if args.faces else faces_dir()
    if folder is None or not (folder / "faces.csv").is_file():
        print("no faces folder: put it at ../shared/faces or set MESOVISION_FACES", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR)
    t0 = time.perf_counter()
    counter = Counter()
    records, poses = measure(folder, args.limit, counter)
    print(report(records, poses, counter))
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(records=records, poses=poses), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
