"""``benchmarks/calibration.py`` counts, fits and reports only the changes ``compare`` tests: a
row of a family the pair's verdicts leave untested (texture on a face of fewer than 75 px between
the eyes) is not a tested change (``load``'s ``tested`` column)."""

from __future__ import annotations

import csv
import sys

import pytest
from conftest import REPO

from mesovision.comparability import LIMITS

sys.path.insert(0, str(REPO / "benchmarks"))

from calibration import FIELDS, load  # noqa: E402

#: The texture family's resolution limit (``bad``: below it texture is not tested).
TEXTURE_BAD_IOD = next(lim.bad for lim in LIMITS["texture"] if lim.measure == "scoring_iod_px")


def _write(path, iod_by_photo: dict[str, object], fields=FIELDS) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fields, extrasaction="ignore")
        w.writeheader()
        for photo, iod in iod_by_photo.items():
            for metric in ("texture.roughness_ra", "redness.mean_a"):
                w.writerow(
                    {
                        "photo": photo,
                        "person": photo.split("/")[0],
                        "recapture": 0,
                        "region": "left_cheek",
                        "metric": metric,
                        "before": 1.0,
                        "after": 1.1,
                        "delta": 0.1,
                        "kind": "none",
                        "delta_e00": 0.5,
                        "detail_ratio": 1.0,
                        "noise_ratio": 1.0,
                        "jpeg_quality": 92,
                        "pose_deg": 0.3,
                        "expression": 0,
                        "treated": 0,
                        "scoring_iod_px": iod,
                    }
                )


def _tested(t) -> dict[tuple[str, str], bool]:
    return {
        (str(p), str(m)): bool(v)
        for p, m, v in zip(t["photo"], t["metric"], t["tested"], strict=True)
    }


def test_texture_on_a_small_face_is_not_a_tested_change(tmp_path):
    assert TEXTURE_BAD_IOD == pytest.approx(75.0)
    path = tmp_path / "run.csv"
    _write(path, {"small/a.jpg": TEXTURE_BAD_IOD - 20, "large/b.jpg": TEXTURE_BAD_IOD + 40})
    tested = _tested(load(str(path)))
    assert tested == {
        ("small/a.jpg", "texture.roughness_ra"): False,
        ("small/a.jpg", "redness.mean_a"): True,
        ("large/b.jpg", "texture.roughness_ra"): True,
        ("large/b.jpg", "redness.mean_a"): True,
    }


def test_a_run_without_the_face_size_keeps_every_change(tmp_path):
    path = tmp_path / "old.csv"
    _write(path, {"small/a.jpg": 50.0}, fields=[f for f in FIELDS if f != "scoring_iod_px"])
    assert all(_tested(load(str(path))).values())


def test_the_held_out_share_by_metric_carries_its_interval_over_the_people(capsys):
    # Two held-out people: one with both null changes at p < 0.05, one with none. The share is
    # 50 %; resampling the two people gives 0, 50 or 100 %: the interval spans 0-100. The
    # development person's rows carry no interval.
    import numpy as np
    from _faces import HELD_OUT_PEOPLE
    from calibration import _by_metric

    a, b = sorted(HELD_OUT_PEOPLE)[:2]
    people = np.array([a, a, b, b, "dev_person"])
    t = {"metric": np.array(["redness.mean_a"] * 5), "person": people, "treated": np.zeros(5)}
    p = np.array([0.01, 0.02, 0.5, 0.7, 0.01])
    _by_metric(t, p, np.ones(5, bool), {"dev_person"}, {a, b})
    row = next(ln for ln in capsys.readouterr().out.splitlines() if "redness.mean_a" in ln)
    assert row.endswith("| 100.0 % (1) | 50.0 % (0.0-100.0) (4) |"), row


def test_the_shares_by_face_size_split_at_the_face_size_limit(capsys):
    # A development face exactly at the limit counts at or above it; the held-out cells carry
    # their interval over the people, the development ones none.
    import numpy as np
    from _faces import HELD_OUT_PEOPLE
    from calibration import _by_face_size

    from mesovision.comparability import BRUISE_MIN_SCORING_IOD_PX as SIZE

    held = sorted(HELD_OUT_PEOPLE)[0]
    people = np.array(["d", "d", "d", held, held])
    iod = np.array([SIZE - 1, SIZE, SIZE + 30, SIZE - 10, SIZE - 10])
    t = {"person": people, "scoring_iod_px": iod}
    p = np.array([0.01, 0.01, 0.5, 0.01, 0.5])
    fam = np.array(["redness"] * 5)
    _by_face_size(t, p, np.ones(5, bool), fam, {"d"}, {held})
    row = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| redness"))
    assert row == "| redness | 100.0 % (1) | 50.0 % (2) | 50.0 % (50.0-50.0) (2) | - |", row
