"""A CMYK colour profile whose colours are known, for CMYK files with colours outside sRGB.

No CMYK ICC profile ships with Pillow or the Python packages the tests use (the system's are not
assumed), so :func:`cmyk_icc` writes one: an ICC v2 output profile with a Lab connection space,
``A2B0`` (CMYK to Lab) and ``B2A0`` (Lab to CMYK, no black ink) as 16-bit lookup tables
(``mft2``) sampled from a model of ideal inks. The model: each ink takes away its complement of
an RGB display of Adobe RGB (1998) primaries, the black ink all three (``R = (1 - C)(1 - K)``, and
so on), and the display's linear light is that value to the power 2.2. Its primaries' gamut is
wider than sRGB's: a full cyan (Adobe RGB's own cyan, green and blue at their maximum) lies
outside sRGB, as a printing press's cyan does; :func:`cmyk_srgb_linear` gives any CMYK colour's
linear sRGB, not clipped, as the truth a test compares with.
"""

from __future__ import annotations

import struct

import numpy as np

from ..io.profiles import (
    ADOBE_RGB_XY,
    D50_XYZ,
    SRGB_XY,
    assemble_icc,
    icc_desc_tag,
    icc_xyz_tag,
    rgb_to_xyz_d50,
)

__all__ = ["CMYK_GAMMA", "cmyk_icc", "cmyk_srgb_linear"]

#: The model's display gamma (linear light = ink-free share ** CMYK_GAMMA).
CMYK_GAMMA = 2.2

_IDENTITY = struct.pack(">9i", 65536, 0, 0, 0, 65536, 0, 0, 0, 65536)


def _linear(cmyk: np.ndarray) -> np.ndarray:
    """CMYK in [0, 1] (last axis) -> the model display's linear RGB."""
    c, m, y, k = np.moveaxis(np.asarray(cmyk, float), -1, 0)
    return np.stack([(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)], -1) ** CMYK_GAMMA


def cmyk_srgb_linear(cmyk: np.ndarray) -> np.ndarray:
    """The model's colour of CMYK values in [0, 1] (last axis) as linear sRGB, not clipped: a
    channel below 0 or above 1 is outside sRGB (both spaces adapted to D50 alike)."""
    to_srgb = np.linalg.solve(rgb_to_xyz_d50(SRGB_XY), rgb_to_xyz_d50(ADOBE_RGB_XY))
    return _linear(cmyk) @ to_srgb.T


def _lab(xyz: np.ndarray) -> np.ndarray:
    t = xyz / D50_XYZ
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def _xyz(lab: np.ndarray) -> np.ndarray:
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    return np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * D50_XYZ


def _lut16(n_in: int, n_out: int, grid: int, table: np.ndarray) -> bytes:
    """An ``mft2`` tag: identity input and output curves, the grid's samples ``table`` (values
    in [0, 1] of the 16-bit encoding, the first input varying slowest)."""
    clut = np.clip(np.round(table * 65535), 0, 65535).astype(">u2").tobytes()
    curves = struct.pack(">HH", 0, 65535)
    return (
        b"mft2\0\0\0\0"
        + struct.pack(">BBBB", n_in, n_out, grid, 0)
        + _IDENTITY
        + struct.pack(">HH", 2, 2)
        + curves * n_in
        + clut
        + curves * n_out
    )


def _grid(n_in: int, grid: int) -> np.ndarray:
    g = np.linspace(0.0, 1.0, grid)
    return np.stack(np.meshgrid(*[g] * n_in, indexing="ij"), -1).reshape(-1, n_in)


def _encode_lab(lab: np.ndarray) -> np.ndarray:
    """ICC v2 16-bit Lab (L 0-100 as 0-0xFF00, a and b -128-127.996 as 0-0xFFFF) over 65535."""
    return np.column_stack([lab[:, 0] * 652.8, (lab[:, 1:] + 128) * 256]) / 65535


def cmyk_icc(*, grid: int = 9, inverse_grid: int = 33, description: str = "CMYK (test)") -> bytes:
    """The bytes of the model's CMYK profile (see the module docstring): ``A2B0`` sampled on
    ``grid`` points per ink, ``B2A0`` on ``inverse_grid`` points per Lab axis (colours outside
    the model's gamut go to its edge, no black ink)."""
    cmyk = _grid(4, grid)
    a2b = _lut16(4, 3, grid, _encode_lab(_lab(_linear(cmyk) @ rgb_to_xyz_d50(ADOBE_RGB_XY).T)))
    enc = _grid(3, inverse_grid) * 65535
    lab = np.column_stack([enc[:, 0] / 652.8, enc[:, 1:] / 256 - 128])
    lin = np.clip(_xyz(lab) @ np.linalg.inv(rgb_to_xyz_d50(ADOBE_RGB_XY)).T, 0.0, 1.0)
    inks = np.column_stack([1 - lin ** (1 / CMYK_GAMMA), np.zeros(len(lin))])
    b2a = _lut16(3, 4, inverse_grid, inks)
    tags = [
        (b"desc", icc_desc_tag(description)),
        (b"wtpt", icc_xyz_tag(D50_XYZ)),
        (b"A2B0", a2b),
        (b"B2A0", b2a),
    ]
    return assemble_icc(tags, b"prtrCMYKLab ")
