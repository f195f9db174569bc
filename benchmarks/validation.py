"""Published accuracy: the whole pipeline against synthetic ground truth on the sample faces.

For each sample face (``mesovision.samples.sample_faces()`` at 2x, as in ``sample_images/``) this
makes before/after JPEG pairs with known changes (``mesovision.synthetic``), runs the library
(``pipeline.align_pair``, ``compare.compare_pair``) and measures:

* **alignment error**: mean distance over the face between the estimated and the true
  before -> after map, in % of the interocular distance (IOD); graded poses: rotation 0-15 deg,
  scale 0.8-1.2, shifts up to 40 px (alignment only);
* **normalization**: CIEDE2000 between the photos on the lighting reference pixels, median before
  and after normalization (the report's figures), under white balance, exposure and a ramp;
* **sensitivity** of each family's main metric to an injected change of known magnitude
  (slope of detected on injected, and Pearson r), at graded levels ``t`` in [0, 1] applied
  together, each in its own region: redness (``redness.mean_a`` on the left cheek, a* raised by
  up to 8), texture (relative change of ``texture.roughness_ra`` on the forehead, smoothed by a
  Gaussian of up to 0.03 IOD), pigmentation (``pigmentation.spot_count`` on the right cheek, up
  to 6 spots added), bruise (``bruise.area_pct`` on the chin, a blue-green bruise whose area
  grows with ``t`` up to an ellipse of 0.22 x 0.14 IOD, the sample bruise); every pair also
  has a small pose and lighting change;
* **bruise IoU** of the new bruise mask against the truth (levels ``t >= 0.5``);
* **false significance**: the share of region x metric changes flagged significant on pairs with
  no skin change (pose and lighting only);
* **test-retest CV**: each metric's coefficient of variation (SD / |mean|, in %) over recaptures
  of the same face (pose +-2 deg, +-2 % scale, +-6 px, exposure +-4 %, white balance and a
  left-right ramp +-2 %, JPEG quality 85-95), the median over regions.

Seeded. ``--quick`` (about 1 minute on 2 cores, 2x11 comparisons) for a check; the full run
(about 2 minutes, 2x38 comparisons and 2x12 alignments) gives the README table. Prints
Markdown (and writes it with ``-o FILE``).

Run: python benchmarks/validation.py [--quick] [-o FILE] [--seed N]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mesovision.compare import compare_pair, output_images
from mesovision.landmarks import detect_landmarks
from mesovision.pipeline import align_pair
from mesovision.regions import region_masks
from mesovision.samples import sample_faces
from mesovision.synthetic import (
    apply_lighting,
    apply_similarity,
    inject_bruise,
    inject_redness,
    inject_spots,
    smooth_texture,
    soft_mask,
)

FACES = ("astronaut", "grace_hopper")
TREATED = ("left_cheek", "right_cheek", "forehead", "chin")
MAX_DELTA_A = 8.0
MAX_SMOOTH_IOD = 0.03
MAX_SPOTS = 6
QUALITY = 92

#: The main metric of each family, the region it is injected in, and how the change is read.
FAMILIES = {
    "redness": ("left_cheek", "redness.mean_a", "delta"),
    "texture": ("forehead", "texture.roughness_ra", "relative"),
    "pigmentation": ("right_cheek", "pigmentation.spot_count", "delta"),
    "bruise": ("chin", "bruise.area_pct", "delta"),
}
INJECTED_UNIT = {
    "redness": "a* (mean over the cheek)",
    "texture": "smoothing sigma, % of IOD",
    "pigmentation": "spots added",
    "bruise": "bruise area, % of the chin",
}


@dataclass
class Face:
    name: str
    rgb: np.ndarray
    iod: float
    regions: dict[str, np.ndarray]


@dataclass
class Results:
    align_err: list[float] = field(default_factory=list)  # the graded poses
    align_err_pairs: list[float] = field(default_factory=list)  # the comparison pairs
    de_before: list[float] = field(default_factory=list)
    de_after: list[float] = field(default_factory=list)
    de_after_p95: list[float] = field(default_factory=list)
    sens: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    iou: list[float] = field(default_factory=list)
    flagged: int = 0
    tested: int = 0
    flagged_names: dict[str, int] = field(default_factory=dict)
    retest: list[dict[str, dict[str, float]]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def load_faces() -> dict[str, Face]:
    out = {}
    for name, rgb1 in sample_faces().items():
        rgb = np.clip(cv2.resize(rgb1, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), 0, 1)
        rgb = rgb.astype(np.float32)
        lm = detect_landmarks(rgb)
        out[name] = Face(name, rgb, lm.interocular_px, region_masks(lm, rgb.shape, rgb=rgb))
    return {k: out[k] for k in FACES}


def save_jpeg(rgb: np.ndarray, path: Path, quality: int = QUALITY) -> Path:
    Image.fromarray(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)).save(path, quality=quality)
    return path


def alignment_error_iod(matrix_after_to_before: np.ndarray, truth: np.ndarray, face: Face) -> float:
    """Mean distance over the before face between the estimated and the true before -> after
    map, as a share of the IOD."""
    ys, xs = np.nonzero(face.regions["face"])
    p = np.c_[xs, ys, np.ones(len(xs))]
    est = p @ np.linalg.inv(matrix_after_to_before).T
    est = est[:, :2] / est[:, 2:]
    true = (p @ truth.T)[:, :2]
    return float(np.linalg.norm(est - true, axis=1).mean() / face.iod)


def inject(face: Face, t: float, seed: int) -> tuple[np.ndarray, dict[str, float], np.ndarray]:
    """The face with every family's change at level ``t``; the injected magnitudes; the bruise
    truth mask (before frame)."""
    img, reg, iod = face.rgb, face.regions, face.iod
    truth = {k: 0.0 for k in FAMILIES}
    bruise_truth = np.zeros(img.shape[:2], bool)
    if t <= 0:
        return img, truth, bruise_truth
    feather = 0.05 * iod
    img = inject_redness(img, reg["left_cheek"], delta_a=MAX_DELTA_A * t, feather_px=feather)
    w = soft_mask(reg["left_cheek"], feather)
    truth["redness"] = MAX_DELTA_A * t * float(w[reg["left_cheek"]].mean())
    img = smooth_texture(img, reg["forehead"], sigma_px=MAX_SMOOTH_IOD * t * iod)
    truth["texture"] = 100 * MAX_SMOOTH_IOD * t
    n = int(round(MAX_SPOTS * t))
    if n:
        img, _, _ = inject_spots(
            img,
            reg["right_cheek"],
            n=n,
            radius_px=max(2.0, 0.03 * iod),
            delta_L=-14,
            delta_b=7,
            seed=seed,
        )
    truth["pigmentation"] = float(n)
    ys, xs = np.nonzero(reg["chin"])
    k = float(np.sqrt(t))  # area proportional to t, full colour
    img, bruise_truth = inject_bruise(
        img,
        (float(xs.mean()), float(ys.mean())),
        (0.22 * k * iod, 0.14 * k * iod),
        angle_deg=10,
        stage="blue-green",
    )
    truth["bruise"] = 100 * float((bruise_truth & reg["chin"]).sum() / reg["chin"].sum())
    return img, truth, bruise_truth


def capture(img: np.ndarray, rng: np.random.Generator, *, pose: float, light: float):
    """Another photo of ``img``: a random similarity and lighting change of the given sizes
    (``pose``: degrees of rotation, also scaling 1 +- pose/100 and shifting 3 * pose px)."""
    angle = rng.uniform(-pose, pose)
    scale = 1 + rng.uniform(-pose, pose) / 100
    shift = tuple(rng.uniform(-3 * pose, 3 * pose, 2))
    moved, m = apply_similarity(img, angle_deg=angle, scale=scale, shift_xy=shift)
    lit = apply_lighting(
        moved,
        gain=1 + rng.uniform(-light, light),
        white_balance=(1 + rng.uniform(-light, light) / 2, 1.0, 1 + rng.uniform(-light, light) / 2),
        ramp=rng.uniform(-light, light) / 2,
    )
    return lit, m


def run_pose_grade(face: Face, folder: Path, poses, res: Results) -> None:
    before = save_jpeg(face.rgb, folder / "before.jpg")
    for i, (angle, scale, shift) in enumerate(poses):
        after, m = apply_similarity(face.rgb, angle_deg=angle, scale=scale, shift_xy=shift)
        path = save_jpeg(after, folder / f"pose{i}.jpg")
        try:
            pair = align_pair(str(before), str(path))
        except Exception as exc:  # a refusal is a result here, recorded as such
            res.failures.append(f"{face.name} pose {angle:+.0f} deg x{scale:.2f}: {exc}")
            continue
        res.align_err.append(alignment_error_iod(pair.alignment.matrix, m, face))


def run_compare(face: Face, folder: Path, t: float, seed: int, res: Results, *, retest=False):
    rng = np.random.default_rng(seed)
    before = folder / "before.jpg"
    if not before.exists():
        save_jpeg(face.rgb, before)
    img, truth, bruise_truth = inject(face, t, seed)
    if retest:
        after_img, m = capture(img, rng, pose=2.0, light=0.04)
        quality = int(rng.integers(85, 96))
    else:
        after_img, m = capture(img, rng, pose=5.0, light=0.12)
        quality = QUALITY
    after = save_jpeg(after_img, folder / f"after_{seed}.jpg", quality)
    try:
        pair = align_pair(str(before), str(after))
        cmp = compare_pair(pair, treated=TREATED)
    except Exception as exc:
        res.failures.append(f"{face.name} t={t:.2f} seed {seed}: {exc}")
        return
    res.align_err_pairs.append(alignment_error_iod(pair.alignment.matrix, m, face))
    rep = cmp.lighting.report.as_dict()
    res.de_before.append(rep["delta_e_before"]["median"])
    res.de_after.append(rep["delta_e_after"]["median"])
    res.de_after_p95.append(rep["delta_e_after"]["p95"])
    if retest:
        res.retest.append(cmp.after.scores)
        return
    if t == 0:
        for region, metrics in cmp.changes.items():
            for name, c in metrics.items():
                if c.noise_floor is not None and np.isfinite(c.delta or np.nan):
                    res.tested += 1
                    if c.significant:
                        res.flagged += 1
                        key = f"{region}/{name}"
                        res.flagged_names[key] = res.flagged_names.get(key, 0) + 1
    for fam, (region, metric, how) in FAMILIES.items():
        c = cmp.changes[region][metric]
        value = getattr(c, how)
        if value is None or not np.isfinite(value):
            value = 0.0 if t == 0 else np.nan
        res.sens.setdefault(fam, []).append(
            (truth[fam], 100 * value if how == "relative" else value)
        )
    if t >= 0.5:
        imgs = output_images(cmp)
        new = imgs["bruise_mask_after.png"] & ~imgs["bruise_mask_before.png"]
        _, lab = cv2.connectedComponents(new.astype(np.uint8))
        ids = np.unique(lab[bruise_truth & new])
        seg = np.isin(lab, ids[ids > 0])
        union = (seg | bruise_truth).sum()
        res.iou.append(float((seg & bruise_truth).sum() / union) if union else 0.0)


def fit(points: list[tuple[float, float]]) -> tuple[float, float, int]:
    p = np.array([q for q in points if np.isfinite(q[1])], float)
    if len(p) < 3 or np.ptp(p[:, 0]) == 0:
        return float("nan"), float("nan"), len(p)
    slope = float(np.polyfit(p[:, 0], p[:, 1], 1)[0])
    r = float(np.corrcoef(p[:, 0], p[:, 1])[0, 1]) if np.ptp(p[:, 1]) > 0 else float("nan")
    return slope, r, len(p)


def retest_spread(scores: list[dict[str, dict[str, float]]]) -> dict[str, tuple]:
    """Per metric: ``(cv_pct, sd, n_regions)``, the medians over regions of SD / |mean| (%) and
    of the SD across the recaptures, over the regions where the metric's mean is not 0 (an area
    or count that is 0 in most recaptures has no meaningful CV)."""
    if len(scores) < 2:
        return {}
    out = {}
    for metric in scores[0]["face"]:
        sds, cvs = [], []
        for region in scores[0]:
            v = np.array([s[region][metric] for s in scores], float)
            v = v[np.isfinite(v)]
            if len(v) < 2 or abs(v.mean()) <= 1e-6:
                continue
            sds.append(v.std(ddof=1))
            cvs.append(100 * v.std(ddof=1) / abs(v.mean()))
        if sds:
            out[metric] = (float(np.median(cvs)), float(np.median(sds)), len(sds))
    return out


def plan(quick: bool, seed: int):
    rng = np.random.default_rng(seed)
    if quick:
        poses = [(15.0, 1.0, (10.0, -8.0)), (-8.0, 0.8, (-25.0, 15.0)), (5.0, 1.2, (30.0, 20.0))]
        levels = [0.0, 0.25, 0.5, 0.75, 1.0]
        reps, n_null, n_retest = 1, 2, 4
    else:
        poses = [
            (a, s, tuple(rng.uniform(-40, 40, 2)))
            for a in (0.0, 5.0, -10.0, 15.0)
            for s in (0.8, 1.0, 1.2)
        ]
        levels = [0.0, 0.25, 0.5, 0.75, 1.0]
        reps, n_null, n_retest = 4, 6, 12
    return poses, levels, reps, n_null, n_retest


def fmt(x: float, spec: str = ".2f") -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, spec)


def table(results: dict[str, Results], args, elapsed: float) -> str:
    names = list(results)
    head = "| check | " + " | ".join(names) + " |\n|---|" + "---|" * len(names)
    rows = []

    def row(label, f):
        rows.append(f"| {label} | " + " | ".join(f(results[n]) for n in names) + " |")

    row(
        "alignment error, % of IOD: mean / max (pairs)",
        lambda r: (
            f"{fmt(100 * np.mean(r.align_err))} / {fmt(100 * np.max(r.align_err))} "
            f"({len(r.align_err)})"
            if r.align_err
            else "n/a"
        ),
    )
    row(
        "alignment error of the comparison pairs (pose <= 5 deg): mean / max",
        lambda r: (
            f"{fmt(100 * np.mean(r.align_err_pairs))} / {fmt(100 * np.max(r.align_err_pairs))}"
            if r.align_err_pairs
            else "n/a"
        ),
    )
    row(
        "lighting: reference dE00 median before -> after (mean over pairs); worst p95 after",
        lambda r: (
            f"{fmt(np.mean(r.de_before))} -> {fmt(np.mean(r.de_after))}; "
            f"{fmt(np.max(r.de_after_p95))}"
        ),
    )
    for fam, (region, metric, how) in FAMILIES.items():
        unit = "% change" if how == "relative" else "change"
        row(
            f"{fam}: `{metric}` {unit} ({region}) vs {INJECTED_UNIT[fam]}: slope, r (n)",
            lambda r, fam=fam: "{}, r {} ({})".format(*_fit_fmt(fit(r.sens.get(fam, [])))),
        )
    row(
        "bruise IoU with the truth, t >= 0.5: mean / min",
        lambda r: f"{fmt(np.mean(r.iou))} / {fmt(np.min(r.iou))}" if r.iou else "n/a",
    )
    row(
        "false significance, no skin change: flagged / tested region x metric",
        lambda r: f"{r.flagged} / {r.tested} ({fmt(100 * r.flagged / max(r.tested, 1), '.1f')} %)",
    )
    out = [
        f"Validation on synthetic ground truth ({'quick' if args.quick else 'full'} run, "
        f"seed {args.seed}, {elapsed:.0f} s): `python benchmarks/validation.py"
        f"{' --quick' if args.quick else ''}`",
        "",
        head,
        *rows,
        "",
    ]
    from mesovision.metrics import get_metric

    spread = {n: retest_spread(results[n].retest) for n in names}
    metrics = sorted({m for c in spread.values() for m in c})
    if metrics:

        def cell(n, m):
            cv, sd, k = spread[n].get(m, (np.nan, np.nan, 0))
            return f"{fmt(cv, '.1f')} ({fmt(sd, '.3g')}; {k})"

        out += [
            "Test-retest under recapture noise: coefficient of variation in % (SD in the "
            "metric's unit; number of regions where the metric is not 0), medians over those "
            "regions; "
            + ", ".join(f"{n}: {len(results[n].retest)} recaptures" for n in names)
            + ". Metrics that need a scale (mm, cm) are not computed here.",
            "",
            "| metric | unit | " + " | ".join(names) + " |",
            "|---|---|" + "---|" * len(names),
            *(
                f"| `{m}` | {get_metric(m).unit} | " + " | ".join(cell(n, m) for n in names) + " |"
                for m in metrics
            ),
            "",
        ]
    flagged = {n: results[n].flagged_names for n in names if results[n].flagged_names}
    if flagged:
        out.append("Flagged on pairs with no skin change (region/metric: times):")
        for n, d in flagged.items():
            items = ", ".join(f"{k}: {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1]))
            out.append(f"- {n}: {items}")
        out.append("")
    fails = [f for n in names for f in results[n].failures]
    if fails:
        out.append("Refused pairs (not in the figures above):")
        out += [f"- {f}" for f in fails]
        out.append("")
    return "\n".join(out)


def _fit_fmt(f: tuple[float, float, int]) -> tuple[str, str, int]:
    return fmt(f[0], ".3g"), fmt(f[1]), f[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer pairs (about 1 minute)")
    ap.add_argument("-o", "--out", help="also write the Markdown table to this file")
    ap.add_argument("--seed", type=int, default=20261123)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    t0 = time.perf_counter()
    faces = load_faces()
    poses, levels, reps, n_null, n_retest = plan(args.quick, args.seed)
    results = {}
    with tempfile.TemporaryDirectory(prefix="mesovision-validation-") as tmp:
        for fi, (name, face) in enumerate(faces.items()):
            folder = Path(tmp) / name
            folder.mkdir()
            res = Results()
            print(f"{name}: poses", file=sys.stderr)
            run_pose_grade(face, folder, poses, res)
            seed = args.seed + 1000 * fi
            jobs = [(t, False) for t in levels for _ in range(reps)]
            jobs += [(0.0, False)] * n_null + [(0.0, True)] * n_retest
            for k, (t, retest) in enumerate(jobs):
                print(
                    f"{name}: pair {k + 1}/{len(jobs)} (t={t:.2f}{', retest' if retest else ''})",
                    file=sys.stderr,
                )
                run_compare(face, folder, t, seed + k, res, retest=retest)
            results[name] = res
    text = table(results, args, time.perf_counter() - t0)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
