"""RGB display profiles built from primaries: the ICC bytes of a colour space a file declares
without embedding a profile (a HEIF ``nclx`` box, :mod:`mesovision.io.nclx`; a camera JPEG in
Adobe RGB signalled by EXIF, :func:`exif_adobe_rgb_icc`; a PNG's ``gAMA`` and ``cHRM`` chunks,
:func:`png_gamma_icc`), for the conversion to sRGB of :mod:`mesovision.io.icc`.

:func:`matrix_trc_icc` writes a minimal ICC v2 matrix/TRC profile: colorants from the CIE xy of
the primaries and white, adapted to the ICC's D50 with the Bradford transform; one tone curve
(ICC ``para``) for the three channels.
"""

from __future__ import annotations

import struct

import numpy as np
from PIL import Image

from .reasons import EXIF_ERRORS

__all__ = [
    "ADOBE_RGB_XY",
    "D50_XYZ",
    "PNG_GAMMA_TOLERANCE",
    "PROPHOTO_GAMMA",
    "PROPHOTO_XY",
    "SRGB_CURVE",
    "SRGB_XY",
    "assemble_icc",
    "exif_adobe_rgb_icc",
    "icc_desc_tag",
    "icc_xyz_tag",
    "matrix_trc_icc",
    "png_gamma_icc",
    "rgb_to_xyz_d50",
]

#: ICC parametric curve (function type 3: Y = (aX + b)^g for X >= d, else cX) of the sRGB EOTF.
SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
#: Adobe RGB (1998): CIE xy of red, green, blue and the D65 white (rows); gamma 563/256.
ADOBE_RGB_XY = np.array([[0.64, 0.33], [0.21, 0.71], [0.15, 0.06], [0.3127, 0.3290]])
ADOBE_RGB_GAMMA = 563 / 256
#: sRGB (BT.709): CIE xy of red, green, blue and the D65 white (rows).
SRGB_XY = np.array([[0.64, 0.33], [0.30, 0.60], [0.15, 0.06], [0.3127, 0.3290]])
#: ProPhoto RGB (ROMM RGB, ISO 22028-2): CIE xy of red, green, blue and the D50 white (rows); it
#: holds nearly every surface colour, a printing press's inks' included (a CMYK file's colours are
#: taken through it to tell those outside sRGB, :func:`mesovision.io.icc.gamut_clipped`).
PROPHOTO_XY = np.array([[0.7347, 0.2653], [0.1596, 0.8404], [0.0366, 0.0001], [0.3457, 0.3585]])
#: ProPhoto's tone curve: a pure gamma.
PROPHOTO_GAMMA = 1.8
#: A PNG ``gAMA`` within this relative distance of 1/2.2 is read with the sRGB curve: libpng's
#: threshold (``PNG_GAMMA_THRESHOLD``, 0.05) below which a gamma correction is not significant.
PNG_GAMMA_TOLERANCE = 0.05
#: A PNG ``cHRM`` whose eight values are all within this of sRGB's (:data:`SRGB_XY`) is sRGB.
PNG_CHRM_TOLERANCE = 0.001
#: The ICC profile connection space's white, D50, as CIE XYZ (Y = 1).
D50_XYZ = np.array([0.9642, 1.0, 0.8249])
_BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)


def exif_adobe_rgb_icc(im: Image.Image) -> bytes | None:
    """An Adobe RGB (1998) profile for a file whose EXIF says Adobe RGB without embedding a
    profile, else ``None``.

    Cameras set to Adobe RGB write EXIF ColorSpace (0xA001) 0xFFFF, "uncalibrated", with the
    interoperability index (0x0001 of the Interop IFD) "R03" (DCF 2.0, the Adobe RGB option),
    and often no ICC profile: read as sRGB, their colours come out desaturated.
    """
    try:
        exif = im.getexif()
        space = exif.get_ifd(0x8769).get(0xA001)
        index = exif.get_ifd(0xA005).get(0x0001) if space == 0xFFFF else None
    except EXIF_ERRORS:
        return None
    if not isinstance(index, str) or index.strip("\0 ") != "R03":
        return None
    desc = "Adobe RGB (1998) (EXIF colour space R03)"
    return matrix_trc_icc(ADOBE_RGB_XY, (ADOBE_RGB_GAMMA,), desc)


def png_gamma_icc(im: Image.Image) -> tuple[bytes | None, str | None]:
    """A profile for a PNG that states its colour by ``gAMA`` and ``cHRM`` chunks only.

    A PNG with an ``iCCP`` or ``sRGB`` chunk, or with neither ``gAMA`` nor ``cHRM``, gives
    ``(None, None)``, and so does one whose ``gAMA`` is within :data:`PNG_GAMMA_TOLERANCE` of
    1/2.2 (what most writers emit for sRGB) with no ``cHRM`` or one of sRGB's primaries: its
    pixels are sRGB. Otherwise the profile has the ``cHRM`` primaries and white (sRGB's without
    the chunk) and the decoding exponent ``1 / gAMA`` (the sRGB curve for a gamma near 1/2.2).
    A ``gAMA`` or ``cHRM`` that cannot describe a colour space gives ``(None, reason)``: the
    pixels are then taken as sRGB and the reason is warned.
    """
    info = im.info
    if im.format != "PNG" or "srgb" in info or info.get("icc_profile"):
        return None, None
    gamma, chrm = info.get("gamma"), info.get("chromaticity")
    if gamma is None and chrm is None:
        return None, None
    srgb_curve = True
    if gamma is not None:
        g = float(gamma)
        if not (np.isfinite(g) and 0.05 <= g <= 20):
            return None, f"PNG gAMA {g:g} is not a usable gamma"
        srgb_curve = abs(g * 2.2 - 1) <= PNG_GAMMA_TOLERANCE
    xy = SRGB_XY
    if chrm is not None:
        v = np.asarray(chrm, float)
        xy = v.reshape(4, 2)[[1, 2, 3, 0]]  # cHRM: white, red, green, blue
        bad = v.size != 8 or not np.isfinite(v).all() or (xy[:, 1] <= 0).any()
        if bad or abs(np.linalg.det(rgb_to_xyz_d50(xy))) < 1e-6:
            return None, "PNG cHRM chromaticities do not describe a colour space"
    srgb_primaries = bool(np.abs(xy - SRGB_XY).max() <= PNG_CHRM_TOLERANCE)
    if srgb_curve and srgb_primaries:
        return None, None
    curve = SRGB_CURVE if srgb_curve else (1 / g,)
    tone = "sRGB curve" if srgb_curve else f"gamma {1 / g:.2f}"
    primaries = "sRGB primaries" if srgb_primaries else "cHRM primaries"
    return matrix_trc_icc(xy, curve, f"PNG gAMA/cHRM: {primaries}, {tone}"), None


def matrix_trc_icc(xy: np.ndarray, curve: tuple[float, ...], description: str) -> bytes:
    """An ICC v2 RGB display profile of primaries and white ``xy`` (CIE xy, rows r, g, b, w)
    with tone curve ``curve``: ``(g,)`` a pure gamma, or ``(g, a, b, c, d)`` ICC's type 3."""
    kind = 0 if len(curve) == 1 else 3
    para = b"para\0\0\0\0" + struct.pack(">HH", kind, 0) + b"".join(map(_s15f16, curve))
    return _profile(rgb_to_xyz_d50(np.asarray(xy, float)), para, description)


def rgb_to_xyz_d50(xy: np.ndarray) -> np.ndarray:
    """The RGB -> XYZ (D50) matrix of primaries and white given as CIE xy (rows r, g, b, w)."""
    xyz = np.column_stack([xy[:, 0] / xy[:, 1], np.ones(4), (1 - xy.sum(axis=1)) / xy[:, 1]])
    prim, white = xyz[:3].T, xyz[3]
    m = prim * np.linalg.solve(prim, white)  # columns scaled so that RGB (1, 1, 1) is white
    lms_src, lms_dst = _BRADFORD @ white, _BRADFORD @ D50_XYZ
    adapt = np.linalg.solve(_BRADFORD, np.diag(lms_dst / lms_src) @ _BRADFORD)
    return adapt @ m


def _s15f16(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def icc_xyz_tag(v) -> bytes:
    """An ICC ``XYZ `` tag of the three values ``v``."""
    return b"XYZ \0\0\0\0" + b"".join(_s15f16(x) for x in v)


def icc_desc_tag(text: str) -> bytes:
    """An ICC v2 ``desc`` tag of ``text`` (ASCII)."""
    ascii_ = text.encode("ascii", "replace") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_ + b"\0" * 8 + b"\0" * 70


def _profile(m: np.ndarray, curve: bytes, description: str) -> bytes:
    """An ICC v2 RGB display profile: colorants ``m`` (XYZ D50 columns), one curve for R, G, B."""
    tags = [
        (b"desc", icc_desc_tag(description)),
        (b"wtpt", icc_xyz_tag(D50_XYZ)),
        (b"rXYZ", icc_xyz_tag(m[:, 0])),
        (b"gXYZ", icc_xyz_tag(m[:, 1])),
        (b"bXYZ", icc_xyz_tag(m[:, 2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    return assemble_icc(tags, b"mntrRGB XYZ ")


def assemble_icc(tags: list[tuple[bytes, bytes]], classes: bytes) -> bytes:
    """An ICC v2 profile's bytes from its ``(signature, data)`` tags: the header (``classes``:
    the device class, colour space and connection space, 12 bytes, e.g. ``b"mntrRGB XYZ "``;
    relative colorimetric, D50 white), the tag table and the tags, each 4-byte aligned."""
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    header = (
        struct.pack(">I", offset + len(body))
        + b"\0\0\0\0"  # preferred CMM
        + struct.pack(">I", 0x02100000)
        + classes
        + b"\0" * 12  # date
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 1)  # relative colorimetric
        + icc_xyz_tag(D50_XYZ)[8:]
        + b"\0" * 48  # creator, id, reserved
    )
    return header + struct.pack(">I", len(tags)) + table + body
