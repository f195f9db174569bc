"""The bruise detector as a comparison reads it: a photo compared with recaptures of itself, and
with recaptures of itself with a bruise painted on.

``compare`` does not segment each photo alone: it makes the two photos' bruise maps agree
(``mesovision.paired_bruises``), after the alignment and the lighting normalization. So a rule
that leaves clean single photos clean can still read skin of a comparison's photos as bruised.
Each photo is compared (``align_pair`` then ``compare_pair``, the bruised area only) with
``n`` seeded recaptures of itself, drawn as the calibration's ordinary null pairs are
(``benchmarks/calibration.py``: pose, lamp, focus, JPEG quality 60-95; no skin change). Per
pair: the largest bruised area over the facial regions (``face`` left out) in either photo,
and the significant bruise changes (all false).

:func:`injected_pairs` paints a bruise on the photo first (in a random region, the region
declared treated) and reads it in the after photo of the comparison: the IoU of the new bruise
(the after photo's bruises not in the before photo, carried into the before photo's frame, the
components touching the truth: :func:`new_bruise_iou`), whether it covers half the truth, and
whether the region's bruised area rose significantly.

Both take ``melanin``: the photo's skin darkened first (:func:`_melanin.darker_photo`), and
the comparison's before photo is that darker photo (saved losslessly); and ``shrink_iod``: the
photo made small first, as the 150-px crops are (:func:`_melanin.small_photo`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _melanin import darker_photo

#: A pair reads a false bruise when some region of either photo is at least this bruised (%).
PAIR_FALSE_PCT = 1.0
BRUISE_METRIC = "bruise.area_pct"


@dataclass
class PairReading:
    """One null pair: the largest false bruised area of a region (%) and the significant
    bruise changes."""

    worst_pct: float
    significant: int


def _compared(path: Path, img: np.ndarray, rng, after: Path, **kwargs):
    """The photo at ``path`` compared (the bruised area only) with ``img`` recaptured as the
    calibration's ordinary null pairs are (``rng``) and saved at ``after``; ``None`` when the
    alignment refuses the pair."""
    from calibration import _jpeg_bytes, ordinary_recapture

    from mesovision.compare import compare_pair
    from mesovision.errors import MesovisionError
    from mesovision.pipeline import align_pair

    after.write_bytes(_jpeg_bytes(*ordinary_recapture(img, rng)))
    try:
        return compare_pair(align_pair(str(path), str(after)), metrics=[BRUISE_METRIC], **kwargs)
    except MesovisionError:
        return None


def null_pairs(
    path: Path, n: int, seed: int, melanin: float = 0.0, shrink_iod: float = 0.0
) -> list[PairReading]:
    """``n`` null pairs of the photo at ``path`` (those the alignment refuses are left out)."""
    rng = np.random.default_rng(seed)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path, rgb = darker_photo(path, melanin, tmp, shrink_iod)
        for k in range(n):
            cmp = _compared(path, rgb, rng, Path(tmp) / f"{k}.jpg")
            if cmp is None:
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


def touching_iou(mask: np.ndarray, truth: np.ndarray) -> tuple[float, float, np.ndarray]:
    """``(IoU, coverage, seg)``: ``seg`` the 8-connected components of ``mask`` (bool) touching
    ``truth`` (bool), their IoU with ``truth`` and the share of ``truth`` they cover."""
    import cv2

    _, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
    ids = np.unique(labels[truth & mask])
    seg = np.isin(labels, ids[ids > 0])
    union, inter = int((seg | truth).sum()), int((seg & truth).sum())
    return (inter / union if union else 0.0), inter / max(int(truth.sum()), 1), seg


def new_bruise_iou(cmp, truth: np.ndarray) -> tuple[float, float]:
    """``(IoU, coverage)`` against ``truth`` (bool, the before photo's working frame) of the new
    bruise of the comparison ``cmp``: the after photo's bruises not in the before photo's, both
    carried into the before photo's frame, the components touching ``truth``
    (:func:`touching_iou`)."""
    from mesovision.record import _to_before_frame

    before = _to_before_frame(cmp.before.bruises.mask, cmp, after=False, nearest=True)
    after = _to_before_frame(cmp.after.bruises.mask, cmp, after=True, nearest=True)
    return touching_iou(after & ~before, truth)[:2]


def injected_pairs(
    path: Path,
    per_stage: int,
    seed: int,
    inject,
    stages,
    regions,
    melanin: float = 0.0,
    shrink_iod: float = 0.0,
) -> list[dict]:
    """``per_stage`` bruises of each of ``stages`` painted on the photo at ``path`` by
    ``inject(rgb, skin, region_mask, rng, stage) -> (image, truth, record)``, each in a random
    one of ``regions`` (of at least 50 px), then recaptured as the null pairs are and compared
    with the photo (the region declared treated). One record per bruise: ``inject``'s, with the
    ``region``, ``iou``, ``cover`` (the share of the truth covered), ``detected`` (half of it)
    and ``significant`` (the region's bruised area rose significantly); pairs the alignment
    refuses are left out."""
    from mesovision.landmarks import detect_landmarks
    from mesovision.regions import region_masks

    rng = np.random.default_rng(seed)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path, rgb = darker_photo(path, melanin, tmp, shrink_iod)
        masks = region_masks(detect_landmarks(rgb, path=str(path)), rgb.shape, rgb=rgb)
        usable = [r for r in regions if r in masks and masks[r].sum() >= 50]
        for stage in stages:
            for k in range(per_stage):
                region = usable[rng.integers(len(usable))]
                img, truth, rec = inject(rgb, masks["face"], masks[region], rng, stage)
                cmp = _compared(path, img, rng, Path(tmp) / f"{stage}{k}.jpg", treated=[region])
                if cmp is None:
                    continue
                iou, cover = new_bruise_iou(cmp, truth)
                ch = cmp.changes[region][BRUISE_METRIC]
                rec.update(
                    region=region,
                    iou=iou,
                    cover=round(cover, 4),
                    detected=cover >= 0.5,
                    significant=bool(ch.significant and ch.delta > 0),
                )
                out.append(rec)
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
