"""``calibration.py cv``: the noise model's fit, judged on people it was not fitted on, with
every person in turn.

The fixed split (:data:`_faces.HELD_OUT_PEOPLE`) fits the capture terms and the null references
on the development people and measures them once, on the held-out ones. ``cv`` runs the same
procedure (``fit`` on the run without regions declared: the detail and capture terms; then
``reference`` on each run: the families' references and the metrics' own) once per person left
out, on all the other people,
and tests the left-out person's changes with what was fitted without them. Every change is thus
tested by a model that never saw its person, and the pooled shares say what the procedure gives
on a new person, from every person instead of nine. The shipped model (fitted on the
development people) is not changed.
"""

from __future__ import annotations

import contextlib
import io
from argparse import Namespace

import numpy as np
from _detail import fit_detail

__all__ = ["cross_validate", "out_of_fold"]


def _references(calibration, t, z, sel_fit, tail: float) -> tuple[dict, dict]:
    """The families' and the metrics' own references fitted on the rows ``sel_fit`` (as
    ``reference`` fits them), in memory: ``(families, own)``."""
    from mesovision.metrics import get_metric

    fam = np.array([get_metric(m).family for m in t["metric"]])
    opts = Namespace(only=None, tail=tail)
    with contextlib.redirect_stdout(io.StringIO()):
        families = calibration._family_references(z, sel_fit, fam, {}, opts, "")
        own = calibration._own_references(t, z, sel_fit, families, {}, None, "")
    return families, own


def out_of_fold(calibration, runs: list[dict], tail: float) -> list[np.ndarray]:
    """Per run (the first without regions declared: the capture terms are fitted on it), every
    row's p-value under the model fitted on the other people's rows."""
    people = sorted(set(runs[0]["person"]))
    out = [np.full(len(t["delta"]), np.nan) for t in runs]
    base = runs[0]
    for person in people:
        ok = np.isfinite(base["delta"]) & base["tested"] & (base["person"] != person)
        with contextlib.redirect_stdout(io.StringIO()):
            detail = fit_detail(base, ok)
            capture = calibration._fit_capture(base, ok, detail)
        for t, p in zip(runs, out, strict=True):
            z = calibration.z_scores(t, capture, detail)
            sel_fit = (t["person"] != person) & np.isfinite(z) & t["field"] & t["tested"]
            families, own = _references(calibration, t, z, sel_fit, tail)
            kind = "declared" if calibration.declared(t) else "undeclared"
            table = {kind: families, "metrics": {kind: own}}
            left = t["person"] == person
            p[left] = calibration.p_values({k: v[left] for k, v in t.items()}, z[left], table)
    return out


def cross_validate(calibration, args) -> int:
    """Print, per run, the out-of-fold share of ``p < 0.05`` per family and per metric on each
    half of the people (development: what settings are chosen on; held-out: the result), with
    its interval over the people resampled, and the false significant changes per pair after
    Benjamini-Hochberg (the pair's own, as ``report`` counts them)."""
    from _faces import split_people
    from _stats import cluster_interval

    from mesovision.metrics import get_metric

    runs = [calibration.ordinary(calibration.load(path)) for path in args.tables]
    if calibration.declared(runs[0]):
        raise SystemExit("cv: the first run must be one without --treated (the capture terms)")
    tail = calibration.TAIL_QUANTILE if args.tail is None else args.tail
    for path, t, p in zip(args.tables, runs, out_of_fold(calibration, runs, tail), strict=True):
        ok = np.isfinite(p) & t["tested"]
        kind = "declared" if calibration.declared(t) else "undeclared"
        halves = split_people(set(t["person"]))
        in_half = [ok & np.isin(t["person"], list(h)) for h in halves] + [ok]
        n = len(halves[0] | halves[1])
        print(f"\n## {path}: regions {kind}; each of the {n} people tested by the model fitted")
        print(f"on the {n - 1} others (tail quantile {tail}); share of tested changes with")
        print("p < 0.05 (target 4-6 %), 95 % interval over the people resampled")
        print("| family | development | held-out | everyone | changes (held-out) |")
        print("| --- | --- | --- | --- | --- |")
        fam = np.array([get_metric(m).family for m in t["metric"]])
        for f in sorted(set(fam[ok])) + ["all"]:
            cells = []
            for sel in in_half:
                rows = sel & ((fam == f) if f != "all" else True)
                low, high = cluster_interval(p[rows] < 0.05, t["person"][rows])
                share = 100 * np.mean(p[rows] < 0.05)
                cells.append(f"{share:.1f} % ({100 * low:.1f}-{100 * high:.1f})")
            n_held = (in_half[1] & ((fam == f) if f != "all" else True)).sum()
            print(f"| {f} | " + " | ".join(cells) + f" | {n_held} |")
        print("\n| metric | development | held-out | everyone |")
        print("| --- | --- | --- | --- |")
        for m in sorted(set(t["metric"][ok])):
            shares = [100 * np.mean(p[sel & (t["metric"] == m)] < 0.05) for sel in in_half]
            print(f"| {m} | " + " | ".join(f"{s:.1f} %" for s in shares) + " |")
        for half, label in zip(halves, ("development", "held-out"), strict=True):
            calibration._per_pair(t, p, ok, half, label)
        calibration._per_pair(t, p, ok, halves[0] | halves[1], "all")
    return 0
