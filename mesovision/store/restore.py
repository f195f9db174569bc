"""Restoring a store from a backup (``mesovision store restore BACKUP --store DIR``).

:func:`restore_store` builds the restored store in a new hidden folder beside ``DIR``: the
backup's database through SQLite's online backup API (read-only: the backup is not changed, and a
write-ahead log beside it is read, not lost) and every file its ``files`` table records, each
photo's SHA-256 checked. The copy is then opened as a store (upgraded to this version's schema,
``PRAGMA quick_check``) and checked as ``store check`` checks one; only a copy without a problem
takes ``DIR``'s place. An existing ``DIR`` is replaced only with ``force``, and then moved aside
(``DIR.replaced-<UTC time>``), never deleted, and never mixed with the backup: a
``store.sqlite-wal`` left in it by a crash would otherwise be applied to the restored database.
"""

from __future__ import annotations

import datetime
import os
import sqlite3
from pathlib import Path

from ..errors import (
    OutputExists,
    StoreBusy,
    StoreError,
    UsageError,
)
from .schema import (
    DB_NAME,
    SCHEMA_VERSION,
    connect_readonly,
    migrate,
    user_version,
)
from .upkeep import copy_recorded_files, discarded_on_failure, new_staging

__all__ = ["restore_store"]


def restore_store(
    backup: str | os.PathLike[str], target: str | os.PathLike[str], *, force: bool = False
) -> dict:
    """Restore the store folder ``target`` from the backup folder ``backup`` (a store, as
    ``store backup`` writes one). Returns ``{"patients": n, "sessions": n, "photos": n,
    "analyses": n, "path": str, "replaced": str or None}`` (``replaced``: where the store that
    was at ``target`` was moved).

    Raises
    ------
    UsageError
        ``backup`` is not a store, is ``target`` or inside it, or holds ``target`` (nothing is
        written).
    OutputExists
        ``target`` exists and ``force`` is false (nothing is written).
    InputFileError
        The backup's schema is newer than this mesovision knows.
    StoreError
        A recorded file of the backup is missing or changed, or the restored copy has a problem
        ``store check`` reports (nothing replaced; the problem is named).
    StoreBusy
        Another process (the clinic app, a command) has the store at ``target`` open.
    OutputError
        The restored copy cannot be written (``target``'s parent folder missing, disk full).
    """
    from .core import Store

    src, target = Path(backup).absolute(), Path(target).absolute()
    if not (src / DB_NAME).is_file():
        raise UsageError(f"not a store backup ({DB_NAME} not found)", path=str(src))
    if src.resolve().is_relative_to(target.resolve()):
        raise UsageError("is the store folder itself or inside it", path=str(src))
    if target.resolve().is_relative_to(src.resolve()):
        raise UsageError("is inside the backup: choose a folder outside it", path=str(target))
    if os.path.lexists(target) and not force:
        raise OutputExists(
            "a store exists here: give --force to replace it (it is moved aside, not deleted)",
            path=str(target),
        )
    _refuse_in_use(target)
    tmp = new_staging(target, f".{target.name}.restore-")
    with discarded_on_failure(tmp, target, "restore"):
        _copy_backup(src, tmp)
        with Store(tmp, create=False, upgrade="in-place") as st:  # this schema, quick_check
            problems = st.integrity_problems()
            counts = {
                k: st.conn.execute(f"SELECT count(*) FROM {k}").fetchone()[0]
                for k in ("patients", "sessions", "photos", "analyses")
            }
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise StoreError(f"the backup is not restored: {problems[0]}{more}", path=str(src))
        _refuse_in_use(target)  # (started while the backup was copied)
        replaced = _move_aside(target) if os.path.lexists(target) else None
        os.rename(tmp, target)
    return {**counts, "path": str(target), "replaced": replaced}


def _copy_backup(src: Path, tmp: Path) -> None:
    """The backup's database (online backup API, read-only) and its recorded files, into the
    new folder ``tmp``; a photo whose SHA-256 is not the one recorded refuses the restore."""
    source = connect_readonly(src / DB_NAME)
    try:
        if user_version(source) > SCHEMA_VERSION:
            migrate(source, path=str(src / DB_NAME))  # refuses a newer schema, writes nothing
        dst = sqlite3.connect(str(tmp / DB_NAME))
        try:
            source.backup(dst)
            copy_recorded_files(src, dst, tmp, note="; the backup is not restored")
        finally:
            dst.close()
    except sqlite3.DatabaseError as e:
        raise StoreError(f"not a usable store database ({e})", path=str(src / DB_NAME)) from None
    finally:
        source.close()
    os.chmod(tmp / DB_NAME, 0o600)


def _refuse_in_use(target: Path) -> None:
    """:class:`StoreBusy` when another process has the store at ``target`` open (the clinic
    app, a command): SQLite's connections each hold a shared lock on byte 128 of the
    ``store.sqlite-shm`` file (its unix VFS's "dead man switch", ``UNIX_SHM_DMS``), which this
    tries to lock for itself. A ``-shm`` left by a crash holds no lock. (No check where
    ``fcntl`` does not exist.)"""
    try:
        import fcntl

        fd = os.open(target / f"{DB_NAME}-shm", os.O_RDWR)
    except (ImportError, OSError):
        return
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128)
        except OSError:
            raise StoreBusy(
                "the store is open in another process (mesovision serve, a command): stop it, "
                "then restore; nothing was replaced",
                path=str(target),
            ) from None
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, 128)
    finally:
        os.close(fd)


def _move_aside(target: Path) -> str:
    """Rename the store folder ``target`` to ``target.replaced-<UTC time>`` (nothing deleted)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = target.with_name(f"{target.name}.replaced-{stamp}")
    if os.path.lexists(aside):
        aside = aside.with_name(f"{aside.name}-{os.getpid()}")
    os.rename(target, aside)
    return str(aside)
