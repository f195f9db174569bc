"""Shared fixtures: the real sample faces, their landmarks and region masks (computed once)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_images"


@pytest.fixture(scope="session")
def faces() -> dict[str, np.ndarray]:
    """The two real faces at 2x (interocular distance ~86 and ~168 px)."""
    from mesovision.samples import sample_faces

    return {
        k: np.clip(cv2.resize(v, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), 0, 1)
        for k, v in sample_faces().items()
    }


@pytest.fixture(scope="session")
def face_landmarks(faces):
    from mesovision.landmarks import detect_landmarks

    return {k: detect_landmarks(v) for k, v in faces.items()}


@pytest.fixture(scope="session")
def face_regions(faces, face_landmarks):
    from mesovision.regions import region_masks

    return {k: region_masks(face_landmarks[k], v.shape, rgb=v) for k, v in faces.items()}
