"""Reading an input file's bytes, within a size limit, and hashing a file.

:func:`read_image_bytes` refuses anything but a regular file and a file larger than any image
within the pixel limit could be, before reading it; :func:`sha256_file` hashes in 1 MiB chunks.
Failures are :class:`~mesovision.errors.InputFileError` (the file cannot be read) or
:class:`~mesovision.errors.InvalidImage` (zero bytes, too large), with the reason of
:mod:`mesovision.io.reasons`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from ..errors import InputFileError, InvalidImage
from .reasons import os_reason

__all__ = ["read_image_bytes", "sha256_file"]


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks.

    Raises
    ------
    InputFileError
        The file is missing, a directory, or cannot be read.
    """
    spath = str(path)
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise InputFileError(os_reason(exc), path=spath) from None
    return h.hexdigest()


def read_image_bytes(p: Path, spath: str, *, max_bytes: int) -> bytes:
    """The bytes of the regular file ``p`` (named ``spath`` in errors), at most ``max_bytes``."""
    try:
        st = os.stat(p)
    except OSError as exc:
        raise InputFileError(os_reason(exc), path=spath) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputFileError("is a directory", path=spath)
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError("not a regular file", path=spath)
    if st.st_size > max_bytes:
        raise InvalidImage(
            f"file has {st.st_size} bytes, more than any image within the pixel limit "
            f"({max_bytes} bytes)",
            path=spath,
        )
    try:
        with open(p, "rb") as f:
            data = f.read()  # not read(n): that allocates n bytes up front
    except OSError as exc:
        raise InputFileError(os_reason(exc), path=spath) from None
    if not data:
        raise InvalidImage("zero bytes", path=spath)
    if len(data) > max_bytes:
        raise InvalidImage(f"file has more than {max_bytes} bytes", path=spath)
    return data
