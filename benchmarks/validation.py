"""Published accuracy: the whole pipeline on many real faces, against injected truth and real pairs.

Every single-face photo of ``../shared/faces`` (``$MESOVISION_FACES`` overrides; see
``_faces.py``) and every ``sample_images/*/before.jpg`` is the *before* photo of:

* **injected pairs** (``--injected`` per face): the photo with four randomized changes of graded
  magnitude (``_inject.py``), each in its own region, then recaptured (pose +-3 deg, scale +-5 %,
  shift +-2 % of the width, exposure +-10 %, white balance +-4 % per channel, a lamp ramp +-10 %,
  JPEG quality 80-95):

  - *redness*: a* raised over a soft irregular patch covering 30-100 % of one cheek (the cheek
    drawn at random), graded by the **region-mean** Δa* (:data:`LEVELS`);
  - *pigmentation*: round spots in the other cheek, graded count, radius (share of the
    interocular distance, IOD, at least 1.5 px) and contrast (ΔL*, with Δb* = -0.5 ΔL*);
  - *texture*: a Gaussian blended into an irregular patch covering 60-100 % of the forehead,
    graded sigma (% of the IOD);
  - *bruise*: an ellipse of random centre, orientation and elongation on the chin whose truth
    mask covers a graded 5-30 % of the chin, in one of the three colour stages
    (``mesovision.testing.synthetic.inject_bruise``, unchanged).

  The four regions are declared ``treated``. Each face sees every level of every family once
  (the level orders are independent random permutations), so levels are balanced over faces and
  uncorrelated between families. A change is **detected** when the family's headline metric
  (:data:`HEADLINE`) in the injected region is significant (after the library's own
  multiplicity control) with the expected sign; an untested family (not comparable) is a miss.
  The smallest level detected with >= 90 % power is the smallest level from which every larger
  level is detected in >= 90 % of the pairs.
* **null pairs** (``--nulls`` per face): the same recapture with no skin change, the same
  treated regions. Every significant change is false.

and **real pairs**: every pair of two photos of the same person in ``faces.csv`` (untreated, but
other days, cameras and light). For each family: the share declared comparable, limited or not
comparable, the most common not-comparable reasons and the significant changes per pair where
the family is comparable. Pairs the library refuses (identity, pose, alignment residual, face
too small, ...) are counted with their reason, then forced through (``force=True``, the CLI's
``--force``) and reported apart: what a user who insists would be told.

**Bruise IoU**: the new-bruise mask (after minus before, in the before frame, components that
touch the truth) against the truth mask within the face skin (the detector's domain).

Every figure is given separately for the development and the held-out half of the people
(``_faces.split_people`` over all people, as ``calibration.py``), with the number of faces and
pairs it comes from, beside the targets of issue #15. Seeded and deterministic (each face's draws
come from the seed and the file name; the result does not depend on ``--jobs``).

    python benchmarks/validation.py [--quick] [-o FILE] [--csv FILE] [--jobs N] [--seed N]

``--quick``: 6 faces (2 per half and the 2 samples) and 8 real pairs, ~2-3 minutes on 2 cores.
``--half dev`` (or ``held-out``): one half's people only. ``--face-iod PX``: every before photo
with a larger face reduced (area averaging) to PX between the eyes, smaller ones left out, no
real pairs: detection against face size on the same faces (how the texture family's
face-size limit was chosen, on the development half: ``docs/method.md``, "Comparability").
``--melanin OD``: every before photo's skin darkened first by melanin of optical density ``OD``
at the red channel (``_melanin.darker_skin``, in linear light), no real pairs: the same faces
with darker skin.
The full run (85 faces x 8 pairs, 296 real pairs and the refused ones forced) takes about
30 minutes on 2 cores.
``--csv`` writes one row per tested change of every comparison (and one per refused pair).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import logging
import math
import os
import re
import sys
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _inject  # noqa: E402
from _bruise_pairs import new_bruise_iou  # noqa: E402
from _faces import REPO, faces_dir, labelled_faces, sample_faces, split_people  # noqa: E402
from _melanin import darker_skin  # noqa: E402

from mesovision.comparability import LIMITS  # noqa: E402

#: Graded magnitudes: region-mean Δa* on a cheek; smoothing sigma (% of IOD) on the forehead;
#: spots added to a cheek; bruise truth area (% of the chin).
LEVELS: dict[str, tuple[float, ...]] = {
    "redness": (1.0, 2.0, 3.0, 4.0, 6.0),
    "texture": (0.5, 1.0, 2.0, 3.0, 5.0),
    "pigmentation": (2.0, 4.0, 8.0, 12.0, 20.0),
    "bruise": (5.0, 10.0, 15.0, 20.0, 30.0),
}
UNITS = {
    "redness": "region-mean Δa*",
    "texture": "smoothing sigma, % of IOD",
    "pigmentation": "spots added",
    "bruise": "bruise area, % of the chin",
}
#: Spot radius (share of the IOD, at least ``MIN_SPOT_RADIUS_PX``) and contrast (ΔL*), drawn
#: per pair.
SPOT_RADIUS_IOD = (0.02, 0.03, 0.045)
MIN_SPOT_RADIUS_PX = 1.5
SPOT_CONTRAST_L = (-6.0, -10.0, -15.0)
BRUISE_STAGES = ("red-purple", "blue-green", "yellow-brown")
#: The headline metric of each family and the sign of the injected change.
HEADLINE = {
    "redness": ("redness.mean_a", +1),
    "texture": ("texture.roughness_ra", -1),
    "pigmentation": ("pigmentation.spot_count", +1),
    "bruise": ("bruise.area_pct", +1),
}
#: The comparability family that decides whether an injected family is tested.
VERDICT_FAMILY = {
    "redness": "colour",
    "texture": "texture",
    "pigmentation": "pigmentation",
    "bruise": "bruise",
}
POWER = 0.9
TARGETS = {
    "redness": "Δa* 3 detected >= 90 %",
    "null": "<= 0.1 per pair",
    "real": "median <= 2 per comparable pair",
}
CSV_FIELDS = (
    "kind",
    "pair",
    "half",
    "person",
    "before",
    "after",
    "iod",
    "error",
    "region",
    "metric",
    "family",
    "status",
    "injected_family",
    "injected_level",
    "injected_detail",
    "before_value",
    "after_value",
    "delta",
    "se",
    "z",
    "p",
    "q",
    "significant",
)


# -- the work of one face / one real pair (run in worker processes) ----------------------------


def _init_worker(parent_pid: int | None = None) -> None:
    """One OpenCV thread; in a pool, the worker ends when this script is killed (``kill -9``
    too)."""
    from mesovision.batch.worker import init_worker

    init_worker(parent_pid)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)


def _save_jpeg(rgb: np.ndarray, path: Path, quality: int) -> Path:
    Image.fromarray(_uint8(rgb)).save(path, quality=int(quality))
    return path


def _error(exc: BaseException) -> str:
    """``Type: message`` on one line, without the file's folder."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = re.sub(r"^\S+\.(jpe?g|png|webp|tiff?|heic|bmp): ", "", text, flags=re.IGNORECASE)
    return f"{type(exc).__name__}: {re.sub(r'/[^ :]*/', '', text)}"


def _changes(cmp) -> list[tuple]:
    return [
        (region, metric, c.family, c.before, c.after, c.delta, c.se, c.z, c.p, c.q, c.significant)
        for region, per in cmp.changes.items()
        for metric, c in per.items()
    ]


def _plan_levels(rng: np.random.Generator, n: int) -> dict[str, list[float]]:
    """Per family, ``n`` levels: each level once per round, rounds in random order."""
    out = {}
    for fam, levels in LEVELS.items():
        seq: list[float] = []
        while len(seq) < n:
            seq += [levels[i] for i in rng.permutation(len(levels))]
        out[fam] = seq[:n]
    return out


def inject_all(rgb, regions, iod, rng, levels: dict[str, float]):
    """The photo with the four families' changes at ``levels``; their truth; the bruise truth
    mask restricted to the face skin."""
    cheeks = ["left_cheek", "right_cheek"]
    red_cheek = cheeks[int(rng.integers(2))]
    spot_cheek = cheeks[1 - cheeks.index(red_cheek)]
    truth = {}
    img = rgb
    coverage = 1.0 if rng.random() < 0.25 else float(rng.uniform(0.3, 1.0))
    img, _ = _inject.inject_redness_patch(
        img, regions[red_cheek], rng, delta_a=levels["redness"], coverage=coverage, iod_px=iod
    )
    truth["redness"] = {"region": red_cheek, "level": levels["redness"], "coverage": coverage}
    coverage = float(rng.uniform(0.6, 1.0))
    sigma = levels["texture"] / 100 * iod
    img, _ = _inject.inject_smoothing(
        img, regions["forehead"], rng, sigma_px=sigma, coverage=coverage, iod_px=iod
    )
    truth["texture"] = {"region": "forehead", "level": levels["texture"], "coverage": coverage}
    r_iod = SPOT_RADIUS_IOD[int(rng.integers(len(SPOT_RADIUS_IOD)))]
    d_l = SPOT_CONTRAST_L[int(rng.integers(len(SPOT_CONTRAST_L)))]
    img, _, placed = _inject.inject_spot_set(
        img,
        regions[spot_cheek],
        rng,
        n=int(levels["pigmentation"]),
        radius_px=max(MIN_SPOT_RADIUS_PX, r_iod * iod),
        delta_L=d_l,
        delta_b=-0.5 * d_l,
    )
    truth["pigmentation"] = {
        "region": spot_cheek,
        "level": levels["pigmentation"],
        "placed": placed,
        "radius_iod": r_iod,
        "contrast_L": d_l,
    }
    stage = BRUISE_STAGES[int(rng.integers(len(BRUISE_STAGES)))]
    img, bruise, area = _inject.inject_bruise_area(
        img, regions["chin"], rng, area_pct=levels["bruise"], stage=stage
    )
    truth["bruise"] = {"region": "chin", "level": levels["bruise"], "area": area, "stage": stage}
    treated = (red_cheek, spot_cheek, "forehead", "chin")
    return img, truth, bruise & regions["face"], treated


def _at_face_size(rgb: np.ndarray, iod: float, target: float):
    """The photo reduced (area averaging) so that its interocular distance is ``target`` px,
    and its landmarks found again; a face already at most that size is refused (a
    ``CaptureError``: the run is about faces reduced to one size)."""
    from mesovision.errors import CaptureError
    from mesovision.landmarks import detect_landmarks

    if iod <= target:
        raise CaptureError(f"face of {iod:.0f} px between the eyes, not above {target:.0f}")
    k = target / iod
    size = (max(1, round(rgb.shape[1] * k)), max(1, round(rgb.shape[0] * k)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    small = _uint8(small).astype(np.float32) / 255.0  # as the saved 8-bit photo reads
    return small, detect_landmarks(small)


def _uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)


def face_task(task: dict) -> list[dict]:
    """All injected and null pairs of one before photo."""
    from mesovision.compare import compare_pair
    from mesovision.errors import MesovisionError
    from mesovision.io import load_photo
    from mesovision.landmarks import detect_landmarks
    from mesovision.pipeline import align_pair
    from mesovision.regions import region_masks

    path, name = Path(task["path"]), task["name"]
    base = {"before": name, "person": task["person"], "half": task["half"]}
    n_inj, n_null = task["injected"], task["nulls"]
    keys = [("inject", k) for k in range(n_inj)] + [("null", k) for k in range(n_null)]
    rng = np.random.default_rng([task["seed"], zlib.crc32(name.encode())])
    try:
        rgb = load_photo(path).rgb
        lm = detect_landmarks(rgb)
        if task.get("face_iod"):
            rgb, lm = _at_face_size(rgb, float(lm.interocular_px), task["face_iod"])
        regions = region_masks(lm, rgb.shape, rgb=rgb)
        iod = float(lm.interocular_px)
        if task.get("melanin"):
            rgb = darker_skin(rgb, regions["face"], iod, task["melanin"])
    except MesovisionError as exc:
        return [
            {**base, "kind": kind, "pair": f"{name}#{kind}{k}", "error": _error(exc)}
            for kind, k in keys
        ]
    plan = _plan_levels(rng, n_inj)
    out = []
    with tempfile.TemporaryDirectory(prefix="mesovision-validation-") as tmp:
        if task.get("face_iod") or task.get("melanin"):  # the new photo is the before photo
            path = Path(tmp) / "before.png"
            Image.fromarray(_uint8(rgb)).save(path)
        for kind, k in keys:
            rec = {**base, "kind": kind, "pair": f"{name}#{kind}{k}", "error": None, "iod": iod}
            out.append(rec)
            treated = ("left_cheek", "right_cheek", "forehead", "chin")
            bruise = None
            img = rgb
            if kind == "inject":
                levels = {fam: plan[fam][k] for fam in LEVELS}
                try:
                    img, rec["truth"], bruise, treated = inject_all(rgb, regions, iod, rng, levels)
                except ValueError as exc:  # a region too small for the change
                    rec["error"] = f"injection: {_error(exc)}"
                    continue
            after_img, _, quality = _inject.recapture(img, rng)
            after = _save_jpeg(after_img, Path(tmp) / f"{kind}{k}.jpg", quality)
            rec["after"] = f"{kind}{k} (q{quality})"
            try:
                pair = align_pair(str(path), str(after), threads=1)
                cmp = compare_pair(pair, treated=treated, threads=1)
            except MesovisionError as exc:
                rec["error"] = _error(exc)
                continue
            rec["verdicts"] = {f: (v.status, v.reason) for f, v in cmp.verdicts.items()}
            rec["changes"] = _changes(cmp)
            if bruise is not None:
                rec["iou"] = new_bruise_iou(cmp, bruise)[0]
    return out


def real_task(task: dict) -> list[dict]:
    """One real same-person pair."""
    from mesovision.compare import compare_pair
    from mesovision.errors import MesovisionError
    from mesovision.pipeline import align_pair

    a, b = Path(task["before"]), Path(task["after"])
    rec = {
        "kind": "real",
        "pair": f"{a.name}|{b.name}",
        "before": a.name,
        "after": b.name,
        "person": task["person"],
        "half": task["half"],
        "error": None,
    }
    try:
        cmp = compare_pair(align_pair(str(a), str(b), threads=1), threads=1)
    except MesovisionError as exc:
        rec["error"] = _error(exc)
    else:
        rec["verdicts"] = {f: (v.status, v.reason) for f, v in cmp.verdicts.items()}
        rec["changes"] = _changes(cmp)
        return [rec]
    # Refused: forced through as well (``--force``), reported apart.
    forced = {**rec, "kind": "real_forced", "error": None, "refusal": rec["error"]}
    try:
        cmp = compare_pair(align_pair(str(a), str(b), force=True, threads=1), threads=1)
    except MesovisionError as exc:
        forced["error"] = _error(exc)
    else:
        forced["verdicts"] = {f: (v.status, v.reason) for f, v in cmp.verdicts.items()}
        forced["changes"] = _changes(cmp)
    return [rec, forced]


def _run(task: dict) -> list[dict]:
    return face_task(task) if task["kind"] == "face" else real_task(task)


# -- planning ------------------------------------------------------------------------------------


def collect(quick: bool) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]], str | None]:
    """``(photos, labelled faces, note)``: the before photos (samples first) and the labelled
    single-face photos of ``../shared/faces`` (empty when not found)."""
    photos = [(p, p.parent.name) for p in sample_faces()]
    folder = faces_dir()
    if folder is None:
        return photos, [], "../shared/faces not found: the sample faces only"
    faces = labelled_faces(folder)
    return photos + faces, faces, None


def plan(args) -> tuple[list[dict], dict, dict[str, str]]:
    photos, faces, note = collect(args.quick)
    dev, held = split_people({person for _, person in photos})
    half = {p: ("dev" if p in dev else "held-out") for p in dev | held}
    if args.quick:
        # The samples and the first photo of two people of each half with two photos or more:
        # the first by name and the one with the most photos (a full photo and a 150 px crop,
        # in this folder).
        by_person = defaultdict(list)
        for p, person in faces:
            by_person[person].append(p)
        multi = [q for q in sorted(by_person) if len(by_person[q]) >= 2]
        chosen = []
        for h in ("dev", "held-out"):
            names = [q for q in multi if half[q] == h]
            most = max(names, key=lambda q: len(by_person[q]), default=None)
            chosen += sorted({names[0], most}) if names else []
        keep = {by_person[q][0] for q in chosen}
        photos = [(p, q) for p, q in photos if p.parent.name == q or p in keep]
        faces = [(p, q) for p, q in faces if q in chosen]
    if args.half != "all":
        photos = [(p, q) for p, q in photos if half[q] == args.half]
        faces = [(p, q) for p, q in faces if half[q] == args.half]
    if args.face_iod or args.melanin:
        faces = []  # real pairs come as they are: not at one face size, not darker
    tasks = [
        {
            "kind": "face",
            "path": str(p),
            "name": p.name if p.parent.parent != REPO / "sample_images" else f"{q}/{p.name}",
            "person": q,
            "half": half[q],
            "seed": args.seed,
            "injected": args.injected,
            "nulls": args.nulls,
            "face_iod": args.face_iod,
            "melanin": args.melanin,
        }
        for p, q in photos
    ]
    by_person = defaultdict(list)
    for p, q in faces:
        by_person[q].append(p)
    real = []
    for q in sorted(by_person):
        pairs = list(itertools.combinations(sorted(by_person[q]), 2))
        if args.quick:
            pairs = pairs[:2]
        real += [
            {"kind": "real", "before": str(a), "after": str(b), "person": q, "half": half[q]}
            for a, b in pairs
        ]
    counts = {
        "photos": {h: sum(half[q] == h for _, q in photos) for h in ("dev", "held-out")},
        "people": {h: len({q for _, q in photos if half[q] == h}) for h in ("dev", "held-out")},
        "note": note,
    }
    return tasks + real, counts, half


def run_all(tasks: list[dict], jobs: int) -> list[dict]:
    # Faces first and largest first (by file size), so the pool ends evenly.
    order = sorted(
        range(len(tasks)),
        key=lambda i: (
            tasks[i]["kind"] != "face",
            -Path(tasks[i].get("path", tasks[i].get("before"))).stat().st_size,
        ),
    )
    todo = [tasks[i] for i in order]
    out: list[dict] = []
    t0 = time.perf_counter()
    if jobs <= 1:
        _init_worker()
        results = map(_run, todo)
        pool = None
    else:
        import multiprocessing as mp

        pool = mp.get_context("spawn").Pool(
            jobs, initializer=_init_worker, initargs=(os.getpid(),), maxtasksperchild=20
        )
        results = pool.imap_unordered(_run, todo)
    try:
        for i, recs in enumerate(results, 1):
            out += recs
            print(
                f"[{time.perf_counter() - t0:6.0f} s] {i}/{len(todo)}: {recs[0]['pair']} ...",
                file=sys.stderr,
            )
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return sorted(out, key=lambda r: (r["kind"], r["pair"]))


# -- figures ---------------------------------------------------------------------------------


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f} %)" if n else "n/a"


def _strip_numbers(text: str) -> str:
    return re.sub(r"(?<![A-Za-z0-9.])[-+]?\d+(\.\d+)?", "#", text)


def detected(rec: dict, fam: str) -> bool:
    """Whether the family's injected change was found: its headline metric significant with the
    expected sign in the injected region."""
    metric, sign = HEADLINE[fam]
    region = rec["truth"][fam]["region"]
    for r, m, _, _, _, delta, _, _, _, _, sig in rec["changes"]:
        if r == region and m == metric:
            return bool(sig) and delta is not None and np.sign(delta) == sign
    return False


def smallest_detected(rates: dict[float, tuple[int, int]]) -> float | None:
    """The smallest level from which every larger level is detected in >= ``POWER`` of pairs."""
    best = None
    for level in sorted(rates, reverse=True):
        k, n = rates[level]
        if n == 0 or k / n < POWER:
            break
        best = level
    return best


def power_table(recs: list[dict], fam: str, key) -> dict[float, tuple[int, int]]:
    rates: dict[float, list[int]] = defaultdict(lambda: [0, 0])
    for r in recs:
        lv = key(r["truth"][fam])
        rates[lv][1] += 1
        rates[lv][0] += detected(r, fam)
    return {k: tuple(v) for k, v in sorted(rates.items())}


#: Faces at least this large (px between the eyes, as loaded) are reported apart where size
#: matters (spots: a spot of 2 % of the IOD is about one pixel across on a 55-px face): the
#: face size from which ``compare`` tests texture without widening.
LARGE_FACE_IOD_PX = next(lim.ok for lim in LIMITS["texture"] if lim.measure == "scoring_iod_px")


def large(rec: dict) -> bool | None:
    """Whether the before photo's face has at least ``LARGE_FACE_IOD_PX`` between the eyes."""
    iod = rec.get("iod")
    return None if iod is None else bool(iod >= LARGE_FACE_IOD_PX)


def _spot_recall(recs: list[dict], key: str, value: float) -> float | None:
    """Median over pairs of the spot count's change in the spots' cheek / spots placed (the
    detector's recall, significance aside), over the pairs whose spots have ``key == value``."""
    out = []
    for r in recs:
        t = r["truth"]["pigmentation"]
        if t[key] != value or not t["placed"]:
            continue
        for reg, m, _, _, _, delta, *_rest in r["changes"]:
            if reg == t["region"] and m == "pigmentation.spot_count" and delta is not None:
                out.append(delta / t["placed"])
    return float(np.median(out)) if out else None


def _placed(recs: list[dict], fam: str, level: float) -> str:
    """For spots: the mean number placed when fewer than asked fit in the cheek."""
    if fam != "pigmentation":
        return ""
    got = [r["truth"][fam]["placed"] for r in recs if r["truth"][fam]["level"] == level]
    return f"; {np.mean(got):.1f} placed" if got and np.mean(got) < level else ""


def sig_changes(rec: dict, families: set[str] | None = None) -> list[tuple[str, str]]:
    return [
        (r, m)
        for r, m, f, *_rest, sig in rec["changes"]
        if sig and (families is None or f in families)
    ]


def _fmt(x, spec=".2f") -> str:
    return (
        "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)
    )


def report(records: list[dict], counts: dict, args, elapsed: float) -> str:
    halves = ("dev", "held-out")
    by = {h: [r for r in records if r["half"] == h] for h in halves}
    ok = {h: [r for r in by[h] if not r["error"]] for h in halves}
    inj = {h: [r for r in ok[h] if r["kind"] == "inject"] for h in halves}
    null = {h: [r for r in ok[h] if r["kind"] == "null"] for h in halves}
    real = {h: [r for r in ok[h] if r["kind"] == "real"] for h in halves}
    cmd = "python benchmarks/validation.py" + (" --quick" if args.quick else "")
    if args.seed != DEFAULT_SEED:
        cmd += f" --seed {args.seed}"
    for flag, default in OPTION_DEFAULTS.items():
        value = getattr(args, flag, default)
        if value != default:
            shown = f"{value:g}" if isinstance(value, float) else value
            cmd += f" --{flag.replace('_', '-')} {shown}"
    faces_ok = {h: len({r["before"] for r in inj[h] + null[h]}) for h in halves}
    out = [
        f"Validation on real faces ({'quick' if args.quick else 'full'} run, seed {args.seed}, "
        f"{elapsed / 60:.1f} min, {args.jobs} jobs): `{cmd}`",
        "",
        "Before photos: "
        + "; ".join(
            f"{h}: {counts['photos'][h]} photos of {counts['people'][h]} people "
            f"({faces_ok[h]} reached a comparison)"
            for h in halves
        )
        + f". Per photo {args.injected} injected pairs (every level of every family once per 5 "
        f"pairs) and {args.nulls} null pairs (recapture only)."
        + (f" ({counts['note']})" if counts.get("note") else ""),
        "",
    ]

    def row(label, f, target=""):
        cells = [f(h) for h in halves]
        return f"| {label} | {cells[0]} | {cells[1]} | {target} |"

    head = ["| figure | dev | held-out | target |", "|---|---|---|---|"]

    # -- power --
    out += ["### Injected changes: detection (significant, right sign, right region)", ""]
    out += head
    for fam in LEVELS:
        metric, _ = HEADLINE[fam]
        rates = {h: power_table(inj[h], fam, lambda t: t["level"]) for h in halves}
        out.append(
            row(
                f"{fam}: smallest {UNITS[fam]} detected >= 90 % (`{metric}`)",
                lambda h, rates=rates: (
                    f"{_fmt(smallest_detected(rates[h]), 'g')} ({len(inj[h])} pairs of "
                    f"{len({r['before'] for r in inj[h]})} faces)"
                ),
                TARGETS["redness"] if fam == "redness" else "",
            )
        )
        for lv in LEVELS[fam]:
            out.append(
                row(
                    f"{fam} at {lv:g}",
                    lambda h, rates=rates, lv=lv, fam=fam: (
                        _pct(*rates[h].get(lv, (0, 0))) + _placed(inj[h], fam, lv)
                    ),
                    ">= 90 %" if (fam, lv) == ("redness", 3.0) else "",
                )
            )
    for label, key, levels in (
        ("pigmentation by spot radius (% of IOD)", "radius_iod", SPOT_RADIUS_IOD),
        ("pigmentation by spot contrast (ΔL*)", "contrast_L", SPOT_CONTRAST_L),
    ):
        rates = {h: power_table(inj[h], "pigmentation", lambda t, key=key: t[key]) for h in halves}
        for lv in levels:
            shown = 100 * lv if key == "radius_iod" else lv
            out.append(
                row(
                    f"{label}: {shown:g}; detected, and spots counted / placed (median)",
                    lambda h, rates=rates, lv=lv, key=key: (
                        _pct(*rates[h].get(lv, (0, 0))) + f"; {_fmt(_spot_recall(inj[h], key, lv))}"
                    ),
                )
            )
            out.append(
                row(
                    f"{label}: {shown:g}; spots counted / placed (median), faces with fewer / "
                    f"at least {LARGE_FACE_IOD_PX:g} px between the eyes",
                    lambda h, lv=lv, key=key: " / ".join(
                        _fmt(_spot_recall([r for r in inj[h] if large(r) is want], key, lv))
                        for want in (False, True)
                    ),
                )
            )
    out += tested_rows(inj, row)
    untested = {
        h: Counter(
            fam
            for r in inj[h]
            for fam in LEVELS
            if r["verdicts"][VERDICT_FAMILY[fam]][0] == "not_comparable"
        )
        for h in halves
    }
    out.append(
        row(
            "injected pairs with the family not comparable (counted as misses)",
            lambda h: ", ".join(f"{f} {n}" for f, n in sorted(untested[h].items())) or "none",
        )
    )
    out.append("")

    # -- bruise IoU --
    out += ["### Bruise segmentation", ""] + head
    iou = {h: np.array([r["iou"] for r in inj[h] if "iou" in r]) for h in halves}
    out.append(
        row(
            "bruise IoU (new-bruise mask vs truth), mean / median / min",
            lambda h: (
                f"{iou[h].mean():.2f} / {np.median(iou[h]):.2f} / {iou[h].min():.2f} "
                f"({len(iou[h])} pairs)"
                if len(iou[h])
                else "n/a"
            ),
        )
    )
    out.append(
        row(
            "bruise IoU >= 0.7",
            lambda h: _pct(int((iou[h] >= 0.7).sum()), len(iou[h])),
            "every face",
        )
    )
    for lv in LEVELS["bruise"]:
        sel = {
            h: np.array([r["iou"] for r in inj[h] if r["truth"]["bruise"]["level"] == lv])
            for h in halves
        }
        out.append(
            row(
                f"bruise IoU at {lv:g} % of the chin: mean",
                lambda h, sel=sel: f"{_fmt(sel[h].mean() if len(sel[h]) else None)}",
            )
        )
    out.append("")

    # -- null pairs --
    out += ["### Null pairs (recapture only): false significant changes", ""] + head
    nsig = {h: np.array([len(sig_changes(r)) for r in null[h]]) for h in halves}
    out.append(
        row(
            "significant changes per null pair (after Benjamini-Hochberg)",
            lambda h: (
                f"{nsig[h].sum() / len(nsig[h]):.2f} ({nsig[h].sum()} in {len(nsig[h])} pairs, "
                f"max {nsig[h].max()})"
                if len(nsig[h])
                else "n/a"
            ),
            TARGETS["null"],
        )
    )
    out.append(
        row(
            "null pairs with any significant change",
            lambda h: _pct(int((nsig[h] > 0).sum()), len(nsig[h])),
        )
    )
    top = {h: Counter(f"{r}/{m}" for rec in null[h] for r, m in sig_changes(rec)) for h in halves}
    out.append(
        row(
            "most flagged on null pairs (region/metric: times)",
            lambda h: ", ".join(f"{k}: {v}" for k, v in top[h].most_common(4)) or "none",
        )
    )
    out.append("")

    # -- real pairs --
    n_real = {h: sum(r["kind"] == "real" for r in by[h]) for h in halves}
    out += [
        "### Real same-person pairs (`faces.csv`; untreated, other days and cameras)",
        "",
        *head,
        row("pairs that reached a comparison", lambda h: _pct(len(real[h]), n_real[h])),
        *real_rows(real, row),
    ]
    forced = {h: [r for r in ok[h] if r["kind"] == "real_forced"] for h in halves}
    if any(forced.values()):
        out += [
            "### The refused real pairs, forced through (`--force`)",
            "",
            *head,
            row(
                "refused pairs compared when forced",
                lambda h: _pct(len(forced[h]), n_real[h] - len(real[h])),
            ),
            *real_rows(forced, row),
        ]

    # -- refusals --
    fails = Counter(
        (r["half"], r["kind"], _strip_numbers(r["error"])) for r in records if r["error"]
    )
    if fails:
        out.append(
            "Refused or failed pairs (not in the figures above; half, kind: times x reason):"
        )
        out += [
            f"- {h}, {k}: {n} x {e}"
            for (h, k, e), n in sorted(fails.items(), key=lambda kv: -kv[1])
        ]
        out.append("")
    return "\n".join(out)


def _tested(rec: dict, fam: str) -> bool:
    return rec["verdicts"][VERDICT_FAMILY[fam]][0] != "not_comparable"


def tested_rows(inj: dict[str, list[dict]], row) -> list[str]:
    """Detection among the pairs whose family was tested (not declared not comparable), and
    the faces among them on which a change at the next-to-largest level was ever missed."""
    lines = []
    for fam, levels in LEVELS.items():
        sel = {h: [r for r in inj[h] if _tested(r, fam)] for h in inj}
        rates = {h: power_table(sel[h], fam, lambda t: t["level"]) for h in sel}
        lines.append(
            row(
                f"{fam}, pairs where tested: at {' / '.join(f'{lv:g}' for lv in levels)}",
                lambda h, rates=rates, levels=levels, sel=sel: (
                    " / ".join(
                        _fmt(100 * k / n if n else None, ".0f")
                        for k, n in (rates[h].get(lv, (0, 0)) for lv in levels)
                    )
                    + f" % ({len(sel[h])} pairs of {len({r['before'] for r in sel[h]})} faces)"
                ),
            )
        )
        big = levels[-2]
        missed = {
            h: sorted(
                {
                    r["before"]
                    for r in sel[h]
                    if r["truth"][fam]["level"] >= big and not detected(r, fam)
                }
            )
            for h in sel
        }
        lines.append(
            row(
                f"{fam}, faces where tested with a change of {big:g} or more ever missed",
                lambda h, missed=missed, sel=sel: (
                    f"{len(missed[h])} of {len({r['before'] for r in sel[h]})}"
                    + (f" ({', '.join(missed[h][:4])})" if missed[h] else "")
                ),
                "none (texture: every face)" if fam == "texture" else "",
            )
        )
    return lines


def real_rows(recs: dict[str, list[dict]], row) -> list[str]:
    """The rows of a block of real pairs: verdicts, significant changes, reasons."""
    halves = ("dev", "held-out")
    lines: list[str] = []
    fams = ("colour", "pigmentation", "texture", "bruise", "geometry")
    for fam in fams:
        st = {h: Counter(r["verdicts"][fam][0] for r in recs[h]) for h in halves}
        lines.append(
            row(
                f"{fam}: comparable / limited / not comparable",
                lambda h, st=st: (
                    f"{_pct(st[h]['comparable'], len(recs[h]))} / {st[h]['limited']} / "
                    f"{st[h]['not_comparable']}"
                ),
            )
        )
        per = {
            h: np.array(
                [
                    len(sig_changes(r, {fam}))
                    for r in recs[h]
                    if r["verdicts"][fam][0] == "comparable"
                ]
            )
            for h in halves
        }
        lines.append(
            row(
                f"{fam}: significant {fam} changes per comparable pair, median (max; pairs)",
                lambda h, per=per: (
                    f"{np.median(per[h]):g} ({per[h].max()}; {len(per[h])})"
                    if len(per[h])
                    else "n/a"
                ),
                TARGETS["real"],
            )
        )
    allc = {
        h: np.array(
            [
                len(sig_changes(r, {f for f in fams if r["verdicts"][f][0] == "comparable"}))
                for r in recs[h]
            ]
        )
        for h in halves
    }
    lines.append(
        row(
            "all comparable families: significant changes per pair, median (max; pairs)",
            lambda h: (
                f"{np.median(allc[h]):g} ({allc[h].max()}; {len(allc[h])})"
                if len(allc[h])
                else "n/a"
            ),
            TARGETS["real"],
        )
    )
    tested = {h: np.array([len(sig_changes(r)) for r in recs[h]]) for h in halves}
    lines.append(
        row(
            "every tested change (comparable and limited): per pair, median (max)",
            lambda h: f"{np.median(tested[h]):g} ({tested[h].max()})" if len(tested[h]) else "n/a",
        )
    )
    top = {h: Counter(f"{r}/{m}" for rec in recs[h] for r, m in sig_changes(rec)) for h in halves}
    lines.append(
        row(
            "most flagged on real pairs (region/metric: times)",
            lambda h: ", ".join(f"{k}: {v}" for k, v in top[h].most_common(5)) or "none",
        )
    )
    lines.append("")
    reasons = {
        h: Counter(
            _strip_numbers(reason)
            for r in recs[h]
            for status, reason in r["verdicts"].values()
            if status == "not_comparable"
        )
        for h in halves
    }
    lines.append("Most common not-comparable reasons on real pairs (numbers as #; times):")
    for h in halves:
        for reason, n in reasons[h].most_common(5):
            lines.append(f"- {h}: {n} x {reason}")
    lines.append("")

    return lines


def _detail(truth: dict) -> str:
    """The injected change's drawn details (coverage, spots placed, radius, contrast, bruise area
    and stage) as ``key=value`` pairs."""
    return " ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in truth.items()
        if k not in ("region", "level")
    )


def write_csv(records: list[dict], path: str) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, CSV_FIELDS)
        w.writeheader()
        for rec in records:
            keys = ("kind", "pair", "half", "person", "before", "after", "iod")
            base = {k: rec.get(k) for k in keys}
            base["error"] = rec["error"] or ""
            if rec["error"]:
                w.writerow(base)
                continue
            injected = {
                (t["region"], VERDICT_FAMILY[fam]): (fam, t["level"], _detail(t))
                for fam, t in rec.get("truth", {}).items()
            }
            for region, metric, fam, b, a, d, se, z, p, q, sig in rec["changes"]:
                inj_fam, inj_level, detail = injected.get((region, fam), ("", "", ""))
                w.writerow(
                    {
                        **base,
                        "region": region,
                        "metric": metric,
                        "family": fam,
                        "status": rec["verdicts"].get(fam, ("",))[0],
                        "injected_family": inj_fam,
                        "injected_level": inj_level,
                        "injected_detail": detail,
                        "before_value": b,
                        "after_value": a,
                        "delta": d,
                        "se": se,
                        "z": z,
                        "p": p,
                        "q": q,
                        "significant": int(bool(sig)),
                    }
                )


DEFAULT_SEED = 20261204
#: The options the report's command line repeats when they differ from these.
OPTION_DEFAULTS = {"half": "all", "face_iod": None, "melanin": 0.0, "injected": 5, "nulls": 3}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="6 faces and 8 real pairs (~2-3 min)")
    ap.add_argument("-o", "--out", help="also write the Markdown to this file")
    ap.add_argument("--csv", help="write one row per change of every comparison to this file")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    d = OPTION_DEFAULTS
    ap.add_argument("--injected", type=int, default=d["injected"], help="injected pairs per face")
    ap.add_argument("--nulls", type=int, default=d["nulls"], help="null pairs per face")
    ap.add_argument(
        "--half", choices=("dev", "held-out", "all"), default=d["half"], help="only these people"
    )
    ap.add_argument(
        "--face-iod",
        type=float,
        default=d["face_iod"],
        metavar="PX",
        help="reduce every before photo to PX between the eyes (larger faces only; no real pairs)",
    )
    ap.add_argument(
        "--melanin",
        type=float,
        default=d["melanin"],
        metavar="OD",
        help="darken every before photo's skin by melanin of this optical density (no real pairs)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    t0 = time.perf_counter()
    tasks, counts, _ = plan(args)
    records = run_all(tasks, args.jobs)
    text = report(records, counts, args, time.perf_counter() - t0)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.csv:
        write_csv(records, args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
