"""What the Python API says: refusals and warnings name the keyword, not the command-line option,
and each warning is logged once per call; the command line keeps its own words
(mesovision/_advice.py)."""

from __future__ import annotations

import logging
import sys
from collections import Counter

import pytest
from conftest import REPO, SAMPLES, require

import mesovision as mv
from mesovision._advice import api_call, python_error
from mesovision.errors import FORCE_HINT, AlignmentError, IdentityMismatch, LightingError


def _face(name: str):
    sys.path.insert(0, str(REPO / "benchmarks"))
    from _faces import faces_dir

    folder = faces_dir()
    require(folder is not None, "../shared/faces not found (or set MESOVISION_FACES)")
    return folder / name


def _messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("mesovision")]


def test_a_threshold_refusal_names_force_true():
    before, turned = _face("fr_obama.jpg"), _face("fr_obama2.jpg")
    with pytest.raises(AlignmentError) as info:
        mv.compare(before, turned)
    e = info.value
    assert str(e).endswith("limit 15 (pass force=True to proceed)") and "--force" not in str(e)
    assert (e.check, e.limit, e.path, e.hint) == (
        "yaw",
        15.0,
        str(turned),
        "pass force=True to proceed",
    )
    assert -20 < e.value < -15 and e.exit_code == 7


def test_another_person_names_force_true():
    with pytest.raises(IdentityMismatch, match=r"limit 0.585 \(pass force=True to proceed\)$"):
        mv.align(_face("fr_obama.jpg"), _face("fr_biden.jpg"))


def test_forced_warnings_name_force_true_once_each(caplog):
    caplog.set_level(logging.WARNING)
    r = mv.compare(_face("fr_obama.jpg"), _face("fr_obama2.jpg"), force=True, max_side=512)
    messages = _messages(caplog)
    forced = [m for m in messages if m.endswith("; proceeding (force=True)")]
    assert len(forced) == len(r.pair.forced) >= 1
    assert not [m for m in messages if "--force" in m]
    assert max(Counter(messages).values()) == 1


def test_the_colour_card_refusal_names_the_keyword():
    before = SAMPLES / "astronaut" / "before.jpg"
    with pytest.raises(LightingError, match=r'use the reference method \(lighting="reference"\)$'):
        mv.compare(before, before, lighting="card", max_side=512)


def test_a_body_comparison_logs_the_scale_warning_once_naming_px_per_mm(caplog):
    caplog.set_level(logging.WARNING)
    mv.compare(*mv.sample_pair("thigh"), mode="body", max_side=512)
    scale = [m for m in _messages(caplog) if m.startswith("body metrics without a scale")]
    assert scale == [
        "body metrics without a scale: filters at an assumed 4.0 px per mm "
        "(pass px_per_mm= for measurements in mm)"
    ]
    assert max(Counter(_messages(caplog)).values()) == 1


def test_outside_an_api_call_the_words_are_the_command_lines(caplog):
    caplog.set_level(logging.WARNING)
    log = logging.getLogger("mesovision.align.face")
    with api_call():
        log.warning("x: limit; proceeding (--force)")
        log.warning("x: limit; proceeding (--force)")
    log.warning("x: limit; proceeding (--force)")
    assert _messages(caplog) == [
        "x: limit; proceeding (force=True)",
        "x: limit; proceeding (--force)",
    ]


def test_python_error_keeps_the_class_and_the_measures():
    e = AlignmentError(
        "head turned", path="a.jpg", hint=FORCE_HINT, check="yaw", value=-18.0, limit=15.0
    )
    new = python_error(e)
    assert (
        type(new) is AlignmentError
        and str(new) == "a.jpg: head turned (pass force=True to proceed)"
    )
    assert (new.path, new.check, new.value, new.limit) == ("a.jpg", "yaw", -18.0, 15)
    assert str(e) == "a.jpg: head turned (use --force to proceed)"  # the original is unchanged
    assert python_error(AlignmentError("too few features", path="a.jpg")) is None
