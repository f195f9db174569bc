"""The plan of a batch: which comparisons a manifest asks for, and the cache key of each.

For each subject and view, every later timepoint is compared against the baseline (repeat 1 of
each), with ``previous`` also against the subject's previous timepoint, and every same-day repeat
``r >= 2`` against repeat 1 of its visit. Each item gets a cache key, the SHA-256 of its input
files' hashes, its settings and the mesovision version (:func:`cache_key`): items with the same
key are computed once, and a result is found again in the cache whatever the manifest's file
names or row order. A comparison takes the scale of its before photo's row (``px_per_mm`` or
``ipd_mm``), which enables the metrics in mm, mm² and per cm².
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from .._version import __version__
from ..errors import UsageError
from .manifest import Manifest, Row, natural_key

__all__ = [
    "CACHE_FORMAT",
    "COMPARISONS",
    "BatchSettings",
    "Item",
    "cache_key",
    "not_compared",
    "plan_items",
]

#: Raised when a cached record's content changes shape (2: comparability verdicts and the
#: changes' family), so that older entries are recomputed rather than read without them.
CACHE_FORMAT = 2
COMPARISONS = ("baseline", "previous", "repeat")


@dataclass(frozen=True)
class BatchSettings:
    """Per-comparison settings (the same for every item; part of the cache key)."""

    refine: str = "ecc"
    model: str = "similarity"
    lighting: str = "reference"
    max_side: int = 2048
    force: bool = False

    def check(self) -> None:
        """Raise :class:`~mesovision.errors.UsageError` for an unknown method or a bad size."""
        from ..lighting import METHODS

        if self.lighting not in METHODS:
            raise UsageError(
                f"unknown lighting method {self.lighting!r}; valid: {', '.join(METHODS)}"
            )
        if self.refine not in ("none", "ecc", "mesh"):
            raise UsageError(f"unknown refinement {self.refine!r}; valid: none, ecc, mesh")
        if self.model not in ("similarity", "affine"):
            raise UsageError(f"unknown model {self.model!r}; valid: similarity, affine")
        if not isinstance(self.max_side, int) or self.max_side < 64:
            raise UsageError(f"max side must be an integer >= 64 px, got {self.max_side!r}")


@dataclass(frozen=True)
class Item:
    """One comparison to make (or a skipped one, with ``skip_reason``)."""

    subject: str
    arm: str
    view: str
    timepoint: str
    reference_timepoint: str
    comparison: str  # "baseline", "previous" or "repeat"
    repeat: int
    after: Row
    before: Row | None
    key: str | None = None
    task: dict | None = field(default=None, compare=False)
    skip_reason: str | None = None


def cache_key(
    before_sha256: str, after_sha256: str, mask_sha256: str | None, settings: dict
) -> str:
    """SHA-256 (hex) of the inputs' hashes, the settings and the mesovision version."""
    doc = {
        "cache_format": CACHE_FORMAT,
        "mesovision": __version__,
        "before_sha256": before_sha256,
        "after_sha256": after_sha256,
        "mask_sha256": mask_sha256,
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _make_item(
    before: Row | None, after: Row, comparison: str, settings: BatchSettings, ref_tp: str
) -> Item:
    common = dict(
        subject=after.subject,
        arm=after.arm,
        view=after.view,
        timepoint=after.timepoint,
        reference_timepoint=ref_tp,
        comparison=comparison,
        repeat=after.repeat,
        after=after,
        before=before,
    )
    if before is None:
        return Item(
            **common,
            skip_reason=f"no baseline photo (timepoint {ref_tp}) for subject {after.subject}, "
            f"view {after.view}",
        )
    treated = sorted(set(before.treated) | set(after.treated))
    s = {
        "mode": before.mode,
        "refine": settings.refine,
        "model": settings.model,
        "lighting": settings.lighting,
        "max_side": settings.max_side,
        "force": settings.force,
        "treated": treated,
    }
    # The before photo's scale, when its row gives one (absent otherwise, so that the keys of
    # rows without a scale do not change).
    if before.px_per_mm is not None:
        s["px_per_mm"] = before.px_per_mm
    if before.ipd_mm is not None:
        s["ipd_mm"] = before.ipd_mm
    key = cache_key(before.sha256, after.sha256, before.mask_sha256, s)
    task = {
        "key": key,
        "before": str(before.path),
        "after": str(after.path),
        "mask": str(before.mask) if before.mask is not None else None,
        "settings": s,
        # what the worker must read (a file changed since the manifest was read is refused)
        "before_sha256": before.sha256,
        "after_sha256": after.sha256,
    }
    return Item(**common, key=key, task=task)


def plan_items(
    manifest: Manifest, settings: BatchSettings, *, previous: bool = False
) -> list[Item]:
    """Every comparison the manifest asks for, in table order.

    For each subject and view: every timepoint after the baseline against the baseline (repeat 1
    of each); with ``previous``, every timepoint after the subject's first against the subject's
    previous timepoint; every repeat ``r >= 2`` against repeat 1 of the same visit. A later
    timepoint of a subject without a baseline photo for that view is a skipped item.
    """
    visits: dict[tuple[str, str], dict[str, dict[int, Row]]] = {}
    for r in manifest.rows:
        visits.setdefault((r.subject, r.view), {}).setdefault(r.timepoint, {})[r.repeat] = r
    base = manifest.timepoints[0]
    items: list[Item] = []
    for _sv, by_tp in sorted(
        visits.items(), key=lambda kv: (natural_key(kv[0][0]), natural_key(kv[0][1]))
    ):
        tps = sorted(by_tp, key=manifest.rank)
        for i, tp in enumerate(tps):
            after = by_tp[tp][1]
            if tp != base:
                before = by_tp[base][1] if base in by_tp else None
                items.append(_make_item(before, after, "baseline", settings, base))
            if previous and i > 0:
                items.append(
                    _make_item(by_tp[tps[i - 1]][1], after, "previous", settings, tps[i - 1])
                )
            for rep in sorted(by_tp[tp]):
                if rep > 1:
                    items.append(_make_item(by_tp[tp][1], by_tp[tp][rep], "repeat", settings, tp))
    return items


def not_compared(manifest: Manifest, items: list[Item]) -> list[dict]:
    """The subjects and views of the manifest that no item names (photos of one visit only, the
    baseline, without same-day repeats): nothing to compare, so no row of any table.

    Returns one ``{"subject", "view", "timepoints"}`` per subject and view, in table order.
    """
    planned = {(it.subject, it.view) for it in items}
    left: dict[tuple[str, str], set[str]] = {}
    for r in manifest.rows:
        if (r.subject, r.view) not in planned:
            left.setdefault((r.subject, r.view), set()).add(r.timepoint)
    return [
        {"subject": s, "view": v, "timepoints": sorted(tps, key=manifest.rank)}
        for (s, v), tps in sorted(left.items(), key=lambda kv: tuple(map(natural_key, kv[0])))
    ]


# --------------------------------------------------------------------------------------------
# The task (runs in a worker process)
