"""HEIF colour declared as ``nclx`` (code points of ITU-T H.273) instead of an ICC profile.

A HEIF/HEIC file states its colour either with an embedded ICC profile or with an ``nclx``
box: colour primaries, transfer characteristics and matrix coefficients as numbers. Android
phones and many converters write ``nclx`` only, e.g. Display P3 as primaries 12 with the sRGB
transfer 13. pillow-heif decodes the pixels with the matrix coefficients and reports the box in
``im.info["nclx_profile"]`` (with the primaries' and white point's CIE xy). :func:`nclx_icc`
turns it into an equivalent matrix/TRC ICC profile, so that such a photo is converted to sRGB
by the same path as an embedded profile (:mod:`mesovision.io.icc`), and its managed copy
(:mod:`mesovision.io.strip`) keeps it.

* Primaries: the file's xy of red, green, blue and white, adapted to the ICC's D50 white with
  the Bradford transform. Primaries 1 (BT.709, those of sRGB) or 2 (unspecified) with an
  sRGB-like transfer need no conversion.
* Transfers: 13 (sRGB), 8 (linear), 4 (gamma 2.2) and 5 (gamma 2.8) as declared; the BT.709
  family (1, 6, 14, 15), which encoders also write for sRGB-like stills, is taken as the sRGB
  curve; 2 (unspecified) as sRGB. HDR transfers (16 PQ, 18 HLG) and the others are not
  converted: the pixels are taken as sRGB and the reason is returned for a warning.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

import numpy as np

__all__ = ["nclx_icc"]

_PRIMARY_NAMES = {1: "BT.709", 9: "BT.2020", 11: "DCI-P3", 12: "Display P3"}
_SRGB_PRIMARIES = (1, 2)
#: ICC parametric curve (function type 3: Y = (aX + b)^g for X >= d, else cX) of the sRGB EOTF.
_SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
_SRGB_LIKE = {1: "BT.709", 2: "unspecified", 6: "BT.601", 13: "sRGB", 14: "BT.2020", 15: "BT.2020"}
_GAMMA = {4: 2.2, 5: 2.8, 8: 1.0}
_D50 = np.array([0.9642, 1.0, 0.8249])
_BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)


def nclx_icc(nclx: Mapping | None) -> tuple[bytes | None, str | None]:
    """An ICC profile equivalent to a HEIF ``nclx`` box (pillow-heif's ``nclx_profile``).

    Returns
    -------
    (bytes or None, str or None)
        The profile and ``None``; or ``(None, None)`` when the box declares sRGB (nothing to
        convert) or is absent; or ``(None, reason)`` when it declares what is not converted
        (an HDR transfer, missing chromaticities): the pixels are then taken as sRGB.
    """
    if not nclx:
        return None, None
    primaries = int(nclx.get("color_primaries", 2))
    transfer = int(nclx.get("transfer_characteristics", 2))
    if transfer not in _SRGB_LIKE and transfer not in _GAMMA:
        return None, f"HEIF nclx transfer characteristics {transfer} (HDR or unsupported)"
    if primaries in _SRGB_PRIMARIES and transfer in _SRGB_LIKE:
        return None, None
    keys = [f"color_primary_{c}_{xy}" for c in ("red", "green", "blue", "white") for xy in "xy"]
    try:
        xy = np.array([float(nclx[k]) for k in keys]).reshape(4, 2)
    except (KeyError, TypeError, ValueError):
        return None, f"HEIF nclx primaries {primaries} without chromaticities"
    if not np.isfinite(xy).all() or (xy[:, 1] <= 0).any():
        return None, f"HEIF nclx primaries {primaries} with invalid chromaticities"
    name = _PRIMARY_NAMES.get(primaries, f"code {primaries}")
    tname = _SRGB_LIKE.get(transfer) or f"gamma {_GAMMA[transfer]:g}"
    curve = _para(3, _SRGB_CURVE) if transfer in _SRGB_LIKE else _para(0, (_GAMMA[transfer],))
    desc = f"HEIF nclx: {name} primaries, {tname} transfer"
    return _matrix_trc_icc(_rgb_to_xyz_d50(xy), curve, desc), None


def _rgb_to_xyz_d50(xy: np.ndarray) -> np.ndarray:
    """The RGB -> XYZ (D50) matrix of primaries and white given as CIE xy (rows r, g, b, w)."""
    xyz = np.column_stack([xy[:, 0] / xy[:, 1], np.ones(4), (1 - xy.sum(axis=1)) / xy[:, 1]])
    prim, white = xyz[:3].T, xyz[3]
    m = prim * np.linalg.solve(prim, white)  # columns scaled so that RGB (1, 1, 1) is white
    lms_src, lms_dst = _BRADFORD @ white, _BRADFORD @ _D50
    adapt = np.linalg.solve(_BRADFORD, np.diag(lms_dst / lms_src) @ _BRADFORD)
    return adapt @ m


def _s15f16(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(v) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15f16(x) for x in v)


def _para(kind: int, params: tuple[float, ...]) -> bytes:
    return b"para\0\0\0\0" + struct.pack(">HH", kind, 0) + b"".join(_s15f16(p) for p in params)


def _desc(text: str) -> bytes:
    ascii_ = text.encode("ascii", "replace") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_ + b"\0" * 8 + b"\0" * 70


def _matrix_trc_icc(m: np.ndarray, curve: bytes, description: str) -> bytes:
    """An ICC v2 RGB display profile: colorants ``m`` (XYZ D50 columns), one curve for R, G, B."""
    tags = [
        (b"desc", _desc(description)),
        (b"wtpt", _xyz(_D50)),
        (b"rXYZ", _xyz(m[:, 0])),
        (b"gXYZ", _xyz(m[:, 1])),
        (b"bXYZ", _xyz(m[:, 2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    header = (
        struct.pack(">I", offset + len(body))
        + b"\0\0\0\0"  # preferred CMM
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12  # date
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 1)  # relative colorimetric
        + _xyz(_D50)[8:]
        + b"\0" * 48  # creator, id, reserved
    )
    return header + struct.pack(">I", len(tags)) + table + body
