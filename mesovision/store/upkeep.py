"""Checking a store and backing it up.

:meth:`StoreUpkeep.integrity_problems` is what ``mesovision store check`` reports: SQLite's own
checks, sessions without photos, managed copies missing or changed, analysis folders missing, and
foreign entries. :meth:`StoreUpkeep.backup` copies the database through SQLite's online backup
API and every recorded file, under the write lock, into a new folder renamed into place.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

from ..errors import OutputError, OutputExists, StoreError
from .ledger import read_input_bytes
from .schema import ANALYSES_DIR, DB_NAME, PHOTOS_DIR

__all__ = ["StoreUpkeep"]


class StoreUpkeep:
    """``store check`` and ``store backup`` of :class:`~mesovision.store.Store` (a mixin)."""

    def integrity_problems(self) -> list[str]:
        """What ``mesovision store check`` reports; empty when all is well.

        ``PRAGMA integrity_check`` and ``foreign_key_check`` findings, sessions without any
        photo, managed copies that are missing, not a regular file, unrecorded or whose SHA-256
        differs from the one recorded when it was written, missing analysis folders, and
        entries of ``photos/`` or ``analyses/`` the store did not write."""
        from ..io import sha256_file

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
                        data = read_input_bytes(str(p))
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
