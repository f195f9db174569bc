"""A comparison crosses a process boundary: ``pickle`` carries it whole (a worker of a
``ProcessPoolExecutor`` may return it), and the copy is the same comparison."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from conftest import SAMPLES

import mesovision as mv


def _record(r) -> str:
    return json.dumps(r.to_dict(), sort_keys=True, default=str)


@pytest.mark.parametrize(
    ("sample", "after", "kwargs"),
    [
        ("astronaut", "after_treated.jpg", {"treated": ["left_cheek", "chin"]}),
        ("thigh", "after_treated.jpg", {"mode": "body"}),
        ("scalp", "after_denser.jpg", {"mode": "scalp"}),
    ],
)
def test_a_pickled_comparison_is_the_same_comparison(sample, after, kwargs):
    folder = SAMPLES / sample
    r = mv.compare(folder / "before.jpg", folder / after, max_side=512, **kwargs)
    copy = pickle.loads(pickle.dumps(r))
    assert _record(copy) == _record(r)
    assert len(copy.significant()) == len(r.significant()) > 0
    # the lighting correction still applies to after-photo pixels in the copy
    ys, xs = np.array([10, 200]), np.array([20, 300])
    np.testing.assert_array_equal(copy.lighting.after_at(ys, xs), r.lighting.after_at(ys, xs))


@pytest.mark.parametrize(
    ("former", "name"),
    [
        ("mesovision.noise", "Change"),
        ("mesovision.noise", "NoiseTerms"),
        ("mesovision.comparability", "Verdict"),
        ("mesovision.comparability", "Mismatch"),
        ("mesovision.pipeline", "AlignedPair"),
        ("mesovision.compare", "ScoredPhoto"),
    ],
)
def test_a_record_pickled_under_its_former_module_loads(former, name):
    """A record pickled where it was defined before (a worker's result, a saved pickle) loads
    as the same class: the former module still exports it."""
    cls = getattr(mv, name)
    assert cls.__module__ != former
    old = pickle.dumps(cls, protocol=0).replace(cls.__module__.encode(), former.encode())
    assert f"c{former}\n{name}\n".encode() in old
    assert pickle.loads(old) is cls


def test_a_change_pickled_under_the_former_modules_is_the_same_change():
    noise = mv.NoiseTerms(0.1, 12, 0.2, 0.0, 0.0, 0.3, null_scale=1.2, null_df=7.0)
    change = mv.Change(1.0, 2.0, 1.0, 1.0, noise.total(), 2.5, 0.012, 0.03, 0.9, True, "1",
                       "higher_is_worse", "colour", noise, "primary")  # fmt: skip
    verdict = mv.Verdict("colour", "limited", "colour: light differs", 1.25)
    data = pickle.dumps((change, verdict), protocol=0)
    for new, former in (("noise_records", "noise"), ("comparability_records", "comparability")):
        data = data.replace(f"mesovision.{new}\n".encode(), f"mesovision.{former}\n".encode())
    assert b"mesovision.noise\nChange\n" in data and b"_records" not in data
    assert pickle.loads(data) == (change, verdict)
