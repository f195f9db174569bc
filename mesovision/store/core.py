"""The open store: the folder, the checked database, and its transactions.

:class:`Store` opens (or creates) a store folder: it refuses a lost or damaged database beside
existing files instead of starting a new one, runs ``PRAGMA quick_check``, and applies missing
migrations. Writes go through :meth:`Store.write` (``BEGIN IMMEDIATE``, with the files ledger's
cleanup first); reads needing one snapshot through :meth:`Store.read`. The records themselves
are the mixins of :mod:`~mesovision.store.courses`, :mod:`~mesovision.store.photos`,
:mod:`~mesovision.store.analyses`, :mod:`~mesovision.store.ledger` and
:mod:`~mesovision.store.upkeep`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..errors import OutputError, StoreError, UsageError
from .analyses import AnalysisRecords
from .courses import CourseRecords
from .ledger import FilesLedger
from .photos import PhotoRecords
from .schema import (
    ANALYSES_DIR,
    DB_NAME,
    PHOTOS_DIR,
    connect,
    migrate,
    resolve_store_dir,
    user_version,
)
from .upkeep import StoreUpkeep

__all__ = ["Store", "open_store"]


class Store(CourseRecords, PhotoRecords, AnalysisRecords, FilesLedger, StoreUpkeep):
    """An open store folder (see :mod:`mesovision.store`). Use as a context manager or ``close()``.

    ``Store(dir)`` creates the folder (mode 0700), the database (mode 0600: SQLite gives its
    ``-wal`` and ``-shm`` files the same) and its tables on first use, and applies any missing
    migration. ``directory`` is the absolute folder, ``conn`` the connection.
    """

    def __init__(self, directory: str | os.PathLike[str], *, create: bool = True):
        self.directory = Path(directory).absolute()
        db = self.directory / DB_NAME
        if not db.exists() and not create:
            raise UsageError(f"no store here ({DB_NAME} not found)", path=str(self.directory))
        has_files = [d for d in (PHOTOS_DIR, ANALYSES_DIR) if os.path.lexists(self.directory / d)]
        if has_files and (not db.exists() or db.stat().st_size == 0):
            raise StoreError(
                f"{'missing' if not db.exists() else 'empty'} while {has_files[0]}/ exists: "
                "refusing to start a new database that would not know its files (restore "
                f"{DB_NAME} from a backup, or move {' and '.join(has_files)} away)",
                path=str(db),
            )
        try:
            if self.directory.exists() and not self.directory.is_dir():
                raise OutputError("exists and is not a folder", path=str(self.directory))
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(db, os.O_CREAT | os.O_RDWR, 0o600))
        except OSError as e:
            raise OutputError(
                f"cannot create the store folder ({e.strerror})", path=str(self.directory)
            ) from None
        try:
            self.conn = connect(db)
            bad = [r[0] for r in self.conn.execute("PRAGMA quick_check") if r[0] != "ok"]
            if not bad and has_files and user_version(self.conn) == 0:
                bad = ["no store tables"]
            if bad:
                self.conn.close()
                raise StoreError(f"damaged store database (quick_check: {bad[0]})", path=str(db))
            migrate(self.conn, path=str(db))
        except sqlite3.DatabaseError as e:
            raise StoreError(f"not a usable store database ({e})", path=str(db)) from None

    # -- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.directory)!r})"

    @property
    def schema_version(self) -> int:
        return user_version(self.conn)

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``: the write lock is taken at once, waiting up
        to ``BUSY_TIMEOUT_MS`` for another writer); orphan files are removed first."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self._clean_orphans()
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self._drop_recorded_pending()

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for several queries."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            self.conn.execute("COMMIT")


def open_store(path: str | os.PathLike[str] | None, *, create: bool = True) -> Store:
    """:class:`Store` of ``path`` or ``$MESOVISION_STORE`` (see :func:`resolve_store_dir`);
    ``create=False``: an existing store only."""
    return Store(resolve_store_dir(path), create=create)
