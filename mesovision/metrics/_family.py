"""Metric families: what one family adds to the per-pixel maps, its heatmap and its noise terms.

A family (``texture``, ``redness``, ``pigmentation``, ``bruise``) is one module of this package.
It registers its metrics (:func:`mesovision.metrics.register`) and then itself, once, with
:func:`register_family`:

* ``make_maps``: called by :func:`mesovision.metrics.prepare` with a
  :class:`~mesovision.metrics.MapContext`; it adds the family's per-pixel maps to
  ``context.maps`` (directly, or deferred to first use with ``context.maps.defer``);
* ``heatmap``: a :class:`HeatmapSpec`, the map the family's overlay shows and its fixed range
  (:mod:`mesovision.metrics.heatmaps` draws every family that has one);
* its noise terms, read by :mod:`mesovision.noise`: ``near_threshold`` (a thresholded share's
  map -> the map of the pixels at risk of flipping into it, for the counting term),
  ``flip_variance`` (metric -> a function of the photo's :class:`~mesovision.metrics.ImageMaps`
  and a full-frame region mask giving the variance of the metric's value there from the
  pixels and detections that another capture would flip, in the metric's unit squared: the
  counting term, for a metric whose variance is not a count over the region's pixels),
  ``untiled`` (metrics whose value in a region is not a function of the region's own
  pixels, e.g. a per-eye value the region selects, or a share of detections kept or dropped
  whole, whose share of a tile the whole detection sets: the region's tiles are no sample of
  it, and the paired term is 0), ``two_sided_registration`` (metrics whose registration term
  moves both photos' region masks: a value each photo holds on its own moves with that
  photo's masks, and a detection that one photo holds and the other does not moves only
  with the masks of the photo that holds it, so the after photo's masks alone would make the
  term depend on which photo is the before photo; not a pair measure that only the after
  photo carries, such as the swelling family's contour shift), ``relative_noise`` (metrics
  whose capture and between-region terms are a share of their value),
  ``counted_by`` (an area of detections -> the count whose Poisson noise it carries), ``headline``
  (the metric that is a primary endpoint in a treated region; ``mode_headline``: per capture
  mode, the metrics that are, the first one measured in the pair taking the place,
  :func:`headline_choices`) and ``comparability`` (the family of the comparability verdicts
  its metrics take, :mod:`mesovision.comparability`);
* ``capture_sd``: capture standard deviations of its own metrics (metric units, or a share of
  the value for a ``relative_noise`` metric), for families that ``capture_noise.json`` does
  not cover (:func:`mesovision.noise.capture_sd`);
* ``modes``: the capture modes whose photos it scores by default (``face`` and ``body`` for
  the skin families, ``scalp`` and ``trichoscopy`` for ``hair``; :func:`metrics_for_mode`), and
  ``mode_metrics``: for a mode named there, only those of its metrics (a crown photo gets the
  hair family's scalp share and part width, not the close-up's counts and widths);
* ``local``: its changes are local, and neighbouring regions share what they measure (the
  between-region term of :mod:`mesovision.noise` does not apply).

Adding a family therefore needs no edit elsewhere: import its module before
:func:`~mesovision.metrics.prepare` runs. :func:`unregister_family` removes a family and its
metrics again (tests register small families of their own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UsageError
from ._registry import REGISTRY

if TYPE_CHECKING:
    from ._maps import MapContext

__all__ = [
    "FAMILIES",
    "HEADLINE_METRICS",
    "NEAR_THRESHOLD_MAPS",
    "Family",
    "FamilyView",
    "HeatmapSpec",
    "get_family",
    "headline_choices",
    "map_variance",
    "metrics_for_mode",
    "register_family",
    "unregister_family",
]


@dataclass(frozen=True)
class HeatmapSpec:
    """A family's heatmap: map ``map`` minus the baseline attribute ``reference`` (or nothing),
    scaled to [0, 1] on the FIXED range ``low .. high`` and coloured with matplotlib colormap
    ``colormap``; only pixels above ``low`` are coloured (see :mod:`mesovision.metrics.heatmaps`).
    ``legend`` says in words what it shows. Unpacks as ``(map, reference, low, high, colormap)``.
    """

    map: str
    reference: str | None
    low: float
    high: float
    colormap: str
    legend: str = ""

    def __iter__(self) -> Iterator:
        return iter((self.map, self.reference, self.low, self.high, self.colormap))


@dataclass(frozen=True)
class Family:
    """One registered metric family (see the module docstring for the fields)."""

    name: str
    make_maps: Callable[[MapContext], None] | None = None
    heatmap: HeatmapSpec | None = None
    near_threshold: Mapping[str, str] = field(default_factory=dict)
    flip_variance: Mapping[str, Callable] = field(default_factory=dict)
    untiled: tuple[str, ...] = ()
    two_sided_registration: tuple[str, ...] = ()
    relative_noise: tuple[str, ...] = ()
    counted_by: Mapping[str, str] = field(default_factory=dict)
    headline: str | None = None
    comparability: str | None = None
    modes: tuple[str, ...] = ("face", "body")
    capture_sd: Mapping[str, float] = field(default_factory=dict)
    mode_metrics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    local: bool = False
    mode_headline: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def metrics(self) -> list[str]:
        """Names of the family's registered metrics, in registration order."""
        return [n for n, s in REGISTRY.items() if s.family == self.name]


#: Every registered family by name, in registration order (the order maps are made in).
FAMILIES: dict[str, Family] = {}


def register_family(
    name: str,
    *,
    make_maps: Callable[[MapContext], None] | None = None,
    heatmap: HeatmapSpec | None = None,
    near_threshold: Mapping[str, str] | None = None,
    flip_variance: Mapping[str, Callable] | None = None,
    untiled: tuple[str, ...] = (),
    two_sided_registration: tuple[str, ...] = (),
    relative_noise: tuple[str, ...] = (),
    counted_by: Mapping[str, str] | None = None,
    headline: str | None = None,
    comparability: str | None = None,
    modes: tuple[str, ...] = ("face", "body"),
    capture_sd: Mapping[str, float] | None = None,
    mode_metrics: Mapping[str, tuple[str, ...]] | None = None,
    local: bool = False,
    mode_headline: Mapping[str, tuple[str, ...]] | None = None,
) -> Family:
    """Register family ``name`` (the prefix of its metrics' names); returns its :class:`Family`.

    Raises ``ValueError`` for a family registered twice or a metric named in ``relative_noise``,
    ``counted_by``, ``capture_sd``, ``flip_variance``, ``untiled``, ``two_sided_registration``,
    ``mode_metrics``, ``headline`` or ``mode_headline`` that is not one of the family's
    registered metrics (register the metrics first), or a ``mode_headline`` for a mode not in
    ``modes``.
    """
    if name in FAMILIES:
        raise ValueError(f"metric family {name!r} is already registered")
    fam = Family(
        name=name,
        make_maps=make_maps,
        heatmap=heatmap,
        near_threshold=dict(near_threshold or {}),
        flip_variance=dict(flip_variance or {}),
        untiled=tuple(untiled),
        two_sided_registration=tuple(two_sided_registration),
        relative_noise=tuple(relative_noise),
        counted_by=dict(counted_by or {}),
        headline=headline,
        comparability=comparability,
        modes=tuple(modes),
        capture_sd=dict(capture_sd or {}),
        mode_metrics={k: tuple(v) for k, v in (mode_metrics or {}).items()},
        local=local,
        mode_headline={k: tuple(v) for k, v in (mode_headline or {}).items()},
    )
    if set(fam.mode_headline) - set(fam.modes):
        raise ValueError(f"family {name!r} has a headline for a mode it does not score")
    own = set(fam.metrics)
    named = {*fam.relative_noise, *fam.counted_by, *fam.counted_by.values(), *fam.capture_sd}
    named.update(fam.flip_variance, fam.untiled, fam.two_sided_registration)
    named.update(m for names in fam.mode_metrics.values() for m in names)
    named.update(m for names in fam.mode_headline.values() for m in names)
    if headline is not None:
        named.add(headline)
    unknown = sorted(named - own)
    if unknown:
        raise ValueError(f"family {name!r} names metrics it has not registered: {unknown}")
    FAMILIES[name] = fam
    return fam


def unregister_family(name: str) -> None:
    """Remove family ``name`` and every metric registered under it (``UsageError`` if unknown)."""
    get_family(name)
    for metric in [n for n, s in REGISTRY.items() if s.family == name]:
        del REGISTRY[metric]
    del FAMILIES[name]


def metrics_for_mode(mode: str) -> list[str]:
    """Names of the metrics a photo of capture mode ``mode`` is scored on by default: those of
    the families that list the mode in their ``modes`` (only those their ``mode_metrics`` name
    for it, when it does), in registration order."""
    return [
        m
        for f in FAMILIES.values()
        if mode in f.modes
        for m in f.metrics
        if mode not in f.mode_metrics or m in f.mode_metrics[mode]
    ]


def headline_choices(mode: str) -> dict[str, tuple[str, ...]]:
    """``{family: metrics}``: for each family, the metrics that can be its primary endpoint in
    capture mode ``mode`` in a treated region, in order of preference (the first one the
    pair measures is the endpoint: a close-up's density per cm² when it has a scale, else per
    kilopixel): the family's ``mode_headline`` for the mode, else its ``headline``."""
    out = {}
    for f in FAMILIES.values():
        choices = f.mode_headline.get(mode) or ((f.headline,) if f.headline else ())
        if choices:
            out[f.name] = choices
    return out


def map_variance(name: str, mm_power: int = 0, *, share: bool = False) -> Callable:
    """A ``flip_variance`` function (``(maps, mask) -> variance``): the map ``name`` of the
    photo's :class:`~mesovision.metrics.ImageMaps` summed over the region's mask (in px units),
    divided by ``px_per_mm ** mm_power`` (0 without a scale), or with ``share`` as a share of
    the mask's pixels in %²."""

    def variance(maps, mask) -> float:
        total = maps.total(name, mask)
        if share:
            n = int(np.count_nonzero(mask))
            return total * (100.0 / n) ** 2 if n else 0.0
        if mm_power:
            ppm = maps.px_per_mm
            return total / ppm**mm_power if ppm else 0.0
        return total

    return variance


def get_family(name: str) -> Family:
    """The family registered as ``name``; an unknown name raises ``UsageError`` listing the
    valid ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise UsageError(f"unknown metric family {name!r}; valid: {', '.join(FAMILIES)}") from None


class FamilyView(Mapping):
    """A read-only mapping gathered from the registered families on every access."""

    def __init__(self, gather: Callable[[], dict]):
        self._gather = gather

    def __getitem__(self, key):
        return self._gather()[key]

    def __iter__(self):
        return iter(self._gather())

    def __len__(self) -> int:
        return len(self._gather())

    def __repr__(self) -> str:
        return repr(self._gather())


#: Thresholded map -> the map of its pixels at risk of flipping, over every family (a live view).
NEAR_THRESHOLD_MAPS: Mapping[str, str] = FamilyView(
    lambda: {k: v for f in FAMILIES.values() for k, v in f.near_threshold.items()}
)
#: Comparability family -> its headline metric, over every family with one (a live view).
HEADLINE_METRICS: Mapping[str, str] = FamilyView(
    lambda: {f.comparability or f.name: f.headline for f in FAMILIES.values() if f.headline}
)
