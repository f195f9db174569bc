"""All-or-nothing output folders.

:func:`output_folder` makes a command's outputs all-or-nothing: they are written into a hidden
staging folder on the same file system and moved into place only when all of them exist; an
interrupted run leaves the previous outputs, and its leftovers are removed by the next run
(only names of the staging and temporary-file shapes, never following symbolic links, never a
staging folder still locked by a running process).

The steps of ``with output_folder(out, names, ...) as staging:``, in order:

1. The outputs are checked exactly as by :func:`prepare_output_dir` (an output that is one of
   ``inputs`` raises :class:`~mesovision.errors.UsageError`, with or without ``force``; an
   existing one of ``names`` or ``replaces`` without ``force`` raises
   :class:`~mesovision.errors.OutputExists`); nothing is touched on refusal.
2. Leftovers of an earlier run into the same target that was killed (SIGKILL, power loss)
   are removed: staging folders ``.<out name>.<random>.partial`` beside and inside ``out_dir``,
   and temporary files ``.<output name>.<random>.tmp`` in ``out_dir``. Nothing else is
   touched, symbolic links are never followed, and a staging folder still locked by a
   running process is left alone.
3. A fresh, hidden staging folder is made on the target's file system: beside ``out_dir``
   when that does not exist yet (parents are created), else inside it.
4. When the block ends normally, the staging folder becomes ``out_dir`` with one rename
   (new target), or each output is moved in with ``os.replace`` (without ``force``:
   ``os.link``, refusing a file that appeared meanwhile), then the folder is ``fsync``-ed;
   with ``force``, the files of ``replaces`` that this run did not write are then removed
   (only those names, only files), so the folder never mixes two runs. When it ends with
   any exception, ``KeyboardInterrupt`` included, the staging folder is removed and
   ``out_dir`` is as before.

With ``force`` and an existing ``out_dir``, the previous outputs are replaced one file at a
time at the very end (each file is whole, old or new; an interruption in those milliseconds
can leave a mix of old and new files, never a partial one).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePath

from ..errors import OutputError
from .write import checked_outputs, fsync_dir, publish_no_clobber, write_error

__all__ = ["output_folder"]

logger = logging.getLogger(__name__)

#: ``tempfile`` names: ``.<target name>.<8 random characters>.partial`` (a staging folder of


#: :func:`output_folder`) and ``.<file name>.<8 random characters>.tmp`` (a temporary file of
#: :func:`atomic_write_bytes`). Only names of this shape are ever removed as leftovers.
_RANDOM = r"[a-z0-9_]{8}"


@contextlib.contextmanager
def output_folder(
    out_dir: str | os.PathLike[str],
    names: Iterable[str],
    *,
    force: bool = False,
    inputs: Mapping[str, str | os.PathLike[str] | None] | None = None,
    replaces: Iterable[str] = (),
) -> Iterator[Path]:
    """Write a command's outputs all together or not at all.

    Use as ``with output_folder(out, names, force=force) as staging:`` and write every output
    to ``staging / name``; the steps are those of the module's description.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder.
    names : iterable of str
        Relative file names the block writes (may contain sub-folders). A file in the staging
        folder that is not one of them fails the run before anything is moved.
    force : bool, optional
        Replace existing outputs.
    inputs : mapping, optional
        The run's input files by what they are (``{"the before photo": path}``), see
        :func:`~mesovision.io.write.refuse_inputs`.
    replaces : iterable of str, optional
        The names an earlier run of the same command wrote in ``out_dir`` (the caller knows them:
        :data:`mesovision.tables.OUTPUT_MARKER`; never a name it did not write): checked like
        ``names`` without ``force``, removed when this run does not write them with ``force``.

    Yields
    ------
    pathlib.Path
        The staging folder.

    Raises
    ------
    OutputExists, UsageError, ValueError
        As :func:`prepare_output_dir`.
    OutputError
        ``out_dir`` is a file, a folder cannot be made, or an output cannot be moved into
        place (the message names the output, not the staging folder).
    """
    out = Path(out_dir)
    names = list(names)
    stale = [PurePath(n) for n in dict.fromkeys(replaces) if n not in names]
    rel = checked_outputs(out, names, force=force, inputs=inputs)
    checked_outputs(out, map(str, stale), force=force)
    _remove_leftovers(out, rel)
    new_target = not out.exists()
    staging, lock = _make_staging(out, rel, new_target=new_target)
    try:
        try:
            yield staging  # an exception of the block is raised here
        except (OSError, OutputError) as exc:  # name the user's output, not the staging path
            named = _named_for_user(exc, staging, out)
            if named is exc:
                raise
            raise named from exc
        try:
            _publish_folder(staging, out, rel, force=force, new_target=new_target)
            if force and not new_target:
                _remove_stale(out, stale)
        except OSError as exc:
            raise write_error(out, exc) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if lock is not None:
            os.close(lock)


def _make_staging(out: Path, rel: list[PurePath], *, new_target: bool) -> tuple[Path, int | None]:
    """A fresh staging folder (beside a new ``out``, else inside it) holding the outputs'
    sub-folders, and the descriptor of its lock."""
    home = out.parent if new_target else out
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=home, prefix=f".{_label(out)}.", suffix=".partial"))
    except OSError as exc:
        raise write_error(out, exc) from None
    lock = None
    try:
        lock = _lock_dir(staging)
        for parent in {(staging / r).parent for r in rel}:
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        if lock is not None:
            os.close(lock)
        shutil.rmtree(staging, ignore_errors=True)
        raise write_error(out, exc) from None
    return staging, lock


def _named_for_user(exc: OSError | OutputError, staging: Path, out: Path) -> Exception:
    """``exc`` with a path inside the staging folder replaced by the same path in ``out``."""
    if isinstance(exc, OSError):
        where = Path(exc.filename) if isinstance(exc.filename, str) else None
        if where is None or not where.is_relative_to(staging):
            return exc
        return write_error(out / where.relative_to(staging), exc)
    if exc.path and Path(exc.path).is_relative_to(staging):
        exc.path = str(out / Path(exc.path).relative_to(staging))
    return exc


def _remove_stale(out: Path, stale: list[PurePath]) -> None:
    """Remove the files of an earlier run's outputs ``stale`` that this run did not write (never
    a folder; a symbolic link itself, not its target)."""
    for r in stale:
        p = out / r
        if os.path.lexists(p) and not p.is_dir():
            os.unlink(p)
            logger.info("removed %s, an output of an earlier run this run does not write", p)


def _label(out: Path) -> str:
    """The folder's own name, also for ``.`` and other relative names without one."""
    return Path(os.path.abspath(out)).name


def _lock_dir(directory: Path) -> int | None:
    """An open descriptor holding an exclusive ``flock`` on ``directory`` (released when the
    process ends, however it ends), or ``None`` where ``flock`` is unavailable."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    fd = os.open(directory, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _is_locked(directory: Path) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return True  # cannot tell: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _remove_leftovers(out: Path, rel: list[PurePath]) -> None:
    """Remove what a killed run into ``out`` left (see :func:`output_folder`, step 2)."""
    staging = re.compile(rf"\.{re.escape(_label(out))}\.{_RANDOM}\.partial")
    tmp = re.compile("|".join(rf"\.{re.escape(r.name)}\.{_RANDOM}\.tmp" for r in rel) or r"(?!)")
    places = [(out.parent, staging), (out, staging)]
    places += [(out / p, tmp) for p in sorted({r.parent for r in rel})]
    for folder, pattern in places:
        try:
            with os.scandir(folder) as it:
                entries = [e for e in it if pattern.fullmatch(e.name)]
        except OSError:  # missing, not a folder, unreadable: nothing of ours to clean
            continue
        for e in entries:
            with contextlib.suppress(OSError):
                if pattern is tmp and e.is_file(follow_symlinks=False):
                    os.unlink(e.path)
                elif e.is_dir(follow_symlinks=False) and not _is_locked(Path(e.path)):
                    shutil.rmtree(e.path)  # never follows symbolic links
                    logger.info("removed %s, left by an interrupted run", e.path)


def _publish_folder(
    staging: Path, out: Path, rel: list[PurePath], *, force: bool, new_target: bool
) -> None:
    expected = {PurePath(*r.parts) for r in rel}
    found = {PurePath(p.relative_to(staging)) for p in staging.rglob("*") if not p.is_dir()}
    if found - expected:
        extra = sorted(map(str, found - expected))
        raise OutputError(f"unexpected output {extra[0]!r} (not declared)", path=str(out))
    if new_target:
        fsync_dir(staging)
        try:
            os.rename(staging, out)  # atomic; fails if a non-empty out_dir appeared meanwhile
        except OSError:
            pass
        else:
            fsync_dir(out.parent)
            return
    for r in rel:
        src = staging / r
        if not src.exists():
            continue
        target = out / r
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if force:
            os.replace(src, target)
        else:
            publish_no_clobber(src, target)
    for folder in sorted({(out / r).parent for r in rel}):
        fsync_dir(folder)
    shutil.rmtree(staging, ignore_errors=True)
