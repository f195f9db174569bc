"""HTML text helpers of the report's sections: escaping and a list of facts."""

from __future__ import annotations

import html

from ..text import printable

__all__ = ["esc", "facts"]


def esc(x) -> str:
    """``x`` as HTML text (``None`` is empty), quotes escaped too, and control characters but
    line breaks and tabs shown as escapes (:func:`mesovision.text.printable`: a file name's
    escape sequence or bidirectional override is not passed to the page)."""
    return html.escape("" if x is None else printable(x, keep="\n\t"), quote=True)


def facts(items: list[tuple[str, str]]) -> str:
    """A definition list of ``(label, text)`` pairs."""
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
        + "</dl>"
    )
