"""A comparison read back from its ``result.json``: :func:`load_result`.

:meth:`mesovision.Comparison.save` writes ``result.json`` (and
:meth:`~mesovision.Comparison.to_dict` gives the same record in memory); :func:`load_result`
reads either back into a :class:`SavedComparison`, whose ``changes``, ``verdicts``,
``significant()``, ``to_frame()`` and ``to_dict()`` equal the saved comparison's. The record
holds numbers, not arrays: the photos, masks and maps of a saved comparison are its image files,
not attributes.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ._lazy import ImportOnUse
from .change_frame import FRAME_COLUMNS, changes_frame
from .comparability import Verdict
from .errors import InputFileError, UsageError
from .noise import Change, NoiseTerms
from .record import READABLE_SCHEMA_VERSIONS

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use: typing.get_type_hints resolves ``pd.DataFrame`` (a light import)
    pd = ImportOnUse("pandas")

__all__ = ["SavedComparison", "load_result"]


@dataclass(frozen=True, eq=False)
class SavedComparison:
    """A comparison read from its ``result.json`` record (:func:`load_result`).

    Attributes
    ----------
    record : dict
        The whole record (``settings``, ``inputs``, ``alignment``, ``lighting``, ``mismatch``,
        ...: ``docs/result-json.md``).
    path : pathlib.Path or None
        The file read (``None`` for a record given as a ``dict``).
    changes : dict of str to dict of str to Change
        ``changes[region][metric]``, as the saved :class:`~mesovision.Comparison`'s, field by
        field (a NaN saved as ``null`` reads as NaN; ``None`` stays ``None``).
    verdicts : dict of str to Verdict
        ``verdicts[family]``, as the saved comparison's.
    """

    record: dict[str, Any]
    path: Path | None
    changes: dict[str, dict[str, Change]]
    verdicts: dict[str, Verdict]

    #: The columns of :meth:`to_frame` and their pandas dtypes, as
    #: :attr:`mesovision.Comparison.FRAME_COLUMNS`.
    FRAME_COLUMNS: ClassVar[dict[str, str]] = FRAME_COLUMNS

    @property
    def settings(self) -> dict[str, Any]:
        """The record's ``settings``: the comparison's and the alignment's options."""
        return self.record.get("settings") or {}

    def significant(self) -> list[tuple[str, str, Change]]:
        """``(region, metric, change)`` for every significant change of the regions, as
        :meth:`mesovision.Comparison.significant`."""
        return [(r, m, c) for r, ms in self.changes.items() for m, c in ms.items() if c.significant]

    def to_frame(self) -> pd.DataFrame:
        """The changes as a tidy table, the same as :meth:`mesovision.Comparison.to_frame` of
        the saved comparison (columns and dtypes :attr:`FRAME_COLUMNS`)."""
        return changes_frame(self.changes, self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        """A copy of the record (equal to the saved comparison's
        :meth:`~mesovision.Comparison.to_dict`)."""
        return copy.deepcopy(self.record)

    def __repr__(self) -> str:
        n = sum(len(per) for per in self.changes.values())
        where = "record" if self.path is None else repr(str(self.path))
        return (
            f"<SavedComparison {where}: {n} changes in {len(self.changes)} regions, "
            f"{len(self.significant())} significant; lighting {self.settings.get('lighting')}>"
        )


def load_result(source: str | os.PathLike[str] | dict[str, Any]) -> SavedComparison:
    """Read a saved comparison: the ``result.json`` that :meth:`mesovision.Comparison.save`
    (or ``mesovision compare -o``) writes, a comparison ``mesovision batch`` cached, or the
    record of :meth:`~mesovision.Comparison.to_dict`.

    Parameters
    ----------
    source : str, os.PathLike or dict
        The output folder, its ``result.json``, a batch's cache entry
        (``OUT/cache/<cache_key>.json``, the results' ``cache_key``: the record it holds), or
        a record as a ``dict``.

    Returns
    -------
    SavedComparison
        ``changes``, ``verdicts``, ``significant()``, ``to_frame()`` and ``to_dict()`` equal to
        the saved comparison's; ``record`` the whole record.

    Raises
    ------
    InputFileError
        No ``result.json`` in the folder, a file that cannot be read or is not a comparison's
        record (or a batch's cache entry of a comparison that failed), or a record of a schema
        version this version cannot read (the message lists the readable ones,
        :data:`mesovision.record.READABLE_SCHEMA_VERSIONS`).
    UsageError
        ``source`` is neither a path nor a ``dict``, or a ``dict`` that is not a readable record.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import mesovision as mv
    >>> r = mv.compare(*mv.sample_pair(), treated=["left_cheek"], max_side=512)  # quick
    >>> saved = mv.load_result(r.save(pathlib.Path(tempfile.mkdtemp()) / "visit-2"))
    >>> saved.to_frame().equals(r.to_frame()), saved.verdicts == r.verdicts
    (True, True)
    >>> saved.changes["left_cheek"]["redness.mean_a"] == r.changes["left_cheek"]["redness.mean_a"]
    True
    """
    if isinstance(source, dict):
        return _saved(copy.deepcopy(source), None, UsageError, "record")
    if not isinstance(source, (str, os.PathLike)):
        raise UsageError(
            f"source: expected a folder, a result.json path or a record dict, got "
            f"{type(source).__name__}"
        )
    path = Path(source)
    if path.is_dir():
        path = path / "result.json"
    if not path.is_file():
        what = "no result.json here" if path.name == "result.json" else "no such file"
        raise InputFileError(f"{what}: save a comparison there first", path=str(path))
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read ({exc})", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputFileError(f"not a result.json: not JSON ({exc})", path=str(path)) from None
    return _saved(record, path, InputFileError, str(path))


def _saved(record: Any, path: Path | None, error: type, where: str) -> SavedComparison:
    """The :class:`SavedComparison` of ``record`` (or of the record a batch's cache entry
    holds), refused with ``error`` (naming ``where``) when it is not a comparison's record of a
    readable schema, or is the entry of a comparison that failed."""
    if isinstance(record, dict) and "cache_format" in record and "record" in record:
        if record.get("status") != "ok":  # a batch's entry of a failed comparison: no record
            raise error(
                f"a batch's comparison that failed, no result: {record.get('error_type')}: "
                f"{record.get('message')}",
                path=where,
            )
        record = record["record"]
    if not isinstance(record, dict) or not isinstance(record.get("changes"), dict):
        raise error("not a comparison's result.json record (no 'changes')", path=where)
    version = record.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS:
        readable = ", ".join(READABLE_SCHEMA_VERSIONS)
        raise error(f"result schema version {version!r} cannot be read; readable: {readable}",
                    path=where)  # fmt: skip
    try:
        changes = {
            region: {metric: _change(c) for metric, c in per.items()}
            for region, per in record["changes"].items()
        }
        verdicts = {
            family: Verdict(family=family, **_known(Verdict, v, skip=("family",)))
            for family, v in (record.get("comparability") or {}).items()
        }
    except (TypeError, AttributeError, KeyError) as exc:
        raise error(f"not a comparison's result.json record ({exc})", path=where) from None
    return SavedComparison(record=record, path=path, changes=changes, verdicts=verdicts)


def _change(c: dict[str, Any]) -> Change:
    """A :class:`Change` from its record (``Change.as_dict``)."""
    noise = NoiseTerms(**_known(NoiseTerms, c["noise"]))
    fields = _known(Change, c, skip=("noise",))
    before = fields.get("before")
    finite = isinstance(before, (int, float)) and math.isfinite(before) and before != 0
    if fields.get("relative") is None and finite:  # a NaN delta; None: no relative change
        fields["relative"] = math.nan
    return Change(**fields, noise=noise)


def _known(cls: type, d: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of dataclass ``cls`` that ``d`` holds, a ``None`` of a field typed ``float``
    (not ``float | None``) as NaN: JSON's ``null`` for a NaN or infinite value."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.name in skip or f.name not in d:
            continue
        value = d[f.name]
        out[f.name] = math.nan if value is None and f.type == "float" else value
    return out
