"""A fixed sample of mutants that the fast tests must kill, run in CI.

The full mutation run (mutmut, ``docs/testing.md``) is too slow for every commit; these few
source mutants are wrong numbers of the kinds a suite easily misses: each is
applied to a copy of the package, the named fast tests run against the copy in a subprocess,
and they must fail. A mutant whose target text is not found fails too (the sample must follow
the code, not silently stop testing it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

#: name -> (file, text, replacement, tests that must fail).
MUTANTS = {
    "noise floor without the capture term": (
        "mesovision/noise_records.py",
        "        + np.square(sd_capture)\n",
        "",
        ["tests/compare/test_mutants.py::test_standard_error_adds_every_term_in_quadrature"],
    ),
    "noise floor doubled": (
        "mesovision/noise_records.py",
        "    return np.sqrt(\n        np.square(se_paired)",
        "    return 2 * np.sqrt(\n        np.square(se_paired)",
        ["tests/compare/test_mutants.py::test_standard_error_adds_every_term_in_quadrature"],
    ),
    "false discovery rate not controlled": (
        "mesovision/noise.py",
        "            c.q = float(qi)\n",
        "            c.q = float(c.p)\n",
        [
            "tests/compare/test_mutants.py::"
            "test_control_fdr_without_primary_endpoints_and_at_the_boundary"
        ],
    ),
    "CIEDE2000 without its rotation term": (
        "mesovision/color.py",
        " + Rt * (dCp / Sc) * (dHp / Sh)",
        "",
        ["tests/lighting/test_color.py::test_ciede2000_matches_sharma_test_data"],
    ),
    "erythema index in natural log": (
        "mesovision/metrics/redness.py",
        'ctx.maps["ei"] = (od[..., 1] - od[..., 0]) * np.float32(100.0)',
        'ctx.maps["ei"] = (od[..., 1] - od[..., 0]) * np.float32(230.26)',
        [
            "tests/metrics/test_metric_reference.py::"
            "test_erythema_and_melanin_index_from_known_reflectances"
        ],
    ),
    "noise floor without the metric family's own capture term": (
        "mesovision/noise_capture.py",
        "c = 0.0 if family is None else family.capture_sd.get(metric, 0.0)",
        "c = 0.0",
        ["tests/compare/test_mutants.py::test_capture_sd_falls_back_to_the_family_table"],
    ),
    "spot extent set by the darkest pixel": (
        "mesovision/metrics/pigmentation.py",
        "SPOT_PEAK_QUANTILE = 0.9\n",
        "SPOT_PEAK_QUANTILE = 1.0\n",
        [
            "tests/metrics/test_pigmentation_spots.py::"
            "test_one_extreme_pixel_does_not_set_the_spot_extent"
        ],
    ),
    "bruise stage read against the baseline, not the surrounding skin": (
        "mesovision/metrics/bruise.py",
        "stage=bruise_stage(mean_lab[1] - ref[1], mean_lab[2] - ref[2]),",
        "stage=bruise_stage(mean_lab[1] - med[1], mean_lab[2] - med[2]),",
        [
            "tests/metrics/test_bruise_synthetic.py::"
            "test_stage_reference_is_the_ring_of_skin_around_the_bruise"
        ],
    ),
    "alignment residual reported ten times too small": (
        "mesovision/align/face.py",
        "        residual_px=resid,\n        residual_iod=resid / iod if iod > 0 else None,",
        "        residual_px=0.1 * resid,\n"
        "        residual_iod=0.1 * resid / iod if iod > 0 else None,",
        [
            "tests/align/test_alignment_truth.py::"
            "test_residual_bounds_the_true_error_on_the_sample_faces"
        ],
    ),
    "ECC refinement kept however far it moves the landmarks": (
        "mesovision/align/face.py",
        "    plausible = shift <= ECC_MAX_SHIFT_IOD * iod\n",
        "    plausible = True\n",
        [
            "tests/align/test_align_ecc.py::"
            "test_a_refinement_that_moves_the_landmarks_too_far_is_rejected"
        ],
    ),
    "ECC pulled by a local change of the skin (changes not left out)": (
        "mesovision/align/face.py",
        "motion=cv2.MOTION_AFFINE, exclude_changes=True",
        "motion=cv2.MOTION_AFFINE, exclude_changes=False",
        ["tests/align/test_align_ecc.py::test_a_local_change_does_not_pull_the_refinement"],
    ),
    "card method's shading field not scaled to keep the card's exposure": (
        "mesovision/lighting/method_card.py",
        "field = eval_surface(coef, degree, b_corr.shape) / np.float32(gm)",
        "field = eval_surface(coef, degree, b_corr.shape)",
        [
            "tests/lighting/test_lighting_card.py::"
            "test_relative_shading_is_removed_and_the_card_keeps_the_exposure"
        ],
    ),
    "integer images accepted by the metrics": (
        "mesovision/metrics/inputs.py",
        "    if not np.issubdtype(rgb.dtype, np.floating):\n",
        "    if False:\n",
        ["tests/metrics/test_inputs.py::test_check_rgb_refuses_integer_images"],
    ),
}


def _mutated_copy(tmp_path, file: str, text: str, replacement: str):
    """A copy of the package with ``text`` replaced once in ``file``; its parent folder."""
    root = tmp_path / "pkg"
    shutil.copytree(
        REPO / "mesovision", root / "mesovision", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = root / file
    source = target.read_text(encoding="utf-8")
    assert source.count(text) == 1, f"{file}: the mutant's text is not found exactly once"
    target.write_text(source.replace(text, replacement), encoding="utf-8")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_fast_tests_kill_the_mutant(name, tmp_path):
    file, text, replacement, tests = MUTANTS[name]
    root = _mutated_copy(tmp_path, file, text, replacement)
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-n", "0", "-p", "no:cacheprovider"]
    cmd += [str(REPO / t) for t in tests]
    # Run from the copy's folder: the first entry of sys.path, ahead of the installed package.
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    # The copy was the one imported, and the tests failed on an assertion (not an error).
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert " failed" in proc.stdout.splitlines()[-1], proc.stdout[-2000:]


def test_the_unmutated_copy_passes(tmp_path):
    """Without a mutation the same machinery passes (so a kill above means the mutant)."""
    file, text, _, tests = MUTANTS["noise floor without the capture term"]
    root = _mutated_copy(tmp_path, file, text, text)
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    probe = "import mesovision, sys; sys.stdout.write(mesovision.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True
    )
    assert out.stdout.startswith(str(root)), out.stdout + out.stderr
    cmd = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider"]
    cmd += [str(REPO / t) for t in tests]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:]
