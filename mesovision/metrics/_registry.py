"""The metric registry: every metric is a function registered with its name, unit and direction.

A metric comes in one of two kinds (``MetricSpec.kind``):

``"pixel_mean"``
    The value is a function of the means, over the region's pixels, of one or more per-pixel maps
    named in ``MetricSpec.maps`` (for example ``ita_deg = f(mean L*, mean b*)``). The function
    receives those means as arguments (NumPy scalars or arrays, so it can be evaluated for many
    tiles at once); per-tile values are therefore cheap
    (see :func:`mesovision.metrics.tile_values`).
``"generic"``
    The value needs the region as a whole (connected components, pixel pairs, quantiles). The
    function receives a :class:`mesovision.metrics.RegionView`; per-tile values are computed
    by calling it once per tile.

The docstring of every metric function is numpydoc-like and must contain a one-line summary and
two sections, ``Formula`` and ``References``; :func:`register` parses them into the spec and
refuses a function without them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UsageError

__all__ = ["DIRECTIONS", "KINDS", "MetricSpec", "REGISTRY", "register", "get_metric"]

#: Valid values of ``MetricSpec.direction``.
DIRECTIONS = ("higher_is_better", "higher_is_worse", "neutral")
#: Valid values of ``MetricSpec.kind``.
KINDS = ("pixel_mean", "generic")


@dataclass(frozen=True)
class MetricSpec:
    """One registered metric.

    ``name`` is dotted (``family.metric``); ``unit`` is the unit of the value (``"1"`` for
    dimensionless); ``direction`` says whether a higher value is better, worse or neither for the
    skin; ``summary``, ``formula`` and ``reference`` are parsed from the function's docstring;
    ``display``, ``plain`` and ``unit_label`` are the words for a patient and a clinician
    (name, one-line explanation, unit as read).
    ``min_pixels`` is the smallest region (in pixels) on which the metric is computed; smaller
    regions give NaN. ``needs_scale`` metrics are NaN unless ``px_per_mm`` is known.
    A metric that is not ``tested`` is reported for both photos, but its change gets no
    standard error, noise floor, z, p or q, is never significant and is left out of the pair's
    false discovery rate (its paired tiles cannot measure its noise: the part width, whose tiles
    hold no part).
    """

    name: str
    family: str
    unit: str
    direction: str
    func: Callable
    summary: str
    formula: str
    reference: str
    kind: str = "generic"
    maps: tuple[str, ...] = ()
    min_pixels: int = 16
    needs_scale: bool = False
    tested: bool = True
    display: str = ""
    plain: str = ""
    unit_label: str = ""

    def as_dict(self) -> dict[str, object]:
        """Everything but the function, for listings and provenance."""
        return {
            "name": self.name,
            "family": self.family,
            "unit": self.unit,
            "direction": self.direction,
            "kind": self.kind,
            "maps": list(self.maps),
            "min_pixels": self.min_pixels,
            "needs_scale": self.needs_scale,
            "tested": self.tested,
            "display": self.display,
            "plain": self.plain,
            "unit_label": self.unit_label,
            "summary": self.summary,
            "formula": self.formula,
            "reference": self.reference,
        }


#: Every registered metric by dotted name (filled when :mod:`mesovision.metrics` is imported).
REGISTRY: dict[str, MetricSpec] = {}

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_SECTION_RE = re.compile(r"^([A-Z][A-Za-z ]+)\n-{3,}\n", re.MULTILINE)


def _parse_docstring(doc: str | None) -> dict[str, str]:
    """Split a numpydoc docstring into ``summary`` and its sections (lower-case titles)."""
    text = inspect.cleandoc(doc or "")
    parts = _SECTION_RE.split(text)
    out = {"summary": parts[0].strip().split("\n\n")[0].replace("\n", " ").strip()}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        out[title.strip().lower()] = inspect.cleandoc(body).strip()
    return out


def register(
    name: str,
    *,
    unit: str,
    direction: str,
    display: str,
    plain: str,
    unit_label: str | None = None,
    maps: tuple[str, ...] | None = None,
    min_pixels: int = 16,
    needs_scale: bool = False,
    tested: bool = True,
) -> Callable[[Callable], Callable]:
    """Decorator registering a metric function under ``name`` (``family.metric``).

    ``display`` is the name a patient reads ("redness"), ``plain`` one sentence saying what it
    measures in everyday words, ``unit_label`` the unit as a clinician reads it ("a* units",
    "% of the area"; default ``unit``): the report, ``mesovision metrics``, the CLI and the
    tables take the words from here.

    With ``maps`` the metric is of kind ``"pixel_mean"`` and the function receives the region
    means of those maps; otherwise it is ``"generic"`` and receives a ``RegionView``.
    ``tested=False``: the change is reported but not tested (``MetricSpec``).
    Raises ``ValueError`` on a malformed or duplicate name, an unknown direction, an empty unit,
    display name or plain explanation, or a docstring without summary, ``Formula`` or
    ``References``.
    """
    if not _NAME_RE.match(name):
        raise ValueError(f"metric name {name!r} is not 'family.metric' in lower_snake_case")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r} for {name!r}; valid: {', '.join(DIRECTIONS)}")
    if not unit:
        raise ValueError(f"metric {name!r} has no unit (use '1' for dimensionless)")
    if not display.strip() or not plain.strip():
        raise ValueError(f"metric {name!r} needs a display name and a plain explanation")
    if min_pixels < 1:
        raise ValueError(f"min_pixels must be >= 1 for {name!r}, got {min_pixels}")

    def decorator(func: Callable) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"metric {name!r} is already registered")
        doc = _parse_docstring(func.__doc__)
        missing = [k for k in ("summary", "formula", "references") if not doc.get(k)]
        if missing:
            raise ValueError(f"metric {name!r}: docstring lacks {', '.join(missing)}")
        REGISTRY[name] = MetricSpec(
            name=name,
            family=name.split(".", 1)[0],
            unit=unit,
            direction=direction,
            func=func,
            summary=doc["summary"],
            formula=doc["formula"],
            reference=doc["references"],
            kind="pixel_mean" if maps else "generic",
            maps=tuple(maps or ()),
            min_pixels=int(min_pixels),
            needs_scale=needs_scale,
            tested=tested,
            display=display.strip(),
            plain=plain.strip(),
            unit_label=(unit_label or unit).strip(),
        )
        return func

    return decorator


def get_metric(name: str) -> MetricSpec:
    """The spec registered as ``name``; an unknown name raises ``UsageError`` listing valid ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown metric {name!r}; valid: {', '.join(sorted(REGISTRY))}") from None
