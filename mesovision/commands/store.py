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
        "verify the database (integrity check), every photo file (a managed copy, or the "
        "original file of a photo filed without --copy: present, its SHA-256 as recorded) and "
        "that the folders hold only files the store wrote; one line per problem, exit 12",
        run_check,
        examples=("mesovision store check --store clinic", "mesovision store check --json"),
    )
    c.add_argument("--json", action="store_true", help="the problems as a JSON list on stdout")
    add_store_option(c)
    b = add_subparser(
        actions,
        "backup",
        "copy the store to a new folder: the database by SQLite's online backup, and every "
        "photo and analysis it recorded (writers wait meanwhile); a photo filed without --copy "
        "is copied from its original file as --copy would have, and the backup points at it",
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
    originals = (
        f" ({done['originals']} of them copied from the original files of sessions filed "
        "without --copy)"
        if done["originals"]
        else ""
    )
    print(
        f"backup of {printable(store.directory)} written to {printable(done['path'])}: database, "
        f"{done['photos']} photo(s){originals}, {done['analyses']} analysis folder(s)"
    )
    return 0
