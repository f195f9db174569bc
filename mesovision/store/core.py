"""The open store: the folder, the checked database, and its transactions.

:class:`Store` opens (or creates) a store folder: it refuses a lost or damaged database beside
existing files instead of starting a new one, runs ``PRAGMA quick_check``, and applies missing
migrations. Writes go through :meth:`Store.write` (``BEGIN IMMEDIATE``, with the files ledger's
cleanup first); reads needing one snapshot through :meth:`Store.read`. The records themselves
are the mixins of :mod:`~mesovision.store.courses`, :mod:`~mesovision.store.photos`,
:mod:`~mesovision.store.analyses`, :mod:`~mesovision.store.ledger`,
:mod:`~mesovision.store.upkeep` and :mod:`~mesovision.store.leftovers`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..errors import OutputError, StoreError, StoreReadOnly, UsageError
from .analyses import AnalysisRecords
from .courses import CourseRecords
from .ledger import FilesLedger
from .leftovers import StoreLeftovers
from .photos import PhotoRecords
from .schema import (
    ANALYSES_DIR,
    DB_NAME,
    PHOTOS_DIR,
    SCHEMA_VERSION,
    begin_immediate,
    connect,
    connect_readonly,
    migrate,
    resolve_store_dir,
    user_version,
)
from .upkeep import StoreUpkeep

__all__ = ["READONLY", "Store", "open_store"]

#: How a store that cannot be written is named in errors (exit 14, not 12: it is not damaged).
READONLY = "the store folder is not writable (a read-only medium or share, or no permission)"


def _writable(directory: Path, db: Path) -> bool:
    """Whether the store folder and its database can be written (SQLite's WAL mode creates
    files beside the database)."""
    return os.access(directory, os.W_OK) and (not db.exists() or os.access(db, os.W_OK))


class Store(CourseRecords, PhotoRecords, AnalysisRecords, FilesLedger, StoreUpkeep, StoreLeftovers):
    """An open store folder (see :mod:`mesovision.store`). Use as a context manager or ``close()``.

    ``Store(dir)`` creates the folder (mode 0700), the database (mode 0600: SQLite gives its
    ``-wal`` and ``-shm`` files the same) and its tables on first use, and applies any missing
    migration. ``directory`` is the absolute folder, ``conn`` the connection.

    A store whose folder or database cannot be written is opened read-only (``readonly``;
    SQLite's ``mode=ro&immutable=1``: nothing can change it meanwhile): every read works, and a
    write raises :class:`~mesovision.errors.StoreReadOnly` (exit 14) before touching anything.
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
        #: Opened read-only: the folder or its database cannot be written (a write-protected
        #: medium, a read-only share, no permission). Reading works; :meth:`write` refuses.
        self.readonly = db.exists() and not _writable(self.directory, db)
        if not self.readonly:
            self._create(db)
        try:
            self.conn = connect_readonly(db) if self.readonly else connect(db)
            bad = [r[0] for r in self.conn.execute("PRAGMA quick_check") if r[0] != "ok"]
            if not bad and has_files and user_version(self.conn) == 0:
                bad = ["no store tables"]
            if bad:
                self.conn.close()
                raise StoreError(f"damaged store database (quick_check: {bad[0]})", path=str(db))
            version = user_version(self.conn)
            if self.readonly and version < SCHEMA_VERSION:
                self.conn.close()
                raise StoreReadOnly(
                    f"{READONLY}; its database needs an upgrade to schema {SCHEMA_VERSION} (it "
                    f"has {version}), which writes: open it once where it is writable",
                    path=str(self.directory),
                )
            migrate(self.conn, path=str(db))
        except sqlite3.DatabaseError as e:
            if not _writable(self.directory, db):  # a store on a read-only medium is not damaged
                raise StoreReadOnly(f"{READONLY} ({e})", path=str(self.directory)) from None
            raise StoreError(f"not a usable store database ({e})", path=str(db)) from None

    def _create(self, db: Path) -> None:
        """The folder (mode 0700) and an empty database file (mode 0600), if missing."""
        try:
            if self.directory.exists() and not self.directory.is_dir():
                raise OutputError("exists and is not a folder", path=str(self.directory))
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(db, os.O_CREAT | os.O_RDWR, 0o600))
        except OSError as e:
            raise OutputError(
                f"cannot create the store folder ({e.strerror})", path=str(self.directory)
            ) from None

    def require_writable(self, *, files: bool = False) -> None:
        """Refuse (:class:`~mesovision.errors.StoreReadOnly`, exit 14) a store opened read-only,
        before a command that writes to it does any work. With ``files``, also a store whose
        ``photos/`` or ``analyses/`` holds an entry it did not write, which every write refuses
        (:class:`~mesovision.errors.StoreError`, exit 12, naming the entry): the app's upload,
        refused before the photo is staged. (The entries are listed twice: a file another
        writer adds while they are listed is in its pending list or recorded by the second.)"""
        if self.readonly:
            raise StoreReadOnly(f"{READONLY}; nothing was written", path=str(self.directory))
        if files and self.foreign_entries():
            self._refuse_foreign()

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
        to ``BUSY_TIMEOUT_MS`` for another writer, then
        :class:`~mesovision.errors.StoreBusy`); orphan files are removed first. A store opened
        read-only refuses (:meth:`require_writable`)."""
        self.require_writable()
        begin_immediate(self.conn, str(self.directory))
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
