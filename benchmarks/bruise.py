"""Does the bruise detector generalize? False bruise area on clean skin and injected bruises.

Every single-face photo of ``../shared/faces`` (or ``$MESOVISION_FACES``; ``faces.csv`` labels
the person) and the two sample faces (``sample_images/*/before.jpg``) are put on the scoring
frame ``compare`` uses (decoded at most 2048 px, landmarks, the face crop resized to 0.9 x the
interocular distance, at most 400 px; the region masks of :mod:`mesovision.regions`, pixels
clipped at capture left out) and measured twice:

* **false bruise area**: :func:`mesovision.metrics.bruise.segment_bruises` on the photo as it is
  (no bruise on these faces), with the photo's own skin baseline; per region (every measured
  region and ``face``) the share of the region flagged. A face passes when it is under
  ``FALSE_AREA_PCT`` (1 %) in *every* region.
* **injected bruises**: on each face, ``--per-stage`` bruises of each colour stage (fresh
  red-purple, blue-green, green, yellow-brown: :data:`INJECTED_STAGES`), each in a random
  region, at a random place, of a random size (5-30 % of the region's area), a random shape (an
  ellipse of random axes ratio and angle whose radius is modulated by random harmonics:
  irregular) and a random magnitude (``strength`` 0.6-1.2 x the stage's Lab shift), painted by
  :func:`mesovision.testing.synthetic.inject_bruise`. The truth is the profile's half-maximum inside
  the face's skin; the detection is every bruise component of the injected photo touching the
  truth; IoU = |detection & truth| / |detection | truth|. A bruise is *detected* when the
  detection covers at least half of the truth; a detected bruise under IoU 0.7 is *too small*
  when it covers less of the truth than the share of its own pixels inside it, else *too
  large* (:func:`outline_counts`).
* **in a comparison** (``--pairs N``, default 2): the photo compared with ``N`` seeded
  recaptures of itself through ``align_pair`` and ``compare_pair`` (:mod:`_bruise_pairs`:
  ``compare`` makes the two photos' bruise maps agree, after alignment and normalization): a
  photo passes when no region of either photo of any of its pairs is ``PAIR_FALSE_PCT`` (1 %)
  bruised; the significant bruise changes are counted (all false).
* **injected, in a comparison** (``--pair-injections N``, default 1): ``N`` bruises of each
  stage painted as above on the photo (in its own frame, a random region, declared treated),
  the photo recaptured as the null pairs are and compared with the unpainted photo
  (:func:`_bruise_pairs.injected_pairs`): the IoU of the after photo's new bruise (its bruises
  not in the before photo, in the before photo's frame, the components touching the truth),
  detected (half the truth covered) and significant (the region's bruised area rose
  significantly); also split by the face's size in the scoring frame, under and at or above
  the bruise family's limit (``comparability.BRUISE_MIN_SCORING_IOD_PX``).

Each split's report also gives the median L* of its faces' skin and, per stage, the CIELAB
change painted over the truth (a shift beyond the sRGB gamut is clipped). ``--melanin OD``
darkens every face's skin first (:func:`_melanin.darker_skin`: melanin of optical density
``OD`` at the red channel, in linear light) for the single photos, the null pairs and the
injected pairs alike: how the detector reads darker skin. ``--absorbing`` paints each bruise as
an absorbing pigment in linear light instead of a CIELAB shift (the optical density that gives
the stage's shift on the faces' median skin, ``synthetic.REFERENCE_SKIN_LAB``): on darker skin
it changes the colour by what that skin lets it, inside the gamut. ``--shrink-iod PX`` makes
every photo small first, as the 150-px crops of ``../shared/faces`` are
(:func:`_melanin.small_photo`: darkened at its own size with ``--melanin``, reduced so that its
eyes are at most ``PX`` apart -- the development crops' are 49-57 px apart, median 53 -- and
re-encoded as a JPEG of the crops' quality with 4:2:0 chroma), for the single photos, the null
pairs and the injected pairs alike: the development faces as small, dark faces.

People are split in two halves by ``benchmarks/_faces.split_people`` (the sample faces, on
which the detector was first tuned, go with the development half): the detector's settings were
chosen on ``dev``; ``held-out`` is the result; ``all`` is every face.

    python benchmarks/bruise.py                  # all faces, 3 bruises per stage per face
    python benchmarks/bruise.py --per-stage 1 --split dev
    python benchmarks/bruise.py --csv out.csv    # one row per face and per injection too
    python benchmarks/bruise.py --pairs 0 --pair-injections 0   # single photos (about 10 s)
    python benchmarks/bruise.py --split dev --melanin 0.6       # about 20 L* darker skin
    python benchmarks/bruise.py --split dev --melanin 0.6 --shrink-iod 55 --pairs 0

Runs in about 4 minutes on two cores (``--workers 2``).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bruise_pairs import (  # noqa: E402
    PAIR_FALSE_PCT,
    injected_pairs,
    null_pairs,
    summarize_pairs,
    touching_iou,
)
from _faces import faces_dir, labelled_faces, sample_faces, split_people  # noqa: E402
from _melanin import darker_skin, small_photo  # noqa: E402

from mesovision.batch.worker import init_worker  # noqa: E402

#: A face passes when its false bruise area is under this share (%) of every region.
FALSE_AREA_PCT = 1.0
#: IoU an injected bruise must reach.
IOU_TARGET = 0.7
#: The injected stages: the detector's stage each should read as, and its Lab shift at the
#: centre (strength 1). ``green`` is the blue-green stage late, when the blue has gone: less red,
#: a little yellower, darker.
INJECTED_STAGES: dict[str, tuple[str, tuple[float, float, float]]] = {
    "fresh": ("red-purple", (-18.0, 14.0, -14.0)),
    "blue-green": ("blue-green", (-20.0, -6.0, -16.0)),
    "green": ("blue-green", (-12.0, -10.0, 5.0)),
    "yellow-brown": ("yellow-brown", (-6.0, 3.0, 22.0)),
}
#: Range of the injected magnitude (a factor on the stage's Lab shift).
STRENGTH_RANGE = (0.6, 1.2)
#: Range of the injected bruise's area, as a share of its region.
SIZE_RANGE = (0.05, 0.30)
#: Regions a bruise is injected in (the face's measured regions).
INJECT_REGIONS = (
    "forehead",
    "glabella",
    "nose",
    "right_cheek",
    "left_cheek",
    "right_periorbital",
    "left_periorbital",
    "perioral",
    "chin",
)


@dataclass
class Face:
    name: str
    person: str
    split: str
    rgb: np.ndarray
    regions: dict[str, np.ndarray]
    scoring_iod: float = float("nan")  # px between the eyes in the scoring frame


@dataclass
class FaceResult:
    name: str
    person: str
    split: str
    scoring_iod: float = float("nan")
    false_pct: dict[str, float] = field(default_factory=dict)
    injections: list[dict] = field(default_factory=list)
    pairs: list = field(default_factory=list)  # _bruise_pairs.PairReading, one per null pair
    pair_injections: list[dict] = field(default_factory=list)  # _bruise_pairs.injected_pairs
    seconds: float = 0.0
    skin_lightness: float = float("nan")  # median L* of the face's skin as measured
    skin_melanin: float = float("nan")  # its median melanin density (compare's bruise limit)


def scoring_face(
    path: Path, melanin: float = 0.0, shrink_iod: float = 0.0
) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """The photo on ``compare``'s scoring frame, its region masks (clipped pixels out) and its
    interocular distance there (px); with ``melanin``, its skin darkened
    (:func:`_melanin.darker_skin`); with ``shrink_iod``, the photo first made small
    (:func:`_melanin.small_photo`: darkened, eyes at most ``shrink_iod`` px apart, a JPEG as
    the 150-px crops are) and its landmarks found again there."""
    from mesovision.io import load_photo
    from mesovision.landmarks import detect_landmarks
    from mesovision.scoring import SCORE_IOD_SHARE, SCORE_MAX_IOD_PX, clipped, regions_in
    from mesovision.scoring_frame import frame_matrix, score_box, to_scoring

    rgb = load_photo(path).rgb
    lm = detect_landmarks(rgb, path=str(path))
    if shrink_iod:
        rgb = small_photo(rgb, lm, melanin, shrink_iod)
        lm = detect_landmarks(rgb, path=str(path))
        melanin = 0.0
    k = min(SCORE_MAX_IOD_PX, SCORE_IOD_SHARE * lm.interocular_px) / lm.interocular_px
    box = score_box(lm, None, rgb.shape)
    raw = to_scoring(rgb, k, box)
    reg = regions_in(raw, lm, frame_matrix(k, box), k, None, box)
    clip = clipped(raw)  # clipped at capture: left out, darker skin or not
    if melanin:
        raw = darker_skin(raw, reg["face"], k * lm.interocular_px, melanin)
    return raw, {r: m & ~clip for r, m in reg.items()}, k * lm.interocular_px


def photos() -> list[tuple[Path, str, str]]:
    """``(path, person, split)`` of the sample faces (``dev``) and the labelled faces."""
    out = [(p, p.parent.name, "dev") for p in sample_faces()]
    folder = faces_dir()
    if folder is None:
        print("(../shared/faces not found: the sample faces only)", file=sys.stderr)
        return out
    labelled = labelled_faces(folder)
    dev, _ = split_people(p for _, p in labelled)
    out += [(p, person, "dev" if person in dev else "held-out") for p, person in labelled]
    return out


def _irregular_bruise(rgb, skin, region, rng, stage, absorbing: bool = False):
    """One random bruise in ``region``: ``(image, truth, record)``; ``absorbing``: painted as
    an absorbing pigment (:func:`mesovision.testing.synthetic.inject_bruise`)."""
    from mesovision.testing.synthetic import inject_bruise

    area = float(region.sum())
    frac = rng.uniform(*SIZE_RANGE)
    ratio = rng.uniform(0.5, 1.0)  # minor / major axis
    irregular = rng.uniform(0.0, 0.25)
    # The half-maximum truth is the ellipse at 0.75 of the axes: size it to frac of the region.
    major = np.sqrt(frac * area / (np.pi * ratio)) / 0.75
    axes = (major, major * ratio)
    # A centre inside the region, away from its border when the region allows.
    import cv2

    dist = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 5)
    want = min(0.5 * major * ratio, 0.8 * float(dist.max()))
    ys, xs = np.nonzero(dist >= want)
    i = rng.integers(len(ys))
    centre = (float(xs[i]), float(ys[i]))
    strength = rng.uniform(*STRENGTH_RANGE)
    expect, shift = INJECTED_STAGES[stage]
    img, truth = inject_bruise(
        rgb,
        centre,
        axes,
        angle_deg=float(rng.uniform(0, 180)),
        shift_lab=shift,
        strength=strength,
        irregularity=irregular,
        seed=int(rng.integers(2**31)),
        absorbing=absorbing,
    )
    truth &= skin
    rec = {
        "stage": stage,
        "expect_stage": expect,
        "strength": strength,
        "delivered_lab": _delivered(rgb, img, truth),
        "size_pct": 100.0 * float((truth & region).sum()) / area,
        "truth_px": int(truth.sum()),
        "irregularity": irregular,
    }
    return img, truth, rec


def _delivered(rgb: np.ndarray, img: np.ndarray, truth: np.ndarray) -> tuple[float, ...]:
    """The mean CIELAB change painted over ``truth`` (what the photo's colours let the stage's
    shift become: a shift beyond the sRGB gamut is clipped, as on dark, warm skin a yellow
    one is)."""
    from mesovision.color import rgb_to_lab

    if not truth.any():
        return (float("nan"),) * 3
    d = rgb_to_lab(img[truth][None]) - rgb_to_lab(rgb[truth][None])
    return tuple(round(float(v), 2) for v in d[0].mean(axis=0))


def measure_face(face: Face, per_stage: int, seed: int, absorbing: bool = False) -> FaceResult:
    """The false bruise area per region and ``per_stage`` injected bruises per stage."""
    from mesovision.metrics import SkinBaseline
    from mesovision.metrics.bruise import segment_bruises

    t0 = time.perf_counter()
    reg, rgb = face.regions, face.rgb
    skin = reg["face"]
    out = FaceResult(face.name, face.person, face.split, face.scoring_iod)
    if skin.sum() < 100:
        return out
    base = SkinBaseline.from_image(rgb, skin)
    out.skin_lightness = float(base.lab_median[0])
    out.skin_melanin = float(base.melanin_density_median)
    clean = segment_bruises(rgb, skin, baseline=base, region_masks=reg)
    for r, m in reg.items():
        n = int(m.sum())
        if n:
            out.false_pct[r] = 100.0 * float((clean.mask & m).sum()) / n
    rng = np.random.default_rng(seed)
    usable = [r for r in INJECT_REGIONS if reg.get(r) is not None and reg[r].sum() >= 50]
    for stage in INJECTED_STAGES:
        for _ in range(per_stage):
            region = usable[rng.integers(len(usable))]
            img, truth, rec = _irregular_bruise(rgb, skin, reg[region], rng, stage, absorbing)
            res = segment_bruises(img, skin, baseline=base, region_masks=reg)
            iou, cover, seg = touching_iou(res.mask, truth)
            mine = [
                b
                for b in res.bruises
                if seg[round(b.centroid_xy[1]), round(b.centroid_xy[0])]
                or truth[round(b.centroid_xy[1]), round(b.centroid_xy[0])]
            ]
            rec.update(
                region=region,
                iou=iou,
                cover=round(cover, 4),
                detected=cover >= 0.5,
                stage_ok=bool(mine) and mine[0].stage == rec["expect_stage"],
            )
            out.injections.append(rec)
    out.seconds = time.perf_counter() - t0
    return out


def _run_one(
    item, per_stage, n_pairs=0, pair_injections=0, melanin=0.0, absorbing=False, shrink_iod=0.0
):
    i, (path, person, split) = item
    from mesovision.errors import MesovisionError

    try:
        rgb, reg, iod = scoring_face(path, melanin, shrink_iod)
    except MesovisionError as e:
        print(f"{path.name}: {e}", file=sys.stderr)
        return None
    face = Face(
        path.parent.name if path.name == "before.jpg" else path.name, person, split, rgb, reg, iod
    )
    out = measure_face(face, per_stage, seed=1000 + i, absorbing=absorbing)
    small = {"melanin": melanin, "shrink_iod": shrink_iod}
    out.pairs = null_pairs(path, n_pairs, seed=2000 + i, **small) if n_pairs else []
    if pair_injections:
        out.pair_injections = injected_pairs(
            path,
            pair_injections,
            3000 + i,
            partial(_irregular_bruise, absorbing=absorbing),
            INJECTED_STAGES,
            INJECT_REGIONS,
            **small,
        )
    return out


def run(
    per_stage: int,
    workers: int,
    only: str | None = None,
    n_pairs: int = 0,
    pair_injections: int = 0,
    melanin: float = 0.0,
    absorbing: bool = False,
    shrink_iod: float = 0.0,
):
    """:class:`FaceResult` of every photo of the split ``only``, with ``n_pairs`` null pairs
    and ``pair_injections`` injected pairs per stage; with ``melanin``, each photo's skin
    darkened first; with ``shrink_iod``, each photo made small first
    (:func:`_melanin.small_photo`)."""
    items = [(i, p) for i, p in enumerate(photos()) if only in (None, "all", p[2])]
    n = len(items)
    opts = (per_stage, n_pairs, pair_injections, melanin, absorbing, shrink_iod)
    args = (items, *([v] * n for v in opts))
    if workers <= 1:
        return [r for r in map(_run_one, *args) if r is not None]
    ctx = get_context("spawn")  # MediaPipe is not fork-safe
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=init_worker, initargs=(os.getpid(),)
    ) as ex:
        results = list(ex.map(_run_one, *args))
    return [r for r in results if r is not None]


def _q(values, q):
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _stage_table(inj: list[dict], last: str) -> dict:
    """Per injected stage: the count, IoU median, 5th percentile and minimum, the shares at IoU
    >= ``IOU_TARGET`` and detected, and the share of the detected ones with ``last`` true."""
    stages = {}
    for st in INJECTED_STAGES:
        rows = [i for i in inj if i["stage"] == st]
        ious = [i["iou"] for i in rows]
        stages[st] = {
            "n": len(rows),
            "iou_median": _q(ious, 50),
            "iou_p5": _q(ious, 5),
            "iou_min": min(ious) if ious else float("nan"),
            "iou_ge_target": np.mean([v >= IOU_TARGET for v in ious]) if ious else float("nan"),
            "detected": np.mean([i["detected"] for i in rows]) if rows else float("nan"),
            last: np.mean([i[last] for i in rows if i["detected"]] or [np.nan]),
        }
    return stages


def outline_counts(inj: list[dict]) -> dict[str, tuple[int, int]]:
    """Per injected stage, the bruises found (half the truth covered) but under ``IOU_TARGET``:
    ``(too small, too large)``, too small when they cover a smaller share of the truth
    (``cover``) than the share of their own pixels inside it (their precision, ``c / (c / IoU
    - 1 + c)`` from the IoU and the covered share ``c``)."""
    out = {}
    for st in INJECTED_STAGES:
        small = large = 0
        for i in inj:
            c, iou = i.get("cover", float("nan")), i["iou"]
            if i["stage"] != st or not c >= 0.5 or iou >= IOU_TARGET:
                continue
            precision = c / (c / iou - 1.0 + c)
            small, large = (small + 1, large) if c < precision else (small, large + 1)
        out[st] = (small, large)
    return out


def _print_outline(counts: dict[str, tuple[int, int]]) -> None:
    print(
        f"found but under IoU {IOU_TARGET} (too small / too large): "
        + ", ".join(f"{st} {a} / {b}" for st, (a, b) in counts.items())
    )


def _print_stages(stages: dict, last: str) -> None:
    head = last.replace("_", " ")
    print(
        f"{'stage':14s} {'n':>4s} {'IoU med':>8s} {'IoU p5':>7s} {'IoU min':>8s} "
        f"{'IoU>=0.7':>9s} {'detected':>9s} {head:>11s}"
    )
    for st, v in stages.items():
        print(
            f"{st:14s} {v['n']:4d} {v['iou_median']:8.3f} {v['iou_p5']:7.3f} "
            f"{v['iou_min']:8.3f} {100 * v['iou_ge_target']:8.1f}% "
            f"{100 * v['detected']:8.1f}% {100 * v[last]:10.1f}%"
        )


def summarize(results: list[FaceResult], split: str) -> dict:
    """The figures of one split (``dev``, ``held-out`` or ``all``)."""
    sel = [r for r in results if split == "all" or r.split == split]
    ok = [r for r in sel if r.false_pct]
    passing = [r for r in ok if max(r.false_pct.values()) < FALSE_AREA_PCT]
    per_region = defaultdict(list)
    for r in ok:
        for k, v in r.false_pct.items():
            per_region[k].append(v)
    inj = [i for r in sel for i in r.injections]
    face_min = defaultdict(lambda: 1.0)
    for r in sel:
        for i in r.injections:
            face_min[r.name] = min(face_min[r.name], i["iou"])
    return {
        "n_faces": len(ok),
        "n_people": len({r.person for r in ok}),
        "pass_share": len(passing) / len(ok) if ok else float("nan"),
        "failing": sorted(
            (
                (r.name, max(r.false_pct, key=r.false_pct.get), max(r.false_pct.values()))
                for r in ok
                if r not in passing
            ),
            key=lambda t: -t[2],
        ),
        "per_region": {k: (_q(v, 50), _q(v, 95), max(v)) for k, v in sorted(per_region.items())},
        "stages": _stage_table(inj, "stage_ok"),
        "outline": outline_counts(inj),
        "pair_outline": outline_counts([i for r in sel for i in r.pair_injections]),
        "n_injected": len(inj),
        "pair_stages": _stage_table([i for r in sel for i in r.pair_injections], "significant"),
        "pair_by_size": _by_face_size(sel),
        "pair_by_skin": _by_skin(sel),
        "faces_all_iou_ok": np.mean([v >= IOU_TARGET for v in face_min.values()])
        if face_min
        else float("nan"),
        "pairs": summarize_pairs([r.pairs for r in sel]),
        "skin_lightness": _q([r.skin_lightness for r in ok], 50),
        "delivered": _delivered_by_stage(inj),
    }


def _delivered_by_stage(inj: list[dict]) -> dict[str, tuple[float, float, float]]:
    """Per injected stage, the median CIELAB change painted over the truth, per channel."""
    out = {}
    for st in INJECTED_STAGES:
        rows = np.array([i["delivered_lab"] for i in inj if i["stage"] == st], float)
        out[st] = tuple(np.nanmedian(rows, axis=0)) if len(rows) else (float("nan"),) * 3
    return out


def _by_face_size(sel: list[FaceResult]) -> dict[str, tuple[int, int, float, float]]:
    """The injected bruises in a comparison on faces under and at or above the bruise family's
    face-size limit (``compare`` limits the family below it): ``{side: (faces, bruises, share at
    IoU >= IOU_TARGET, share detected)}``."""
    from mesovision.comparability import BRUISE_MIN_SCORING_IOD_PX

    out = {}
    for side, small in (("under", True), ("at or above", False)):
        faces = [
            r
            for r in sel
            if r.pair_injections and (r.scoring_iod < BRUISE_MIN_SCORING_IOD_PX) == small
        ]
        inj = [i for r in faces for i in r.pair_injections]
        ious = [i["iou"] >= IOU_TARGET for i in inj]
        det = [i["detected"] for i in inj]
        out[side] = (
            len(faces),
            len(inj),
            float(np.mean(ious)) if inj else float("nan"),
            float(np.mean(det)) if inj else float("nan"),
        )
    return out


def _by_skin(sel: list[FaceResult]) -> dict[str, tuple[int, dict[str, tuple[int, float]]]]:
    """The injected bruises in a comparison on faces whose skin's median melanin density is at
    most and over the bruise family's limit (``compare`` limits the family over it): ``{side:
    (faces, {stage: (bruises, share detected)})}``."""
    from mesovision.comparability import BRUISE_MAX_SKIN_MELANIN

    out = {}
    for side, dark in (("at most", False), ("over", True)):
        faces = [
            r
            for r in sel
            if r.pair_injections and (r.skin_melanin > BRUISE_MAX_SKIN_MELANIN) == dark
        ]
        stages = {}
        for st in INJECTED_STAGES:
            det = [i["detected"] for r in faces for i in r.pair_injections if i["stage"] == st]
            stages[st] = (len(det), float(np.mean(det)) if det else float("nan"))
        out[side] = (len(faces), stages)
    return out


def report(
    results: list[FaceResult],
    splits=("dev", "held-out", "all"),
    melanin: float = 0.0,
    absorbing: bool = False,
) -> None:
    from mesovision.comparability import BRUISE_MAX_SKIN_MELANIN, BRUISE_MIN_SCORING_IOD_PX

    for split in splits:
        s = summarize(results, split)
        if not s["n_faces"]:
            continue
        print(f"\n== {split}: {s['n_faces']} faces, {s['n_people']} people ==")
        darker = f"; skin darkened by melanin, optical density {melanin:g}" if melanin else ""
        paint = "; bruises painted as absorbing pigments" if absorbing else ""
        print(f"median L* of the faces' skin: {s['skin_lightness']:.1f}{darker}{paint}")
        print(
            f"faces with false bruise area < {FALSE_AREA_PCT:g} % of every region: "
            f"{100 * s['pass_share']:.1f} %"
        )
        print(f"{'region':18s} {'median %':>9s} {'p95 %':>8s} {'max %':>8s}")
        for k, (med, p95, mx) in s["per_region"].items():
            print(f"{k:18s} {med:9.3f} {p95:8.3f} {mx:8.3f}")
        if s["failing"]:
            print(
                "failing faces (worst region, %): "
                + ", ".join(f"{n} {r} {v:.1f}" for n, r, v in s["failing"][:12])
            )
        print(
            f"injected bruises: {s['n_injected']} (size 5-30 % of a region, strength "
            f"{STRENGTH_RANGE[0]}-{STRENGTH_RANGE[1]})"
        )
        _print_stages(s["stages"], "stage_ok")
        _print_outline(s["outline"])
        print(
            "painted over the truth (median dL*, da*, db*; beyond the sRGB gamut a shift is "
            "clipped): "
            + ", ".join(
                f"{st} ({d[0]:+.1f}, {d[1]:+.1f}, {d[2]:+.1f})" for st, d in s["delivered"].items()
            )
        )
        print(
            f"faces whose every injected bruise reached IoU >= {IOU_TARGET}: "
            f"{100 * s['faces_all_iou_ok']:.1f} %"
        )
        pr = s["pairs"]
        if pr["n_pairs"]:
            print(
                f"in a comparison with recaptures of itself ({pr['n_pairs']} null pairs of "
                f"{pr['n_photos']} photos): photos with no region {PAIR_FALSE_PCT:g} % bruised "
                f"in any pair {100 * pr['clean_share']:.1f} %; pairs with one "
                f"{pr['false_pairs']}; significant bruise changes {pr['significant']}"
            )
        ps = s["pair_stages"]
        if any(v["n"] for v in ps.values()):
            print(
                "injected, in a comparison with a recapture (the region declared treated; "
                "'significant': of the detected ones, the region's bruised area rose "
                "significantly):"
            )
            _print_stages(ps, "significant")
            _print_outline(s["pair_outline"])
            print(
                f"by face size (px between the eyes in the scoring frame; the bruise family is "
                f"limited under {BRUISE_MIN_SCORING_IOD_PX:g}): "
                + "; ".join(
                    f"{side}: {nf} faces, {n} bruises, IoU>={IOU_TARGET} {100 * ok:.0f} %, "
                    f"detected {100 * det:.0f} %"
                    for side, (nf, n, ok, det) in s["pair_by_size"].items()
                )
            )
            print(
                f"by the skin's median melanin density (the bruise family is limited over "
                f"{BRUISE_MAX_SKIN_MELANIN:g}), detected: "
                + "; ".join(
                    f"{side}: {nf} faces, "
                    + ", ".join(f"{st} {100 * d:.0f} % of {n}" for st, (n, d) in stages.items())
                    for side, (nf, stages) in s["pair_by_skin"].items()
                )
            )


def write_csv(results: list[FaceResult], path: str) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["face", "person", "split", "kind", "key", "value", "detail"])
        for r in results:
            w.writerow(
                [r.name, r.person, r.split, "skin_lightness", "face", f"{r.skin_lightness:.2f}", ""]
            )
            w.writerow(
                [r.name, r.person, r.split, "skin_melanin", "face", f"{r.skin_melanin:.4f}", ""]
            )
            for k, v in r.false_pct.items():
                w.writerow([r.name, r.person, r.split, "false_pct", k, f"{v:.4f}", ""])
            for kind, injections in (("iou", r.injections), ("pair_iou", r.pair_injections)):
                for i in injections:
                    detail = ";".join(f"{k}={v}" for k, v in i.items() if k != "iou")
                    iou = f"{i['iou']:.4f}"
                    w.writerow([r.name, r.person, r.split, kind, i["stage"], iou, detail])
            for k, pr in enumerate(r.pairs):
                detail = f"significant={pr.significant}"
                w.writerow([r.name, r.person, r.split, "pair", k, f"{pr.worst_pct:.4f}", detail])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-stage", type=int, default=3, help="injected bruises per stage per face")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--split", choices=("dev", "held-out", "all"), default="all")
    p.add_argument("--csv", help="write per-face and per-injection rows here")
    p.add_argument(
        "--pairs", type=int, default=2, help="null pairs per photo read as compare reads them"
    )
    p.add_argument(
        "--pair-injections",
        type=int,
        default=1,
        help="injected bruises per stage per photo read in a comparison",
    )
    p.add_argument(
        "--melanin",
        type=float,
        default=0.0,
        help="darken every face's skin first by this melanin optical density at the red "
        "channel (0.3 and 0.6: about 10 and 20 L* darker)",
    )
    p.add_argument(
        "--absorbing",
        action="store_true",
        help="paint each bruise as an absorbing pigment in linear light, matched to the stage's "
        "Lab shift on the faces' median skin (on darker skin it changes the colour less)",
    )
    p.add_argument(
        "--shrink-iod",
        type=float,
        default=0.0,
        metavar="PX",
        help="make every photo small first, as the 150-px crops of ../shared/faces are: reduce "
        "it so that its eyes are at most PX apart (the development crops': 49-57, median 53) "
        "and re-encode it as a JPEG of quality 93 with 4:2:0 chroma; with --melanin, its skin "
        "is darkened before, at its own size",
    )
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    results = run(
        args.per_stage,
        args.workers,
        args.split,
        args.pairs,
        args.pair_injections,
        args.melanin,
        args.absorbing,
        args.shrink_iod,
    )
    splits = ("dev", "held-out", "all") if args.split == "all" else (args.split,)
    report(results, splits, args.melanin, args.absorbing)
    if args.csv:
        write_csv(results, args.csv)
    print(f"\n{len(results)} faces in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
