"""Does the reported alignment residual bound the true alignment error, and do local skin changes
pull the fit?

Every usable face photo (single face, long side >= 300 px, interocular distance above the
capture limit) of ``../shared/faces`` (or ``$MESOVISION_FACES``) and ``sample_images/*/before.jpg``
is the *before* photo. Its *after* photos, per face:

- ``in-plane``: the photo moved by a known similarity ``S`` (rotation up to 8 deg, scale 0.9-1.1,
  shift up to 3 % of the width);
- ``turn``: the head turned in 3-D by :func:`mesovision.testing.head_turn.turn_head`, then moved
  by a similarity as above; ``--turns`` N turns per face, the k-th with yaw and pitch drawn
  uniformly up to k/N of the alignment's pose limits (``THRESHOLDS['max_yaw_difference_deg']`` and
  ``['max_pitch_difference_deg']``, 15 deg);
- ``in-plane+bruise``, ``turn+bruise``, ``turn+redness``: the same moved (or turned and moved)
  photo, same pose and same ``S``, with a strong local skin change on a cheek or the chin: a
  bruise (``inject_bruise``, blue-green, strength 1.5: L* -30 in its core, semi-axes 0.6 x 0.44
  interocular distances) or a redness patch (``inject_redness``, a* +25 over an ellipse of
  semi-axes 0.48 x 0.35 interocular distances, feathered).

Each after photo is JPEG-compressed (quality 92) and aligned as ``align_pair`` does (landmarks of
both photos, the before photo's face region, :func:`~mesovision.align.align_faces` with its default
``ecc`` refinement, :func:`~mesovision.align.check_alignment`); refused pairs are counted apart.

**True error.** For each of the 468 mesh points ``p_i`` of the before photo, the true position of
the same anatomical point in the after photo is ``a_i = S q_i`` (``q_i = p_i`` in-plane; ``q_i``
the turned point that ``turn_head`` returns for a turn). The estimated map ``M`` (after ->
before) sends it to ``M a_i``; the point error is ``|M a_i - p_i|`` in before pixels, as a
percentage of the before photo's interocular distance (IOD). A pair's true error is the mean over
the points (and its largest point error). A similarity (or the ECC affine) cannot represent a 3-D
turn: what remains is the alignment model's own error, which the reported figure must then show.
The reported figure is ``alignment.residual_iod``. **Pull** of a local change: the mean (and max)
distance over the mesh points between the maps estimated with and without the change.

    python benchmarks/alignment_truth.py [--limit N] [--save rows.npz] [--melanin OD]

``--melanin OD``: each before photo's skin darkened first by melanin of optical density ``OD``
at the red channel (``_melanin.darker_skin``, in linear light): the same faces, darker skin.

Prints mean/max true error, the share of pairs whose reported residual is >= the true mean and the
true largest point error, per kind and per split of the people (``_faces.split_people``: develop
on ``dev``, report on ``held-out``), with the counts of faces and pairs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faces import faces_dir, labelled_faces, sample_faces, split_people  # noqa: E402
from _melanin import darker_skin  # noqa: E402

from mesovision.align import THRESHOLDS, align_faces, check_alignment  # noqa: E402
from mesovision.errors import MesovisionError  # noqa: E402
from mesovision.io import load_photo  # noqa: E402
from mesovision.landmarks import detect_landmarks  # noqa: E402
from mesovision.regions import region_masks  # noqa: E402
from mesovision.testing.head_turn import turn_head  # noqa: E402
from mesovision.testing.synthetic import (  # noqa: E402
    apply_similarity,
    inject_bruise,
    inject_redness,
)

KINDS = ("in-plane", "in-plane+bruise", "turn", "turn+bruise", "turn+redness")
#: Centres of the local changes: the cheeks' centres and the chin (MediaPipe mesh indices).
CHANGE_SITES = {"right cheek": 205, "left cheek": 425, "chin": 199}


def _jpeg(rgb: np.ndarray, quality: int = 92) -> np.ndarray:
    u8 = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", u8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0


def _random_similarity(rng, w: int) -> dict:
    return {
        "angle_deg": rng.uniform(-8, 8),
        "scale": rng.uniform(0.9, 1.1),
        "shift_xy": rng.uniform(-0.03, 0.03, 2) * w,
    }


def _ellipse_mask(shape, center, axes, angle_deg) -> np.ndarray:
    m = np.zeros(shape[:2], np.uint8)
    c = (int(round(center[0])), int(round(center[1])))
    a = (max(1, int(round(axes[0]))), max(1, int(round(axes[1]))))
    cv2.ellipse(m, c, a, angle_deg, 0, 360, 1, -1)
    return m.astype(bool)


def local_change(turned: np.ndarray, q: np.ndarray, iod: float, kind: str, site: str):
    """The turned photo with a strong bruise or redness patch centred on ``site`` (turned
    landmark positions ``q``)."""
    c = q[CHANGE_SITES[site]]
    axes = (0.30 * iod, 0.22 * iod) if site != "chin" else (0.28 * iod, 0.18 * iod)
    if kind.endswith("+bruise"):
        img, _ = inject_bruise(turned, tuple(c), (2 * axes[0], 2 * axes[1]), angle_deg=15.0,
                               stage="blue-green", strength=1.5)  # fmt: skip
        return img
    mask = _ellipse_mask(turned.shape, c, (1.6 * axes[0], 1.6 * axes[1]), 15.0)
    return inject_redness(turned, mask, delta_a=25.0, feather_px=0.15 * iod)


def _turn_text(turn) -> str:
    return "" if turn is None else f" ({turn['yaw_deg']:+.0f}/{turn['pitch_deg']:+.0f} deg)"


def _row_text(r: dict) -> str:
    nan = float("nan")
    return (
        f"{r['kind']}{_turn_text(r['turn'])} {r.get('err_mean', nan):.2f}/"
        f"{r.get('reported', nan):.2f}" + (" REFUSED" if r["refused"] else "")
    )


def _faces_list(limit: int | None) -> list[tuple[Path, str]]:
    out = []
    folder = faces_dir()
    if folder is not None:
        out += labelled_faces(folder)
    out += [(p, f"sample_{p.parent.name}") for p in sample_faces()]
    if limit and limit < len(out):  # spread over the list (sorted by file: sources differ)
        out = [out[i] for i in np.linspace(0, len(out) - 1, limit).round().astype(int)]
    return out


def run(
    limit: int | None = None,
    seed: int = 0,
    *,
    min_side: int = 0,
    refine: str = "ecc",
    n_turns: int = 2,
    melanin: float = 0.0,
    log=print,
) -> list[dict]:
    """One row per attempted pair: face, person, kind, refused reason (or None), true error
    (mean and max, % IOD), reported residual (% IOD), the map and the points to recompute
    them. With ``melanin``, each before photo's skin is darkened first
    (:func:`_melanin.darker_skin`) and its landmarks found again on the darker photo."""
    rows: list[dict] = []
    yaw_lim = THRESHOLDS["max_yaw_difference_deg"]
    pitch_lim = THRESHOLDS["max_pitch_difference_deg"]
    for n, (path, person) in enumerate(_faces_list(limit)):
        rng = np.random.default_rng([seed, n])
        name = (
            path.name
            if path.parent.parent.name != "sample_images"
            else f"{path.parent.name}/{path.name}"
        )
        try:
            rgb = load_photo(str(path), max_side=2048).rgb
            if max(rgb.shape[:2]) < min_side:
                continue
            lb = detect_landmarks(rgb)
        except MesovisionError as e:
            log(f"{path.name}: not usable ({e})")
            continue
        iod = lb.interocular_px
        if iod < THRESHOLDS["min_interocular_px"]:
            log(f"{path.name}: not usable (interocular distance {iod:.0f} px)")
            continue
        face = region_masks(lb, rgb.shape, rgb=rgb)["face"]
        if melanin:
            rgb = darker_skin(rgb, face, iod, melanin)
            try:
                lb = detect_landmarks(rgb)
            except MesovisionError as e:
                log(f"{path.name}: not usable with darker skin ({e})")
                continue
            iod = lb.interocular_px
            face = region_masks(lb, rgb.shape, rgb=rgb)["face"]
        pts = lb.points[:468]
        sim_in = _random_similarity(rng, rgb.shape[1])
        site = list(CHANGE_SITES)[int(rng.integers(len(CHANGE_SITES)))]
        bruised = local_change(rgb, lb.points, iod, "in-plane+bruise", site)
        cases = [("in-plane", rgb, pts, sim_in, None, None),
                 ("in-plane+bruise", bruised, pts, sim_in, None, site)]  # fmt: skip
        for t in range(n_turns):  # the k-th turn drawn up to k/n_turns of the pose limits
            f = (t + 1) / n_turns
            turn = {"yaw_deg": f * rng.uniform(-yaw_lim, yaw_lim),
                    "pitch_deg": f * rng.uniform(-pitch_lim, pitch_lim)}  # fmt: skip
            turned, q = turn_head(rgb, lb, **turn)
            sim = _random_similarity(rng, rgb.shape[1])
            site = list(CHANGE_SITES)[int(rng.integers(len(CHANGE_SITES)))]
            for kind in KINDS[2:]:
                src = turned if kind == "turn" else local_change(turned, q, iod, kind, site)
                cases.append((kind, src, q[:468], sim, turn, site))
        for kind, src, truth_q, sim, turn, site in cases:
            after, S = apply_similarity(src, **sim)
            after = _jpeg(after)
            truth = truth_q @ S[:2, :2].T + S[:2, 2]
            row = {"face": name, "person": person, "side": max(rgb.shape[:2]), "kind": kind,
                   "iod": iod, "turn": turn, "site": site, "refused": None,
                   "before_pts": lb.points, "truth_after": truth}  # fmt: skip
            if "+" not in kind:
                clean = None
            try:
                la = detect_landmarks(after)
                al = align_faces(rgb, after, lb, la, face_mask=face, refine=refine)
                problems = check_alignment(al, force=True)
            except MesovisionError as e:
                row["refused"] = f"{type(e).__name__}: {e}"
                rows.append(row)
                continue
            if problems:
                row["refused"] = problems[0]
            est = truth @ al.matrix[:2, :2].T + al.matrix[:2, 2]
            err = 100 * np.linalg.norm(est - pts, axis=1) / iod
            if al.flow is not None:  # before px -> after px: compare in the after photo, scaled
                xi = np.clip(np.round(pts).astype(int), 0, [rgb.shape[1] - 1, rgb.shape[0] - 1])
                got = al.flow[xi[:, 1], xi[:, 0]]
                s_ = np.sqrt(abs(np.linalg.det(S[:2, :2])))
                err = 100 * np.linalg.norm(got - truth, axis=1) / s_ / iod
            row |= {"after_pts": la.points, "matrix": al.matrix, "method": al.method,
                    "err_mean": float(err.mean()), "err_max": float(err.max()),
                    "reported": 100 * al.residual_iod,
                    "pose_diff": al.pose_difference(), "warnings": al.warnings}  # fmt: skip
            if "+" not in kind:
                clean = al.matrix
            elif clean is not None:
                d = truth @ (al.matrix - clean)[:2, :2].T + (al.matrix - clean)[:2, 2]
                pull = 100 * np.linalg.norm(d, axis=1) / iod
                row |= {"pull_mean": float(pull.mean()), "pull_max": float(pull.max())}
            rows.append(row)
        done = [r for r in rows if r["face"] == name]
        log(f"{n:3d} {name}: iod {iod:.0f} px; " + ", ".join(map(_row_text, done)))
    return rows


def table(rows: list[dict], out=print) -> None:
    """The summary: per split (held-out, dev, all) and kind."""
    dev, held = split_people({r["person"] for r in rows})
    splits = {"held-out": held, "dev": dev, "all": dev | held}
    large = [r for r in rows if r["side"] >= 300]
    out(f"{'split':9s} {'kind':15s} {'faces':>5s} {'pairs':>5s} {'ref':>4s} {'mean':>6s} "
        f"{'max':>6s} {'maxpt':>6s} {'rep>=mean':>9s} {'rep>=maxpt':>10s} {'pull mean/max':>14s} "
        f"{'rep>=mean(+ref)':>8s}")  # fmt: skip
    for name, people in (*splits.items(), ("all>=300", dev | held)):
        for kind in (*KINDS, "all"):
            sel = [r for r in (large if name == "all>=300" else rows)
                   if r["person"] in people and kind in (r["kind"], "all")]  # fmt: skip
            ok = [r for r in sel if r["refused"] is None]
            if not sel:
                continue
            e = np.array([r["err_mean"] for r in ok]) if ok else np.zeros(0)
            emax = np.array([r["err_max"] for r in ok]) if ok else np.zeros(0)
            rep = np.array([r["reported"] for r in ok]) if ok else np.zeros(0)
            pulls = [r["pull_mean"] for r in ok if "pull_mean" in r]
            pullm = [r["pull_max"] for r in ok if "pull_max" in r]
            pull = f"{np.mean(pulls):.2f}/{np.max(pullm):.2f}" if pulls else "-"
            faces = len({r["face"] for r in sel})
            every = [r for r in sel if "reported" in r]
            rep_all = np.mean([r["reported"] >= r["err_mean"] for r in every]) if every else np.nan
            if len(e):
                out(f"{name:9s} {kind:15s} {faces:5d} {len(ok):5d} {len(sel) - len(ok):4d} "
                    f"{e.mean():6.2f} {e.max():6.2f} {emax.max():6.2f} {np.mean(rep >= e):9.1%} "
                    f"{np.mean(rep >= emax):10.1%} {pull:>14s} {rep_all:8.1%}")  # fmt: skip
    out("all>=300: the photos with a long side of at least 300 px")
    out(
        "true error and pull in % of the interocular distance; mean = mean over pairs of the "
        "pair's mean point error; max = largest pair mean; maxpt = largest point error; "
        "rep>= = share of pairs whose reported residual is at least the true figure; ref = "
        "pairs refused by the alignment's thresholds (left out of the figures but the last "
        "column, the share over every pair, refused ones included)"
    )


def _turn_size(turn: dict) -> float:
    return max(abs(turn["yaw_deg"]), abs(turn["pitch_deg"]))


def by_angle(rows: list[dict], out=print) -> None:
    """True error of the clean turns (every split) against the size of the turn."""
    turns = [r for r in rows if r["kind"] == "turn" and "err_mean" in r]
    out("clean turns by their largest angle (yaw or pitch): pairs, refused, true mean error of "
        "the accepted (mean, max), reported >= true over all")  # fmt: skip
    edges = (0.0, 2.5, 5.0, 7.5, 10.0, 15.01)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = [r for r in turns if lo <= _turn_size(r["turn"]) < hi]
        if not sel:
            continue
        ok = [r["err_mean"] for r in sel if r["refused"] is None]
        rep = np.mean([r["reported"] >= r["err_mean"] for r in sel])
        e = f"{np.mean(ok):5.2f} {np.max(ok):5.2f}" if ok else "    -     -"
        size = f"{lo:4.1f}-{min(hi, 15):4.1f} deg"
        out(f"  {size}: {len(sel):4d} {len(sel) - len(ok):4d}  {e}  {rep:6.1%}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="only N faces, spread over the list")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--turns",
        type=int,
        default=2,
        help="head turns per face (k-th up to k/N of the pose limits)",
    )
    ap.add_argument("--refine", default="ecc", help="align_faces' refinement (ecc, none, mesh)")
    ap.add_argument("--min-side", type=int, default=0, help="leave out photos smaller than this")
    ap.add_argument("--save", type=Path, default=None, help="write the rows (pickle)")
    ap.add_argument("--load", type=Path, default=None, help="print the tables of saved rows")
    ap.add_argument(
        "--melanin",
        type=float,
        default=0.0,
        help="darken each before photo's skin by melanin of this optical density first",
    )
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if faces_dir() is None:
        print(
            "../shared/faces not found (set MESOVISION_FACES); sample faces only", file=sys.stderr
        )
    t0 = time.perf_counter()
    if args.load:
        import pickle

        rows = pickle.loads(args.load.read_bytes())
        table(rows)
        by_angle(rows)
        return 0
    rows = run(
        args.limit,
        args.seed,
        min_side=args.min_side,
        refine=args.refine,
        n_turns=args.turns,
        melanin=args.melanin,
        log=(lambda *a: None) if args.quiet else print,
    )
    if args.save:
        import pickle

        args.save.write_bytes(pickle.dumps(rows))
    refused = [r for r in rows if r["refused"]]
    for r in refused:
        print(f"refused: {r['face']} {r['kind']}: {r['refused']}")
    table(rows)
    by_angle(rows)
    print(f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
