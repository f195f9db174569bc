"""The load limits and the size of the working copy.

A file is refused before its pixels are decoded when it has more pixels than the caller's limit,
a side shorter than :data:`MIN_SIDE_PX` (in the file, or once reduced to ``max_side``), or an
aspect ratio too extreme for one common scale. The working copy is reduced with one scale
``s = new_width / width`` for both axes, so that a point maps back to the file exactly
(:meth:`mesovision.types.Photo.to_original`); a JPEG may be decoded directly at 1/2, 1/4 or 1/8
of its size when that is close enough to ``max_side`` (:data:`DRAFT_MIN_SHARE`).
"""

from __future__ import annotations

from PIL import Image

from ..errors import InvalidImage, UsageError

__all__ = [
    "DRAFT_MIN_SHARE",
    "JPEG_DECLARED_FACTOR",
    "MAX_BYTES_PER_PIXEL",
    "COMPARE_BASE_BYTES",
    "COMPARE_BYTES_PER_PX",
    "MIN_SIDE_PX",
    "available_memory",
    "check_compare_memory",
    "compare_memory_need",
    "header_size",
    "check_wide_enough",
    "draft_side",
    "jpeg_decoded_size",
    "stored_size",
    "working_size",
]


# Bytes per pixel an uncompressed image can need at most (RGBA float32); bounds the file size.
MAX_BYTES_PER_PIXEL = 16
_SCALE_TOLERANCE = 1e-3


#: A JPEG decodes 2-8x faster at 1/2, 1/4 or 1/8 of its size (DCT-domain reduction). When such a
#: reduction gives a long side between this share of ``max_side`` and ``max_side``, the working
#: copy takes that size instead (a 4032-px phone photo gives 2016 px at ``max_side=2048``).
DRAFT_MIN_SHARE = 0.9


def draft_side(long_side: int, max_side: int | None) -> int | None:
    if max_side is None or long_side <= max_side:
        return max_side
    for k in (8, 4, 2):
        reduced = -(-long_side // k)
        if DRAFT_MIN_SHARE * max_side <= reduced <= max_side:
            return reduced
    return max_side


#: A JPEG is decoded at 1/2, 1/4 or 1/8 of its size for a smaller working copy
#: (:func:`jpeg_decoded_size`): the pixel limit applies to the pixels decoded, and the size it
#: declares may be up to this many times the limit (240 MP at the default 60 MP: the 108 MP and
#: 200 MP modes of phones). libjpeg still reads every coefficient, and a progressive JPEG holds
#: them all in memory (about 2 bytes a pixel per component), so the declared size stays bounded.
JPEG_DECLARED_FACTOR = 4


def jpeg_decoded_size(width: int, height: int, target: tuple[int, int]) -> tuple[int, int]:
    """The ``(width, height)`` a JPEG of ``width`` x ``height`` (stored orientation) is decoded
    at for a working copy of ``target`` (the same orientation): reduced in the DCT domain by the
    largest of 8, 4 or 2 that keeps it at least ``target`` (as
    :func:`mesovision.io.pixels.decode_pixels` asks Pillow's ``draft`` for it), else full."""
    tw, th = target
    if tw * 2 > width or th * 2 > height:
        return width, height
    k = min(width // tw, height // th)
    s = next(s for s in (8, 4, 2) if k >= s)
    return -(-width // s), -(-height // s)


#: Shortest side, in pixels, of an image the pipeline can measure (file and working copy): the
#: face mesh, the alignment's ECC pyramid and the texture filters need at least this much.
MIN_SIDE_PX = 32


def check_wide_enough(width: int, height: int, max_side: int | None, spath: str) -> None:
    """Refuse an image whose short side (in the file, or once reduced to ``max_side``) is below
    :data:`MIN_SIDE_PX`, before the scale check (which a 1xN image would fail less clearly)."""
    limit = f"at least {MIN_SIDE_PX} px on each side"
    if min(width, height) < MIN_SIDE_PX:
        raise InvalidImage(f"image too narrow ({width} x {height} px; {limit})", path=spath)
    long_side = max(width, height)
    if max_side is not None and long_side > max_side:
        short = min(width, height) * max_side / long_side
        if round(short) < MIN_SIDE_PX:
            raise InvalidImage(
                f"image too narrow ({width} x {height} px, about {short:.0f} px wide at "
                f"max_side {max_side}; {limit})",
                path=spath,
            )


def working_size(
    width: int, height: int, max_side: int | None, spath: str
) -> tuple[int, int, float]:
    """Working ``(width, height)`` and the common scale ``new_width / width``."""
    if max_side is None or max(width, height) <= max_side:
        return width, height, 1.0
    s = max_side / max(width, height)
    new_w, new_h = max(1, round(width * s)), max(1, round(height * s))
    sx, sy = new_w / width, new_h / height
    if abs(sx - sy) > _SCALE_TOLERANCE:
        raise InvalidImage(
            f"{width}x{height} cannot be reduced to max_side {max_side} with one scale "
            f"(width ratio {sx:.5f}, height ratio {sy:.5f})",
            path=spath,
        )
    return new_w, new_h, sx


def stored_size(im: Image.Image, fmt: str | None) -> tuple[int, int]:
    """``(width, height)`` of the pixels as stored, before EXIF orientation.

    Recent Pillow reports a TIFF's size after its orientation tag; the tags give the stored one.
    (HEIF is rotated by the decoder: its stored size is taken to be the decoded one.)
    """
    if fmt == "TIFF":
        tags = getattr(im, "tag_v2", {})
        w, h = tags.get(256), tags.get(257)  # ImageWidth, ImageLength
        if isinstance(w, int) and isinstance(h, int):
            return w, h
    return im.size


#: A comparison's peak memory: :data:`COMPARE_BASE_BYTES` plus this many bytes per pixel of one
#: photo's working copy (both photos of that size). Measured with ``/usr/bin/time -v mesovision
#: compare l.png l.jpg --max-side N`` on an 8900 x 6700 photo (docs/how-it-works.md): peak
#: 1.05 GB at 2048 px (3.2 MP a photo), 1.81 GB at 3000, 3.49 GB at 4500, 5.75 GB at 6000 and
#: 11.5 GB at full size (59.6 MP, 100000): 186-210 bytes a pixel between them. The estimate
#: lies 3-8 % above each.
COMPARE_BYTES_PER_PX = 200
COMPARE_BASE_BYTES = 500_000_000


def available_memory() -> int | None:
    """Bytes of memory available to this process: ``MemAvailable`` of ``/proc/meminfo`` (else
    ``os.sysconf``'s available pages), within a cgroup's limit when one is set; None when the
    system does not say."""
    import os

    avail = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = int(f.read().strip())
        if limit != "max":
            avail = min(avail, int(limit) - used)
    except (OSError, ValueError):
        pass
    return avail


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def compare_memory_need(working: tuple[int, int]) -> int:
    """Estimated peak bytes of one comparison of photos with a ``working`` copy of
    ``(width, height)`` px (:data:`COMPARE_BASE_BYTES`, :data:`COMPARE_BYTES_PER_PX`)."""
    return COMPARE_BASE_BYTES + COMPARE_BYTES_PER_PX * working[0] * working[1]


def header_size(path, max_side: int | None) -> tuple[int, int] | None:
    """``(width, height)`` of the working copy of the photo at ``path`` at ``max_side``, from its
    header (no pixel is decoded); ``None`` when the file cannot be read as an image here (its
    comparison reports why)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    long_side = max(w, h)
    if max_side is None or long_side <= max_side:
        return w, h
    s = max_side / long_side
    return max(1, round(w * s)), max(1, round(h * s))


def check_compare_memory(
    working: tuple[int, int], original: tuple[int, int], max_side: int | None, spath: str
) -> None:
    """Refuse (:class:`UsageError`) a comparison of photos with a ``working`` size (of a file of
    ``original`` size) whose estimated memory (:data:`COMPARE_BYTES_PER_PX`) exceeds what the
    machine has available: a ``max_side`` too large for the photos."""
    need = compare_memory_need(working)
    avail = available_memory()
    if avail is None or need <= avail:
        return
    w, h, _ = working_size(*original, 2048, spath)
    default = compare_memory_need((w, h))
    raise UsageError(
        f"comparing at --max-side {max_side} (working copy {working[0]} x {working[1]} px) needs "
        f"about {_gb(need)} of memory, {_gb(avail)} available: lower --max-side (2048, the "
        f"default, needs about {_gb(default)})",
        path=spath,
    )
