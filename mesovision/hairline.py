"""The frontal hairline: its height above the eyes, at five places across the forehead.

On a frontal photo (a face seen from the front, forehead and hair visible) the hairline is the
boundary between the forehead's skin and the hair above it. Its position is measured relative to
landmarks that a treatment of the scalp does not move: the line through the centres of the two
eyes (each the mean of the face mesh's iris centre and the midpoint of the eye's corners, which
a raised brow does not move as it moves the brows; the corners steady the iris centre, which
moves with the gaze and is found less repeatably), and the distance between them, the
interocular distance (IOD), as the unit, so that the photo's size and distance do not matter.

The frame: :mod:`mesovision.eye_frame` (the eyes' line steadied over the face mesh found again
on copies of the photo, and each site's frame term).

Method. ``e`` is the unit vector from the subject's right eye's centre to the left one's and
``n`` the perpendicular towards the forehead. At each site (:data:`SITES`: the midline, 0.35
IOD to each side of it, and the temples at 0.65 IOD) a strip ``STRIP_WIDTH_IOD`` wide is sampled
along ``n`` from the eyes' line, one sample per pixel, in CIELAB. The forehead's own colour is the
median over the strip between ``REF_IOD`` above the top of the brows (the highest brow landmark
along ``n``); each row of the strip gets the median CIEDE76 distance of its samples from that
colour, smoothed over ``SMOOTH_IOD``. The hairline is the first height above the reference band
where that distance rises above ``max(DE_MIN, median + DE_K x 1.4826 MAD)`` of the reference
band's own distances and stays above it for ``RUN_IOD`` (a hair mass, not a crease or a spot of
glare); the crossing is interpolated between rows. The height is reported in % of the IOD
(``hairline_iod_pct``), and in mm with a scale (``--px-per-mm``: height_px / px_per_mm, or
``--ipd-mm``: the share of the IOD times it). NaN, with a note, when the strip leaves the photo
before a hairline, when no hair is found in the strip, or when there is no face.

A change is the after photo's height minus the before photo's (each photo measured in its own
frame against its own landmarks): positive when the hairline recedes. Its standard error adds in
quadrature each photo's own terms -- a slide term, a jump term and the frame term -- and a
capture term (:data:`CAPTURE_SD_IOD_PCT`, 0.47 % IOD: what a recapture of one unchanged photo
changes -- another scale, rotation, light, noise and JPEG compression -- that the photos' own
terms do not foresee). The slide and jump terms try on each photo what another capture
changes: the threshold ``1 -/+ THRESHOLD_JITTER`` times its value (the light changes the hair's
contrast with the skin) and the strip moved sideways by ``-/+ SHIFT_IOD`` (the landmarks found
again). A soft boundary, or one that slopes across the strip, slides: the root mean square of
the moves under ``JUMP_MIN_IOD``, times :data:`SLIDE_SHARE`, is the slide term. A boundary found
just above the threshold, where the strip meets a shadow, a fold of the forehead or a strand of
hair, jumps to another edge: :data:`JUMP_SHARE` of the largest jump enters the standard error,
the whole of it when it exceeds ``AMBIGUOUS_IOD`` (two edges far apart, either of which the next
capture may find; the site's note says so), and a site whose hair the higher threshold no longer
finds is not measured (NaN, with a note). The spread of the height across the strip (its
narrower strips side by side) is no such term: it is the hairline's shape, the same on every
capture (on the development people of ``benchmarks/hair.py hairline``, the null change read
against the frame the recapture applied has a robust SD of 0.47-0.69 % IOD in each fifth of the
sites ordered by that spread, which runs from 0.2 to 17 % IOD). The capture term and
the two shares are fitted on the null changes of the development people (the constants'
comments). The sites are tested together with the Benjamini-Hochberg false discovery rate
(a frame error shared by the sites is a positive dependence between their tests, under which it
holds). Validation: ``docs/hair.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from .eye_frame import agreeing_meshes, face_frame, frame_se, landmarks_found_again
from .types import Landmarks

__all__ = [
    "AMBIGUOUS_IOD",
    "CAPTURE_SD_IOD_PCT",
    "DE_K",
    "DE_MIN",
    "HAIRLINE_METRICS",
    "JUMP_MIN_IOD",
    "JUMP_SHARE",
    "MIN_STRIP_PX",
    "REF_IOD",
    "RUN_IOD",
    "SHIFT_IOD",
    "SITES",
    "SLIDE_SHARE",
    "SMOOTH_IOD",
    "STRIP_LENGTH_IOD",
    "STRIP_WIDTH_IOD",
    "THRESHOLD_JITTER",
    "Hairline",
    "hairline_changes",
    "hairline_measured",
    "hairline_metric_specs",
    "measure_hairline",
]

#: Sites: offset from the midline along the eyes' line, in IOD (positive: the subject's left).
SITES = {
    "hairline_mid": 0.0,
    "hairline_left": 0.35,
    "hairline_right": -0.35,
    "temple_left": 0.65,
    "temple_right": -0.65,
}
#: Width and length (IOD) of a site's strip; the strip starts on the eyes' line. A strip is at
#: least ``MIN_STRIP_PX`` px wide (the median of its samples needs a few, on a small face).
STRIP_WIDTH_IOD = 0.2
STRIP_LENGTH_IOD = 2.5
MIN_STRIP_PX = 4
#: The forehead reference band: from ... to ... IOD above the top of the brows.
REF_IOD = (0.05, 0.2)
#: Smoothing of the row distances along the strip (IOD) and the run of hair that makes a hairline.
SMOOTH_IOD = 0.02
RUN_IOD = 0.16
#: The hair threshold: at least ``DE_MIN`` (CIELAB units) and ``DE_K`` robust SDs of the band.
DE_MIN = 20.0
DE_K = 3.0
#: Capture standard deviation (% IOD) of the change at each site: what a recapture changes that
#: neither the frame term nor the site's own terms foresee. Fitted with ``SLIDE_SHARE`` by
#: maximum likelihood (the null change normal with the variance of its standard error) on the
#: 1754 null sites of the development people (40 recaptures per photo) that jump in neither
#: photo: 0.47 (0.35-0.57 over the photos resampled, 10th-90th percentile).
CAPTURE_SD_IOD_PCT = 0.47
#: What a recapture changes in a strip, tried on each photo (module docstring): the threshold
#: ``1 -/+ THRESHOLD_JITTER`` times its value (another light changes the hair's contrast with
#: the skin) and the strip moved sideways by ``-/+ SHIFT_IOD`` (the landmarks found again).
THRESHOLD_JITTER = 0.1
SHIFT_IOD = 0.02
#: A move of the height by less than this (share of the IOD) under those changes is the
#: crossing sliding along a soft boundary, not a jump to another edge: it adds nothing.
JUMP_MIN_IOD = 0.04
#: The slide term of a site: this share of the root mean square of the tries' moves under
#: ``JUMP_MIN_IOD`` (how far the crossing slides along its boundary when the contrast or the
#: strip's place changes). Fitted with ``CAPTURE_SD_IOD_PCT`` (its comment): 0.24 (0.12-0.29
#: over the photos resampled); the z of those sites' null change then has an SD of 1.0.
SLIDE_SHARE = 0.24
#: The share of a jump (a move of at least ``JUMP_MIN_IOD``, at most ``AMBIGUOUS_IOD``) that
#: enters the standard error: on the development people's 305 null sites with such a jump in
#: either photo the z of the change has an SD of 0.95 with this share (0.70 with a half).
JUMP_SHARE = 0.35
#: A jump over this (share of the IOD) is two edges far apart, either of which another capture
#: may find: the site's standard error carries the whole jump instead of ``JUMP_SHARE`` of it.
AMBIGUOUS_IOD = 0.1

#: The hairline metrics: name -> (unit, direction, display, plain words, unit as read).
HAIRLINE_METRICS = {
    "hair.hairline_iod_pct": (
        "% IOD",
        "higher_is_worse",
        "hairline height",
        "How far the hairline lies above the eyes, as a share of the distance between the "
        "pupils; it rises when the hairline recedes.",
        "% of the distance between the pupils",
    ),
    "hair.hairline_mm": (
        "mm",
        "higher_is_worse",
        "hairline height",
        "How far the hairline lies above the eyes, in millimetres (needs a scale).",
        "mm",
    ),
}


def hairline_metric_specs() -> dict[str, dict[str, str]]:
    """The listing of each hairline metric as :func:`mesovision.metrics.metric_table` gives a
    registered metric's (name, family, unit, direction, display, plain, unit_label, summary,
    formula, reference), for the report's and the tables' names and methods."""
    formula = (
        "height of the hairline above the line through the eyes' centres (iris and corners), "
        "along the face's vertical, / interocular distance x 100; in mm: x IPD / 100 "
        "(--ipd-mm), or the height in px / px per mm (a scale)"
    )
    return {
        name: {
            "name": name, "family": "hair", "unit": unit, "direction": direction,
            "display": display, "plain": plain, "unit_label": unit_label, "summary": plain,
            "formula": formula,
            "reference": "mesovision.hairline; validation in docs/hair.md, The frontal hairline",
        }
        for name, (unit, direction, display, plain, unit_label) in HAIRLINE_METRICS.items()
    }  # fmt: skip


@dataclass(frozen=True)
class Hairline:
    """One photo's frontal hairline: ``sites[name]`` the height above the eyes' line in % of
    the IOD (NaN where not measured), ``se[name]`` its own standard error (% IOD: the slide
    term, the jump term and the frame term, :func:`measure_hairline`), ``iod_px``,
    ``brow_iod`` (the top of the brows above the eyes' line, IOD), ``notes[name]`` why a site
    is NaN or why its standard error is wide (an ambiguous boundary); ``note`` says why nothing
    was measured (no face)."""

    sites: dict[str, float]
    se: dict[str, float]
    iod_px: float
    brow_iod: float
    notes: dict[str, str] = field(default_factory=dict)
    note: str | None = None

    def as_dict(self) -> dict:
        return {
            "sites_iod_pct": self.sites,
            "se_iod_pct": self.se,
            "iod_px": self.iod_px,
            "brow_iod": self.brow_iod,
            "notes": self.notes,
            "note": self.note,
        }


def _strip(lab: np.ndarray, origin, e, n, iod: float, offset: float) -> np.ndarray:
    """Lab samples of one site's strip: ``(rows along n, columns along e, 3)``, NaN outside."""
    w = max(MIN_STRIP_PX, int(round(STRIP_WIDTH_IOD * iod)))
    length = int(round(STRIP_LENGTH_IOD * iod))
    s = (np.arange(w) - (w - 1) / 2.0) + offset * iod
    t = np.arange(length, dtype=np.float64)
    pts = origin[None, None, :] + s[None, :, None] * e + t[:, None, None] * n
    mx, my = pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32)
    return cv2.remap(lab, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=(np.nan,) * 3)  # fmt: skip


def _profile(samples: np.ndarray, iod: float, brow: float) -> tuple[np.ndarray, float, int] | str:
    """``(d, thr, r1)`` of a strip's ``samples`` (``(rows, cols, 3)`` Lab): each row's smoothed
    median distance from the forehead's colour (NaN outside the photo), the threshold and the
    first row above the reference band; or the reason there is none."""
    r0, r1 = (int(round((brow + f) * iod)) for f in REF_IOD)
    ref = samples[r0:r1].reshape(-1, 3)
    ref = ref[np.isfinite(ref).all(axis=1)]
    if ref.shape[0] < 10:
        return "the forehead above the brows is outside the photo"
    colour = np.median(ref, axis=0)
    de_ref = np.linalg.norm(ref - colour, axis=1)
    mad = float(np.median(np.abs(de_ref - np.median(de_ref))))
    thr = max(DE_MIN, float(np.median(de_ref)) + DE_K * 1.4826 * mad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows outside the photo: all NaN
        d = np.nanmedian(np.linalg.norm(samples - colour, axis=2), axis=1)
    k = max(1, int(round(SMOOTH_IOD * iod)))
    ok = np.isfinite(d)
    if k > 1:
        d = np.convolve(np.where(ok, d, 0.0), np.ones(k) / k, mode="same")
        d[~ok] = np.nan
    return d, thr, r1


def _crossing(d: np.ndarray, thr: float, r1: int, iod: float) -> tuple[float, str | None]:
    """The first height (px) from row ``r1`` where ``d`` rises above ``thr`` and stays above it
    for ``RUN_IOD`` (interpolated), or ``(nan, reason)``."""
    ok = np.isfinite(d)
    run = max(2, int(round(RUN_IOD * iod)))
    above = d > thr
    for t in range(r1, d.size - run + 1):
        if not ok[t]:
            return math.nan, "the strip leaves the photo before the hair"
        if above[t : t + run].all():
            lo = d[t - 1]
            frac = (thr - lo) / (d[t] - lo) if d[t] > lo else 0.0
            return t - 1 + float(np.clip(frac, 0.0, 1.0)), None
    return math.nan, "no hair in the strip"


def _height(samples: np.ndarray, iod: float, brow: float) -> tuple[float, str | None]:
    """The hairline's height (px along the strip) in ``samples`` (``(rows, cols, 3)`` Lab), or
    ``(nan, reason)``."""
    profile = _profile(samples, iod, brow)
    return (math.nan, profile) if isinstance(profile, str) else _crossing(*profile, iod)


def measure_hairline(
    rgb: np.ndarray, landmarks: Landmarks | None, *, refound: Sequence[np.ndarray] | None = None
) -> Hairline:
    """The frontal hairline of ``rgb`` (float sRGB, its working frame) at each site of
    :data:`SITES` (module docstring); every site NaN, with a note, without ``landmarks``.

    ``refound``: the face mesh's points found again on copies of the photo (``(478, 2)`` in
    ``rgb``'s frame; ``None``: :func:`landmarks_found_again`). Of ``landmarks`` and ``refound``,
    the meshes that agree (:func:`agreeing_meshes`) are kept; the frame is that of their mean,
    and each site's standard error adds its :func:`frame_se` under the kept copies' frames in
    quadrature to its own terms. Without ``refound`` (``[]``, or no face found on any copy) the
    frame is ``landmarks``' own and carries no frame term.
    """
    nan = dict.fromkeys(SITES, math.nan)
    if landmarks is None:
        return Hairline(nan, dict(nan), math.nan, math.nan, note="no face found in the photo")
    refound = landmarks_found_again(rgb) if refound is None else list(refound)
    meshes = [landmarks.points, *refound]
    keep = agreeing_meshes(meshes)
    frame = face_frame(replace(landmarks, points=np.mean([meshes[i] for i in keep], axis=0)))
    copies = [face_frame(replace(landmarks, points=meshes[i]))[:4] for i in keep if i > 0]
    lab = cv2.cvtColor(np.ascontiguousarray(np.clip(rgb, 0, 1), np.float32), cv2.COLOR_RGB2Lab)
    sites, se, notes = {}, {}, {}
    for name, offset in SITES.items():
        h_px, se_px, why = _site(lab, frame, offset)
        sites[name], se[name] = 100.0 * h_px / frame[3], 100.0 * se_px / frame[3]
        if math.isfinite(sites[name]):
            se[name] = math.hypot(_zero_nan(se[name]), frame_se(frame, copies, offset, sites[name]))
        if why:
            notes[name] = why
    return Hairline(sites, se, frame[3], frame[4], notes)


def _site(lab: np.ndarray, frame: tuple, offset: float) -> tuple[float, float, str | None]:
    """``(height, se, note)`` in px of the site at ``offset`` (IOD) in the ``lab`` photo with
    the :func:`face_frame` ``frame``. ``se`` adds in quadrature :data:`SLIDE_SHARE` times the
    slide of :func:`_jump` and :data:`JUMP_SHARE` times its jump, or the whole jump when it exceeds
    :data:`AMBIGUOUS_IOD` (two edges far apart; ``note`` says so). ``note`` is ``None``, that
    one, or why the height is NaN (no hairline; hair that a slightly higher threshold no
    longer finds)."""
    origin, e, n, iod, brow = frame
    samples = _strip(lab, origin, e, n, iod, offset)
    profile = _profile(samples, iod, brow)
    h, why = (math.nan, profile) if isinstance(profile, str) else _crossing(*profile, iod)
    if why:
        return math.nan, math.nan, why
    slide, jump = _jump(lab, frame, offset, profile, h)
    note, jump_se = None, JUMP_SHARE * jump
    if jump > AMBIGUOUS_IOD * iod:  # two edges far apart: either may be found next time
        note, jump_se = _ambiguity_note(jump / iod), jump
        if not math.isfinite(jump):
            return math.nan, math.nan, note
    return h, math.hypot(SLIDE_SHARE * slide, jump_se), note


def _ambiguity_note(jump_iod: float) -> str:
    """The note of a site whose height jumps by ``jump_iod`` (``inf``: no hair found)."""
    if not math.isfinite(jump_iod):
        return "ambiguous boundary: a slightly higher threshold finds no hair (not measured)"
    return (
        f"ambiguous boundary: the height moves by {100.0 * jump_iod:.0f} % IOD under a small "
        "change of the threshold or of the strip's place (another edge: a shadow, a fold of "
        "the forehead, a strand of hair); its standard error carries the whole move"
    )


def _jump(
    lab: np.ndarray, frame: tuple, offset: float, profile: tuple, h: float
) -> tuple[float, float]:
    """``(slide, jump)`` (px) of the height ``h`` of the site at ``offset`` under the tries:
    the threshold of its ``profile`` (:func:`_profile`) ``1 -/+ THRESHOLD_JITTER`` times its
    value and the strip moved sideways by ``-/+ SHIFT_IOD``. ``slide``: the root mean square of
    the moves under :data:`JUMP_MIN_IOD` (the crossing sliding along its boundary; 0 without
    any); ``jump``: the largest move of at least that (another edge; 0 without any, ``inf``
    when the higher threshold finds no hairline: the hair barely above it). A moved strip that
    finds no hairline tries nothing."""
    origin, e, n, iod, brow = frame
    d, thr, r1 = profile
    heights = [_crossing(d, thr * (1.0 + s * THRESHOLD_JITTER), r1, iod)[0] for s in (-1, 1)]
    if not np.isfinite(heights[1]) and THRESHOLD_JITTER > 0:
        return 0.0, math.inf
    heights += [
        _height(_strip(lab, origin, e, n, iod, offset + s * SHIFT_IOD), iod, brow)[0]
        for s in (-1, 1)
        if SHIFT_IOD > 0
    ]
    moves = np.abs([x - h for x in heights if np.isfinite(x)])
    slides = moves[moves < JUMP_MIN_IOD * iod]
    slide = math.sqrt(float(np.mean(np.square(slides)))) if slides.size else 0.0
    return slide, float(np.max(moves[moves >= JUMP_MIN_IOD * iod], initial=0.0))


def hairline_measured(hairline: dict | None) -> bool:
    """Whether a pair's frontal-hairline record (``settings["hairline"]`` of a scalp pair,
    ``hairline`` of its ``result.json``) measured the hairline: both photos showed a face (no
    ``note``) and it holds changes. Such a pair is a frontal view."""
    hairline = hairline or {}
    return not hairline.get("note") and bool(hairline.get("changes"))


def hairline_changes(
    before: Hairline,
    after: Hairline,
    *,
    mm_per_iod_pct: tuple[float | None, float | None] = (None, None),
    fdr: float = 0.05,
) -> dict[str, dict[str, dict]]:
    """``{site: {metric: change}}`` of the two photos' hairlines (after - before, positive when
    the hairline recedes): ``before``, ``after``, ``delta``, ``se``, ``z``, ``p``, ``q``,
    ``significant``, ``unit``, ``direction``. ``mm_per_iod_pct`` gives each photo's mm per
    % IOD (from a scale or the interpupillary distance; ``None``: not known). The person's
    interocular distance in mm is the same in both photos, so both heights are read in mm at the
    mean of the scales known (one photo's serves both; none: the mm metric is NaN): the mm
    change is the % IOD change in other units, with the same ``z``, ``p``, ``q`` and
    significance, and two photos' scales that differ by their own measuring error do not move
    it."""
    from scipy.stats import false_discovery_control, norm

    known = [k for k in mm_per_iod_pct if k is not None and math.isfinite(k)]
    mm = sum(known) / len(known) if known else math.nan
    out: dict[str, dict[str, dict]] = {}
    tested = []
    for site in SITES:
        vb, va = before.sites[site], after.sites[site]
        se = math.sqrt(
            _zero_nan(before.se[site]) ** 2 + _zero_nan(after.se[site]) ** 2 + CAPTURE_SD_IOD_PCT**2
        )
        out[site] = {}
        for name, k in (("hair.hairline_iod_pct", 1.0), ("hair.hairline_mm", mm)):
            unit, direction = HAIRLINE_METRICS[name][:2]
            b, a, s = vb * k, va * k, se * k
            delta = a - b
            z = delta / s if np.isfinite(delta) and np.isfinite(s) and s > 0 else None
            c = {"before": b, "after": a, "delta": delta, "se": s, "z": z,
                 "p": None if z is None else float(2 * norm.sf(abs(z))), "q": None,
                 "significant": False, "unit": unit, "direction": direction}  # fmt: skip
            out[site][name] = c
            if c["p"] is not None and name == "hair.hairline_iod_pct":
                tested.append(c)
    if tested:
        q = false_discovery_control([c["p"] for c in tested], method="bh")
        for c, qq in zip(tested, q, strict=True):
            c["q"] = float(qq)
            c["significant"] = bool(qq < fdr)
    for site in SITES:  # the mm change is the same test in other units
        iod_c, mm_c = out[site]["hair.hairline_iod_pct"], out[site]["hair.hairline_mm"]
        if mm_c["z"] is not None:
            mm_c.update(q=iod_c["q"], significant=iod_c["significant"])
    return out


def _zero_nan(x: float) -> float:
    return 0.0 if not np.isfinite(x) else float(x)
