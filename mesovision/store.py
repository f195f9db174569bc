"""The local store of treatment courses: patients, sessions, photos and cached analyses.

Everything lives in one folder the user names (``--store DIR``, else the environment variable
``MESOVISION_STORE``); patient data never leaves it::

    DIR/
      store.sqlite            SQLite database (WAL mode: also store.sqlite-wal, store.sqlite-shm)
      photos/<sha256>.<ext>   managed copies of imported photos (``session add --copy``)
      analyses/<id>/          the PNGs of one cached comparison (see :mod:`mesovision.course`)

Tables (schema version :data:`SCHEMA_VERSION`, see :data:`MIGRATIONS`):

* ``patients``: ``id`` (pseudonymous text id, unique), ``name`` and ``birth_year`` (optional),
  ``created`` (UTC ISO 8601).
* ``sessions``: ``id``, ``patient_id``, ``date`` (``YYYY-MM-DD``), ``treated`` (JSON list of
  region names), ``product``, ``notes``, ``created``.
* ``photos``: ``id``, ``session_id``, ``sha256`` (of the file's bytes; unique: the same photo is
  never imported twice), ``view`` (``front``, ``left-45``, ``right-45`` or ``body:<area>``; one
  photo per view and session), ``original_path`` (absolute), ``managed_path`` (relative to
  ``DIR``, or null; the copy carries no identifying metadata, see
  :func:`mesovision.io.strip_metadata`), ``capture_date`` (EXIF, ISO 8601, or null), ``checks``
  (JSON list of
  capture-check dicts, :mod:`mesovision.checks`, and of a face photo after the baseline its
  ``same_person`` check with the face-descriptor distance, :mod:`mesovision.course`),
  ``features`` (JSON capture features, the baseline of later checks; face photos filed since
  the descriptor check also carry ``face_descriptor``, :mod:`mesovision.identity`), ``created``.
* ``analyses``: ``id``, ``kind`` (``compare``), ``photo_ids`` (JSON ``[before, after]``),
  ``cache_key`` (unique: SHA-256 of the two photo hashes, the settings and the mesovision
  version), ``settings``, ``result`` (JSON), ``version``, ``created``.
* ``files``: every file or folder the store wrote under ``photos/`` and ``analyses/``: ``path``
  (relative to ``DIR``), ``kind`` (``photo`` or ``analysis``), ``sha256`` (of the bytes written,
  for a photo), ``created``. A store of schema 2 records, on migration, the files its rows refer
  to.
* ``changes``: the log of course edits (``session edit``, ``session remove``, ``patient
  remove``): ``time`` (UTC), ``action``, ``patient_id``, ``session_id``, ``detail`` (JSON: old
  and new values, or what was removed).

Safety:

* **Migrations** are an ordered list of SQL steps; ``PRAGMA user_version`` is the number applied.
  Opening a store applies the missing ones in one ``BEGIN IMMEDIATE`` transaction; a store newer
  than this code is refused.
* **Concurrency**: WAL journal (readers never block the writer), ``busy_timeout`` (a writer
  waits for the other instead of failing) and ``BEGIN IMMEDIATE`` for every write transaction.
* **Crashes**: one transaction per import (the session and all its photos, or nothing). Managed
  copies and analysis folders are written (temporary name, fsync, rename) while the write lock is
  held, before the commit, after their names were appended (fsync-ed) to ``store.pending``; a
  crash before the commit leaves files listed there and in no ``files`` row, which the next
  write transaction deletes (it holds the lock, so no other writer can be half-way).
* **Only its own files**: cleanup deletes only what ``files`` or ``store.pending`` lists (copies
  of removed photos, folders of removed analyses, leftovers of a crash), never follows a
  symbolic link (a link is removed, not its target), and refuses to write
  (:class:`~mesovision.errors.StoreError`, exit 12, naming one) while ``photos/`` or
  ``analyses/`` holds anything else or is itself a link.
* **A lost database is not recreated**: a missing or empty ``store.sqlite`` beside ``photos/``
  or ``analyses/``, or one that fails ``PRAGMA quick_check`` (checked on every open) or is not
  a store, is refused with :class:`~mesovision.errors.StoreError` (exit 12); nothing is written.
* ``store check`` (:meth:`Store.integrity_problems`) and ``store backup`` (:meth:`Store.backup`,
  SQLite's online backup API plus the recorded files, under the write lock).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import InputFileError, OutputError, OutputExists, StoreError, UsageError

log = logging.getLogger(__name__)

STORE_ENV = "MESOVISION_STORE"
DB_NAME = "store.sqlite"
PHOTOS_DIR = "photos"
ANALYSES_DIR = "analyses"
#: How long a writer waits for another one (ms) before giving up.
BUSY_TIMEOUT_MS = 30_000

#: Photo views: the face ones, or ``body:<area>`` (e.g. ``body:thigh``).
FACE_VIEWS = ("front", "left-45", "right-45")

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
)
SCHEMA_VERSION = len(MIGRATIONS)
#: Paths (relative to the store) about to be written, appended and fsync-ed before each write
#: while the write lock is held: a crash before the commit leaves files that cleanup may remove.
PENDING_NAME = "store.pending"


def validate_view(view: str) -> str:
    """``view`` if it is a known view (:data:`FACE_VIEWS` or ``body:<area>``), else
    :class:`UsageError` listing them."""
    if view in FACE_VIEWS:
        return view
    if view.startswith("body:") and view[5:].replace("_", "").replace("-", "").isalnum():
        return view
    raise UsageError(
        f"unknown view {view!r}; valid: {', '.join(FACE_VIEWS)}, body:<area> (e.g. body:thigh)"
    )


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


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, *, target: int | None = None, path: str = "") -> int:
    """Apply the missing :data:`MIGRATIONS` steps up to ``target`` (default: all) in one
    ``BEGIN IMMEDIATE`` transaction. Returns the schema version reached.

    Raises
    ------
    InputFileError
        The database is newer than this code (written by a later mesovision).
    """
    target = SCHEMA_VERSION if target is None else target
    if _user_version(conn) >= target:
        _refuse_newer(conn, path)
        return _user_version(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _user_version(conn)  # another process may have migrated meanwhile
        for step in range(current, target):
            for stmt in MIGRATIONS[step]:
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {step + 1}")
            log.info("%s: store schema migrated to version %d", path, step + 1)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return _user_version(conn)


def _refuse_newer(conn: sqlite3.Connection, path: str) -> None:
    v = _user_version(conn)
    if v > SCHEMA_VERSION:
        raise InputFileError(
            f"store schema version {v} is newer than this mesovision knows ({SCHEMA_VERSION}); "
            "upgrade mesovision",
            path=path,
        )


def connect(db_path: str | os.PathLike[str]) -> sqlite3.Connection:
    """An autocommit connection (transactions are explicit) in WAL mode with a busy timeout and
    foreign keys on."""
    conn = sqlite3.connect(
        str(db_path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    # Switching to WAL needs a moment alone with the file: retry while another process opens it.
    deadline = datetime.datetime.now() + datetime.timedelta(milliseconds=BUSY_TIMEOUT_MS)
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or datetime.datetime.now() > deadline:
                raise
    if mode.lower() != "wal":
        log.warning("%s: journal mode %s (WAL not available on this file system)", db_path, mode)
    return conn


@dataclass(frozen=True)
class PhotoImport:
    """A photo to import: its file, view and what the capture checks found."""

    path: str
    view: str = "front"
    sha256: str | None = None
    capture_date: str | None = None
    checks: Sequence[dict] = ()
    features: dict | None = None


class Store:
    """An open store folder (see the module docstring). Use as a context manager or ``close()``.

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
            if not bad and has_files and _user_version(self.conn) == 0:
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
        return _user_version(self.conn)

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

    def _drop_recorded_pending(self) -> None:
        """Remove the pending list once every file it names is recorded (under the write lock,
        so that no other writer is between its own note and commit): a finished write leaves no
        ``store.pending`` behind. A name it lists that is neither recorded nor gone keeps it."""
        if not os.path.lexists(self.directory / PENDING_NAME):
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            recorded = set(self._recorded())
            # (temporary names were renamed into place or removed: they no longer exist; another
            # writer may have dropped the list between the check above and the lock)
            if all(
                r in recorded or not os.path.lexists(self.directory / r) for r in self._pending()
            ):
                (self.directory / PENDING_NAME).unlink(missing_ok=True)
        finally:
            self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for several queries."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            self.conn.execute("COMMIT")

    def _pending(self) -> set[str]:
        try:
            text = (self.directory / PENDING_NAME).read_text(encoding="utf-8")
        except FileNotFoundError:
            return set()
        return {line for line in text.splitlines() if line}

    def _note_pending(self, *rels: str) -> None:
        """Append ``rels`` to the pending list (fsync-ed) before they are written."""
        fd = os.open(
            self.directory / PENDING_NAME,
            os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW,
            0o600,
        )
        try:
            os.write(fd, "".join(f"{r}\n" for r in rels).encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def _recorded(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.conn.execute("SELECT path, kind FROM files")}

    def foreign_entries(self) -> list[str]:
        """Entries of ``photos/`` and ``analyses/`` the store did not write (absolute paths), and
        either folder itself if it is a symbolic link or not a folder."""
        known = set(self._recorded()) | self._pending()
        out = []
        for sub in (PHOTOS_DIR, ANALYSES_DIR):
            d = self.directory / sub
            try:
                st = os.lstat(d)
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                out.append(str(d))
                continue
            with os.scandir(d) as it:
                out += [e.path for e in it if f"{sub}/{e.name}" not in known]
        return sorted(out)

    def _refuse_foreign(self) -> None:
        foreign = self.foreign_entries()
        if foreign:
            more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
            raise StoreError(
                "not written by mesovision: the store deletes only files it made and refuses to "
                f"write beside others; move it out of the store folder{more}",
                path=foreign[0],
            )

    def _remove(self, rel: str) -> None:
        """Remove one store-made path; never follows a symbolic link (a link is unlinked). Only
        a direct entry of ``photos/`` or ``analyses/`` is ever removed: a pending list or a row
        naming anything else (edited by hand, say) is ignored."""
        sub, _, name = rel.partition("/")
        if sub not in ("photos", "analyses") or not name or "/" in name or name in (".", ".."):
            log.warning("not removing %r: not an entry of photos/ or analyses/", rel)
            return
        p = self.directory / rel
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return
        log.info("removing %s", p)
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(p)  # does not follow links inside the folder
        else:
            p.unlink()

    def _clean_orphans(self) -> None:
        """Remove what the store wrote and no row needs any more: files of an import that
        crashed before its commit (listed as pending), managed copies of removed photos and
        folders of removed analyses. Refuses (:class:`StoreError`) when ``photos/`` or
        ``analyses/`` holds anything the store did not write. Called with the write lock held:
        nobody else can be between a write and its commit."""
        self._refuse_foreign()
        recorded = self._recorded()
        for rel in self._pending() - set(recorded):
            self._remove(rel)
        used = {
            r[0]
            for r in self.conn.execute(
                "SELECT managed_path FROM photos WHERE managed_path IS NOT NULL "
                "UNION SELECT 'analyses/' || id FROM analyses"
            )
        }
        for rel in recorded:
            if rel not in used:
                self._remove(rel)
                self.conn.execute("DELETE FROM files WHERE path = ?", (rel,))
        pending = self.directory / PENDING_NAME
        if os.path.lexists(pending):
            pending.unlink()

    def _log_change(self, c, action: str, patient_id, session_id, detail: dict) -> None:
        c.execute(
            "INSERT INTO changes (time, action, patient_id, session_id, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            (_now(), action, patient_id, session_id, json.dumps(detail)),
        )

    def changes(self) -> list[dict]:
        """The log of course edits (removals and edits), oldest first."""
        rows = self.conn.execute("SELECT * FROM changes ORDER BY id").fetchall()
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    # -- patients ------------------------------------------------------------------------------

    def add_patient(
        self, patient_id: str, *, name: str | None = None, birth_year: int | None = None
    ) -> dict:
        """Add a patient (``patient_id`` pseudonymous: letters, digits, ``-``, ``_``, ``.``)."""
        if (
            not patient_id
            or len(patient_id) > 64
            or not all(c.isalnum() or c in "-_." for c in patient_id)
        ):
            raise UsageError(
                f"patient id {patient_id!r} must be 1-64 letters, digits, '-', '_' or '.'"
            )
        this_year = datetime.date.today().year
        if birth_year is not None and not 1900 <= birth_year <= this_year:
            raise UsageError(f"birth year {birth_year} is not between 1900 and {this_year}")
        with self.write() as c:
            if c.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone():
                raise UsageError(f"patient {patient_id} already exists")
            c.execute(
                "INSERT INTO patients (id, name, birth_year, created) VALUES (?, ?, ?, ?)",
                (patient_id, name, birth_year, _now()),
            )
        return self.patient(patient_id)

    def patients(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT p.*, (SELECT count(*) FROM sessions s WHERE s.patient_id = p.id) AS n_sessions "
            "FROM patients p ORDER BY p.id"
        ).fetchall()
        return [dict(r) for r in rows]

    def patient(self, patient_id: str) -> dict:
        """The patient row, or :class:`UsageError` naming the id."""
        r = self.conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()
        if r is None:
            raise UsageError(f"unknown patient {patient_id!r} (see: mesovision patient list)")
        return dict(r)

    # -- sessions and photos -------------------------------------------------------------------

    def _photo_dict(self, r: sqlite3.Row) -> dict:
        """A photo row as a dict. ``file`` is the file to read (:meth:`photo_file`) and
        ``sha256`` the SHA-256 of that file (what a reader verifies: for a managed copy, the
        copy without metadata as recorded when written); ``original_sha256`` is the imported
        original's (the photo's identity, the ``sha256`` column)."""
        d = dict(r)
        d["original_sha256"] = d["sha256"]
        if d["managed_path"]:
            f = self.conn.execute(
                "SELECT sha256 FROM files WHERE path = ?", (d["managed_path"],)
            ).fetchone()
            if f is not None and f[0]:
                d["sha256"] = f[0]
        d["checks"] = json.loads(d["checks"])
        d["features"] = json.loads(d["features"]) if d["features"] else None
        d["file"] = str(self.photo_file(d))
        return d

    def photo_file(self, photo: dict) -> Path:
        """The file to read for a photo: its managed copy if any, else the original path."""
        if photo.get("managed_path"):
            return self.directory / photo["managed_path"]
        return Path(photo["original_path"])

    def _session_dict(self, c: sqlite3.Connection, r: sqlite3.Row) -> dict:
        d = dict(r)
        d["treated"] = json.loads(d["treated"])
        d["photos"] = [
            self._photo_dict(p)
            for p in c.execute("SELECT * FROM photos WHERE session_id = ? ORDER BY id", (d["id"],))
        ]
        return d

    def sessions(self, patient_id: str) -> list[dict]:
        """The patient's sessions ordered by date (then id), each with its ``photos``."""
        with self.read() as c:
            self.patient(patient_id)
            rows = c.execute(
                "SELECT * FROM sessions WHERE patient_id = ? ORDER BY date, id", (patient_id,)
            ).fetchall()
            return [self._session_dict(c, r) for r in rows]

    def session(self, session_id: int) -> dict:
        """One session with its photos, or :class:`UsageError` naming the id."""
        with self.read() as c:
            r = c.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if r is None:
                raise UsageError(f"unknown session {session_id}")
            return self._session_dict(c, r)

    def photo_by_hash(self, sha256: str) -> dict | None:
        """The stored photo with this content hash (and its session's patient and date)."""
        r = self.conn.execute(
            "SELECT p.*, s.patient_id, s.date FROM photos p JOIN sessions s "
            "ON s.id = p.session_id WHERE p.sha256 = ?",
            (sha256,),
        ).fetchone()
        return self._photo_dict(r) if r else None

    def baseline_photo(self, patient_id: str, view: str) -> dict | None:
        """The photo of ``view`` in the patient's first session that has one (the baseline)."""
        r = self.conn.execute(
            "SELECT p.* FROM photos p JOIN sessions s ON s.id = p.session_id "
            "WHERE s.patient_id = ? AND p.view = ? ORDER BY s.date, s.id LIMIT 1",
            (patient_id, view),
        ).fetchone()
        return self._photo_dict(r) if r else None

    def _duplicate_error(self, sha: str, path: str) -> UsageError | None:
        old = self.photo_by_hash(sha)
        if old is None:
            return None
        return UsageError(
            f"this photo is already in the store (photo {old['id']}, patient "
            f"{old['patient_id']}, session {old['session_id']} of {old['date']})",
            path=path,
        )

    def import_session(
        self,
        patient_id: str,
        *,
        date: str,
        photos: Sequence[PhotoImport],
        treated: Sequence[str] = (),
        product: str | None = None,
        notes: str | None = None,
        copy: bool = False,
    ) -> dict:
        """Add a session and its photos in one transaction: all of it, or nothing.

        Each photo's file is read once: its SHA-256 is checked against ``PhotoImport.sha256``
        (when given: the file must not change between the checks and the import) and against
        the store (:class:`UsageError` for a photo already imported). With ``copy`` the bytes
        are also written to ``photos/<sha256>.<ext>`` (temporary file, fsync, rename) before the
        commit. Returns the new session (as :meth:`session`).
        """
        validate_date(date)
        if not photos:
            raise UsageError("a session needs at least one photo")
        views = [validate_view(p.view) for p in photos]
        if len(set(views)) != len(views):
            raise UsageError(
                f"two photos of the same view ({', '.join(views)}): one photo per view and "
                "session; give --view once per --photo"
            )
        self.patient(patient_id)
        hashes: list[str] = []
        for p in photos:
            h = p.sha256 or _sha256_of(p.path)
            if h in hashes:
                raise UsageError("the same photo is given twice", path=p.path)
            err = self._duplicate_error(h, p.path)
            if err:
                raise err
            hashes.append(h)
        written: list[Path] = []
        try:
            with self.write() as c:
                self.patient(patient_id)
                cur = c.execute(
                    "INSERT INTO sessions (patient_id, date, treated, product, notes, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (patient_id, date, json.dumps(list(treated)), product, notes, _now()),
                )
                sid = cur.lastrowid
                for p, h in zip(photos, hashes, strict=True):
                    err = self._duplicate_error(h, p.path)  # imported meanwhile by another process
                    if err:
                        raise err
                    managed = None
                    if copy:
                        managed = self._copy_in(p.path, h)
                        written.append(self.directory / managed)
                    elif _sha256_of(p.path) != h:
                        raise InputFileError("the file changed during the import", path=p.path)
                    self._insert_photo(c, sid, p, h, managed)
        except BaseException:
            for w in written:
                with contextlib.suppress(OSError):
                    w.unlink()
            raise
        return self.session(sid)

    def _insert_photo(self, c, sid: int, p: PhotoImport, sha: str, managed: str | None) -> None:
        from .io import to_jsonable

        c.execute(
            "INSERT INTO photos (session_id, sha256, view, original_path, managed_path, "
            "capture_date, checks, features, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sid,
                sha,
                p.view,
                str(Path(p.path).absolute()),
                managed,
                p.capture_date,
                json.dumps(to_jsonable(list(p.checks)), allow_nan=False),
                json.dumps(to_jsonable(p.features), allow_nan=False) if p.features else None,
                _now(),
            ),
        )

    def _copy_in(self, src: str, sha: str) -> str:
        """Write ``src``'s pixels without identifying metadata (see
        :func:`mesovision.io.strip_metadata`) to ``photos/<sha>.<ext>`` after checking the
        original's hash ``sha`` (kept as the photo's identity); records the written file and its
        own SHA-256. Returns the path relative to the store."""
        import hashlib

        from .io import strip_metadata

        data = _read_bytes(src)
        if hashlib.sha256(data).hexdigest() != sha:
            raise InputFileError("the file changed during the import", path=src)
        clean, ext = strip_metadata(data, path=src)
        rel = f"{PHOTOS_DIR}/{sha}{ext}"
        self._write_new_file(rel, clean)
        self.conn.execute(
            "INSERT OR REPLACE INTO files (path, kind, sha256, created) VALUES (?, 'photo', ?, ?)",
            (rel, hashlib.sha256(clean).hexdigest(), _now()),
        )
        return rel

    def _write_new_file(self, rel: str, data: bytes) -> None:
        """Write ``data`` to ``rel`` (listed as pending first; temporary file, fsync, rename,
        fsync of the folder). Never follows a symbolic link."""
        target = self.directory / rel
        tmp = target.with_name(f".{target.name}.tmp")
        self._note_pending(f"{rel.rsplit('/', 1)[0]}/{tmp.name}", rel)
        try:
            target.parent.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
            dfd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise OutputError(f"cannot write ({e.strerror})", path=str(target)) from None

    # -- analyses ------------------------------------------------------------------------------

    def analysis_dir(self, analysis_id: int) -> Path:
        return self.directory / ANALYSES_DIR / str(analysis_id)

    def find_analysis(self, cache_key: str) -> dict | None:
        r = self.conn.execute("SELECT * FROM analyses WHERE cache_key = ?", (cache_key,)).fetchone()
        return _analysis_dict(r) if r else None

    def add_analysis(
        self,
        *,
        kind: str,
        photo_ids: Sequence[int],
        cache_key: str,
        settings: dict,
        result: dict,
        version: str,
        images: dict | None = None,
        replace: bool = False,
    ) -> dict:
        """Record an analysis and write ``images`` (``{png name: array}``) to
        ``analyses/<id>/`` in the same transaction. If another process stored the same
        ``cache_key`` meanwhile, its row is returned and nothing is written (unless
        ``replace``)."""
        from .io import to_jsonable, write_png

        with self.write() as c:
            old = c.execute("SELECT * FROM analyses WHERE cache_key = ?", (cache_key,)).fetchone()
            if old is not None:
                if not replace:
                    return _analysis_dict(old)
                c.execute("DELETE FROM analyses WHERE id = ?", (old["id"],))  # folder: cleanup
            cur = c.execute(
                "INSERT INTO analyses (kind, photo_ids, cache_key, settings, result, version, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    json.dumps(list(photo_ids)),
                    cache_key,
                    json.dumps(to_jsonable(settings), allow_nan=False),
                    json.dumps(to_jsonable(result), allow_nan=False),
                    version,
                    _now(),
                ),
            )
            aid = cur.lastrowid
            if images:
                root = self.directory / ANALYSES_DIR
                rel = f"{ANALYSES_DIR}/{aid}"
                tmp = root / f".tmp-{aid}"
                self._note_pending(f"{ANALYSES_DIR}/{tmp.name}", rel)
                root.mkdir(mode=0o700, exist_ok=True)
                tmp.mkdir(mode=0o700)
                try:
                    for name, img in images.items():
                        write_png(tmp / name, img)
                    os.replace(tmp, self.analysis_dir(aid))
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
                c.execute(
                    "INSERT OR REPLACE INTO files (path, kind, sha256, created) "
                    "VALUES (?, 'analysis', NULL, ?)",
                    (rel, _now()),
                )
            r = c.execute("SELECT * FROM analyses WHERE id = ?", (aid,)).fetchone()
            return _analysis_dict(r)

    # -- integrity -----------------------------------------------------------------------------

    def integrity_problems(self) -> list[str]:
        """What ``mesovision store check`` reports; empty when all is well.

        ``PRAGMA integrity_check`` and ``foreign_key_check`` findings, sessions without any
        photo, managed copies that are missing, not a regular file, unrecorded or whose SHA-256
        differs from the one recorded when it was written, missing analysis folders, and
        entries of ``photos/`` or ``analyses/`` the store did not write."""
        from .io import sha256_file

        c = self.conn
        out = [r[0] for r in c.execute("PRAGMA integrity_check") if r[0] != "ok"]
        out += [f"foreign key: {tuple(r)}" for r in c.execute("PRAGMA foreign_key_check")]
        out += [
            f"session {r[0]} has no photo"
            for r in c.execute(
                "SELECT s.id FROM sessions s LEFT JOIN photos p ON p.session_id = s.id "
                "WHERE p.id IS NULL"
            )
        ]
        rows = c.execute(
            "SELECT p.id, p.managed_path, f.sha256 FROM photos p LEFT JOIN files f "
            "ON f.path = p.managed_path WHERE p.managed_path IS NOT NULL"
        ).fetchall()
        for pid, rel, sha in rows:
            try:
                st = os.lstat(self.directory / rel)
            except FileNotFoundError:
                out.append(f"photo {pid}: managed copy {rel} missing")
                continue
            if not stat.S_ISREG(st.st_mode):
                out.append(f"photo {pid}: managed copy {rel} is not a regular file")
            elif sha is None:
                out.append(f"photo {pid}: managed copy {rel} is not recorded in the files table")
            elif sha256_file(self.directory / rel) != sha:
                out.append(f"photo {pid}: managed copy {rel} changed (SHA-256 differs)")
        for (rel,) in c.execute(
            "SELECT f.path FROM files f JOIN analyses a ON f.path = 'analyses/' || a.id"
        ):
            if not (self.directory / rel).is_dir():
                out.append(f"analysis folder {rel} missing")
        out += [f"not written by mesovision: {p}" for p in self.foreign_entries()]
        return out

    def backup(self, target: str | os.PathLike[str]) -> dict:
        """A consistent copy of the store in the new folder ``target``: the database through
        SQLite's online backup API and every file the store recorded, copied while this
        connection holds the write lock (other writers wait; readers do not). The copy is built
        in a temporary folder beside ``target`` and renamed into place; each photo's SHA-256 is
        checked on the way. Returns ``{"photos": n, "analyses": n, "path": str}``.

        Raises
        ------
        OutputExists
            ``target`` exists (nothing is written).
        OutputError
            The copy cannot be written; StoreError: a recorded photo is missing or changed.
        """
        import hashlib

        target = Path(target).absolute()
        if os.path.lexists(target):
            raise OutputExists("exists; give a new folder for the backup", path=str(target))
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            tmp.mkdir(mode=0o700)
        except OSError as e:
            raise OutputError(f"cannot create ({e.strerror})", path=str(target)) from None
        counts = {"photos": 0, "analyses": 0}
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                src = sqlite3.connect(str(self.directory / DB_NAME))
                dst = sqlite3.connect(str(tmp / DB_NAME))
                try:
                    src.backup(dst)
                    files = dst.execute("SELECT path, kind, sha256 FROM files").fetchall()
                    assert dst.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                finally:
                    src.close()
                    dst.close()
                os.chmod(tmp / DB_NAME, 0o600)
                for rel, kind, sha in files:
                    p = self.directory / rel
                    if kind == "photo":
                        data = _read_bytes(str(p))
                        if hashlib.sha256(data).hexdigest() != sha:
                            raise StoreError("changed since it was written", path=str(p))
                        (tmp / PHOTOS_DIR).mkdir(mode=0o700, exist_ok=True)
                        (tmp / rel).write_bytes(data)
                        counts["photos"] += 1
                    elif p.is_dir() and not p.is_symlink():
                        (tmp / ANALYSES_DIR).mkdir(mode=0o700, exist_ok=True)
                        shutil.copytree(p, tmp / rel, symlinks=True)
                        counts["analyses"] += 1
            finally:
                self.conn.execute("ROLLBACK")
            os.rename(tmp, target)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise OutputError(f"cannot write the backup ({e.strerror})", path=str(target)) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return {**counts, "path": str(target)}

    # -- course edits --------------------------------------------------------------------------

    def _drop_analyses_of(self, c, photo_where: str, args: tuple) -> int:
        """Delete the cached analyses that use a photo matching ``photo_where`` (their folders
        are removed by the cleanup)."""
        cur = c.execute(
            "DELETE FROM analyses WHERE EXISTS (SELECT 1 FROM json_each(analyses.photo_ids) j "
            f"WHERE j.value IN (SELECT id FROM photos WHERE {photo_where}))",
            args,
        )
        return cur.rowcount

    def baseline_date(self, patient_id: str) -> str | None:
        r = self.conn.execute(
            "SELECT min(date) FROM sessions WHERE patient_id = ?", (patient_id,)
        ).fetchone()
        return r[0]

    def rebaseline_note(
        self, patient_id: str, date: str, *, rebaseline: bool, session_id: int | None = None
    ) -> str | None:
        """``None`` if dating session ``session_id`` (or, when ``None``, a new session) on
        ``date`` leaves the patient's baseline (first session by date, then id) where it is;
        else, with ``rebaseline``, a sentence saying what changes, and without it
        :class:`UsageError` with that sentence."""
        new_id = 1 << 62  # a new session's id sorts last
        rows = [
            (r["date"], r["id"])
            for r in self.conn.execute(
                "SELECT date, id FROM sessions WHERE patient_id = ?", (patient_id,)
            )
        ]
        if not rows or (len(rows) == 1 and session_id is not None):
            return None
        current = min(rows)
        moved = [(date if i == session_id else d, i) for d, i in rows]
        new = min(moved + ([(date, new_id)] if session_id is None else []))
        if new[1] == current[1]:
            return None
        to = "this session" if new[1] in (new_id, session_id) else f"session {new[1]}"
        note = (
            f"the baseline changes from session {current[1]} of {current[0]} to {to} of "
            f"{new[0]}: every later session is then compared with it"
        )
        if not rebaseline:
            raise UsageError(f"{note}; give --rebaseline to accept that")
        return note

    def remove_session(self, session_id: int) -> dict:
        """Remove a session, its photos (and their managed copies) and the cached analyses that
        use them, in one transaction recorded in ``changes``. Returns the removed session."""
        old = self.session(session_id)
        with self.write() as c:
            n = self._drop_analyses_of(c, "session_id = ?", (session_id,))
            c.execute("DELETE FROM photos WHERE session_id = ?", (session_id,))
            c.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            self._log_change(
                c,
                "session remove",
                old["patient_id"],
                session_id,
                {"date": old["date"], "photos": [p["sha256"] for p in old["photos"]],
                 "analyses_dropped": n},
            )  # fmt: skip
        with self.write():  # removes the copies the commit released
            pass
        return old

    def edit_session(
        self,
        session_id: int,
        *,
        date: str | None = None,
        view: str | None = None,
        photo_id: int | None = None,
        treated: Sequence[str] | None = None,
        product: str | None = None,
        notes: str | None = None,
        rebaseline: bool = False,
    ) -> dict:
        """Change a session's date, treated regions, product or notes, or a photo's view
        (``photo_id``, needed when the session has several photos), in one transaction recorded
        in ``changes`` with the old and new values. ``None`` leaves a field as it is; an empty
        ``treated`` (``()``) clears the treated regions, and an empty ``product`` or ``notes``
        (``""``) clears it (stored as NULL, as for a session filed without one). A date before
        the baseline needs ``rebaseline`` (see :meth:`rebaseline_note`). A new view drops the
        photo's cached analyses. Returns the session as :meth:`session`."""
        old = self.session(session_id)
        new: dict = {}
        if date is not None:
            new["date"] = validate_date(date)
            self.rebaseline_note(
                old["patient_id"], date, rebaseline=rebaseline, session_id=session_id
            )
        if treated is not None:
            new["treated"] = list(treated)
        if product is not None:
            new["product"] = product or None
        if notes is not None:
            new["notes"] = notes or None
        photo = None
        if view is not None:
            validate_view(view)
            ids = [p["id"] for p in old["photos"]]
            if photo_id is None and len(ids) == 1:
                photo_id = ids[0]
            if photo_id not in ids:
                raise UsageError(
                    f"session {session_id} has photos {', '.join(map(str, ids))}: name the one "
                    "whose view changes with --photo ID"
                )
            photo = next(p for p in old["photos"] if p["id"] == photo_id)
        if not new and photo is None:
            raise UsageError(
                "nothing to change: give --date, --view, --treated, --product or --notes"
            )
        with self.write() as c:
            if new:
                sets = ", ".join(f"{k} = ?" for k in new)
                values = [json.dumps(v) if k == "treated" else v for k, v in new.items()]
                c.execute(f"UPDATE sessions SET {sets} WHERE id = ?", (*values, session_id))
            if photo is not None and view != photo["view"]:
                if any(p["view"] == view for p in old["photos"]):
                    raise UsageError(f"session {session_id} already has a {view} photo")
                self._drop_analyses_of(c, "id = ?", (photo_id,))
                c.execute("UPDATE photos SET view = ? WHERE id = ?", (view, photo_id))
                new["view"] = {"photo": photo_id, "from": photo["view"], "to": view}
            before = {k: old[k] for k in ("date", "treated", "product", "notes") if k in new}
            self._log_change(
                c, "session edit", old["patient_id"], session_id, {"old": before, "new": new}
            )
        return self.session(session_id)

    def remove_patient(self, patient_id: str) -> dict:
        """Remove a patient with all sessions, photos, managed copies and cached analyses, in one
        transaction recorded in ``changes``. Returns the counts removed."""
        self.patient(patient_id)
        where = "session_id IN (SELECT id FROM sessions WHERE patient_id = ?)"
        with self.write() as c:
            n_an = self._drop_analyses_of(c, where, (patient_id,))
            n_ph = c.execute(f"DELETE FROM photos WHERE {where}", (patient_id,)).rowcount
            n_se = c.execute("DELETE FROM sessions WHERE patient_id = ?", (patient_id,)).rowcount
            c.execute("DELETE FROM patients WHERE id = ?", (patient_id,))
            counts = {"sessions": n_se, "photos": n_ph, "analyses": n_an}
            self._log_change(c, "patient remove", patient_id, None, counts)
        with self.write():  # removes the copies the commit released
            pass
        return counts


def _analysis_dict(r: sqlite3.Row) -> dict:
    d = dict(r)
    for k in ("photo_ids", "settings", "result"):
        d[k] = json.loads(d[k])
    return d


def _read_bytes(path: str) -> bytes:
    from .io import os_reason

    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise InputFileError(os_reason(e), path=str(path)) from None


def _sha256_of(path: str) -> str:
    from .io import sha256_file

    return sha256_file(path)


def _publish(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` (temporary file, fsync, rename, fsync of the folder)."""
    from .io import atomic_write_bytes

    atomic_write_bytes(target, data, force=True)


def open_store(path: str | os.PathLike[str] | None, *, create: bool = True) -> Store:
    """:class:`Store` of ``path`` or ``$MESOVISION_STORE`` (see :func:`resolve_store_dir`);
    ``create=False``: an existing store only."""
    return Store(resolve_store_dir(path), create=create)
