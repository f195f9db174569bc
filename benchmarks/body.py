"""Validation of the body family on rendered body photos with known relief (docs/body.md).

Renders come from :mod:`mesovision.testing.body` (seeded): skin with Gaussian dimples of known
depth and radius and streaks of known length, width and colour stage, lit by a lamp of known
direction (Lambertian shading of the height map), 5 px per mm, 512 px (10.5 x 10.5 cm). Parts:

* **renders**: per condition (skin tone x capture: ``reference`` blur 0.6 px and noise 0.01;
  ``blur`` 1.5 px; ``noise`` 0.03; ``light`` a steeper lamp, 45 degrees instead of 25-40, and
  0.8 exposure), ``--renders`` renders scored with :func:`mesovision.metrics.score_regions` over
  the whole frame at the known scale, the lamp's azimuth drawn at random. Errors: dimple count
  (% of the truth), dimple area share (points), streak count, streak length (% of the truth),
  streak area (% of the truth), red-purple share of the streak area (points) and the light's
  azimuth (degrees).
* **pairs**: ``--pairs`` pairs of each kind through :func:`mesovision.compare` (``mode="body"``,
  the known scale). The after photo re-renders the same skin with another noise draw, blur
  (0.5-0.9 px), exposure (0.9-1.1) and placement (rotation +/-3 degrees, shift +/-2 mm) and a
  lamp turned by: ``null`` up to 4 degrees; ``light_small`` 6-9 degrees; ``light_large``
  30-60 degrees; ``treated`` (up to 4 degrees) has 40 % of the dimples removed and the rest
  half as deep; ``denser`` 50 % more dimples. Reported per kind: pairs judged not comparable
  (``body_texture``) or not aligned (a lamp turned by 40 degrees or more can change the
  shading so much that the photos' features no longer match, and the comparison stops with an
  alignment error), and per metric the tested changes, those significant, the mean change
  read and the true change (the after render's truth less the before render's,
  :class:`mesovision.testing.body.BodyTruth`), each also in % of the before value.
  ``--split dev`` also prints the capture term (root mean square change of each metric over the
  null pairs; relative for counts, lengths and areas), the ``CAPTURE_SD`` of
  :mod:`mesovision.metrics.body`.

Seeds: the settings (detection thresholds, capture terms, the light's limits) were chosen on
``dev`` (seeds 0-99); ``held-out`` uses seeds from 1000 on and is the result to publish.

    python benchmarks/body.py                       # held-out, 4 renders, 8 pairs of each kind
    python benchmarks/body.py --split dev --renders 2 --pairs 4
    python benchmarks/body.py --csv out.csv

Runs in about six minutes on two cores.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _stats import CHANGE_HEADER, change_cells, change_columns, stat, write_csv

TONES = ("light", "medium", "dark")
CAPTURES = {
    "reference": {"blur_px": 0.6, "noise_sd": 0.01},
    "blur": {"blur_px": 1.5, "noise_sd": 0.01},
    "noise": {"blur_px": 0.6, "noise_sd": 0.03},
    "light": {"blur_px": 0.6, "noise_sd": 0.01, "light_elevation_deg": 45.0, "gain": 0.8},
}
SEED_BASE = {"dev": 0, "held-out": 1000}
PPM = 5.0
#: The lamp's turn (degrees) between the photos of each kind of pair, and the after field.
KINDS = {
    "null": (0.0, 4.0),
    "light_small": (6.0, 9.0),
    "light_large": (30.0, 60.0),
    "treated": (0.0, 4.0),
    "denser": (0.0, 4.0),
}
TREAT = {"removed": 0.4, "shallower": 0.5}
DENSER_SHARE = 0.5
RELATIVE = ("count", "area_mm2", "length")


def _scores(rgb: np.ndarray) -> dict[str, float]:
    from mesovision.metrics import metrics_for_mode, score_regions

    names = [m for m in metrics_for_mode("body") if m.startswith("body.")]
    mask = np.ones(rgb.shape[:2], bool)
    return score_regions(rgb, {"area": mask}, px_per_mm=PPM, metrics=names)["area"]


def _azimuth(rgb: np.ndarray) -> float | None:
    from mesovision.metrics.body import light_of

    return light_of(rgb, np.ones(rgb.shape[:2], bool), PPM).azimuth_deg


def render_rows(split: str, n: int) -> list[dict]:
    """One row per render: condition, seed, truth and measured values."""
    from mesovision.relief import angle_between_deg
    from mesovision.testing.body import body_field, render

    rows = []
    for tone in TONES:
        for cap, kw in CAPTURES.items():
            for i in range(n):
                seed = SEED_BASE[split] + i
                rng = np.random.default_rng(seed + 300)
                f = body_field(seed, tone=tone, red_share=0.5)
                opts = {"light_elevation_deg": rng.uniform(25, 40), **kw}
                az = rng.uniform(0, 360)
                r = render(f, px_per_mm=PPM, seed=seed + 7, light_azimuth_deg=az, **opts)
                v, t = _scores(r.rgb), r.truth
                est = _azimuth(r.rgb)
                rows.append(
                    {
                        "tone": tone,
                        "capture": cap,
                        "seed": seed,
                        "dimples_true": t.dimple_count,
                        "dimples": v["body.dimple_count"],
                        "dimple_share_true": t.dimple_share_pct,
                        "dimple_share": v["body.dimple_share_pct"],
                        "streaks_true": t.streak_count,
                        "streaks": v["body.streak_count"],
                        "length_true": t.streak_length_mm,
                        "length": v["body.streak_length_mm"],
                        "streak_area_true": t.streak_area_mm2,
                        "streak_area": v["body.streak_area_mm2"],
                        "red_true": t.streak_red_share_pct,
                        "red": v["body.streak_red_share_pct"],
                        "azimuth_error": math.nan
                        if est is None
                        else abs(angle_between_deg(az, est)),
                    }
                )
    return rows


def _truth(t) -> dict[str, float]:
    """The true value of each body metric in mm of a render's :class:`BodyTruth`."""
    return {
        "body.dimple_count": t.dimple_count,
        "body.dimple_area_mm2": t.dimple_area_mm2,
        "body.dimple_share_pct": t.dimple_share_pct,
        "body.streak_count": t.streak_count,
        "body.streak_length_mm": t.streak_length_mm,
        "body.streak_area_mm2": t.streak_area_mm2,
        "body.streak_red_share_pct": t.streak_red_share_pct,
    }


def _pair_photos(seed: int, kind: str, folder: Path) -> tuple[Path, Path, float, dict, dict]:
    """A before and an after render of one field (module docstring), as PNG files, the lamp's
    turn (degrees) and each render's true values (:func:`_truth`)."""
    from PIL import Image

    from mesovision.testing.body import add_dimples, body_field, render, treat

    rng = np.random.default_rng(seed + 500)
    f = body_field(seed)
    az, el = rng.uniform(0, 360), rng.uniform(25, 40)
    b = render(f, px_per_mm=PPM, seed=seed, light_azimuth_deg=az, light_elevation_deg=el,
               blur_px=rng.uniform(0.5, 0.9), noise_sd=0.01)  # fmt: skip
    g = f
    if kind == "treated":
        g = treat(f, seed=seed + 1, **TREAT)
    elif kind == "denser":
        g = add_dimples(f, DENSER_SHARE, seed + 1)
    lo, hi = KINDS[kind]
    turn = rng.uniform(lo, hi) * rng.choice([-1.0, 1.0])
    a = render(
        g,
        px_per_mm=PPM,
        seed=seed + 1,
        light_azimuth_deg=az + turn,
        light_elevation_deg=el,
        blur_px=rng.uniform(0.5, 0.9),
        noise_sd=0.01,
        gain=rng.uniform(0.9, 1.1),
        angle_deg=rng.uniform(-3, 3),
        shift_mm=tuple(rng.uniform(-2, 2, 2)),
    )
    paths = []
    for name, r in (("before", b), ("after", a)):
        p = folder / f"{seed}_{kind}_{name}.png"
        Image.fromarray((r.rgb * 255 + 0.5).astype(np.uint8)).save(p)
        paths.append(p)
    return paths[0], paths[1], turn, _truth(b.truth), _truth(a.truth)


def pair_rows(split: str, n: int) -> list[dict]:
    """One row per pair and metric: kind, seed, lamp turn, verdict, delta, z, significant."""
    import mesovision as mv
    from mesovision.errors import AlignmentError

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, kind in enumerate(KINDS):
            for i in range(n):
                seed = SEED_BASE[split] + 200 + 20 * k + i
                before, after, turn, tb, ta = _pair_photos(seed, kind, Path(tmp))
                try:
                    cmp = mv.compare(before, after, mode="body", px_per_mm=PPM)
                except AlignmentError:  # the lamp turned so far that the photos do not match
                    rows.append({"kind": kind, "seed": seed, "turn_deg": round(turn, 2),
                                 "light_change_deg": None, "verdict": "not_aligned",
                                 "metric": ""})  # fmt: skip
                    continue
                verdict = cmp.verdicts["body_texture"]
                mm = cmp.mismatch
                for metric, c in cmp.changes["area"].items():
                    if not metric.startswith("body."):
                        continue
                    rows.append(
                        {
                            "kind": kind,
                            "seed": seed,
                            "turn_deg": round(turn, 2),
                            "light_change_deg": mm.light_change_deg,
                            "verdict": verdict.status,
                            "metric": metric,
                            **change_columns(c),
                            "before_true": tb.get(metric, math.nan),
                            "after_true": ta.get(metric, math.nan),
                        }
                    )
    return rows


def _pct(m: float, t: float) -> float:
    return 100.0 * (m - t) / t if t else math.nan


def print_renders(rows: list[dict]) -> None:
    """Per condition: mean error (median |error|) of each quantity."""
    print(
        "| tone | capture | renders | dimple count error, % | dimple share error, points "
        "| streak count error | streak length error, % | streak area error, % "
        "| red share error, points | light azimuth error, deg |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    groups = defaultdict(list)
    for r in rows:
        groups[r["tone"], r["capture"]].append(r)
    for (tone, cap), rs in groups.items():
        cols = (
            [_pct(r["dimples"], r["dimples_true"]) for r in rs],
            [r["dimple_share"] - r["dimple_share_true"] for r in rs],
            [r["streaks"] - r["streaks_true"] for r in rs],
            [_pct(r["length"], r["length_true"]) for r in rs],
            [_pct(r["streak_area"], r["streak_area_true"]) for r in rs],
            [r["red"] - r["red_true"] for r in rs],
            [r["azimuth_error"] for r in rs],
        )
        print(f"| {tone} | {cap} | {len(rs)} | " + " | ".join(stat(c) for c in cols) + " |")


def print_pairs(rows: list[dict]) -> None:
    """Per kind: pairs not comparable; per metric and kind: tested, significant, mean change."""
    print("| kind | pairs | light change, deg (median) | not comparable | not aligned |")
    print("|---|---|---|---|---|")
    per_pair = {}
    for r in rows:
        per_pair[r["kind"], r["seed"]] = r
    for kind in KINDS:
        ps = [r for (k, _), r in per_pair.items() if k == kind]
        ch = [r["light_change_deg"] for r in ps if r["light_change_deg"] is not None]
        med = f"{np.median(ch):.1f}" if ch else "n/a"
        nc = sum(r["verdict"] == "not_comparable" for r in ps)
        na = sum(r["verdict"] == "not_aligned" for r in ps)
        print(f"| {kind} | {len(ps)} | {med} | {nc} | {na} |")
    print(f"\n| metric | kind | pairs | tested | significant | {CHANGE_HEADER} |")
    print("|---|---|---|---|---|---|---|---|---|")
    groups = defaultdict(list)
    for r in rows:
        if r["metric"]:
            groups[r["metric"], r["kind"]].append(r)
    for (metric, kind), rs in sorted(
        groups.items(), key=lambda kv: (kv[0][0], list(KINDS).index(kv[0][1]))
    ):
        tested = [r for r in rs if r["tested"]]
        sig = sum(r["significant"] for r in tested)
        print(f"| {metric} | {kind} | {len(rs)} | {len(tested)} | {sig} | {change_cells(rs)} |")


def print_capture(rows: list[dict]) -> None:
    """The capture term of each metric: RMS change over the null pairs (relative for counts,
    lengths and areas)."""
    print("| metric | null pairs | capture term |")
    print("|---|---|---|")
    groups = defaultdict(list)
    for r in rows:
        if r["kind"] == "null" and r["metric"] and np.isfinite(r["delta"]):
            rel = any(k in r["metric"] for k in RELATIVE)
            groups[r["metric"]].append(
                r["delta"] / max(abs(r["before"]), 1e-9) if rel else r["delta"]
            )
    for metric, d in sorted(groups.items()):
        rel = any(k in metric for k in RELATIVE)
        rms = float(np.sqrt(np.mean(np.square(d))))
        print(f"| {metric} | {len(d)} | {rms:.3f}{' (relative)' if rel else ''} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=tuple(SEED_BASE), default="held-out")
    ap.add_argument("--renders", type=int, default=4, help="renders per condition (default 4)")
    ap.add_argument("--pairs", type=int, default=8, help="pairs of each kind (default 8)")
    ap.add_argument("--csv", type=Path, help="write every render and pair row to this CSV")
    args = ap.parse_args(argv)
    t0 = time.time()
    rows = render_rows(args.split, args.renders) if args.renders else []
    if rows:
        print(f"## Renders ({args.split}: {len(rows)} renders)\n")
        print("Mean error (median absolute error) per condition; NaN: not measured.\n")
        print_renders(rows)
    pairs = pair_rows(args.split, args.pairs) if args.pairs else []
    if pairs:
        print(f"\n## Pairs ({args.split}: {args.pairs} pairs of each kind)\n")
        print_pairs(pairs)
        if args.split == "dev":
            print("\n## Capture term (dev null pairs)\n")
            print_capture(pairs)
    if args.csv:
        write_csv(args.csv, rows + pairs)
    print(f"\n{time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
