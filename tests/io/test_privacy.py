"""Nothing leaked: the demo runs with the network blocked and tries no connection; outputs carry
no GPS, serial numbers, owner, artist, maker notes or XMP of the input photos.

The network is blocked inside every Python process of the run by a ``sitecustomize.py`` on
``PYTHONPATH`` that replaces ``socket.socket.connect``/``connect_ex``, ``socket.getaddrinfo`` and
``socket.create_connection`` with functions that record the attempt and raise (local AF_UNIX
sockets are allowed: asyncio and multiprocessing use them). Native child processes (the
Chromium that prints the report's PDF) are outside its reach.

The demo runs with ``--force`` over stale outputs, which also checks that ``--force`` replaces
them by rename (tests/io/test_outputs_safe.py checks that the demo refuses them without it).
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, readable
from PIL import Image

CORPUS = REPO / "tests" / "bad_inputs"

SITECUSTOMIZE = textwrap.dedent(
    """
    import json, os, socket

    _LOG = os.environ["MESOVISION_NET_LOG"]


    def _record(call, args):
        with open(_LOG, "a") as f:
            entry = {"pid": os.getpid(), "call": call, "args": repr(args)[:200]}
            f.write(json.dumps(entry) + "\\n")


    _record("loaded", None)
    _connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


    def _local(sock):
        return getattr(socket, "AF_UNIX", None) is not None and sock.family == socket.AF_UNIX


    def connect(self, address):
        if _local(self):
            return _connect(self, address)
        _record("connect", address)
        raise OSError("network blocked by the privacy test")


    def connect_ex(self, address):
        if _local(self):
            return _connect_ex(self, address)
        _record("connect_ex", address)
        raise OSError("network blocked by the privacy test")


    def getaddrinfo(*args, **kwargs):
        _record("getaddrinfo", args)
        raise OSError("network blocked by the privacy test")


    def create_connection(*args, **kwargs):
        _record("create_connection", args)
        raise OSError("network blocked by the privacy test")


    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    socket.create_connection = create_connection
    """
)


@pytest.fixture()
def offline_env(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "net.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["MESOVISION_NET_LOG"] = str(log)
    return env, log


def _log(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []


def test_the_socket_block_works(offline_env):
    env, log = offline_env
    code = (
        "import socket\n"
        "for f in (lambda: socket.create_connection(('192.0.2.1', 80), timeout=1),\n"
        "          lambda: socket.getaddrinfo('example.com', 443),\n"
        "          lambda: socket.socket().connect(('192.0.2.1', 80))):\n"
        "    try:\n"
        "        f()\n"
        "    except OSError as e:\n"
        "        assert 'blocked' in str(e), e\n"
        "    else:\n"
        "        raise SystemExit('not blocked')\n"
        "a, b = socket.socketpair(); a.sendall(b'x'); assert b.recv(1) == b'x'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    calls = [e["call"] for e in _log(log)]
    assert calls == ["loaded", "create_connection", "getaddrinfo", "connect"]


# --- the demo, offline ----------------------------------------------------------------------


@pytest.mark.slow
def test_demo_runs_offline_and_force_replaces(tmp_path, offline_env):
    from mesovision.compare import output_names

    env, log = offline_env
    out = tmp_path / "demo"
    stale = out / "grace_hopper" / "after_treated" / "result.json"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"stale": true}\n')
    ino = stale.stat().st_ino
    proc = subprocess.run(
        [sys.executable, "-m", "mesovision", "demo", "-o", str(out), "--force"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    entries = _log(log)
    assert any(e["call"] == "loaded" for e in entries), "the socket block was not active"
    attempts = [e for e in entries if e["call"] != "loaded"]
    assert attempts == [], attempts
    assert "Traceback" not in proc.stderr
    # every pair's outputs, each complete; the stale file replaced by a new one
    for pair in ("grace_hopper/after_treated", "astronaut/after_no_change"):
        for name in output_names():
            assert readable(out / pair / name), f"{pair}/{name}"
    assert stale.stat().st_ino != ino and json.loads(stale.read_text()).get("stale") is None
    files = [p for p in out.rglob("*") if p.is_file()]
    bad = [str(p.relative_to(out)) for p in files if not readable(p)]
    assert bad == []


# --- metadata never copied --------------------------------------------------------------------

SECRETS = {
    "serial": "SN-123456",
    "lens serial": "LENS-SN-98765",
    "owner": "Owner Dana Secret",
    "artist": "Dr. Artist Secret",
    "maker note": "MAKERNOTE-SECRET-BYTES",
    "user comment": "patient file 0042 secret",
    "image id": "IMGUID-7f3e9a",
    "gps datum": "GPS-DATUM-SECRET",
    "gps latitude": "48.8583701",
    "gps longitude": "2.2944813",
    "xmp": "xmp-secret-creator",
}
LAT = (48.0, 51.0, 30.13236)  # 48.8583701 deg
LON = (2.0, 17.0, 40.13268)  # 2.2944813 deg


def _private_jpeg(rgb: np.ndarray, path: Path, quality: int) -> None:
    exif = Image.Exif()
    exif[0x010F] = "ClinicCam"  # Make: kept
    exif[0x0110] = "Model 7"  # Model: kept
    exif[0x013B] = SECRETS["artist"]
    exif[0xA420] = SECRETS["image id"]
    exif.get_ifd(0x8825).update(
        {
            1: "N",
            2: LAT,
            3: "E",
            4: LON,
            18: SECRETS["gps datum"],
            # GPSAreaInformation as decimal text, the form a leak into JSON would take
            28: b"ASCII\0\0\0" + f"{SECRETS['gps latitude']},{SECRETS['gps longitude']}".encode(),
        }
    )
    exif.get_ifd(0x8769).update(
        {
            0x9003: "2026:03:01 10:22:05",  # DateTimeOriginal: kept
            0xA431: SECRETS["serial"],
            0xA435: SECRETS["lens serial"],
            0xA430: SECRETS["owner"],
            0x927C: SECRETS["maker note"].encode(),
            0x9286: b"ASCII\0\0\0" + SECRETS["user comment"].encode(),
        }
    )
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-'
        'rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:creator>{SECRETS['xmp']}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()
    Image.fromarray(rgb).save(path, "JPEG", quality=quality, exif=exif.tobytes(), xmp=xmp)


def _needles(jpeg: Path) -> dict[str, bytes]:
    """Byte strings that must not appear in any output: the secrets as text, and the GPS
    coordinates as the file stores them (RATIONAL numerator + denominator, either byte order)."""
    out = {k: v.encode() for k, v in SECRETS.items()}
    with Image.open(jpeg) as im:
        gps = im.getexif().get_ifd(0x8825)
    for tag, label in ((2, "gps latitude"), (4, "gps longitude")):
        sec = gps[tag][2]
        num, den = sec.numerator, sec.denominator
        out[label + " rational (LE)"] = struct.pack("<II", num, den)
        out[label + " rational (BE)"] = struct.pack(">II", num, den)
        out[label + " seconds"] = f"{float(sec):.5f}".encode()
    return out


def test_outputs_carry_no_private_metadata(tmp_path):
    with Image.open(CORPUS / "before.jpg") as im:
        rgb = np.asarray(im.convert("RGB"))
    before, after = tmp_path / "before.jpg", tmp_path / "after.jpg"
    _private_jpeg(rgb, before, 95)
    _private_jpeg(rgb, after, 90)
    needles = _needles(before)
    for p in (before, after):  # the inputs do carry every secret
        data = p.read_bytes()
        for k in SECRETS:
            if k not in ("gps latitude", "gps longitude"):
                assert needles[k] in data, k
        with Image.open(p) as im:
            assert im.getexif().get_ifd(0x8825)[2] == LAT and "xmp" in im.info

    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "mesovision", "compare", str(before), str(after), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(files) > 5
    for p in files:
        data = p.read_bytes()
        found = [k for k, n in needles.items() if n in data]
        assert found == [], f"{p.name} carries {found}"
        if p.suffix == ".png":
            with Image.open(p) as im:
                im.load()
                assert not set(im.info) & {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile"}
                assert not getattr(im, "text", {}), im.text
                assert len(im.getexif()) == 0
        else:
            text = data.decode("utf-8").lower()
            assert "gps" not in text and "serial" not in text and "maker" not in text
    # what is kept (whitelisted capture fields) is there: the EXIF was read
    cap = json.loads((out / "result.json").read_text())["inputs"]["before"]["capture"]
    assert cap["make"] == "ClinicCam" and cap["datetime_original"] == "2026:03:01 10:22:05"
    printed = proc.stdout + proc.stderr
    assert not [k for k, v in SECRETS.items() if v in printed]


def test_png_writer_drops_input_metadata(tmp_path):
    """The library's writers build PNGs from arrays: no chunk of the input survives."""
    from mesovision.io import load_photo, write_png

    _private_jpeg(np.full((40, 40, 3), 128, np.uint8), tmp_path / "in.jpg", 90)
    photo = load_photo(tmp_path / "in.jpg")
    write_png(tmp_path / "o.png", photo.rgb)
    data = (tmp_path / "o.png").read_bytes()
    assert not [k for k, n in _needles(tmp_path / "in.jpg").items() if n in data]
    chunks = []
    pos = 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8])
        pos += 12 + n
    assert set(chunks) <= {b"IHDR", b"IDAT", b"IEND"}, chunks
    assert io.BytesIO(data).getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
