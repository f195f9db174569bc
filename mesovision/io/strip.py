"""Managed copies of photos without identifying metadata.

:func:`strip_metadata` removes EXIF, XMP, IPTC, comments and trailing data from a photo's bytes
and keeps the pixels, the ICC profile and the orientation: JPEG segments and PNG chunks are
copied from a whitelist without re-encoding, a HEIC's metadata items are overwritten in place;
any other format is re-encoded losslessly.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, UnidentifiedImageError

from ..errors import InvalidImage
from .exif import ORIENTATION_TAG, orientation_from_raw, valid_orientation
from .heif import strip_heif
from .icc import embedded_icc
from .profiles import exif_adobe_rgb_icc
from .reasons import DECODER_ERRORS, EXIF_ERRORS, short_message

__all__ = ["strip_metadata"]


#: JPEG application segments kept (by marker and signature): JFIF/JFXX (APP0), the ICC profile
#: (APP2) and Adobe's colour-transform flag (APP14, needed to decode CMYK/YCCK correctly).
_JPEG_KEEP_APP = {
    0xE0: (b"JFIF\0", b"JFXX\0"),
    0xE2: (b"ICC_PROFILE\0",),
    0xEE: (b"Adobe",),
}
#: PNG chunks kept: the pixels, palette and transparency, colour (gamma, chromaticities, sRGB,
#: ICC), significant bits, background, pixel size and APNG frames. Text (tEXt/zTXt/iTXt, which
#: carries XMP), eXIf, tIME and private chunks are dropped.
_PNG_KEEP = frozenset(
    b"IHDR PLTE IDAT IEND tRNS gAMA cHRM sRGB iCCP sBIT bKGD pHYs acTL fcTL fdAT".split()
)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Pillow modes a PNG holds without loss; others (float, 32-bit integer, CMYK, ...) go to TIFF.
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I;16"})


def _orientation_tiff(orientation: int) -> bytes:
    """A big-endian TIFF/EXIF block holding only IFD0 tag 0x0112 (orientation)."""
    return (
        b"MM\x00\x2a\x00\x00\x00\x08"
        + struct.pack(">H", 1)
        + struct.pack(">HHIHH", ORIENTATION_TAG, 3, 1, orientation, 0)
        + struct.pack(">I", 0)
    )


def strip_metadata(data: bytes, *, path: str | None = None) -> tuple[bytes, str]:
    """The image in ``data`` without identifying metadata, and its file extension.

    What goes: EXIF (GPS position, camera and lens serial numbers, owner, maker notes, dates),
    XMP, IPTC/Photoshop blocks, comments and text chunks, and bytes after the image's end (e.g.
    a JPEG's embedded preview images). What stays: the pixels, untouched, the ICC profile, and
    the EXIF orientation when it is not 1, as a minimal EXIF block holding that tag only (the
    photo is shown and measured upright as before). A JPEG whose EXIF says Adobe RGB without a
    profile gets the Adobe RGB profile embedded (its colours are read as before).

    * JPEG (``.jpg``): segments are copied, never re-encoded: APP0 JFIF/JFXX, APP2 ICC and
      APP14 Adobe are kept with every non-application segment and the entropy-coded data;
      every other APPn segment and COM are dropped.
    * PNG (``.png``): whitelisted chunks (:data:`_PNG_KEEP`) are copied with their CRCs.
    * HEIC (``.heic``): the file's bytes with its EXIF and XMP items overwritten in place
      (:func:`~mesovision.io.heif.strip_heif`; the EXIF keeps the orientation only), the coded
      image untouched, when the copy decodes to the file's pixels, colour and orientation.
    * Anything else Pillow decodes (TIFF, WebP, a HEIF that cannot be copied so, ...): the first
      frame's decoded pixels re-encoded losslessly, as PNG when its mode allows (``.png``), else
      as deflate TIFF (``.tif``), with the ICC profile and orientation only.

    Raises
    ------
    InvalidImage
        ``data`` is not an image this function can read (names ``path`` and the reason).
    """
    if data[:3] == b"\xff\xd8\xff":
        return _strip_jpeg(data, path), ".jpg"
    if data[:8] == _PNG_SIGNATURE:
        return _strip_png(data, path), ".png"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS:
        clean = strip_heif(data)
        if clean is not None and _reads_alike(data, clean):
            return clean, ".heic"
    return _reencode_without_metadata(data, path)


#: ``ftyp`` major brands of HEIC stills (HEVC-coded images; ``mif1``: any HEIF image).
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1"})


def _reads_alike(data: bytes, clean: bytes) -> bool:
    """Whether the HEIF ``clean`` decodes (pillow-heif) to the pixels of ``data``, with its
    size, mode, colour profile or ``nclx`` box and applied orientation."""
    try:
        import pillow_heif
    except ImportError:  # pragma: no cover - pillow-heif is a dependency
        return False
    pillow_heif.register_heif_opener()
    keys = ("icc_profile", "nclx_profile", "original_orientation", "bit_depth")
    heif = ["HEIF"]
    try:
        with (
            Image.open(io.BytesIO(data), formats=heif) as a,
            Image.open(io.BytesIO(clean), formats=heif) as b,
        ):
            a.load()
            b.load()
            same = (a.size, a.mode) == (b.size, b.mode) and a.tobytes() == b.tobytes()
            return same and all(a.info.get(k) == b.info.get(k) for k in keys)
    except (UnidentifiedImageError, *DECODER_ERRORS):
        return False


def _jpeg_segment(data: bytes, i: int, path: str | None) -> tuple[int, bytes]:
    if i + 4 > len(data):
        raise InvalidImage("truncated JPEG (a segment is cut off)", path=path)
    (length,) = struct.unpack(">H", data[i + 2 : i + 4])
    if length < 2 or i + 2 + length > len(data):
        raise InvalidImage(f"truncated JPEG (segment at byte {i} is cut off)", path=path)
    return data[i + 1], data[i : i + 2 + length]


def _keep_jpeg_segment(marker: int, seg: bytes) -> bool:
    if 0xE0 <= marker <= 0xEF:
        return any(seg[4:].startswith(sig) for sig in _JPEG_KEEP_APP.get(marker, ()))
    return marker != 0xFE  # COM: free text


def _strip_jpeg(data: bytes, path: str | None) -> bytes:
    head: list[bytes] = []
    orientation = 1
    i = 2
    while True:  # header segments, up to and including the first SOS
        if i + 2 > len(data) or data[i] != 0xFF:
            raise InvalidImage(f"not a JPEG marker at byte {i}", path=path)
        if data[i + 1] == 0xFF:  # fill byte
            i += 1
            continue
        marker, seg = _jpeg_segment(data, i, path)
        if marker == 0xE1 and seg[4:10] == b"Exif\0\0":
            orientation = orientation_from_raw(seg[4:]) or 1
        if _keep_jpeg_segment(marker, seg):
            head.append(seg)
        i += len(seg)
        if marker == 0xDA:
            break
    out = bytearray(b"\xff\xd8")
    n_app0 = next((k for k, s in enumerate(head) if s[1] != 0xE0), len(head))
    out += b"".join(head[:n_app0])
    if orientation != 1:
        exif = b"Exif\0\0" + _orientation_tiff(orientation)
        out += b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    adobe = _exif_adobe_rgb(data) if not any(s[1] == 0xE2 for s in head) else None
    if adobe is not None:  # the EXIF that says Adobe RGB goes: the copy embeds the profile
        app2 = b"ICC_PROFILE\0\x01\x01" + adobe
        out += b"\xff\xe2" + struct.pack(">H", len(app2) + 2) + app2
    out += b"".join(head[n_app0:])
    j = i
    while True:  # entropy-coded data and the segments between scans, to EOI
        j = data.find(b"\xff", j)
        if j < 0 or j + 1 >= len(data):
            raise InvalidImage("truncated JPEG (no end-of-image marker)", path=path)
        nxt = data[j + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
            j += 2
        elif nxt == 0xFF:
            j += 1
        elif nxt == 0xD9:
            out += data[i : j + 2]
            return bytes(out)
        else:
            out += data[i:j]
            marker, seg = _jpeg_segment(data, j, path)
            if _keep_jpeg_segment(marker, seg):
                out += seg
            i = j = j + len(seg)


def _exif_adobe_rgb(data: bytes) -> bytes | None:
    """The Adobe RGB profile of a JPEG whose EXIF says Adobe RGB (see
    :func:`~mesovision.io.profiles.exif_adobe_rgb_icc`), else ``None``."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
            return exif_adobe_rgb_icc(im)
    except (UnidentifiedImageError, *DECODER_ERRORS):
        return None


def _strip_png(data: bytes, path: str | None) -> bytes:
    out = bytearray(_PNG_SIGNATURE)
    orientation = 1
    i = 8
    while True:
        if i + 12 > len(data):
            raise InvalidImage("truncated PNG (no IEND chunk)", path=path)
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        chunk = data[i : i + 12 + length]
        if len(chunk) < 12 + length:
            raise InvalidImage(f"truncated PNG ({kind!r} chunk at byte {i} is cut off)", path=path)
        if kind == b"eXIf":
            orientation = orientation_from_raw(chunk[8:-4]) or 1
        if kind == b"IDAT" and orientation != 1:
            body = b"eXIf" + _orientation_tiff(orientation)
            crc = struct.pack(">I", zlib.crc32(body))
            out += struct.pack(">I", len(body) - 4) + body + crc
            orientation = 1
        if kind in _PNG_KEEP:
            out += chunk
        i += len(chunk)
        if kind == b"IEND":
            return bytes(out)


def _reencode_without_metadata(data: bytes, path: str | None) -> tuple[bytes, str]:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            icc = embedded_icc(im)[0]  # a HEIF's nclx colour box becomes an ICC profile
            try:
                orientation = valid_orientation(im.getexif().get(ORIENTATION_TAG, 1), path or "")
            except EXIF_ERRORS:
                orientation = 1
            clean = im.copy()  # a plain Image: no tags, no info of the file
    except (UnidentifiedImageError, *DECODER_ERRORS) as exc:
        raise InvalidImage(
            f"cannot copy without its metadata: not a readable image ({short_message(exc)})",
            path=path,
        ) from None
    clean.info = {}
    buf = io.BytesIO()
    if clean.mode in _PNG_MODES:
        extra = {"exif": _orientation_tiff(orientation)} if orientation != 1 else {}
        clean.save(buf, "PNG", icc_profile=icc, **extra)
        return buf.getvalue(), ".png"
    extra = {"tiffinfo": {ORIENTATION_TAG: orientation}} if orientation != 1 else {}
    clean.save(buf, "TIFF", compression="tiff_adobe_deflate", icc_profile=icc, **extra)
    return buf.getvalue(), ".tif"
