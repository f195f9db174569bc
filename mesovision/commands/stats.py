"""``mesovision stats OUT``: changes per arm and between arms, with CIs, tests and FDR."""

from __future__ import annotations

import argparse

from .common import add_subparser, printable

__all__ = ["DESCRIPTION", "EXAMPLES", "SHOWN", "add_parser", "run", "significant_line"]

DESCRIPTION = """\
Statistics on a batch's results (OUT/results.parquet): per arm x view x timepoint x region x
metric the Hodges-Lehmann pseudo-median change from baseline with its distribution-free 95 % CI
(Walsh averages), a Wilcoxon signed-rank test and a rank-biserial effect size, and the mean
change with its Student t 95 % CI; between arms a Mann-Whitney U test with the Hodges-Lehmann
shift and its distribution-free 95 % CI; where a subject treats one side of a left/right pair,
split-face rows test its treated side's change minus its other side's. Benjamini-Hochberg FDR
within each family of tests (within-arm, between-arm, split-face), the primary endpoints
(--primary, default the headline metrics of the treated regions) apart from the others, leaving
out tests too small to reach p < 0.05; the summary counts each family's discoveries apart. A
results table without a column stats reads, a subject twice in one group, or a --primary
endpoint with no change to test is refused (exit 2). Writes stats.csv, stats.parquet and
plots/trajectory_<view>_<metric>.png (files it wrote before are replaced, and its plots that
this run does not draw are removed; others only with --force), all together or not at all."""

EXAMPLES = (
    "# tables and plots of the batch in out/, written to out/stats/",
    "mesovision stats out",
    "# plot only the redness and texture metrics, write elsewhere",
    "mesovision stats out --metrics 'redness.*,texture.*' -o results/stats",
    "# the pre-registered endpoints: redness of both cheeks",
    "mesovision stats out --primary left_cheek:redness.mean_a,right_cheek:redness.mean_a",
    "# tables only",
    "mesovision stats out --no-plots",
)


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "stats",
        "statistics and trajectory plots of a batch",
        run,
        examples=EXAMPLES,
        description=DESCRIPTION,
    )
    p.add_argument("out", help="a batch output folder (with results.parquet)")
    p.add_argument("-o", "--stats-dir", metavar="DIR", help="where to write (default OUT/stats)")
    p.add_argument(
        "--metrics",
        metavar="GLOBS",
        help="plot only these metrics (comma-separated globs, e.g. 'redness.*'); a glob that "
        "matches no metric of the results is refused (exit 2) before anything is written",
    )
    p.add_argument(
        "--primary",
        metavar="ENDPOINTS",
        help="the pre-registered primary endpoints, comma-separated METRIC (in every region) or "
        "REGION:METRIC, e.g. 'left_cheek:redness.mean_a,right_cheek:redness.mean_a'; their "
        "tests are FDR-controlled apart from the others (default: the headline metric of each "
        "family in the regions the manifest declares treated)",
    )
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a stats table or plot in the folder that mesovision did not write",
    )


def run(args: argparse.Namespace) -> int:
    from ..stats import run_stats
    from .feedback import Feedback

    with Feedback("stats", quiet=args.quiet) as fb:
        st, paths = run_stats(
            args.out,
            args.stats_dir,
            metrics=args.metrics,
            primary=args.primary,
            plots=not args.no_plots,
            force=args.force,
            on_stage=lambda doing, done: fb.stage(doing, done=done),
        )
    from ..stats import significant_by_family

    sig = st[st["significant_fdr"]]
    w, b = (st["test"] == "within").sum(), (st["test"] == "between").sum()
    n_primary = int((st["endpoint"] == "primary").sum())
    untestable = int(st["p_fdr"].isna().sum())
    n_split = int((st["test"] == "split").sum())
    fams = ", ".join(
        f"{test} {ep} {k}"
        for test, eps in significant_by_family(st).items()
        for ep, k in eps.items()
        if test != "split" or n_split
    )
    tests = f"{w} within-arm and {b} between-arm"
    if n_split:
        tests = f"{w} within-arm, {b} between-arm and {n_split} split-face"
    print(
        f"{tests} tests ({n_primary} of primary endpoints; "
        f"{untestable} too small to reach p < 0.05, not counted); significant at FDR 5 % "
        f"within each family: {fams}"
    )
    for r in sig.sort_values("p_fdr").head(SHOWN).itertuples():
        print(significant_line(r))
    if len(sig) > SHOWN:
        print(f"  ... and {len(sig) - SHOWN} more significant (stats.csv: significant_fdr)")
    print(f"outputs in {printable(paths[0].parent)}/ ({len(paths)} files)")
    return 0


#: The significant rows printed (smallest ``p_fdr`` first); the others are counted.
SHOWN = 15


def significant_line(r) -> str:
    """One significant row of the stats table: the test, arm, view, timepoint, region and
    metric, the estimate and its 95 % interval in the metric's unit, the subjects (``n``,
    ``n_a+n_b`` between arms) and ``q``."""
    unit = "" if r.unit is None or r.unit != r.unit else f" {printable(r.unit)}"
    n = f"{r.n_a}+{r.n_b}" if r.test == "between" else f"{r.n}"
    return (
        f"  {r.test:<7} {printable(r.arm):<22} {printable(r.view):<10} "
        f"t={printable(r.timepoint):<6} {printable(r.region):<18} {printable(r.metric):<34} "
        f"{r.estimate:+.3g}{unit} [{r.ci_low:+.3g}, {r.ci_high:+.3g}] n={n} q={r.p_fdr:.2g}"
    )
