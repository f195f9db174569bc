"""Why an input file could not be read: the one-line reasons of every load error.

A photo that cannot be loaded gets exactly one line that names the cause: the operating system's
error (:func:`os_reason`), the container format recognised from its magic number
(:func:`sniff_format`, so that a PDF or an AVIF is named as such instead of "not an image"), a
truncated or corrupt decode (:func:`decode_reason`) or a pixel count over the limit
(:func:`bomb_reason`). :data:`DECODER_ERRORS` is the closed list of exceptions Pillow's decoders
raise on bad data; anything else escaping a decoder is a bug, not a bad file.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping

__all__ = [
    "DECODER_ERRORS",
    "EXIF_ERRORS",
    "bomb_reason",
    "cut_short",
    "decode_reason",
    "os_reason",
    "raw_reason",
    "short_message",
    "sniff_format",
    "tiff_raw_kind",
    "too_many_pixels",
    "unidentified_reason",
]

#: Exceptions Pillow's (and pillow-heif's) decoders raise on bad data. Anything else is a bug.
DECODER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    NotImplementedError,
    RuntimeError,  # pillow-heif: corrupt data, "Security limit exceeded" (found by fuzzing)
)
EXIF_ERRORS = DECODER_ERRORS + (AttributeError, UnicodeDecodeError)


def os_reason(exc: OSError) -> str:
    """The reason an ``OSError`` on an input file gives, in a few words."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read ({exc.strerror or type(exc).__name__})"


_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"II+\x00", "TIFF"),
    (0, b"MM\x00+", "TIFF"),
    (0, b"BM", "BMP"),
    (0, b"GIF8", "GIF"),
    (0, b"%PDF", "PDF"),
    (0, b"8BPS", "PSD"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000"),
    (0, b"\xff\x0a", "JPEG XL"),
    (4, b"ftypavif", "AVIF"),
    (0, b"PK\x03\x04", "ZIP"),
    (0, b"\x00\x00\x01\x00", "ICO"),
    (0, b"IIRO", "Olympus ORF raw"),
    (0, b"IIU\x00", "Panasonic RW2 raw"),
    (0, b"FUJIFILMCCD-RAW", "Fujifilm RAF raw"),
    (4, b"ftypcrx ", "Canon CR3 raw"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def sniff_format(data: bytes) -> str | None:
    """Name the container format from its magic number, or ``None``."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    if data[:4] == b"II*\x00" and data[8:10] == b"CR":
        return "Canon CR2 raw"
    for offset, magic, name in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return name
    return None


def cut_short(data: bytes) -> bool:
    """Whether the container's own sizes say the file goes on past ``data``: a WebP's RIFF size,
    or a HEIF's top-level boxes (ISO BMFF). A file partly copied or downloaded (a photo still
    syncing from a phone's cloud) is named "truncated", not "corrupt"."""
    if data[:4] == b"RIFF" and len(data) >= 8:
        return struct.unpack("<I", data[4:8])[0] + 8 > len(data)
    if data[4:8] != b"ftyp":
        return False
    i = 0
    while i + 8 <= len(data):
        size = struct.unpack(">I", data[i : i + 4])[0]
        if size == 1:  # 64-bit size after the type
            if i + 16 > len(data):
                return True
            size = struct.unpack(">Q", data[i + 8 : i + 16])[0]
        if size == 0:  # the box runs to the end of the file
            return False
        if size < 8:
            return False  # corrupt, not cut short
        i += size
    return i > len(data) or 0 < len(data) - i < 8


def tiff_raw_kind(data: bytes, tags: Mapping[int, object]) -> str | None:
    """The kind of a camera raw file built on TIFF (``tags``: its first directory), or ``None``.

    Pillow opens such a file as a TIFF and decodes its first image, which is a small preview
    (DNG, NEF, ARW) or an old-style JPEG (CR2), not the photo: a DNG (tag 50706, DNGVersion), a
    CR2 ("CR" after the TIFF header), or a first image marked reduced-resolution (tag 254,
    NewSubFileType, bit 0) with the full image in a sub-directory (tag 330, SubIFDs)."""
    if 50706 in tags:
        return "DNG raw"
    if data[8:10] == b"CR":
        return "Canon CR2 raw"
    sub = tags.get(254, 0)
    if isinstance(sub, int) and sub & 1 and 330 in tags:
        return "camera raw"
    return None


def raw_reason(kind: str) -> str:
    """The one-line reason for a camera raw file of ``kind`` (e.g. "DNG raw")."""
    return f"unsupported format ({kind} photo): export it as JPEG or TIFF from the raw converter"


def unidentified_reason(data: bytes) -> str:
    kind = sniff_format(data)
    if kind is not None and kind.endswith(" raw"):
        return raw_reason(kind)
    if kind in ("WebP", "HEIF") and cut_short(data):
        return f"truncated {kind}"
    if kind in ("JPEG", "PNG", "TIFF", "BMP", "WebP", "HEIF"):
        return f"truncated or corrupt {kind} header"
    if kind is not None:
        return f"unsupported format ({kind}); supported: JPEG, PNG, TIFF, WebP, BMP, HEIF/HEIC"
    head = data[:1024]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\t\r\n\f" for c in text):
        return "not an image (text file?)"
    return "not an image (unrecognised format)"


def short_message(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    msg = re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "data", msg)
    return msg if len(msg) <= 120 else msg[:117] + "..."


def decode_reason(exc: BaseException, fmt: str | None, data: bytes = b"") -> str:
    """The reason a decoder's error ``exc`` gives: "truncated" when the decoder says so or the
    container's sizes run past ``data`` (:func:`cut_short`), else "corrupt" with its message."""
    msg = str(exc).lower()
    ends = ("truncated", "premature end", "unexpected end of file")
    if isinstance(exc, EOFError) or any(e in msg for e in ends) or cut_short(data):
        return f"truncated {fmt or 'image'}"
    return f"corrupt {fmt or 'image'} data ({short_message(exc)})"


def _mp(n: int, limit: int) -> str:
    """``n`` pixels in megapixels, with the decimals (at most 3) that tell it from ``limit``."""
    for d in range(4):
        shown = round(n / 1e6, d)
        if shown != limit / 1e6 and shown > 0:
            return f"{shown:.{d}f}"
    return f"{n / 1e6:.3f}"


def too_many_pixels(
    n: int, limit: int, *, size: tuple[int, int] | None = None, what: str = ""
) -> str:
    """The one-line reason for a photo of ``n`` pixels (``size``: its ``(width, height)``) over
    ``limit`` (``what``: which limit, e.g. " for a JPEG"), in a clinic's words: what to do."""
    dims = f" ({size[0]} x {size[1]} px)" if size else ""
    advice = (
        "set the camera to 12-50 MP or export the photo smaller"
        if limit >= 50_000_000
        else "export the photo smaller"
    )
    return f"photo of {_mp(n, limit)} MP{dims}; at most {limit / 1e6:.6g} MP{what}: {advice}"


def bomb_reason(exc: BaseException, max_pixels: int) -> str:
    m = re.search(r"\((\d+) pixels\) exceeds limit of (\d+)", str(exc))
    if not m:
        return f"too many pixels ({short_message(exc)})"
    n, pillow_limit = int(m.group(1)), int(m.group(2))
    if n > max_pixels:
        return too_many_pixels(n, max_pixels)
    return (
        f"image has {n} pixels, limit is {pillow_limit} (PIL.Image.MAX_IMAGE_PIXELS; "
        "raise it to accept larger files)"
    )
