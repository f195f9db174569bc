"""The identity check's descriptor network on NumPy (``mesovision._face_resnet``) against dlib's.

For every photo listed in ``faces.csv`` of the faces folder (group photos included: the face mesh
keeps the largest face) and every shipped face sample's ``before.jpg``, where the face mesh finds
a face: the working copy (``load_photo``, 2048 px), its face box (``identity.face_box``), dlib's
5-point shape, then

- dlib's descriptor, ``compute_face_descriptor(img, shape, 1)`` (the library's computation until
  the NumPy forward pass replaced it), and
- ``identity.face_descriptor`` (dlib's shape and face chip, then the NumPy forward pass),

and prints the largest difference of any element, and the largest difference of the Euclidean
distance over every pair of photos (and whether any pair changes side of ``MAX_DISTANCE``). The
forward pass is run again with NumPy's BLAS held to 1 thread and to 2 threads (it uses no
OpenCV) and the two compared the same way. Then the time of the forward pass alone on the 150 x
150 chip (median of ``--repeat`` runs per photo, the first ``--timed`` photos; BLAS held to one
thread, as while a comparison's stages run; dlib's build is single-threaded), dlib's and NumPy's.

Run: python benchmarks/face_resnet.py [--faces DIR] [--repeat 7] [--timed 20]
(``DIR`` defaults to ``$MESOVISION_FACES``, else ``<repo>/../shared/faces``.)
"""

from __future__ import annotations

import argparse
import csv
import itertools
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _faces import sample_faces
from identity import listed_faces_dir
from threadpoolctl import threadpool_limits

from mesovision.errors import NoFace
from mesovision.identity import (
    DESCRIPTOR_MODEL,
    MAX_DISTANCE,
    SHAPE_MODEL,
    _to_uint8,
    face_box,
    face_descriptor,
    model_dir,
)
from mesovision.io import load_photo
from mesovision.landmarks import detect_landmarks


def photos(folder: Path) -> list[Path]:
    """Every file of ``faces.csv`` (group photos too), then the samples' before photos."""
    with open(folder / "faces.csv", newline="") as f:
        listed = [folder / r["file"] for r in csv.DictReader(f)]
    return listed + sample_faces()


def _median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def _differences(a: dict, b: dict) -> tuple[float, float, int, int]:
    """Largest element difference, largest pairwise-distance difference, pairs, pairs whose
    decision at MAX_DISTANCE differs."""
    element = max(float(np.abs(a[k] - b[k]).max()) for k in a)
    worst, flips, n = 0.0, 0, 0
    for x, y in itertools.combinations(sorted(a), 2):
        da, db = np.linalg.norm(a[x] - a[y]), np.linalg.norm(b[x] - b[y])
        worst = max(worst, abs(float(da - db)))
        flips += (da <= MAX_DISTANCE) != (db <= MAX_DISTANCE)
        n += 1
    return element, worst, n, flips


def _say_differences(label: str, a: dict, b: dict) -> None:
    element, dist, n, flips = _differences(a, b)
    print(
        f"- {label}: {len(a)} faces, largest element difference {element:.2e}; {n} pairs, largest "
        f"distance difference {dist:.2e}; decisions at {MAX_DISTANCE} changed: {flips}"
    )


def main(argv: list[str] | None = None) -> int:
    import dlib

    from mesovision import _face_resnet

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", default=None, help="the faces folder (default: see module doc)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per photo")
    ap.add_argument("--timed", type=int, default=20, help="photos timed")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    folder = listed_faces_dir(args.faces)
    if folder is None:
        return 2
    predictor = dlib.shape_predictor(str(model_dir() / SHAPE_MODEL))
    model = dlib.face_recognition_model_v1(str(model_dir() / DESCRIPTOR_MODEL))
    network = _face_resnet.network(model_dir() / DESCRIPTOR_MODEL)
    ref, ours, chips, skipped = {}, {}, {}, []
    paths = photos(folder)
    for i, path in enumerate(paths):
        rgb = load_photo(str(path), max_side=2048).rgb
        try:
            lm = detect_landmarks(rgb, path=str(path))
        except NoFace:
            skipped.append(path.name)
            continue
        img, name = _to_uint8(rgb), f"{path.parent.name}/{path.name}"
        shape = predictor(img, dlib.rectangle(*face_box(lm)))
        ref[name] = np.array(model.compute_face_descriptor(img, shape, 1))
        ours[name] = face_descriptor(img, lm).vector
        chips[name] = dlib.get_face_chip(
            img, shape, size=_face_resnet.CHIP_SIZE, padding=_face_resnet.CHIP_PADDING
        )
        print(f"\r{i + 1}/{len(paths)} photos", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    print("# dlib's face-descriptor ResNet on NumPy against dlib\n")
    print(f"{len(paths)} photos, a face mesh on {len(ref)} (none on: {', '.join(skipped)}).\n")
    _say_differences("NumPy forward pass against dlib's descriptor", ours, ref)
    by_threads = {}
    for n in (1, 2):
        with threadpool_limits(n, user_api="blas"):
            by_threads[n] = {k: network.descriptor(c).astype(np.float64) for k, c in chips.items()}
    _say_differences("NumPy forward pass, 1 thread against 2 threads", by_threads[1], by_threads[2])

    timed = sorted(chips)[: args.timed]
    with threadpool_limits(1, user_api="blas"):
        t_np = [_median_ms(lambda c=chips[k]: network.descriptor(c), args.repeat) for k in timed]
    t_dlib = [
        _median_ms(lambda c=chips[k]: model.compute_face_descriptor(c), args.repeat) for k in timed
    ]
    print(
        f"\nForward pass on the 150 x 150 chip, median of {args.repeat} runs per photo, then over "
        f"{len(timed)} photos: NumPy {statistics.median(t_np):.1f} ms (photos "
        f"{min(t_np):.1f}-{max(t_np):.1f}), dlib {statistics.median(t_dlib):.1f} ms "
        f"({min(t_dlib):.1f}-{max(t_dlib):.1f})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
