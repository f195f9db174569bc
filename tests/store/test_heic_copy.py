"""A managed copy of a HEIC is the HEIC itself with its metadata items blanked in place: the
coded image untouched (same pixels, colour and orientation when loaded), no identifying
metadata, about the file's size; the store records its own SHA-256 as for any copy. A HEIC the
blanking does not understand is re-encoded losslessly as PNG, as other formats are."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES
from PIL import Image

from mesovision.io import load_photo, strip_metadata
from mesovision.store import PhotoImport, Store

SECRETS = (b"SN-998877", b"Jane Owner", b"Canon", b"ns.adobe.com/xap")
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    b'xmp:CreatorTool="Jane Owner"/></rdf:RDF></x:xmpmeta>'
)


@pytest.fixture(scope="module")
def heif():
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("libheif in this pillow-heif wheel has no HEIF (x265) encoder")
    pillow_heif.register_heif_opener()


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x013B] = "Jane Owner"  # Artist
    exif[0x010F] = "Canon"  # Make
    exif.get_ifd(0x8769)[0xA431] = "SN-998877"  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)
    return exif.tobytes()


def phone_heic(path: Path, orientation: int = 6) -> Path:
    """A noisy 512 x 384 HEIC with EXIF (orientation, GPS, serial, owner) and XMP."""
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (384, 512, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, quality=85, exif=_exif(orientation), xmp=XMP)
    return path


def test_heic_copy_is_the_heic_without_its_metadata(tmp_path, heif):
    src = phone_heic(tmp_path / "IMG_0001.HEIC")
    data = src.read_bytes()
    assert all(s in data for s in SECRETS)
    copy, ext = strip_metadata(data, path=str(src))
    assert ext == ".heic" and len(copy) == len(data)  # blanked in place, not re-encoded
    assert not any(s in copy for s in SECRETS)
    (tmp_path / "copy.heic").write_bytes(copy)
    a, b = load_photo(src), load_photo(tmp_path / "copy.heic")
    assert b.format == "HEIF" and b.exif_orientation == a.exif_orientation == 6
    assert b.capture.make is None and a.capture.make == "Canon"
    np.testing.assert_array_equal(b.rgb, a.rgb)
    # the bytes that differ are the EXIF and XMP items' only: every coded byte is the file's
    diff = np.flatnonzero(np.frombuffer(copy, np.uint8) != np.frombuffer(data, np.uint8))
    assert diff.size < 400


def test_store_keeps_the_heic_and_checks_its_sha(tmp_path, heif):
    src = phone_heic(tmp_path / "IMG_0002.HEIC")
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        s = st.import_session("P1", date="2026-03-01", photos=[PhotoImport(str(src))], copy=True)
        [ph] = s["photos"]
        managed = Path(ph["file"])
        assert managed.name == ph["original_sha256"] + ".heic"
        assert managed.stat().st_size == src.stat().st_size
        assert (
            ph["sha256"]
            == hashlib.sha256(managed.read_bytes()).hexdigest()
            != ph["original_sha256"]
        )
        assert st.integrity_problems() == []
        managed.write_bytes(managed.read_bytes()[:-1] + b"x")
        assert any("SHA-256 differs" in p for p in st.integrity_problems())


def test_a_heic_with_a_box_not_understood_is_reencoded_as_png(tmp_path, heif):
    data = phone_heic(tmp_path / "a.heic").read_bytes()
    uuid = b"uuid" + bytes(16) + b"Jane Owner"
    odd = data + struct.pack(">I", len(uuid) + 4) + uuid  # a vendor box after mdat
    copy, ext = strip_metadata(odd, path="odd.heic")
    assert ext == ".png" and b"Jane Owner" not in copy
    (tmp_path / "odd.png").write_bytes(copy)
    np.testing.assert_array_equal(
        load_photo(tmp_path / "odd.png").rgb, load_photo(tmp_path / "a.heic").rgb
    )


def test_the_copy_of_a_sample_heic_is_a_quarter_of_its_png(tmp_path, heif):
    """The sizes docs/privacy.md gives: the astronaut sample saved as HEIC at quality 80."""
    with Image.open(SAMPLES / "astronaut" / "before.jpg") as im:
        im.convert("RGB").save(tmp_path / "a.heic", quality=80)
    data = (tmp_path / "a.heic").read_bytes()
    copy, ext = strip_metadata(data)
    uuid = b"uuid" + bytes(16)
    png, png_ext = strip_metadata(data + struct.pack(">I", len(uuid) + 4) + uuid)
    assert (ext, png_ext) == (".heic", ".png")
    assert len(copy) == len(data) and len(png) > 4 * len(data)
