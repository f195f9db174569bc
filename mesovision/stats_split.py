"""Split-face designs in :mod:`mesovision.stats`: each subject's treated side against its other
side.

A subject's treated regions are those of its ``primary`` baseline rows (the batch's
``endpoint`` column: the manifest's ``treated``). Where a subject treats one region of a
left/right pair (``left_cheek`` and not ``right_cheek``), every metric of that pair gives one
within-subject difference ``delta(treated side) - delta(other side)`` per view and timepoint;
a subject that treats both sides, or neither, gives none. The differences of an arm are tested
like within-arm changes (``test = "split"``, :func:`mesovision.stats.compute_stats`), so that
the untreated side is each subject's own control, whichever side was treated.
"""

from __future__ import annotations

__all__ = ["SIDES", "split_differences", "treated_regions"]

#: The prefixes of the two sides of a paired region (``left_cheek``, ``right_cheek``).
SIDES = ("left_", "right_")


def treated_regions(changes) -> dict[tuple[str, str], tuple[str, ...]]:
    """``{(arm, subject): treated regions}`` from baseline ``changes`` (rows of results with
    ``arm`` as text): the regions of each subject's ``primary`` rows, sorted; ``()`` for a
    subject without one. Empty without an ``endpoint`` column."""
    if "endpoint" not in changes.columns:
        return {}
    out = {}
    for (arm, subject), g in changes.groupby(["arm", changes["subject"].astype(str)], sort=True):
        prim = g[(g["endpoint"] == "primary").fillna(False).to_numpy(bool)]
        out[(arm, subject)] = tuple(sorted(prim["region"].astype(str).unique()))
    return out


def _other_side(region: str) -> str | None:
    for a, b in (SIDES, SIDES[::-1]):
        if region.startswith(a):
            return b + region[len(a) :]
    return None


def split_differences(changes):
    """Per subject and paired region with one side treated: the rows of ``changes`` (baseline
    changes, ``arm`` as text) of the treated side joined to the other side's, with ``pair``
    (the region without its side: ``cheek``), ``treated`` and ``other`` (the regions), and
    ``delta`` = treated minus other. An empty frame when no subject treats one side only."""
    import pandas as pd

    pairs = []
    for (arm, subject), regions in treated_regions(changes).items():
        for region in regions:
            other = _other_side(region)
            if other is not None and other not in regions:
                base = region.split("_", 1)[1]
                pairs.append((arm, subject, base, region, other))
    cols = ["arm", "subject", "pair", "treated", "other"]
    if not pairs:
        return pd.DataFrame(columns=[*cols, "delta"])
    who = pd.DataFrame(pairs, columns=cols)
    df = changes.assign(
        subject=changes["subject"].astype(str), region=changes["region"].astype(str)
    )
    keys = ["arm", "subject", "view", "timepoint_rank", "timepoint", "metric", "unit", "direction"]
    side = df[[*keys, "region", "delta", "endpoint"]]
    t = who.merge(
        side, left_on=["arm", "subject", "treated"], right_on=["arm", "subject", "region"]
    )
    o = side.rename(columns={"region": "other", "delta": "delta_other"}).drop(columns="endpoint")
    both = t.merge(o, on=[*keys, "other"], how="inner")
    return both.assign(delta=both["delta"] - both["delta_other"]).drop(
        columns=["region", "delta_other"]
    )
