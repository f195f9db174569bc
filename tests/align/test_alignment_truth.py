"""The reported alignment residual bounds the true error of a known 3-D head turn + move, and a
strong local bruise does not pull the fit (``benchmarks/alignment_truth.py`` over every face).

On a few real faces of ``../shared/faces`` (skipped when absent; a failure under ``CI=true``) and
on the two sample faces. The true error is the benchmark's: over the 468 mesh points, where the
estimated map sends the true after-photo position of each anatomical point, against that point in
the before photo, mean in % of the interocular distance (IOD); the pull of a bruise is the mean
distance over the same points between the maps estimated with and without it.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from conftest import REPO, SAMPLES, require

from mesovision.align import align_faces, check_alignment
from mesovision.io import load_photo
from mesovision.landmarks import detect_landmarks
from mesovision.regions import region_masks
from mesovision.testing.head_turn import turn_head
from mesovision.testing.synthetic import apply_similarity


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


sys.path.insert(0, str(REPO / "benchmarks"))
bench = _load("alignment_truth")
_faces = _load("_faces")

#: Real faces of ../shared/faces (different sources, sizes and sexes) and the sample faces.
SHARED = ("fr_obama.jpg", "of_carell.jpg", "fr_rose_leslie_img1.jpg")
SAMPLE = ("grace_hopper", "astronaut")
#: The known motion: a head turn in depth, then an in-plane similarity.
TURN = {"yaw_deg": 4.0, "pitch_deg": -3.0}
MOVE = {"angle_deg": 5.0, "scale": 1.05, "shift_xy": (12.0, -9.0)}
#: A strong local bruise moves the estimated map by less than this (mean over the mesh points, %
#: of the interocular distance) after an in-plane move (measured on these faces: 0.05-0.8), and
#: by less than MAX_PULL_TURN_IOD after a turn, which no global map follows: there the clean and
#: the bruised pair's maps are two compromises about 2 % from the truth (measured: 0.1-2.1).
MAX_PULL_IOD = 1.0
MAX_PULL_TURN_IOD = 2.5
#: ... nor does it make the alignment worse by more than this (% IOD).
MAX_WORSE_IOD = 0.75
NO_TURN = {"yaw_deg": 0.0, "pitch_deg": 0.0}


def _photos(names, folder):
    return [(n, load_photo(str(folder / n), max_side=2048).rgb) for n in names]


def _case(rgb):
    """Align moved copies of ``rgb``, clean and with a bruise on the right cheek, after a known
    head turn (``turn``, ``turn+bruise``) and without one (``move``, ``move+bruise``). Returns
    ``{kind: (alignment, true mean error in % IOD)}`` and ``{"turn"|"move": pull in % IOD}``."""
    lb = detect_landmarks(rgb)
    iod = lb.interocular_px
    face = region_masks(lb, rgb.shape, rgb=rgb)["face"]
    pts = lb.points[:468]
    out, pull = {}, {}
    for name, turn in (("turn", TURN), ("move", NO_TURN)):
        turned, q = turn_head(rgb, lb, **turn)
        maps = []
        for kind in (name, f"{name}+bruise"):
            src = (
                turned
                if kind == name
                else bench.local_change(turned, q, iod, "+bruise", "right cheek")
            )
            after, S = apply_similarity(src, **MOVE)
            after = bench._jpeg(after)
            al = align_faces(rgb, after, lb, detect_landmarks(after), face_mask=face)
            truth = q[:468] @ S[:2, :2].T + S[:2, 2]
            est = truth @ al.matrix[:2, :2].T + al.matrix[:2, 2]
            out[kind] = (al, 100 * float(np.linalg.norm(est - pts, axis=1).mean()) / iod)
            maps.append(al.matrix)
        d = maps[1] - maps[0]
        pull[name] = (
            100 * float(np.linalg.norm(truth @ d[:2, :2].T + d[:2, 2], axis=1).mean()) / iod
        )
    return out, pull


@pytest.fixture(scope="module")
def shared_cases():
    folder = _faces.faces_dir()
    require(folder is not None, "../shared/faces not found (or set MESOVISION_FACES)")
    return {n: _case(rgb) for n, rgb in _photos(SHARED, folder)}


@pytest.fixture(scope="module")
def sample_cases():
    return {n: _case(load_photo(str(SAMPLES / n / "before.jpg")).rgb) for n in SAMPLE}


def _check_bound(cases):
    for name, (out, _) in cases.items():
        for kind, (al, err) in out.items():
            reported = 100 * al.residual_iod
            # At least the true error (for a turn: the part no similarity follows), and a figure
            # of the same order, not an alarm unrelated to it.
            assert reported >= err, (name, kind, reported, err)
            assert reported <= 3 * err + 2.0, (name, kind, reported, err)
            assert check_alignment(al) == []
            if kind.startswith("move"):  # a similarity follows an in-plane move closely
                assert err < 1.0, (name, kind, err)
            else:  # a 5-deg turn: about 2 % of the IOD that no global map can follow
                assert 0.5 < err < 3.0, (name, kind, err)


def _check_pull(cases):
    for name, (out, pull) in cases.items():
        assert pull["move"] < MAX_PULL_IOD, (name, pull)
        assert pull["turn"] < MAX_PULL_TURN_IOD, (name, pull)
        for kind in ("move", "turn"):
            al, err = out[f"{kind}+bruise"]
            assert err < out[kind][1] + MAX_WORSE_IOD, (name, kind, err, out[kind][1])
            assert al.method.endswith("+ecc"), (name, kind, al.warnings)


def test_residual_bounds_the_true_error_on_real_faces(shared_cases):
    _check_bound(shared_cases)


def test_residual_bounds_the_true_error_on_the_sample_faces(sample_cases):
    _check_bound(sample_cases)


def test_a_strong_bruise_does_not_pull_the_fit_on_real_faces(shared_cases):
    _check_pull(shared_cases)


def test_a_strong_bruise_does_not_pull_the_fit_on_the_sample_faces(sample_cases):
    _check_pull(sample_cases)
