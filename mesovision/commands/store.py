"""``mesovision store check|backup|restore|manifest``: verify a store, copy it consistently,
restore it from a backup, or list its photos as a batch manifest for a study."""

from __future__ import annotations

import argparse
import json
import sys

from .common import add_store_option, add_subparser, printable

__all__ = ["add_parser", "run_backup", "run_check", "run_manifest", "run_restore"]


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
    _add_check(actions)
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
    r = add_subparser(
        actions,
        "restore",
        "restore the store folder (--store) from a backup: the backup is copied into a new "
        "folder, checked as store check checks a store, and only then put in the store's "
        "place; an existing store is replaced only with --force, and is then moved aside to "
        "DIR.replaced-<UTC time>, not deleted; a store open in another process (mesovision "
        "serve) is refused (exit 15); the backup itself is not changed",
        run_restore,
        examples=(
            "mesovision store restore /media/usb/clinic-2026-12-05 --store clinic",
            "mesovision store restore /media/usb/clinic-2026-12-05 --store clinic --force",
        ),
    )
    r.add_argument("backup", metavar="BACKUP", help="the backup folder (store backup DIR)")
    r.add_argument(
        "--force", action="store_true", help="replace an existing store (moved aside, not deleted)"
    )
    add_store_option(r)
    m = add_subparser(
        actions,
        "manifest",
        "write the photos of one view as a batch manifest for a study: a patient is a subject, "
        "its sessions with a photo of the view are visits 0, 1, 2, ... (0 = the first by date), "
        "with the photo the store reads (absolute path: batch --allow-outside), the treated "
        "regions of the view, the capture mode, the photo's scale (px_per_mm), and x_date and "
        "x_session as covariates; add an arm column "
        "for the study's arms",
        run_manifest,
        examples=(
            "mesovision store manifest study/manifest.csv --store clinic",
            "mesovision store manifest m.csv --patients P001,P002 --view scalp:crown",
            "mesovision store manifest m.csv --view trichoscopy:vertex --store clinic",
        ),
    )
    m.add_argument("file", metavar="FILE", help="the manifest CSV to write")
    m.add_argument("--view", default="front", help="photo view (default front)")
    m.add_argument(
        "--patients", metavar="IDS", help="comma-separated patient ids (default: every patient)"
    )
    m.add_argument("--force", action="store_true", help="overwrite FILE")
    add_store_option(m)


def _add_check(actions) -> None:
    c = add_subparser(
        actions,
        "check",
        "verify the database (integrity check), every photo file (a managed copy, or the "
        "original file of a photo filed without --copy: present, its SHA-256 as recorded) and "
        "that the folders hold only files the store wrote, and what a write, backup, restore or "
        "mesovision serve killed before its end left (looked for under the store's write lock); "
        "one line per problem, exit 12",
        run_check,
        examples=(
            "mesovision store check --store clinic",
            "mesovision store check --json",
            "mesovision store check --repair --store clinic",
        ),
    )
    c.add_argument("--json", action="store_true", help="the problems as a JSON list on stdout")
    c.add_argument(
        "--repair",
        action="store_true",
        help="first remove the leftovers of writes, backups, restores and servers killed before "
        "their end (only files and folders the store or the app made, by their own names; a "
        "running server's staged uploads are kept; each removal printed)",
    )
    add_store_option(c)


def run_check(args: argparse.Namespace) -> int:
    from ..errors import StoreError
    from ..store import open_store

    upgrade = "copy" if args.repair else "read"  # a check alone leaves an older store as it is
    with open_store(args.store, create=False, upgrade=upgrade) as store:
        removed = store.remove_leftovers() if args.repair else []
        leftovers = store.leftovers()  # under the write lock: none is a write in progress
        problems = leftovers + store.integrity_problems()
        where = str(store.directory)
    for line in removed:
        print(f"removed {printable(line)}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(problems, indent=2))
    else:
        for p in problems:
            print(f"  {printable(p)}")
    if problems:
        repair = (
            f"; {len(leftovers)} leftover(s) of interrupted operations: mesovision store check "
            "--repair removes them"
            if leftovers
            else ""
        )
        raise StoreError(f"{len(problems)} problem(s) found{repair}", path=where)
    if not args.json:
        print(f"store {printable(where)}: ok")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    from ..store import open_store

    with open_store(args.store, create=False, upgrade="read") as store:
        done = store.backup(args.dir)  # a store of an older schema: the backup is upgraded
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


def run_restore(args: argparse.Namespace) -> int:
    from ..store import resolve_store_dir, restore_store

    done = restore_store(args.backup, resolve_store_dir(args.store), force=args.force)
    aside = (
        f"; the store it replaced is in {printable(done['replaced'])}" if done["replaced"] else ""
    )
    print(
        f"store {printable(done['path'])} restored from {printable(args.backup)}: "
        f"{done['patients']} patient(s), {done['sessions']} session(s), {done['photos']} "
        f"photo(s), {done['analyses']} cached analysis(es){aside}"
    )
    return 0


def run_manifest(args: argparse.Namespace) -> int:
    import csv
    import io
    from pathlib import Path

    from ..course.study import MANIFEST_FIELDS, study_manifest
    from ..errors import UsageError
    from ..io import atomic_write_bytes, prepare_output_dir
    from ..io.write import require_folder
    from ..store import open_store
    from .export import store_files

    out = Path(args.file)  # an existing file, a missing folder, the store itself: refused first
    require_folder(out)
    prepare_output_dir(out.parent, [out.name], force=args.force, inputs=store_files(args.store))
    ids = None
    if args.patients is not None:
        ids = [x.strip() for x in args.patients.split(",") if x.strip()]
        if not ids:
            raise UsageError("--patients names no patient")
    with open_store(args.store, create=False, upgrade="read") as store:
        rows = study_manifest(store, view=args.view, patients=ids)
    if not rows:
        raise UsageError(f"no {args.view} photo in the store for these patients")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_bytes(out, buf.getvalue().encode("utf-8"), force=args.force)
    subjects = len({r["subject"] for r in rows})
    print(
        f"{printable(out)}: {len(rows)} photo(s) of {subjects} patient(s); next: mesovision "
        f"batch {printable(out)} -o OUT --allow-outside"
    )
    return 0
