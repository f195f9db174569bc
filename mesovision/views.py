"""The photo views a session can hold: the three face views, or ``body:<area>``.

A view names what a photo shows: ``front``, ``left-45`` or ``right-45`` for the face
(:data:`FACE_VIEWS`, the views the face checks and comparisons apply to), or ``body:<area>``
(e.g. ``body:thigh``) for a body area. One photo per view and session.
"""

from __future__ import annotations

from .errors import UsageError

__all__ = ["FACE_VIEWS", "validate_view"]
#: Photo views: the face ones, or ``body:<area>`` (e.g. ``body:thigh``).
FACE_VIEWS = ("front", "left-45", "right-45")


def validate_view(view: str) -> str:
    """``view`` if it is a known view (:data:`FACE_VIEWS` or ``body:<area>``), else
    :class:`UsageError` listing them."""
    if view in FACE_VIEWS:
        return view
    if view.startswith("body:") and view[5:].replace("_", "").replace("-", "").isalnum():
        return view
    raise UsageError(
        f"unknown view {view!r}; valid: {', '.join(FACE_VIEWS)}, body:<area> (e.g. body:thigh)"
    )
