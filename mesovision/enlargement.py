"""Was a photo enlarged from a smaller image? The enlargement factor of its face's detail.

A small crop blown up (a 150-px face saved at 600 px, a phone's digital zoom, a messenger's
preview saved large) has as many pixels as a photo taken close, but the fine detail of the small
image: interpolation leaves its spectrum nearly empty above the Nyquist frequency of the image it
was enlarged from (``0.5 / k`` cycles per pixel for a factor ``k``). :func:`enlargement_factor`
measures where the face's detail ends:

1. the grey levels (0-255) of the face mesh's bounding box, reduced so that the interocular
   distance is at most :data:`CROP_IOD_PX` (every ``s``-th pixel for the reduction's whole part
   ``s`` from 2, then ``INTER_AREA``): an enlargement of a larger face than that costs no
   detail the metrics read, and the estimate stays a few milliseconds;
2. the one-dimensional power spectrum of its rows and of its columns (at most about 160 of
   each, evenly spaced; Hann window, each line's
   mean removed, ``|FFT|^2 / sum(w^2)``: a white noise of variance ``s^2`` reads ``s^2``),
   averaged, on :data:`N_BINS` bins over ``[0, 0.5]`` cycles per pixel, smoothed over 3 bins;
3. the bandwidth ``f_b``: the first frequency (from the third bin up) where the spectrum falls
   to :data:`FLOOR_GREY2` grey levels squared, above the floor that 8-bit rounding and JPEG
   re-compression (quality 75-95) leave in an enlarged photo, and below the detail and sensor
   noise of a photo at its own size;
4. the factor ``k = 1 + GAIN (0.5 / f_b - 1)`` times the crop's reduction, 1 when the detail
   reaches the Nyquist frequency. :data:`GAIN` undoes the passband loss of the usual kernels
   (bicubic, bilinear, Lanczos: their response falls before their cutoff);
5. a second cue, for a bilinear enlargement near 3x, whose spectrum falls gradually (the
   bandwidth reads about 2.4): interpolation leaves a pattern in the pixel grid with the period
   of the enlargement (Popescu and Farid 2005; Kirchner 2008). The magnitude of the second
   difference along each row (columns likewise; the face's box at its own size, at most about
   160 lines) averaged over the lines, as a profile along the line; its power spectrum (mean
   removed, Hann window) against its median over 0.1-0.49 cycles per pixel, JPEG's 8-pixel
   grid (multiples of 1/8, within 0.012) left out. When the strongest frequency in
   :data:`PERIOD_BAND` reaches :data:`PERIOD_STRENGTH` times that median in both rows and
   columns, and the bandwidth's factor reaches :data:`PERIOD_MIN_FACTOR`, the factor is at
   least the period (one over the mean of the two frequencies).

A photo is said enlarged from :data:`ENLARGED_FACTOR`. Measured on the development people of
``../shared/faces``: ``benchmarks/enlarged.py`` (the figures are in ``docs/validation.md``).
A photo blurred by focus or motion, or smoothed by a phone's noise reduction, reads as enlarged
too: its fine detail is also that of a smaller image.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = [
    "CROP_IOD_PX",
    "ENLARGED_FACTOR",
    "FLOOR_GREY2",
    "GAIN",
    "N_BINS",
    "PERIOD_BAND",
    "PERIOD_MIN_FACTOR",
    "PERIOD_STRENGTH",
    "detail_iod_px",
    "enlargement_factor",
]

#: The face's interocular distance (px) at which its detail is measured (a larger face is
#: reduced to it).
CROP_IOD_PX = 256.0
#: Frequency bins of the spectrum over ``[0, 0.5]`` cycles per pixel.
N_BINS = 48
#: The power (grey levels squared, 0-255 scale) where the face's detail ends.
FLOOR_GREY2 = 2.0
#: The gain that maps ``0.5 / f_b`` onto the factor of an enlargement (median over the six
#: kernels of ``benchmarks/enlarged.py`` on the development people).
GAIN = 1.5
#: A photo whose factor reaches this is said enlarged (``check``'s ``enlarged`` warning, the
#: texture and pigmentation verdicts of a comparison). On the development people of
#: ``../shared/faces`` (41 photos) it says so of 8 photos at their own size, every one soft or
#: itself enlarged, of 98-100 % of the copies reduced 3x and enlarged back with bicubic,
#: bilinear (with the pixel grid's pattern, step 5; 32-44 % by the bandwidth alone) or Lanczos,
#: and of every copy reduced 4x (``benchmarks/enlarged.py``, ``docs/validation.md``).
ENLARGED_FACTOR = 2.5
#: The frequencies (cycles per pixel) of the pixel grid's pattern that the second cue looks
#: for: periods 2.8-3.3 px, the enlargements near 3x that the bandwidth reads short
#: (a 4x or larger enlargement reads 3 or more by its bandwidth).
PERIOD_BAND = (0.30, 0.36)
#: The power of the pattern's frequency over the profile spectrum's median that counts as a
#: pattern, in rows and in columns alike. On the development people (41 photos): copies reduced
#: 3x and enlarged back with bilinear (OpenCV, Pillow) read 19-26 at their 10th percentile
#: (median 41-56), originals at most 14 (``fr_obama.jpg``, itself resampled, bandwidth factor 1).
PERIOD_STRENGTH = 15.0
#: The bandwidth's factor from which the pattern counts (a sharp photo reduced from a larger
#: one, as ``fr_obama.jpg``, has a pattern too; a 3x bilinear copy reads about 2.1 or more on 9
#: in 10 development photos).
PERIOD_MIN_FACTOR = 1.8
#: The smallest crop side (px) that is measured.
_MIN_SIDE = 24
#: The smallest crop side (px) whose pattern is looked for (the band holds a few frequencies).
_MIN_PERIOD_SIDE = 64
#: Lines averaged per direction: at most about this many, evenly spaced (the cost stays a few
#: milliseconds; the spectrum of one line in two or three reads as that of every line).
_MAX_LINES = 160


def _face_box(rgb: np.ndarray, points: np.ndarray) -> tuple[int, int, int, int]:
    """The face mesh's bounding box ``(x0, y0, x1, y1)`` in ``rgb`` (px, end excluded)."""
    h, w = rgb.shape[:2]
    p = np.asarray(points, dtype=np.float64)[:, :2]
    x0, y0 = np.floor(p.min(axis=0)).astype(int)
    x1, y1 = np.ceil(p.max(axis=0)).astype(int) + 1
    return max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))


def _grey_crop(rgb: np.ndarray, box: tuple[int, int, int, int], interocular_px: float):
    """The face's box in grey levels (0-255), reduced so that the interocular distance is at
    most :data:`CROP_IOD_PX`, and the reduction (>= 1)."""
    x0, y0, x1, y1 = box
    reduction = max(1.0, float(interocular_px) / CROP_IOD_PX)
    # every s-th pixel first (s the reduction's whole part, from 2; a detail the stride folds
    # down stays detail, and an enlargement of s or less costs no detail at this scale), so a
    # large face costs a few milliseconds; then area averaging for the rest of the reduction
    s = int(reduction) if reduction >= 2.0 else 1
    crop = np.ascontiguousarray(rgb[y0:y1:s, x0:x1:s], dtype=np.float32)
    if reduction > s:
        size = (
            max(1, round(crop.shape[1] * s / reduction)),
            max(1, round(crop.shape[0] * s / reduction)),
        )
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) * 255.0
    return grey, reduction


def _hann_power(a: np.ndarray) -> np.ndarray:
    """The power spectrum of each line of ``a`` (along its last axis): the line's mean removed,
    a Hann window, ``|FFT|^2 / sum(w^2)`` (a white noise of variance ``s^2`` reads ``s^2``)."""
    win = np.hanning(a.shape[-1])
    a = a - a.mean(axis=-1, keepdims=True)
    return np.abs(np.fft.rfft(a * win, axis=-1)) ** 2 / np.sum(win**2)


def _line_spectrum(grey: np.ndarray) -> np.ndarray:
    """The mean power spectrum of ``grey``'s rows and columns on :data:`N_BINS` bins."""
    centres = (np.arange(N_BINS) + 0.5) * 0.5 / N_BINS
    out = np.zeros(N_BINS)
    for lines in (grey, grey.T):
        a = lines[:: max(1, lines.shape[0] // _MAX_LINES)]  # every line up to _MAX_LINES
        power = _hann_power(a)
        out += np.interp(centres, np.fft.rfftfreq(a.shape[1]), power.mean(axis=0))
    return out / 2.0


def _bandwidth(power: np.ndarray) -> float:
    """The first frequency (cycles/px, from the third bin up) where the smoothed spectrum falls
    to :data:`FLOOR_GREY2`, interpolated between bins in log power; 0.5 when it never does."""
    lp = np.log10(np.maximum(power, 1e-12))
    lp = np.convolve(np.pad(lp, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    t = math.log10(FLOOR_GREY2)
    below = np.nonzero(lp[2:] <= t)[0]
    if below.size == 0:
        return 0.5
    i = int(below[0]) + 2
    a, b = lp[i - 1], lp[i]
    x = (a - t) / (a - b) if a > b else 1.0
    return (i - 0.5 + x) * 0.5 / N_BINS


def _pattern_frequency(rgb: np.ndarray, box: tuple[int, int, int, int]) -> float | None:
    """The frequency (cycles/px) of the pixel grid's pattern in :data:`PERIOD_BAND` (the mean of
    the rows' and the columns'), ``None`` when it is weaker than :data:`PERIOD_STRENGTH` in
    either direction (module docstring, step 5)."""
    x0, y0, x1, y1 = box
    if min(x1 - x0, y1 - y0) < _MIN_PERIOD_SIDE:
        return None
    rows = rgb[y0 : y1 : max(1, (y1 - y0) // _MAX_LINES), x0:x1]
    cols = rgb[y0:y1, x0 : x1 : max(1, (x1 - x0) // _MAX_LINES)].transpose(1, 0, 2)
    found = []
    for lines in (rows, cols):
        grey = cv2.cvtColor(np.ascontiguousarray(lines, dtype=np.float32), cv2.COLOR_RGB2GRAY)
        profile = np.abs(np.diff(grey * 255.0, n=2, axis=1)).mean(axis=0)
        power = _hann_power(profile)
        f = np.fft.rfftfreq(profile.size)
        ref = (f >= 0.1) & (f <= 0.49) & (np.abs(f * 8 - np.round(f * 8)) > 8 * 0.012)
        band = (f >= PERIOD_BAND[0]) & (f <= PERIOD_BAND[1])
        if not band.any() or not ref.any():
            return None
        i = int(np.argmax(np.where(band, power, -1.0)))
        # (a flat box has no pattern: its spectrum is 0 everywhere)
        if not power[i] > 0.0 or not power[i] >= PERIOD_STRENGTH * np.median(power[ref]):
            return None
        found.append(f[i])
    return float(np.mean(found))


def enlargement_factor(rgb: np.ndarray, points: np.ndarray, interocular_px: float) -> float:
    """The factor by which the face of a photo appears enlarged from a smaller image.

    Parameters
    ----------
    rgb : numpy.ndarray
        The photo's working copy, float RGB in ``[0, 1]``, ``(H, W, 3)``.
    points : numpy.ndarray
        The face mesh's points ``(N, 2)`` or ``(N, 3)``, pixel ``(x, y)`` in ``rgb``.
    interocular_px : float
        The face's interocular distance in ``rgb`` (px).

    Returns
    -------
    float
        ``>= 1``: 1 for a face whose detail reaches the pixel grid's Nyquist frequency, about
        ``k`` for a face enlarged ``k`` times (see the module docstring for the formula); NaN
        when the face's box is under 24 px on a side. A bilinear enlargement near 3x, whose
        spectrum falls gradually, is found by the pattern it leaves in the pixel grid (step 5).
    """
    box = _face_box(rgb, points)
    if box[2] - box[0] < _MIN_SIDE or box[3] - box[1] < _MIN_SIDE:
        return float("nan")
    grey, reduction = _grey_crop(rgb, box, interocular_px)
    k = 1.0 + GAIN * (0.5 / _bandwidth(_line_spectrum(grey)) - 1.0)
    k = k * reduction if k > 1.0 else 1.0
    if k >= PERIOD_MIN_FACTOR:
        f = _pattern_frequency(rgb, box)
        k = k if f is None else max(k, 1.0 / f)
    return round(float(k), 3) if k > 1.0 else 1.0


def detail_iod_px(interocular_px: float, factor: float | None) -> float | None:
    """The interocular distance (px) of the smaller image a face ``factor`` times enlarged was
    made from, when the factor reaches :data:`ENLARGED_FACTOR`; else ``None``."""
    if factor is None or not factor >= ENLARGED_FACTOR:
        return None
    return float(interocular_px) / factor
