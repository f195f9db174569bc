"""User text shown safely: control characters and invisible reordering marks made visible.

Names, notes and file names come from users and from file systems: a file name may hold an
escape sequence (``\\x1b[31m``) or a bidirectional override that shows text other than what it
is. :func:`printable` makes them visible as escapes, for a terminal line (the commands print
every user text through it) or, keeping line breaks and tabs, for a report.
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable"]

#: Invisible characters that reorder or hide text (bidirectional overrides and isolates).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def printable(text, *, keep: str = "") -> str:
    """``text`` safe to show: control characters (C0, DEL, C1) but those in ``keep`` (``"\\n\\t"``
    for a report's notes), line and paragraph separators and bidirectional overrides become
    escapes (``\\x1b``, ``\\n``, ``\\u2028``), and a byte of a non-UTF-8 file name (decoded by
    Python as a lone surrogate U+DC80-U+DCFF) becomes ``\\xNN``. Everything else, other scripts
    and emoji included, is kept."""
    text = str(text)
    if text.isprintable():
        return text
    out = []
    for ch in text:
        o = ord(ch)
        if ch in keep:
            out.append(ch)
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)
