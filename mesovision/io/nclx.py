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

from collections.abc import Mapping

import numpy as np

from .profiles import SRGB_CURVE, matrix_trc_icc

__all__ = ["nclx_icc"]

_PRIMARY_NAMES = {1: "BT.709", 9: "BT.2020", 11: "DCI-P3", 12: "Display P3"}
_SRGB_PRIMARIES = (1, 2)
_SRGB_LIKE = {1: "BT.709", 2: "unspecified", 6: "BT.601", 13: "sRGB", 14: "BT.2020", 15: "BT.2020"}
_GAMMA = {4: 2.2, 5: 2.8, 8: 1.0}


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
    curve = SRGB_CURVE if transfer in _SRGB_LIKE else (_GAMMA[transfer],)
    desc = f"HEIF nclx: {name} primaries, {tname} transfer"
    return matrix_trc_icc(xy, curve, desc), None
