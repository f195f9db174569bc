"""Checking a store and backing it up.

:meth:`StoreUpkeep.integrity_problems` is what ``mesovision store check`` reports: SQLite's own
checks, sessions without photos, photo files (managed copies, and the original files of photos
filed without ``--copy``) missing or changed, analysis folders missing, and foreign entries.
:meth:`StoreUpkeep.backup` copies the database through SQLite's online backup API and every
recorded file, under the write lock, into a new folder renamed into place; a photo filed without
``--copy`` goes into the backup as a managed copy, which the backup's record points at.

A photo uploaded through the app has no original file on this machine (its record is
``upload:<file name>``, :mod:`mesovision.store.photos`): only its managed copy is read, and an
upload without one is a problem for both (a damaged store).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import stat
from pathlib import Path

from ..errors import InputFileError, OutputError, OutputExists, StoreError, UsageError
from ..io.write import folder_missing
from .ledger import DANGLING_ANALYSES, read_input_bytes
from .photos import managed_copy, photo_file_name, record_photo_file
from .schema import ANALYSES_DIR, DB_NAME, PHOTOS_DIR, begin_immediate, connect_readonly

__all__ = [
    "BACKUP_NOTE",
    "StoreUpkeep",
    "backup_notes",
    "interrupted",
    "remove_interrupted",
]

log = logging.getLogger(__name__)

#: The photos filed without a managed copy (read from their original files), in id order.
_UNCOPIED = (
    "SELECT id, session_id, original_path, sha256 FROM photos "
    "WHERE managed_path IS NULL ORDER BY id"
)


class StoreUpkeep:
    """``store check`` and ``store backup`` of :class:`~mesovision.store.Store` (a mixin)."""

    def integrity_problems(self) -> list[str]:
        """What ``mesovision store check`` reports; empty when all is well.

        ``PRAGMA integrity_check`` and ``foreign_key_check`` findings, sessions without any
        photo, managed copies that are missing, not a regular file, unrecorded or whose SHA-256
        differs from the one recorded when it was written, original files of photos filed
        without a managed copy that are missing, not a file or whose SHA-256 differs from the
        one recorded when they were filed, uploaded photos without a managed copy, analyses of
        removed photos, missing
        analysis folders, and entries of ``photos/`` or ``analyses/`` the store did not write.
        One line per problem, naming the file."""
        from ..io import sha256_file

        c = self.conn
        out = [r[0] for r in self.lock_conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
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
        out += self._original_problems()
        out += [
            f"analysis {r[0]} compares removed photos {r[1]} (removed by the next write)"
            for r in c.execute(
                f"SELECT id, photo_ids FROM analyses WHERE {DANGLING_ANALYSES} ORDER BY id"
            )
        ]
        for (rel,) in c.execute(
            "SELECT f.path FROM files f JOIN analyses a ON f.path = 'analyses/' || a.id"
        ):
            if not (self.directory / rel).is_dir():
                out.append(f"analysis folder {rel} missing")
        out += [f"not written by mesovision: {p}" for p in self.foreign_entries()]
        return out

    def _original_problems(self) -> list[str]:
        """The problems of the original files that photos without a managed copy are read from:
        missing, not a file, or a SHA-256 other than the one recorded when filed."""
        from ..io import os_reason, sha256_file

        out = []
        for pid, sid, path, sha in self.conn.execute(_UNCOPIED).fetchall():
            name, uploaded = photo_file_name(path)
            if uploaded:  # no file outside the store to read: the copy was the only one
                out.append(f"photo {pid} of session {sid}: uploaded {name} has no managed copy")
                continue
            what = f"photo {pid} of session {sid}: original file {path}"
            try:
                st = os.stat(path)
            except FileNotFoundError:
                out.append(f"{what} missing")
                continue
            except OSError as e:
                out.append(f"{what} cannot be read ({os_reason(e)})")
                continue
            if not stat.S_ISREG(st.st_mode):
                out.append(f"{what} is not a regular file")
                continue
            try:
                changed = sha256_file(path) != sha
            except InputFileError as e:
                out.append(f"{what} cannot be read ({e.message})")
                continue
            if changed:
                out.append(f"{what} changed (SHA-256 differs from the one recorded when filed)")
        return out

    def backup(self, target: str | os.PathLike[str]) -> dict:
        """A consistent, self-contained copy of the store in the new folder ``target``: the
        database through SQLite's online backup API and every file the store recorded, copied
        while this connection holds the write lock (other writers wait; readers do not). A
        photo filed without a managed copy is copied from its original file as ``--copy`` would
        have (without identifying metadata, :func:`mesovision.io.strip_metadata`, to
        ``photos/<sha256>.<ext>``), and the backup's record points at that copy; the store's own
        records are unchanged. The copy is built in a temporary folder beside ``target`` and
        renamed into place (the hidden folder of an earlier backup to ``target`` killed before its
        end is removed first); each photo's SHA-256 is checked on the way. Returns ``{"photos": n,
        "originals": n, "analyses": n, "path": str}`` (``originals``: the photos among
        ``photos`` copied from their original files). Its folders are mode 0700, the database
        and the photo copies mode 0600, whatever the umask (a backup is made to be copied
        elsewhere, with its modes).

        Raises
        ------
        OutputExists
            ``target`` exists (nothing is written).
        UsageError
            ``target`` is inside the store folder.
        OutputError
            ``target``'s parent folder does not exist (only the last level is created), or the
            copy cannot be written; StoreError: a recorded photo or original file is
            missing or changed (nothing is written).
        """
        target = Path(target).absolute()
        if os.path.lexists(target):
            raise OutputExists("exists; give a new folder for the backup", path=str(target))
        if target.resolve().is_relative_to(self.directory.resolve()):
            raise UsageError(
                "is inside the store folder: choose a folder outside it for the backup",
                path=str(target),
            )
        note = self._note_backup(staging_path(target, _tmp_prefix(target)))
        try:
            return self._backup_to(target)
        finally:
            if note is not None:
                note.unlink(missing_ok=True)

    def _note_backup(self, staging: Path) -> Path | None:
        """The note (:data:`BACKUP_NOTE`) naming the hidden folder ``staging`` this backup
        builds its copy in, written in the store folder while it runs: what ``store check``
        finds of a backup killed before its end. None for a store opened read-only."""
        if self.readonly:
            return None
        note = self.directory / f"{BACKUP_NOTE}{os.getpid()}"
        try:
            fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with open(fd, "w", encoding="utf-8") as f:
                f.write(f"{staging}\n")
        except OSError as e:
            raise OutputError(f"cannot write ({e.strerror})", path=str(note)) from None
        return note

    def _backup_to(self, target: Path) -> dict:
        """:meth:`backup` to the checked new folder ``target``."""
        tmp = new_staging(target, _tmp_prefix(target))
        counts = {"photos": 0, "originals": 0, "analyses": 0}
        with discarded_on_failure(tmp, target, "write the backup"):
            begin_immediate(self.lock_conn, str(self.directory))
            try:
                self.refresh_upgraded_copy()  # a store of an older schema: backed up upgraded
                db = self.directory / DB_NAME
                if self.read_as_upgraded is not None:
                    src = self.conn
                else:
                    src = connect_readonly(db) if self.readonly else sqlite3.connect(str(db))
                dst = sqlite3.connect(str(tmp / DB_NAME))
                try:
                    src.backup(dst)
                    assert dst.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                    copy_recorded_files(self.directory, dst, tmp, counts)
                    with dst:  # one transaction: the records of the copies of the originals
                        _copy_originals(dst, tmp, counts, db=str(self.directory / DB_NAME))
                finally:
                    if src is not self.conn:
                        src.close()
                    dst.close()
                os.chmod(tmp / DB_NAME, 0o600)
            finally:
                self.lock_conn.execute("ROLLBACK")
            os.rename(tmp, target)
        return {**counts, "path": str(target)}


def copy_recorded_files(
    src: Path, dst: sqlite3.Connection, tmp: Path, counts: dict | None = None, note: str = ""
) -> None:
    """Copy the files of ``dst``'s ``files`` table from the store folder ``src`` into the new
    folder ``tmp`` (a managed copy after checking its SHA-256; an analysis folder as it is),
    counting them in ``counts`` (``photos``, ``analyses``). A changed photo is a
    :class:`StoreError` whose message ends with ``note``; with a ``note``, a photo that cannot
    be read is one too (else its :class:`InputFileError`)."""
    import hashlib

    for rel, kind, sha in dst.execute("SELECT path, kind, sha256 FROM files").fetchall():
        p = src / rel
        if kind == "photo":
            try:
                data = read_input_bytes(str(p))
            except InputFileError as e:
                if not note:
                    raise
                raise StoreError(f"{e.message}{note}", path=str(p)) from None
            if hashlib.sha256(data).hexdigest() != sha:
                raise StoreError(f"changed since it was written{note}", path=str(p))
            (tmp / PHOTOS_DIR).mkdir(mode=0o700, exist_ok=True)
            _write_private(tmp / rel, data)
            key = "photos"
        elif p.is_dir() and not p.is_symlink():
            (tmp / ANALYSES_DIR).mkdir(mode=0o700, exist_ok=True)
            shutil.copytree(p, tmp / rel, symlinks=True)
            key = "analyses"
        else:
            continue
        if counts is not None:
            counts[key] += 1


def _tmp_prefix(target: Path) -> str:
    """The start of the name of the folder a backup to ``target`` is built in (the pid ends
    it)."""
    return f".{target.name}.tmp-"


#: What the folder of a backup being built holds (anything else: not a backup's, kept).
_BACKUP_ENTRIES = frozenset(
    {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", PHOTOS_DIR, ANALYSES_DIR}
)


def new_staging(target: Path, prefix: str) -> Path:
    """The hidden folder (mode 0700, named ``prefix`` and this process's id) beside ``target``
    in which a backup or a restore is built before it takes ``target``'s name; what an
    interrupted one left there is removed first (:func:`remove_interrupted`). OutputError when
    ``target``'s parent folder is missing or the folder cannot be made."""
    missing = folder_missing(target)
    if missing is not None:
        raise missing
    remove_interrupted(target, prefix)
    tmp = staging_path(target, prefix)
    try:
        tmp.mkdir(mode=0o700)
    except OSError as e:
        raise OutputError(f"cannot create ({e.strerror})", path=str(target)) from None
    return tmp


def staging_path(target: Path, prefix: str) -> Path:
    """The hidden folder beside ``target`` that this process builds a backup or a restore in:
    ``prefix`` and the process id (:func:`new_staging` makes it)."""
    return target.with_name(f"{prefix}{os.getpid()}")


@contextlib.contextmanager
def discarded_on_failure(tmp: Path, target: Path, doing: str):
    """Remove the staging folder ``tmp`` of ``target`` when the block fails: an ``OSError``
    (disk full) becomes :class:`~mesovision.errors.OutputError` ``cannot <doing> (<reason>)``
    naming ``target``; anything else (Ctrl-C, a refusal) is raised as it is."""
    try:
        yield
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot {doing} ({e.strerror})", path=str(target)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_interrupted(target: Path, prefix: str) -> None:
    """Remove the folders that backups (or restores) to ``target`` killed before their end
    (power cut, ``kill -9``) left beside it: hidden copies of a store's database and photos
    (:func:`interrupted`)."""
    try:
        entries = [Path(e.path) for e in os.scandir(target.parent)]
    except OSError:
        return  # the backup itself names the folder it cannot write
    for e in entries:
        if interrupted(e, prefix):
            log.warning("removing %s: the copy of a backup interrupted before its end", e)
            shutil.rmtree(e, ignore_errors=True)


def interrupted(folder: Path, prefix: str) -> bool:
    """Whether ``folder`` is what a backup (or a restore) killed before its end left: its name
    is ``prefix`` and a process id, the process of that id is gone, it is a folder (not a
    link) and it holds only what a store holds."""
    pid = folder.name[len(prefix) :]
    if not (folder.name.startswith(prefix) and pid.isdigit()):
        return False
    if folder.is_symlink() or not folder.is_dir():
        return False
    if _running(int(pid)):
        return False  # that process is running (maybe this very backup's twin): keep it
    try:
        return set(os.listdir(folder)) <= _BACKUP_ENTRIES
    except OSError:
        return False


def _running(pid: int) -> bool:
    """Whether a process of id ``pid`` exists (one that cannot be asked counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True
    return True


#: The start of the name of the note a running backup keeps in the store folder
#: (``store.backup-<pid>``, holding the path of the hidden folder it builds the copy in).
BACKUP_NOTE = "store.backup-"


def backup_notes(store_dir: Path) -> list[tuple[Path, Path | None]]:
    """``(note, its backup's hidden folder or None)`` of each note (:data:`BACKUP_NOTE`) of
    the store folder ``store_dir`` whose backup process is gone (killed before its end). The
    folder is None when the note does not name one of a backup's hidden folders of that
    process (``.<target>.tmp-<pid>``)."""
    try:
        with os.scandir(store_dir) as it:
            names = sorted(
                e.name
                for e in it
                if e.name.startswith(BACKUP_NOTE) and e.is_file(follow_symlinks=False)
            )
    except OSError:
        return []
    out = []
    for name in names:
        pid = name[len(BACKUP_NOTE) :]
        if not pid.isdigit() or _running(int(pid)):
            continue
        note = store_dir / name
        try:
            folder = Path(note.read_text(encoding="utf-8").strip())
        except (OSError, UnicodeDecodeError):
            folder = None
        ok = folder is not None and folder.is_absolute() and folder.name.startswith(".")
        if not (ok and folder.name.endswith(f".tmp-{pid}")):
            folder = None
        out.append((note, folder))
    return out


def _write_private(path: Path, data: bytes) -> None:
    """Write a new file of mode 0600 whatever the umask (a photo copy of the backup)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    with open(fd, "wb") as f:
        if hasattr(os, "fchmod"):  # a umask may take bits off the 0600 asked for
            os.fchmod(f.fileno(), 0o600)
        f.write(data)


def _copy_originals(dst: sqlite3.Connection, tmp: Path, counts: dict, *, db: str) -> None:
    """Copy each photo of the backup database ``dst`` that has no managed copy from its
    original file into ``tmp/photos/`` as a managed copy (metadata stripped, as ``--copy``),
    after checking the original's SHA-256, and point the backup's record at it (``files`` row
    with the copy's SHA-256). :class:`StoreError` names an original missing or changed, or the
    store's database ``db`` for an uploaded photo without a managed copy (it has no original
    file on this machine)."""
    import hashlib

    for pid, sid, path, sha in dst.execute(_UNCOPIED).fetchall():
        what = f"photo {pid} of session {sid}"
        advice = (
            "restore the file, or remove the session, then back up again (mesovision store "
            "check lists every problem)"
        )
        name, uploaded = photo_file_name(path)
        if uploaded:
            raise StoreError(
                f"{what}: uploaded {name} has no managed copy; remove the session, then back "
                "up again (mesovision store check lists every problem)",
                path=db,
            )
        try:
            data = read_input_bytes(path)
        except InputFileError as e:
            raise StoreError(
                f"{what}: cannot read the original file ({e.message}); {advice}", path=path
            ) from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise StoreError(
                f"{what}: original file changed since it was filed; {advice}", path=path
            )
        rel, clean = managed_copy(data, sha, path)
        (tmp / PHOTOS_DIR).mkdir(mode=0o700, exist_ok=True)
        _write_private(tmp / rel, clean)
        dst.execute("UPDATE photos SET managed_path = ? WHERE id = ?", (rel, pid))
        record_photo_file(dst, rel, clean)
        counts["photos"] += 1
        counts["originals"] += 1
