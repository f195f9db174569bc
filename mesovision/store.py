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
  ``DIR``, or null), ``capture_date`` (EXIF, ISO 8601, or null), ``checks`` (JSON list of
  capture-check dicts, :mod:`mesovision.checks`, and of a face photo after the baseline its
  ``same_person`` check with the face-descriptor distance, :mod:`mesovision.course`),
  ``features`` (JSON capture features, the baseline of later checks; face photos filed since
  the descriptor check also carry ``face_descriptor``, :mod:`mesovision.identity`), ``created``.
* ``analyses``: ``id``, ``kind`` (``compare``), ``photo_ids`` (JSON ``[before, after]``),
  ``cache_key`` (unique: SHA-256 of the two photo hashes, the settings and the mesovision
  version), ``settings``, ``result`` (JSON), ``version``, ``created``.

Safety:

* **Migrations** are an ordered list of SQL steps; ``PRAGMA user_version`` is the number applied.
  Opening a store applies the missing ones in one ``BEGIN IMMEDIATE`` transaction; a store newer
  than this code is refused.
* **Concurrency**: WAL journal (readers never block the writer), ``busy_timeout`` (a writer
  waits for the other instead of failing) and ``BEGIN IMMEDIATE`` for every write transaction.
* **Crashes**: one transaction per import (the session and all its photos, or nothing). Managed
  copies and analysis folders are written (temporary name, fsync, rename) while the write lock is
  held, before the commit; a crash between the rename and the commit leaves a file no row refers
  to, which the next write transaction deletes (it holds the lock, so no other writer can be
  half-way).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import InputFileError, OutputError, UsageError

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
)
SCHEMA_VERSION = len(MIGRATIONS)


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
            migrate(self.conn, path=str(db))
        except sqlite3.DatabaseError as e:
            raise InputFileError(f"not a usable store database ({e})", path=str(db)) from None

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

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for several queries."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            self.conn.execute("COMMIT")

    def _clean_orphans(self) -> None:
        """Delete managed copies and analysis folders no row refers to, and temporary files.
        Called with the write lock held: nobody else can be between a rename and its commit."""
        photos = self.directory / PHOTOS_DIR
        if photos.is_dir():
            used = {
                r[0]
                for r in self.conn.execute(
                    "SELECT managed_path FROM photos WHERE managed_path IS NOT NULL"
                )
            }
            for p in photos.iterdir():
                if f"{PHOTOS_DIR}/{p.name}" not in used:
                    log.info("removing orphan file %s", p)
                    with contextlib.suppress(OSError):
                        p.unlink()
        analyses = self.directory / ANALYSES_DIR
        if analyses.is_dir():
            ids = {str(r[0]) for r in self.conn.execute("SELECT id FROM analyses")}
            for p in analyses.iterdir():
                if p.name not in ids:
                    log.info("removing orphan analysis folder %s", p)
                    shutil.rmtree(p, ignore_errors=True)

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
        d = dict(r)
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
        """Copy ``src`` to ``photos/<sha>.<ext>`` atomically after checking its hash; returns the
        path relative to the store."""
        import hashlib

        data = _read_bytes(src)
        if hashlib.sha256(data).hexdigest() != sha:
            raise InputFileError("the file changed during the import", path=src)
        ext = Path(src).suffix.lower()
        ext = ext if ext[1:].isalnum() and len(ext) <= 6 else ".img"
        rel = f"{PHOTOS_DIR}/{sha}{ext}"
        (self.directory / PHOTOS_DIR).mkdir(mode=0o700, exist_ok=True)
        _publish(self.directory / rel, data)
        return rel

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
                c.execute("DELETE FROM analyses WHERE id = ?", (old["id"],))
                shutil.rmtree(self.analysis_dir(old["id"]), ignore_errors=True)
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
                root.mkdir(mode=0o700, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{aid}-", dir=root))
                try:
                    for name, img in images.items():
                        write_png(tmp / name, img)
                    os.replace(tmp, self.analysis_dir(aid))
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
            r = c.execute("SELECT * FROM analyses WHERE id = ?", (aid,)).fetchone()
            return _analysis_dict(r)

    # -- integrity -----------------------------------------------------------------------------

    def integrity_problems(self) -> list[str]:
        """``PRAGMA integrity_check`` and ``foreign_key_check`` findings, sessions without any
        photo, and photos whose managed copy is missing; empty when all is well."""
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
        for r in c.execute("SELECT id, managed_path FROM photos WHERE managed_path IS NOT NULL"):
            if not (self.directory / r[1]).is_file():
                out.append(f"photo {r[0]}: managed copy {r[1]} missing")
        return out


def _analysis_dict(r: sqlite3.Row) -> dict:
    d = dict(r)
    for k in ("photo_ids", "settings", "result"):
        d[k] = json.loads(d[k])
    return d


def _read_bytes(path: str) -> bytes:
    from .io import _os_reason

    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise InputFileError(_os_reason(e), path=str(path)) from None


def _sha256_of(path: str) -> str:
    from .io import sha256_file

    return sha256_file(path)


def _publish(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` (temporary file, fsync, rename, fsync of the folder)."""
    from .io import atomic_write_bytes

    atomic_write_bytes(target, data, force=True)


def open_store(path: str | os.PathLike[str] | None) -> Store:
    """:class:`Store` of ``path`` or ``$MESOVISION_STORE`` (see :func:`resolve_store_dir`)."""
    return Store(resolve_store_dir(path))
