"""``palette``: a palette (indexed-colour) file warns. Its colours are quantized to the
palette's, which a comparison otherwise reads as a change of light or colour; the check's
value is the number of the palette's colours (0 for a file of full colour), and ``compare``
warns in the check's words and records it in ``result.json`` (``inputs.*.palette_colours``)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import SAMPLES
from PIL import Image, ImageOps

from mesovision import compare
from mesovision.checks import check_photo
from mesovision.io import load_photo
from mesovision.record import comparison_record

ASTRONAUT = SAMPLES / "astronaut" / "before.jpg"


@pytest.fixture(scope="module")
def rgb8():
    with Image.open(ASTRONAUT) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def test_the_loader_counts_the_palette(tmp_path, rgb8):
    assert load_photo(ASTRONAUT).palette_colours == 0
    Image.fromarray(rgb8).save(tmp_path / "rgb.png")
    assert load_photo(tmp_path / "rgb.png").palette_colours == 0
    Image.fromarray(rgb8).quantize(64).save(tmp_path / "p64.png")
    assert load_photo(tmp_path / "p64.png").palette_colours == 64
    Image.fromarray(rgb8).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "p.bmp")
    assert load_photo(tmp_path / "p.bmp").palette_colours == 256


def test_a_palette_png_warns_in_check_and_compare(tmp_path, rgb8, caplog):
    full, pal = tmp_path / "full.png", tmp_path / "palette.png"
    Image.fromarray(rgb8).save(full)
    Image.fromarray(rgb8).convert("P", palette=Image.Palette.ADAPTIVE).save(pal)
    [c] = [c for c in check_photo(str(pal)).checks if c["name"] == "palette"]
    assert not c["ok"] and c["severity"] == "warn" and c["value"] == 256
    assert c["message"].startswith("use the photo in full colour (the camera's JPEG or HEIC")
    assert "quantized to 256 colours" in c["message"]
    [ok] = [c for c in check_photo(str(full)).checks if c["name"] == "palette"]
    assert ok["ok"] and ok["value"] == 0
    with caplog.at_level(logging.WARNING):
        cmp = compare(str(full), str(pal), metrics=["redness.mean_a"])
    assert f"{pal}: {c['message']}" in cmp.pair.warnings
    assert not [w for w in cmp.pair.warnings if str(full) in w and "palette" in w]
    rec = comparison_record(cmp)
    assert rec["inputs"]["before"]["palette_colours"] == 0
    assert rec["inputs"]["after"]["palette_colours"] == 256
