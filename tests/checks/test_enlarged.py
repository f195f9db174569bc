"""``enlarged``: a photo enlarged from a smaller image is told apart from one at its own size.

Synthetic truth: white noise (detail up to the Nyquist frequency) at its own size, enlarged
4x with bicubic, and enlarged 3x with bilinear (found by the pixel grid's pattern, not by the
bandwidth); noise reduced by 4/3 (a pattern of period 3, but a sharp image) is not enlarged.
Real: a photo of ``../shared/faces`` (``fr_obama.jpg``, a development person; skipped with the
reason when the folder is absent) at its own size and reduced 3x then enlarged back with bicubic
and with bilinear and saved as JPEG of quality 85; the shipped sample faces, not flagged.
A comparison warns about the enlarged photo in the check's words, records its factor
(``inputs.after.enlargement``) and limits texture and pigmentation by the detail of the small
image (``mismatch.detail_iod_px``)."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from conftest import SAMPLES, mismatch, shared_faces
from PIL import Image

from mesovision.checks import CHECKS, FAIL_CHECKS, check_photo
from mesovision.comparability import verdicts
from mesovision.enlargement import (
    ENLARGED_FACTOR,
    FLOOR_GREY2,
    N_BINS,
    PERIOD_MIN_FACTOR,
    _bandwidth,
    _face_box,
    _grey_crop,
    _line_spectrum,
    _pattern_frequency,
    detail_iod_px,
    enlargement_factor,
)

HOPPER = SAMPLES / "grace_hopper"


def _enlarged(
    rgb8: np.ndarray, k: int, quality: int = 85, kernel: int = cv2.INTER_CUBIC
) -> np.ndarray:
    """``rgb8`` reduced ``k`` times (``INTER_AREA``), enlarged back with ``kernel`` (bicubic
    unless told), as JPEG."""
    h, w = rgb8.shape[:2]
    small = cv2.resize(rgb8, (round(w / k), round(h / k)), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (w, h), interpolation=kernel)
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def _box(size: int) -> tuple[np.ndarray, float]:
    """Mesh points spanning a ``size`` px square, and an interocular distance of 0.4 of it."""
    return np.array([[0.0, 0.0], [size - 1.0, size - 1.0]]), 0.4 * size


def test_noise_at_its_own_size_reads_1_and_enlarged_4x_about_4():
    rng = np.random.default_rng(0)
    noise = np.clip(0.5 + 0.1 * rng.standard_normal((400, 400, 3)), 0, 1).astype(np.float32)
    pts, iod = _box(400)
    assert enlargement_factor(noise, pts, iod) == 1.0
    small = noise[::4, ::4]
    big = cv2.resize(small, (400, 400), interpolation=cv2.INTER_CUBIC)
    assert 3.5 <= enlargement_factor(big, pts, iod) <= 4.5
    # a box too small to measure
    assert np.isnan(enlargement_factor(noise, *_box(20)))


def test_a_bilinear_3x_enlargement_is_found_by_its_pixel_grid_pattern():
    rng = np.random.default_rng(2)
    noise = np.clip(0.5 + 0.1 * rng.standard_normal((400, 400, 3)), 0, 1).astype(np.float32)
    big = cv2.resize(noise[::3, ::3], (400, 400), interpolation=cv2.INTER_LINEAR)
    pts, iod = _box(400)
    # the pattern: one knot of the interpolation every 3 px, in rows and columns
    assert _pattern_frequency(big, _face_box(big, pts)) == pytest.approx(1 / 3, abs=0.01)
    # the bandwidth alone reads about 2.3 (bilinear's spectrum falls gradually): the pattern
    # makes it 3
    assert 2.9 <= enlargement_factor(big, pts, iod) <= 3.1
    # a 3x bilinear enlargement of a face 480 px between the eyes (measured at its own size)
    small = np.clip(0.5 + 0.1 * rng.standard_normal((400, 400, 3)), 0, 1).astype(np.float32)
    big = cv2.resize(small, (1200, 1200), interpolation=cv2.INTER_LINEAR)
    assert 2.9 <= enlargement_factor(big, *_box(1200)) <= 3.1


def test_a_sharp_reduced_image_has_the_pattern_but_is_not_enlarged():
    rng = np.random.default_rng(3)
    noise = np.clip(0.5 + 0.1 * rng.standard_normal((400, 400, 3)), 0, 1).astype(np.float32)
    reduced = cv2.resize(noise, (300, 300), interpolation=cv2.INTER_LINEAR)  # 3 px for 4
    pts, iod = _box(300)
    assert _pattern_frequency(reduced, _face_box(reduced, pts)) == pytest.approx(1 / 3, abs=0.01)
    # its detail reaches the Nyquist frequency: the pattern does not count below
    # PERIOD_MIN_FACTOR
    assert enlargement_factor(reduced, pts, iod) < PERIOD_MIN_FACTOR


def test_a_large_face_is_measured_reduced_and_its_factor_scaled_back():
    rng = np.random.default_rng(1)
    small = np.clip(0.5 + 0.1 * rng.standard_normal((300, 300, 3)), 0, 1).astype(np.float32)
    big = cv2.resize(small, (1200, 1200), interpolation=cv2.INTER_CUBIC)  # 4x
    pts, iod = _box(1200)  # 480 px between the eyes: measured at 256, then scaled back
    assert 3.4 <= enlargement_factor(big, pts, iod) <= 4.6


def test_detail_of_an_enlarged_face():
    assert detail_iod_px(150.0, 3.0) == pytest.approx(50.0)
    assert detail_iod_px(150.0, ENLARGED_FACTOR) == pytest.approx(150.0 / ENLARGED_FACTOR)
    assert detail_iod_px(150.0, ENLARGED_FACTOR - 0.01) is None
    assert detail_iod_px(150.0, None) is None
    assert detail_iod_px(150.0, float("nan")) is None


@pytest.fixture(scope="module")
def obama(tmp_path_factory):
    """``(original, enlarged 3x)`` paths of a development person's photo."""
    [path] = [p for p, _ in shared_faces() if p.name == "fr_obama.jpg"]
    rgb8 = np.asarray(Image.open(path).convert("RGB"))
    out = tmp_path_factory.mktemp("enlarged") / "obama_3x.jpg"
    Image.fromarray(_enlarged(rgb8, 3)).save(out, quality=95)
    return path, out


@pytest.fixture(scope="module")
def obama_bilinear(tmp_path_factory):
    """A development person's photo reduced 3x and enlarged back with bilinear (OpenCV)."""
    [path] = [p for p, _ in shared_faces() if p.name == "fr_obama.jpg"]
    rgb8 = np.asarray(Image.open(path).convert("RGB"))
    out = tmp_path_factory.mktemp("enlarged") / "obama_3x_bilinear.jpg"
    Image.fromarray(_enlarged(rgb8, 3, kernel=cv2.INTER_LINEAR)).save(out, quality=95)
    return out


def _enlarged_check(path) -> dict:
    report = check_photo(str(path))
    [c] = [c for c in report.checks if c["name"] == "enlarged"]
    assert c["value"] == report.features.enlargement
    return c


def test_a_real_face_enlarged_3x_is_found_and_the_original_is_not(obama):
    original, enlarged = obama
    c = _enlarged_check(original)
    assert c["ok"] and c["value"] < ENLARGED_FACTOR and c["message"] == "ok"
    c = _enlarged_check(enlarged)
    assert not c["ok"] and 2.5 <= c["value"] <= 3.5
    assert c["severity"] == "warn" and "enlarged" not in FAIL_CHECKS
    assert c["threshold"] == CHECKS["enlarged"][0] == ENLARGED_FACTOR
    assert c["message"].startswith(f"photo appears enlarged about {c['value']:.1f}x from a smaller")
    assert "fine detail (texture, spots) is that of a face" in c["message"]


def test_a_real_face_enlarged_3x_with_bilinear_is_found(obama_bilinear):
    # its bandwidth reads about 2.2 (bilinear's spectrum falls gradually); the pixel grid's
    # pattern has the period of the enlargement
    c = _enlarged_check(obama_bilinear)
    assert not c["ok"] and 2.9 <= c["value"] <= 3.1


@pytest.mark.parametrize(
    "name",
    [f"{s}/{p}" for s in ("grace_hopper", "astronaut") for p in ("before", "after_no_change")],
)
def test_the_sample_photos_are_not_flagged(name):
    # 2x enlargements of scikit-image's 512-px images: 1.7-1.9, no pattern of 3 px
    c = _enlarged_check(SAMPLES / f"{name}.jpg")
    assert c["ok"] and 1.6 <= c["value"] <= 2.0


def test_verdicts_of_an_enlarged_photo():
    plain = verdicts(mismatch())
    assert plain["texture"].status == plain["pigmentation"].status == "comparable"
    small = verdicts(mismatch(enlarged_photo="after", enlargement=3.2, detail_iod_px=60.0))
    assert small["texture"].status == "not_comparable"
    assert small["texture"].reason.startswith(
        "texture: the after photo appears enlarged about 3.2x from a smaller image: its fine "
        "detail is that of a face 60 px between the eyes as scored (texture needs 100); use the "
        "camera's original file, not an enlarged copy"
    )
    assert small["pigmentation"].status == "limited"
    assert small["pigmentation"].inflation == 1.0  # sensitivity only: no widening
    assert "spots need 100" in small["pigmentation"].reason
    assert small["colour"].status == small["geometry"].status == "comparable"
    mid = verdicts(mismatch(enlarged_photo="before", enlargement=2.6, detail_iod_px=90.0))
    assert mid["texture"].status == "limited" and "the before photo" in mid["texture"].reason


def test_a_comparison_warns_records_and_limits_texture(tmp_path):
    from mesovision import compare
    from mesovision.record import comparison_record

    rgb8 = np.asarray(Image.open(HOPPER / "after_no_change.jpg").convert("RGB"))
    after = tmp_path / "after_3x.jpg"
    Image.fromarray(_enlarged(rgb8, 3)).save(after, quality=95)
    c = _enlarged_check(after)
    assert not c["ok"]
    cmp = compare(str(HOPPER / "before.jpg"), str(after))
    assert f"{after}: {c['message']}" in cmp.pair.warnings
    assert not [w for w in cmp.pair.warnings if "before.jpg" in w and "enlarged" in w]
    rec = comparison_record(cmp)
    assert rec["inputs"]["before"]["enlargement"] < ENLARGED_FACTOR
    assert rec["inputs"]["after"]["enlargement"] == pytest.approx(c["value"], rel=0.05)
    m = rec["mismatch"]
    assert (
        m["enlarged_photo"] == "after" and m["enlargement"] == rec["inputs"]["after"]["enlargement"]
    )
    iod = cmp.pair.after_landmarks.interocular_px
    assert m["detail_iod_px"] == pytest.approx(
        min(iod / m["enlargement"], m["scoring_iod_px"]), abs=0.01
    )
    assert rec["comparability"]["texture"]["status"] == "not_comparable"
    assert "the after photo appears enlarged" in rec["comparability"]["texture"]["reason"]
    assert rec["comparability"]["pigmentation"]["status"] in ("limited", "not_comparable")


# -- the parts of the estimate on inputs small enough to follow by hand -----------------------


def _noise(shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.5 + 0.1 * rng.standard_normal(shape), 0, 1).astype(np.float32)


def test_the_face_box_holds_every_point_and_stays_in_the_photo():
    rgb = np.zeros((100, 120, 3), np.float32)
    pts = np.array([[10.2, 20.7, 5.0], [50.5, 80.0, -3.0], [30.0, 40.0, 0.0]])  # (x, y, z)
    assert _face_box(rgb, pts) == (10, 20, 52, 81)  # floor of the least, ceil of the most + 1
    assert _face_box(rgb, pts[:, :2]) == (10, 20, 52, 81)
    assert _face_box(rgb, np.array([[0.0, 0.0], [200.0, 99.0]])) == (0, 0, 120, 100)
    assert _face_box(rgb, np.array([[-5.0, -2.5], [20.0, 30.0]])) == (0, 0, 21, 31)


def test_the_grey_crop_takes_every_sth_pixel_then_averages_the_rest():
    rgb = _noise((540, 450, 3), 4)
    box = (10, 20, 410, 520)  # 400 x 500 px
    grey = lambda a: cv2.cvtColor(np.ascontiguousarray(a, np.float32), cv2.COLOR_RGB2GRAY)  # noqa: E731
    # at most 256 px between the eyes: the box as it is, in grey levels 0-255
    g, r = _grey_crop(rgb, box, 200.0)
    assert r == 1.0
    np.testing.assert_allclose(g, grey(rgb[20:520, 10:410]) * 255.0, rtol=1e-6)
    # 512 px: reduced exactly 2x, every second pixel
    g, r = _grey_crop(rgb, box, 512.0)
    assert r == 2.0
    np.testing.assert_allclose(g, grey(rgb[20:520:2, 10:410:2]) * 255.0, rtol=1e-6)
    # 640 px: every second pixel (250 x 200), then area averaging to 2 / 2.5 of that
    g, r = _grey_crop(rgb, box, 640.0)
    assert r == 2.5 and g.shape == (200, 160)
    half = np.ascontiguousarray(rgb[20:520:2, 10:410:2])
    expected = grey(cv2.resize(half, (160, 200), interpolation=cv2.INTER_AREA)) * 255.0
    np.testing.assert_allclose(g, expected, rtol=1e-5)
    # a float64 photo reads as its float32 copy
    np.testing.assert_allclose(_grey_crop(rgb.astype(np.float64), box, 640.0)[0], g, rtol=1e-6)


def test_the_line_spectrum_is_the_mean_periodogram_of_rows_and_columns():
    from scipy.signal import periodogram

    rng = np.random.default_rng(6)
    # lines of their own means (row and column offsets) and texture along both directions
    grey = (
        20.0 * rng.standard_normal((100, 400))
        + 30.0 * rng.standard_normal((100, 1))
        + 50.0 * np.sin(np.arange(400) * 0.9)
        + 128.0
    )
    centres = (np.arange(N_BINS) + 0.5) * 0.5 / N_BINS
    expected = np.zeros(N_BINS)
    for lines, step in ((grey, 1), (grey.T, 2)):  # at most about 160 lines: 100, then 400 / 2
        a = lines[::step]
        n = a.shape[1]
        f, p = periodogram(a, window=np.hanning(n), detrend="constant", return_onesided=False)
        f, p = np.abs(f[: n // 2 + 1]), p[:, : n // 2 + 1].mean(axis=0)  # (Nyquist: -0.5)
        expected += np.interp(centres, f, p) / 2
    np.testing.assert_allclose(_line_spectrum(grey), expected, rtol=1e-9)
    # white noise of variance 100 reads 100 at every frequency
    flat = _line_spectrum(10.0 * rng.standard_normal((300, 300)))
    assert np.all(np.abs(flat[1:] / 100.0 - 1.0) < 0.25) and abs(flat.mean() / 100 - 1) < 0.05


def test_the_bandwidth_where_the_spectrum_falls_to_the_floor():
    t = math.log10(FLOOR_GREY2)
    # log power falling linearly from 3 to -1 (smoothing keeps a line): first bin at or below
    # the floor from the third bin up is i = 32, interpolated from bin 31
    lp = np.linspace(3.0, -1.0, N_BINS)
    a, b = lp[31], lp[32]
    assert a > t >= b
    assert _bandwidth(10.0**lp) == pytest.approx((32 - 0.5 + (a - t) / (a - b)) * 0.5 / N_BINS)
    # never falls to the floor: the Nyquist frequency; just above the floor to the last bin too
    # (the smoothing repeats the edge bins)
    assert _bandwidth(np.full(N_BINS, 100.0)) == 0.5
    assert _bandwidth(np.full(N_BINS, 1.1 * FLOOR_GREY2)) == 0.5
    # at the floor from the start: the third bin, taken whole (bins 0-2 alike), also when the
    # fourth bin's smoothing reads the power above
    assert _bandwidth(np.full(N_BINS, 1.0)) == pytest.approx(2.5 * 0.5 / N_BINS)
    assert _bandwidth(np.r_[np.ones(4), np.full(N_BINS - 4, 1000.0)]) == pytest.approx(
        2.5 * 0.5 / N_BINS
    )
    # a step from 1000 to 0.01 (log 3 to -2): smoothed, bin 9 reads 4/3, bin 10 -1/3
    step = np.r_[np.full(10, 1000.0), np.full(N_BINS - 10, 0.01)]
    x = (4 / 3 - t) / (4 / 3 + 1 / 3)
    assert _bandwidth(step) == pytest.approx((10 - 0.5 + x) * 0.5 / N_BINS)


def test_the_pattern_counts_from_15_times_the_spectrum_median_in_rows_and_columns():
    big = cv2.resize(_noise((134, 134, 3), 2), (400, 400), interpolation=cv2.INTER_LINEAR)
    other = _noise((400, 400, 3), 5)
    box = (0, 0, 400, 400)
    # the 3x bilinear copy blended with sharp noise: its pattern reads 19 times the profile
    # spectrum's median along the rows at 42 % noise, 14 times at 44 % (columns: 49, 40)
    assert _pattern_frequency(0.58 * big + 0.42 * other, box) == pytest.approx(1 / 3, abs=0.01)
    assert _pattern_frequency(0.56 * big + 0.44 * other, box) is None
    # a float64 photo reads as its float32 copy
    assert _pattern_frequency(big.astype(np.float64), box) == _pattern_frequency(big, box)
    # a flat box has no pattern (its profile spectrum is 0 at every frequency)
    assert _pattern_frequency(np.full((400, 400, 3), 0.5, np.float32), box) is None


def test_the_pattern_band_holds_its_ends():
    # a 102-px box: the profile has 100 px, its frequencies are hundredths; noise enlarged from
    # 30 px reads exactly 0.30 and from 37 px 0.36, the band's ends
    for n, f in ((30, 0.30), (37, 0.36)):
        big = cv2.resize(_noise((n, n, 3), 0), (102, 102), interpolation=cv2.INTER_LINEAR)
        assert _pattern_frequency(big, (0, 0, 102, 102)) == pytest.approx(f, abs=1e-12)


def test_the_pattern_needs_64_px_each_way_wherever_the_box_is():
    big = cv2.resize(_noise((134, 134, 3), 2), (400, 400), interpolation=cv2.INTER_LINEAR)
    assert _pattern_frequency(big, (0, 0, 64, 64)) == pytest.approx(1 / 3, abs=0.01)
    assert _pattern_frequency(big, (100, 100, 164, 164)) == pytest.approx(1 / 3, abs=0.01)
    for box in ((0, 0, 63, 64), (0, 0, 64, 63), (100, 100, 163, 300), (100, 100, 300, 163)):
        assert _pattern_frequency(big, box) is None, box


def test_the_factor_of_a_box_too_small_a_sharp_large_face_and_its_rounding():
    noise = _noise((400, 400, 3), 0)
    pts = lambda x0, y0, x1, y1: np.array([[x0, y0], [x1 - 1.0, y1 - 1.0]])  # noqa: E731
    # under 24 px on either side, wherever the box is: not measured
    for box in ((100, 50, 123, 150), (50, 100, 150, 123), (0, 0, 23, 100), (0, 0, 100, 23)):
        assert np.isnan(enlargement_factor(noise, pts(*box), 40.0)), box
    assert enlargement_factor(noise, pts(0, 0, 24, 24), 10.0) >= 1.0
    # a sharp face 600 px between the eyes, measured reduced 2.34x: 1, not 2.34
    assert enlargement_factor(noise, *_box(400)) == 1.0
    assert enlargement_factor(noise, _box(400)[0], 600.0) == 1.0
    # the factor is given to 3 decimals
    big = cv2.resize(noise[::4, ::4], (400, 400), interpolation=cv2.INTER_CUBIC)
    k = enlargement_factor(big, *_box(400))
    assert k == round(k, 3) and k != round(k, 2)
