"""What :mod:`mesovision.stats` checks in a batch's results before and after testing.

Refusals (:class:`~mesovision.errors.UsageError`, exit 2, one line naming the file): a results
table without a column the statistics read (:data:`STATS_INPUT_COLUMNS`), a subject twice in
one group (two tables concatenated would count one subject as two), a ``--primary`` endpoint
that names nothing the results hold or nothing with a finite change to test.

Warnings (lines for the log): an arm without any tested change (:func:`untested_arms`), an arm
with tested changes at some timepoints and none at others (:func:`untested_timepoints`), an arm
whose subjects declare different treated regions (a split-face design: each region's test
pools treated and untreated sides, :func:`treated_sides_differ`), and an arm whose ``n``
differs between timepoints (missing visits, :func:`n_differs`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .tables import SCHEMAS

__all__ = [
    "STATS_INPUT_COLUMNS",
    "baseline_changes",
    "check_columns",
    "check_unique_subjects",
    "n_differs",
    "primary_endpoints",
    "treated_sides_differ",
    "untested_arms",
    "untested_timepoints",
]

#: The columns of ``results`` (:data:`mesovision.tables.SCHEMAS`) that ``stats`` reads; a table
#: without one of them is refused. The others (``endpoint``, ``comparability``, the
#: ``reference_timepoint`` columns, ...) are used when present.
STATS_INPUT_COLUMNS = ("subject", "arm", "view", "timepoint", "timepoint_rank", "comparison",
                       "region", "metric", "unit", "direction", "delta")  # fmt: skip
assert set(STATS_INPUT_COLUMNS) <= set(SCHEMAS["results"])


def check_columns(results, path) -> None:
    """Refuse a results table without one of :data:`STATS_INPUT_COLUMNS`, naming them all."""
    from .errors import UsageError

    missing = [c for c in STATS_INPUT_COLUMNS if c not in results.columns]
    if missing:
        raise UsageError(
            f"not a results table of mesovision batch: no column {', '.join(missing)} "
            f"(stats needs {', '.join(STATS_INPUT_COLUMNS)})",
            path=None if path is None else str(path),
        )


def check_unique_subjects(results, path=None) -> None:
    """Refuse a subject with two baseline changes in one group (view x timepoint x region x
    metric): ``n`` counts subjects, and a duplicate would count one twice."""
    from .errors import UsageError

    keys = ["subject", "view", "timepoint_rank", "region", "metric"]
    df = results[results["comparison"] == "baseline"]
    dup = df.duplicated(keys, keep=False).to_numpy(bool)
    if not dup.any():
        return
    first = df[dup].sort_values(keys, kind="stable").iloc[0]
    k = int((df[keys] == first[keys]).all(axis=1).sum())
    arm = "none" if first["arm"] is None or first["arm"] != first["arm"] else first["arm"]
    raise UsageError(
        f"subject {first['subject']} has {k} baseline changes in one group (arm {arm}, view "
        f"{first['view']}, timepoint {first['timepoint']}, region {first['region']}, metric "
        f"{first['metric']}): duplicate rows (tables concatenated or merged twice?) would count "
        "one subject as several; keep one row per subject",
        path=None if path is None else str(path),
    )


def baseline_changes(results):
    """The baseline comparisons with a finite change of a family the pair could compare (a
    change its verdict declares ``not_comparable`` was not tested: its delta carries the photos'
    mismatch); timepoints as text, a missing arm as ``""`` (one group)."""
    df = results[results["comparison"] == "baseline"]
    df = df[np.isfinite(df["delta"].to_numpy(np.float64))]
    if "comparability" in df.columns:
        df = df[(df["comparability"] != "not_comparable").fillna(True).to_numpy(bool)]
    return df.assign(
        arm=df["arm"].astype(object).where(df["arm"].notna(), ""),
        timepoint=df["timepoint"].astype(object).map(str),
    )


def _untestable(results, region: str, metric: str) -> str | None:
    """Why the endpoint ``region:metric`` (``region`` empty: every region) has no change to
    test, or ``None`` when it has one."""
    sel = results["metric"].astype(str) == metric
    if region:
        sel &= results["region"].astype(str) == region
    rows = results[sel.to_numpy(bool)]
    if rows.empty:
        return f"the results hold no change of metric {metric} in region {region}"
    base = rows[rows["comparison"] == "baseline"]
    if base.empty:
        return "no change from baseline (only repeat or previous comparisons)"
    finite = base[np.isfinite(base["delta"].to_numpy(np.float64))]
    if finite.empty:
        units = " ".join(base["unit"].dropna().astype(str).unique())
        scale = any(u in units for u in ("mm", "cm", "µm", "um"))
        return "no finite change" + (" (needs a scale: px_per_mm or ipd_mm)" if scale else "")
    if baseline_changes(finite).empty:
        return "every change from baseline declared not comparable (comparability_reason says why)"
    return None


def primary_endpoints(results, spec: str | None) -> set[str] | None:
    """The endpoints ``spec`` names (comma-separated ``metric`` or ``region:metric``), checked
    against the results; ``None`` without ``spec``. A name the results do not hold, or one
    without any finite change from baseline to test, raises
    :class:`~mesovision.errors.UsageError` saying which and why."""
    from .errors import UsageError

    if spec is None:
        return None
    items = {x.strip() for x in str(spec).split(",") if x.strip()}
    if not items:
        raise UsageError("--primary names no endpoint (give metric or region:metric, ...)")
    metrics, regions = set(results["metric"].astype(str)), set(results["region"].astype(str))
    for item in sorted(items):
        region, _, metric = item.rpartition(":")
        if metric not in metrics:
            raise UsageError(
                f"--primary {item}: no metric {metric!r} in the results; they hold: "
                + ", ".join(sorted(metrics))
            )
        if region and region not in regions:
            raise UsageError(
                f"--primary {item}: no region {region!r} in the results; they hold: "
                + ", ".join(sorted(regions))
            )
        why = _untestable(results, region, metric)
        if why:
            raise UsageError(f"--primary {item}: {why}; it would give no primary test")
    return items


def treated_sides_differ(results) -> list[str]:
    """One line per arm whose subjects' treated regions (the regions of their ``primary``
    baseline rows) are not the same: each region's test then pools treated and untreated
    sides (a split-face design)."""
    from .stats_split import treated_regions

    by_arm: dict[str, dict[str, tuple[str, ...]]] = {}
    for (arm, subject), regions in treated_regions(baseline_changes(results)).items():
        by_arm.setdefault(arm, {})[subject] = regions
    lines = []
    for arm, sides in sorted(by_arm.items()):
        kinds = sorted(set(sides.values()))
        if len(kinds) > 1:
            count = [
                f"{'+'.join(k) or 'none'}: {sum(v == k for v in sides.values())}" for k in kinds
            ]
            lines.append(
                f"arm {arm or '(no arm)'}: its subjects' treated regions differ (subjects per "
                f"treated regions: {'; '.join(count)}): each region's test pools treated and "
                "untreated sides; where a subject treats one side of a left/right pair, the "
                "split rows (test split) compare its treated side with its other side"
            )
    return lines


def n_differs(st) -> list[str]:
    """One line per arm whose within-arm ``n`` differs between the timepoints of one view x
    region x metric (missing visits): each timepoint is tested on the subjects it has."""
    w = st[st["test"] == "within"]
    lines = []
    for arm, g in w.groupby(w["arm"].astype(object).fillna(""), sort=True):
        spread = g.groupby(["view", "region", "metric"], observed=True)["n"].agg(["min", "max"])
        diff = spread[spread["min"] != spread["max"]]
        if len(diff):
            (view, region, metric), row = next(iter(diff.iterrows()))
            lines.append(
                f"arm {arm or '(no arm)'}: n differs between timepoints in {len(diff)} of "
                f"{len(spread)} view x region x metric (e.g. {view} {region} {metric}: "
                f"{row['min']} to {row['max']} subjects): each timepoint is tested on the "
                "subjects it has, and the trajectory plots join estimates of different subjects"
            )
    return lines


def _untested_counts(rows, status_rows) -> str:
    """How a group's comparisons and changes left it untested: how many of its ``rows`` (the
    results) were declared not comparable and, with its ``status_rows`` (``status.csv``, else
    ``None``), how many of its comparisons failed or were skipped."""
    refused = (
        0 if "comparability" not in rows else int((rows["comparability"] == "not_comparable").sum())
    )
    why = f"{refused} of its {len(rows)} changes not comparable"
    if status_rows is not None:
        bad = int(status_rows["status"].isin(["failed", "skipped"]).sum())
        why = f"{bad} of its {len(status_rows)} comparisons failed or skipped, {why}"
    return why


def untested_arms(results, st, status_csv: Path) -> list[str]:
    """One line per arm of the batch (its ``status.csv``, else its results) with no test in
    ``st``: how many of its comparisons failed or were skipped and how many changes were left
    out as not comparable, so that an arm does not vanish from a study without a word; a
    batch without arms and without any test gets the same line for all of it."""
    import pandas as pd

    status = pd.read_csv(status_csv, dtype=str) if status_csv.is_file() else None
    with_arms = status is not None and "arm" in status.columns
    arms = set(results["arm"].dropna().astype(str))
    if with_arms:
        arms |= set(status["arm"].dropna().astype(str))
    tested = set(st.loc[st["test"] == "within", "arm"].dropna().astype(str))
    groups = [
        (f"arm {a}", results[results["arm"].astype(object) == a],
         status[status["arm"] == a] if with_arms else None)
        for a in sorted(arms - tested)
    ]  # fmt: skip
    if not arms and not (st["test"] == "within").any():
        groups = [("the batch", results, status)]
    return [
        f"{name}: no change from baseline could be tested ({_untested_counts(rows, s)}; "
        "status.csv and the results' comparability_reason say why)"
        for name, rows, s in groups
    ]


def _visits(df):
    """``(arm, timepoint, rank)`` of each row: the arm as text (``""`` without one)."""
    arm = df["arm"].astype(object).where(df["arm"].notna(), "").map(str)
    tp = df["timepoint"].astype(object).map(str)
    return list(zip(arm, tp, df["timepoint_rank"].astype(int), strict=True))


def untested_timepoints(results, st, status_csv: Path) -> list[str]:
    """One line per arm with tested changes at some timepoints and none at others (each of
    those comparisons failed, was skipped or declared not comparable): such a timepoint has no
    row and the arm's trajectory leaves it out, so it is named with its counts from
    ``status.csv`` (else the results). An arm with no test at all is :func:`untested_arms`'s."""
    import pandas as pd

    base = results[results["comparison"] == "baseline"]
    status = pd.read_csv(status_csv, dtype=str) if status_csv.is_file() else None
    if status is not None and {"comparison", "timepoint", "timepoint_rank"} <= set(status):
        status = status[status["comparison"] == "baseline"]
    else:
        status = None
    visits = _visits(base) + ([] if status is None else _visits(status))
    tested = {(a, t) for a, t, _ in _visits(st[st["test"] == "within"])}
    by_arm: dict[str, dict[str, int]] = {}
    for arm, tp, rank in visits:
        if (arm, tp) not in tested and any(a == arm for a, _ in tested):
            by_arm.setdefault(arm, {})[tp] = rank
    keys_b = [(a, t) for a, t, _ in _visits(base)]
    keys_s = None if status is None else [(a, t) for a, t, _ in _visits(status)]
    lines = []
    for arm, tps in sorted(by_arm.items()):
        counts = []
        for tp in sorted(tps, key=tps.__getitem__):
            rows = base[[k == (arm, tp) for k in keys_b]]
            s = None if status is None else status[[k == (arm, tp) for k in keys_s]]
            counts.append(f"{tp} ({_untested_counts(rows, s)})")
        lines.append(
            f"arm {arm or '(no arm)'}: no change from baseline could be tested at timepoint "
            f"{'; '.join(counts)}: no row of stats there, and its trajectory leaves it out "
            "(status.csv and the results' comparability_reason say why)"
        )
    return lines
