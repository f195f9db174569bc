"""Writing files atomically: bytes, PNG images and masks, and checked output directories.

A writer puts the bytes in a temporary file in the target's directory (``.<name>.<random>.tmp``),
``fsync``-s it and moves it into place with one ``os.link`` (refusing a target that appeared
meanwhile) or, with ``force``, ``os.replace``: a reader sees the old file or the whole new one,
never half a file. An existing output is kept unless ``force=True``. Written files are readable
by their owner only (mode 0600, as ``tempfile`` creates them): outputs derive from patient photos.
:func:`prepare_output_dir` checks every output of a run before anything is computed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath

import cv2
import numpy as np

from ..errors import OutputError, OutputExists, UsageError

__all__ = [
    "atomic_write_bytes",
    "checked_outputs",
    "fsync_dir",
    "prepare_output_dir",
    "publish_no_clobber",
    "refuse_inputs",
    "require_folder",
    "write_error",
    "write_png",
]


def write_error(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write ({exc.strerror or type(exc).__name__})", path=str(path))


def _check_target(target: Path, force: bool) -> None:
    if target.is_dir():
        raise OutputExists("exists and is a directory", path=str(target))
    if not force and (target.exists() or target.is_symlink()):
        raise OutputExists("exists; use --force to overwrite", path=str(target))


def fsync_dir(directory: Path) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically: a reader sees the old file or the whole new one.

    The bytes go to a temporary file in the same directory (``.<name>.<random>.tmp``), which is
    flushed, ``fsync``-ed and then moved into place; on any error the temporary file is removed.
    Without ``force`` the move is ``os.link`` (fails if the target appeared meanwhile), falling back
    to a check and ``os.replace`` on file systems without hard links.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; its directory must exist.
    data : bytes
        Content.
    force : bool, optional
        Replace an existing file (default ``False``).

    Returns
    -------
    pathlib.Path
        The target path.

    Raises
    ------
    OutputExists
        ``path`` exists and ``force`` is false (nothing is written), or ``path`` is a directory.
    OutputError
        The file cannot be written (missing directory, permissions, disk full).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    target = Path(path)
    _check_target(target, force)
    parent = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise write_error(target, exc) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, target)
        else:
            publish_no_clobber(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise write_error(target, exc) from exc
        raise
    fsync_dir(parent)
    return target


def publish_no_clobber(tmp: Path, target: Path) -> None:
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputExists("exists; use --force to overwrite", path=str(target)) from None
    except OSError:  # no hard links here (some network or FAT file systems)
        if target.exists():
            raise OutputExists("exists; use --force to overwrite", path=str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def write_png(path: str | os.PathLike[str], image: np.ndarray, *, force: bool = False) -> Path:
    """Write an image or a mask as an 8-bit PNG built from the array alone (no metadata).

    Parameters
    ----------
    path : str or os.PathLike
        Target file (written atomically, see :func:`atomic_write_bytes`).
    image : numpy.ndarray
        float ``(H, W, 3)`` sRGB in ``[0, 1]`` (rounded to ``round(255 * v)``), ``uint8``
        ``(H, W, 3)`` RGB, or a mask: ``bool`` ``(H, W)`` (written 0/255) or ``uint8`` ``(H, W)``.
    force : bool, optional
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The target path.

    Raises
    ------
    ValueError
        Unsupported shape or dtype, non-finite values, or floats outside ``[0, 1]``.
    OutputExists
        The file exists and ``force`` is false.
    """
    a = np.asarray(image)
    if a.ndim == 2 and a.dtype == np.bool_:
        px = a.astype(np.uint8) * np.uint8(255)
    elif a.ndim == 2 and a.dtype == np.uint8:
        px = a
    elif a.ndim == 3 and a.shape[2] == 3 and a.dtype == np.uint8:
        px = a[:, :, ::-1]
    elif a.ndim == 3 and a.shape[2] == 3 and np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ValueError("image has NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"float image values must be in [0, 1], got [{lo:g}, {hi:g}]")
        px = np.rint(a[:, :, ::-1] * 255.0).astype(np.uint8)
    else:
        raise ValueError(
            "expected float (H, W, 3) in [0, 1], uint8 (H, W, 3), or a bool/uint8 (H, W) mask; "
            f"got {a.dtype} {a.shape}"
        )
    if px.shape[0] < 1 or px.shape[1] < 1:
        raise ValueError(f"image has no pixels: shape {a.shape}")
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(px))
    if not ok:  # pragma: no cover - OpenCV fails only on unsupported input, excluded above
        raise ValueError(f"PNG encoding failed for {a.dtype} {a.shape}")
    return atomic_write_bytes(path, buf.tobytes(), force=force)


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: the same inode where both exist (hard and
    symbolic links included), else the same resolved path."""
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return os.path.normcase(a.resolve()) == os.path.normcase(b.resolve())


def refuse_inputs(
    outputs: Iterable[str | os.PathLike[str]],
    inputs: Mapping[str, str | os.PathLike[str] | None],
) -> None:
    """Refuse an output that is one of the run's inputs, ``--force`` or not.

    Parameters
    ----------
    outputs : iterable of path
        Every file the run may write.
    inputs : mapping
        What each input is (``"the before photo"``) to its path; ``None`` paths are skipped.

    Raises
    ------
    UsageError
        ``<output> is the before photo: choose another output folder`` (exit 2); nothing is
        touched.
    """
    given = [(what, Path(p)) for what, p in inputs.items() if p is not None]
    for o in map(Path, outputs):
        for what, p in given:
            if _same_file(o, p):
                raise UsageError(f"is {what}: choose another output folder", path=str(o))


def folder_missing(out: Path) -> OutputError | None:
    """The error for an output folder that cannot be created as one level (its parent is
    missing, or is a file or a broken link: "is not a folder"), or ``None``. The commands create
    the last level of a missing output folder only, as ``mkdir`` without ``-p`` does (a typo in
    a parent is refused); the functions of this module create the parents."""
    parent = Path(os.path.abspath(out)).parent
    if os.path.lexists(out) or parent.is_dir():
        return None
    what = "is not a folder" if os.path.lexists(parent) else "does not exist (create it first)"
    return OutputError(f"cannot create the folder: {out.parent} {what}", path=str(out))


def require_folder(target: Path) -> None:
    """Refuse an output file whose folder does not exist (exit 10): a file output's folder is
    never created, as no command creates more than the last level of what ``-o`` names."""
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if os.path.lexists(folder) else "does not exist"
        raise OutputError(f"cannot write: the folder {folder} {what}", path=str(target))


def checked_outputs(
    out: Path,
    names: Iterable[str],
    *,
    force: bool,
    inputs: Mapping[str, str | os.PathLike[str] | None] | None = None,
) -> list[PurePath]:
    """The relative output names, after refusing bad names, outputs that are inputs (see
    :func:`refuse_inputs`), an ``out`` that is a file and (without ``force``) existing outputs;
    see :func:`prepare_output_dir`. Touches nothing."""
    rel = [PurePath(n) for n in names]
    for r in rel:
        if r.is_absolute() or ".." in r.parts or not r.parts:
            raise ValueError(f"output name must be relative, inside the directory: {str(r)!r}")
    refuse_inputs([out / r for r in rel], inputs or {})
    if os.path.lexists(out) and not out.is_dir():
        what = "is a file, not a folder" if out.exists() else "is a broken link"
        raise OutputError(f"{what}: choose a folder for the outputs", path=str(out))
    if not force:
        existing = [out / r for r in rel if (out / r).exists() or (out / r).is_symlink()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise OutputExists(f"exists; use --force to overwrite{more}", path=str(existing[0]))
    for r in rel:
        if (out / r).is_dir() and not (out / r).is_symlink():
            raise OutputExists("exists and is a directory", path=str(out / r))
    return rel


def prepare_output_dir(
    out_dir: str | os.PathLike[str],
    names: Iterable[str],
    *,
    force: bool = False,
    inputs: Mapping[str, str | os.PathLike[str] | None] | None = None,
) -> Path:
    """Create ``out_dir`` (with parents) after checking that none of ``names`` exists in it and
    none is one of ``inputs``.

    Call it before computing or writing anything, so that a refused run leaves no partial output.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output directory.
    names : iterable of str
        Relative file names the run will write (may contain sub-directories, which are created).
    force : bool, optional
        Allow existing outputs to be replaced later.
    inputs : mapping, optional
        The run's input files by what they are (``{"the before photo": path}``): an output that
        is one of them is refused, with or without ``force`` (:func:`refuse_inputs`).

    Returns
    -------
    pathlib.Path
        The directory.

    Raises
    ------
    OutputExists
        An output exists and ``force`` is false (the message names the first one and counts the
        others); nothing is created.
    UsageError
        An output is one of ``inputs``.
    ValueError
        A name is absolute or leaves ``out_dir`` (``..``).
    OutputError
        ``out_dir`` is a file, or it cannot be created.
    """
    out = Path(out_dir)
    rel = checked_outputs(out, names, force=force, inputs=inputs)
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)  # new: its owner only
        for parent in {(out / r).parent for r in rel}:
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(out, exc) from None
    return out
