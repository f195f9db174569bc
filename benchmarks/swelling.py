"""Is swelling measured? Thin-plate-spline bulges of known size and null pairs, through compare.

Every single-face photo of ``../shared/faces`` (or ``$MESOVISION_FACES``; ``faces.csv`` labels
the person) and the two sample faces (``sample_images/astronaut`` and ``grace_hopper``,
``before.jpg``) is the before photo of:

* **bulge pairs**: the photo with one site's contour moved outward by 1, 3 or 5 % of the
  interocular distance (:func:`mesovision.testing.swell.swell`: the patient's left cheek
  outline, the chin's jaw line, the right lower eyelid; and ``right_puffy``: the right lower
  lid's bulge with the shading of a bump below it lit from above,
  :func:`mesovision.testing.swell.puff`), then captured again. By default each photo gets one
  amplitude per site, in turn over the photos (``--every-amplitude``: all three);
* **null pairs**: the photo captured again, nothing moved.

"Captured again" is one seeded draw of the calibration's recapture (``benchmarks/calibration.py``:
rotation up to 4 deg, scale 0.93-1.07, shift up to 3 % of the width, another lamp, blur up to
0.6 px, JPEG quality 60-95). Each pair goes through ``align_pair`` and ``compare_pair`` with the
swelling metrics only (so the false discovery rate is controlled over the swelling changes of
the pair). For a bulge the site's region (:data:`mesovision.testing.swell.SITE_REGIONS`) is
read: *detected* means a significant change (q < 0.05, with the capture term in
``capture_noise.json``: ``report`` tests every change again with it) with the right sign. The
truth of a region is the bulge's true outward shift of the contour samples
(:meth:`~mesovision.testing.swell.Bulge.outward`), averaged over the region as the metric
averages (the samples' rays), on the before photo's pixels; the size error is the measured
change of ``swelling.contour_pct_iod`` minus it. On null pairs every significant change is a
false swelling. ``swelling.shade_area_pct`` below the right eye is reported for the null, the
under-eye and the puffiness pairs, and the under-eye shade ``swelling.puffiness_pct`` below
each eye (detected: a significant increase below the right eye; false: a significant change
below the left eye, or below either on a null pair).

People are split in two halves by ``benchmarks/_faces.split_people`` (the sample faces with
the development people): ``fit`` chooses the capture term of the swelling metrics
on the null pairs of ``dev`` (the share of |z| > 1.96 at 5 %, as ``calibration.py fit`` does
for the other families) and writes it into ``mesovision/capture_noise.json``; ``report``
prints every figure per half (``held-out`` is the result) and per face size (interocular
distance of the before photo under or over ``SMALL_IOD_PX``).

    python benchmarks/swelling.py run --out swell.csv      # every photo (~35 min on 2 cores)
    python benchmarks/swelling.py run --step 9 --out swell.csv   # every ninth photo (~5 min)
    python benchmarks/swelling.py fit swell.csv            # the capture term, from dev
    python benchmarks/swelling.py report swell.csv

The under-eye shade (``swelling.puffiness_pct``) alone: null, lid and puffiness pairs only,
its capture term only::

    python benchmarks/swelling.py run --sites null,right_under_eye,right_puffy --out puff.csv
    python benchmarks/swelling.py fit puff.csv --metric swelling.puffiness_pct
    python benchmarks/swelling.py report puff.csv

``run --melanin OD`` darkens each photo's skin first (``_melanin.darker_photo``: melanin of
optical density ``OD`` at the red channel, in linear light); the darker photo is the before
photo of its pairs."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faces import REPO, faces_dir, labelled_faces, split_people  # noqa: E402
from _melanin import darker_photo  # noqa: E402

from mesovision.batch.worker import init_worker  # noqa: E402

AMPLITUDES = (0.01, 0.03, 0.05)
METRICS = ("swelling.contour_pct_iod", "swelling.shade_area_pct", "swelling.puffiness_pct")
HEADLINE = "swelling.contour_pct_iod"
SHADE = "swelling.shade_area_pct"
PUFF = "swelling.puffiness_pct"
FIELDS = ("photo", "person", "iod_px", "site", "amplitude_pct", "pair", "region", "metric",
          "delta", "truth", "se", "sd_capture", "sd_pose", "sd_mismatch", "z", "q",
          "significant", "geometry", "yaw_deg", "pitch_deg", "turn_yaw_deg",
          "turn_pitch_deg", "turn_size", "turn_left")  # fmt: skip
#: Turn pairs (site ``turn``): the head turned in 3-D (:func:`mesovision.testing.head_turn.
#: turn_head`) by a yaw and a pitch drawn uniformly within these (degrees, either sign).
TURN_YAW_DEG = 3.5
TURN_PITCH_DEG = 2.5
#: The sample faces of the repository (development faces, as every name outside
#: ``_faces.HELD_OUT_PEOPLE``).
SAMPLE_FACES = ("astronaut", "grace_hopper")
#: Face-size strata: interocular distance of the before photo, px.
SMALL_IOD_PX = 80.0


def _one(job) -> list[dict]:
    """Every comparison of one photo (a process-pool task)."""
    from mesovision.errors import MesovisionError
    from mesovision.landmarks import detect_landmarks

    i, path, person, every, sites, melanin, turns = job
    name = f"{person}.jpg" if person.startswith("sample_") else Path(path).name
    with tempfile.TemporaryDirectory() as tmp:
        try:
            # with ``melanin`` the photo with darker skin, written to ``tmp``, is the before photo
            path, rgb = darker_photo(Path(path), melanin, tmp)
            lm = detect_landmarks(rgb)
        except MesovisionError as e:
            print(f"{name}: {e}", file=sys.stderr)
            return []
        rows = _pairs(i, path, rgb, lm, name, person, every, sites, tmp, turns)
    print(f"{i + 1}: {name}", file=sys.stderr)
    return rows


def _pairs(i, path, rgb, lm, name, person, every, sites, tmp, turns=0) -> list[dict]:
    """The rows of every pair of one before photo (``path``, its pixels ``rgb`` and landmarks
    ``lm``); the after photos are written to ``tmp``. Turn pairs (``turns`` of them, site
    ``turn``) are drawn after the others from their own seed, so that they leave the other
    pairs' draws as they are, and compared as ``--force`` does (a turn past the alignment's
    limits is still measured; the verdicts say what is tested)."""
    from calibration import _jpeg_bytes, _recapture

    from mesovision.testing.head_turn import turn_head
    from mesovision.testing.swell import SITE_REGIONS

    rng = np.random.default_rng(5000 + i)
    if every:
        plan = [("null", 0.0)] + [(s, a) for s in SITE_REGIONS for a in AMPLITUDES]
    else:  # one amplitude per site, in turn over the photos
        n = len(AMPLITUDES)
        plan = [("null", 0.0)] + [(s, a) for k, s in enumerate(SITE_REGIONS)
                                  for a in [AMPLITUDES[(i + k) % n]]]  # fmt: skip
    plan = [(s, a) for s, a in plan if s in sites]  # the same amplitudes whatever is left out
    rows: list[dict] = []
    for k, (site, amp) in enumerate(plan):
        bulge = _bulge(rgb, lm, site, amp)
        img = rgb if bulge is None else bulge.rgb
        after = Path(tmp) / f"{k}.jpg"
        after.write_bytes(_jpeg_bytes(_recapture(img, rng), int(rng.integers(60, 96))))
        pair = {"site": site, "amplitude_pct": round(100 * amp, 3), "pair": k}
        rows += _compare(path, after, name, person, lm, pair, _truth(rgb, lm, bulge))
    turn_rng = np.random.default_rng(9000 + i)
    for k in range(turns if "turn" in sites else 0):
        yaw = float(turn_rng.uniform(-TURN_YAW_DEG, TURN_YAW_DEG))
        pitch = float(turn_rng.uniform(-TURN_PITCH_DEG, TURN_PITCH_DEG))
        img = turn_head(rgb, lm, yaw_deg=yaw, pitch_deg=pitch)[0]
        after = Path(tmp) / f"turn{k}.jpg"
        q = int(turn_rng.integers(60, 96))
        after.write_bytes(_jpeg_bytes(_recapture(img, turn_rng), q))
        pair = {"site": "turn", "amplitude_pct": 0.0, "pair": k,
                "turn_yaw_deg": round(yaw, 3), "turn_pitch_deg": round(pitch, 3)}  # fmt: skip
        rows += _compare(path, after, name, person, lm, pair, {}, force=True)
    return rows


def _compare(path, after, name, person, lm, pair: dict, truth: dict, force=False) -> list[dict]:
    """The rows of one comparison (the swelling metrics only): every change, with the pair's
    columns ``pair`` and the truth per region (``truth``, % IOD)."""
    from mesovision.compare import compare_pair
    from mesovision.errors import MesovisionError
    from mesovision.pipeline import align_pair

    try:
        cmp = compare_pair(align_pair(str(path), str(after), force=force), metrics=list(METRICS))
    except MesovisionError as e:
        print(f"{name} {pair}: {e}", file=sys.stderr)
        return []
    try:
        from mesovision.metrics.swelling import turn_terms
    except ImportError:  # a checkout without the turn in depth: nothing taken off
        turn_terms = None
    pose = cmp.pair.alignment.pose_difference() or {}
    geometry = cmp.verdicts["geometry"]
    rows = []
    for region, per in cmp.changes.items():
        for metric, c in per.items():
            rows.append(
                {
                    "photo": name,
                    "person": person,
                    "iod_px": round(lm.interocular_px, 1),
                    **pair,
                    "region": region,
                    "metric": metric,
                    "delta": c.delta,
                    "truth": truth.get(region, 0.0) if metric == HEADLINE else "",
                    "se": c.se,
                    "sd_capture": c.noise.sd_capture,
                    "sd_pose": getattr(c.noise, "sd_pose", 0.0),
                    "sd_mismatch": c.noise.sd_mismatch,
                    "z": c.z,
                    "q": c.q,
                    "significant": int(c.significant),
                    "geometry": geometry.status,
                    "yaw_deg": round(pose.get("yaw_deg", float("nan")), 3),
                    "pitch_deg": round(pose.get("pitch_deg", float("nan")), 3),
                    **_turn_columns(
                        metric,
                        turn_terms(cmp.after.maps, cmp.after.regions[region])
                        if turn_terms
                        else (0.0, 0.0),
                    ),
                }
            )
    return rows


def _turn_columns(metric: str, terms) -> dict[str, float]:
    """``turn_size`` and ``turn_left`` of a contour change: what the turn in depth moved the
    region's samples, taken off and left in (% IOD,
    :func:`mesovision.metrics.swelling.turn_terms`); empty for the other metrics."""
    if metric != HEADLINE:
        return {}
    return {"turn_size": round(terms[0], 5), "turn_left": round(terms[1], 5)}


def _bulge(rgb, lm, site, amp):
    """The after photo's change: none (``null``), puffiness (``right_puffy``: the lid's bulge
    and its shading, :func:`~mesovision.testing.swell.puff`) or a contour's bulge."""
    from mesovision.testing.swell import puff, swell

    if site == "null":
        return None
    if site == "right_puffy":
        return puff(rgb, lm.points, amp)
    return swell(rgb, lm.points, site, amp)


def _truth(rgb, lm, bulge) -> dict[str, float]:
    """The true change of ``swelling.contour_pct_iod`` per region (% IOD): the bulge's outward
    displacement of each contour sample (:meth:`Bulge.outward`), written on the samples' rays
    and averaged over each region as the metric is (0 everywhere for a null pair)."""
    from mesovision.metrics.swelling import contour_frame, contour_maps
    from mesovision.regions import region_masks

    if bulge is None:
        return {}
    frame = contour_frame(lm.points)
    moved = bulge.outward(frame.points, frame.normals)
    total, count = contour_maps(rgb.shape[:2], frame.points, frame.rays, moved, lm.interocular_px)
    out = {}
    for region, mask in region_masks(lm, rgb.shape, rgb=rgb).items():
        n = count[mask].sum()
        if n > 0:
            out[region] = round(100.0 * float(total[mask].sum() / n), 4)
    return out


def run(args) -> int:
    from mesovision.testing.swell import SITE_REGIONS as SITES

    folder = faces_dir()
    if folder is None:
        print("../shared/faces not found (set MESOVISION_FACES)", file=sys.stderr)
        return 1
    faces = labelled_faces(folder)
    faces += [(REPO / "sample_images" / k / "before.jpg", f"sample_{k}") for k in SAMPLE_FACES]
    faces = faces[:: args.step][: args.photos]
    sites = set(args.sites.split(",")) if args.sites else {"null", "turn", *SITES}
    jobs = [
        (i, str(p), person, args.every_amplitude, sites, args.melanin, args.turns)
        for i, (p, person) in enumerate(faces)
    ]
    if args.half != "all":  # the same seeds (photo numbers) as a run of every photo
        keep = _halves([{"person": p} for _, p in faces])[args.half]
        jobs = [j for j in jobs if j[2] in keep]
    n = 0
    with (
        ProcessPoolExecutor(
            args.workers,
            mp_context=get_context("spawn"),
            initializer=init_worker,
            initargs=(os.getpid(),),
        ) as pool,
        open(args.out, "w", newline="") as fh,
    ):
        w = csv.DictWriter(fh, FIELDS)
        w.writeheader()
        for part in pool.map(_one, jobs):  # each photo's rows as soon as it is done
            w.writerows(part)
            fh.flush()
            n += len(part)
    rows = range(n)
    print(f"{len(rows)} changes of {len(jobs)} photos -> {args.out}", file=sys.stderr)
    return 0


#: Numeric columns a run of an earlier version of this script may not have.
_OPTIONAL = ("sd_pose", "sd_mismatch", "yaw_deg", "pitch_deg", "turn_yaw_deg", "turn_pitch_deg",
             "turn_size", "turn_left")  # fmt: skip


def load(path: str) -> list[dict]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k in ("amplitude_pct", "delta", "truth", "se", "sd_capture", "iod_px", *_OPTIONAL):
            r[k] = float(r.get(k) or "nan") if r.get(k) not in ("", "None") else float("nan")
        r["pair"] = r.get("pair") or ""
        r["z"] = float(r["z"]) if r["z"] not in ("", "None") else float("nan")
        r["significant"] = int(r["significant"])
    return rows


def _se_without(r, capture: float, pose_share: float | None) -> float:
    """The recorded standard error with the capture term ``capture`` and, with
    ``pose_share``, the pose term ``hypot(pose_share x turn_size, turn_left)`` in place of the
    run's: the terms the verdict's widening (``sd_mismatch``) did not add, the two replaced,
    widened again."""
    mismatch = 0.0 if np.isnan(r["sd_mismatch"]) else r["sd_mismatch"]
    total = np.sqrt(max(r["se"] ** 2 - mismatch**2, 0.0))
    widen = r["se"] / total if total > 0 else 1.0
    pose = 0.0 if np.isnan(r["sd_pose"]) else r["sd_pose"]
    size = 0.0 if np.isnan(r["turn_size"]) else r["turn_size"]
    left = 0.0 if np.isnan(r["turn_left"]) else r["turn_left"]
    new_pose = pose if pose_share is None else float(np.hypot(pose_share * size, left))
    rest = max(total**2 - r["sd_capture"] ** 2 - pose**2, 0.0)
    return float(widen * np.sqrt(rest + capture**2 + new_pose**2))


def retest(rows: list[dict], capture: dict[str, float], pose_share: float | None = None) -> None:
    """``z``, ``q`` and ``significant`` of every row again with the capture term ``capture``
    and the contour's pose term ``pose_share`` x its ``turn_size`` (None: the run's own)
    (``delta / se`` under the metric's null reference, then the pair's tested changes under
    Benjamini-Hochberg at 5 %, as ``compare`` does; ``z`` the p-value's normal score)."""
    from scipy.stats import false_discovery_control

    from mesovision.metrics import get_metric
    from mesovision.null_reference import null_reference

    pairs = defaultdict(list)
    for r in rows:
        share = pose_share if r["metric"] == HEADLINE else None
        se = _se_without(r, capture.get(r["metric"], 0.0), share)
        ok = np.isfinite(r["z"]) and se > 0
        family = get_metric(r["metric"]).family
        ref = null_reference(family, declared=False, field=True, metric=r["metric"])
        r["z"], r["p"] = (float(v[0]) for v in ref.test([r["delta"] / se])) if ok else (np.nan,) * 2
        r["significant"] = 0
        if ok:
            pairs[(r["photo"], r["site"], r["amplitude_pct"], r["pair"])].append(r)
    for tested in pairs.values():
        p = np.array([r["p"] for r in tested])
        for r, q in zip(tested, false_discovery_control(p, method="bh"), strict=True):
            r["q"], r["significant"] = float(q), int(q < 0.05)


def _halves(rows):
    """People of the development half, of the held-out half, and of both."""
    people = {r["person"] for r in rows}
    dev, held = split_people(people)
    return {"dev": dev, "held-out": held, "all": dev | held}


def fit(args) -> int:
    """Per metric, the capture term that brings |z| > 1.96 to 5 % on the dev half's null pairs
    (z recomputed with the capture term added in quadrature to the recorded standard error)."""
    rows = load(args.csv)
    dev = _halves(rows)["dev"]
    table = {}
    for metric in args.metric or METRICS:
        null = [r for r in rows if r["site"] == "null" and r["metric"] == metric]
        null = [r for r in null if r["person"] in dev and np.isfinite(r["z"])]
        d = np.array([r["delta"] for r in null])
        se = np.array([_se_without(r, 0.0, _pose_share(metric)) for r in null])
        best = 0.0
        for c in np.linspace(0.0, 10.0, 2001):
            if np.mean(np.abs(d) / np.sqrt(se**2 + c**2) > 1.96) <= 0.05:
                best = float(c)
                break
        table[metric] = round(best, 4)
        print(f"{metric}: capture sd {best:.4f} from {len(d)} dev null changes")
    path = REPO / "mesovision" / "capture_noise.json"
    doc = json.loads(path.read_text())
    for key in ("capture_sd", "capture_sd_without_field"):
        doc[key].update(table)
        doc[key] = dict(sorted(doc[key].items()))
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"written to {path}")
    return 0


def _pose_share(metric: str) -> float | None:
    """The pose term's share of the turn taken off (``_flow.TURN_SD_SHARE``) for the contour,
    None (the run's own term) for the other metrics."""
    from mesovision.metrics._flow import TURN_SD_SHARE

    return TURN_SD_SHARE if metric == HEADLINE else None


def pose(args) -> int:
    """The pose term's share (``mesovision.metrics._flow.TURN_SD_SHARE``): the smallest share
    of what the turn in depth moved a region's contour (``turn_size``) whose term brings
    ``p < 0.05`` to at most 5 % of the contour changes of the dev half's turn pairs (tested
    by their verdicts, under the family's null reference). Printed, not written."""
    from mesovision.metrics import get_metric
    from mesovision.null_reference import null_reference

    rows = load(args.csv)
    dev = _halves(rows)["dev"]
    turn = [r for r in rows if r["site"] == "turn" and r["metric"] == HEADLINE]
    turn = [r for r in turn if r["person"] in dev and np.isfinite(r["z"])]
    ref = null_reference(get_metric(HEADLINE).family, declared=False, field=True, metric=HEADLINE)
    capture = json.loads((REPO / "mesovision" / "capture_noise.json").read_text())["capture_sd"]
    d = np.array([r["delta"] for r in turn])
    for share in np.arange(0.0, 2.0001, 0.01):
        se = np.array([_se_without(r, capture.get(HEADLINE, 0.0), share) for r in turn])
        p = ref.test(d / se)[1]
        if np.mean(p < 0.05) <= 0.05:
            break
    print(f"pose term share {share:.2f} from {len(d)} dev turn-pair contour changes "
          f"(p < 0.05 in {100 * np.mean(p < 0.05):.1f} %)")  # fmt: skip
    return 0


def report(args) -> int:
    rows = load(args.csv)
    doc = json.loads((REPO / "mesovision" / "capture_noise.json").read_text())
    capture = {m: doc["capture_sd"].get(m, 0.0) for m in METRICS}
    share = _pose_share(HEADLINE)
    retest(rows, capture, share)
    print(f"capture term (capture_noise.json): {capture}; pose term share {share}")
    strata = {
        f"IOD < {SMALL_IOD_PX:.0f} px": lambda r: r["iod_px"] < SMALL_IOD_PX,
        f"IOD >= {SMALL_IOD_PX:.0f} px": lambda r: r["iod_px"] >= SMALL_IOD_PX,
        "all sizes": lambda r: True,
    }
    for half, people in _halves(rows).items():
        for stratum, keep in strata.items():
            sub = [r for r in rows if r["person"] in people and keep(r)]
            photos = {r["photo"] for r in sub}
            who = {r["person"] for r in sub}
            print(f"\n== {half}, {stratum}: {len(photos)} photos of {len(who)} people")
            _nulls(sub)
            _turns(sub)
            _bulges(sub)
    return 0


def _nulls(sub: list[dict]) -> None:
    """False swelling on the null pairs: pairs with any significant change, and |z| > 1.96."""
    null = [r for r in sub if r["site"] == "null"]
    false = defaultdict(int)
    for r in null:
        false[r["photo"]] += r["significant"]
    tested = [r for r in null if np.isfinite(r["z"])]
    share = np.mean([abs(r["z"]) > 1.96 for r in tested]) if tested else float("nan")
    print(
        f"null pairs: {len(false)}; pairs with any significant swelling change (FDR 5 %): "
        f"{sum(v > 0 for v in false.values())}; |z| > 1.96 in {100 * share:.1f} % of "
        f"{len(tested)} tested changes"
    )


def _turns(sub: list[dict]) -> None:
    """False swelling on the turn pairs: pairs with a tested contour (the verdicts leave the
    family untested from a measured turn of 3 deg), those with any significant swelling
    change, p < 0.05 of the contour's changes, and per cheek and the chin the median measured
    change and what the turn moved (taken off)."""
    turn = [r for r in sub if r["site"] == "turn"]
    if not turn:
        return
    pairs = defaultdict(list)
    for r in turn:
        pairs[(r["photo"], r["pair"])].append(r)
    tested = {k: v for k, v in pairs.items() if any(np.isfinite(r["z"]) for r in v)}
    false = sum(any(r["significant"] for r in v) for v in tested.values())
    contour = [r for v in tested.values() for r in v if r["metric"] == HEADLINE]
    contour = [r for r in contour if np.isfinite(r["z"])]
    share = np.mean([abs(r["z"]) > 1.96 for r in contour]) if contour else float("nan")
    print(
        f"turn pairs: {len(pairs)} ({len(tested)} tested by the verdicts); with any significant "
        f"swelling change: {false}; contour |z| > 1.96 in {100 * share:.1f} % of {len(contour)}"
    )
    for region in ("left_cheek", "right_cheek", "chin"):
        sel = [r for r in contour if r["region"] == region]
        if sel:
            d = np.median([abs(r["delta"]) for r in sel])
            t = np.median([r["turn_size"] for r in sel])
            print(f"  {region}: median |change| {d:.2f} % IOD, turn taken off {t:.2f} % IOD")


def _bulges(sub: list[dict]) -> None:
    """Per site and amplitude: pairs, detected (significant, right sign), the median measured
    and true change, and the mean absolute error against the truth (% IOD)."""
    from mesovision.testing.swell import SITE_REGIONS

    print(f"{'site':16s} {'amp %IOD':>8s} {'pairs':>5s} {'detected':>8s} {'median':>7s} "
          f"{'truth':>6s} {'MAE':>6s}  ({HEADLINE} in the site's region, % IOD)")  # fmt: skip
    for site, region in SITE_REGIONS.items():
        for amp in AMPLITUDES:
            a = round(100 * amp, 3)
            sel = _rows(sub, site, a, region, HEADLINE)
            if not sel:
                continue
            d = np.array([r["delta"] for r in sel])
            t = np.array([r["truth"] for r in sel])
            det = np.mean([r["significant"] and r["delta"] > 0 for r in sel])
            print(
                f"{site:16s} {a:8.0f} {len(sel):5d} {100 * det:7.0f}% {np.median(d):7.2f} "
                f"{np.median(t):6.2f} {np.mean(np.abs(d - t)):6.2f}"
            )
    _shade(sub)
    _puff(sub)


def _rows(sub: list[dict], site: str, amplitude_pct: float, region: str, metric: str):
    """The rows of one site, amplitude (% IOD, rounded as written), region and metric with a
    finite change."""
    return [
        r
        for r in sub
        if r["site"] == site
        and r["amplitude_pct"] == amplitude_pct
        and r["region"] == region
        and r["metric"] == metric
        and np.isfinite(r["delta"])
    ]


def _puff(sub: list[dict]) -> None:
    """The under-eye shade (``swelling.puffiness_pct``) per eye: below the right eye for the
    puffiness and the lid's bulge without shading (detected: a significant increase), below
    the left eye, which nothing changed (false: any significant change), and on null pairs
    (false: a significant change below either eye)."""
    print(f"{'site':16s} {'amp %IOD':>8s} {'pairs':>5s} {'detected':>8s} {'median':>7s} "
          f"{'left eye false':>14s}  ({PUFF}, % of the under-eye zone)")  # fmt: skip

    def pick(site, a, region):
        return {r["photo"]: r for r in _rows(sub, site, a, region, PUFF)}

    for site in ("null", "right_under_eye", "right_puffy"):
        for amp in (0.0,) if site == "null" else AMPLITUDES:
            a = round(100 * amp, 3)
            right, left = pick(site, a, "right_periorbital"), pick(site, a, "left_periorbital")
            if not right:
                continue
            d = np.array([r["delta"] for r in right.values()])
            det = np.mean([r["significant"] and r["delta"] > 0 for r in right.values()])
            false = sum(r["significant"] for r in left.values())
            if site == "null":  # either eye
                false = sum(
                    bool(r["significant"] or (p in left and left[p]["significant"]))
                    for p, r in right.items()
                )
            print(
                f"{site:16s} {a:8.0f} {len(right):5d} {100 * det:7.0f}% {np.median(d):7.2f} "
                f"{false:8d} of {len(left) if site != 'null' else len(right):3d}"
            )


def _shade(sub: list[dict]) -> None:
    """The shaded area's change below the right eye: with and without the shading of
    puffiness, and on null pairs (detected: a significant increase)."""
    print(f"{'site':16s} {'amp %IOD':>8s} {'pairs':>5s} {'detected':>8s} {'median':>7s}  "
          f"({SHADE} in right_periorbital, % of the region)")  # fmt: skip
    for site in ("null", "right_under_eye", "right_puffy"):
        for amp in (0.0,) if site == "null" else AMPLITUDES:
            a = round(100 * amp, 3)
            sel = _rows(sub, site, a, "right_periorbital", SHADE)
            if sel:
                d = np.array([r["delta"] for r in sel])
                det = np.mean([r["significant"] and r["delta"] > 0 for r in sel])
                print(f"{site:16s} {a:8.0f} {len(sel):5d} {100 * det:7.0f}% {np.median(d):7.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--photos", type=int, default=None, help="at most this many photos")
    r.add_argument("--step", type=int, default=1, help="every step-th photo (sorted by name)")
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--sites", default="", help="comma-separated: null, turn and the sites to run")
    r.add_argument("--turns", type=int, default=3, help="turn pairs per photo (site turn)")
    r.add_argument("--half", choices=("dev", "held-out", "all"), default="all")
    r.add_argument(
        "--every-amplitude",
        action="store_true",
        help="every amplitude at every site of every photo (default: one per site, in turn)",
    )
    r.add_argument(
        "--melanin",
        type=float,
        default=0.0,
        help="darken each photo's skin first by melanin of this optical density (_melanin.py)",
    )
    f = sub.add_parser("fit")
    f.add_argument("csv")
    f.add_argument("--metric", action="append", help="only this metric (repeatable)")
    p = sub.add_parser("report")
    p.add_argument("csv")
    q = sub.add_parser("pose")
    q.add_argument("csv")
    args = ap.parse_args(argv)
    return {"run": run, "fit": fit, "report": report, "pose": pose}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
