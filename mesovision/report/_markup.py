"""HTML text helpers of the report's sections: escaping and a list of facts."""

from __future__ import annotations

import html

__all__ = ["esc", "facts"]


def esc(x) -> str:
    """``x`` as HTML text (``None`` is empty), quotes escaped too."""
    return html.escape("" if x is None else str(x), quote=True)


def facts(items: list[tuple[str, str]]) -> str:
    """A definition list of ``(label, text)`` pairs."""
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
        + "</dl>"
    )
