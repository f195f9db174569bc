"""Validation of the hair family on rendered scalp photos with known hair (docs/hair.md).

Renders come from :mod:`mesovision.testing.hair` (seeded). Two parts:

* **renders**: per condition (hair colour x scalp tone x capture: ``reference`` blur 0.5 px and
  noise 0.005; ``blur`` 1.2 px; ``noise`` 0.025; ``light`` gain 0.75, a +/-25 % ramp and a
  warm white balance), ``--renders`` close-ups (phototrichograms, 50 px/mm, 512 px, density
  120-260 / cm², 10-30 % thin hairs) and as many part-line views (8 px/mm, part 2-6 mm) are
  scored with :func:`mesovision.metrics.score_regions` over the whole frame at the known scale.
  Errors: density (hairs / cm², measured - truth, and in % of the truth), median shaft width
  (µm), thin-hair share (points), visible scalp share (points), part width (mm).
* **pairs**: ``--pairs`` close-up pairs through :func:`mesovision.compare` (``mode=
  "trichoscopy"``, the before file's scale): *null* pairs re-render the same field with
  another noise draw, blur (0.5-0.8 px), light (gain 0.85-1.15, ramp +/-0.15) and placement
  (rotation +/-3 degrees, shift +/-0.3 mm); *denser* pairs add 30 % hairs to the after photo's
  field, under the same kind of changes. Reported: per metric, the share of tested changes
  called significant, the mean change read and the true change (the after render's truth
  less the before render's, :class:`mesovision.testing.hair.HairTruth`), each also in % of
  the before value: a density that runs low reads a change in proportion, not in hairs / cm².

Seeds: the settings were chosen on ``dev`` (field seeds 0-99); ``held-out`` uses seeds from
1000 on and is the result to publish. The seed of each render is printed in ``--csv``.

    python benchmarks/hair.py                       # held-out, 6 renders, 10 pairs each kind
    python benchmarks/hair.py --split dev --renders 3 --pairs 4
    python benchmarks/hair.py --csv out.csv
    python benchmarks/hair.py ruler                 # the ruler finder (benchmarks/ruler.py)
    python benchmarks/hair.py hairline              # the frontal hairline (benchmarks/hairline.py)

Runs in about five minutes on two cores.
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

COMBOS = [("dark", "light"), ("dark", "dark"), ("light", "light"), ("light", "dark")]
CAPTURES = {
    "reference": {"blur_px": 0.5, "noise_sd": 0.005},
    "blur": {"blur_px": 1.2, "noise_sd": 0.005},
    "noise": {"blur_px": 0.5, "noise_sd": 0.025},
    "light": {
        "blur_px": 0.5,
        "noise_sd": 0.005,
        "gain": 0.75,
        "ramp": 0.25,
        "white_balance": (1.1, 1.0, 0.85),
    },
}
SEED_BASE = {"dev": 0, "held-out": 1000}
CLOSE_PPM, CROWN_PPM = 50.0, 8.0
#: The share of hairs a denser after photo adds.
DENSER_SHARE = 0.3


def _scores(rgb: np.ndarray, ppm: float) -> dict[str, float]:
    from mesovision.metrics import metrics_for_mode, score_regions

    mask = np.ones(rgb.shape[:2], bool)
    names = metrics_for_mode("trichoscopy")
    return score_regions(rgb, {"area": mask}, px_per_mm=ppm, metrics=names)["area"]


def render_rows(split: str, n: int) -> list[dict]:
    """One row per render: condition, seed, truth and measured values."""
    from mesovision.testing.hair import crown_field, render, trichogram_field

    rows = []
    for hair, scalp in COMBOS:
        for cap, kw in CAPTURES.items():
            for i in range(n):
                seed = SEED_BASE[split] + i
                rng = np.random.default_rng(seed)
                dens, thin = rng.uniform(120, 260), rng.uniform(0.1, 0.3)
                f = trichogram_field(
                    seed, density_per_cm2=dens, thin_share=thin, hair=hair, scalp=scalp
                )
                r = render(f, px_per_mm=CLOSE_PPM, seed=seed + 7, **kw)
                v = _scores(r.rgb, CLOSE_PPM)
                t = r.truth
                part = rng.uniform(2.0, 6.0)
                c = crown_field(seed, part_width_mm=part, hair=hair, scalp=scalp)
                rc = render(c, px_per_mm=CROWN_PPM, seed=seed + 11, **kw)
                vc = _scores(rc.rgb, CROWN_PPM)
                rows.append(
                    {
                        "hair": hair,
                        "scalp": scalp,
                        "capture": cap,
                        "seed": seed,
                        "density_true": t.density_per_cm2,
                        "density": v["hair.density_per_cm2"],
                        "width_true": t.median_width_um,
                        "width": v["hair.shaft_width_median_um"],
                        "thin_true": t.thin_share_pct,
                        "thin": v["hair.thin_share_pct"],
                        "scalp_share_true": rc.truth.scalp_share_pct,
                        "scalp_share": vc["hair.scalp_share_pct"],
                        "part_true": rc.truth.part_width_mm,
                        "part": vc["hair.part_width_mm"],
                    }
                )
    return rows


def _truth(t) -> dict[str, float]:
    """The true value of each close-up metric in mm of a render's :class:`HairTruth` (the
    per-pixel density has none here: its pixels are the scoring frame's, not the render's)."""
    return {
        "hair.density_per_cm2": t.density_per_cm2,
        "hair.scalp_share_pct": t.scalp_share_pct,
        "hair.shaft_width_median_um": t.median_width_um,
        "hair.thin_share_pct": t.thin_share_pct,
    }


def _pair_photos(seed: int, denser: bool, folder: Path) -> tuple[Path, Path, dict, dict]:
    """A before and an after close-up of one field (the after one with 30 % more hairs when
    ``denser``), written as PNG files, and each render's true values (:func:`_truth`)."""
    from PIL import Image

    from mesovision.testing.hair import add_hairs, render, trichogram_field

    rng = np.random.default_rng(seed + 500)
    f = trichogram_field(seed, density_per_cm2=rng.uniform(150, 230))
    b = render(f, px_per_mm=CLOSE_PPM, seed=seed, blur_px=rng.uniform(0.5, 0.8), noise_sd=0.01)
    g = add_hairs(f, DENSER_SHARE, seed + 1) if denser else f
    a = render(
        g,
        px_per_mm=CLOSE_PPM,
        seed=seed + 1,
        blur_px=rng.uniform(0.5, 0.8),
        noise_sd=0.01,
        angle_deg=rng.uniform(-3, 3),
        shift_mm=tuple(rng.uniform(-0.3, 0.3, 2)),
        gain=rng.uniform(0.85, 1.15),
        ramp=rng.uniform(-0.15, 0.15),
    )
    paths = []
    for name, r in (("before", b), ("after", a)):
        p = folder / f"{seed}_{int(denser)}_{name}.png"
        Image.fromarray((r.rgb * 255 + 0.5).astype(np.uint8)).save(p)
        paths.append(p)
    return paths[0], paths[1], _truth(b.truth), _truth(a.truth)


def pair_rows(split: str, n: int) -> list[dict]:
    """One row per pair and metric: kind (null / denser), seed, delta, z, significant, and the
    true before and after values (NaN for a metric without a truth)."""
    import mesovision as mv

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for denser in (False, True):
            for i in range(n):
                seed = SEED_BASE[split] + 200 + i
                before, after, tb, ta = _pair_photos(seed, denser, Path(tmp))
                cmp = mv.compare(before, after, mode="trichoscopy", px_per_mm=CLOSE_PPM)
                for metric, c in cmp.changes["area"].items():
                    rows.append(
                        {
                            "kind": "denser" if denser else "null",
                            "seed": seed,
                            "metric": metric,
                            **change_columns(c),
                            "before_true": tb.get(metric, math.nan),
                            "after_true": ta.get(metric, math.nan),
                        }
                    )
    return rows


def print_renders(rows: list[dict]) -> None:
    """Per condition: mean error (median |error|) of each quantity."""
    print(
        "| hair | scalp | capture | renders | density error, /cm² | density error, % "
        "| median width error, µm | thin share error, points | scalp share error, points "
        "| part width error, mm |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    groups = defaultdict(list)
    for r in rows:
        groups[r["hair"], r["scalp"], r["capture"]].append(r)
    for (hair, scalp, cap), rs in groups.items():
        d = [r["density"] - r["density_true"] for r in rs]
        dp = [100 * (r["density"] - r["density_true"]) / r["density_true"] for r in rs]
        w = [r["width"] - r["width_true"] for r in rs]
        th = [r["thin"] - r["thin_true"] for r in rs]
        sc = [r["scalp_share"] - r["scalp_share_true"] for r in rs]
        pw = [r["part"] - r["part_true"] for r in rs]
        cells = " | ".join(stat(x) for x in (d, dp, w, th, sc, pw))
        print(f"| {hair} | {scalp} | {cap} | {len(rs)} | {cells} |")


def print_pairs(rows: list[dict]) -> None:
    """Per metric and kind: pairs, tested changes, share significant, and the mean change read
    and true, absolute and in % of the before value (:func:`_stats.change_cells`); a metric
    measured in no pair (the part width of close-ups) has no row."""
    print(f"| metric | kind | pairs | tested | significant | {CHANGE_HEADER} |")
    print("|---|---|---|---|---|---|---|---|---|")
    groups = defaultdict(list)
    for r in rows:
        groups[r["metric"], r["kind"]].append(r)
    for (metric, kind), rs in sorted(groups.items()):
        if not any(math.isfinite(r["before"]) for r in rs):  # the part width: no part here
            continue
        tested = [r for r in rs if r["tested"]]
        sig = sum(r["significant"] for r in tested)
        print(f"| {metric} | {kind} | {len(rs)} | {len(tested)} | {sig} | {change_cells(rs)} |")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("ruler", "hairline"):  # the subcommands: their own scripts
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import importlib

        return importlib.import_module(argv[0]).main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=tuple(SEED_BASE), default="held-out")
    ap.add_argument("--renders", type=int, default=6, help="renders per condition (default 6)")
    ap.add_argument("--pairs", type=int, default=10, help="pairs of each kind (default 10)")
    ap.add_argument("--csv", type=Path, help="write every render and pair row to this CSV")
    args = ap.parse_args(argv)
    t0 = time.time()
    rows = render_rows(args.split, args.renders) if args.renders else []
    if rows:
        print(f"## Renders ({args.split}: {len(rows)} close-ups and {len(rows)} part-line views)\n")
        print("Mean error (median absolute error) per condition; NaN: renders not measured.\n")
        print_renders(rows)
    pairs = pair_rows(args.split, args.pairs) if args.pairs else []
    if pairs:
        print(f"\n## Pairs ({args.split}: {args.pairs} null and {args.pairs} denser pairs)\n")
        print_pairs(pairs)
    if args.csv:
        write_csv(args.csv, rows + pairs)
    print(f"\n{time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
