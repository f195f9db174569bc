"""Stage ``bruises`` of a comparison: the two photos' bruises made to agree on standing features.

Each photo is scored on its own (:func:`mesovision.scoring.before_side`,
:func:`mesovision.scoring.after_side`), its bruises segmented on its own pixels. A feature that is
bruise-coloured in both photos (a spectacle nose pad, a shadow beside the nose, dark circles)
can then be segmented in one capture and missed in the other. :func:`pair_sides` carries each
photo's bruises that the other photo sees at the same place into that photo, adds the bruises
each photo shows against the other (a faint bruise on stubble or in a shadow, which both photos
show, stands out in their difference) (:func:`mesovision.metrics.bruise.pair_maps`; the rules
and their settings in :mod:`mesovision.metrics._bruise_pair`), and scores both photos' bruise
metrics, their flip terms and their :class:`~mesovision.metrics.bruise.BruiseResult` again.
The stages after it (paired tiles, registration, the noise terms, the record) read the paired
sides.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .metrics import ImageMaps, get_metric, patch_table, score_region
from .metrics.bruise import pair_maps, paired_after
from .noise import near_counts
from .pipeline import HAIR_MODES
from .scoring import AfterPhoto, AfterScores, BeforeSide, ScoringPlan, bruises_of, skin_of

__all__ = ["pair_sides", "paired_tiles_before", "recapture_scores"]


def pair_sides(
    plan: ScoringPlan, before: BeforeSide, after: AfterPhoto, scored: AfterScores
) -> tuple[BeforeSide, AfterScores]:
    """Stage ``bruises``: both photos with the bruises each sees of the other's carried into it
    and those each shows against the other.

    Parameters
    ----------
    plan : ScoringPlan
    before : BeforeSide
        The before photo scored on its own.
    after : AfterPhoto
        The after photo's image and regions.
    scored : AfterScores
        The after photo scored on its own.

    Returns
    -------
    tuple
        ``(before, scored)`` with their maps (``bruise_px``, ``bruise_flip``), bruise scores,
        flip terms (``near``) and bruises from the paired maps; unchanged without a bruise
        metric or in the hair modes (no bruise is looked for on hair).
    """
    names = _bruise_names(plan)
    if not names:
        return before, scored
    skin_b, skin_a = skin_of(before.regions), skin_of(after.regions)
    maps_b, carried_b, maps_a, carried_a = pair_maps(
        before.maps, skin_b, scored.maps, skin_a, plan.a_to_b
    )
    base = before.baseline
    b = _rescored(plan, before, before.rgb, before.regions, maps_b, carried_b, base, names)
    a = _rescored(plan, scored, after.rgb, after.regions, maps_a, carried_a, base, names)
    if carried_a.any():  # its region views keep the means of the maps that stay its own
        a = dataclasses.replace(a, views={r: v.on_maps(a.maps) for r, v in scored.views.items()})
    return b, a


def paired_tiles_before(plan: ScoringPlan, before: BeforeSide, tiles):
    """Stage ``tiles_before``: the before photo's tiles ``tiles`` (a
    :class:`~mesovision.remeasure.BeforeTiles` of stage ``tiles_own``, of the photo scored on
    its own, made while the after photo is scored), their bruise metrics taken again from the
    paired maps of ``before``."""
    names = _bruise_names(plan)
    if not names:
        return tiles
    cell = plan.tile * plan.tile
    tables = {
        r: tiles.tables[r] | patch_table(before.maps, m, tiles.labels, names, cell_px=cell)
        for r, m in before.regions.items()
    }
    return dataclasses.replace(tiles, tables=tables)


def _bruise_names(plan: ScoringPlan) -> list[str]:
    """The comparison's bruise metrics; none in the hair modes (no bruise is looked for on
    hair)."""
    if plan.pair.settings.get("mode") in HAIR_MODES:
        return []
    return [n for n in plan.names if get_metric(n).family == "bruise"]


def _rescored(plan, side, rgb, regions, maps, carried: np.ndarray, baseline, names):
    """``side`` with the paired ``maps``, and its bruise metrics ``names``, their flip terms and
    its bruises (``carried`` flagged) from them. Nothing carried in, the photo's bruises and
    their scores are its own: only the flip terms change."""
    near = near_counts(maps, regions, names)
    near = {r: {k: v for k, v in side.near[r].items() if k not in names} | near[r] for r in regions}
    if not carried.any():
        return dataclasses.replace(side, maps=maps, near=near)
    scores = {r: side.scores[r] | score_region(maps, m, metrics=names) for r, m in regions.items()}
    bruises = bruises_of(plan, rgb, regions, baseline, maps, carried)
    return dataclasses.replace(side, maps=maps, scores=scores, near=near, bruises=bruises)


def recapture_scores(
    plan: ScoringPlan,
    before: BeforeSide,
    maps: ImageMaps,
    regions: dict[str, np.ndarray],
    frame: np.ndarray,
    scores: dict[str, dict[str, float]],
) -> dict[str, dict[str, float]]:
    """The after photo's scores as if captured again (``scores`` of ``maps`` over ``regions``,
    on the scoring frame ``frame``: working pixels -> its pixels), its bruise metrics with the
    bruises it gains from the before photo (seen and carried in, or shown against it), as in
    the comparison (:func:`pair_sides`):
    the recapture term is then what another capture moves the paired value by."""
    names = _bruise_names(plan)
    if not names:
        return scores
    to_b = plan.frame_b @ plan.pair.alignment.matrix @ np.linalg.inv(frame)
    maps = paired_after(before.maps, skin_of(before.regions), maps, skin_of(regions), to_b)
    return {r: scores[r] | score_region(maps, m, metrics=names) for r, m in regions.items()}
