"""How much of a region's skin the ordinary comparisons lose to clipping (``docs/method.md``,
"Clipped skin"): the calibration's null pairs (``calibration.py run``: each photo and three
ordinary recaptures, the same seeds) and the validation's injected, null and real pairs
(``validation.py``: the same seeds, injections and recaptures; a refused real pair forced, as
there), each pair taken through the comparison's own first stages (alignment, scoring plan,
lighting fit, scoring copies, region masks; :mod:`mesovision.clipping`), nothing scored.

    python benchmarks/clipping.py calibration cal.json   # ~1 min on 2 cores
    python benchmarks/clipping.py validation val.json    # ~12 min

Prints, per kind of pair, the largest share of a region left out as clipped (``lost``) and the
largest rise of a region's own clipped share from the before to the after photo.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
TREATED = ("left_cheek", "right_cheek", "forehead", "chin")


def shares(before, after, treated=(), force=False) -> dict[str, tuple[float, float, float]]:
    """``{region: (clipped in the before photo, in the after photo, lost)}`` of one pair."""
    from mesovision import scoring as sc
    from mesovision.clipping import clipped_shares
    from mesovision.pipeline import align_pair

    pair = align_pair(str(before), str(after), threads=1, force=force)
    plan = sc.plan_scoring(
        pair, lighting="reference", treated=treated, metrics=None, px_per_mm_at_before=None
    )
    cp = sc.scoring_copies(plan)
    lres = sc.fit_lighting(plan)
    reg_b = sc.regions_in(
        cp.raw_b, pair.before_landmarks, plan.frame_b, plan.kb, pair.measured, plan.box_b
    )
    reg_a = sc.after_in(plan, plan.box_a, lres, cp.raw_a, cp.raw_b)[2]
    b = clipped_shares(reg_b, cp.own_clip_b, cp.clip_b)
    a = clipped_shares(reg_a, cp.own_clip_a, cp.clip_a)
    return {r: (b[r]["own"], a[r]["own"], max(b[r]["lost"], a[r]["lost"])) for r in b if r in a}


def calibration_rows() -> list[dict]:
    import calibration as cal
    from _melanin import darker_photo

    from mesovision.errors import MesovisionError

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (path, person) in enumerate(cal.photos(3)):
            try:
                path, rgb = darker_photo(path, 0.0, tmp)
            except MesovisionError:
                continue
            rng = np.random.default_rng(1000 + i)
            for k in range(3):
                img, quality = cal.ordinary_recapture(rgb, rng)
                after = Path(tmp) / f"{i}_{k}.jpg"
                after.write_bytes(cal._jpeg_bytes(img, quality))
                try:
                    rows.append(
                        {"pair": f"null {person}/{path.name}#{k}", "shares": shares(path, after)}
                    )
                except MesovisionError:
                    continue
    return rows


def _face_rows(p: Path, name: str) -> list[dict]:
    import _inject
    import validation as v

    from mesovision.errors import MesovisionError
    from mesovision.io import load_photo
    from mesovision.landmarks import detect_landmarks
    from mesovision.regions import region_masks

    rng = np.random.default_rng([v.DEFAULT_SEED, zlib.crc32(name.encode())])
    try:
        rgb = load_photo(p).rgb
        lm = detect_landmarks(rgb)
    except MesovisionError:
        return []
    regions, iod = region_masks(lm, rgb.shape, rgb=rgb), float(lm.interocular_px)
    d = v.OPTION_DEFAULTS
    plan = v._plan_levels(rng, d["injected"])
    keys = [("inject", k) for k in range(d["injected"])] + [("null", k) for k in range(d["nulls"])]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, k in keys:
            img, treated = rgb, TREATED
            if kind == "inject":
                try:
                    levels = {f: plan[f][k] for f in v.LEVELS}
                    img, _, _, treated = v.inject_all(rgb, regions, iod, rng, levels)
                except ValueError:
                    continue
            after_img, _, quality = _inject.recapture(img, rng)
            after = v._save_jpeg(after_img, Path(tmp) / f"{kind}{k}.jpg", quality)
            try:
                rows.append({"pair": f"{kind} {name}#{k}", "shares": shares(p, after, treated)})
            except MesovisionError:
                continue
    return rows


def validation_rows() -> list[dict]:
    import validation as v

    from mesovision.errors import MesovisionError

    photos, faces, _ = v.collect(False)
    rows = []
    for p, person in photos:
        sample = p.parent.parent == v.REPO / "sample_images"
        rows += _face_rows(p, f"{person}/{p.name}" if sample else p.name)
    by_person: dict[str, list[Path]] = {}
    for p, q in faces:
        by_person.setdefault(q, []).append(p)
    for q in sorted(by_person):
        for a, b in itertools.combinations(sorted(by_person[q]), 2):
            for force in (False, True):  # a refused pair is forced, as validation.py does
                try:
                    rows.append(
                        {"pair": f"real {a.name} {b.name}", "shares": shares(a, b, (), force)}
                    )
                    break
                except MesovisionError:
                    continue
    return rows


def summary(rows: list[dict]) -> None:
    kinds: dict[str, dict] = {}
    for r in rows:
        cur = kinds.setdefault(r["pair"].split()[0], {"pairs": 0, "lost": (0.0,), "rise": (0.0,)})
        cur["pairs"] += 1
        for reg, (b, a, lost) in r["shares"].items():
            if lost > cur["lost"][0]:
                cur["lost"] = (lost, r["pair"], reg)
            if a - b > cur["rise"][0]:
                cur["rise"] = (round(a - b, 4), r["pair"], reg)
    for k, c in kinds.items():
        print(f"{k}: {c['pairs']} pairs; largest share lost {c['lost']}; largest rise {c['rise']}")


def main(argv: list[str]) -> int:
    logging.getLogger("mesovision").setLevel(logging.ERROR)
    which, out = argv
    rows = calibration_rows() if which == "calibration" else validation_rows()
    Path(out).write_text(json.dumps(rows))
    summary(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
