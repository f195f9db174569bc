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
import logging
import os
import shutil
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

__all__ = ["PRE_MIGRATION", "READONLY", "UPGRADES", "Store", "open_store"]

log = logging.getLogger(__name__)

#: How :class:`Store` opens a store of an older schema: ``copy`` upgrades it in place after
#: keeping a copy of its database (:data:`PRE_MIGRATION`); ``read`` reads it through a copy
#: upgraded in memory, the store unchanged, every write refused; ``in-place`` upgrades it
#: without a copy (a store just restored from a backup, which is the copy).
UPGRADES = ("copy", "read", "in-place")
#: The start of the name of the folder in a store that keeps its database as it was before an
#: upgrade of its schema: ``.pre-migration-<old schema>-<UTC time>/store.sqlite``.
PRE_MIGRATION = ".pre-migration-"

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

    def __init__(
        self, directory: str | os.PathLike[str], *, create: bool = True, upgrade: str = "copy"
    ):
        if upgrade not in UPGRADES:
            raise ValueError(f"upgrade={upgrade!r}: one of {', '.join(UPGRADES)}")
        self.directory = Path(directory).absolute()
        #: The schema of a store of an older schema read through an upgraded copy in memory
        #: (``upgrade="read"``), else None.
        self.read_as_upgraded: int | None = None
        self._file_conn: sqlite3.Connection | None = None
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
            if upgrade == "read" and 0 < version < SCHEMA_VERSION:
                self._file_conn, self.conn = self.conn, self._upgraded_copy()
                self.read_as_upgraded = version
                return
            if self.readonly and version < SCHEMA_VERSION:
                self.conn.close()
                raise StoreReadOnly(
                    f"{READONLY}; its database needs an upgrade to schema {SCHEMA_VERSION} (it "
                    f"has {version}), which writes: open it once where it is writable",
                    path=str(self.directory),
                )
            keep = self._keep_pre_migration if upgrade == "copy" else None
            migrate(self.conn, path=str(db), before=keep)
        except sqlite3.DatabaseError as e:
            if not _writable(self.directory, db):  # a store on a read-only medium is not damaged
                raise StoreReadOnly(f"{READONLY} ({e})", path=str(self.directory)) from None
            raise StoreError(f"not a usable store database ({e})", path=str(db)) from None

    def _upgraded_copy(self) -> sqlite3.Connection:
        """The store's database copied into memory (SQLite's online backup, from a connection
        of its own: a consistent snapshot) and upgraded there to :data:`SCHEMA_VERSION`; the
        store's own file is not changed."""
        db = self.directory / DB_NAME
        src = connect_readonly(db) if self.readonly else sqlite3.connect(str(db))
        mem = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        try:
            src.backup(mem)
        finally:
            src.close()
        mem.row_factory = sqlite3.Row
        mem.execute("PRAGMA foreign_keys = ON")
        migrate(mem, path=str(db))
        return mem

    def pre_migration_copies(self, patient_id: str | None = None) -> list[Path]:
        """The databases kept before upgrades of the store's schema (``.pre-migration-*/
        store.sqlite``, :data:`PRE_MIGRATION`), sorted; with ``patient_id``, those that hold
        that patient (a removal does not reach them)."""
        found = sorted(self.directory.glob(f"{PRE_MIGRATION}*/{DB_NAME}"))
        if patient_id is None:
            return found
        held = []
        for db in found:
            with contextlib.suppress(sqlite3.DatabaseError):
                conn = connect_readonly(db)
                try:
                    q = "SELECT 1 FROM patients WHERE id = ?"
                    if conn.execute(q, (patient_id,)).fetchone():
                        held.append(db)
                finally:
                    conn.close()
        return held

    def _keep_pre_migration(self, version: int) -> None:
        """Before the store's database of schema ``version`` is upgraded (the write lock held):
        copy it to ``.pre-migration-<version>-<UTC time>/store.sqlite`` in the store folder
        (online backup from a connection of its own; folder 0700, file 0600) and say so in one
        warning line. An :class:`~mesovision.errors.OutputError` (disk full) upgrades nothing."""
        import datetime

        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        keep = self.directory / f"{PRE_MIGRATION}{version}-{stamp}"
        db = self.directory / DB_NAME
        try:
            keep.mkdir(mode=0o700)
            os.close(os.open(keep / DB_NAME, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            src, dst = sqlite3.connect(str(db)), sqlite3.connect(str(keep / DB_NAME))
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
        except (OSError, sqlite3.Error) as e:
            shutil.rmtree(keep, ignore_errors=True)
            raise OutputError(
                f"cannot keep a copy of the store's database before its upgrade ({e}); not "
                "upgraded",
                path=str(keep),
            ) from None
        log.warning(
            "%s: store upgraded from schema %d to %d, which mesovision versions that know only "
            "schema %d cannot open; the database before the upgrade is kept in %s",
            self.directory, version, SCHEMA_VERSION, version, keep,
        )  # fmt: skip

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
        if self.read_as_upgraded is not None:
            raise StoreReadOnly(
                f"opened for reading without upgrading its schema {self.read_as_upgraded}; "
                "nothing was written",
                path=str(self.directory),
            )
        if files and self.foreign_entries():
            self._refuse_foreign()

    # -- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        self.conn.close()
        if self._file_conn is not None:
            self._file_conn.close()

    @property
    def lock_conn(self) -> sqlite3.Connection:
        """The connection to the store's database file (whose ``BEGIN IMMEDIATE`` is the
        store's write lock): :attr:`conn`, unless the store is read through an upgraded copy
        (:attr:`read_as_upgraded`)."""
        return self._file_conn if self._file_conn is not None else self.conn

    def refresh_upgraded_copy(self) -> None:
        """Copy and upgrade the database again when it is read through an upgraded copy (call
        it with the write lock held: the copy is then the store as no writer is changing it)."""
        if self._file_conn is not None:
            self.conn.close()
            self.conn = self._upgraded_copy()

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


def open_store(
    path: str | os.PathLike[str] | None, *, create: bool = True, upgrade: str = "copy"
) -> Store:
    """:class:`Store` of ``path`` or ``$MESOVISION_STORE`` (see :func:`resolve_store_dir`);
    ``create=False``: an existing store only; ``upgrade``: how a store of an older schema is
    opened (:data:`UPGRADES`)."""
    return Store(resolve_store_dir(path), create=create, upgrade=upgrade)
