"""Timepoints that are visit dates.

A batch compares each subject's photos with the photos of one timepoint label shared by the
subjects (the baseline: the first in the timepoint order), and the statistics group the
subjects by label. Visit dates are not such labels: each subject has its own. So a manifest
whose timepoints are dates is refused unless they are ISO dates (``YYYY-MM-DD``, which sort as
time runs) and every subject has the baseline date; a date with the day and the month in an
order that cannot be told (``05/01/2024``: 5 January or 1 May?) is refused, and an impossible
calendar date (``2024-02-31``) too. Each message says what to write instead: a visit label
(``0``, ``4``, ``12`` or ``week4``) shared by the subjects, with the date in a covariate column
(``x_date``) if it is wanted in the tables.
"""

from __future__ import annotations

import datetime as dt
import re

from ..errors import UsageError

__all__ = ["check_dates", "natural_key"]


def natural_key(s: str) -> tuple:
    """Sort key ordering ``S2`` before ``S10`` (digit runs compared as numbers, of any length)."""
    return tuple(
        (0, len(p.lstrip("0")), p.lstrip("0")) if p.isdigit() else (1, 0, p)
        for p in re.split(r"(\d+)", s)
    )


_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
#: Day and month in either order, with / . or - between them (and 2- or 4-digit years).
_AMBIGUOUS = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}(?:\d{2})?$")
_ADVICE = (
    "give a visit label shared by the subjects (0, 4, 12 or week4) and keep the date in a "
    "covariate column such as x_date"
)


def check_dates(rows, labels: list[str], baseline: str, path: str) -> None:
    """Refuse timepoints that are dates the batch cannot use (the module docstring).

    ``rows``: ``(row number, {column: value})`` of the manifest; ``labels``: each row's
    timepoint label; ``baseline``: the first label of the order. Raises
    :class:`~mesovision.errors.UsageError` naming the manifest (``path``) and the row."""
    iso = []
    for (n, _), label in zip(rows, labels, strict=True):
        if _AMBIGUOUS.match(label):
            raise UsageError(
                f"row {n}: timepoint {label!r} is a date whose day and month cannot be told "
                f"apart; {_ADVICE} (or write dates as YYYY-MM-DD)",
                path=path,
            )
        m = _ISO.match(label)
        if m is not None:
            try:
                dt.date(*map(int, m.groups()))
            except ValueError:
                raise UsageError(
                    f"row {n}: timepoint {label!r} is not a calendar date", path=path
                ) from None
            iso.append(n)
    if not iso:
        return
    with_base = {r["subject"] for (_, r), lab in zip(rows, labels, strict=True) if lab == baseline}
    for (n, r), _label in zip(rows, labels, strict=True):
        if r["subject"] not in with_base:
            raise UsageError(
                f"row {n}: the timepoints are visit dates and subject {r['subject']} has no "
                f"photo of the baseline date {baseline}: every subject is compared with the "
                f"photos of one timepoint label; {_ADVICE}",
                path=path,
            )
