"""``benchmarks/_melanin.skin_to_hair``: the skin up to the hairline for the hairline benchmark's
``--melanin`` (the face mesh's region stops short of the hair)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
from conftest import REPO
from skimage.color import lab2rgb

sys.path.insert(0, str(REPO / "benchmarks"))

import _melanin  # noqa: E402

SKIN, HAIR, BACKGROUND = (65.0, 14.0, 18.0), (20.0, 4.0, 8.0), (60.0, -10.0, -40.0)


def _head():
    """A head of flat skin (rows 60-189, cols 50-149) under dark hair (rows 20-59) on a blue
    background; the mesh's face region is rows 100-179, cols 60-139."""
    lab = np.empty((200, 200, 3))
    lab[:] = BACKGROUND
    lab[60:190, 50:150] = SKIN
    lab[20:60, 50:150] = HAIR
    face = np.zeros((200, 200), bool)
    face[100:180, 60:140] = True
    return lab2rgb(lab).astype(np.float32), face


def test_the_skin_reaches_up_to_the_hair_and_no_further(monkeypatch):
    rgb, face = _head()
    monkeypatch.setattr(
        "mesovision.regions.region_masks", lambda lm, shape, rgb=None: {"face": face}
    )
    lm = SimpleNamespace(interocular_px=60.0)  # the box reaches 48 px above the face: row 52
    mask = _melanin.skin_to_hair(rgb, lm)
    assert mask[face].all()
    # the forehead between the face region and the hair, within the face's columns
    assert mask[60:100, 60:140].all()
    # not the hair, nor the background, nor the skin beside the face's columns
    assert not mask[:60].any() and not mask[:, :60].any() and not mask[:, 140:].any()
    assert not mask[190:].any()
    dark = _melanin.darker_forehead(rgb, lm, 0.6)
    from mesovision.color import rgb_to_lab

    lab0, lab1 = rgb_to_lab(rgb), rgb_to_lab(dark)
    drop_face = float(np.median(lab0[face][:, 0] - lab1[face][:, 0]))
    drop_forehead = float(np.median(lab0[65:95, 70:130, 0] - lab1[65:95, 70:130, 0]))
    assert drop_face > 10.0 and abs(drop_forehead - drop_face) < 0.5  # no lighter band
    assert np.allclose(dark[:40], rgb[:40])  # the hair's top, beyond the feathered growth
