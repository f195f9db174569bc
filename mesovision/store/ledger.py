"""The files ledger: the store deletes and writes only files it recorded.

Every file or folder the store writes under ``photos/`` and ``analyses/`` is appended (fsync-ed)
to ``store.pending`` before it is written, and recorded in the ``files`` table in the same
transaction as the row that uses it. Every write transaction first removes what no row needs any
more (:meth:`FilesLedger._clean_orphans`): files of an import that crashed before its commit,
copies of removed photos, folders of removed analyses. It never follows a symbolic link, and it
refuses to write (:class:`~mesovision.errors.StoreError`) while ``photos/`` or ``analyses/``
holds anything the store did not write (:meth:`FilesLedger.foreign_entries`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
from pathlib import Path

from ..errors import InputFileError, OutputError, StoreError
from .schema import ANALYSES_DIR, PENDING_NAME, PHOTOS_DIR, begin_immediate

__all__ = ["DANGLING_ANALYSES", "FilesLedger", "read_input_bytes"]

log = logging.getLogger(__name__)
#: The ``analyses`` rows one of whose photos is not in the store (removed).
DANGLING_ANALYSES = (
    "EXISTS (SELECT 1 FROM json_each(analyses.photo_ids) j "
    "WHERE j.value NOT IN (SELECT id FROM photos))"
)


class FilesLedger:
    """The files part of :class:`~mesovision.store.Store` (a mixin: it uses ``directory``,
    ``conn`` and the write transaction of the store)."""

    def _drop_recorded_pending(self) -> None:
        """Remove the pending list once every file it names is recorded (under the write lock,
        so that no other writer is between its own note and commit): a finished write leaves no
        ``store.pending`` behind. A name it lists that is neither recorded nor gone keeps it."""
        if not os.path.lexists(self.directory / PENDING_NAME):
            return
        begin_immediate(self.conn, str(self.directory))
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
        either folder itself if it is a symbolic link or not a folder.

        Read without the write lock, while another writer may be between its note and its
        commit: the folders are listed first, then the pending list, then the rows. A writer
        notes a name before it creates it and drops the note only after the commit that
        records it, so a name seen in the listing is in one of the two; a temporary name
        renamed or removed since is gone, and not counted."""
        out, seen = [], []
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
                seen += [(e.path, f"{sub}/{e.name}") for e in it]
        if seen:
            pending = self._pending()  # before the rows: a dropped note's name is recorded
            known = pending | set(self._recorded())
            out += [p for p, rel in seen if rel not in known and os.path.lexists(p)]
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
        crashed before its commit (listed as pending), managed copies of removed photos,
        analyses of removed photos (rows and folders) and folders of removed analyses. Refuses
        (:class:`StoreError`) when ``photos/`` or ``analyses/`` holds anything the store did not
        write. Called with the write lock held: nobody else can be between a write and its
        commit."""
        self._refuse_foreign()
        # an analysis of a photo removed meanwhile (stored by a comparison that started before
        # the removal, by a version that did not check): its row and folder go too
        cur = self.conn.execute(f"DELETE FROM analyses WHERE {DANGLING_ANALYSES}")
        if cur.rowcount:
            log.info("removed %d cached analysis(es) of removed photos", cur.rowcount)
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


def read_input_bytes(path: str) -> bytes:
    """The bytes of an input file, or :class:`InputFileError` with the reason."""
    from ..io import os_reason

    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise InputFileError(os_reason(e), path=str(path)) from None
