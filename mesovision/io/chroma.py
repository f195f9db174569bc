"""Whether a photo has colour: the chroma statistic measured when a photo is loaded.

A grayscale file is decoded to three equal channels, and so is an RGB file whose channels are
equal (a photo desaturated and saved as RGB). Such a photo holds lightness only: its redness,
pigment, spots and bruise colours cannot be measured, and the lighting normalization would map
the other photo's colour onto its grey. :func:`chroma_p99` measures how much colour a photo
holds, and a photo at most :data:`GRAYSCALE_MAX_CHROMA` is recorded as grayscale
(:attr:`mesovision.types.CaptureInfo.grayscale`).

The statistic: the working copy reduced (``cv2.INTER_AREA``) to at most
:data:`CHROMA_SIDE_PX` px on its longer side, which averages JPEG's chroma noise, converted to
CIELAB (D65); the 99th percentile over its pixels of the chroma ``C*ab = sqrt(a*^2 + b*^2)``.
The whole photo is measured (the face is not known when a photo is loaded): a colour photo's
skin, lips, eyes, hair or clothes are more than its most colourful 1 %.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from ..types import CaptureInfo

__all__ = ["CHROMA_SIDE_PX", "GRAYSCALE_MAX_CHROMA", "chroma_p99", "is_grayscale", "with_chroma"]

#: Longer side (px) of the reduced copy the chroma is measured on.
CHROMA_SIDE_PX = 256

#: A photo whose :func:`chroma_p99` is at most this (C*ab units) has no colour. On the 98 real
#: colour photographs of ``../shared/faces`` (both halves of the people) the statistic is at least
#: 9.3 (median 37.9); on their grayscale copies (a grayscale JPEG; an RGB JPEG of equal channels
#: at quality 95, or at quality 50 re-compressed at 30 with 4:2:0 subsampling; an RGB PNG) at
#: most 0.14, and at most 3.6 when independent noise of 5 8-bit levels per channel was added
#: before the JPEG (6.8 at 10 levels). A toned monochrome (sepia, 28-31) keeps its tint and is
#: not detected; a photo desaturated to a fifth of its colour reads 2.6-17
#: (``benchmarks/grayscale.py``; ``docs/method.md``, "Comparability").
GRAYSCALE_MAX_CHROMA = 4.0


def chroma_p99(rgb: np.ndarray) -> float:
    """The 99th percentile of the chroma C*ab of ``rgb`` (float RGB in [0, 1], ``(H, W, 3)``)
    reduced to at most :data:`CHROMA_SIDE_PX` px on its longer side (see the module docstring).

    Returns a value in C*ab units (near 0 for a grey image, about 10-80 for colour photographs).
    """
    a = np.ascontiguousarray(rgb, np.float32)
    h, w = a.shape[:2]
    k = CHROMA_SIDE_PX / max(h, w)
    if k < 1:
        size = (max(1, round(w * k)), max(1, round(h * k)))
        a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(np.clip(a, 0.0, 1.0), cv2.COLOR_RGB2Lab)
    return float(np.percentile(np.hypot(lab[..., 1], lab[..., 2]), 99))


def is_grayscale(chroma: float) -> bool:
    """Whether a photo of :func:`chroma_p99` ``chroma`` has no colour."""
    return bool(chroma <= GRAYSCALE_MAX_CHROMA)


def with_chroma(capture: CaptureInfo, rgb: np.ndarray) -> CaptureInfo:
    """``capture`` with the chroma of the photo's pixels ``rgb`` (:func:`chroma_p99`, to 3
    decimals) and whether it has no colour (:func:`is_grayscale`)."""
    chroma = chroma_p99(rgb)
    return dataclasses.replace(capture, chroma_p99=round(chroma, 3), grayscale=is_grayscale(chroma))
