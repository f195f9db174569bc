"""The staging folders of the clinic app's uploads in a store folder, and which of them no running
server owns.

Each ``mesovision serve`` of a store stages its uploads in a folder of its own,
``<store>/.uploads/run-<16 hexadecimal digits>/`` (:class:`mesovision.app.uploads.Staging`), and
holds an exclusive ``flock`` on that folder while it runs. The system releases the lock however
the process ends (``kill -9``, a crash, a power loss), and a process id reused by another program
holds no lock: a folder whose lock can be taken belongs to no running server. It is *stale*, and
removed by the next server of the store (:func:`remove_stale_runs`) or by ``mesovision store
check --repair`` (:mod:`mesovision.store.leftovers`), which ``store check`` lists
(:func:`stale_runs`).

Only entries of ``.uploads`` named like a server's folder (:data:`RUN_NAME`) that are folders
(not links) are looked at; a ``.uploads`` that is a symbolic link or a file is not looked into
(a warning names it). Every name is read and removed through the descriptor of ``.uploads``
opened without following a link, and removing a folder never follows a link inside it. On a
system without ``flock`` (Windows) no folder is stale: none is listed or removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import stat
from pathlib import Path

__all__ = ["RUN_NAME", "UPLOADS_DIR", "lock_folder", "remove_stale_runs", "stale_runs"]

#: The store's folder of staged uploads: one ``run-<random>`` folder per running server.
UPLOADS_DIR = ".uploads"

#: The name of a server's staging folder (nothing else in ``.uploads`` is ever removed).
RUN_NAME = re.compile(r"run-[0-9a-f]{16}")

log = logging.getLogger(__name__)


def stale_runs(store_dir: str | os.PathLike[str]) -> list[Path]:
    """The staging folders of ``<store_dir>/.uploads`` that no running server owns (their lock
    is free), sorted by name. Each lock is taken and released at once: a server starting
    meanwhile waits for it, and a stale folder stays as it is."""
    found = []
    with _runs(store_dir) as (dfd, names):
        for name in names:
            fd = lock_folder(name, wait=False, dir_fd=dfd)
            if fd is not None:
                os.close(fd)
                found.append(Path(store_dir).absolute() / UPLOADS_DIR / name)
    return found


def remove_stale_runs(store_dir: str | os.PathLike[str]) -> list[Path]:
    """Remove the staging folders that no running server owns (each while holding its lock,
    so that no server takes it meanwhile), and ``.uploads`` when it is left empty; the folders
    removed."""
    base = Path(store_dir).absolute() / UPLOADS_DIR
    removed = []
    with _runs(store_dir) as (dfd, names):
        for name in names:
            fd = lock_folder(name, wait=False, dir_fd=dfd)
            if fd is None:  # a running server's (or no lock to tell): left alone
                continue
            try:
                shutil.rmtree(name, dir_fd=dfd, ignore_errors=True)
                if not _lexists(name, dfd):
                    removed.append(base / name)
            finally:
                os.close(fd)
    if removed:
        log.info("removed %d staging folder(s) of uploads in %s", len(removed), base)
    with contextlib.suppress(OSError):
        os.rmdir(base)  # only when empty: another server's folder keeps it
    return removed


@contextlib.contextmanager
def _runs(store_dir):
    """The descriptor of ``.uploads`` (``None`` and no name when there is none to look into)
    and the names of its entries that are folders named like a server's."""
    dfd = _open_base(Path(store_dir).absolute() / UPLOADS_DIR)
    if dfd is None:
        yield None, []
        return
    try:
        with os.scandir(dfd) as it:
            names = sorted(
                e.name for e in it if RUN_NAME.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
            )
        yield dfd, names
    finally:
        os.close(dfd)


def _open_base(base: Path) -> int | None:
    """A descriptor of the store's ``.uploads`` folder, opened without following a link;
    ``None`` when there is none, it cannot be read, it is not a folder (a symbolic link, a
    file: a warning), or the system has no locks (not POSIX: nothing is stale)."""
    try:
        st = os.lstat(base)
    except OSError:  # no .uploads: nothing of ours
        return None
    if not stat.S_ISDIR(st.st_mode):
        log.warning(
            "%s is not a folder (a symbolic link or a file): stale staging folders are not "
            "looked for through it, nothing is deleted; move it out of the store folder",
            base,
        )
        return None
    if os.name != "posix":  # pragma: no cover - no flock: no stale folder can be told
        return None
    try:  # O_NOFOLLOW: replaced by a link since the check, it is not opened
        return os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None


def _lexists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def lock_folder(path, *, wait: bool, dir_fd: int | None = None) -> int | None:
    """An open descriptor of the folder ``path`` (relative to ``dir_fd`` if given) holding an
    exclusive ``flock`` on it (released when it is closed or the process ends, however it
    ends); ``None`` when another process holds it, the folder cannot be opened, or ``flock`` is
    unavailable (not POSIX)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, so no stale folder removed
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:  # held by a running server, or a file system without locks: left alone
        os.close(fd)
        return None
    return fd
