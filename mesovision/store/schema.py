"""The store's database: where it lives, its schema and migrations, and the connection.

The schema is an ordered list of SQL steps (:data:`MIGRATIONS`); ``PRAGMA user_version`` is the
number applied. :func:`migrate` applies the missing ones in one ``BEGIN IMMEDIATE`` transaction
and refuses a database newer than this code. :func:`connect` opens an autocommit connection
(transactions are explicit) in WAL mode, with a busy timeout, foreign keys on,
``synchronous = FULL`` and ``secure_delete = ON`` (a deleted row is overwritten with zeros in the
database and its write-ahead log, whatever the SQLite build's default).
"""

from __future__ import annotations

import datetime
import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ..errors import InputFileError, StoreBusy, StoreError, UsageError

__all__ = [
    "ANALYSES_DIR",
    "BUSY_TIMEOUT_MS",
    "DB_NAME",
    "MIGRATIONS",
    "PENDING_NAME",
    "PHOTOS_DIR",
    "REBUILD_STEPS",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "begin_immediate",
    "connect",
    "connect_readonly",
    "migrate",
    "now_utc",
    "resolve_store_dir",
    "user_version",
    "validate_date",
]

log = logging.getLogger(__name__)
STORE_ENV = "MESOVISION_STORE"
DB_NAME = "store.sqlite"
PHOTOS_DIR = "photos"
ANALYSES_DIR = "analyses"
#: How long a writer waits for another one (ms) before giving up.
BUSY_TIMEOUT_MS = 30_000

#: Schema steps, in order; step ``i`` takes ``PRAGMA user_version`` from ``i`` to ``i + 1``.
#: Never edit a released step: append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: patients, sessions, photos
    (
        """CREATE TABLE patients (
            id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
            name TEXT,
            birth_year INTEGER CHECK (birth_year IS NULL OR birth_year BETWEEN 1900 AND 2100),
            created TEXT NOT NULL
        )""",
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            patient_id TEXT NOT NULL REFERENCES patients(id),
            date TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
            treated TEXT NOT NULL DEFAULT '[]',
            product TEXT,
            notes TEXT,
            created TEXT NOT NULL
        )""",
        "CREATE INDEX sessions_patient ON sessions(patient_id, date)",
        """CREATE TABLE photos (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
            view TEXT NOT NULL,
            original_path TEXT NOT NULL,
            managed_path TEXT,
            capture_date TEXT,
            checks TEXT NOT NULL DEFAULT '[]',
            features TEXT,
            created TEXT NOT NULL,
            UNIQUE (session_id, view)
        )""",
    ),
    # 2: cached analyses (comparisons), keyed by photo hashes + settings + version
    (
        """CREATE TABLE analyses (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            photo_ids TEXT NOT NULL,
            cache_key TEXT NOT NULL UNIQUE,
            settings TEXT NOT NULL,
            result TEXT NOT NULL,
            version TEXT NOT NULL,
            created TEXT NOT NULL
        )""",
    ),
    # 3: the files the store wrote (cleanup removes only these) and the log of course edits.
    # An older store records the files its rows already refer to.
    (
        """CREATE TABLE files (
            path TEXT PRIMARY KEY NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('photo', 'analysis')),
            sha256 TEXT,
            created TEXT NOT NULL
        )""",
        """INSERT OR IGNORE INTO files (path, kind, sha256, created)
            SELECT managed_path, 'photo', sha256, created FROM photos
            WHERE managed_path IS NOT NULL""",
        """INSERT OR IGNORE INTO files (path, kind, sha256, created)
            SELECT 'analyses/' || id, 'analysis', NULL, created FROM analyses""",
        """CREATE TABLE changes (
            id INTEGER PRIMARY KEY,
            time TEXT NOT NULL,
            action TEXT NOT NULL,
            patient_id TEXT,
            session_id INTEGER,
            detail TEXT NOT NULL DEFAULT '{}'
        )""",
    ),
    # 4: session and photo ids are never reused (AUTOINCREMENT): a report or the log of changes
    # citing "session 45" keeps meaning that visit after its removal. The tables are rebuilt
    # (SQLite's procedure: foreign keys off, see REBUILD_STEPS); the counter of sessions starts
    # after the highest id the log of changes knows (a session removed before this step).
    (
        """CREATE TABLE sessions_v4 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            patient_id TEXT NOT NULL REFERENCES patients(id),
            date TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
            treated TEXT NOT NULL DEFAULT '[]',
            product TEXT,
            notes TEXT,
            created TEXT NOT NULL
        )""",
        """INSERT INTO sessions_v4 (id, patient_id, date, treated, product, notes, created)
            SELECT id, patient_id, date, treated, product, notes, created FROM sessions""",
        "DROP TABLE sessions",
        "ALTER TABLE sessions_v4 RENAME TO sessions",
        "CREATE INDEX sessions_patient ON sessions(patient_id, date)",
        """CREATE TABLE photos_v4 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
            view TEXT NOT NULL,
            original_path TEXT NOT NULL,
            managed_path TEXT,
            capture_date TEXT,
            checks TEXT NOT NULL DEFAULT '[]',
            features TEXT,
            created TEXT NOT NULL,
            UNIQUE (session_id, view)
        )""",
        """INSERT INTO photos_v4 (id, session_id, sha256, view, original_path, managed_path,
                capture_date, checks, features, created)
            SELECT id, session_id, sha256, view, original_path, managed_path, capture_date,
                checks, features, created FROM photos""",
        "DROP TABLE photos",
        "ALTER TABLE photos_v4 RENAME TO photos",
        """INSERT INTO sqlite_sequence (name, seq)
            SELECT t.name, 0 FROM (SELECT 'sessions' AS name UNION ALL SELECT 'photos') t
            WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence q WHERE q.name = t.name)""",
        """UPDATE sqlite_sequence SET seq = max(seq,
                (SELECT coalesce(max(session_id), 0) FROM changes),
                (SELECT coalesce(max(id), 0) FROM sessions))
            WHERE name = 'sessions'""",
    ),
    # 5: a photo's scale: pixels per mm of the file filed (as compare --px-per-mm takes it), or
    # null (no scale given). An older store's photos have none.
    (
        """ALTER TABLE photos ADD COLUMN px_per_mm REAL
            CHECK (px_per_mm IS NULL OR px_per_mm > 0)""",
    ),
    # 6: a patient's interpupillary distance in mm (as compare --ipd-mm takes it: the scale of
    # the front view's comparisons), or null. An older store's patients have none.
    (
        """ALTER TABLE patients ADD COLUMN ipd_mm REAL
            CHECK (ipd_mm IS NULL OR ipd_mm BETWEEN 40 AND 80)""",
    ),
)
#: The steps (indexes of :data:`MIGRATIONS`) that rebuild a table other tables refer to: run
#: with foreign keys off (they cannot be switched inside a transaction), and checked with
#: ``PRAGMA foreign_key_check`` before the commit.
REBUILD_STEPS = frozenset({3})
SCHEMA_VERSION = len(MIGRATIONS)
#: Paths (relative to the store) about to be written, appended and fsync-ed before each write
#: while the write lock is held: a crash before the commit leaves files that cleanup may remove.
PENDING_NAME = "store.pending"


def validate_date(date: str) -> str:
    """``date`` if it is an ISO calendar date ``YYYY-MM-DD``, else :class:`UsageError`."""
    try:
        ok = len(date) == 10 and datetime.date.fromisoformat(date).isoformat() == date
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(f"date {date!r} is not a calendar date YYYY-MM-DD")
    return date


def resolve_store_dir(path: str | os.PathLike[str] | None) -> Path:
    """The store folder: ``path`` if given, else ``$MESOVISION_STORE``, else :class:`UsageError`."""
    if path:
        return Path(path)
    env = os.environ.get(STORE_ENV)
    if env:
        return Path(env)
    raise UsageError(
        f"no store folder: pass --store DIR or set the environment variable {STORE_ENV}=DIR "
        "(created on first use; patient data stays in it)"
    )


def now_utc() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def begin_immediate(conn: sqlite3.Connection, path: str) -> None:
    """``BEGIN IMMEDIATE`` on ``conn`` (the write lock, waited for up to
    :data:`BUSY_TIMEOUT_MS`), or :class:`~mesovision.errors.StoreBusy` naming ``path`` when
    another process kept the lock all that time (nothing is written)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            raise
        raise StoreBusy(
            f"another process (a store backup, the clinic app, another command) kept the "
            f"store's write lock for over {BUSY_TIMEOUT_MS / 1000:g} s; nothing was written: try "
            "again when it has finished",
            path=path,
        ) from None


def migrate(
    conn: sqlite3.Connection,
    *,
    target: int | None = None,
    path: str = "",
    before: Callable[[int], None] | None = None,
) -> int:
    """Apply the missing :data:`MIGRATIONS` steps up to ``target`` (default: all) in one
    ``BEGIN IMMEDIATE`` transaction (with foreign keys off when a step of
    :data:`REBUILD_STEPS` is among them, and ``PRAGMA foreign_key_check`` before the commit).
    ``before(version)`` is called in that transaction (the write lock held) before the first
    step, when the database holds a store of an older schema ``version`` (not 0: a new one); an
    exception it raises migrates nothing. Returns the schema version reached.

    Raises
    ------
    InputFileError
        The database is newer than this code (written by a later mesovision).
    StoreError
        A rebuilt table leaves a row whose foreign key points nowhere (nothing is migrated).
    """
    target = SCHEMA_VERSION if target is None else target
    if user_version(conn) >= target:
        _refuse_newer(conn, path)
        return user_version(conn)
    rebuild = any(step in REBUILD_STEPS for step in range(user_version(conn), target))
    if rebuild:
        conn.execute("PRAGMA foreign_keys = OFF")
    try:
        _apply(conn, target, path, check_keys=rebuild, before=before)
    finally:
        if rebuild:
            conn.execute("PRAGMA foreign_keys = ON")
    return user_version(conn)


def _apply(conn: sqlite3.Connection, target: int, path: str, *, check_keys: bool, before) -> None:
    begin_immediate(conn, path)
    try:
        current = user_version(conn)  # another process may have migrated meanwhile
        if before is not None and 0 < current < target:
            before(current)
        for step in range(current, target):
            for stmt in MIGRATIONS[step]:
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {step + 1}")
            log.info("%s: store schema migrated to version %d", path, step + 1)
        bad = conn.execute("PRAGMA foreign_key_check").fetchall() if check_keys else []
        if bad:
            raise StoreError(
                f"damaged store database (foreign key: {tuple(bad[0])}); not migrated", path=path
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _refuse_newer(conn: sqlite3.Connection, path: str) -> None:
    v = user_version(conn)
    if v > SCHEMA_VERSION:
        raise InputFileError(
            f"store schema version {v} is newer than this mesovision knows ({SCHEMA_VERSION}); "
            "upgrade mesovision",
            path=path,
        )


def connect_readonly(db_path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A read-only connection to a database on a folder that cannot be written: SQLite's
    ``mode=ro&immutable=1`` (no ``-wal`` or ``-shm`` file is made, no lock taken), as for a
    store on a write-protected medium; ``mode=ro`` alone when a non-empty ``-wal`` file holds
    transactions not yet copied into the database."""
    from urllib.parse import quote

    wal = Path(f"{db_path}-wal")
    # Immutable, unless a write-ahead log holds the last transactions (a store not closed
    # cleanly): SQLite then reads it, through the -shm file beside it.
    flags = "mode=ro" if wal.exists() and wal.stat().st_size else "mode=ro&immutable=1"
    uri = f"file:{quote(str(Path(db_path).absolute()))}?{flags}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def connect(db_path: str | os.PathLike[str]) -> sqlite3.Connection:
    """An autocommit connection (transactions are explicit) in WAL mode with a busy timeout,
    foreign keys on and ``secure_delete`` on: the content of a deleted row (a removed patient's
    name, notes, photo hashes) is overwritten with zeros, not left in free space of the file.
    SQLite's default depends on how it was built (``SQLITE_SECURE_DELETE``: on in Debian's
    build, off in python.org's and conda's), so it is set on every connection."""
    conn = sqlite3.connect(
        str(db_path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA secure_delete = ON")
    # Switching to WAL needs a moment alone with the file: retry while another process opens it.
    deadline = datetime.datetime.now() + datetime.timedelta(milliseconds=BUSY_TIMEOUT_MS)
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e):
                raise
            if datetime.datetime.now() > deadline:
                conn.close()
                raise StoreBusy(
                    f"another process kept the database locked for over {BUSY_TIMEOUT_MS / 1000:g}"
                    " s while it was opened; nothing was written: try again when it has finished",
                    path=str(db_path),
                ) from None
    if mode.lower() != "wal":
        log.warning("%s: journal mode %s (WAL not available on this file system)", db_path, mode)
    return conn
