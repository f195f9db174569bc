"""A HEIF/HEIC file without identifying metadata, its coded image untouched.

A HEIC (ISO/IEC 23008-12) is ISO base media boxes: ``ftyp``, a ``meta`` box that lists the
file's items (``iinf``), where their bytes lie (``iloc``) and their properties (``iprp``: size,
colour, rotation, the coder's configuration), and ``mdat``, the bytes. The EXIF block (GPS
position, serial numbers, dates) and the XMP packet are items of their own (types ``Exif`` and
``mime``). :func:`strip_heif` overwrites those items' bytes in place, same length: the EXIF with
a minimal block holding the orientation only (zeros after it), the XMP and any other ``mime`` or
``uri`` item with spaces. No offset moves and the coded image is not re-encoded, so the copy
decodes to the same pixels as the file, with the same colour (``colr``) and rotation properties,
at about the file's size (a lossless re-encoding as PNG is several times larger).

Only what is understood is copied: a file with a top-level box other than ``ftyp``, ``meta``,
``mdat``, ``free`` and ``skip`` (an image sequence's ``moov``), a ``meta`` child, an item type or
an item property outside the lists below, or an item located in a way other than by file offset
or within ``idat``, gives ``None``, and the caller re-encodes the pixels instead.
"""

from __future__ import annotations

import struct

from .exif import ORIENTATION_TAG, orientation_from_raw

__all__ = ["strip_heif"]

_TOP = frozenset({b"ftyp", b"meta", b"mdat", b"free", b"skip"})
_META = frozenset({b"hdlr", b"pitm", b"iloc", b"iinf", b"iref", b"iprp", b"idat", b"dinf", b"grpl"})
#: Items kept as they are: coded images, derived images (grid, identity, overlay, tone map).
_IMAGE_ITEMS = frozenset(
    b"hvc1 hev1 hvt1 lhv1 av01 avc1 jpeg j2k1 unci grid iden iovl tmap mski".split()
)
#: Items blanked: metadata.
_METADATA_ITEMS = frozenset({b"Exif", b"mime", b"uri "})
#: Item properties kept: sizes, pixel layout, colour, geometry, coder configuration, light levels
#: (no text: a ``udes`` user description gives ``None``).
_PROPERTIES = frozenset(
    b"ispe pixi colr hvcC lhvC av1C avcC jpgC j2kH irot imir clap pasp auxC rloc lsel a1op a1lx "
    b"clli mdcv cclv amve reve altt ccst iscl uncC cmpd cpal".split()
)


class _Unknown(Exception):
    """The file holds what :func:`strip_heif` does not copy."""


def _boxes(data: bytes, start: int, end: int):
    """``(type, payload start, box end)`` of each box in ``data[start:end]``."""
    i = start
    while i < end:
        if i + 8 > end:
            raise _Unknown
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        head = 8
        if size == 1:
            if i + 16 > end:
                raise _Unknown
            (size,) = struct.unpack(">Q", data[i + 8 : i + 16])
            head = 16
        elif size == 0:
            size = end - i
        if size < head or i + size > end:
            raise _Unknown
        yield kind, i + head, i + size
        i += size


def _uint(data: bytes, i: int, n: int) -> int:
    if n == 0:
        return 0
    if n not in (1, 2, 4, 8) or i + n > len(data):
        raise _Unknown
    return int.from_bytes(data[i : i + n], "big")


def _item_types(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """``{item_ID: item_type}`` from an ``iinf`` box's payload."""
    version = data[start]
    i = start + 4 + (2 if version == 0 else 4)
    types = {}
    for kind, p, _ in _boxes(data, i, end):
        if kind != b"infe" or data[p] not in (2, 3):
            raise _Unknown
        n = 2 if data[p] == 2 else 4
        item = _uint(data, p + 4, n)
        types[item] = data[p + 4 + n + 2 : p + 4 + n + 6]
    return types


def _extents(data: bytes, start: int, idat: int | None) -> dict[int, list[tuple[int, int]]]:
    """``{item_ID: [(file offset, length), ...]}`` from an ``iloc`` box's payload (``idat``:
    the file offset of the ``idat`` payload, for items stored there)."""
    version = data[start]
    if version > 2:
        raise _Unknown
    off_size, len_size = data[start + 4] >> 4, data[start + 4] & 15
    base_size, index_size = data[start + 5] >> 4, (data[start + 5] & 15 if version else 0)
    i = start + 6
    count_size = 2 if version < 2 else 4
    count, i = _uint(data, i, count_size), i + count_size
    out = {}
    for _ in range(count):
        item, i = _uint(data, i, count_size), i + count_size
        method = 0
        if version:
            method, i = _uint(data, i, 2) & 15, i + 2
        i += 2  # data_reference_index
        base, i = _uint(data, i, base_size), i + base_size
        n, i = _uint(data, i, 2), i + 2
        if n and index_size + off_size + len_size == 0:
            raise _Unknown  # extents of no bytes: nothing to locate
        spans = []
        for _ in range(n):
            i += index_size
            off, i = _uint(data, i, off_size), i + off_size
            length, i = _uint(data, i, len_size), i + len_size
            if method == 1 and idat is not None:
                off += idat
            elif method != 0:
                spans = None
            if spans is not None:
                spans.append((base + off, length))
        out[item] = spans
    return out


def _check_properties(data: bytes, start: int, end: int) -> None:
    for kind, p, q in _boxes(data, start, end):
        if kind == b"ipco":
            if any(k not in _PROPERTIES for k, _, _ in _boxes(data, p, q)):
                raise _Unknown
        elif kind != b"ipma":
            raise _Unknown


def _blank_exif(old: bytes) -> bytes:
    """The EXIF item's bytes of ``old``'s length: header offset 0, then a TIFF block holding
    only the orientation (when not 1), zeros after it."""
    tiff = old[4 + _uint(old, 0, 4) :] if len(old) >= 4 else b""
    tiff = tiff[6:] if tiff.startswith(b"Exif\0\0") else tiff
    orientation = orientation_from_raw(tiff) if tiff else None
    orientation = orientation if orientation in range(1, 9) else 1
    entries = [(ORIENTATION_TAG, 3, 1, orientation << 16)] if orientation != 1 else []
    block = b"MM\0*\0\0\0\x08" + struct.pack(">H", len(entries))
    block += b"".join(struct.pack(">HHII", *e) for e in entries) + b"\0\0\0\0"
    new = b"\0\0\0\0" + block
    return new.ljust(len(old), b"\0") if len(new) <= len(old) else b"\0" * len(old)


def strip_heif(data: bytes) -> bytes | None:
    """``data`` (a HEIF file) with its metadata items blanked in place (see the module
    docstring), or ``None`` when the file holds what is not understood."""
    try:
        return _strip(data)
    except (_Unknown, IndexError, struct.error):
        return None


def _strip(data: bytes) -> bytes:
    boxes = list(_boxes(data, 0, len(data)))
    if not boxes or boxes[0][0] != b"ftyp" or any(k not in _TOP for k, _, _ in boxes):
        raise _Unknown
    metas = [(p, q) for k, p, q in boxes if k == b"meta"]
    if len(metas) != 1:
        raise _Unknown
    p, q = metas[0]
    children = {k: (a, b) for k, a, b in _boxes(data, p + 4, q)}
    if set(children) - _META or b"iinf" not in children or b"iloc" not in children:
        raise _Unknown
    _check_properties(data, *children.get(b"iprp", (0, 0)))
    types = _item_types(data, *children[b"iinf"])
    idat = children[b"idat"][0] if b"idat" in children else None
    extents = _extents(data, children[b"iloc"][0], idat)
    out = bytearray(data)
    for item, kind in types.items():
        if kind in _IMAGE_ITEMS:
            continue
        spans = extents.get(item, [])
        if kind not in _METADATA_ITEMS or spans is None or any(n == 0 for _, n in spans):
            raise _Unknown
        old = b"".join(data[o : o + n] for o, n in spans)
        if sum(n for _, n in spans) != len(old):
            raise _Unknown
        new = _blank_exif(old) if kind == b"Exif" else b" " * len(old)
        i = 0
        for o, n in spans:
            out[o : o + n] = new[i : i + n]
            i += n
    return bytes(out)
