"""The photo views a session can hold: the three face views, ``body:<area>`` or ``scalp:<area>``.

A view names what a photo shows: ``front``, ``left-45`` or ``right-45`` for the face
(:data:`FACE_VIEWS`, the views the face checks and comparisons apply to), ``body:<area>``
(e.g. ``body:thigh``) for a body area, or ``scalp:<area>`` (e.g. ``scalp:front``, a frontal
photo of the hairline with the face in it, or ``scalp:crown``) for the scalp. One photo per
view and session. A view's comparisons run in the capture mode :func:`view_mode` gives.
"""

from __future__ import annotations

from .errors import UsageError

__all__ = ["FACE_VIEWS", "VIEW_KINDS", "validate_view", "view_mode"]
#: Photo views: the face ones, or ``body:<area>`` (e.g. ``body:thigh``).
FACE_VIEWS = ("front", "left-45", "right-45")
#: The prefixes of the other views (``<kind>:<area>``), each the capture mode of its comparisons.
VIEW_KINDS = ("body", "scalp")


def validate_view(view: str) -> str:
    """``view`` if it is a known view (:data:`FACE_VIEWS`, ``body:<area>`` or
    ``scalp:<area>``), else :class:`UsageError` listing them."""
    if view in FACE_VIEWS:
        return view
    kind, _, area = view.partition(":")
    if kind in VIEW_KINDS and area.replace("_", "").replace("-", "").isalnum():
        return view
    raise UsageError(
        f"unknown view {view!r}; valid: {', '.join(FACE_VIEWS)}, body:<area> (e.g. body:thigh), "
        "scalp:<area> (e.g. scalp:front)"
    )


def view_mode(view: str) -> str:
    """The capture mode of a (valid) view's comparisons: ``face`` for :data:`FACE_VIEWS`, else
    the view's kind (``body``, ``scalp``)."""
    return "face" if view in FACE_VIEWS else validate_view(view).partition(":")[0]
