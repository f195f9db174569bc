"""Batch comparisons from a manifest: validation, a content-addressed cache, local or dask
executors, per-item status, and tidy tables.

A run (:func:`run_batch`) reads and checks a manifest (:mod:`.manifest`), plans every comparison
it asks for (:mod:`.plan`), executes those the cache in ``OUT/cache/`` cannot answer
(:mod:`.executors` running :mod:`.worker` tasks, results kept by :mod:`.cache`) and writes the
tables (:mod:`.results`, written by :mod:`mesovision.tables`); :mod:`.run` ties the steps
together and says what a run guarantees on interruption. Re-running into the same folder is the
resume path: the tables derive entirely from the manifest and the cache.

The names below are the package's public interface; the table writers (:func:`round_sig`,
:func:`write_table`, :func:`claim_outputs`, the spreadsheet-safety helpers) live in
:mod:`mesovision.tables` and are re-exported here.
"""

from ..tables import (
    FORMULA_TRIGGERS,
    OUTPUT_MARKER,
    SIGNIFICANT_DIGITS,
    TABLE_NAMES,
    claim_outputs,
    round_sig,
    spreadsheet_safe,
    spreadsheet_safe_frame,
    spreadsheet_unsafe,
    write_table,
)
from .cache import load_cache_entry, write_cache_entry
from .executors import MAX_TASKS_PER_CHILD, Progress, default_jobs
from .manifest import (
    MAX_REPEAT,
    MAX_TIMEPOINT,
    MODES,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Manifest,
    Row,
    natural_key,
    read_manifest,
)
from .plan import CACHE_FORMAT, COMPARISONS, BatchSettings, Item, cache_key, plan_items
from .results import RESULT_COLUMNS, STATUS_COLUMNS, build_tables, pd_numeric
from .run import BatchSummary, read_sdc_table, run_batch
from .worker import run_item

__all__ = [
    "CACHE_FORMAT",
    "COMPARISONS",
    "FORMULA_TRIGGERS",
    "MAX_REPEAT",
    "MAX_TASKS_PER_CHILD",
    "MAX_TIMEPOINT",
    "MODES",
    "OPTIONAL_COLUMNS",
    "OUTPUT_MARKER",
    "REQUIRED_COLUMNS",
    "RESULT_COLUMNS",
    "SIGNIFICANT_DIGITS",
    "STATUS_COLUMNS",
    "TABLE_NAMES",
    "BatchSettings",
    "BatchSummary",
    "Item",
    "Manifest",
    "Progress",
    "Row",
    "build_tables",
    "cache_key",
    "claim_outputs",
    "default_jobs",
    "load_cache_entry",
    "natural_key",
    "pd_numeric",
    "plan_items",
    "read_manifest",
    "read_sdc_table",
    "round_sig",
    "run_batch",
    "run_item",
    "spreadsheet_safe",
    "spreadsheet_safe_frame",
    "spreadsheet_unsafe",
    "write_cache_entry",
    "write_table",
]
