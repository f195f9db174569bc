"""``mesovision batch MANIFEST -o OUT``: every comparison of a trial, cached and resumable."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .common import (
    add_method_options,
    add_subparser,
    add_threads_option,
    int_range,
    max_side_px,
    new_folder_ok,
    printable,
    quiet_stdout,
)

__all__ = ["DESCRIPTION", "EXAMPLES", "ProgressBar", "add_parser", "failure_line", "run"]

DESCRIPTION = """\
Compare every later timepoint of each subject and view with its baseline (and with the previous
timepoint with --previous), and every same-day repeat with repeat 1, from a manifest CSV with the
columns subject, timepoint, view, path (optional: arm, treated, reference, repeat,
timepoint_order, mode, px_per_mm, ipd_mm; covariates: any x_* column and those named with
--covariates). The before photo's px_per_mm or ipd_mm gives a comparison its scale. Results are
cached in OUT/cache/ as each comparison finishes: re-running the same command resumes. Writes
OUT/results.csv, results.parquet, status.csv, measurement_error.csv and summary.json. Exits 13
when any item failed (status.csv says which; the tables hold the others)."""

EXAMPLES = (
    "# compare every timepoint of the trial on 4 local workers; run it again to resume",
    "mesovision batch trial/manifest.csv -o out -j 4",
    "# also compare each visit with the one before; carry the age and bmi columns",
    "mesovision batch trial/manifest.csv -o out --previous --covariates age,bmi",
    "# raise each noise floor to the smallest detectable change of the same-day repeats",
    "mesovision batch trial/manifest.csv -o out --sdc-from-repeats",
    "# run the comparisons on a dask cluster",
    "mesovision batch trial/manifest.csv -o out --executor dask --scheduler tcp://host:8786",
)


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "batch",
        "compare every timepoint of a trial from a manifest",
        run,
        examples=EXAMPLES,
        description=DESCRIPTION,
    )
    p.add_argument("manifest", help="manifest CSV (paths relative to its folder)")
    p.add_argument(
        "-o",
        "--out",
        required=True,
        help="output folder (resumable; created if missing, its parent must exist)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int_range(1, 4096, "a number of workers"),
        default=None,
        metavar="N",
        help="local worker processes (default: the CPUs available; fewer, with a warning, when "
        "the available memory cannot hold N comparisons of the largest photos); with dask: at "
        "most 2N items submitted at once",
    )
    add_threads_option(p, "each worker's comparison")
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="where the comparisons run: local processes, or a dask cluster (default: local)",
    )
    p.add_argument("--scheduler", metavar="ADDR", help="dask scheduler address (tcp://host:8786)")
    p.add_argument(
        "--previous", action="store_true", help="also compare each timepoint with the previous"
    )
    p.add_argument("--retry-failed", action="store_true", help="recompute items cached as failed")
    p.add_argument(
        "--baseline",
        metavar="LABEL",
        help="the baseline timepoint (default: the first in the manifest's order)",
    )
    p.add_argument(
        "--covariates",
        metavar="COL,...",
        help="manifest columns to carry into results.csv and status.csv as covariates "
        "(columns named x_* are carried without this)",
    )
    p.add_argument(
        "--allow-outside",
        action="store_true",
        help="accept photo paths outside the manifest's folder",
    )
    p.add_argument(
        "--sdc",
        metavar="FILE",
        help="measurement_error.csv: noise floor = max(comparison floor, smallest detectable "
        "change)",
    )
    p.add_argument(
        "--sdc-from-repeats",
        action="store_true",
        help="the same with the SDC from this manifest's repeat captures",
    )
    _add_comparison_options(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")


def _add_comparison_options(p) -> None:
    """The options of each comparison (the same for every item; part of its cache key)."""
    p.add_argument(
        "--mode",
        choices=("face", "body", "scalp", "trichoscopy"),
        default="face",
        help="mode of the rows without a mode value (default: face)",
    )
    add_method_options(p)
    p.add_argument(
        "--max-side",
        type=max_side_px,
        default=2048,
        metavar="PX",
        help="long side of the working copy of each photo, in pixels (default: 2048)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="proceed past quality thresholds with a warning (a different cache entry); "
        "also replace tables in OUT that mesovision did not write",
    )


class ProgressBar:
    """Done/total, rate and time left on stderr: ``\\r`` updates on a terminal, a line every
    ``interval_s`` seconds (and at the end) otherwise."""

    def __init__(self, stream=None, *, interval_s: float = 10.0, width: int = 24):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s
        self.width = width
        self.last = -1e9
        self.shown = False

    @staticmethod
    def _clock(s: float) -> str:
        s = int(round(s))
        return (
            f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
            if s >= 3600
            else f"{s // 60}:{s % 60:02d}"
        )

    def line(self, p) -> str:
        frac = p.done / p.total if p.total else 1.0
        computed = p.done - p.cached
        rate = computed / p.elapsed_s if p.elapsed_s > 0 and computed else 0.0
        left = 0.0 if p.done >= p.total else (p.total - p.done) / rate if rate > 0 else None
        bar = "#" * int(round(frac * self.width))
        eta = self._clock(left) if left is not None else "?"
        failed = f"  {p.failed} failed" if p.failed else ""
        return (
            f"batch [{bar:<{self.width}}] {p.done}/{p.total} ({100 * frac:.0f} %)  "
            f"{rate:.2f}/s  left {eta}{failed}"
        )

    def __call__(self, p) -> None:
        now = time.monotonic()
        final = p.done >= p.total
        if self.tty:
            self.stream.write("\r" + self.line(p) + " " * 4)
            if final:
                self.stream.write("\n")
            self.stream.flush()
        elif final or now - self.last >= self.interval_s:
            if not (final and self.shown and p.done == p.cached):
                self.stream.write(self.line(p) + "\n")
                self.stream.flush()
            self.last = now
        self.shown = True


def failure_line(f: dict) -> str:
    """One failed item of the summary, on one line (control characters escaped)."""
    return printable(
        f"  failed: {f['subject']} {f['view']} {f['timepoint']} ({f['comparison']}): "
        f"{f['error_type']}: {f['message']}"
    )


def run(args: argparse.Namespace) -> int:
    from ..batch import BatchSettings, run_batch

    new_folder_ok(args.out)
    settings = BatchSettings(
        refine=args.refine,
        model=args.model,
        lighting=args.lighting,
        max_side=args.max_side,
        force=args.force,
    )
    progress = None if getattr(args, "quiet", False) or args.json else ProgressBar()
    s = run_batch(
        args.manifest,
        args.out,
        settings=settings,
        jobs=args.jobs,
        executor=args.executor,
        scheduler=args.scheduler,
        previous=args.previous,
        retry_failed=args.retry_failed,
        baseline=args.baseline,
        allow_outside=args.allow_outside,
        default_mode=args.mode,
        covariates=args.covariates,
        sdc=args.sdc,
        sdc_from_repeats=args.sdc_from_repeats,
        progress=progress,
        overwrite=args.force,
        threads=args.threads,
    )
    # The summary in one write (a few KiB, within a pipe's buffer): a reader that stops early
    # (| head) still gets it whole, so the exit code does not depend on when the reader stops.
    text = json.dumps(s.as_dict(), indent=2, allow_nan=False) if args.json else summary_text(s)
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left: the failed items' status still wins over 141
        if not s.n_failed:
            raise
        quiet_stdout()
    if s.n_failed:
        from ..errors import ItemsFailed

        print(
            f"mesovision: error: {printable(s.out / 'status.csv')}: {s.n_failed} of {s.n_items} "
            "items failed (listed there; the tables hold the others)",
            file=sys.stderr,
        )
        return ItemsFailed.exit_code
    return 0


def summary_text(s) -> str:
    """The summary lines of a finished batch: counts, the first ten failures, the outputs."""
    lines = [
        f"{s.n_items} items: {s.n_ok} ok, {s.n_failed} failed, {s.n_skipped} skipped; "
        f"{s.n_cached} from the cache, {s.n_computed} "
        f"comparison{'' if s.n_computed == 1 else 's'} computed in {s.seconds:.1f} s"
    ]
    lines += [failure_line(f) for f in s.failures[:10]]
    if len(s.failures) > 10:
        lines.append(f"  ... and {len(s.failures) - 10} more (status.csv)")
    outputs = ", ".join([p.name for p in s.tables] + ["summary.json", "cache/"])
    lines.append(printable(f"outputs in {s.out}/: {outputs}"))
    return "\n".join(lines)
