"""Validation of the frontal hairline (mesovision.hairline) on the real faces (docs/hair.md).

The single-face photos of ``../shared/faces`` (or ``$MESOVISION_FACES``; working copies of at
most 1024 px) are measured as they are and after known changes
(:mod:`mesovision.testing.hairline`), each change followed by a recapture (scale, rotation,
light, noise, JPEG; the face mesh found again on the recaptured photo):

* ``null``: recaptures of the unchanged photo (seeds 1 and 2; ``--null-seeds N``: 1 to N);
* ``recede +3``, ``+6``, ``+10``: the hairline moved up by 3, 6, 10 % IOD;
* ``advance -6``: moved down by 6 % IOD.

Per site, the change (after - before) is compared with the truth; a site counts when the
photo's own hairline there was measured and lies above the stretched band of the warp. Reported
per kind: photos, sites, sites with an ambiguous boundary in either photo (a wide standard error
or not measured), mean error and median absolute error (% IOD), the share of sites whose
change was called significant (FDR 5 % over the five sites, :func:`mesovision.hairline.
hairline_changes`) with the right sign, and for ``null`` the share called significant at all.
For ``null``, the SD and the robust SD (1.4826 MAD) of the change and of its z (a calibrated
standard error gives a z with an SD of 1), and the pairs with a site called significant, and
with two or more (an error shared by the sites, such as the eyes' line found elsewhere, tips
several at once); the share of sites called, with its 95 % interval when the people are
resampled (``_stats.cluster_interval``: a person's sites are not independent). The people are
split by ``_faces.split_people`` (held out: ``_faces.HELD_OUT_PEOPLE``): the thresholds, the
frame's outlier limit, the frame term's share and the capture term were chosen on development
people (``--tune`` prints the grid), ``held-out`` is the result to publish.

``--melanin OD`` darkens each photo's skin up to the hair first (:func:`_melanin.
darker_forehead`): the same people with darker skin.

    python benchmarks/hair.py hairline                   # held-out people
    python benchmarks/hair.py hairline --split dev --tune
    python benchmarks/hair.py hairline --melanin 0.6     # darker skin

Runs in about three minutes on two cores (``--split dev --null-seeds 40``: four).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

import numpy as np

KINDS = {"null": 0.0, "recede +3": 3.0, "recede +6": 6.0, "recede +10": 10.0, "advance -6": -6.0}
GRID = {"DE_MIN": (6.0, 8.0, 12.0), "DE_K": (3.0, 4.0, 6.0), "RUN_IOD": (0.05, 0.08, 0.12)}


def _photos(folder: Path, split: str, melanin: float = 0.0):
    """``[(file, person, rgb)]`` of the split's single-face photos (``_faces.split_people``);
    with ``melanin``, each photo's skin up to the hair darkened (:func:`_melanin.
    darker_forehead`; photos without a face mesh left as they are)."""
    from _faces import labelled_faces, split_people

    from mesovision.io import load_photo

    faces = labelled_faces(folder)
    dev, held = split_people(p for _, p in faces)
    keep = dev if split == "dev" else held
    out = [
        (path.name, person, load_photo(path, max_side=1024).rgb)
        for path, person in faces
        if person in keep
    ]
    return [(f, person, _darker(rgb, melanin)) for f, person, rgb in out] if melanin else out


def _darker(rgb: np.ndarray, melanin: float) -> np.ndarray:
    from _melanin import darker_forehead

    from mesovision.errors import MesovisionError
    from mesovision.landmarks import detect_landmarks

    try:
        lm = detect_landmarks(rgb)
    except MesovisionError:
        return rgb
    return darker_forehead(rgb, lm, melanin)


def _variants(photos, null_seeds: int = 2):
    """Each photo's landmarks and its changed, recaptured versions with theirs (``None`` where no
    face is found): ``[(file, person, (rgb, lm), {(kind, seed): (rgb, lm)})]``; ``null_seeds``
    recaptures of the unchanged photo (seeds 1, 2, ...), one of each move."""
    from mesovision.errors import MesovisionError
    from mesovision.landmarks import detect_landmarks
    from mesovision.testing.hairline import move_hairline, recapture

    def lm_of(img):
        try:
            return detect_landmarks(img)
        except MesovisionError:
            return None

    out = []
    for i, (f, person, rgb) in enumerate(photos):
        lm = lm_of(rgb)
        if lm is None:
            continue
        var = {}
        for kind, delta in KINDS.items():
            for seed in range(1, null_seeds + 1) if kind == "null" else (1,):
                moved = move_hairline(rgb, lm, delta) if delta else rgb
                img = recapture(moved, 1000 * i + 10 * seed + int(delta))
                var[(kind, seed)] = (img, lm_of(img))
        out.append((f, person, (rgb, lm), var))
        print(f"  {f}", file=sys.stderr)
    return out


def evaluate(data) -> dict[str, dict[str, list]]:
    """``{kind: {"err": [...], "sig": [...], "photos": set(), "delta": [...], "ambiguous": n,
    "called": [...]}}`` with the module's settings; ``ambiguous`` counts the sites with an
    ambiguous boundary in either photo (:func:`mesovision.hairline.measure_hairline`'s note: a
    wide standard error, or not measured); ``called`` holds each pair's number of counted sites
    called significant (either sign: several at once on a null pair is a shared error) and
    ``who`` each counted site's person."""
    from mesovision.hairline import measure_hairline

    res = {
        k: {
            "err": [],
            "sig": [],
            "photos": set(),
            "delta": [],
            "ambiguous": 0,
            "called": [],
            "z": [],
            "who": [],
        }
        for k in KINDS
    }
    for f, person, (rgb, lm), var in data:
        h0 = measure_hairline(rgb, lm)
        for (kind, _seed), (img, lm1) in var.items():
            if lm1 is not None:
                _count(res[kind], (f, person), KINDS[kind], h0, measure_hairline(img, lm1))
    return res


def _count(r: dict, photo: tuple[str, str], truth: float, h0, h1) -> None:
    """Adds the sites of one pair (``h0`` the unchanged photo, ``h1`` the changed one; ``photo``
    its file and person) to ``r``: a site counts when ``h0``'s hairline there lies above the
    warp's stretched band and both photos measured it; it counts as ambiguous when either
    photo's note says so."""
    from mesovision.hairline import hairline_changes
    from mesovision.testing.hairline import valid_site

    ch = hairline_changes(h0, h1)
    called = 0
    for site, v in h0.sites.items():
        c = ch[site]["hair.hairline_iod_pct"]
        valid = valid_site(v, h0.brow_iod, truth)
        if _ambiguous(h0, site) or (valid and _ambiguous(h1, site)):
            r["ambiguous"] += 1
        if not valid or not np.isfinite(c["delta"]):
            continue
        r["err"].append(c["delta"] - truth)
        r["delta"].append(c["delta"])
        r["z"].append(c["z"])
        right = c["significant"] and (truth == 0 or np.sign(c["delta"]) == np.sign(truth))
        r["sig"].append(bool(right))
        r["photos"].add(photo[0])
        r["who"].append(photo[1])
        called += bool(c["significant"])
    r["called"].append(called)


def _ambiguous(h, site: str) -> bool:
    return h.notes.get(site, "").startswith("ambiguous")


def table(res) -> list[str]:
    lines = [
        "| change | photos | sites | ambiguous | mean error, % IOD | "
        "median abs. error, % IOD | significant (right sign) |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, r in res.items():
        e = np.asarray(r["err"])
        if e.size == 0:
            lines.append(f"| {kind} | 0 | 0 | {r['ambiguous']} | NaN | NaN | NaN |")
            continue
        lines.append(
            f"| {kind} | {len(r['photos'])} | {e.size} | {r['ambiguous']} | {e.mean():+.2f} | "
            f"{np.median(np.abs(e)):.2f} | {100 * np.mean(r['sig']):.1f} % |"
        )
    return lines


def _tune(data) -> None:
    import mesovision.hairline as H

    print("| DE_MIN | DE_K | RUN_IOD | null sd | recession MAE | detected +6 | false null |")
    for values in itertools.product(*GRID.values()):
        for k, v in zip(GRID, values, strict=True):
            setattr(H, k, v)
        res = evaluate(data)
        null = np.asarray(res["null"]["err"])
        moved = np.concatenate([np.asarray(res[k]["err"]) for k in KINDS if k != "null"])
        print(
            f"| {values[0]} | {values[1]} | {values[2]} | {null.std():.2f} | "
            f"{np.median(np.abs(moved)):.2f} | {100 * np.mean(res['recede +6']['sig']):.0f} % | "
            f"{100 * np.mean(res['null']['sig']):.0f} % |"
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("dev", "held-out"), default="held-out")
    ap.add_argument("--tune", action="store_true", help="print the settings grid (dev only)")
    ap.add_argument(
        "--null-seeds", type=int, default=2, metavar="N",
        help="recaptures of each unchanged photo (seeds 1..N; default 2)",
    )  # fmt: skip
    ap.add_argument(
        "--melanin", type=float, default=0.0, metavar="OD",
        help="darken each photo's skin up to the hair first by melanin of this optical density "
        "at the red channel (benchmarks/_melanin.py)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    from _faces import faces_dir

    folder = faces_dir()
    if folder is None:
        print("hairline: no ../shared/faces (set MESOVISION_FACES)", file=sys.stderr)
        return 2
    if not 1 <= args.null_seeds <= 99:
        ap.error("--null-seeds: 1 to 99")
    data = _variants(_photos(folder, args.split, args.melanin), args.null_seeds)
    people = sorted({p for _, p, _, _ in data})
    print(f"{args.split}: {len(data)} photos of {len(people)} people with a face found")
    if args.tune:
        _tune(data)
        return 0
    res = evaluate(data)
    print("\n".join(table(res)))
    null = np.asarray(res["null"]["err"])
    if null.size:
        from mesovision.noise import robust_sd

        called = np.asarray(res["null"]["called"])
        print(f"null: sd of the change {null.std(ddof=1):.2f} % IOD (robust "
              f"{robust_sd(null):.2f}) over {null.size} sites; {called.size} pairs, "
              f"{np.sum(called >= 1)} with a site called significant, "
              f"{np.sum(called >= 2)} with two or more")  # fmt: skip
        z = np.asarray(res["null"]["z"], float)
        print(f"null: z of the change sd {z.std(ddof=1):.2f} (robust {robust_sd(z):.2f}); median "
              f"standard error {np.median(null / z):.2f} % IOD")  # fmt: skip
        from _stats import cluster_interval

        who = res["null"]["who"]
        low, high = cluster_interval(res["null"]["sig"], who)
        print(f"null: {100 * np.mean(res['null']['sig']):.1f} % of the sites called significant "
              f"(95 % interval {100 * low:.1f}-{100 * high:.1f} over the {len(set(who))} "
              f"people resampled)")  # fmt: skip
    return 0 if all(math.isfinite(np.mean(r["err"] or [0.0])) for r in res.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
