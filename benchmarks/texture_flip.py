"""How far fine-line and pore candidates move between two captures, and whether the flip term
predicts how far a region's count moves.

The flip variance of the fine-line and pore densities (:mod:`mesovision.metrics._texture_flip`)
needs the spread between captures of each tested quantity of a candidate: its peak response
and its log area. Every photo of the chosen half of the people (``_faces.split_people``; the
development half by default) is put on its scoring frame as a comparison would (the face
resampled to ``SCORE_IOD_SHARE`` of its interocular distance, at most ``SCORE_MAX_IOD_PX``),
and recaptured ``--recaptures`` times (``spot_flip._recapture``: pose, scale, focus, JPEG
60-95, the lighting a normalization leaves), each put on its own scoring frame at the same face
scale. The candidates of both (components of the response over ``--share`` x the threshold)
are matched through the known transform (the recapture's labels carried back, nearest
neighbour; mutual largest overlap), and the robust spread (``MAD_TO_SD x MAD``) of the matched
candidates' differences is printed in the units of the spread model (the peak's relative to
the peak, the log area's times the square root of the area), by area: the constants
``*_FLIP_REL_PEAK`` and ``*_FLIP_LOG_AREA``.

Then the checks: predicted ``P`` against the share of candidates the recapture counts (in bins
of ``P``); detections that split in two or merge between captures; and per facial region, the
observed count change against its predicted standard deviation (the root of the two photos'
summed flip variances), by the region's count, for faces of at least 75 px between the eyes
in the scoring frame (where texture is tested) and apart for the smaller ones.

    python benchmarks/texture_flip.py --detector lines|pores [--half dev] [--recaptures 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faces import half_photos, recapture_arguments  # noqa: E402


def detector(name: str) -> dict:
    """The response map, limits and spreads of ``lines`` or ``pores``."""
    from mesovision.metrics import _texture_flip as tf
    from mesovision.metrics import texture

    if name == "lines":
        return {
            "map": "ridge",
            "flip": "line_flip",
            "rel_peak": tf.LINE_FLIP_REL_PEAK,
            "log_area": tf.LINE_FLIP_LOG_AREA,
            **texture.LINE_LIMITS,
        }
    return {
        "map": "pore_response",
        "flip": "pore_flip",
        "rel_peak": tf.PORE_FLIP_REL_PEAK,
        "log_area": tf.PORE_FLIP_LOG_AREA,
        **texture.PORE_LIMITS,
    }


def scoring_copy(rgb, lm, k):
    """``(image, landmarks, frame)`` of a working copy on its scoring frame at scale ``k``."""
    from mesovision.scoring_frame import frame_matrix, scaled_landmarks, score_box, to_scoring

    box = score_box(lm, None, rgb.shape)
    img = to_scoring(rgb, k, box)
    fr = frame_matrix(k, box)
    return img, scaled_landmarks(lm, fr, k, img.shape), fr


def counted(stats, det) -> np.ndarray:
    """Whether each candidate passes the detector's tests as it stands."""
    lo, hi = det["area_range"]
    ok = (stats["area"] >= lo) & (stats["peak"] > det["threshold"])
    if hi is not None:
        ok &= stats["area"] <= hi
    ok[0] = False
    return ok


def match(lab_b, lab_a_back, ok_b, ok_a):
    """Mutual largest-overlap matches ``(i, j)`` of before labels and carried-back after
    labels, and per before label the number of counted after labels it overlaps by >= 2 px
    (and per after label, of counted before labels): splits and merges."""
    nb, na = ok_b.size, ok_a.size
    both = (lab_b > 0) & (lab_a_back > 0)
    key = lab_b[both].astype(np.int64) * na + lab_a_back[both]
    keys, cnt = np.unique(key, return_counts=True)
    i, j = keys // na, keys % na
    best_a = np.full(nb, -1)
    best_b = np.full(na, -1)
    for arr, src, dst in ((best_a, i, j), (best_b, j, i)):
        order = np.lexsort((cnt, src))  # within each source, the largest overlap last
        arr[src[order]] = dst[order]
    mi = np.flatnonzero(best_a >= 0)
    mj = best_a[mi]
    keep = best_b[mj] == mi
    big = (cnt >= 2) & ok_b[i] & ok_a[j]
    return mi[keep], mj[keep], np.bincount(i[big], minlength=nb), np.bincount(j[big], minlength=na)


def region_counts(maps, masks, det) -> dict[str, tuple[int, float, int]]:
    """``{region: (count, flip variance, pixels)}`` as the texture metrics count."""
    from mesovision.metrics._shapes import component_areas

    r0, r1, c0, c1 = maps.window
    binary = maps.maps[det["map"]] > np.float32(det["threshold"])
    lo, hi = det["area_range"]
    out = {}
    for r, m in masks.items():
        inner = m[r0:r1, c0:c1]
        _, _, areas = component_areas(binary & inner)
        a = areas[1:]
        n = int(np.sum((a >= lo) & (a <= hi))) if hi is not None else int(np.sum(a >= lo))
        out[r] = (n, maps.total(det["flip"], m), int(np.count_nonzero(m)))
    return out


def one_pair(rgb, lm, rng, det, share, acc) -> None:
    """Score a photo and one recapture; add to ``acc``."""
    from spot_flip import _recapture

    from mesovision.metrics import prepare
    from mesovision.metrics._spot_flip import detection_probability
    from mesovision.metrics._texture_flip import candidate_margins, candidate_stats
    from mesovision.regions import region_masks
    from mesovision.scoring import SCORE_IOD_SHARE, SCORE_MAX_IOD_PX
    from mesovision.scoring_frame import warp_mask

    iod = lm.interocular_px
    k = min(SCORE_MAX_IOD_PX, SCORE_IOD_SHARE * iod) / iod
    before, lm_b, fr_b = scoring_copy(rgb, lm, k)
    reg_b = region_masks(lm_b, before.shape, rgb=before)
    img, m = _recapture(rgb, rng)
    s = float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))
    pts = cv2.perspectiveTransform(lm.points.reshape(-1, 1, 2), m).reshape(-1, 2)
    after, _, fr_a = scoring_copy(img, dataclasses.replace(lm, points=pts), k / s)
    t = fr_a @ m @ np.linalg.inv(fr_b)  # before scoring pixels -> after scoring pixels
    reg_a = {r: warp_mask(v, t, after.shape) for r, v in reg_b.items()}
    if not reg_a["face"].any():
        return
    maps = [prepare(before, roi_mask=reg_b["face"]), prepare(after, roi_mask=reg_a["face"])]
    lim = {"area_range": det["area_range"], "rel_peak": det["rel_peak"]}
    lim["log_area"] = det["log_area"]
    st, p, ok = [], [], []
    for mp in maps:
        s_ = candidate_stats(mp.maps[det["map"]], det["threshold"], share=share)
        st.append(s_)
        p.append(detection_probability(candidate_margins(s_, threshold=det["threshold"], **lim)))
        ok.append(counted(s_, det))
    # the after labels carried back onto the before crop
    (a0, _, c0a, _), (b0, b1, c0b, c1b) = maps[1].window, maps[0].window
    shift = np.array([[1, 0, c0a], [0, 1, a0], [0, 0, 1.0]])
    back = np.linalg.inv(shift) @ t @ np.array([[1, 0, c0b], [0, 1, b0], [0, 0, 1.0]])
    lab_a = cv2.warpPerspective(
        st[1]["labels"].astype(np.float32),
        back,
        (c1b - c0b, b1 - b0),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        borderValue=0,
    ).astype(np.int64)
    nb = st[0]["peak"].size
    face = reg_b["face"][b0:b1, c0b:c1b]
    in_face = np.bincount(st[0]["labels"][face], minlength=nb) > 0
    in_face[0] = False
    i, j, split_b, merge_a = match(st[0]["labels"], lab_a, ok[0] & in_face, ok[1])
    sel = in_face[i]
    i, j = i[sel], j[sel]
    acc.setdefault("peak0", []).append(st[0]["peak"][i])
    acc.setdefault("dpeak", []).append(st[1]["peak"][j] - st[0]["peak"][i])
    acc.setdefault("area0", []).append(st[0]["area"][i])
    acc.setdefault("area1", []).append(st[1]["area"][j])
    # reliability: every before candidate in the face, counted again or not
    found = np.zeros(nb, bool)
    found[i] = ok[1][j]
    acc.setdefault("p", []).append(p[0][in_face])
    acc.setdefault("found", []).append(found[in_face])
    acc.setdefault("counted0", []).append(ok[0][in_face])
    # splits and merges among the counted detections
    cnt_b = ok[0] & in_face
    acc.setdefault("split", []).append(split_b[cnt_b])
    acc.setdefault("area_c", []).append(st[0]["area"][cnt_b])
    acc.setdefault("merge", []).append(merge_a[ok[1]])
    acc.setdefault("area_m", []).append(st[1]["area"][ok[1]])
    rb, ra = region_counts(maps[0], reg_b, det), region_counts(maps[1], reg_a, det)
    iod_s = iod * k
    for r in reg_b:
        if r not in ra or rb[r][2] < 100:
            continue
        acc.setdefault("regions", []).append(
            (iod_s, rb[r][0], ra[r][0], rb[r][1] + ra[r][1], rb[r][2])
        )


def main(argv=None) -> int:
    from mesovision.errors import MesovisionError
    from mesovision.io import load_photo
    from mesovision.landmarks import detect_landmarks

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detector", choices=("lines", "pores"), default="lines")
    recapture_arguments(ap)
    ap.add_argument("--share", type=float, default=None, help="candidate threshold share")
    args = ap.parse_args(argv)
    from mesovision.metrics._texture_flip import FLIP_CANDIDATE_SHARE

    share = FLIP_CANDIDATE_SHARE if args.share is None else args.share
    rows = half_photos(args.half, args.photos)
    if rows is None:
        print("../shared/faces not found", file=sys.stderr)
        return 2
    chosen, people = [p for p, _ in rows], {q for _, q in rows}
    det = detector(args.detector)
    acc: dict[str, list] = {}
    for n, path in enumerate(chosen):
        try:
            rgb = load_photo(path).rgb
            lm = detect_landmarks(rgb)
        except MesovisionError as e:
            print(f"{path.name}: {e}", file=sys.stderr)
            continue
        rng = np.random.default_rng(7000 + n)
        for _ in range(args.recaptures):
            one_pair(rgb, lm, rng, det, share, acc)
    d = {k: np.concatenate(v) if k != "regions" else np.array(v) for k, v in acc.items()}
    print(
        f"{args.detector}: {len(chosen)} photos of the {args.half} half ({len(people)} people), "
        f"{args.recaptures} recaptures each; candidates over {share:g} x the threshold"
    )
    report(d, det)
    return 0


def wide_sd(x: np.ndarray) -> float:
    """The standard deviation of a normal with the 5-95 % range of ``x`` (NaN if empty): the
    spread its tails, where the flips happen, give."""
    if x.size == 0:
        return float("nan")
    lo, hi = np.quantile(x, [0.05, 0.95])
    return float((hi - lo) / 3.2897)


def report(d: dict[str, np.ndarray], det: dict) -> None:
    """Print the spreads and the checks."""
    from mesovision.noise import robust_sd

    a0 = d["area0"]
    both = (a0 >= 1) & (d["area1"] >= 1)
    rel = d["dpeak"] / np.maximum(d["peak0"], 1e-6)
    la = np.log(np.maximum(d["area1"], 0.5)) - np.log(np.maximum(a0, 0.5))
    bins = ((1, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 10**6))
    print(f"\n{a0.size} matched candidates ({int(both.sum())} with an area in both)")
    print("robust sd of the difference between captures, by area (px):")
    print("| quantity | all | " + " | ".join(f"{lo}-{hi}" for lo, hi in bins) + " |")
    print("| --- | --- |" + " --- |" * len(bins))
    rows = {
        "peak / peak (REL_PEAK)": rel,
        "peak (absolute)": d["dpeak"],
        "log area x sqrt(area) (LOG_AREA)": la * np.sqrt(np.maximum(a0, 0.5)),
    }
    for name, x in rows.items():
        for how, f in (("MAD", robust_sd), ("5-95 %", wide_sd)):
            cells = [f"{f(x[both & (a0 >= lo) & (a0 < hi)]):.3f}" for lo, hi in bins]
            print(f"| {name}, {how} | {f(x[both]):.3f} | " + " | ".join(cells) + " |")
    cnt = [int(np.sum(both & (a0 >= lo) & (a0 < hi))) for lo, hi in bins]
    print(f"| candidates | {int(both.sum())} | " + " | ".join(map(str, cnt)) + " |")
    pk = np.quantile(d["peak0"][both], [0, 0.25, 0.5, 0.75, 1.0])
    print("\nrelative peak spread by peak quartile:")
    for lo, hi in zip(pk[:-1], pk[1:], strict=True):
        s = both & (d["peak0"] >= lo) & (d["peak0"] <= hi)
        print(f"  peak {lo:.2f}-{hi:.2f}: {robust_sd(rel[s]):.3f} ({int(s.sum())})")
    p, found = d["p"], d["found"]
    print("\npredicted P against the share the recapture counts (candidates in the face):")
    print("| P | candidates | counted now | counted again |")
    print("| --- | --- | --- | --- |")
    for lo, hi in ((0, 0.02), (0.02, 0.2), (0.2, 0.5), (0.5, 0.8), (0.8, 0.98), (0.98, 1.01)):
        s = (p >= lo) & (p < hi)
        if s.any():
            print(
                f"| {lo:.2f}-{hi:.2f} | {int(s.sum())} | {d['counted0'][s].mean():.3f} "
                f"| {found[s].mean():.3f} |"
            )
    sp, mg = d["split"], d["merge"]
    print(
        f"\ncounted detections: {sp.size}; overlapping 2+ counted recapture detections "
        f"(split): {np.mean(sp >= 2):.4f}; overlapping none: {np.mean(sp == 0):.3f}; "
        f"recapture detections overlapping 2+ counted ones (merged): {np.mean(mg >= 2):.4f} "
        f"of {mg.size}"
    )
    a, am = d["area_c"], d["area_m"]
    ev, evm = np.maximum(sp - 1, 0), np.maximum(mg - 1, 0)
    print("split and merge events per pixel of the detections (half: one photo's SPLIT_PER_PX)")
    for lo, hi in ((1, 24), (24, 48), (48, 96), (96, 192), (192, 10**6), (1, 10**6)):
        s, t = (a >= lo) & (a < hi), (am >= lo) & (am < hi)
        if s.any():
            rate = (ev[s].sum() + evm[t].sum()) / max(a[s].sum(), 1)
            print(
                f"  area {lo}-{hi} px: {int(s.sum())} detections, split {np.mean(sp[s] >= 2):.4f}"
                f", merged {np.mean(mg[t] >= 2):.4f}; events per px {rate:.5f}"
            )
    regions_report(d["regions"])


def regions_report(reg: np.ndarray) -> None:
    """Observed count change against the predicted SD, per region."""
    print("\nper region: observed count change against the predicted SD (flip) and Poisson")
    print(
        "| faces | count (before) | regions | RMS observed | RMS predicted | RMS Poisson "
        "| share |obs|/pred > 1.96 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, big in (("iod >= 75 px", reg[:, 0] >= 75), ("iod < 75 px", reg[:, 0] < 75)):
        for lo, hi in ((0, 3), (3, 10), (10, 30), (30, 10**6), (0, 10**6)):
            s = big & (reg[:, 1] >= lo) & (reg[:, 1] < hi)
            if not s.any():
                continue
            obs = reg[s, 2] - reg[s, 1]
            pred = np.sqrt(reg[s, 3])
            poisson = np.sqrt(np.maximum(reg[s, 1] + reg[s, 2], 1))
            z = np.abs(obs) / np.maximum(pred, 1e-9)
            print(
                f"| {label} | {lo}-{hi if hi < 10**6 else 'up'} | {int(s.sum())} "
                f"| {np.sqrt(np.mean(obs**2)):.2f} | {np.sqrt(np.mean(pred**2)):.2f} "
                f"| {np.sqrt(np.mean(poisson**2)):.2f} | {np.mean(z > 1.96):.3f} |"
            )


if __name__ == "__main__":
    sys.exit(main())
