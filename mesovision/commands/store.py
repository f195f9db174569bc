"""``mesovision store check|backup``: verify a store, or copy it consistently."""

from __future__ import annotations

import argparse
import json

from .common import add_store_option, add_subparser, printable

__all__ = ["add_parser", "run_backup", "run_check"]


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "store",
        "check a store or back it up",
        examples=(
            "mesovision store check --store clinic",
            "mesovision store backup /media/usb/clinic-2026-12-05 --store clinic",
        ),
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = add_subparser(
        actions,
        "check",
        "verify the database (integrity check), every managed photo (present, its SHA-256 as "
        "written) and that the folders hold only files the store wrote; exit 12 on a problem",
        run_check,
        examples=("mesovision store check --store clinic", "mesovision store check --json"),
    )
    c.add_argument("--json", action="store_true", help="the problems as a JSON list on stdout")
    add_store_option(c)
    b = add_subparser(
        actions,
        "backup",
        "copy the store to a new folder: the database by SQLite's online backup, and every "
        "photo and analysis it recorded (writers wait meanwhile)",
        run_backup,
        examples=("mesovision store backup /media/usb/clinic-backup --store clinic",),
    )
    b.add_argument("dir", metavar="DIR", help="the backup folder (must not exist)")
    add_store_option(b)


def run_check(args: argparse.Namespace) -> int:
    from ..errors import StoreError
    from ..store import open_store

    with open_store(args.store, create=False) as store:
        problems = store.integrity_problems()
        where = str(store.directory)
    if args.json:
        print(json.dumps(problems, indent=2))
    else:
        for p in problems:
            print(f"  {printable(p)}")
    if problems:
        raise StoreError(f"{len(problems)} problem(s) found", path=where)
    if not args.json:
        print(f"store {printable(where)}: ok")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    from ..store import open_store

    with open_store(args.store, create=False) as store:
        done = store.backup(args.dir)
    print(
        f"backup of {printable(store.directory)} written to {printable(done['path'])}: database, "
        f"{done['photos']} photo(s), {done['analyses']} analysis folder(s)"
    )
    return 0
