"""Is the noise model calibrated? ``compare`` on null pairs: the same photo, captured again.

Each photo of ``sample_images/*/before.jpg`` and of ``../shared/faces`` (or
``$MESOVISION_FACES``; single-face photos, at most ``--per-person`` photos per person) is
compared with synthetic recaptures of itself, each a seeded random draw of: a small pose change
(rotation up to 4 deg, scale 0.93-1.07, shift up to 3 % of the width), another lamp (gain
0.85-1.15, white balance +-5 % per channel, a left-to-right ramp up to +-15 %), a focus change
(Gaussian blur sigma up to 0.6 px) and JPEG recompression at quality 60-95. No skin changes: every
significant change is a false alarm, and ``|z| > 1.96`` should hold for about 5 % of the tested
changes of each family before multiplicity control.

    python benchmarks/calibration.py run --out null.csv        # the comparisons (minutes)
    python benchmarks/calibration.py report null.csv           # coverage with the current model
    python benchmarks/calibration.py fit null.csv              # refit the capture term (writes
                                                               # mesovision/capture_noise.json)

``fit`` chooses, per metric, the capture standard deviation that brings the share of
``|z| > 1.96`` to 5 % on the development half of the people and ``report`` prints the coverage
on both halves (the held-out half is the result).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faces import REPO, faces_dir, labelled_faces, split_people  # noqa: E402

FIELDS = (
    "photo",
    "person",
    "recapture",
    "region",
    "metric",
    "before",
    "after",
    "delta",
    "se_paired",
    "n_tiles",
    "sd_registration",
    "sd_recapture",
    "sd_counting",
)


def _recapture(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from mesovision.synthetic import apply_lighting, apply_similarity

    w = rgb.shape[1]
    out, _ = apply_similarity(
        rgb,
        angle_deg=rng.uniform(-4, 4),
        scale=rng.uniform(0.93, 1.07),
        shift_xy=rng.uniform(-0.03, 0.03, 2) * w,
    )
    out = apply_lighting(
        out,
        gain=rng.uniform(0.85, 1.15),
        white_balance=tuple(rng.uniform(0.95, 1.05, 3)),
        ramp=rng.uniform(-0.15, 0.15),
    )
    sigma = rng.uniform(0, 0.6)
    if sigma > 0.05:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    return out


def _jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    u8 = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    Image.fromarray(u8).save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()


def photos(per_person: int) -> list[tuple[Path, str]]:
    """``(path, person)``: the sample faces and up to ``per_person`` photos of each person."""
    out = [(p, p.parent.name) for p in sorted((REPO / "sample_images").glob("*/before.jpg"))]
    folder = faces_dir()
    if folder is None:
        print("(../shared/faces not found: the sample faces only)", file=sys.stderr)
        return out
    seen: dict[str, int] = defaultdict(int)
    for path, person in labelled_faces(folder):
        if seen[person] < per_person:
            seen[person] += 1
            out.append((path, person))
    return out


def run(args) -> int:
    from mesovision.compare import compare_pair
    from mesovision.errors import MesovisionError
    from mesovision.io import load_photo
    from mesovision.pipeline import align_pair

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (path, person) in enumerate(photos(args.per_person)):
            try:
                rgb = load_photo(path).rgb
            except MesovisionError as e:
                print(f"{path.name}: {e}", file=sys.stderr)
                continue
            rng = np.random.default_rng(1000 + i)
            for k in range(args.recaptures):
                after = Path(tmp) / f"{i}_{k}.jpg"
                after.write_bytes(_jpeg_bytes(_recapture(rgb, rng), rng.integers(60, 96)))
                try:
                    cmp = compare_pair(align_pair(str(path), str(after)))
                except MesovisionError as e:
                    print(f"{path.name} recapture {k}: {e}", file=sys.stderr)
                    continue
                for region, per in cmp.changes.items():
                    for metric, change in per.items():
                        c = change.as_dict()
                        n = c["noise"]
                        rows.append(
                            {
                                "photo": path.name,
                                "person": person,
                                "recapture": k,
                                "region": region,
                                "metric": metric,
                                "before": c["before"],
                                "after": c["after"],
                                "delta": c["delta"],
                                **{f: n.get(f) for f in FIELDS[8:]},
                            }
                        )
            print(f"{i + 1}: {path.name} ({person})", file=sys.stderr)
    with open(args.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS)
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} changes written to {args.out}")
    return 0


def load(path: str) -> dict[str, np.ndarray]:
    """The rows of a ``run`` file as columns (numbers as float, NaN for empty)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for f in FIELDS:
        vals = [r[f] for r in rows]
        try:
            out[f] = np.array([float(v) if v not in ("", "None") else np.nan for v in vals])
        except ValueError:
            out[f] = np.array(vals)
    return out


def z_scores(t: dict[str, np.ndarray], capture_sd: dict[str, float]) -> np.ndarray:
    """``z`` of every change as ``compare`` computes it, with the capture term of each metric
    from ``capture_sd``; NaN where ``compare`` tests nothing (a NaN term, or no noise)."""
    from mesovision.noise import capture_sd as term
    from mesovision.noise import standard_error, z_score

    cap = np.array(
        [
            term(capture_sd, m, b, a)
            for m, b, a in zip(t["metric"], t["before"], t["after"], strict=True)
        ]
    )
    se = standard_error(
        t["se_paired"], t["sd_registration"], t["sd_recapture"], t["sd_counting"], cap
    )
    return z_score(t["delta"], se)


def report(args) -> int:
    from mesovision.metrics import get_metric
    from mesovision.noise import capture_noise

    t = load(args.table)
    z = z_scores(t, capture_noise())
    ok = np.isfinite(z)
    dev, held = split_people(set(t["person"]))
    fam = np.array([get_metric(m).family for m in t["metric"]])
    pairs = {(p, r) for p, r in zip(t["photo"], t["recapture"], strict=True)}
    print(f"{len(pairs)} null pairs of {len(set(t['photo']))} photos, {len(dev | held)} people")
    print("\nshare of tested changes with |z| > 1.96 (target 4-6 %), before multiplicity control")
    print("| family | development | held-out | changes (held-out) |")
    print("| --- | --- | --- | --- |")
    for f in sorted(set(fam)) + ["all"]:
        cols = []
        for half in (dev, held):
            sel = ok & np.isin(t["person"], list(half)) & ((fam == f) if f != "all" else True)
            cols.append((np.mean(np.abs(z[sel]) > 1.96), int(sel.sum())))
        print(f"| {f} | {100 * cols[0][0]:.1f} % | {100 * cols[1][0]:.1f} % | {cols[1][1]} |")
    _per_pair(t, z, ok, held)
    return 0


def _per_pair(t, z, ok, people) -> None:
    from scipy.stats import false_discovery_control, norm

    raw, fdr = [], []
    for key in sorted({(p, r) for p, r in zip(t["photo"], t["recapture"], strict=True)}):
        sel = ok & (t["photo"] == key[0]) & (t["recapture"] == key[1])
        if not sel.any() or t["person"][sel][0] not in people:
            continue
        p = 2 * norm.sf(np.abs(z[sel]))
        raw.append(int(np.sum(p < 0.05)))
        fdr.append(int(np.sum(false_discovery_control(p, method="bh") < 0.05)))
    print(
        f"\nheld-out null pairs: {len(raw)}; significant changes per pair: median "
        f"{np.median(raw):.0f} (max {max(raw)}) unadjusted, after Benjamini-Hochberg at 5 %: "
        f"{sum(fdr)} in all ({sum(x > 0 for x in fdr)} pairs with any)"
    )


def fit(args) -> int:
    from mesovision.noise import CAPTURE_NOISE_FILE, relative_capture

    t = load(args.table)
    ok = np.isfinite(t["delta"])
    dev, _ = split_people(set(t["person"]))
    sel_dev = ok & np.isin(t["person"], list(dev))
    table = {}
    for m in sorted(set(t["metric"])):
        sel = sel_dev & (t["metric"] == m)
        if not sel.any():
            continue
        sub = {k: v[sel] for k, v in t.items()}

        def share(c, sub=sub, m=m):
            z = z_scores(sub, {m: c})
            return np.mean(np.abs(z[np.isfinite(z)]) > 1.96)

        if share(0.0) <= 0.05:
            table[m] = 0.0
            continue
        lo, hi = 0.0, max(1e-9, float(np.nanmax(np.abs(sub["delta"]))))
        if relative_capture(m):
            hi = 10.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if share(mid) > 0.05 else (lo, mid)
        table[m] = float(f"{hi:.4g}")
    doc = {
        "about": "Per-metric capture standard deviation (metric units), fitted by "
        "benchmarks/calibration.py fit on the development half of the null pairs: the "
        "spread of a change between two captures of unchanged skin that the other noise "
        "terms do not explain.",
        "n_changes": int(sel_dev.sum()),
        "people": sorted(dev),
        "capture_sd": table,
    }
    CAPTURE_NOISE_FILE.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {CAPTURE_NOISE_FILE} ({len(table)} metrics)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--recaptures", type=int, default=3)
    r.add_argument("--per-person", type=int, default=3)
    sub.add_parser("report").add_argument("table")
    sub.add_parser("fit").add_argument("table")
    args = ap.parse_args(argv)
    return {"run": run, "report": report, "fit": fit}[args.cmd](args)


if __name__ == "__main__":
    raise SystemExit(main())
