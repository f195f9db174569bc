"""dlib's face-descriptor ResNet on NumPy (``mesovision._face_resnet``) against dlib's own forward
pass: the sample faces (always), a few photos of ``shared/faces`` (skipped without the folder,
failed without it when ``CI=true``), what a wrong convention would change, threads, and files
that are not the network. ``benchmarks/face_resnet.py`` runs the comparison on every face.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
from conftest import SAMPLES, shared_faces

from mesovision import _face_resnet
from mesovision.identity import (
    DESCRIPTOR_MODEL,
    SHAPE_MODEL,
    descriptor_distance,
    face_box,
    face_descriptor,
    model_dir,
)
from mesovision.io import load_photo
from mesovision.landmarks import detect_landmarks

dlib = pytest.importorskip("dlib")

#: Largest difference of a descriptor element from dlib's (measured on 94 faces: 4.5e-7; the
#: elements are about 0.1 in size, float32 rounding about 1e-8 of that per operation).
ELEMENT_TOLERANCE = 2e-6
#: Largest difference of a distance between two faces from dlib's (measured: 6.3e-7 over 4371
#: pairs; the identity threshold's margins are about 0.02).
DISTANCE_TOLERANCE = 1e-5
SAMPLE_PHOTOS = [
    SAMPLES / p / f"{s}.jpg"
    for p in ("grace_hopper", "astronaut")
    for s in ("before", "after_no_change", "after_treated")
]


@pytest.fixture(scope="module")
def dlib_models():
    folder = model_dir()
    return (
        dlib.shape_predictor(str(folder / SHAPE_MODEL)),
        dlib.face_recognition_model_v1(str(folder / DESCRIPTOR_MODEL)),
    )


def _compare(paths, dlib_models) -> dict:
    """``{name: (ours, dlib's, chip)}``: ``identity.face_descriptor`` and dlib's
    ``compute_face_descriptor(img, shape, 1)`` on the same 8-bit photo and shape."""
    predictor, model = dlib_models
    out = {}
    for path in paths:
        rgb = load_photo(str(path), max_side=2048).rgb
        img = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
        lm = detect_landmarks(rgb, path=str(path))
        shape = predictor(img, dlib.rectangle(*face_box(lm)))
        ref = np.array(model.compute_face_descriptor(img, shape, 1))
        chip = dlib.get_face_chip(img, shape, size=150, padding=0.25)
        out[f"{path.parent.name}/{path.name}"] = (face_descriptor(img, lm), ref, chip)
    return out


def _assert_same_as_dlib(found: dict) -> None:
    names = sorted(found)
    for name in names:
        ours, ref, _ = found[name]
        assert ours.vector.dtype == np.float64 and ours.vector.shape == (128,)
        err = float(np.abs(ours.vector - ref).max())
        print(f"{name}: largest element difference {err:.1e}")
        assert err <= ELEMENT_TOLERANCE, name
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ours = descriptor_distance(found[a][0], found[b][0])
            ref = float(np.linalg.norm(found[a][1] - found[b][1]))
            assert abs(ours - ref) <= DISTANCE_TOLERANCE, (a, b, ours, ref)


@pytest.fixture(scope="module")
def samples(dlib_models):
    return _compare(SAMPLE_PHOTOS, dlib_models)


def test_the_sample_faces_match_dlib(samples):
    _assert_same_as_dlib(samples)


def test_a_few_shared_faces_match_dlib(dlib_models):
    photos = shared_faces()
    picked = [photos[i][0] for i in np.linspace(0, len(photos) - 1, 6).astype(int)]
    _assert_same_as_dlib(_compare(picked, dlib_models))


def test_a_wrong_convention_would_fail_the_comparison(samples):
    """Each of these mistakes moves the descriptor more than 100 times the tolerance, so the
    comparisons above would catch it: no mean subtracted (dlib's input layer subtracts the
    file's channel means before scaling by 1/256), BGR instead of RGB, no padding on the
    stride-1 convolutions (dlib pads them by half the filter, the stride-2 ones not at all),
    and padding on the stride-2 ones."""
    net = _face_resnet.network(model_dir() / DESCRIPTOR_MODEL)
    ours, ref, chip = samples["grace_hopper/before.jpg"]
    assert np.abs(net.descriptor(chip) - ref).max() <= ELEMENT_TOLERANCE

    def repad(conv, pad_of_stride):
        return dataclasses.replace(conv, pad=pad_of_stride[conv.stride])

    def blocks(pad_of_stride, first=None):
        return tuple(
            (repad(a, pad_of_stride), repad(b, pad_of_stride))
            if first is None or i < first
            else (a, b)
            for i, (a, b) in enumerate(net.blocks)
        )

    wrong = {
        "no mean": (dataclasses.replace(net, mean=np.zeros(3, np.float32)), chip),
        "BGR": (net, np.ascontiguousarray(chip[..., ::-1])),
        # the first block only: unpadded all through, the maps would shrink to nothing
        "no padding": (dataclasses.replace(net, blocks=blocks({1: 0, 2: 0}, first=1)), chip),
        "stride-2 padded": (dataclasses.replace(net, blocks=blocks({1: 1, 2: 1})), chip),
    }
    for name, (variant, c) in wrong.items():
        moved = float(np.abs(variant.descriptor(c) - ref).max())
        print(f"{name}: largest element difference {moved:.3f}")
        assert moved > 100 * ELEMENT_TOLERANCE, name


def test_the_network_is_read_once_and_runs_on_threads_at_once(samples):
    """Read once per process (the same object for every caller), and two threads running it at
    once get exactly what one thread gets (nothing is shared but the read-only weights)."""
    path = model_dir() / DESCRIPTOR_MODEL
    net = _face_resnet.network(path)
    assert _face_resnet.network(str(path)) is net
    chips = [c for _, _, c in samples.values()]
    alone = [net.descriptor(c) for c in chips]
    results: list[list[bool]] = [[], []]

    def run(k: int) -> None:
        for _ in range(5):
            results[k] += [
                np.array_equal(net.descriptor(c), a) for c, a in zip(chips, alone, strict=True)
            ]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[0]) and all(results[1]) and len(results[0]) == 5 * len(chips)


def test_the_chip_must_be_150_by_150_rgb_uint8(samples):
    net = _face_resnet.network(model_dir() / DESCRIPTOR_MODEL)
    _, _, chip = samples["astronaut/before.jpg"]
    for bad in (chip[:149], chip[..., :1], chip.astype(np.float32)):
        with pytest.raises(ValueError, match="150x150 RGB uint8"):
            net.descriptor(bad)


def test_other_files_are_refused(tmp_path):
    """A truncated file, a stride changed in the file, and another dlib network (the shape
    predictor's file is not a network at all) are refused with FormatError."""
    data = (model_dir() / DESCRIPTOR_MODEL).read_bytes()
    net = _face_resnet.read_network(model_dir() / DESCRIPTOR_MODEL)
    assert len(net.blocks) == len(_face_resnet.BLOCKS) and net.fc.shape == (256, 128)
    np.testing.assert_allclose(net.mean, [122.782, 117.001, 104.298], atol=1e-3)
    (tmp_path / "short.dat").write_bytes(data[: len(data) // 2])
    # the stem's fields after its parameters: 32 filters, 7 x 7, stride 2 x 2; stride_y set to 1
    at = data.index(bytes([1, 32, 1, 7, 1, 7, 1, 2, 1, 2]))
    changed = bytearray(data)
    changed[at + 7] = 1
    (tmp_path / "stride.dat").write_bytes(bytes(changed))
    for name in ("short.dat", "stride.dat"):
        with pytest.raises(_face_resnet.FormatError):
            _face_resnet.read_network(tmp_path / name)
    with pytest.raises(_face_resnet.FormatError):
        _face_resnet.read_network(model_dir() / SHAPE_MODEL)
