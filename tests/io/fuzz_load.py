"""Coverage-guided fuzzing of :func:`mesovision.io.load_photo` with atheris (libFuzzer).

Every input is written to a file and loaded; :class:`~mesovision.errors.MesovisionError` (the
documented refusals: ``InvalidImage``, ``InputFileError``) is the expected answer to bad bytes,
any other exception is a crash (libFuzzer saves the input as ``crash-<sha1>``).

Run (``tests/io/test_fuzz.py`` runs it briefly in the suite)::

    python tests/io/fuzz_load.py -max_total_time=600          # ten minutes
    python tests/io/fuzz_load.py -atheris_runs=2000           # a fixed number of inputs
    python tests/io/fuzz_load.py CORPUS_DIR -max_total_time=600  # keep the grown corpus

Without a corpus directory, the seeds (``tests/bad_inputs/`` and small valid JPEG, PNG, 16-bit
PNG, TIFF, WebP, BMP and HEIC files made here) are copied to a temporary directory, which
libFuzzer grows and which is deleted at the end; found crashes go to the current directory (or
``-artifact_prefix=DIR/``). Reproduce one with ``python tests/io/fuzz_load.py crash-<sha1>``.
Photos are loaded with ``max_side=256`` and ``max_pixels=4_000_000`` so that each run is fast and
small; inputs are capped at 100 000 bytes unless ``-max_len`` is given.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: ``tests/bad_inputs``, found from this file wherever it sits under ``tests/``.
CORPUS = next(d / "bad_inputs" for d in (HERE, *HERE.parents) if (d / "bad_inputs").is_dir())
MAX_PIXELS = 4_000_000
MAX_SIDE = 256
_CHILD = "MESOVISION_FUZZ_WORKDIR"  # set in the fuzzing child: its scratch folder


def fuzz(argv: list[str], workdir: Path) -> None:
    """The libFuzzer loop (never returns: libFuzzer exits the process)."""
    import logging

    import atheris

    logging.disable(logging.WARNING)  # load_photo's warnings about bad metadata: expected

    with atheris.instrument_imports(include=["mesovision", "PIL"]):
        import PIL.Image  # noqa: F401  (instrumented before mesovision imports it)

        from mesovision.errors import MesovisionError
        from mesovision.io import load_photo

    target = workdir / "input"

    def test_one_input(data: bytes) -> None:
        target.write_bytes(data)
        try:
            load_photo(target, max_side=MAX_SIDE, max_pixels=MAX_PIXELS)
        except MesovisionError:
            pass

    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


def valid_seeds() -> dict[str, bytes]:
    """Small valid images of every accepted format (a gradient with a block, 40x32)."""
    import numpy as np
    from PIL import Image

    yy, xx = np.mgrid[0:32, 0:40]
    rgb = np.dstack([xx * 6, yy * 7, 255 - xx * 3]).astype(np.uint8)
    rgb[4:12, 4:14] = (220, 30, 30)
    im = Image.fromarray(rgb)
    out: dict[str, bytes] = {}
    exif = Image.Exif()
    exif[0x0112] = 6
    for name, fmt, kw in (
        ("seed.jpg", "JPEG", {"quality": 80, "exif": exif.tobytes()}),
        ("seed.png", "PNG", {}),
        ("seed.tif", "TIFF", {"compression": "tiff_lzw"}),
        ("seed.webp", "WEBP", {"quality": 70}),
        ("seed.bmp", "BMP", {}),
    ):
        buf = io.BytesIO()
        im.save(buf, fmt, **kw)
        out[name] = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 257).save(buf, "PNG")  # 16-bit grey
    out["seed16.png"] = buf.getvalue()
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        buf = io.BytesIO()
        im.save(buf, "HEIF", quality=60)
        out["seed.heic"] = buf.getvalue()
    except (ImportError, OSError, ValueError, KeyError) as exc:  # no HEIF encoder here
        print(f"fuzz_load: no HEIC seed ({exc})", file=sys.stderr)
    return out


def make_seed_dir(workdir: Path) -> Path:
    seeds = workdir / "corpus"
    seeds.mkdir()
    for p in sorted(CORPUS.iterdir()):
        if p.is_file() and p.suffix != ".json":
            shutil.copy(p, seeds / p.name)
    for name, data in valid_seeds().items():
        (seeds / name).write_bytes(data)
    return seeds


def main(argv: list[str]) -> int:
    """Make the seed corpus in a scratch folder, fuzz in a child process (libFuzzer ends its
    process with ``exit``), delete the scratch folder and return the child's exit code."""
    if os.environ.get(_CHILD):
        fuzz(argv, Path(os.environ[_CHILD]))
        return 0  # not reached
    args = list(argv[1:])
    workdir = Path(tempfile.mkdtemp(prefix="mesovision-fuzz-"))
    try:
        if not [a for a in args if not a.startswith("-")]:
            args.append(str(make_seed_dir(workdir)))
        if not any(a.startswith("-max_len=") for a in args):
            args.append("-max_len=100000")
        env = {**os.environ, _CHILD: str(workdir), "OPENCV_LOG_LEVEL": "ERROR"}
        return subprocess.run([sys.executable, __file__, *args], env=env).returncode
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
