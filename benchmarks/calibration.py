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
    python benchmarks/calibration.py fit null.csv --only M1,M2 # refit those metrics' terms only
    python benchmarks/calibration.py run --out declared.csv \
        --treated left_cheek,right_cheek,forehead,chin         # the same, regions declared
    python benchmarks/calibration.py reference null.csv declared.csv   # refit the null references
    python benchmarks/calibration.py reference null.csv declared.csv --own   # the metrics' own
    python benchmarks/calibration.py shift null.csv            # the under-eye shade's shift
    python benchmarks/calibration.py cv null.csv declared.csv  # each person tested by the
                                                               # model fitted on the others
    python benchmarks/calibration.py run --out dark.csv --melanin 0.6   # darker skin: each
                                                               # photo's skin darkened first

``fit`` chooses, per metric, the capture standard deviation that brings the share of
``|z| > 1.96`` to 5 % on the development half of the people. ``reference`` fits each family's
null reference (:class:`mesovision.null_reference.NullReference`: ``delta / se`` ~ scale x t)
on the development half, once for comparisons without treated regions and once with them
declared (a run with ``--treated``): the scale and degrees of freedom whose 95 % and 99.9 %
(``--tail``) quantiles of ``|t|`` are those of the development changes (the first sets the
coverage, the second the tail that a pair's ~200 tests reach after multiplicity control); then
a metric's own where its family's puts it outside 4-6 % of ``p < 0.05`` (``own_reference``; with
``--own`` those only, under the families' as they are).
``report`` prints the coverage, ``p < 0.05`` under the references (``|z| > 1.96`` with ``z``
the normal score), on both halves (the held-out half is the result, with its 95 % interval
over the people resampled), per family, per metric and per family on faces under and at or
above 72 px between the eyes in the scoring frame. All of them count the
tested changes only: a family the pair's verdicts leave untested (texture on a face of fewer
than 75 px between the eyes) is tested by no comparison, so its changes there neither fit nor
measure the model (``load``). ``shift`` fits the under-eye shade's threshold shift beyond the
light's measured residual (``mesovision.metrics._undereye.SHIFT_SD_LSTAR``) on the development
half's changes below each eye (a run records each shade change's ``shift_var``); refit its
capture term (``fit --only swelling.puffiness_pct``) and its reference after it. ``cv``
runs ``fit`` and ``reference`` once per person left out and tests that person with it
(``_cv``): what the procedure gives on people it has not seen, from every person; it writes
nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cv import cross_validate  # noqa: E402
from _detail import fit_detail  # noqa: E402
from _faces import faces_dir, labelled_faces, sample_faces, split_people  # noqa: E402
from _melanin import darker_photo  # noqa: E402
from _stats import cluster_interval  # noqa: E402

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
    "kind",
    "level",
    "delta_e00",
    "detail_ratio",
    "noise_ratio",
    "jpeg_quality",
    "pose_deg",
    "expression",
    "treated",
    "scoring_iod_px",
    "shift_sd",
    "shift_var",
    "sd_pose",
    "residual_px",
    "shift_px",
)
#: The columns of a change's noise terms (``Change.noise``) in a ``run`` file (a file written
#: before ``sd_pose`` was recorded reads it as 0).
TERMS = ("se_paired", "n_tiles", "sd_registration", "sd_recapture", "sd_counting", "sd_pose")
#: What one stress recapture degrades, at a seeded level in [0, 1] (``_stress``).
STRESS_KINDS = ("colour_light", "blur", "noise", "jpeg", "turn")


#: The recapture's light: the largest change of the gain, of each channel's white balance and
#: of the left-to-right ramp (``_recapture``).
LIGHT = (0.15, 0.05, 0.15)


def _recapture(rgb: np.ndarray, rng: np.random.Generator, light=LIGHT, *, matrix: bool = False):
    """A synthetic recapture (pose, ``light``, focus); with ``matrix`` also the 3 x 3 map of the
    pose change, ``(image, matrix)``."""
    from mesovision.testing.synthetic import apply_lighting, apply_similarity

    w = rgb.shape[1]
    gain, balance, ramp = light
    out, m = apply_similarity(
        rgb,
        angle_deg=rng.uniform(-4, 4),
        scale=rng.uniform(0.93, 1.07),
        shift_xy=rng.uniform(-0.03, 0.03, 2) * w,
    )
    out = apply_lighting(
        out,
        gain=rng.uniform(1 - gain, 1 + gain),
        white_balance=tuple(rng.uniform(1 - balance, 1 + balance, 3)),
        ramp=rng.uniform(-ramp, ramp),
    )
    sigma = rng.uniform(0, 0.6)
    if sigma > 0.05:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    return (out, m) if matrix else out


def ordinary_recapture(rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """An ordinary null recapture (:func:`_recapture`) and the JPEG quality to save it at
    (60-95), as :func:`_stress` returns a degraded one."""
    return _recapture(rgb, rng), int(rng.integers(60, 96))


def _stress(rgb: np.ndarray, rng: np.random.Generator, kind: str, level: float, lm):
    """A recapture degraded in one way beyond the ordinary ones (``_recapture``), at ``level``
    in [0, 1]: ``colour_light`` a lamp of another colour from one side (per-channel left-right
    ramps of up to +-30 % in opposite directions: white balance that varies across the face,
    which a global colour map and a luminance shading cannot undo), ``blur`` (Gaussian, sigma up
    to 2.5 px), ``noise`` (Gaussian, sigma up to 0.04), ``jpeg`` (quality 60 down to 15, set
    by the caller) or ``turn`` (the head turned in 3-D by up to 12 deg yaw). Returns the image
    and the JPEG quality to save it at."""
    from mesovision.testing.head_turn import turn_head
    from mesovision.testing.synthetic import apply_lighting

    out = _recapture(rgb, rng)
    quality = int(rng.integers(80, 96))
    if kind == "colour_light":
        from mesovision.color import linear_to_srgb, srgb_to_linear

        w = out.shape[1]
        x = 2.0 * (np.arange(w, dtype=np.float32) + 0.5) / w - 1.0
        slopes = np.array([1.0, -0.4, -1.0], np.float32) * np.float32(0.3 * level)
        ramp = 1.0 + x[None, :, None] * slopes[None, None, :]
        out = linear_to_srgb(np.clip(srgb_to_linear(out) * ramp, 0.0, 1.0))
    elif kind == "blur":
        out = cv2.GaussianBlur(out, (0, 0), 0.3 + 2.2 * level)
    elif kind == "noise":
        out = np.clip(out + rng.normal(0, 0.04 * level, out.shape).astype(np.float32), 0, 1)
    elif kind == "jpeg":
        quality = int(round(60 - 45 * level))
    elif kind == "turn" and lm is not None:
        yaw = 12.0 * level * rng.choice([-1.0, 1.0])
        out = apply_lighting(turn_head(rgb, lm, yaw_deg=yaw)[0], gain=rng.uniform(0.9, 1.1))
    return out, quality


def _jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    u8 = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    Image.fromarray(u8).save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()


def photos(per_person: int) -> list[tuple[Path, str]]:
    """``(path, person)``: the sample faces and up to ``per_person`` photos of each person."""
    out = [(p, p.parent.name) for p in sample_faces()]
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
    from mesovision.landmarks import detect_landmarks
    from mesovision.pipeline import align_pair

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (path, person) in enumerate(photos(args.per_person)[: args.photos]):
            name = path.name
            try:  # with --melanin the photo with darker skin, written to tmp: the before photo
                path, rgb = darker_photo(path, args.melanin, tmp)
            except MesovisionError as e:
                print(f"{name}: {e}", file=sys.stderr)
                continue
            rng = np.random.default_rng(1000 + i)
            lm = detect_landmarks(rgb) if args.stress else None
            plan = [("none", 0.0)] * args.recaptures + [
                (STRESS_KINDS[(i + k) % len(STRESS_KINDS)], float(rng.uniform(0, 1)))
                for k in range(args.stress)
            ]
            for k, (kind, level) in enumerate(plan):
                after = Path(tmp) / f"{i}_{k}.jpg"
                if kind == "none":
                    img, quality = ordinary_recapture(rgb, rng)
                else:
                    img, quality = _stress(rgb, rng, kind, level, lm)
                after.write_bytes(_jpeg_bytes(img, quality))
                try:
                    # A stress pair is compared even past the alignment's limits (as --force).
                    cmp = compare_pair(
                        align_pair(str(path), str(after), force=kind != "none"),
                        treated=args.treated,
                        metrics=args.metrics,
                    )
                except MesovisionError as e:
                    print(f"{name} recapture {k} ({kind}): {e}", file=sys.stderr)
                    continue
                # person/file: the two sample faces are both "before.jpg"
                rows += _rows(cmp, f"{person}/{name}", person, k, kind, level, args.treated)
            print(f"{i + 1}: {name} ({person})", file=sys.stderr)
    _write(rows, args.out)
    return 0


#: The under-eye shade, whose threshold's shift ``shift`` fits.
PUFF = "swelling.puffiness_pct"
#: The regions that read one eye's under-eye zone each.
EYE_REGIONS = ("right_periorbital", "left_periorbital")
#: Face-size strata of ``shift``: interocular distance in the scoring frame, px.
SMALL_IOD_PX = 80.0


def _rows(cmp, photo: str, person: str, k, kind: str, level: float, treated=()) -> list[dict]:
    """The ``run`` rows of one comparison: every change with its noise terms and the pair's
    mismatch."""
    mm = cmp.mismatch
    pair_cols = {
        "kind": kind,
        "level": round(level, 4),
        "delta_e00": mm.delta_e00,
        "detail_ratio": mm.detail_ratio,
        "noise_ratio": mm.noise_ratio,
        "jpeg_quality": mm.jpeg_quality,
        "pose_deg": mm.pose_deg,
        "expression": int(bool(mm.expression_regions)),
        "scoring_iod_px": mm.scoring_iod_px,
        "residual_px": cmp.settings.get("registration_residual_px", float("nan")),
        "shift_px": cmp.settings.get("registration_shift_px", float("nan")),
    }
    out = []
    for region, per in cmp.changes.items():
        for metric, c in per.items():
            shift = _shift_columns(cmp, region) if metric == PUFF else {}
            out.append(
                {
                    "photo": photo,
                    "person": person,
                    "recapture": k,
                    "region": region,
                    "metric": metric,
                    "before": c.before,
                    "after": c.after,
                    "delta": c.delta,
                    **{f: getattr(c.noise, f, 0.0) for f in TERMS},
                    **pair_cols,
                    "treated": int(region in treated),
                    **shift,
                }
            )
    return out


def _shift_columns(cmp, region: str) -> dict[str, float]:
    """``shift_sd``, the shade's constant shift of thresholds (L*) in the run, and
    ``shift_var``, the two photos' variance of the shade in ``region`` per L*² of it
    (:func:`~mesovision.metrics._undereye.puffiness_shift_variance`)."""
    from mesovision.metrics._undereye import SHIFT_SD_LSTAR
    from mesovision.metrics._undereye import puffiness_shift_variance as var

    both = var(cmp.before.maps, cmp.before.regions[region])
    both += var(cmp.after.maps, cmp.after.regions[region])
    return {"shift_sd": SHIFT_SD_LSTAR, "shift_var": both}


def shift(args) -> int:
    """The standard deviation (L*) of the under-eye thresholds' shift between two captures
    beyond the light's measured residual (``_undereye.SHIFT_SD_LSTAR``): on the development
    half's tested null changes of the shade below each eye, the maximum-likelihood ``s`` of
    ``delta ~ N(0, c^2 (se_0^2 + s^2 v))`` with ``c`` free (the null reference sets the
    level; ``s`` the share of the two parts), ``v`` the run's ``shift_var`` and ``se_0`` its
    standard error without the capture term and the constant shift."""
    t = ordinary(load(args.table))
    dev, _ = split_people(set(t["person"]))
    sel = (t["metric"] == PUFF) & np.isin(t["region"], EYE_REGIONS) & t["tested"]
    sel &= np.isin(t["person"], list(dev)) & np.isfinite(t["delta"]) & np.isfinite(t["shift_var"])
    d, v = t["delta"][sel], t["shift_var"][sel]
    terms = ("se_paired", "sd_registration", "sd_recapture", "sd_counting", "sd_field")
    se0 = sum(np.square(t[k][sel]) for k in terms) - np.square(t["shift_sd"][sel]) * v
    keep = se0 > 0
    d, v, se0 = d[keep], v[keep], se0[keep]

    def profile(g):  # the scale's maximum-likelihood square, and the negative log-likelihood
        var = se0 + g * g * v
        c2 = float(np.mean(d * d / var))
        return c2, float(np.sum(np.log(c2 * var)))

    grid = np.linspace(0.0, 3.0, 3001)
    best = float(grid[int(np.argmin([profile(g)[1] for g in grid]))])
    pairs = len(set(zip(t["photo"][sel], t["recapture"][sel], strict=True)))
    print(f"shift sd {best:.3f} L* (maximum likelihood; scale {np.sqrt(profile(best)[0]):.2f}) "
          f"from {len(d)} development changes of {pairs} pairs")  # fmt: skip
    iod = t["scoring_iod_px"][sel][keep]
    for label, m in ((f"IOD < {SMALL_IOD_PX:.0f} px", iod < SMALL_IOD_PX),
                     (f"IOD >= {SMALL_IOD_PX:.0f} px", iod >= SMALL_IOD_PX)):  # fmt: skip
        if not m.any():
            continue
        rms = [np.sqrt(np.mean(d[m] ** 2 / (se0[m] + g * g * v[m]))) for g in (0.0, best)]
        print(f"  {label} (scoring frame): {m.sum()} changes, RMS delta / se {rms[0]:.2f} "
              f"without the constant shift, {rms[1]:.2f} with it")  # fmt: skip
    return 0


def _write(rows: list[dict], path: str) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS)
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} changes written to {path}")


def real(args) -> int:
    """Every pair of photos of the same person in ``../shared/faces`` (untreated, other days
    and cameras), compared as ``compare`` would (refused pairs reported, not compared): rows of
    kind ``real``, ``photo`` the before photo, ``recapture`` the after photo."""
    from itertools import combinations

    from mesovision.compare import compare_pair
    from mesovision.errors import MesovisionError
    from mesovision.pipeline import align_pair

    folder = faces_dir()
    if folder is None:
        print("../shared/faces not found", file=sys.stderr)
        return 2
    by_person = defaultdict(list)
    for path, person in labelled_faces(folder):
        if not person.startswith("unknown"):
            by_person[person].append(path)
    rows, refused = [], 0
    pairs = [(p, a, b) for p, ps in sorted(by_person.items()) for a, b in combinations(ps, 2)]
    for i, (person, a, b) in enumerate(pairs[: args.max_pairs]):
        try:
            cmp = compare_pair(align_pair(str(a), str(b)))
        except MesovisionError as e:
            refused += 1
            print(f"{a.name} / {b.name}: {e}", file=sys.stderr)
            continue
        rows += _rows(cmp, a.name, person, b.name, "real", 0.0)
        print(f"{i + 1}/{len(pairs)}: {a.name} / {b.name}", file=sys.stderr)
    print(f"{len(pairs[: args.max_pairs])} same-person pairs, {refused} refused")
    _write(rows, args.out)
    return 0


def load(path: str) -> dict[str, np.ndarray]:
    """The rows of a ``run`` file as columns (numbers as float, NaN for empty), with
    ``inflation`` and ``tested``: the widening of the row's family under the pair's verdicts,
    and whether they leave it tested (``compare`` tests
    no change of a family that is not comparable: texture on a face of fewer than 75 px
    between the eyes, for one). The coverage, the capture terms and the null references are
    those of the tested changes."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for f in FIELDS:
        vals = [r.get(f, "") for r in rows]
        try:
            out[f] = np.array([float(v) if v not in ("", "None") else np.nan for v in vals])
        except ValueError:
            out[f] = np.array(vals)
    field = field_column(out)
    out["field"] = np.isfinite(field)
    out["sd_field"] = np.nan_to_num(field, nan=0.0)
    out["inflation"], out["tested"] = _verdict_of_rows(out)
    return out


def field_column(t: dict[str, np.ndarray]) -> np.ndarray:
    """The between-region term of every row as ``compare`` computes it
    (:func:`mesovision.noise.field_terms` over the pair's regions, those of the run's
    ``--treated`` declared; NaN where the pair has too few facial parts for it)."""
    from mesovision.noise import field_terms

    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, key in enumerate(zip(t["photo"], t["recapture"], t["metric"], strict=True)):
        groups[key].append(i)
    out = np.zeros(len(t["delta"]))
    for (_, _, metric), idx in groups.items():
        regions = [str(t["region"][i]) for i in idx]
        treated = tuple(r for r, i in zip(regions, idx, strict=True) if t["treated"][i] > 0)
        sd = field_terms(
            metric,
            {r: float(t["before"][i]) for r, i in zip(regions, idx, strict=True)},
            {r: float(t["after"][i]) for r, i in zip(regions, idx, strict=True)},
            treated,
        )
        out[idx] = [sd[r] for r in regions]
    return out


def ordinary(t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The rows of the ordinary null pairs (no stress recapture)."""
    sel = t["kind"] == "none"
    return {k: v[sel] for k, v in t.items()}


def z_scores(
    t: dict[str, np.ndarray], capture_sd: dict[str, float], detail: dict[str, float] | None = None
) -> np.ndarray:
    """``z`` of every change as ``compare`` computes it, with the capture term of each metric
    from ``capture_sd`` and the detail term's factors ``detail`` (default: the shipped ones);
    NaN where ``compare`` tests nothing (a NaN term, or no noise)."""
    from mesovision.noise import capture_sd as term
    from mesovision.noise import detail_noise, detail_sd, standard_error, z_score

    kappa = detail_noise() if detail is None else detail
    rows = zip(t["metric"], t["before"], t["after"], t["detail_ratio"], strict=True)
    # (the detail term goes with the between-region term, as in compare)
    cap, det = np.zeros(len(t["delta"])), np.zeros(len(t["delta"]))
    for i, (m, b, a, r) in enumerate(rows):
        cap[i] = term(capture_sd, m, b, a)
        det[i] = detail_sd(kappa, m, b, a, r) if t["field"][i] else 0.0
    terms = ("se_paired", "sd_registration", "sd_recapture", "sd_counting")
    pose = np.nan_to_num(t.get("sd_pose", np.zeros(len(t["delta"]))), nan=0.0)  # 0: no column
    se = standard_error(*(t[k] for k in terms), cap, t["sd_field"], 0.0, det, pose)
    return z_score(t["delta"], se)


def declared(t: dict[str, np.ndarray]) -> bool:
    """Whether the run declared treated regions (``run --treated``)."""
    return bool(np.any(t["treated"] > 0))


def p_values(t: dict[str, np.ndarray], ratio: np.ndarray, table: dict | None = None) -> np.ndarray:
    """The two-sided p-value of every row's ``delta / se`` (``ratio``) under its null reference,
    as ``compare`` tests it (:func:`mesovision.null_reference.null_reference`; ``table``: the
    references to take instead of the shipped ones); NaN where untested."""
    from mesovision.metrics import get_metric
    from mesovision.null_reference import null_reference

    p = np.full(len(ratio), np.nan)
    kind = declared(t)
    family = {m: get_metric(m).family for m in set(t["metric"])}
    groups: dict = defaultdict(list)
    for i in np.flatnonzero(np.isfinite(ratio)):
        m = t["metric"][i]
        field = bool(t["field"][i])
        ref = null_reference(family[m], declared=kind, field=field, metric=m, table=table)
        groups[ref].append(i)
    for ref, idx in groups.items():
        p[idx] = ref.test(ratio[idx])[1]
    return p


def report(args) -> int:
    from mesovision.metrics import get_metric
    from mesovision.noise import capture_noise
    from mesovision.null_reference import Z95, null_reference

    t = ordinary(load(args.table))
    ratio = z_scores(t, capture_noise())
    p = p_values(t, ratio)
    ok = np.isfinite(p) & t["tested"]
    dev, held = split_people(set(t["person"]))
    fam = np.array([get_metric(m).family for m in t["metric"]])
    pairs = {(p, r) for p, r in zip(t["photo"], t["recapture"], strict=True)}
    print(f"{len(pairs)} null pairs of {len(set(t['photo']))} photos, {len(dev | held)} people")
    kind = "declared" if declared(t) else "undeclared"
    print("\nshare of tested changes (of the families the verdicts leave tested; the limited")
    print("ones not widened) with p < 0.05 (|z| > 1.96; target 4-6 %), before multiplicity")
    print(f"control; null references of comparisons with treated regions {kind}")
    print("(and, development, the share of |delta / se| > 1.96: the normal reference's);")
    print("held-out with its 95 % interval over the people resampled (_stats.cluster_interval)")
    print(
        "| family | null reference (delta / se ~) | development | held-out (95 % interval) "
        "| changes (held-out) | development, normal |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for f in sorted(set(fam)) + ["all"]:
        rows = ok & ((fam == f) if f != "all" else True)
        in_dev = rows & np.isin(t["person"], list(dev))
        in_held = rows & np.isin(t["person"], list(held))
        low, high = cluster_interval(p[in_held] < 0.05, t["person"][in_held])
        normal = np.mean(np.abs(ratio[in_dev]) > Z95)
        ref = (
            ""
            if f == "all"
            else _reference_text(null_reference(f, declared=declared(t), field=True))
        )
        print(
            f"| {f} | {ref} | {100 * np.mean(p[in_dev] < 0.05):.1f} % | "
            f"{100 * np.mean(p[in_held] < 0.05):.1f} % ({100 * low:.1f}-{100 * high:.1f}) | "
            f"{int(in_held.sum())} | {100 * normal:.1f} % |"
        )
    _by_metric(t, p, ok, dev, held)
    _by_face_size(t, p, ok, fam, dev, held)
    _per_pair(t, p, ok, dev, "development")
    _per_pair(t, p, ok, held)
    return 0


def _by_metric(t, p, ok, dev, held) -> None:
    """The share of p < 0.05 of each metric, with its null reference (its own where it has
    one, else its family's)."""
    from mesovision.metrics import get_metric
    from mesovision.null_reference import null_reference

    print(
        "\nby metric: share with p < 0.05, development / held-out (tested changes; held-out with "
        "its 95 % interval over the people resampled)"
    )
    print("| metric | null reference | development | held-out |")
    print("| --- | --- | --- | --- |")
    for m in sorted(set(t["metric"][ok])):
        family = get_metric(m).family
        ref = null_reference(family, declared=declared(t), field=True, metric=m)
        own = ref != null_reference(family, declared=declared(t), field=True)
        cells = [_reference_text(ref) + (" (own)" if own else "")]
        for people in (dev, held):
            rows = ok & (t["metric"] == m) & np.isin(t["person"], list(people))
            cells.append(_share_cell(p, rows, t, people is held))
        print(f"| {m} | " + " | ".join(cells) + " |")


def _by_face_size(t, p, ok, fam, dev, held) -> None:
    """The share of p < 0.05 of each family on faces under and at or above
    ``comparability.BRUISE_MIN_SCORING_IOD_PX`` between the eyes in the scoring frame (the
    150-px crops against the rest), per half: the halves hold the two sizes in different
    proportions."""
    from mesovision.comparability import BRUISE_MIN_SCORING_IOD_PX as SIZE

    small = t["scoring_iod_px"].astype(float) < SIZE
    print("\nby face size: share with p < 0.05 (tested changes; held-out with its interval)")
    print(f"under / at or above {SIZE:g} px between the eyes in the scoring frame")
    print("| family | development, under | at or above | held-out, under | at or above |")
    print("| --- | --- | --- | --- | --- |")
    for f in sorted(set(fam)):
        cells = [
            _share_cell(
                p, ok & (fam == f) & side & np.isin(t["person"], list(people)), t, people is held
            )
            for people in (dev, held)
            for side in (small, ~small)
        ]
        print(f"| {f} | " + " | ".join(cells) + " |")


def _share_cell(p, rows, t, interval: bool) -> str:
    """``share % (rows)`` of ``p < 0.05`` over ``rows`` (``-`` without any), with its 95 %
    interval over the people resampled when ``interval``."""
    if not rows.any():
        return "-"
    cell = f"{100 * np.mean(p[rows] < 0.05):.1f} %"
    if interval:
        low, high = cluster_interval(p[rows] < 0.05, t["person"][rows])
        cell += f" ({100 * low:.1f}-{100 * high:.1f})"
    return f"{cell} ({int(rows.sum())})"


def _reference_text(ref) -> str:
    if ref.df is None:
        return "normal" if ref.scale == 1.0 else f"{ref.scale:.2f} x normal"
    return f"{ref.scale:.2f} x t({ref.df:.1f})"


def _per_pair(t, p, ok, people, label: str = "held-out") -> None:
    """Significant changes per pair as ``compare`` decides them: Benjamini-Hochberg within the
    primary endpoints (declared treated regions x headline metrics) and within the rest, on
    the p-values ``p``."""
    from scipy.stats import false_discovery_control

    from mesovision.noise import HEADLINE_METRICS

    primary = (t["treated"] > 0) & np.isin(t["metric"], list(HEADLINE_METRICS.values()))
    raw, fdr, who, which = [], [], [], Counter()
    for key in sorted({(p, r) for p, r in zip(t["photo"], t["recapture"], strict=True)}):
        sel = ok & (t["photo"] == key[0]) & (t["recapture"] == key[1])
        if not sel.any() or t["person"][sel][0] not in people:
            continue
        ps, rows = p[sel], np.flatnonzero(sel)
        raw.append(int(np.sum(ps < 0.05)))
        n = 0
        for stratum in (primary[sel], ~primary[sel]):
            if stratum.any():
                hit = false_discovery_control(ps[stratum], method="bh") < 0.05
                n += int(hit.sum())
                which.update(f"{t['region'][i]} {t['metric'][i]}" for i in rows[stratum][hit])
        fdr.append(n)
        who.append(t["person"][sel][0])
    low, high = cluster_interval(fdr, who)
    print(
        f"\n{label} pairs: {len(raw)}; significant changes per pair: median "
        f"{np.median(raw):.0f} (max {max(raw)}) unadjusted; after Benjamini-Hochberg at 5 %: "
        f"{sum(fdr)} in all, {sum(fdr) / max(1, len(fdr)):.2f} per pair ({low:.2f}-{high:.2f} over "
        f"{len(set(who))} people resampled), median "
        f"{np.median(fdr):.0f}, max {max(fdr)} ({sum(x > 0 for x in fdr)} pairs with any)"
    )
    if which:
        print("  " + ", ".join(f"{k} x{n}" for k, n in which.most_common()))


def _fit_capture(
    t: dict[str, np.ndarray], sel_dev: np.ndarray, detail: dict[str, float] | None = None
) -> dict[str, float]:
    """Per metric, the smallest capture term that brings the share of |z| > 1.96 of the
    selected rows to 5 % (0 when it is already at most 5 %), with the detail term's factors
    ``detail`` (default: the shipped ones)."""
    from mesovision.noise import relative_capture

    table = {}
    for m in sorted(set(t["metric"])):
        sel = sel_dev & (t["metric"] == m)
        if not sel.any():
            continue
        sub = {k: v[sel] for k, v in t.items()}

        def share(c, sub=sub, m=m):
            z = z_scores(sub, {m: c}, detail)
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
    return table


def fit(args) -> int:
    from mesovision.noise import CAPTURE_NOISE_FILE

    t = ordinary(load(args.table))
    if args.only:  # these metrics only; every other keeps the term it has
        t = {k: v[np.isin(t["metric"], args.only)] for k, v in t.items()}
    ok = np.isfinite(t["delta"]) & t["tested"]
    dev, _ = split_people(set(t["person"]))
    sel_dev = ok & np.isin(t["person"], list(dev))
    # The detail term first (texture: the pair's focus mismatch), then the capture term with it.
    detail = fit_detail(t, sel_dev, verbose=True)
    table = _fit_capture(t, sel_dev, detail)
    # Without the between-region term: for a comparison with too few facial parts for it
    # (body mode, a face whose parts are not measured).
    # (The detail term goes with the between-region term: without it, the capture term alone.)
    no_field = {**t, "sd_field": np.zeros_like(t["sd_field"])}
    table_single = _fit_capture(no_field, sel_dev, {})
    n_changes, people = int(sel_dev.sum()), sorted(dev)
    if args.only:  # the other metrics' terms, and the file's own counts, as they are
        old = json.loads(CAPTURE_NOISE_FILE.read_text())
        table = {**old["capture_sd"], **table}
        table_single = {**old["capture_sd_without_field"], **table_single}
        refit = set(t["metric"])
        detail = {m: k for m, k in old.get("detail_sd", {}).items() if m not in refit} | detail
        n_changes, people = old["n_changes"], old["people"]
    doc = {
        "about": "Per-metric capture standard deviation (metric units), fitted by "
        "benchmarks/calibration.py fit on the development half of the null pairs: the "
        "spread of a change between two captures of unchanged skin that the other noise "
        "terms do not explain. detail_sd: per texture metric, the factor kappa of the detail "
        "term kappa x |ln(detail ratio)| x max(|before|, |after|) (benchmarks/_detail.py).",
        "n_changes": n_changes,
        "people": people,
        "capture_sd": table,
        "capture_sd_without_field": table_single,
        "detail_sd": detail,
    }
    CAPTURE_NOISE_FILE.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {CAPTURE_NOISE_FILE} ({len(table)} metrics); refit the null references")
    return 0


#: The quantiles of ``|delta / se|`` a null reference matches on the development changes: the
#: core (coverage at p = 0.05) and, by default, the tail (``reference --tail``).
CORE_QUANTILE = 0.95
TAIL_QUANTILE = 0.999
#: A family is fitted when at least this share of its development changes is not exactly 0
#: (a bruised area is 0 before and after on most null pairs: a conservative discrete test that
#: keeps the normal reference) and it has at least ``MIN_REFERENCE_CHANGES`` of them.
MIN_MOVED_SHARE = 0.5
MIN_REFERENCE_CHANGES = 500


def fit_reference(ratio: np.ndarray, tail: float = TAIL_QUANTILE) -> tuple[float, float]:
    """``(scale, df)`` of the scaled Student t whose ``CORE_QUANTILE`` and ``tail`` quantiles of
    ``|t|`` are those of ``|ratio|`` (df in [0.5, 1000])."""
    from scipy.optimize import brentq
    from scipy.stats import t as student

    lo_q, hi_q = CORE_QUANTILE, tail
    a = np.abs(ratio[np.isfinite(ratio)])
    q_lo, q_hi = np.quantile(a, lo_q), np.quantile(a, hi_q)

    def t_q(q, df):
        return student.ppf(0.5 + q / 2, df)

    def excess(log_df):  # the reference's tail/core ratio minus the data's
        df = np.exp(log_df)
        return t_q(hi_q, df) / t_q(lo_q, df) - q_hi / q_lo

    bounds = np.log(0.5), np.log(1000.0)
    if excess(bounds[1]) > 0:  # tails lighter than t(1000): as good as normal
        df = 1000.0
    elif excess(bounds[0]) < 0:
        df = 0.5
    else:
        df = float(np.exp(brentq(excess, *bounds)))
    return float(q_lo / t_q(lo_q, df)), df


#: A metric of a fitted family gets a reference of its own where its family's puts the share of
#: its development changes with p < 0.05 outside ``OWN_SHARE`` and it has at least
#: ``MIN_OWN_CHANGES`` of them (``own_reference``).
OWN_SHARE = (0.04, 0.06)
MIN_OWN_CHANGES = 200
#: A metric's own scale narrower than this share of its family's is not taken
#: (``own_reference``).
MIN_OWN_SCALE = 0.75


def own_reference(ratio: np.ndarray, family):
    """A metric's own null reference, or ``None`` where its family's stays: the family's df and
    the scale whose ``CORE_QUANTILE`` of ``|t|`` is that of the metric's ``|ratio|`` (its
    development changes), where its family's reference ``family`` puts the metric's share of
    ``p < 0.05`` outside ``OWN_SHARE`` and it has ``MIN_OWN_CHANGES`` changes.

    A few hundred changes set a 95 % quantile well and a 99.9 % one hardly (it is about their
    maximum), so the tail's shape stays the family's. A narrower scale than the family's makes
    the metric's larger moves significant, so it is taken only where it is safe: not for a
    metric whose changes are mostly exactly 0 (less than ``MIN_MOVED_SHARE`` moved: a count or
    an area that is 0 in both photos, whose few small moves would set the scale), nor below
    ``MIN_OWN_SCALE`` of the family's (a standard error that overstates a metric's null changes
    that much does not follow them from one person to the next). Such a metric keeps its
    family's reference, conservative for it."""
    from scipy.stats import t as student

    from mesovision.null_reference import NullReference

    a = np.abs(ratio[np.isfinite(ratio)])
    if a.size < MIN_OWN_CHANGES or family.df is None:
        return None
    share = float(np.mean(family.test(a)[1] < 0.05))
    if OWN_SHARE[0] <= share <= OWN_SHARE[1]:
        return None
    scale = float(np.quantile(a, CORE_QUANTILE) / student.ppf(0.5 + CORE_QUANTILE / 2, family.df))
    narrow = np.mean(a != 0) < MIN_MOVED_SHARE or scale < MIN_OWN_SCALE * family.scale
    if scale < family.scale and narrow:
        return None
    return NullReference(scale, family.df)


def reference(args) -> int:
    """Fit the families' null references on the development half of each run (one without and
    one with ``--treated``), with the current capture terms, then their metrics' own where the
    family's does not fit them (``own_reference``), and write them to
    ``mesovision/null_reference.json`` (``--only``: these families and their metrics; the
    others as they are). ``--own``: the metrics' own references only, under the families' as
    they are. ``--metrics``: fit these metrics' own references on both quantiles instead (each
    on its own changes; the families' and the other metrics' stay)."""
    from mesovision.metrics import get_metric
    from mesovision.noise import capture_noise
    from mesovision.null_reference import REFERENCE_FILE

    refs = {
        "about": "Per family, delta / se of a change on unchanged skin ~ scale x Student t(df), "
        "fitted by benchmarks/calibration.py reference on the development half of the null "
        f"pairs (quantiles {CORE_QUANTILE} and {args.tail} of |delta / se| matched); "
        "'declared' for comparisons with treated regions declared, 'undeclared' without. A "
        "family not listed keeps the normal reference. 'metrics': a metric's own reference, "
        "which takes over its family's for it. Those with df_from 'family' (reference --own): "
        "where the family's puts the share of the metric's development changes with p < 0.05 "
        f"outside {OWN_SHARE[0]}-{OWN_SHARE[1]} (at least {MIN_OWN_CHANGES} changes), the "
        f"family's df and the scale matching the metric's own {CORE_QUANTILE} quantile; a "
        f"scale narrower than the family's only if at least {MIN_MOVED_SHARE} of its changes "
        f"are non-zero and it is at least {MIN_OWN_SCALE} of the family's. The others: both "
        "quantiles fitted on the metric's changes (reference --metrics).",
    }
    old = json.loads(REFERENCE_FILE.read_text()) if REFERENCE_FILE.is_file() else {}
    # A run not given keeps its references as they are.
    refs["metrics"] = dict(old.get("metrics", {}))
    refs.update({kind: old[kind] for kind in ("undeclared", "declared") if kind in old})
    for path in args.tables:
        t = ordinary(load(path))
        kind = "declared" if declared(t) else "undeclared"
        z = z_scores(t, capture_noise())
        dev, _ = split_people(set(t["person"]))
        sel_dev = np.isin(t["person"], list(dev)) & np.isfinite(z) & t["field"] & t["tested"]
        old_own = old.get("metrics", {}).get(kind, {})
        if args.metrics:
            refs[kind] = old.get(kind, {})
            own = refs["metrics"][kind] = dict(old_own)
            for m in args.metrics:
                zm = z[sel_dev & (t["metric"] == m)]
                scale, df = fit_reference(zm, args.tail)
                own[m] = {"scale": round(scale, 4), "df": round(df, 3), "n": int(zm.size)}
                print(f"{kind} {m}: {scale:.3f} x t({df:.2f}) from {zm.size} changes")
            continue
        if not args.own:
            fam = np.array([get_metric(m).family for m in t["metric"]])
            refs[kind] = _family_references(z, sel_dev, fam, old.get(kind, {}), args, kind)
        own = _own_references(t, z, sel_dev, refs[kind], old_own, args.only, kind)
        refs["metrics"][kind] = own
    REFERENCE_FILE.write_text(json.dumps(refs, indent=1) + "\n")
    print(f"wrote {REFERENCE_FILE}")
    return 0


def _family_references(z, sel_dev, fam, old: dict, args, kind: str) -> dict:
    """Each family's fitted reference (``fit_reference`` on its development changes; a family
    with too few changes or too few moved keeps the normal one); those not in ``args.only``
    as they are in ``old``."""
    out = {}
    for f in sorted(set(fam)):
        if args.only and f not in args.only:
            if f in old:
                out[f] = old[f]
            continue
        zf = z[sel_dev & (fam == f)]
        moved = float(np.mean(zf != 0)) if zf.size else 0.0
        if zf.size < MIN_REFERENCE_CHANGES or moved < MIN_MOVED_SHARE:
            print(f"{kind} {f}: normal ({zf.size} changes, {100 * moved:.0f} % moved)")
            continue
        scale, df = fit_reference(zf, args.tail)
        out[f] = {"scale": round(scale, 4), "df": round(df, 3), "n": int(zf.size)}
        print(f"{kind} {f}: {scale:.3f} x t({df:.2f}) from {zf.size} changes")
    return out


def _own_references(t, z, sel_dev, families: dict, old_own: dict, only, kind: str) -> dict:
    """The metrics' own references of one run (``own_reference``, under their families'
    ``families``); a metric fitted on both quantiles (``reference --metrics``) and the metrics
    of a family not in ``only`` keep theirs from ``old_own``."""
    from mesovision.metrics import get_metric
    from mesovision.null_reference import NullReference

    out = {
        m: r
        for m, r in old_own.items()
        if r.get("df_from") != "family" or (only and get_metric(m).family not in only)
    }
    for m in sorted(set(t["metric"])):
        f = get_metric(m).family
        if m in out or f not in families or (only and f not in only):
            continue
        fitted = families[f]
        zm = z[sel_dev & (t["metric"] == m)]
        ref = own_reference(zm, NullReference(fitted["scale"], fitted["df"]))
        if ref is not None:
            out[m] = {"scale": round(ref.scale, 4), "df": ref.df, "n": int(zm.size)}
            out[m]["df_from"] = "family"
            print(f"{kind} {m}: {ref.scale:.3f} x t({ref.df:.2f}) from {zm.size} changes")
    return out


#: The mismatch measures ``limits`` bins, with the bin edges (folded ratios: ``max(r, 1/r)``).
MEASURES = {
    "delta_e00": (0, 1, 2, 3, 4, 6, 10, 100),
    "detail_spread": (1, 1.1, 1.25, 1.4, 1.6, 2, 100),
    "noise_spread": (1, 1.3, 1.6, 2, 2.5, 4, 100),
    "jpeg_quality": (0, 30, 50, 70, 85, 101),
    "pose_deg": (0, 2.5, 5, 7.5, 10, 15, 100),
}


def _pair_measures(t) -> dict[str, np.ndarray]:
    fold = lambda r: np.maximum(r, 1.0 / r)  # noqa: E731
    return {
        "delta_e00": t["delta_e00"],
        "detail_spread": fold(t["detail_ratio"]),
        "noise_spread": fold(t["noise_ratio"]),
        "jpeg_quality": t["jpeg_quality"],
        "pose_deg": t["pose_deg"],
    }


def _verdict_of_rows(t) -> tuple[np.ndarray, np.ndarray]:
    """Per row, its family's verdict under the current limits: ``(inflation, tested)``."""
    from mesovision.comparability import Mismatch, family_of, verdicts

    infl, tested = np.ones(len(t["delta"])), np.ones(len(t["delta"]), bool)
    cache = {}
    for i in range(len(t["delta"])):
        key = (t["photo"][i], t["recapture"][i])
        if key not in cache:

            def num(f, i=i):
                return None if not np.isfinite(t[f][i]) else float(t[f][i])

            cache[key] = verdicts(
                Mismatch(
                    delta_e00=num("delta_e00"),
                    n_reference_tiles=0,
                    detail_ratio=num("detail_ratio"),
                    noise_ratio=num("noise_ratio"),
                    scoring_iod_px=num("scoring_iod_px"),
                    size_ratio=None,
                    jpeg_quality=None if num("jpeg_quality") is None else int(t["jpeg_quality"][i]),
                    pose_deg=num("pose_deg"),
                    expression_regions=("x",) if t["expression"][i] > 0 else (),
                )
            )
        v = cache[key][family_of(t["metric"][i])]
        infl[i], tested[i] = v.inflation, v.tested
    return infl, tested


def limits(args) -> int:
    """Coverage (share of ``p < 0.05``, no verdict widening) of each family against each
    mismatch measure, in bins, over all pairs (ordinary and stress); then the coverage and the
    false significant changes per pair with the current verdicts. Development half only for
    choosing limits; the held-out half is the result."""
    from mesovision.comparability import family_of
    from mesovision.noise import capture_noise

    t = load(args.table)
    z = z_scores(t, capture_noise())
    p = p_values(t, z)
    ok = np.isfinite(p)
    dev, held = split_people(set(t["person"]))
    fam = np.array([family_of(m) for m in t["metric"]])
    measures = _pair_measures(t)

    def pairs(m) -> int:
        return len(set(zip(t["photo"][m], t["recapture"][m], strict=True)))

    families = sorted(set(fam))
    for half_name, half in (("development", dev), ("held-out", held)):
        in_half = np.isin(t["person"], list(half))
        n_pairs = pairs(in_half)
        print(f"\n## {half_name} half: {n_pairs} pairs, {len(half)} people")
        for name, edges in MEASURES.items():
            v = measures[name]
            print(f"\n{name}: share of p < 0.05 per family (changes), before verdicts")
            print("| bin | pairs | " + " | ".join(families) + " |")
            print("| --- | --- |" + " --- |" * len(families))
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                sel = in_half & ok & (v >= lo) & (v < hi)
                if not sel.any():
                    continue
                n = pairs(sel)
                cells = []
                for f in families:
                    sf = sel & (fam == f)
                    share = np.mean(p[sf] < 0.05) if sf.any() else np.nan
                    cells.append(f"{100 * share:.1f} % ({int(sf.sum())})")
                print(f"| {lo:g}-{hi:g} | {n} | " + " | ".join(cells) + " |")
    infl, tested = t["inflation"], t["tested"]
    pv = p_values(t, np.where(tested, z / infl, np.nan))
    for half_name, half in (("development", dev), ("held-out", held)):
        in_half = np.isin(t["person"], list(half))
        print(f"\n{half_name}: with the verdicts (limited widened, not comparable untested)")
        print("| family | comparable | limited | not comparable (pairs) | p < 0.05 tested |")
        print("| --- | --- | --- | --- | --- |")
        for f in families:
            sf = in_half & (fam == f) & ok
            lim = sf & tested & (infl > 1)
            com = sf & tested & (infl == 1)
            nc = sf & ~tested
            share = np.mean(pv[sf & tested] < 0.05) if (sf & tested).any() else np.nan
            print(f"| {f} | {pairs(com)} | {pairs(lim)} | {pairs(nc)} | {100 * share:.1f} % |")
        _per_pair(t, pv, np.isfinite(pv), half, half_name)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--recaptures", type=int, default=3)
    r.add_argument("--per-person", type=int, default=3)
    r.add_argument("--stress", type=int, default=0, help="stress recaptures per photo")
    r.add_argument("--photos", type=int, default=None, help="only the first N photos")
    r.add_argument(
        "--treated",
        type=lambda v: tuple(x for x in v.split(",") if x),
        default=(),
        help="regions declared treated (comma-separated; nothing is changed in them)",
    )
    r.add_argument(
        "--melanin",
        type=float,
        default=0.0,
        help="darken each photo's skin first by melanin of this optical density at the red "
        "channel (benchmarks/_melanin.py); the darker photo is the before photo",
    )
    r.add_argument(
        "--metrics",
        type=lambda v: [x for x in v.split(",") if x],
        default=None,
        help="only these metrics (comma-separated; default: all of the face mode)",
    )
    rr = sub.add_parser("real")
    rr.add_argument("--out", required=True)
    rr.add_argument("--max-pairs", type=int, default=None)
    sub.add_parser("report").add_argument("table")
    f = sub.add_parser("fit")
    f.add_argument("table")
    f.add_argument(
        "--only",
        type=lambda v: tuple(v.split(",")),
        default=None,
        help="refit only these metrics (comma-separated); the others keep their terms",
    )
    ref = sub.add_parser("reference")
    ref.add_argument("tables", nargs="+", help="run files: one without, one with --treated")
    ref.add_argument(
        "--metrics",
        type=lambda v: [x for x in v.split(",") if x],
        default=None,
        help="fit these metrics' own references (comma-separated); the families' stay",
    )
    ref.add_argument(
        "--own",
        action="store_true",
        help="refit the metrics' own references only; the families' stay as they are",
    )
    ref.add_argument("--tail", type=float, default=TAIL_QUANTILE, help="the tail quantile matched")
    ref.add_argument(
        "--only",
        type=lambda v: tuple(v.split(",")),
        default=None,
        help="refit only these families (comma-separated); the others keep their references",
    )
    sub.add_parser("limits").add_argument("table")
    sub.add_parser("shift").add_argument("table")
    cvp = sub.add_parser("cv")
    cvp.add_argument("tables", nargs="+", help="run files: one without, then one with --treated")
    cvp.add_argument("--tail", type=float, default=None, help="the tail quantile matched")
    args = ap.parse_args(argv)
    cmds = {
        "run": run,
        "real": real,
        "report": report,
        "fit": fit,
        "limits": limits,
        "shift": shift,
        "reference": reference,
        "cv": lambda a: cross_validate(sys.modules[__name__], a),
    }
    return cmds[args.cmd](args)


if __name__ == "__main__":
    raise SystemExit(main())
