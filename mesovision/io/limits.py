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

from ..errors import InvalidImage

__all__ = [
    "DRAFT_MIN_SHARE",
    "JPEG_DECLARED_FACTOR",
    "MAX_BYTES_PER_PIXEL",
    "MIN_SIDE_PX",
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
