"""``mesovision share OUT -o SHARED --key KEY.csv``: a batch's tables fit to leave the clinic."""

from __future__ import annotations

import argparse

from .common import add_subparser, printable

__all__ = ["DESCRIPTION", "add_parser", "run"]

DESCRIPTION = """\
Copy a batch's tables (results, status, measurement_error) for a study partner: subjects become
study codes drawn in random order (S001, ...), whose key to the clinic's ids goes to --key (CSV
subject,code, mode 0600, appended to when it exists: a subject keeps its code); the photos'
paths and hashes, the cache keys and status's messages are emptied; a covariate of calendar
dates becomes days since the subject's first date (NAME_days); text covariates are left out
unless --keep names them. Same columns and types as the batch's tables (mesovision stats reads
the copy). The data stay pseudonymous, not anonymous: personal data under the GDPR."""

EXAMPLES = (
    "# the study's tables for the sponsor; the key stays in the clinic",
    "mesovision share study/out -o to-sponsor --key clinic/study-key.csv",
    "# share the text covariate x_site, leave out the store's session ids",
    "mesovision share study/out -o to-sponsor --key clinic/study-key.csv --keep x_site "
    "--drop x_session",
)


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "share",
        "a batch's tables with study codes for subjects, without photo paths or dates",
        run,
        examples=EXAMPLES,
        description=DESCRIPTION,
    )
    p.add_argument("out", help="a batch output folder")
    p.add_argument("-o", "--shared", required=True, metavar="DIR", help="the folder to share")
    p.add_argument(
        "--key",
        required=True,
        metavar="FILE",
        help="the key file (subject,code) the clinic keeps, outside DIR; created or appended to",
    )
    p.add_argument(
        "--keep", default="", metavar="COLS", help="text covariates to share (comma-separated)"
    )
    p.add_argument(
        "--drop", default="", metavar="COLS", help="covariates to leave out (comma-separated)"
    )
    p.add_argument("--force", action="store_true", help="replace the files of an earlier share")


def _names(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def run(args: argparse.Namespace) -> int:
    from ..share import share_tables

    doc = share_tables(
        args.out,
        args.shared,
        args.key,
        keep=_names(args.keep),
        drop=_names(args.drop),
        force=args.force,
    )
    cov = doc["covariates"]
    print(
        f"{doc['subjects']} subject(s) as study codes ({doc['new_codes']} new in "
        f"{printable(args.key)}); tables in {printable(args.shared)}/"
    )
    for name, days in cov["as_days_since_first"].items():
        print(f"  {printable(name)}: dates as {printable(days)} (days since the subject's first)")
    if cov["left_out"]:
        left = ", ".join(printable(c) for c in cov["left_out"])
        print(f"  left out: {left} (--keep shares a text covariate)")
    return 0
