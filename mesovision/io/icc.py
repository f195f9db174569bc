"""Embedded ICC colour profiles: parsed, and converted to sRGB.

An 8-bit image with an embedded profile (or a HEIF file's ``nclx`` colour box, a PNG's
``gAMA``/``cHRM`` chunks, or a camera's EXIF that says Adobe RGB, turned into an equivalent
profile by :mod:`mesovision.io.nclx` and :mod:`mesovision.io.profiles`) is converted to sRGB
with the relative colorimetric intent (Pillow's LittleCMS binding). A profile that cannot be
parsed or applied, or that does not fit the image mode, is ignored with a warning: the pixels
are then taken as sRGB, and the photo records no profile.

Colours outside sRGB's gamut (a saturated red in Display P3, a press's cyan ink) are clipped by
the conversion to sRGB's edge, a channel at 0 or 255, as over-exposure clips them at capture.
:func:`gamut_clipped` tells them apart in an RGB file: a pixel with a channel at 0-1 or 254-255
after the conversion and none in the file, whose converted colour, taken back to the file's
profile, is more than :data:`GAMUT_TOLERANCE` levels from the file's in some channel (a colour
inside sRGB comes back within rounding). A CMYK file (a CMYK or YCCK JPEG, a CMYK TIFF) has no
clipped level of its own (no ink and full ink are ordinary) and its profile's conversion back
from sRGB is not unique (black generation): its colours are converted to ProPhoto RGB
(:data:`~mesovision.io.profiles.PROPHOTO_XY`, 8 bits), which holds them, and marked as those of
an RGB file in that profile, among the pixels the conversion to sRGB clipped. A colour at a
channel's end in ProPhoto (0-1 or 254-255) is not marked.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging

import numpy as np
from PIL import Image, ImageCms

from .nclx import nclx_icc
from .profiles import (
    PROPHOTO_GAMMA,
    PROPHOTO_XY,
    exif_adobe_rgb_icc,
    matrix_trc_icc,
    png_gamma_icc,
)
from .reasons import DECODER_ERRORS, short_message

__all__ = [
    "GAMUT_TOLERANCE",
    "IccProfile",
    "apply_icc",
    "embedded_icc",
    "gamut_clipped",
    "looks_srgb",
    "parse_icc",
]

logger = logging.getLogger(__name__)

#: 8-bit levels: a pixel clipped by the conversion whose colour comes back from sRGB to the
#: file's profile further than this from the file's, in some channel, lay outside sRGB. The 83
#: single-face photos of ``../shared/faces`` (inside sRGB), converted to Display P3, Adobe RGB
#: and ProPhoto profiles and loaded, come back within 1 level at every pixel the conversion
#: clips and the file does not (0.45-1.0 million of them per profile).
GAMUT_TOLERANCE = 1


@dataclasses.dataclass
class IccProfile:
    profile: ImageCms.ImageCmsProfile
    description: str
    color_space: str  # "RGB", "GRAY", "CMYK", ...


def embedded_icc(im: Image.Image) -> tuple[bytes | None, str | None]:
    """The image's ICC profile: the embedded one, else one equivalent to a HEIF ``nclx`` colour
    box (:func:`~mesovision.io.nclx.nclx_icc`), else one equivalent to a PNG's ``gAMA`` and
    ``cHRM`` chunks (:func:`~mesovision.io.profiles.png_gamma_icc`), else Adobe RGB when the
    EXIF says so (:func:`~mesovision.io.profiles.exif_adobe_rgb_icc`), else ``None``; and why
    an ``nclx`` box or ``gAMA``/``cHRM`` chunks are not converted (``None`` when they are, or
    when there are none)."""
    raw = im.info.get("icc_profile")
    if raw:
        return raw, None
    for declared in (nclx_icc(im.info.get("nclx_profile")), png_gamma_icc(im)):
        if declared[0] or declared[1]:
            return declared
    return exif_adobe_rgb_icc(im), None


def parse_icc(im: Image.Image, spath: str) -> IccProfile | None:
    raw, why = embedded_icc(im)
    if why:
        logger.warning("%s: %s; treating pixels as sRGB", spath, why)
    if not raw:
        return None
    try:
        prof = ImageCms.ImageCmsProfile(io.BytesIO(raw))
        desc = (ImageCms.getProfileDescription(prof) or "").strip() or "unnamed ICC profile"
        space = str(prof.profile.xcolor_space).strip()
    except (ImageCms.PyCMSError, *DECODER_ERRORS) as exc:
        logger.warning(
            "%s: embedded ICC profile could not be parsed (%s); treating pixels as sRGB",
            spath,
            short_message(exc),
        )
        return None
    return IccProfile(prof, desc[:128], space)


def looks_srgb(icc: IccProfile) -> bool:
    return icc.color_space == "RGB" and icc.description.lower().startswith("srgb")


@functools.lru_cache(maxsize=1)
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def apply_icc(
    im: Image.Image, icc: IccProfile | None, spath: str
) -> tuple[Image.Image, str | None]:
    """Convert an 8-bit image in a profile's space to sRGB RGB; no profile: plain conversion."""
    wanted = {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}.get(icc.color_space) if icc else None
    if icc is not None and wanted is not None and im.mode == wanted:
        try:
            out = ImageCms.profileToProfile(
                im,
                icc.profile,
                _srgb(),
                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, *DECODER_ERRORS) as exc:
            logger.warning(
                "%s: ICC profile %r could not be applied (%s); treating pixels as sRGB",
                spath,
                icc.description,
                short_message(exc),
            )
        else:
            assert out is not None
            return out, icc.description
    elif icc is not None:
        logger.warning(
            "%s: ICC profile %r (%s) does not match image mode %s; treating pixels as sRGB",
            spath,
            icc.description,
            icc.color_space,
            im.mode,
        )
    return (im if im.mode in ("RGB", "L") else im.convert("RGB")), None


def _clipped8(a: np.ndarray) -> np.ndarray:
    """Pixels of 8-bit RGB ``a`` with a channel at 0-1 or 254-255 (the capture checks' clip)."""
    return ((a <= 1) | (a >= 254)).any(axis=-1)


@functools.lru_cache(maxsize=1)
def _prophoto() -> IccProfile:
    raw = matrix_trc_icc(PROPHOTO_XY, (PROPHOTO_GAMMA,), "ProPhoto RGB")
    return IccProfile(ImageCms.ImageCmsProfile(io.BytesIO(raw)), "ProPhoto RGB", "RGB")


def _relative(im: Image.Image, src, dst) -> Image.Image:
    out = ImageCms.profileToProfile(
        im, src, dst, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB"
    )
    assert out is not None
    return out


def gamut_clipped(src: Image.Image, out: Image.Image, icc: IccProfile) -> np.ndarray | None:
    """The pixels of ``out``, the 8-bit RGB or CMYK image ``src`` converted from ``icc`` to sRGB
    by :func:`apply_icc`, that the conversion clipped at sRGB's gamut (see the module
    docstring), as a bool ``(H, W)`` mask; ``None`` when there is none or ``src`` is neither
    RGB nor CMYK."""
    if src.mode == "CMYK" and icc.color_space == "CMYK":
        wide = _prophoto()
        via = _relative(src, icc.profile, wide.profile)
        mask = gamut_clipped(via, _relative(via, wide.profile, _srgb()), wide)
        if mask is None:
            return None
        mask &= _clipped8(np.asarray(out))  # clipped in the photo as converted, too
        return mask if mask.any() else None
    a, b = np.asarray(src), np.asarray(out)
    if src.mode != "RGB" or a.shape != b.shape:
        return None
    candidate = _clipped8(b) & ~_clipped8(a)
    if not candidate.any():
        return None
    back = _relative(
        Image.fromarray(np.ascontiguousarray(b[candidate][None])), _srgb(), icc.profile
    )
    err = np.abs(np.asarray(back)[0].astype(np.int16) - a[candidate]).max(axis=1)
    mask = np.zeros(a.shape[:2], bool)
    mask[candidate] = err > GAMUT_TOLERANCE
    return mask if mask.any() else None
