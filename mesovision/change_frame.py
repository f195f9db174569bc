"""The changes of a comparison as a tidy table (:meth:`mesovision.Comparison.to_frame`).

One row per region and metric, the columns and pandas dtypes of :data:`FRAME_COLUMNS`; made
from a :class:`~mesovision.Comparison` and from a saved one
(:class:`mesovision.saved.SavedComparison`), so that both give the same table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from .comparability import Verdict
    from .noise import Change

__all__ = ["FRAME_COLUMNS", "changes_frame"]

#: The columns of the table and their pandas dtypes: the text columns as ``string``, the numbers
#: as ``float64`` (NaN when not tested or not measured), ``significant`` as ``bool``.
FRAME_COLUMNS: dict[str, str] = {
    "region": "string",
    "metric": "string",
    "family": "string",
    "unit": "string",
    "direction": "string",
    "endpoint": "string",
    "comparability": "string",
    "before": "float64",
    "after": "float64",
    "delta": "float64",
    "relative": "float64",
    "se": "float64",
    "noise_floor": "float64",
    "z": "float64",
    "p": "float64",
    "q": "float64",
    "significant": "bool",
}


def changes_frame(
    changes: dict[str, dict[str, Change]], verdicts: dict[str, Verdict]
) -> pd.DataFrame:
    """``changes[region][metric]`` as a table of :data:`FRAME_COLUMNS`, rows in their order;
    each row's ``comparability`` is the status of its family's verdict in ``verdicts`` (missing
    when the family has none)."""
    import pandas as pd

    rows = []
    for region, per in changes.items():
        for metric, c in per.items():
            verdict = verdicts.get(c.family)
            rows.append(
                (region, metric, c.family, c.unit, c.direction, c.endpoint)
                + (None if verdict is None else verdict.status,)
                + (c.before, c.after, c.delta, c.relative, c.se, c.noise_floor)
                + (c.z, c.p, c.q, bool(c.significant))
            )
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS)).astype(FRAME_COLUMNS)
