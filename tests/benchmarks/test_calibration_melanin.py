"""``calibration.py run --melanin``: the null pairs of darker skin of the same face."""

from __future__ import annotations

import csv
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from calibration import main  # noqa: E402


def _rows(path) -> dict[tuple[str, str], dict[str, str]]:
    with open(path, newline="") as fh:
        return {(r["region"], r["metric"]): r for r in csv.DictReader(fh)}


def test_a_run_on_darker_skin_reads_the_darker_photo_under_its_own_name(tmp_path):
    # The first photo (the astronaut sample) with one recapture, as it is and with melanin of
    # optical density 0.6 in her skin: the rows name the photo as it is named, and its skin
    # reads darker (lower ITA, higher melanin index) in both photos of the null pair.
    as_is, dark = tmp_path / "as_is.csv", tmp_path / "dark.csv"
    args = ["run", "--photos", "1", "--recaptures", "1", "--metrics", "pigmentation.ita_deg"]
    assert main([*args, "--out", str(as_is)]) == 0
    assert main([*args, "--out", str(dark), "--melanin", "0.6"]) == 0
    a, d = _rows(as_is), _rows(dark)
    assert a.keys() == d.keys() and ("left_cheek", "pigmentation.ita_deg") in a
    assert {r["photo"] for r in d.values()} == {"astronaut/before.jpg"}
    for key in a:
        for side in ("before", "after"):
            # ITA falls by about 50 degrees (40-67 to -15-10) with 20 L* less and a yellower skin.
            assert float(d[key][side]) < float(a[key][side]) - 30.0, (key, side)
