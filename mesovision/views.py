"""The photo views a session can hold: the three face views, ``body:<area>``, ``scalp:<area>``
or ``trichoscopy:<area>``.

A view names what a photo shows: ``front``, ``left-45`` or ``right-45`` for the face
(:data:`FACE_VIEWS`, the views the face checks and comparisons apply to), ``body:<area>``
(e.g. ``body:thigh``) for a body area, ``scalp:<area>`` (e.g. ``scalp:front``, a frontal
photo of the hairline with the face in it, or ``scalp:crown``) for the scalp, or
``trichoscopy:<area>`` (e.g. ``trichoscopy:vertex``) for a hair close-up, which needs its scale
(:data:`SCALED_KINDS`: hair density per cm², shaft widths in µm). One photo per view and
session. A view's comparisons run in the capture mode :func:`view_mode` gives.

A session's treated areas (:func:`view_treated`) are face region names, which the face views'
comparisons take as their treated regions, and the names of other views (``body:thigh``): the
``area`` region of that view's comparisons, the only region of the body and hair modes, is
then treated.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import UsageError

__all__ = [
    "FACE_VIEWS",
    "SCALED_KINDS",
    "VIEW_KINDS",
    "needs_scale",
    "validate_view",
    "view_mode",
    "view_treated",
    "views_of",
]
#: Photo views: the face ones, or ``body:<area>`` (e.g. ``body:thigh``).
FACE_VIEWS = ("front", "left-45", "right-45")
#: The prefixes of the other views (``<kind>:<area>``), each the capture mode of its comparisons.
VIEW_KINDS = ("body", "scalp", "trichoscopy")
#: The kinds of view whose photos are filed with their scale (``--px-per-mm``): their measures
#: are in mm, µm and per cm², and a comparison without a scale has none of them.
SCALED_KINDS = ("trichoscopy",)
#: The views other than the face's, and every valid view, as messages list them.
OTHER_VIEWS_TEXT = (
    "body:<area> (e.g. body:thigh), scalp:<area> (e.g. scalp:front), trichoscopy:<area> "
    "(e.g. trichoscopy:vertex)"
)
VIEWS_TEXT = f"{', '.join(FACE_VIEWS)}, {OTHER_VIEWS_TEXT}"


def validate_view(view: str) -> str:
    """``view`` if it is a known view (:data:`FACE_VIEWS`, ``body:<area>``, ``scalp:<area>``
    or ``trichoscopy:<area>``), else :class:`UsageError` listing them."""
    if view in FACE_VIEWS:
        return view
    kind, _, area = view.partition(":")
    if kind in VIEW_KINDS and area.replace("_", "").replace("-", "").isalnum():
        return view
    raise UsageError(f"unknown view {view!r}; valid: {VIEWS_TEXT}")


def view_mode(view: str) -> str:
    """The capture mode of a (valid) view's comparisons: ``face`` for :data:`FACE_VIEWS`, else
    the view's kind (``body``, ``scalp``, ``trichoscopy``)."""
    return "face" if view in FACE_VIEWS else validate_view(view).partition(":")[0]


def needs_scale(view: str) -> bool:
    """Whether a photo of ``view`` is filed only with its scale (:data:`SCALED_KINDS`)."""
    return view_mode(view) in SCALED_KINDS


def view_treated(treated: Iterable[str], view: str) -> list[str]:
    """The treated regions of ``view``'s comparisons, from a session's treated areas
    (module docstring): the face region names for a face view; ``["area"]`` for another view
    when the session names it (``body:thigh``), else none."""
    treated = list(treated)
    if view in FACE_VIEWS:
        return [t for t in treated if ":" not in t]
    return ["area"] if view in treated else []


def views_of(sessions: Iterable[dict]) -> list[str]:
    """The views of the photos of ``sessions`` (store session dicts), sorted."""
    return sorted({ph["view"] for s in sessions for ph in s["photos"]})
