"""The frontal hairline (mesovision.hairline, mesovision.frontal_hairline).

Real faces of ``../shared/faces`` (held-out people of ``benchmarks/hairline.py``: the settings
were chosen on the others) with the hairline moved by a known amount
(:mod:`mesovision.testing.hairline`): the change measured with the right sign and size, none on
a recapture of the unchanged photo; the change's arithmetic on known values; a photo without a
face gives NaN with a note; ``mesovision compare --mode scalp`` records it all in
``result.json``.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from conftest import REPO, require
from PIL import Image

from mesovision.eye_frame import (
    EYES,
    FRAME_COPIES,
    FRAME_OUTLIER_IOD_PCT,
    FRAME_SE_SHARE,
    agreeing_meshes,
    face_frame,
    frame_se,
    landmarks_found_again,
)
from mesovision.hairline import (
    CAPTURE_SD_IOD_PCT,
    SITES,
    Hairline,
    hairline_changes,
    measure_hairline,
)

#: A held-out photo whose five sites are all measured (benchmarks/hairline.py).
PHOTO = "of_carell.jpg"


def _faces():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from _faces import faces_dir

    folder = faces_dir()
    require(folder is not None, "../shared/faces not found (or set MESOVISION_FACES)")
    return folder


@pytest.fixture(scope="module")
def face():
    from mesovision.io import load_photo
    from mesovision.landmarks import detect_landmarks

    rgb = load_photo(_faces() / PHOTO, max_side=1024).rgb
    return rgb, detect_landmarks(rgb)


def _valid(h0, delta):
    from mesovision.testing.hairline import valid_site

    return [s for s, v in h0.sites.items() if valid_site(v, h0.brow_iod, delta)]


@pytest.mark.parametrize("delta", [8.0, -6.0])
def test_a_moved_hairline_is_measured_with_its_sign_and_size(face, delta):
    from mesovision.landmarks import detect_landmarks
    from mesovision.testing.hairline import move_hairline, recapture

    rgb, lm = face
    h0 = measure_hairline(rgb, lm)
    moved = recapture(move_hairline(rgb, lm, delta), seed=11)
    h1 = measure_hairline(moved, detect_landmarks(moved))
    sites = _valid(h0, delta)
    assert len(sites) >= 4
    got = np.array([h1.sites[s] - h0.sites[s] for s in sites])
    print(delta, dict(zip(sites, got.round(2), strict=True)))
    # most sites within 3 % IOD of the move (the held-out median error is about 1 % IOD)
    assert np.median(np.abs(got - delta)) < 3.0
    assert np.sum(np.sign(got) == np.sign(delta)) >= len(sites) - 1
    ch = hairline_changes(h0, h1)
    assert sum(ch[s]["hair.hairline_iod_pct"]["significant"] for s in sites) >= 2


def test_a_recapture_of_the_same_photo_is_no_change(face):
    from mesovision.landmarks import detect_landmarks
    from mesovision.testing.hairline import recapture

    rgb, lm = face
    h0 = measure_hairline(rgb, lm)
    again = recapture(rgb, seed=12)
    h1 = measure_hairline(again, detect_landmarks(again))
    d = np.array([h1.sites[s] - h0.sites[s] for s in SITES if np.isfinite(h0.sites[s])])
    # the eyes found again move the whole line a little: under 2 % IOD (the 90th percentile of
    # the development people's unchanged sites is 1.8 % IOD)
    assert np.median(np.abs(d)) < 2.0
    ch = hairline_changes(h0, h1)
    assert sum(ch[s]["hair.hairline_iod_pct"]["significant"] for s in SITES) <= 1


def test_the_change_adds_its_terms_and_converts_to_mm():
    nan = math.nan
    b = Hairline(dict.fromkeys(SITES, 100.0), dict.fromkeys(SITES, 0.6), 80.0, 0.3)
    sites_a = {**dict.fromkeys(SITES, 100.5), "hairline_mid": 110.0, "temple_left": nan}
    a = Hairline(sites_a, {**dict.fromkeys(SITES, 0.8), "temple_left": nan}, 90.0, 0.3)
    ch = hairline_changes(b, a, mm_per_iod_pct=(0.63, 0.63))
    mid = ch["hairline_mid"]["hair.hairline_iod_pct"]
    se = math.sqrt(0.6**2 + 0.8**2 + CAPTURE_SD_IOD_PCT**2)
    assert mid["delta"] == pytest.approx(10.0) and mid["se"] == pytest.approx(se)
    assert mid["z"] == pytest.approx(10.0 / se) and mid["significant"]  # receded
    assert mid["direction"] == "higher_is_worse" and mid["unit"] == "% IOD"
    mm = ch["hairline_mid"]["hair.hairline_mm"]
    assert mm["delta"] == pytest.approx(6.3) and mm["significant"] and mm["unit"] == "mm"
    assert not ch["hairline_left"]["hair.hairline_iod_pct"]["significant"]  # 0.5 % IOD
    t = ch["temple_left"]["hair.hairline_iod_pct"]
    assert math.isnan(t["delta"]) and t["z"] is None and not t["significant"]
    assert math.isnan(hairline_changes(b, a)["hairline_mid"]["hair.hairline_mm"]["delta"])
    # Two photos' scales that differ (a scale's own error): both heights at their mean, so the
    # mm change is the % IOD test in mm (the same z, p, q), not the scales' difference; one
    # photo's scale serves both.
    for scales, k in (((0.60, 0.66), 0.63), ((None, 0.66), 0.66)):
        ch = hairline_changes(b, a, mm_per_iod_pct=scales)
        for site in ("hairline_mid", "hairline_left"):
            iod, mm = ch[site]["hair.hairline_iod_pct"], ch[site]["hair.hairline_mm"]
            assert (mm["before"], mm["after"]) == pytest.approx((100.0 * k, iod["after"] * k))
            assert mm["delta"] == pytest.approx(iod["delta"] * k)
            assert mm["se"] == pytest.approx(iod["se"] * k)
            assert (mm["z"], mm["p"]) == pytest.approx((iod["z"], iod["p"]))
            assert (mm["q"], mm["significant"]) == (iod["q"], iod["significant"])


def test_without_a_face_every_site_is_nan_with_a_note():
    h = measure_hairline(np.full((64, 64, 3), 0.5, np.float32), None)
    assert all(math.isnan(v) for v in h.sites.values())
    assert h.note == "no face found in the photo"


def _save(path, rgb):
    Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return str(path)


@pytest.mark.slow
def test_compare_in_the_scalp_mode_records_the_hairline(face, tmp_path):
    """``mesovision compare --mode scalp --ipd-mm 63``: ``result.json`` ``hairline`` holds both
    photos' sites and the changes in % IOD and mm, a receded hairline up; a crown view (no
    face) gives NaN sites and the note. With the area treated, the crown's scalp share is the
    primary endpoint, and the portrait has none among its changes."""
    from mesovision.testing.hair import crown_field, render
    from mesovision.testing.hairline import move_hairline, recapture

    rgb, lm = face
    b = _save(tmp_path / "b.png", rgb)
    a = _save(tmp_path / "a.png", recapture(move_hairline(rgb, lm, 8.0), seed=13))
    cmd = [sys.executable, "-m", "mesovision", "compare", b, a, "-o", str(tmp_path / "o"),
           "--mode", "scalp", "--ipd-mm", "63", "--treated", "area", "--json"]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    h = rec["hairline"]
    assert h["note"] is None and h["mm_source"] == "ipd"
    # the sites' significant changes are in the record's significant list too
    moved = [(site, m) for site, per in h["changes"].items() for m, c in per.items()
             if c["significant"]]  # fmt: skip
    assert ("hairline_mid", "hair.hairline_iod_pct") in moved
    assert [(s["region"], s["metric"]) for s in rec["significant"] if s["region"] in SITES] == moved
    assert set(h["changes"]) == set(SITES)
    # a frontal view: the hairline is tested apart, the whole portrait's scalp share is no endpoint
    assert {c["endpoint"] for c in rec["changes"]["area"].values()} == {"secondary"}
    mid = h["changes"]["hairline_mid"]
    assert mid["hair.hairline_iod_pct"]["delta"] == pytest.approx(8.0, abs=3.0)
    assert mid["hair.hairline_mm"]["delta"] == pytest.approx(
        mid["hair.hairline_iod_pct"]["delta"] * 0.63
    )
    crown = render(crown_field(5201), px_per_mm=8.0, seed=1, blur_px=0.5, noise_sd=0.005)
    c = _save(tmp_path / "c.png", crown.rgb)
    cmd = [sys.executable, "-m", "mesovision", "compare", c, c, "-o", str(tmp_path / "oc"),
           "--mode", "scalp", "--treated", "area", "--json"]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rc = json.loads(p.stdout)
    primary = [m for m, c in rc["changes"]["area"].items() if c["endpoint"] == "primary"]
    assert primary == ["hair.scalp_share_pct"]  # a crown's headline measure
    hc = rc["hairline"]
    assert "no face found" in hc["note"]
    assert all(v is None for v in hc["before"]["sites_iod_pct"].values())


def _synthetic_face(
    hair_px: int, shadow_px: int | None = None, *, seed: int = 3, slope: float = 0.0
):
    """A frontal 'photo' in CIELAB turned to sRGB, and landmarks for it: the eyes 100 px apart
    on row 600 (iris centres, and corners 15 px to each side), the brows 30 px above them;
    forehead skin (L* 65) up to ``hair_px`` above the eyes and dark hair (L* 20) beyond, with
    an optional shadow band (L* 44, CIEDE76 21 from the skin: just over the threshold of 20)
    from ``shadow_px`` up to the hair. ``slope``: the hair's edge rises by ``slope`` px per px
    towards the subject's left (``hair_px`` at the eyes' midpoint, column 450)."""
    import cv2

    from mesovision.regions import EXCLUDED_POLYGONS
    from mesovision.types import Landmarks

    lab = np.zeros((800, 900, 3), np.float32)
    lab[:] = (65.0, 15.0, 18.0)
    if shadow_px is not None:
        lab[: 600 - shadow_px, :, 0] = 44.0
    rows, cols = np.mgrid[0:800, 0:900]
    lab[rows < 600 - hair_px - slope * (cols - 450.0)] = (20.0, 5.0, 8.0)
    lab += np.random.default_rng(seed).normal(0.0, 0.4, lab.shape).astype(np.float32)
    rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0)
    pts = np.zeros((478, 2))
    for (iris, corners), x in zip(EYES, (400.0, 500.0), strict=True):
        pts[iris] = (x, 600.0)
        pts[list(corners)] = ((x - 15.0, 600.0), (x + 15.0, 600.0))
    brows = list(EXCLUDED_POLYGONS["right_brow"]) + list(EXCLUDED_POLYGONS["left_brow"])
    pts[brows] = (450.0, 570.0)
    return rgb, Landmarks(pts, np.zeros(478), (900, 800), 1, None)


def test_a_site_with_a_competing_shadow_edge_is_wide_and_a_clean_move_is_found():
    """Hair 130 px (130 % IOD) above the eyes with a shadow from 100 px that departs from the
    skin by just over the threshold: a threshold 10 % higher skips the shadow and the height
    jumps by about 30 % IOD, over AMBIGUOUS_IOD: every site says so and carries the whole jump
    in its standard error, so the hair moved by 10 % IOD (the shadow gone) is not called a
    change there. Without the shadow the same move is measured at every site as +10 % IOD and
    called significant, and another copy of the unchanged photo is no change."""
    from mesovision import hairline as H

    h = measure_hairline(*_synthetic_face(130, shadow_px=100))
    assert h.iod_px == pytest.approx(100.0) and h.brow_iod == pytest.approx(0.3)
    for s in SITES:  # the shadow's edge at about 101 px, the hair's at 131 px
        assert h.sites[s] == pytest.approx(101.0, abs=1.5)
        jump = re.match(r"ambiguous boundary: the height moves by (\d+) % IOD", h.notes[s])
        assert jump and 27 <= int(jump[1]) <= 31
        assert h.se[s] == pytest.approx(float(jump[1]), abs=1.0)  # the whole jump
    clean0 = measure_hairline(*_synthetic_face(130))
    clean1 = measure_hairline(*_synthetic_face(140, seed=4))
    for s in SITES:
        assert clean0.sites[s] == pytest.approx(131.0, abs=1.5) and s not in clean0.notes
        assert clean0.se[s] < 0.5  # one strong edge: no jump term
    ch = hairline_changes(clean0, clean1)
    amb = hairline_changes(h, clean1)
    for s in SITES:
        c = ch[s]["hair.hairline_iod_pct"]
        assert c["delta"] == pytest.approx(10.0, abs=1.0) and c["significant"]
        a = amb[s]["hair.hairline_iod_pct"]  # 40 % IOD from the shadow's edge, se about 30
        assert a["delta"] == pytest.approx(40.0, abs=2.0) and not a["significant"]
    same = hairline_changes(clean0, measure_hairline(*_synthetic_face(130, seed=5)))
    assert not any(same[s]["hair.hairline_iod_pct"]["significant"] for s in SITES)
    assert H.JUMP_MIN_IOD < H.AMBIGUOUS_IOD < 0.3


def test_a_boundary_near_its_threshold_carries_a_smaller_jump_to_the_next_edge():
    """The shadow from 122 px, 8 px below the hair (a jump of about 6-7 % IOD: over
    JUMP_MIN_IOD, under AMBIGUOUS_IOD): the height is the shadow's edge and JUMP_SHARE of the
    jump to the hair's edge (131 px, the clean face's) enters its standard error."""
    from mesovision import hairline as H

    h = measure_hairline(*_synthetic_face(130, shadow_px=122))
    hair = measure_hairline(*_synthetic_face(130))
    for s in SITES:
        assert h.sites[s] == pytest.approx(123.5, abs=1.5) and s not in h.notes
        jump = hair.sites[s] - h.sites[s]
        assert h.se[s] == pytest.approx(H.JUMP_SHARE * jump, abs=0.3)
    assert H.JUMP_MIN_IOD < 0.06 < H.AMBIGUOUS_IOD


def test_a_sloping_hairline_carries_its_slide_not_its_slope():
    """A hairline whose edge rises by 0.5 px per px across the face: each site's height is that
    of its strip's centre, and its standard error is the slide term alone. The sharp edge does
    not move under the threshold's tries; the strip moved SHIFT_IOD (2 px) sideways meets the
    edge 1 px higher or lower (under JUMP_MIN_IOD), so the root mean square of the four moves
    is 1 / sqrt(2) px and the term SLIDE_SHARE x 0.71 % IOD, the same at every site: the slope
    across the strip (5 px between its quarters) is the hairline's shape, the same on every
    capture. A move of 3 % IOD is then called at every site, another noise draw at none."""
    from mesovision import hairline as H

    slope = 0.5
    h = measure_hairline(*_synthetic_face(130, slope=slope))
    want = H.SLIDE_SHARE * 100.0 * slope * H.SHIFT_IOD / math.sqrt(2.0)
    for s, offset in SITES.items():
        assert h.sites[s] == pytest.approx(131.0 + 100.0 * slope * offset, abs=1.5)
        assert h.se[s] == pytest.approx(want, abs=0.05) and s not in h.notes
    moved = hairline_changes(h, measure_hairline(*_synthetic_face(133, slope=slope, seed=4)))
    same = hairline_changes(h, measure_hairline(*_synthetic_face(130, slope=slope, seed=5)))
    for s in SITES:
        assert moved[s]["hair.hairline_iod_pct"]["delta"] == pytest.approx(3.0, abs=0.5)
        assert moved[s]["hair.hairline_iod_pct"]["significant"]
        assert not same[s]["hair.hairline_iod_pct"]["significant"]


def test_hair_barely_over_the_threshold_is_not_measured():
    """'Hair' that departs from the skin by just over the threshold (the shadow band with no
    darker hair above it): a threshold 10 % higher finds none, so the site is not measured, and
    its change is not tested."""
    h = measure_hairline(*_synthetic_face(590, shadow_px=110))  # hair beyond the strip
    for s in SITES:
        assert math.isnan(h.sites[s]) and "finds no hair (not measured)" in h.notes[s]
    ch = hairline_changes(h, measure_hairline(*_synthetic_face(130)))
    for s in SITES:
        c = ch[s]["hair.hairline_iod_pct"]
        assert math.isnan(c["delta"]) and c["z"] is None and not c["significant"]


def _turned(points: np.ndarray, origin: np.ndarray, angle_deg: float, scale: float = 1.0):
    """``points`` turned by ``angle_deg`` and scaled by ``scale`` about ``origin``."""
    a = math.radians(angle_deg)
    rot = scale * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (points - origin) @ rot.T + origin


def test_a_frame_turned_between_copies_widens_the_temples_not_the_midline():
    """Copies whose eyes' line is turned by +/-1 degree about the eyes' midpoint: a site at
    ``offset`` IOD from the midline moves by ``100 x offset x sin(1 deg)`` % IOD in their frames,
    so the frame term is FRAME_SE_SHARE x 65 x sin(1 deg) = 0.57 % IOD at the temples, 0.35 /
    0.65 of that beside the midline, and nothing on it; the heights are those of the unturned
    frame (the mean frame is the photo's own). Copies that agree with the landmarks leave the
    hairline exactly as without copies."""
    rgb, lm = _synthetic_face(130)
    origin = face_frame(lm)[0]
    alone = measure_hairline(rgb, lm, refound=[])
    agree = measure_hairline(rgb, lm, refound=[lm.points, lm.points.copy()])
    assert agree.sites == alone.sites and agree.se == alone.se
    turned = [_turned(lm.points, origin, a) for a in (1.0, -1.0)]
    h = measure_hairline(rgb, lm, refound=turned)
    for s, offset in SITES.items():
        want = FRAME_SE_SHARE * 100.0 * abs(offset) * math.sin(math.radians(1.0))
        assert h.sites[s] == pytest.approx(alone.sites[s], abs=0.05)
        assert math.sqrt(h.se[s] ** 2 - alone.se[s] ** 2) == pytest.approx(want, abs=0.03)
    assert h.se["temple_left"] > h.se["hairline_left"] + 0.2 > h.se["hairline_mid"] + 0.45


def test_the_frame_term_of_another_iod_grows_with_the_height():
    """A copy whose IOD is 2 % longer reads a height ``h`` as ``h / 1.02``, one 2 % shorter as
    ``h / 0.98``: the frame term is FRAME_SE_SHARE x the root mean square of the two moves at
    every site alike, twice as large at twice the height; a copy moved along the eyes' line
    changes nothing."""
    _, lm = _synthetic_face(130)
    frame = face_frame(lm)
    copies = [face_frame(replace(lm, points=_turned(lm.points, frame[0], 0.0, k)))[:4]
              for k in (1.02, 0.98)]  # fmt: skip
    for h in (100.0, 200.0):
        want = FRAME_SE_SHARE * math.sqrt(((h / 1.02 - h) ** 2 + (h / 0.98 - h) ** 2) / 2.0)
        for offset in SITES.values():
            assert frame_se(frame, copies, offset, h) == pytest.approx(want, rel=1e-9)
    assert frame_se(frame, copies, 0.0, 200.0) == pytest.approx(
        2.0 * frame_se(frame, copies, 0.0, 100.0), rel=0.02
    )
    along = face_frame(replace(lm, points=lm.points + 7.0 * frame[1]))[:4]
    assert frame_se(frame, [along], 0.65, 150.0) == pytest.approx(0.0, abs=1e-9)
    assert frame_se(frame, [], 0.65, 150.0) == 0.0


def _agreeing_copies(lm, origin):
    """Seven copies of ``lm``'s mesh turned by up to 0.5 degree and scaled by 0.99-1.01 about
    ``origin``: an eye centre 50 px away moves by at most 0.5 px (0.5 % IOD), well within
    :data:`FRAME_OUTLIER_IOD_PCT`."""
    turns = ((0.5, 1.0), (-0.5, 1.0), (0.0, 1.01), (0.0, 0.99), (0.3, 1.005), (-0.3, 0.995),
             (0.2, 1.0))  # fmt: skip
    return [_turned(lm.points, origin, a, k) for a, k in turns]


def test_a_mesh_far_off_moves_neither_the_frame_nor_its_term(monkeypatch):
    """Eight meshes that agree (the photo's and seven copies) and one copy 40 % IOD higher: the
    far one is left out, so the sites and their standard errors are exactly those of the eight.
    Kept, it would move the mean frame up by a ninth of 40 % IOD: the copies are turned and
    scaled about the eyes' midpoint, so every height is 40 / 9 = 4.44 % IOD lower (within 0.05:
    the IOD and the tilt of the mean move by under 0.01 %, and the crossing is interpolated on
    the skin's noise), and each frame term is FRAME_SE_SHARE x the root mean square of the
    copies' moves, one of 40 x 8 / 9 and seven of 40 / 9 (6.62 % IOD; within 0.1, the seven's
    own spread and the sites' own terms adding in quadrature)."""
    rgb, lm = _synthetic_face(130)
    origin, _, n, iod, _ = face_frame(lm)
    agree = _agreeing_copies(lm, origin)
    far = lm.points + 0.4 * iod * n
    refound = [*agree[:3], far, *agree[3:]]
    assert agreeing_meshes([lm.points, *refound]) == [0, 1, 2, 3, 5, 6, 7, 8]
    eight = measure_hairline(rgb, lm, refound=agree)
    nine = measure_hairline(rgb, lm, refound=refound)
    assert nine.sites == eight.sites and nine.se == eight.se
    assert all(0.0 < eight.se[s] < 1.0 for s in SITES)  # the seven copies' small spread
    monkeypatch.setattr("mesovision.eye_frame.FRAME_OUTLIER_IOD_PCT", math.inf)
    want = FRAME_SE_SHARE * math.sqrt(((40.0 * 8.0 / 9.0) ** 2 + 7.0 * (40.0 / 9.0) ** 2) / 8.0)
    pulled = measure_hairline(rgb, lm, refound=refound)
    for s in SITES:
        assert pulled.sites[s] == pytest.approx(eight.sites[s] - 40.0 / 9.0, abs=0.05)
        assert pulled.se[s] == pytest.approx(want, abs=0.1)


def test_a_photo_whose_own_mesh_is_far_off_is_read_in_its_copies_frame():
    """The photo's own mesh 10 % IOD lower than its eight agreeing copies: it is left out, and
    the heights are those in the copies' mean frame (the same eight meshes as above, within
    rounding); two meshes that disagree leave no majority and are both kept."""
    rgb, lm = _synthetic_face(130)
    origin, _, n, iod, _ = face_frame(lm)
    copies = [*_agreeing_copies(lm, origin), lm.points]
    low = replace(lm, points=lm.points - 0.1 * iod * n)
    assert agreeing_meshes([low.points, *copies]) == list(range(1, 9))
    h = measure_hairline(rgb, low, refound=copies)
    eight = measure_hairline(rgb, lm, refound=copies[:-1])
    for s in SITES:
        assert h.sites[s] == pytest.approx(eight.sites[s], abs=1e-6)
    assert agreeing_meshes([lm.points, low.points]) == [0, 1]
    assert FRAME_OUTLIER_IOD_PCT < 5.0  # each of that pair lies 5 % IOD from their median
    assert agreeing_meshes([]) == []


def test_the_face_found_again_on_copies_of_a_real_photo(face):
    """Every copy of :data:`FRAME_COPIES` of a real photo finds the face again, mapped back to
    the photo's frame within a few px of the landmarks; its sites carry a frame term of a few
    tenths of a % IOD (the development people's mean frame moves by 0.3-0.4 % IOD between
    recaptures)."""
    rgb, lm = face
    again = landmarks_found_again(rgb)
    assert len(again) == len(FRAME_COPIES)
    iod = face_frame(lm)[3]
    for p in again:
        assert np.median(np.linalg.norm(p - lm.points, axis=1)) < 0.05 * iod
    frame = face_frame(replace(lm, points=np.mean([lm.points, *again], axis=0)))
    copies = [face_frame(replace(lm, points=p))[:4] for p in again]
    terms = [frame_se(frame, copies, off, 130.0) for off in SITES.values()]
    assert all(0.05 < t < 1.5 for t in terms)


def test_a_face_lying_sideways_has_the_upright_hairline(face):
    """A scalp photo whose orientation tag was lost is measured turned upright: the same
    heights as the upright photo (the same pixels once turned back)."""
    from mesovision.frontal_hairline import _landmarks

    rgb, _ = face
    up = measure_hairline(*_landmarks(rgb, "upright.png"))
    side = measure_hairline(*_landmarks(np.ascontiguousarray(np.rot90(rgb, 1)), "side.png"))
    assert sum(math.isfinite(v) for v in up.sites.values()) >= 3
    for s in SITES:
        assert side.sites[s] == pytest.approx(up.sites[s], nan_ok=True), s
        assert side.se[s] == pytest.approx(up.se[s], nan_ok=True), s
