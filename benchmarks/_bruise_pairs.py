"""The bruise detector as a comparison reads it: a photo compared with recaptures of itself.

``compare`` does not segment each photo alone: it makes the two photos' bruise maps agree
(``mesovision.paired_bruises``), after the alignment and the lighting normalization. So a rule
that leaves clean single photos clean can still read skin of a comparison's photos as bruised.
Each photo is compared (``align_pair`` then ``compare_pair``, the bruised area only) with
``n`` seeded recaptures of itself, drawn as the calibration's ordinary null pairs are
(``benchmarks/calibration.py``: pose, lamp, focus, JPEG quality 60-95; no skin change). Per
pair: the largest bruised area over the facial regions (``face`` left out) in either photo,
and the significant bruise changes (all false).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: A pair reads a false bruise when some region of either photo is at least this bruised (%).
PAIR_FALSE_PCT = 1.0
BRUISE_METRIC = "bruise.area_pct"


@dataclass
class PairReading:
    """One null pair: the largest false bruised area of a region (%) and the significant
    bruise changes."""

    worst_pct: float
    significant: int


def null_pairs(path: Path, n: int, seed: int) -> list[PairReading]:
    """``n`` null pairs of the photo at ``path`` (those the alignment refuses are left out)."""
    from calibration import _jpeg_bytes, ordinary_recapture

    from mesovision.compare import compare_pair
    from mesovision.errors import MesovisionError
    from mesovision.io import load_photo
    from mesovision.pipeline import align_pair

    rgb = load_photo(path).rgb
    rng = np.random.default_rng(seed)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(n):
            after = Path(tmp) / f"{k}.jpg"
            after.write_bytes(_jpeg_bytes(*ordinary_recapture(rgb, rng)))
            try:
                cmp = compare_pair(align_pair(str(path), str(after)), metrics=[BRUISE_METRIC])
            except MesovisionError:
                continue
            worst = max(
                (
                    max(ch[BRUISE_METRIC].before, ch[BRUISE_METRIC].after)
                    for region, ch in cmp.changes.items()
                    if region != "face" and BRUISE_METRIC in ch
                ),
                default=0.0,
            )
            out.append(PairReading(float(worst), len(cmp.significant())))
    return out


def summarize_pairs(readings: list[list[PairReading]]) -> dict:
    """Per photo (a list of its pairs): the share of photos none of whose pairs reads a false
    bruise, the pairs that do, and the significant changes per pair."""
    photos = [r for r in readings if r]
    pairs = [p for r in photos for p in r]
    clean = [r for r in photos if all(p.worst_pct < PAIR_FALSE_PCT for p in r)]
    return {
        "n_photos": len(photos),
        "n_pairs": len(pairs),
        "clean_share": len(clean) / len(photos) if photos else float("nan"),
        "false_pairs": sum(p.worst_pct >= PAIR_FALSE_PCT for p in pairs),
        "significant": sum(p.significant for p in pairs),
    }
