"""Photos that fail a capture check by a known amount, for the tests of the clinic app.

:func:`glare_photo` adds a specular highlight (a Gaussian blob blended toward white, peak
``strength``, standard deviation ``sigma_iod`` times the distance between the pupils) on the
centre of a region of a face photo: the ``glare`` capture check fails (the highlight covers more
than :data:`mesovision.checks.MAX_GLARE_SHARE` of the skin) while the landmarks, pose and every
other check stay as they were (``tests/checks/test_checks.py`` measures the same blob).
"""

from __future__ import annotations

import numpy as np

__all__ = ["glare_photo"]


def glare_photo(
    rgb: np.ndarray, *, region: str = "left_cheek", strength: float = 0.95, sigma_iod: float = 0.12
) -> np.ndarray:
    """``rgb`` (float RGB in [0, 1]) with a glare blob on ``region``'s centre (see the module
    docstring)."""
    from mesovision.landmarks import detect_landmarks
    from mesovision.regions import REGION_POLYGONS

    lm = detect_landmarks(rgb)
    cx, cy = lm.points[list(REGION_POLYGONS[region])].mean(axis=0)
    sigma = sigma_iod * lm.interocular_px
    yy, xx = np.mgrid[: rgb.shape[0], : rgb.shape[1]]
    a = strength * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    return (rgb * (1 - a[..., None]) + a[..., None]).astype(np.float32)
