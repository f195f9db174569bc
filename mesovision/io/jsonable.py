"""JSON: converting results to plain JSON types, and writing them atomically.

:func:`to_jsonable` turns numpy values, dataclasses, paths, enums and dates into JSON types
(non-finite floats become ``null``); :func:`write_json` writes the result as indented UTF-8
through :func:`mesovision.io.write.atomic_write_bytes`.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from .write import atomic_write_bytes

__all__ = ["to_jsonable", "write_json"]


def _json_key(key: Any) -> str | int | float | bool | None:
    if isinstance(key, np.generic):
        key = key.item()
    if key is None or isinstance(key, (str, int, float, bool)):
        return key
    if isinstance(key, PurePath):
        return str(key)
    if isinstance(key, enum.Enum):
        return _json_key(key.value)
    raise TypeError(f"cannot use {type(key).__name__} as a JSON key")


def to_jsonable(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON types; non-finite floats become ``None``.

    Handles numpy scalars and arrays, dataclasses (their fields, recursively), mappings, lists,
    tuples, sets (sorted), paths, enums (their value) and dates (ISO 8601).

    Raises
    ------
    TypeError
        For any other type (named in the message).
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {_json_key(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        items = [to_jsonable(v) for v in obj]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path: str | os.PathLike[str], obj: Any, *, force: bool = False) -> Path:
    """Write ``obj`` as indented UTF-8 JSON (key order kept), atomically.

    ``obj`` is first converted by :func:`to_jsonable` (numpy, dataclasses, tuples, paths; NaN and
    infinities become ``null``), then dumped with ``allow_nan=False``; nothing touches the disk
    until the whole text exists, so an unserializable object leaves no file behind.

    Raises
    ------
    TypeError
        ``obj`` holds a value with no JSON form.
    OutputExists
        The file exists and ``force`` is false.
    """
    text = json.dumps(
        to_jsonable(obj), indent=2, sort_keys=False, allow_nan=False, ensure_ascii=False
    )
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"), force=force)
