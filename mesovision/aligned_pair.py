"""The record of an aligned pair: :class:`AlignedPair`, what :func:`mesovision.align` and
:func:`mesovision.pipeline.align_pair` return and a :class:`~mesovision.Comparison` keeps as
``pair``. Importable from :mod:`mesovision.pipeline` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import cv2
import numpy as np

from .align import warp_to_before
from .types import Alignment, Landmarks, Photo, resample_matrix

__all__ = ["AlignedPair"]


@dataclass(frozen=True, eq=False)
class AlignedPair:
    """Before and after photos, the after photo resampled into the before frame, and how.

    ``aligned_after`` is resampled on first use (a comparison fits its lighting on a reduced
    copy, :meth:`aligned_after_at`, and never needs the full-resolution one); ``after_regions``
    are drawn on first use (a comparison draws its own, in its scoring frame).

    Attributes
    ----------
    before, after : Photo
        The two photos as loaded (working copies, each in its own frame).
    alignment : Alignment
        The fit that maps the after photo's working pixels onto the before photo's, with its
        residual and coverage.
    valid : numpy.ndarray
        ``bool`` ``(row, col)`` in the before photo's working frame: the pixels the after photo
        covers.
    measured : numpy.ndarray
        ``bool`` ``(row, col)`` in the before photo's working frame: the measured area (the face
        skin in face mode, the detected skin in body mode, the whole photo or the given mask in
        the hair modes).
    before_landmarks, after_landmarks : Landmarks or None
        Each photo's face mesh in its own working frame (``None``: no face found, outside face
        mode, where a face is optional).
    regions : dict of str to numpy.ndarray
        The before photo's region masks (``bool``, before frame) by name: the facial regions in
        face mode, ``area`` in the other modes.
    warnings : tuple of str
        One line per warning of the capture, alignment and identity checks, each naming its
        photo.
    settings : dict
        The alignment's options: ``mode``, ``refine``, ``model``, ``max_side``, ``force`` and
        ``mask``.
    identity : dict or None
        The same-person check (:meth:`mesovision.identity.IdentityCheck.as_dict`: ``method``,
        ``distance``, ``threshold``, ``passed``, ...); ``None`` when it was not made (for a
        feature-aligned pair, ``identity_note`` says why).
    identity_note : str or None
        Why a feature-aligned pair's identity was not checked (a photo shows no face).
    forced : tuple of str
        The refusals ``force`` overrode (capture, identity, alignment thresholds), one line each.
    """

    before: Photo
    after: Photo
    alignment: Alignment
    valid: np.ndarray
    measured: np.ndarray
    before_landmarks: Landmarks | None = None
    after_landmarks: Landmarks | None = None
    regions: dict[str, np.ndarray] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    settings: dict[str, str | int | bool | None] = field(default_factory=dict)
    identity: dict[str, str | float | bool | None] | None = None
    identity_note: str | None = None
    forced: tuple[str, ...] = ()

    def __repr__(self) -> str:  # the pair's summary, not its images and masks
        (w, h), al = self.before.size, self.alignment
        return (
            f"<AlignedPair {self.settings.get('mode', 'face')}: {w}x{h} px, {al.method}, residual "
            f"{al.residual_px:.2f} px, coverage {100 * al.coverage:.1f} %, {len(self.regions)} "
            f"regions, {len(self.warnings)} warnings, {len(self.forced)} forced>"
        )

    @cached_property
    def after_regions(self) -> dict[str, np.ndarray]:
        """The after photo's region masks in its own frame (face mode; empty in body mode)."""
        if self.after_landmarks is None:
            return {}
        from .regions import region_masks

        return region_masks(self.after_landmarks, self.after.rgb.shape, rgb=self.after.rgb)

    @cached_property
    def aligned_after(self) -> np.ndarray:
        """The after photo in the before photo's working frame (0 outside ``valid``)."""
        return warp_to_before(self.after.rgb, self.alignment, self.before.rgb.shape)[0]

    def aligned_after_at(self, shape: tuple[int, ...]) -> np.ndarray:
        """:attr:`aligned_after` resampled (area averaging) to ``shape``'s rows and columns.

        With a global alignment the after photo is first reduced by area averaging to the
        target's pixel size and then warped once at that size, which costs a small share of the
        full-resolution warp; a non-rigid (mesh) warp resamples the full-resolution image.
        """
        h, w = shape[:2]
        bh, bw = self.before.rgb.shape[:2]
        if (h, w) == (bh, bw):
            return self.aligned_after
        if self.alignment.flow is not None:
            return cv2.resize(self.aligned_after, (w, h), interpolation=cv2.INTER_AREA)
        to_small = _resize_matrix((bh, bw), (h, w))
        m = to_small @ self.alignment.matrix
        k = float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))  # small px per after px
        src = self.after.rgb
        if k < 1.0:
            ah, aw = src.shape[:2]
            size = (max(1, round(aw * k)), max(1, round(ah * k)))
            src = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
            m = m @ np.linalg.inv(_resize_matrix((ah, aw), (size[1], size[0])))
        al = replace(self.alignment, matrix=m)
        return warp_to_before(src, al, (h, w))[0]


def _resize_matrix(src_shape, dst_shape) -> np.ndarray:
    """3 x 3 map from a frame's pixels to the pixels of the same frame resized (as
    :func:`cv2.resize` samples it) from ``src_shape`` to ``dst_shape`` (rows, columns)."""
    return resample_matrix(dst_shape[1] / src_shape[1], dst_shape[0] / src_shape[0])
