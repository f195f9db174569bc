"""What a write, a backup or a restore killed before its end left (``store check``, ``store check
--repair``).

A leftover is something the store itself made, by its own naming, that no finished operation
keeps:

* the files an import or a comparison wrote before a commit that never came: the names listed in
  ``store.pending`` that no ``files`` row records (a managed copy, its temporary
  ``photos/.<name>.tmp``, an analysis folder ``analyses/<id>`` or its temporary
  ``analyses/.tmp-<id>``), and ``store.pending`` itself;
* the files of a removal killed between its commit and its cleanup: recorded managed copies and
  analysis folders that no row uses (the copies of a removed patient's photos);
* the hidden folder a restore of this store killed before its end left beside it
  (``.<store>.restore-<pid>``), and the hidden folder a backup of this store killed before its end
  left beside its target (``.<target>.tmp-<pid>``; a backup notes it in
  ``store.backup-<pid>`` in the store folder while it runs): only when that process is gone and the
  folder holds nothing but a store's files (:func:`~mesovision.store.upkeep.remove_interrupted`);
* the staging folder of uploads a clinic app server (``mesovision serve``) killed outright left
  in the store folder (``.uploads/run-<16 hexadecimal digits>``): only a folder of that name
  whose ``flock`` no running server holds (:mod:`mesovision.store.staging`; a process id reused
  by another program does not fool it), removed with the photos staged in it.

They are told from a write in progress by holding the store's write lock while they are listed
(``BEGIN IMMEDIATE``, waited for up to 30 s, else :class:`~mesovision.errors.StoreBusy`): no
other writer is then between its first file and its commit. A store opened read-only is listed
without the lock (nothing on this machine can write it). Nothing else is ever listed or removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from .schema import ANALYSES_DIR, PENDING_NAME, PHOTOS_DIR, begin_immediate
from .staging import remove_stale_runs, stale_runs
from .upkeep import backup_notes, interrupted

__all__ = ["StoreLeftovers"]

#: The SQL of the files rows still use: managed copies of photos, folders of analyses.
_USED = (
    "SELECT managed_path FROM photos WHERE managed_path IS NOT NULL "
    "UNION SELECT 'analyses/' || id FROM analyses"
)


class StoreLeftovers:
    """The leftovers of interrupted operations of :class:`~mesovision.store.Store` (a mixin)."""

    def leftovers(self) -> list[str]:
        """One line per leftover (see :mod:`mesovision.store.leftovers`), naming it by its
        absolute path; empty when there is none. Lists them while holding the write lock
        (:class:`~mesovision.errors.StoreBusy`, exit 15, when another process keeps it 30 s)."""
        with self._leftover_lock():
            return [f"leftover {what}: {path}" for path, what in self._find_leftovers()]

    def remove_leftovers(self) -> list[str]:
        """Remove every leftover (``store check --repair``): the files of interrupted writes and
        removals by the cleanup of a write transaction; the hidden folders of killed restores
        and backups when their process is gone and they hold only a store's files, the notes
        of killed backups, and the staging folders of uploads no running server owns. Returns
        the lines of :meth:`leftovers` of what was removed."""
        found = self.leftovers()
        with self.write():  # its cleanup (FilesLedger._clean_orphans) removes the store's own
            pass
        for folder in self._killed_restores():
            shutil.rmtree(folder, ignore_errors=True)
        for note, folder in backup_notes(self.directory):
            if folder is not None and interrupted(folder, _prefix(folder)):
                shutil.rmtree(folder, ignore_errors=True)
            if folder is None or not os.path.lexists(folder):
                note.unlink(missing_ok=True)
        remove_stale_runs(self.directory)
        left = set(self.leftovers())
        return [f for f in found if f not in left]

    @contextlib.contextmanager
    def _leftover_lock(self):
        """The write lock while leftovers are listed (none on a store opened read-only)."""
        if self.readonly:
            yield
            return
        begin_immediate(self.lock_conn, str(self.directory))
        try:
            self.refresh_upgraded_copy()
            yield
        finally:
            self.lock_conn.execute("ROLLBACK")

    def _killed_restores(self) -> list[Path]:
        """The hidden folders restores of this store killed before their end left beside it."""
        prefix = f".{self.directory.name}.restore-"
        try:
            names = sorted(os.listdir(self.directory.parent))
        except OSError:
            return []
        folders = [self.directory.parent / n for n in names if n.startswith(prefix)]
        return [f for f in folders if interrupted(f, prefix)]

    def _find_leftovers(self) -> list[tuple[Path, str]]:
        """``(path, what)`` of each leftover; called with the write lock held."""
        interrupted_write = "of a write interrupted before its commit"
        recorded = self._recorded()
        out = [
            (self.directory / rel, f"file {interrupted_write}")
            for rel in sorted(self._pending() - set(recorded))
            if _own_entry(rel) and os.path.lexists(self.directory / rel)
        ]
        if os.path.lexists(self.directory / PENDING_NAME):
            out.append((self.directory / PENDING_NAME, f"list of the files {interrupted_write}"))
        used = {r[0] for r in self.conn.execute(_USED)}
        for rel, kind in sorted(recorded.items()):
            if rel not in used and os.path.lexists(self.directory / rel):
                what = (
                    "copy of a removed photo" if kind == "photo" else "folder of a removed analysis"
                )
                out.append((self.directory / rel, f"{what} (left by an interrupted removal)"))
        out += [(f, "copy of a backup by a restore killed before its end") for f in
                self._killed_restores()]  # fmt: skip
        for _, folder in backup_notes(self.directory):
            if folder is not None and interrupted(folder, _prefix(folder)):
                out.append((folder, "copy of this store by a backup killed before its end"))
        out += [(f, "uploads of a mesovision serve killed before its end") for f in
                stale_runs(self.directory)]  # fmt: skip
        return out


def _own_entry(rel: str) -> bool:
    """Whether ``rel`` names a direct entry of ``photos/`` or ``analyses/`` (the only paths the
    cleanup removes, :meth:`~mesovision.store.ledger.FilesLedger._remove`)."""
    sub, _, name = rel.partition("/")
    return sub in (PHOTOS_DIR, ANALYSES_DIR) and name not in ("", ".", "..") and "/" not in name


def _prefix(folder: Path) -> str:
    """The name of a backup's hidden folder ``.<target>.tmp-<pid>`` without its pid."""
    return folder.name.rstrip("0123456789")
