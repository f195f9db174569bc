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
