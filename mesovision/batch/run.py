"""A batch run: from a manifest to the tables, resumable, writing nothing before it is checked.

:func:`run_batch` goes in four steps:

1. **Read and check the manifest** (:mod:`~mesovision.batch.manifest`), and every option, before
   anything is written; a dask scheduler is reached before anything is written too.
2. **Plan** the comparisons (:mod:`~mesovision.batch.plan`); items with the same cache key are
   computed once.
3. **Execute** the items whose key has no usable entry in ``OUT/cache/``
   (:mod:`~mesovision.batch.executors`), writing each result to the cache as it arrives
   (:mod:`~mesovision.batch.cache`). An item that fails is recorded and the others continue.
   Ctrl-C stops the workers at once (the finished items are cached) and writes no table.
4. **Tables** (:mod:`~mesovision.batch.results`): ``results.csv``/``results.parquet``,
   ``status.csv``, ``measurement_error.csv`` and ``summary.json``, written all together or not at
   all (:func:`mesovision.io.output_folder`): staged in a hidden folder and moved into place, so
   an interruption while writing them leaves the previous tables as they were.

Failures caused by the input (a :class:`~mesovision.errors.MesovisionError`) are cached like
results and reported again on a re-run; ``retry_failed=True`` computes them anew. An unexpected
error (a bug) or a crashed worker is never cached, so a re-run always retries it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from ..errors import InputFileError, UsageError
from ..tables import TABLE_NAMES, claim_outputs, spreadsheet_unsafe, write_table
from .cache import load_cache_entry, slim_entry, write_cache_entry
from .executors import DaskPool, LocalPool, Progress, default_jobs, execute, jobs_that_fit
from .manifest import Manifest, read_manifest
from .plan import BatchSettings, Item, not_compared, plan_items
from .results import build_tables

__all__ = ["FAILURE_FIELDS", "BatchSummary", "read_sdc_table", "run_batch"]

log = logging.getLogger(__name__)

#: The fields of each failed item in :attr:`BatchSummary.failures`.
FAILURE_FIELDS = ("subject", "view", "timepoint", "comparison", "error_type", "message")


@dataclass(frozen=True)
class BatchSummary:
    """What a run did (also written to ``OUT/summary.json``)."""

    out: Path
    n_items: int
    n_ok: int
    n_failed: int
    n_skipped: int
    n_cached: int  # items whose result came from the cache
    n_computed: int  # unique comparisons computed in this run
    seconds: float
    tables: tuple[Path, ...]
    failures: tuple[dict, ...]
    worker_peak_rss_mb: dict = field(default_factory=dict)
    # subjects and views with photos of one visit only: in no table (:func:`.not_compared`)
    not_compared: tuple[dict, ...] = ()

    def as_dict(self) -> dict:
        return {
            "out": str(self.out),
            "n_items": self.n_items,
            "n_ok": self.n_ok,
            "n_failed": self.n_failed,
            "n_skipped": self.n_skipped,
            "n_cached": self.n_cached,
            "n_computed": self.n_computed,
            "seconds": self.seconds,
            "tables": [str(p) for p in self.tables],
            "failures": list(self.failures),
            "not_compared": list(self.not_compared),
            "worker_peak_rss_mb": {str(k): v for k, v in self.worker_peak_rss_mb.items()},
        }


def read_sdc_table(path: str | os.PathLike[str]):
    """A measurement-error table (``measurement_error.csv``): columns ``view, region, metric,
    sdc`` at least. Raises :class:`InputFileError` (missing) or :class:`UsageError` (columns)."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputFileError("no such file" if not p.exists() else "not a file", path=str(p))
    try:
        df = pd.read_csv(p, dtype={"view": str, "region": str, "metric": str})
    except (OSError, ValueError) as exc:
        raise UsageError(f"not a measurement-error CSV ({exc})", path=str(p)) from None
    need = ["view", "region", "metric", "sdc"]
    miss = [c for c in need if c not in df.columns]
    if miss:
        raise UsageError(
            f"missing column{'s' if len(miss) > 1 else ''} {', '.join(miss)}; need "
            f"{', '.join(need)} (as written by mesovision batch)",
            path=str(p),
        )
    for c in ("view", "region", "metric"):  # as written by write_table
        df[c] = df[c].map(spreadsheet_unsafe)
    if df.duplicated(["view", "region", "metric"]).any():
        raise UsageError("duplicate view/region/metric rows", path=str(p))
    return df[need]


def run_batch(
    manifest: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    settings: BatchSettings | None = None,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    previous: bool = False,
    retry_failed: bool = False,
    baseline: str | None = None,
    allow_outside: bool = False,
    default_mode: str = "face",
    covariates=None,
    sdc: str | os.PathLike[str] | None = None,
    sdc_from_repeats: bool = False,
    progress: Callable[[Progress], None] | None = None,
    overwrite: bool = False,
    threads: int | None = None,
) -> BatchSummary:
    """Run every comparison of a manifest into ``out_dir`` (see the module docstring).

    Parameters
    ----------
    manifest : str or os.PathLike
        The manifest CSV (:func:`read_manifest`).
    out_dir : str or os.PathLike
        Output folder, created if needed; ``out_dir/cache/`` holds one JSON per comparison.
        Re-running into the same folder resumes; the tables are replaced.
    settings : BatchSettings, optional
        Alignment and comparison settings (default :class:`BatchSettings()`).
    jobs : int, optional
        Local workers (default: the CPUs available; fewer for fewer comparisons or too little
        memory, :func:`.jobs_that_fit`); dask: 2x this in flight (default: 2x its threads).
    executor, scheduler : {"local", "dask"}, str
        A local process pool (``spawn``) or a dask cluster at ``scheduler`` (``tcp://host:port``,
        only with ``executor="dask"``: a usage error otherwise).
    previous, retry_failed : bool, optional
        Also compare every timepoint with the previous one; recompute failed cached items.
    threads : int, optional
        Each worker's comparison's ``threads`` (default 1 locally): the same results.
    baseline, allow_outside, default_mode, covariates
        See :func:`~mesovision.batch.manifest.read_manifest`.
    sdc, sdc_from_repeats : path, bool, optional
        A ``measurement_error.csv`` (or this manifest's repeats): noise floor = ``max(noise
        floor, SDC)`` on matching rows (view, region, metric), ``significant`` recomputed
        (see :mod:`mesovision.repeatability`).
    progress : callable, optional
        Called with a :class:`Progress` at the start and after every finished comparison.
    overwrite : bool, optional
        Replace tables in ``out_dir`` that mesovision did not write
        (:func:`~mesovision.tables.claim_outputs`).

    Returns
    -------
    BatchSummary

    Raises
    ------
    UsageError, InputFileError
        A bad manifest, option or ``sdc`` file (nothing is written).
    OutputExists, OutputError
        ``out_dir`` holds a table mesovision did not write, or cannot be written.
    """
    t_start = time.perf_counter()
    settings = _check_options(settings or BatchSettings(), executor, scheduler, jobs, sdc,
                              sdc_from_repeats, threads)  # fmt: skip
    man = read_manifest(manifest, baseline=baseline, allow_outside=allow_outside,
                        default_mode=default_mode, covariates=covariates)  # fmt: skip
    sdc_table = _sdc_table(man, sdc, sdc_from_repeats)
    items = plan_items(man, settings, previous=previous)
    run = _Run(man, items, settings, jobs, executor, previous, retry_failed, sdc, sdc_table,
               sdc_from_repeats, progress, t_start, threads)  # fmt: skip
    # A dask cluster is reached before anything is written (a wrong address writes nothing).
    pool = DaskPool(scheduler, jobs) if executor == "dask" else None
    try:
        return run.into(out_dir, pool, overwrite=overwrite)
    finally:
        if pool is not None:
            pool.close()


def _warn_not_compared(man: Manifest, items: list[Item]) -> tuple[dict, ...]:
    """Name the subjects and views that have photos of one visit only: no comparison, so no
    row in any table (a subject lost to follow-up must not vanish without a word). Returns
    them (:func:`.not_compared`)."""
    left = not_compared(man, items)
    if left:
        names = "; ".join(
            f"{d['subject']} {d['view']} (timepoint {', '.join(d['timepoints'])})"
            for d in left[:10]
        )
        more = f"; ... and {len(left) - 10} more (summary.json)" if len(left) > 10 else ""
        log.warning(
            "%s: %d subject/view(s) with photos of one visit only, nothing to compare, in no "
            "table: %s%s",
            man.path,
            len(left),
            names,
            more,
        )
    return tuple(left)


def _sdc_table(man: Manifest, sdc, sdc_from_repeats: bool):
    if sdc_from_repeats and not any(r.repeat > 1 for r in man.rows):
        raise UsageError(
            "--sdc-from-repeats: the manifest has no repeat captures (repeat >= 2)",
            path=str(man.path),
        )
    return read_sdc_table(sdc) if sdc is not None else None


def _check_options(
    settings: BatchSettings, executor, scheduler, jobs, sdc, sdc_from_repeats, threads
):
    settings.check()
    if threads is not None and (type(threads) is not int or threads < 1):
        raise UsageError(f"threads must be a positive integer, got {threads!r}")
    if executor not in ("local", "dask"):
        raise UsageError(f"unknown executor {executor!r}; valid: local, dask")
    if scheduler is not None and executor != "dask":
        raise UsageError("--scheduler needs --executor dask (else the batch runs locally)")
    if jobs is not None and jobs < 1:
        raise UsageError(f"-j must be at least 1, got {jobs}")
    if sdc is not None and sdc_from_repeats:
        raise UsageError("give either --sdc FILE or --sdc-from-repeats, not both")
    return settings


@dataclass
class _Run:
    """One run's inputs and state: what came from the cache, what was computed."""

    man: Manifest
    items: list[Item]
    settings: BatchSettings
    jobs: int | None
    executor: str
    previous: bool
    retry_failed: bool
    sdc: object
    sdc_table: object
    sdc_from_repeats: bool
    progress: Callable[[Progress], None] | None
    t_start: float
    threads: int | None = None
    tasks: dict[str, dict] = field(default_factory=dict)
    entries: dict[str, dict] = field(default_factory=dict)
    from_cache: set[str] = field(default_factory=set)
    not_compared: tuple[dict, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.not_compared = _warn_not_compared(self.man, self.items)

    def into(self, out_dir, pool, *, overwrite: bool) -> BatchSummary:
        from ..io import prepare_output_dir

        inputs = {"the manifest": self.man.path, "the --sdc table": self.sdc}
        for r in self.man.rows:
            inputs |= {f"the photo of row {r.row}": r.path, f"the mask of row {r.row}": r.mask}
        out = prepare_output_dir(out_dir, TABLE_NAMES, force=True, inputs=inputs)
        claim_outputs(out, TABLE_NAMES, command="batch", force=overwrite)
        (out / "cache").mkdir(mode=0o700, exist_ok=True)
        for stale in (out / "cache").glob(".*.tmp"):  # left by a run killed while writing
            stale.unlink(missing_ok=True)
        self.read_cache(out)
        self.compute(out, pool)

        def load_record(key: str) -> dict | None:
            e = load_cache_entry(out, key)
            return None if e is None else e.get("record")

        results, status, me = build_tables(
            self.man,
            self.items,
            self.entries,
            self.from_cache,
            sdc_table=self.sdc_table,
            sdc_from_repeats=self.sdc_from_repeats,
            load_record=load_record,
        )
        summary = self.summary(out, status)
        self.write(out, summary, results, status, me)
        return summary

    def read_cache(self, out: Path) -> None:
        """Sort the items into those the cache answers and the tasks to compute."""
        for it in self.items:
            if it.key is None or it.key in self.tasks or it.key in self.entries:
                continue
            e = load_cache_entry(out, it.key)
            if e is not None and (e.get("status") == "ok" or not self.retry_failed):
                self.entries[it.key] = slim_entry(e)
                self.from_cache.add(it.key)
            else:
                self.tasks[it.key] = {**it.task, "threads": self.threads}

    def compute(self, out: Path, pool) -> None:
        """Execute the tasks, caching each entry as it arrives and reporting progress."""
        total = len(self.tasks) + len(self.from_cache)
        n_failed = sum(1 for k in self.from_cache if self.entries[k].get("status") != "ok")
        state = {"done": len(self.from_cache), "failed": n_failed}
        t_exec = time.perf_counter()

        def report() -> None:
            if self.progress is not None:
                self.progress(
                    Progress(
                        state["done"],
                        total,
                        len(self.from_cache),
                        state["failed"],
                        time.perf_counter() - t_exec,
                    )
                )

        def on_done(task: dict, entry: dict) -> None:
            if entry.get("cacheable"):
                write_cache_entry(out, entry)
                entry = slim_entry(entry)
            self.entries[task["key"]] = entry
            state["done"] += 1
            state["failed"] += entry.get("status") != "ok"
            if entry.get("status") != "ok":
                log.info("%s -> %s: %s", task["before"], task["after"], entry.get("message"))
            report()

        report()
        if self.tasks:
            todo = list(self.tasks.values())
            if pool is None:
                jobs = min(self.jobs or default_jobs(), len(todo))
                pool = LocalPool(jobs_that_fit(jobs, todo))
            execute(pool, todo, on_done)

    def summary(self, out: Path, status) -> BatchSummary:
        rss: dict[int, float] = {}
        for k in self.tasks:
            e = self.entries.get(k, {})
            if "worker_pid" in e:
                rss[e["worker_pid"]] = max(rss.get(e["worker_pid"], 0.0), e["worker_maxrss_mb"])
        st = status["status"]
        failures = tuple(
            {c: r[c] for c in FAILURE_FIELDS} for r in status[st == "failed"].to_dict("records")
        )
        return BatchSummary(
            out=out,
            n_items=len(self.items),
            n_ok=int((st == "ok").sum()),
            n_failed=int((st == "failed").sum()),
            n_skipped=int((st == "skipped").sum()),
            n_cached=int(status["cached"].sum()),
            n_computed=len(self.tasks),
            seconds=time.perf_counter() - self.t_start,
            tables=tuple(out / n for n in TABLE_NAMES if n != "summary.json"),
            failures=failures,
            worker_peak_rss_mb=rss,
            not_compared=self.not_compared,
        )

    def write(self, out: Path, summary: BatchSummary, results, status, me) -> None:
        """All tables at once or none: staged beside the old ones, moved into place at the end."""
        from ..io import output_folder, write_json
        from ..provenance import provenance

        s = self.settings
        sdc = str(self.sdc) if self.sdc is not None else None
        doc = {
            **summary.as_dict(),
            "manifest": str(self.man.path),
            "manifest_sha256": self.man.sha256,
            "timepoints": list(self.man.timepoints),
            "settings": {
                "refine": s.refine,
                "model": s.model,
                "lighting": s.lighting,
                "max_side": s.max_side,
                "force": s.force,
                "previous": self.previous,
                "executor": self.executor,
                "sdc": sdc if sdc is not None else ("repeats" if self.sdc_from_repeats else None),
                "baseline": self.man.timepoints[0] if self.man.timepoints else None,
                "covariates": list(self.man.covariates),
            },
            "mesovision": __version__,
            # the versions of this process's libraries (a cluster's workers record their own in
            # each cache entry's record: provenance)
            "provenance": provenance(),
        }
        with output_folder(out, TABLE_NAMES, force=True) as staging:
            write_table(results, staging / "results.csv", staging / "results.parquet")
            write_table(status, staging / "status.csv")
            write_table(me, staging / "measurement_error.csv")
            write_json(staging / "summary.json", doc, force=True)
        _warn_stale_stats(out)


def _warn_stale_stats(out: Path) -> None:
    """Warn when ``OUT/stats/`` holds statistics of other results than those just written
    (its ``summary.json`` records the SHA-256 of the results it read)."""
    import json

    from ..io import sha256_file

    try:
        stats = json.loads((out / "stats" / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(stats, dict) and stats.get("results_sha256") != sha256_file(
        out / "results.parquet"
    ):
        log.warning(
            "%s: statistics of earlier results; run mesovision stats %s again", out / "stats", out
        )
