"""Make tests/bad_inputs/: photos as clinics should not send them, with the expected answers.

Seeded and deterministic: ``python scripts/make_bad_inputs.py [OUT_DIR]`` rewrites the same bytes
(``tests/io/test_bad_inputs.py`` regenerates the folder into a temporary directory and compares the
hashes, so the committed corpus cannot go stale). No face detection is run here: the images are
made from the sample faces that ship inside scikit-image (``astronaut``) and matplotlib
(``grace_hopper``) with fixed geometry.

``cases.json`` lists every case: the file, the exit code ``mesovision compare before.jpg FILE``
(and ``align``) must return, a substring of the one error line (``reason``) or, for a file that
must load and compare, a substring of an expected warning (``warning``), and a note. Every case's
after photo is compared with ``before.jpg`` (grace_hopper at 1x, JPEG). ``cli_cases`` lists the
hostile command lines (huge integers, NUL bytes and names that are not UTF-8, ``--max-side`` <= 0,
a damaged store, a malformed cache entry, a closed stdout, control characters in printed text),
each with its exit code and its one line; the files they need are made by the tests.

Decisions recorded here (consistent with ``mesovision.io.load_photo``):

* a PNG named ``.jpg`` loads: the format is read from the bytes, never from the extension;
* animated WebP loads frame 0 with a warning; GIF is refused (not in the format whitelist);
* 16-bit and CMYK TIFF load (made from the sample face, so the comparison succeeds);
* a corrupt ICC profile is ignored with a warning (pixels taken as sRGB);
* an image narrower than 32 px on a side (a 1x1 pixel, a 10x10000 strip, a 500x1 row) is
  refused from its header (4);
* a pixel bomb is refused from its header, before any pixel is decoded (4).
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "tests" / "bad_inputs"
SEED = 20261123
QUALITY = 85

#: The grace_hopper sample's face (1x, 512x600): centre column and half-width in pixels, measured
#: once from its face mesh (landmarks 234 and 454); used to turn the head without a detector.
GRACE_FACE_CENTRE_X = 264.0
GRACE_FACE_HALF_WIDTH = 100.0


#: Inputs found by ``tests/io/fuzz_load.py`` that crashed ``load_photo`` before a fix, kept as
#: regressions: file name -> (bytes as hex, or (length, ((offset, hex), ...)) for a file of zeros
#: with a few spans, reason, note).
FUZZ_REGRESSIONS: dict[str, tuple[str | tuple, str, str]] = {
    "fuzz_heif_size.heic": (
        "0000001c6674797068656963000000006d696631686569636d6961660000017d6d6574610000000000000021"
        "68646c720000000000000000706963740000000000000000000000000000000022696c6f6300000000444000"
        "0100010000000001a1000100000000000000f40000002369696e6600000000000100000015696e6665020000"
        "000001000068766331000000000e7069746d000000000001000000fd69707270000000dd6970636f00000076"
        "687663430103700000009000000000001ef000fcfdf8f800000f03600001001840010c01ffff037000000300"
        "90000003000003001eba0240610001002a42010103700000030090000003000003001ea020810596eae4a6b9"
        "b8086830200000030320000003002162000100064401c173c08900000013636f6c726e636c780001000d0006"
        "800000001469737065000000000000003ffa00004000000028636c6170000000280000000100000020000000"
        "01ffffffe800000002ffffffe000000002000000107069786900000000030808080000001869706d61000000"
        "00000000010001058102030584000000fc6d646174000000f02801af09e0e5b7cf5538682104f2698715230e"
        "21ac5f7e7b417f06179e1269dfc7d0fb5664b5fc34f10cbf54f218db30e71fe347f88d965ea49ed0187fbd3f"
        "ff9650b017315fe13b0510d0ac6d1f9026090d412dcb0cb170377c990a5fece56b915d91a1a2c2668cda807e"
        "45dd0463b18c1b2d8f611618c9efdb2fa3112da2bad74c3a234e056841f8fa875369e405628a2254da4129aa"
        "0a5169365246cc99e5e4d08a02d3898755f4ab475309370518e81dd53b993fe85e32511ba9e9785411952d6a"
        "00f3b7a990b75ecead61722b07f2038add329980462d6e40c3d11740c51c107609760432e9100b3f9e55c74a"
        "60",
        "corrupt HEIF data",
        "a HEIF whose decoded size differs from its header (63x4194304064): pillow-heif raised "
        "RuntimeError, an unexpected failure (exit 1) before the fix",
    ),
    "fuzz_tiff_pages.tif": (
        # minimized: 3510 bytes, zero but for these (offset, hex) spans; the next-page pointer
        # (offset 3506) leads to a page without dimensions
        (
            3510,
            (
                (0, "49492a00380d"),
                (3384, "0a00000103000100000028000000010103000100000020"),
                (3422, "030103000100000005"),
                (3506, "01"),
            ),
        ),
        "corrupt TIFF data",
        "a TIFF whose later page has no dimensions: counting its pages raised TypeError, an "
        "unexpected failure (exit 1) before the fix",
    ),
}


#: Hostile command lines (tests/io/test_bad_inputs.py runs each one; see ``cli_commands`` in
#: cases.json). ``setup`` names a builder in the test module.
CLI_CASES: list[dict] = [
    {
        "id": "huge_session_id",
        "setup": None,
        "argv": ["progress", "P1", "--session", "99999999999999999999", "--store", "{dir}/s"],
        "exit_code": 2,
        "names": "argument --session",
        "reason": "must be an id from 1 to 9223372036854775807, got '99999999999999999999'",
    },
    {
        "id": "huge_manifest_repeat",
        "setup": "manifest_huge_repeat",
        "argv": ["batch", "{dir}/m.csv", "-o", "{dir}/out"],
        "exit_code": 2,
        "names": "{dir}/m.csv",
        "reason": "row 3: repeat '99999999999999999999' is not an integer from 1 to 1000",
    },
    {
        "id": "nul_byte_in_manifest_path",
        "setup": "manifest_nul_path",
        "argv": ["batch", "{dir}/m.csv", "-o", "{dir}/out"],
        "exit_code": 2,
        "names": "{dir}/m.csv",
        "reason": "row 3: path contains a NUL character",
    },
    {
        "id": "non_utf8_name_compare",
        "setup": "non_utf8_photo",
        "argv": ["compare", "{before}", "{nonutf8}", "-o", "{dir}/out"],
        "exit_code": 2,
        "names": "{dir}/bad\\xff.jpg",
        "reason": "not valid UTF-8 (undecodable bytes shown as \\xNN)",
    },
    {
        "id": "non_utf8_name_session_add",
        "setup": "non_utf8_photo",
        "argv": ["session", "add", "P1", "--date", "2026-01-01", "--photo", "{nonutf8}"]
        + ["--store", "{dir}/s"],
        "exit_code": 2,
        "names": "{dir}/bad\\xff.jpg",
        "reason": "not valid UTF-8 (undecodable bytes shown as \\xNN)",
    },
    {
        "id": "max_side_zero",
        "setup": None,
        "argv": ["compare", "{before}", "{before}", "-o", "{dir}/out", "--max-side", "0"],
        "exit_code": 2,
        "names": "argument --max-side",
        "reason": "must be a number of pixels from 1 to 100000, got '0'",
    },
    {
        "id": "max_side_negative",
        "setup": None,
        "argv": ["align", "{before}", "{before}", "-o", "{dir}/out", "--max-side", "-5"],
        "exit_code": 2,
        "names": "argument --max-side",
        "reason": "must be a number of pixels from 1 to 100000, got '-5'",
    },
    *(
        {
            "id": f"damaged_store_{'_'.join(argv[:2])}",
            "setup": "store_damaged_in_the_middle",
            "argv": [*argv, "--store", "{dir}/s"],
            "exit_code": 12,
            "names": "{dir}/s/store.sqlite",
            "reason": "damaged store database (quick_check: ",
        }
        for argv in (
            ["patient", "list"],
            ["patient", "show", "P0001"],
            ["patient", "add", "P9"],
            ["patient", "remove", "P0001", "--yes"],
            ["progress", "P0001"],
            ["session", "remove", "1", "--yes"],
            ["store", "check"],
        )
    ),
    {
        "id": "malformed_cache_entry",
        "setup": "batch_with_malformed_cache_entry",
        "argv": ["batch", "{dir}/m.csv", "-o", "{dir}/out", "--json", "-j", "1"],
        "exit_code": 0,
        "warning": True,
        "names": "{dir}/out/cache/",
        "reason": "malformed cache entry (no changes in the record), recomputing",
        "note": "the comparison is computed again: status.csv says ok, not cached, with rows",
    },
    {
        "id": "closed_stdout_check",
        "setup": None,
        "argv": ["check", "--json", "{before}"],
        "stdout": "closed",
        "exit_code": 141,
        "note": "like `mesovision check --json F | head -c1`: quiet, 128 + SIGPIPE",
    },
    {
        "id": "closed_stdout_metrics",
        "setup": None,
        "argv": ["metrics"],
        "stdout": "closed",
        "exit_code": 141,
    },
    {
        "id": "control_characters_in_a_file_name",
        "setup": None,
        "argv": ["compare", "{before}", "{dir}/x\x1b[31m\nmesovision: error: forged.jpg"]
        + ["-o", "{dir}/out"],
        "exit_code": 3,
        "names": "{dir}/x\\x1b[31m\\nmesovision: error: forged.jpg",
        "reason": "no such file",
    },
    {
        "id": "control_characters_in_patient_show",
        "setup": "store_with_control_characters",
        "argv": ["patient", "show", "P1", "--store", "{dir}/s"],
        "exit_code": 0,
        "stdout_has": [
            "(Bob\\x1b[31m\\rX\\nmesovision: error: forged)",
            "product pr\\x07\\x9b",
            "n\\x1b[2J\\nmesovision: error: forged",
            "/a\\x1b[31mb\\r.png",
        ],
    },
    {
        "id": "control_characters_in_patient_list",
        "setup": "store_with_control_characters",
        "argv": ["patient", "list", "--store", "{dir}/s"],
        "exit_code": 0,
        "stdout_has": ["Bob\\x1b[31m\\rX\\nmesovision: error: forged"],
    },
    {
        "id": "control_characters_in_the_store_folder",
        "setup": "store_named_with_control_characters",
        "argv": ["store", "check", "--store", "{dir}/s\x1b[31m\n"],
        "exit_code": 0,
        "stdout_has": ["/s\\x1b[31m\\n: ok"],
    },
]


def _regression_bytes(spec: str | tuple) -> bytes:
    if isinstance(spec, str):
        return bytes.fromhex(spec)
    length, spans = spec
    out = bytearray(length)
    for offset, hexdata in spans:
        chunk = bytes.fromhex(hexdata)
        out[offset : offset + len(chunk)] = chunk
    return bytes(out)


def _u8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(rgb, np.float64) * 255 + 0.5, 0, 255).astype(np.uint8)


def _jpeg(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=QUALITY, **kw)
    return buf.getvalue()


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def _resize(arr: np.ndarray, k: float) -> np.ndarray:
    return cv2.resize(arr, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A ~70-byte PNG whose header claims ``width x height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * (1 + 3 * min(width, 1000)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def jpeg_bomb(small_jpeg: bytes, width: int, height: int) -> bytes:
    """``small_jpeg`` with its frame header (SOF0) patched to claim ``width x height``."""
    i = small_jpeg.index(b"\xff\xc0")
    return small_jpeg[: i + 5] + struct.pack(">HH", height, width) + small_jpeg[i + 9 :]


def stored_for(orientation: int, upright: np.ndarray) -> np.ndarray:
    """The pixels a camera stores so that EXIF ``orientation`` displays ``upright``."""
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, k=1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, k=-1),
    }
    return np.ascontiguousarray(ops[orientation](upright))


def turn_head(
    rgb: np.ndarray, theta_deg: float, *, centre_x: float, half_width: float
) -> np.ndarray:
    """Turn a frontal head about a vertical axis, modelled as an elliptic cylinder.

    A column at angle ``phi`` on the cylinder (``x = c + a sin(phi)``, depth ``0.8 a cos(phi)``)
    is seen after the turn at ``c + a sin(phi) cos(theta) + 0.8 a cos(phi) sin(theta)``; columns
    turned away from the camera are hidden. Rows do not move. MediaPipe's Face Landmarker reads
    about 18 deg of yaw on the grace_hopper face turned by 45 deg this way (more turn reads less:
    the warped face stops looking like a turned one).
    """
    h, w = rgb.shape[:2]
    t = np.radians(theta_deg)
    phi = np.linspace(-np.pi / 2, np.pi / 2, 4001)
    x_src = centre_x + half_width * np.sin(phi)
    x_dst = centre_x + half_width * (np.sin(phi) * np.cos(t) + 0.8 * np.cos(phi) * np.sin(t))
    visible = np.maximum.accumulate(x_dst) == x_dst
    x_src, x_dst = x_src[visible], x_dst[visible]
    xs = np.arange(w, dtype=np.float64)
    src = np.interp(xs, x_dst, x_src)
    left, right = xs < x_dst[0], xs > x_dst[-1]
    src[left] = x_src[0] - (x_dst[0] - xs[left])
    src[right] = x_src[-1] + (xs[right] - x_dst[-1])
    map_x = np.tile(src.astype(np.float32), (h, 1))
    map_y = np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w))
    return cv2.remap(rgb, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def encoder_versions() -> dict[str, str]:
    """The libraries whose encoders decide the bytes written (a new release may change them)."""
    from importlib import metadata

    import PIL.features

    out = {n: metadata.version(n) for n in ("numpy", "Pillow", "opencv-contrib-python")}
    for lib in ("libjpeg_turbo", "zlib", "webp", "libtiff"):
        out[lib] = str(PIL.features.version(lib))
    return out


def faces() -> dict[str, np.ndarray]:
    from mesovision.testing.samples import sample_faces

    return {k: _u8(v) for k, v in sample_faces().items()}


def make(out: Path) -> list[dict]:
    """Write every case into ``out``; return the case list (also written as cases.json)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    f = faces()
    grace, astro = f["grace_hopper"], f["astronaut"]
    grace_small = _resize(grace, 0.6)  # interocular distance ~50 px: loads and compares
    cases: list[dict] = []
    files: dict[str, bytes] = {}

    def case(name, data, code, *, reason=None, warning=None, note=""):
        files[name] = data
        cases.append(
            {"file": name, "exit_code": code, "reason": reason, "warning": warning, "note": note}
        )

    before = _jpeg(grace)
    files["before.jpg"] = before

    case("zero_bytes.jpg", b"", 4, reason="zero bytes", note="empty file")
    case(
        "truncated.jpg",
        before[: len(before) // 2],
        4,
        reason="truncated JPEG",
        note="half of before.jpg",
    )
    small_png = _png(grace[150:278, 190:318])
    case(
        "truncated.png",
        small_png[: len(small_png) // 2],
        4,
        reason="truncated PNG",
        note="half of a PNG",
    )
    case(
        "png_named.jpg",
        _png(grace_small),
        0,
        note="a PNG named .jpg loads: the format comes from the bytes, not the extension",
    )
    case(
        "text_named.jpg",
        b"Patient notes\nsession 2: left cheek, 2 ml\n",
        4,
        reason="not an image (text file?)",
        note="a text file named .jpg",
    )
    case(
        "one_pixel.png",
        _png(grace[300:301, 256:257]),
        4,
        reason="image too narrow (1 x 1 px",
        note="1x1 image: refused before decoding",
    )
    case(
        "strip_10x10000.png",
        _png(np.full((10000, 10, 3), 180, np.uint8)),
        4,
        reason="image too narrow (10 x 10000 px",
        note="10x10000: narrower than 32 px on one side",
    )
    case(
        "strip_500x1.png",
        _png(np.full((1, 500, 3), 180, np.uint8)),
        4,
        reason="image too narrow (500 x 1 px",
        note="a 1 x N image (one row of 500 px): refused from its header",
    )
    case(
        "bomb_30000x30000.png",
        png_bomb(30000, 30000),
        4,
        reason="photo of 900 MP; at most 60 MP: set the camera to 12-50 MP",
        note="a tiny PNG whose header claims 30000x30000: refused before decoding",
    )
    case(
        "bomb_30000x30000.jpg",
        jpeg_bomb(_jpeg(grace[:64, :64]), 30000, 30000),
        4,
        reason="photo of 900 MP (30000 x 30000 px); at most 240 MP for a JPEG",
        note="a tiny JPEG whose frame header claims 30000x30000: refused before decoding",
    )
    ok, tif16 = cv2.imencode(
        ".tif", (grace_small[:, :, ::-1].astype(np.uint16) * 257), [cv2.IMWRITE_TIFF_COMPRESSION, 5]
    )
    assert ok
    case("rgb16.tif", tif16.tobytes(), 0, note="16-bit RGB TIFF (LZW) of the sample face")
    buf = io.BytesIO()
    Image.fromarray(grace_small).convert("CMYK").save(buf, "TIFF", compression="tiff_lzw")
    case("cmyk.tif", buf.getvalue(), 0, note="CMYK TIFF of the sample face (no ICC profile)")

    frames = [Image.fromarray(_resize(grace, 0.25)), Image.fromarray(_resize(astro, 0.3)[:150])]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    case(
        "animated.gif",
        buf.getvalue(),
        4,
        reason="unsupported format (GIF)",
        note="GIF is not in the format whitelist (JPEG, PNG, TIFF, WebP, BMP, HEIF)",
    )
    second = cv2.resize(astro, grace_small.shape[1::-1], interpolation=cv2.INTER_AREA)
    frames = [Image.fromarray(grace_small), Image.fromarray(second)]
    buf = io.BytesIO()
    frames[0].save(
        buf, "WEBP", save_all=True, append_images=frames[1:], duration=200, quality=80, method=4
    )
    case(
        "animated.webp",
        buf.getvalue(),
        0,
        warning="has 2 frames; using frame 0",
        note="animated WebP: frame 0 (the sample face) is used, with a warning",
    )

    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        case(
            f"orientation_{o}.jpg",
            _jpeg(stored_for(o, grace), exif=exif.tobytes()),
            0,
            note=f"stored with EXIF orientation {o}: loads upright",
        )

    case(
        "corrupt_icc.jpg",
        _jpeg(grace, icc_profile=b"\0\0\x02\x0cnot an ICC profile" + bytes(range(256)) * 2),
        0,
        warning="ICC profile could not be parsed",
        note="a corrupt embedded ICC profile is ignored (pixels taken as sRGB)",
    )

    yy, xx = np.mgrid[0:256, 0:256] / 255.0
    gradient = np.dstack([0.4 + 0.3 * xx, 0.5 + 0.2 * yy, 0.6 - 0.2 * xx])
    no_face = _u8(np.clip(gradient + rng.normal(0.0, 0.03, gradient.shape), 0, 1))
    case("no_face.jpg", _jpeg(no_face), 5, reason="no face found", note="a colour gradient")

    second = astro[0:300, 80:380]  # the astronaut's head, interocular distance ~43 px
    two = np.empty((grace.shape[0], grace.shape[1] + second.shape[1], 3), np.uint8)
    two[:] = grace[0, 0]
    two[:, : grace.shape[1]] = grace
    two[100:400, grace.shape[1] :] = second
    case(
        "two_faces.jpg",
        _jpeg(two),
        0,
        warning="2 faces found; the largest is used",
        note="a second, smaller face beside the patient's: the largest is used",
    )

    canvas = np.full((320, 302, 3), (150, 160, 170), np.uint8)
    tiny = _resize(grace, 0.2)  # face ~40 px wide, interocular distance ~17 px
    canvas[100 : 100 + tiny.shape[0], 100 : 100 + tiny.shape[1]] = tiny
    case(
        "small_face.jpg",
        _jpeg(canvas),
        6,
        reason="face too small",
        note="a face 40 px wide (interocular distance ~17 px, minimum 30)",
    )
    case(
        "different_person.jpg",
        _jpeg(astro),
        11,
        reason="different person",
        note="the astronaut as the after photo of grace_hopper: refused by the identity check",
    )
    turned = turn_head(grace, 45.0, centre_x=GRACE_FACE_CENTRE_X, half_width=GRACE_FACE_HALF_WIDTH)
    case(
        "different_view.jpg",
        _jpeg(turned),
        7,
        reason="head turned",
        note="the head turned (MediaPipe reads ~18 deg of yaw): refused for the pose difference",
    )

    buf = io.BytesIO()
    Image.fromarray(grace[150:278, 190:318]).save(buf, "TIFF", compression="tiff_lzw")
    lzw = bytearray(buf.getvalue())
    for i in range(200, len(lzw) - 400, 197):  # garble the LZW strip, keep the header and tags
        lzw[i] ^= 0x5A
    case(
        "corrupt_lzw.tif",
        bytes(lzw),
        4,
        reason="corrupt TIFF data",
        note="garbled LZW data: libtiff printed its own stderr line before the fix",
    )
    for name, (spec, reason, note) in FUZZ_REGRESSIONS.items():
        case(name, _regression_bytes(spec), 4, reason=reason, note=note)

    for name, data in files.items():
        (out / name).write_bytes(data)
    doc = {
        "description": "bad inputs for mesovision; made by scripts/make_bad_inputs.py (seeded)",
        "generated_with": encoder_versions(),
        "before": "before.jpg",
        "commands": "mesovision compare|align before.jpg FILE -o OUT: exit_code, and one "
        "stderr line 'mesovision: error: FILE: ...reason...' when exit_code != 0",
        "cases": cases,
        "cli_commands": "mesovision ARGV (placeholders: {dir} a fresh folder, {before} the "
        "before.jpg above, {nonutf8} {dir}/bad<0xff>.jpg, a name that is not UTF-8) after the "
        "named setup: exit_code; stderr one line 'mesovision: error: ...' (or, with warning, "
        "'mesovision: WARNING: ...') holding `names` and `reason`, none with stdout 'closed'; "
        "no traceback, no raw control character printed, nothing written on refusal",
        "cli_cases": CLI_CASES,
    }
    (out / "cases.json").write_text(json.dumps(doc, indent=2) + "\n")
    return cases


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    cases = make(out)
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"{len(cases)} cases in {out}/ ({total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
