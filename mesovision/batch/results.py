"""The tables of a batch run, built from the plan and the cache entries.

:func:`build_tables` gives three DataFrames: ``results`` (one row per item x region x metric,
columns :data:`RESULT_COLUMNS`), ``status`` (one row per item, :data:`STATUS_COLUMNS`) and
``measurement_error`` (from the same-day repeats, :mod:`mesovision.repeatability`). They derive
entirely from the manifest and the cache, so re-running into the same folder rebuilds them
identically. Rows are sorted (subject, view, comparison, timepoint, repeat; natural order of the
names) and floats rounded (:func:`mesovision.tables.round_sig`).
"""

from __future__ import annotations

from collections.abc import Callable

from ..repeatability import apply_sdc, measurement_error
from ..tables import SCHEMAS, conform, covariate_type, round_sig
from .manifest import Manifest, natural_key
from .plan import COMPARISONS, Item

__all__ = [
    "RESULT_COLUMNS",
    "STATUS_COLUMNS",
    "body_check_columns",
    "build_tables",
    "covariate_types",
    "pd_numeric",
]

#: The columns of ``results.csv``/``results.parquet`` (then the manifest's covariates).
RESULT_COLUMNS = tuple(SCHEMAS["results"])
#: The columns of ``status.csv`` (then the manifest's covariates).
STATUS_COLUMNS = tuple(SCHEMAS["status"])


def _comparison_rows(it: Item, rec: dict, man: Manifest) -> list[dict]:
    al = rec.get("alignment") or {}
    light = rec.get("lighting") or {}
    de_after = (light.get("delta_e_after") or {}).get("median")
    iod = al.get("residual_iod")
    quality = {
        "residual_px": round_sig(al.get("residual_px")),
        "residual_iod_pct": round_sig(None if iod is None else 100.0 * iod),
        "coverage": round_sig(al.get("coverage")),
        "lighting_de00_after": round_sig(de_after),
        **body_check_columns(rec.get("body_checks")),
    }
    from ..hairline import hairline_metric_specs
    from ..metrics import display_name
    from ..record import null_columns, record_changes

    hairline_names = {m: s["display"] for m, s in hairline_metric_specs().items()}
    ident = _ident(it, man)
    verdicts = rec.get("comparability") or {}
    changes = record_changes(rec)
    rows = []
    for region in sorted(changes):
        for metric in sorted(changes[region]):
            c = changes[region][metric]
            floor = round_sig(c.get("noise_floor"))
            verdict = verdicts.get(c.get("family")) or {}
            rows.append(
                {
                    **ident,
                    "region": region,
                    "metric": metric,
                    "measure": display_name(metric) or hairline_names.get(metric),
                    "unit": c.get("unit"),
                    "direction": c.get("direction"),
                    "before": round_sig(c.get("before")),
                    "after": round_sig(c.get("after")),
                    "delta": round_sig(c.get("delta")),
                    "relative": round_sig(c.get("relative")),
                    "noise_floor": floor,
                    "noise_floor_pair": floor,
                    "sdc": float("nan"),
                    "se": round_sig(c.get("se")),
                    **{k: round_sig(v) for k, v in null_columns(c).items()},
                    "z": round_sig(c.get("z")),
                    "p": round_sig(c.get("p")),
                    "q": round_sig(c.get("q")),
                    "significant": bool(c.get("significant")),
                    "endpoint": c.get("endpoint"),
                    "family": c.get("family"),
                    "comparability": verdict.get("status"),
                    "comparability_reason": verdict.get("reason") or None,
                    **quality,
                    "before_path": it.before.rel,
                    "after_path": it.after.rel,
                    "before_sha256": it.before.sha256,
                    "after_sha256": it.after.sha256,
                    "cache_key": it.key,
                }
            )
    return rows


def body_check_columns(checks: list[dict] | None) -> dict:
    """The body checks' columns of a comparison (``result.json`` ``body_checks``, body mode):
    ``framing_overlap``, ``framing_scale`` and ``light_turn_deg`` (the values of the checks
    ``framing_overlap``, ``framing_scale`` and ``light_after_alignment``; NaN without body
    checks, and the light's when a photo's light has no dominant direction), and
    ``body_checks_failed``, the failing checks' names joined by ``,`` (``None`` when none
    failed or none were made)."""
    by = {c["name"]: c for c in checks or []}

    def value(name: str) -> float:
        return round_sig((by.get(name) or {}).get("value"))

    failed = [c["name"] for c in checks or [] if not c.get("ok")]
    return {
        "framing_overlap": value("framing_overlap"),
        "framing_scale": value("framing_scale"),
        "light_turn_deg": value("light_after_alignment"),
        "body_checks_failed": ",".join(failed) or None,
    }


def _ident(it: Item, man: Manifest) -> dict:
    """The columns that name an item, then its covariates (those of its later photo's row)."""
    return {
        "subject": it.subject,
        "arm": it.arm,
        "view": it.view,
        "timepoint": it.timepoint,
        "timepoint_rank": man.rank(it.timepoint),
        "reference_timepoint": it.reference_timepoint,
        "reference_timepoint_rank": man.rank(it.reference_timepoint),
        "comparison": it.comparison,
        "repeat": it.repeat,
        **dict(zip(man.covariates, it.after.covariates, strict=True)),
    }


def _sort_key(it: Item, man: Manifest) -> tuple:
    return (
        natural_key(it.subject),
        natural_key(it.view),
        COMPARISONS.index(it.comparison),
        man.rank(it.timepoint),
        it.repeat,
    )


def _warnings(alignment: list[str], log: list[str]) -> list[str]:
    """The ``warnings`` of a status row, each once: the alignment warnings that no log line
    reports, then the log lines. A warning ``W`` is also logged as ``warning: <file>: W``
    (perhaps with ``; proceeding (--force)``): that line, which names the file, stands for it."""

    def logged(w: str) -> bool:
        for line in log:
            text = line.split(": ", 1)[-1]  # without the level
            if text == w or text.endswith(f": {w}") or f": {w}; " in text:
                return True
        return False

    return list(dict.fromkeys([*(w for w in alignment if not logged(w)), *log]))


def _paths_now(entry: dict, it: Item):
    """A function naming the photos in a cached entry's text by their paths now: the study may
    have moved since the entry was computed (the cache key is of the photos' bytes, not of
    their paths)."""
    then = entry.get("task") or {}
    pairs = [(then.get(k), it.task.get(k)) for k in ("before", "after") if it.task]
    pairs = [(a, b) for a, b in pairs if a and b and a != b]

    def here(text: str | None) -> str | None:
        for a, b in pairs:
            text = text.replace(a, b) if text else text
        return text

    return here


def _status_row(
    it: Item, man: Manifest, entries, from_cache, load_record
) -> tuple[dict, dict | None]:
    """The status row of ``it`` and its record (``None`` unless the item is ok)."""
    ident = _ident(it, man)
    e = entries.get(it.key) if it.key else None
    st = {
        **ident,
        "before_path": it.before.rel if it.before else None,
        "after_path": it.after.rel,
        "cache_key": it.key,
    }
    if it.skip_reason is not None:
        st.update(status="skipped", cached=False, error_type=None, message=it.skip_reason,
                  exit_code=None, seconds=float("nan"), warnings=None)  # fmt: skip
        return st, None
    if e is None:  # interrupted before this item ran
        st.update(status="failed", cached=False, error_type="NotRun",
                  message="not run (interrupted)", exit_code=1, seconds=float("nan"),
                  warnings=None)  # fmt: skip
        return st, None
    here = _paths_now(e, it)
    warns = _warnings(e.get("alignment_warnings") or [], e.get("log") or [])
    st.update(
        status=e["status"],
        cached=it.key in from_cache,
        error_type=e.get("error_type") or None,
        message=here(e.get("message")) or None,
        exit_code=e.get("exit_code"),
        seconds=round_sig(e.get("seconds"), 4),
        warnings=here(" | ".join(warns)) or None,
    )
    if e["status"] != "ok":
        return st, None
    rec = e.get("record")
    if rec is None and load_record is not None:
        rec = load_record(it.key)
    if rec is None:
        st.update(status="failed", error_type="CacheLost", exit_code=1,
                  message="the cached result disappeared; run again")  # fmt: skip
    return st, rec


def build_tables(
    man: Manifest,
    items: list[Item],
    entries: dict[str, dict],
    from_cache: set[str],
    *,
    sdc_table=None,
    sdc_from_repeats: bool = False,
    load_record: Callable[[str], dict | None] | None = None,
):
    """``(results, status, measurement_error)`` DataFrames from the items and their entries.

    An entry without its ``record`` (see :func:`~mesovision.batch.cache.slim_entry`) has it read
    back with ``load_record`` (the cache), one at a time, so that a large batch never holds every
    record in memory."""
    import pandas as pd

    chunks = []
    status: list[dict] = []
    for it in sorted(items, key=lambda i: _sort_key(i, man)):
        st, rec = _status_row(it, man, entries, from_cache, load_record)
        if rec is not None:
            chunks.append(pd.DataFrame(_comparison_rows(it, rec, man)))
        status.append(st)
    cov = covariate_types(man)
    tps = list(man.timepoints)
    raw = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    results = conform(raw, "results", timepoints=tps, extra=cov)
    me = conform(measurement_error(results), "measurement_error")
    if sdc_from_repeats:
        sdc_table = me
    if sdc_table is not None:
        results = apply_sdc(results, sdc_table)
    status_df = conform(pd.DataFrame(status), "status", timepoints=tps, extra=cov)
    return results, status_df, me


def covariate_types(man: Manifest) -> dict[str, str]:
    """``{covariate: "float64" or "string"}`` for the covariates of ``man``, decided on all the
    manifest's values of each (see :func:`mesovision.tables.covariate_type`)."""
    return {
        c: covariate_type(r.covariates[i] for r in man.rows) for i, c in enumerate(man.covariates)
    }


def pd_numeric(s):
    """``s`` as numbers: ``int64`` when every value is whole, else ``float64``."""
    import pandas as pd

    v = pd.to_numeric(s)
    if len(v) and (v == v.round()).all():
        return v.astype("int64")
    return v.astype("float64")
