"""``benchmarks/_faces.split_people``: a person's half does not depend on who else is split."""

from __future__ import annotations

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from _faces import HELD_OUT_PEOPLE, split_people  # noqa: E402


def test_a_persons_half_does_not_depend_on_the_others():
    labelled = {"barack_obama", "eric_clapton", "john_salley", "amy_adams", "john_savage"}
    alone_dev, alone_held = split_people(labelled)
    with_samples_dev, with_samples_held = split_people(labelled | {"astronaut", "grace_hopper"})
    assert alone_held == with_samples_held == {"john_salley", "amy_adams"}
    assert alone_dev == {"barack_obama", "eric_clapton", "john_savage"}
    assert with_samples_dev == alone_dev | {"astronaut", "grace_hopper"}
    # The samples and any name outside the list are development people; nine are held out.
    assert split_people(["sample_astronaut", "unknown_99"]) == (
        {"sample_astronaut", "unknown_99"},
        set(),
    )
    assert len(HELD_OUT_PEOPLE) == 9
