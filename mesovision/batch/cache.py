"""The batch's content-addressed cache: one JSON file per comparison in ``OUT/cache/``.

Each finished comparison is written to ``OUT/cache/<key>.json`` atomically as soon as it arrives
(:func:`write_cache_entry`), so an interrupted run (even ``kill -9``) loses nothing finished and a
re-run resumes. :func:`load_cache_entry` reads an entry back only when it is whole and of this
key and format (:data:`~mesovision.batch.plan.CACHE_FORMAT`); anything else is recomputed.
While a run is under way it keeps the entries without their (large) records
(:func:`slim_entry`) and reads each record back when the tables are built.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .plan import CACHE_FORMAT

__all__ = ["cache_path", "load_cache_entry", "slim_entry", "write_cache_entry"]

log = logging.getLogger(__name__)


def cache_path(out: Path, key: str) -> Path:
    """Where the cache entry of ``key`` lives in the output folder ``out``."""
    return out / "cache" / f"{key}.json"


def load_cache_entry(out: Path, key: str) -> dict | None:
    """The cache entry of ``key`` in ``out``, or ``None`` (absent, unreadable or not ours)."""
    p = cache_path(out, key)
    try:
        entry = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable cache entry, recomputing (%s)", p, exc)
        return None
    if (
        not isinstance(entry, dict)
        or entry.get("key") != key
        or entry.get("cache_format") != CACHE_FORMAT
    ):
        log.warning("%s: cache entry of another key or format, recomputing", p)
        return None
    problem = _entry_problem(entry)
    if problem is not None:
        log.warning("%s: malformed cache entry (%s), recomputing", p, problem)
        return None
    return entry


def _is_number(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _entry_problem(entry: dict) -> str | None:
    """What is wrong with a cache entry that parsed as JSON, or ``None``: the fields the tables
    read must be there with their types, and an ``ok`` entry must hold at least one change."""
    status = entry.get("status")
    if status not in ("ok", "failed"):
        return f"status {status!r}"
    if not isinstance(entry.get("log", []), list) or not _is_number(entry.get("seconds")):
        return "log or seconds"
    if status == "failed":
        if not (
            isinstance(entry.get("error_type"), str)
            and isinstance(entry.get("message"), str)
            and isinstance(entry.get("exit_code"), int)
        ):
            return "a failure without error_type, message or exit_code"
        return None
    rec = entry.get("record")
    if not isinstance(rec, dict) or not isinstance(rec.get("alignment", {}), dict):
        return "no record"
    changes = rec.get("changes")
    if not isinstance(changes, dict) or not changes:
        return "no changes in the record"
    for region, metrics in changes.items():
        if not isinstance(metrics, dict) or not metrics:
            return f"region {region!r} has no metrics"
        for metric, c in metrics.items():
            if not isinstance(c, dict) or not all(
                _is_number(c.get(f)) for f in ("before", "after", "delta", "noise_floor")
            ):
                return f"change {region}/{metric} is not a set of numbers"
    return None


def slim_entry(entry: dict) -> dict:
    """The entry without its (large) record, keeping the alignment warnings for status.csv."""
    rec = entry.get("record") or {}
    slim = {k: v for k, v in entry.items() if k != "record"}
    slim["alignment_warnings"] = list((rec.get("alignment") or {}).get("warnings") or [])
    return slim


def write_cache_entry(out: Path, entry: dict) -> Path:
    """Write ``entry`` to ``out/cache/<key>.json`` atomically (replacing an older one)."""
    from ..io import atomic_write_bytes, to_jsonable

    text = json.dumps(to_jsonable(entry), allow_nan=False, ensure_ascii=False)
    return atomic_write_bytes(cache_path(out, entry["key"]), text.encode("utf-8"), force=True)
