"""Can these two photos be compared? A verdict per metric family from the pair's measured mismatch.

The noise model (:mod:`mesovision.noise`) says how far two captures of the same skin move a
value when the captures are alike. Two real photos can differ in ways no per-change term sees:
light the normalization could not undo, focus, noise, compression, resolution, enlargement,
pose and expression. Those differences, measured on the pair itself (:class:`Mismatch`; the
measures are in :mod:`mesovision.mismatch`), give each metric family a :class:`Verdict` (both
records are defined in :mod:`mesovision.comparability_records`):

* ``comparable``: every measure within the range the noise model was calibrated on;
* ``limited``: a measure beyond that range but below the not-comparable limit; the family's
  standard errors are widened by ``inflation`` (1 at the comparable limit, 2 at the
  not-comparable limit, linear between), the term ``sd_mismatch`` of each change; a measure
  that only costs sensitivity (the face's size for texture, ``Limit.widens``) or that the noise
  model carries itself (texture's detail ratio: its detail term) widens nothing;
* ``not_comparable``: the family's values are reported but not tested (no z, p or
  significance), with a one-line reason saying what to do.

The measures, on the scoring frames (both photos at the same face scale, after the lighting
correction): the colour error left on untreated reference skin (CIEDE2000 between the two
photos' tile means, median over the tiles), the detail ratio (high- over mid-frequency energy of
L* over the face) and the noise ratio (Immerkaer's estimate on the skin), each after / before,
the lower JPEG quality of the two files, the head-pose difference and the expressions that
changed. In the hair modes light, detail and noise are read on the scalp between the hairs
(:func:`mesovision.mismatch.between_hairs`). The face size of the scoring frame (interocular px)
limits texture; the two faces' size ratio enters through the detail ratio (both are scored at
the smaller's scale); a photo enlarged from a smaller image limits texture and pigmentation by
the detail of that image. The before photo's median melanin density limits bruises (late bruises do
not show on skin that reads dark). A photo without colour
(:attr:`mesovision.types.CaptureInfo.grayscale`) makes the :data:`COLOUR_FAMILIES` not
comparable, and the others too when the other photo has colour. A comparison gives verdicts for
the families it scores (:func:`verdicts` ``families``: outside face mode those of its metrics).

The limits (:data:`LIMITS`) and how they were chosen from calibration runs are in
``docs/method.md`` ("Comparability"); ``benchmarks/calibration.py`` reproduces them.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, replace

from .comparability_records import Mismatch, Verdict

__all__ = [
    "BODY_FAMILIES",
    "BODY_LIMITS",
    "BRUISE_MAX_SKIN_MELANIN",
    "BRUISE_MIN_SCORING_IOD_PX",
    "COLOUR_FAMILIES",
    "FAMILIES",
    "LIMITS",
    "STATUSES",
    "Limit",
    "Mismatch",
    "RELIEF_FAMILIES",
    "SCORE_IOD_SHARE",
    "SCORE_MAX_IOD_PX",
    "Verdict",
    "family_of",
    "verdicts",
]

#: The scoring frame, where both photos are measured (and ``scoring_iod_px`` with them): their
#: common face scale, this share of the smaller interocular distance, at most the maximum
#: (:mod:`mesovision.scoring`).
SCORE_IOD_SHARE = 0.9
SCORE_MAX_IOD_PX = 400.0

#: The metric families a verdict is given for (``body_texture`` in body mode only: the body
#: family's relief, dimples and streaks, :mod:`mesovision.metrics.body`).
FAMILIES = ("colour", "pigmentation", "texture", "bruise", "geometry", "body_texture")
STATUSES = ("comparable", "limited", "not_comparable")


def family_of(metric: str) -> str:
    """The comparability family of a metric: the one its metric family registers
    (``redness.*`` is ``colour``), else the metric family's own name when a verdict is given
    for it, else ``geometry``."""
    from .metrics import FAMILIES as METRIC_FAMILIES

    prefix = metric.split(".", 1)[0]
    registered = METRIC_FAMILIES.get(prefix)
    name = (registered.comparability if registered is not None else None) or prefix
    return name if name in FAMILIES else "geometry"


@dataclass(frozen=True)
class Limit:
    """One measure's limits: comparable up to ``ok``, not comparable beyond ``bad`` (for a
    ``lower`` measure, comparable down to ``ok`` and not comparable below ``bad``).
    ``widens``: whether a value between the two widens the family's standard errors (a
    mismatch the noise model was not calibrated on); a limit that only costs sensitivity (the
    face's size for texture: the model holds, small changes go unseen) makes the family
    ``limited`` with its reason and no widening."""

    measure: str
    ok: float
    bad: float
    lower: bool = False
    what: str = ""
    advice: str = ""
    widens: bool = True

    def grade(self, value: float | None) -> float:
        """0 within ``ok``, 1 at ``bad``, linear between (beyond 1: not comparable)."""
        if value is None or not math.isfinite(value):
            return 0.0
        if self.lower:
            return (self.ok - value) / (self.ok - self.bad) if value < self.ok else 0.0
        return (value - self.ok) / (self.bad - self.ok) if value > self.ok else 0.0


def _ratio_spread(r: float | None) -> float | None:
    """A ratio folded to ``>= 1`` (``max(r, 1 / r)``): 1.5 and 0.67 differ alike."""
    if r is None or not (r > 0 and math.isfinite(r)):
        return None
    return max(r, 1.0 / r)


#: What each upper-bounded measure says and what to do about it.
_WORDING = {
    "delta_e00": (
        "light differs by dE00 {v:.1f} on untreated skin",
        "retake under the baseline's light or use a colour card",
    ),
    "detail_spread": (
        "focus or detail differs (the {blurrier} photo shows less: detail ratio {r:.2f})",
        "{detail_advice}",
    ),
    "noise_spread": (
        "image noise differs (the {noisier} photo is noisier: noise ratio {r:.2f})",
        "{noise_advice}",
    ),
}


def _limit(measure: str, ok: float, bad: float) -> Limit:
    what, advice = _WORDING[measure]
    return Limit(measure, ok, bad, what=what, advice=advice)


_JPEG = Limit(
    "jpeg_quality",
    40.0,
    20.0,
    lower=True,
    what="JPEG quality {v:.0f}",
    advice="export the photos at quality 85 or more",
)


def _face_size(ok: float, bad: float, needs: str) -> Limit:
    """A lower limit of the face's size in the scoring frame (``scoring_iod_px``) that costs
    sensitivity only (limited without widening); ``needs`` says what needs ``ok``."""
    return Limit(
        "scoring_iod_px",
        ok,
        bad,
        lower=True,
        what=f"the face is only {{v:.0f}} px between the eyes as scored ({needs})",
        advice="retake closer, or use the camera's full-resolution file",
        widens=False,
    )


#: A head turned in depth moves the face's outline: about 2 % of the IOD per degree at a cheek
#: (median shift over measured turn on the 21 development 3-D turn pairs of ``calibration.py
#: run --stress``), so 1.5 deg moves it as far as the bulges the swelling family is validated on
#: (1-5 % IOD) and 3 deg twice as far (``docs/method.md``, "Comparability").
_POSE = Limit(
    "pose_deg",
    1.5,
    3.0,
    what="the head is turned {v:.1f} deg differently",
    advice="retake facing the camera as in the baseline",
)

#: Texture (pores, fine lines, the roughness band) lives at a fraction of a millimetre. On the
#: development faces reduced to one size (``benchmarks/validation.py --face-iod``), smoothing
#: of 3 % of the IOD was detected on 92 % of the pairs at about 100 px between the eyes in the
#: scoring frame (1.6 px per mm of an adult's 63 mm), 53 % at 82 px and 7 % at 68 px, where
#: smoothing of 5 % was seen on 29 %: below ``ok`` small changes go unseen (limited, not
#: widened: the null pairs stayed calibrated), below ``bad`` texture is not tested
#: (``docs/method.md``, "Comparability").
_RESOLUTION = _face_size(100.0, 75.0, "texture needs {ok:.0f}")


def _enlarged(bad: float, needs: str) -> Limit:
    """A lower limit of the fine detail as scored (``detail_iod_px``) of an enlarged photo."""
    return Limit(
        "detail_iod_px",
        _RESOLUTION.ok,
        bad,
        lower=True,
        what="the {enlarged} photo appears enlarged about {factor:.1f}x from a smaller image: its "
        f"fine detail is that of a face {{v:.0f}} px between the eyes as scored ({needs})",
        advice="use the camera's original file, not an enlarged copy",
        widens=False,
    )


#: An enlarged photo (:mod:`mesovision.enlargement`) has the detail of the smaller image: texture
#: takes its face-size limits on it; pigmentation is limited below texture's ``ok`` (small, faint
#: spots may go unseen; not validated further), never not comparable (``docs/method.md``).
_ENLARGED_TEXTURE = _enlarged(_RESOLUTION.bad, "texture needs {ok:.0f}")
_ENLARGED_SPOTS = _enlarged(0.0, "spots need {ok:.0f}: small or faint ones may go unseen")

#: Below the eyes the swelling family reads a lid's shift of a fraction of a millimetre and the
#: shading of a bag. On the faces of ``benchmarks/swelling.py`` under 80 px between the eyes in
#: the photo (72 px in the scoring frame, ``SCORE_IOD_SHARE`` of it; the 150-px crops), the
#: lower lid's shift read 75-87 % of the truth at 1-3 % of the IOD and the under-eye shade and
#: the puffiness contour found far fewer bulges than on the larger faces, while the outline's
#: bulges were found alike: below ``ok`` the family is limited (small changes below the eyes may
#: go unseen) without widening (the null pairs stayed calibrated) and never not comparable
#: (``bad`` 0: the outline holds; ``docs/swelling.md``).
_UNDER_EYE_RESOLUTION = _face_size(
    72.0, 0.0, "the measures below the eyes need {ok:.0f}: small changes there may go unseen"
)

#: A bruise is outlined at its half-maximum, a few pixels' blur wide: on a small face a bruise
#: of a few percent of a region is a few dozen pixels and its outline is mostly edge. On the
#: development faces' injected bruises in a comparison (``benchmarks/bruise.py
#: --pair-injections 1 --split dev``: 5-30 % of a region), 59 % of 91 on the 23 faces under
#: 72 px between the eyes in the scoring frame (the 150-px crops, 44-60 px) reached IoU 0.7
#: and 90 % were detected, against 89 % and 93 % of 73 on the 19 larger faces: below ``ok`` the
#: family is limited (small bruises may be missed or outlined roughly) without widening (the
#: null pairs stayed calibrated) and never not comparable (large bruises are found alike).
BRUISE_MIN_SCORING_IOD_PX = 72.0
_BRUISE_RESOLUTION = _face_size(
    BRUISE_MIN_SCORING_IOD_PX,
    0.0,
    "bruises need {ok:.0f}: small ones may be missed or outlined roughly",
)

#: Late bruises (green, yellow-brown) change the skin's chromaticity by what its melanin leaves
#: them. On the development faces as they are and darkened by melanin (``benchmarks/bruise.py
#: --absorbing --melanin`` 0, 0.3 and 0.6: the bruises painted as absorbing pigments; each
#: pair grouped by its face's ``skin_melanin`` row), green bruises in a comparison were detected
#: on 85 % of the pairs on skin of median melanin density up to 0.5, 45 % at 0.5-0.7 and at most
#: 14 % beyond, yellow-brown ones on 82-94 % up to 0.9, 67 % at 0.9-1.1 and at most 24 %
#: beyond, fresh and blue-green ones on 76-100 % throughout. Above ``ok`` the family is limited
#: without widening (the null pairs stayed calibrated) and never not comparable (``bad`` beyond
#: any skin: the darkest darkened face read 2.3). The measure is the photo's: a yellow cast
#: raises it as melanin does, and hides late bruises alike (``docs/method.md``,
#: "Comparability").
BRUISE_MAX_SKIN_MELANIN = 0.5
_SKIN_MELANIN = Limit(
    "skin_melanin",
    BRUISE_MAX_SKIN_MELANIN,
    10.0,
    what="the skin reads dark or yellowish in this photo (melanin density {v:.2f}, over "
    "{ok:g}): green bruises may go unseen, above 1 yellow-brown ones too",
    advice="judge late bruises by eye",
    widens=False,
)

#: The light the normalization left on untreated skin, as the colour-based families take it.
_COLOUR_LIGHT = _limit("delta_e00", 1.5, 3.0)

_LIGHT = Limit(
    "light_change_deg",
    10.0,
    20.0,
    what="the raking light comes from {v:.0f} deg further {way} (on screen) than in the "
    "baseline, from the {after}",
    advice="retake with the baseline's lamp position",
)
_FRAMING = Limit(
    "overlap",
    0.9,
    0.7,
    lower=True,
    what="only {v:.0%} of the baseline's measured area is in this photo",
    advice="retake framing the baseline's area",
)

#: Each family's limits, chosen on the development half of the people: the calibration pairs
#: (ordinary and stress recaptures, ``benchmarks/calibration.py limits``: ``ok`` the largest
#: mismatch whose changes keep |z| > 1.96 near 5 %, ``bad`` where widening the standard errors
#: twice no longer brings it near 5 %) and their real same-person pairs (``calibration.py
#: real``); ``docs/method.md``, "Comparability". Geometry (swelling) takes the colour family's
#: light limits (the flow follows the face's shading and the under-eye shade is a shadow) and
#: pigmentation's detail limits (a focus change moves the edges the outline's flow follows).
LIMITS: dict[str, tuple[Limit, ...]] = {
    "colour": (_COLOUR_LIGHT, _JPEG),
    "pigmentation": (
        _COLOUR_LIGHT,
        _limit("detail_spread", 1.4, 2.0),
        _limit("noise_spread", 2.0, 3.0),
        _JPEG,
        _ENLARGED_SPOTS,
    ),
    "texture": (
        _limit("delta_e00", 3.0, 5.0),
        # (no widening: the detail term of the noise model carries the focus mismatch)
        replace(_limit("detail_spread", 1.2, 1.45), widens=False),
        _limit("noise_spread", 1.4, 2.5),
        _JPEG,
        _RESOLUTION,
        _ENLARGED_TEXTURE,
    ),
    "bruise": (
        _COLOUR_LIGHT,
        _limit("detail_spread", 1.5, 2.5),
        _limit("noise_spread", 2.5, 4.0),
        _JPEG,
        _BRUISE_RESOLUTION,
        _SKIN_MELANIN,
    ),
    "geometry": (_POSE, _COLOUR_LIGHT, _limit("detail_spread", 1.4, 2.0), _UNDER_EYE_RESOLUTION),
}
#: What body photos add to the limits of the families that read relief (``body_texture``, and
#: ``texture`` in body mode): the light's direction (relief shows through raking light, and a
#: turned lamp moves its shading, ``benchmarks/body.py``) and the framing.
BODY_LIMITS = (_LIGHT, _FRAMING)
#: The families given a verdict only in body mode (a :class:`Mismatch` with an ``overlap``),
#: each with the family of :data:`LIMITS` whose limits it takes.
BODY_FAMILIES = {"body_texture": "texture"}
#: The families that take :data:`BODY_LIMITS` too in body mode.
RELIEF_FAMILIES = ("texture", "body_texture")
#: The families whose measures need colour, not comparable when a photo has none
#: (:attr:`Mismatch.grayscale_photos`): redness (a*, the erythema index, haemoglobin),
#: pigmentation (ITA, melanin, spots found on melanin), bruises (their hues) and, in body mode,
#: the stretch marks (found on a*) with the dimples of their family. Texture and geometry
#: (the outline's flow, the under-eye shade) read L* only: they stay comparable when both
#: photos are grayscale, and are not comparable when one is (a grey file's lightness weighs the
#: channels otherwise than L*: on the Grace Hopper sample pair without changes, the after photo
#: made grayscale gave 9 significant texture and under-eye shade changes, both made grayscale 1).
COLOUR_FAMILIES = ("colour", "pigmentation", "bruise", "body_texture")


def _values(m: Mismatch) -> dict[str, float | None]:
    return {
        "delta_e00": m.delta_e00,
        "detail_spread": _ratio_spread(m.detail_ratio),
        "noise_spread": _ratio_spread(m.noise_ratio),
        "jpeg_quality": None if m.jpeg_quality is None else float(m.jpeg_quality),
        "pose_deg": m.pose_deg,
        "scoring_iod_px": m.scoring_iod_px,
        "light_change_deg": m.light_change_deg,
        "overlap": m.overlap,
        "skin_melanin": m.skin_melanin,
        "detail_iod_px": m.detail_iod_px,
    }


def _no_colour(fam: str, photos: tuple[str, ...]) -> Verdict:
    """The not-comparable verdict of a family when ``photos`` (the before and/or after photo)
    have no colour: a :data:`COLOUR_FAMILIES` family always, the others when only one photo is
    grayscale (its grey weighs the channels otherwise than the colour photo's L*)."""
    if len(photos) > 1:
        what = "the before and after photos have no colour (grayscale); retake them in colour"
    elif fam in COLOUR_FAMILIES:
        what = f"the {photos[0]} photo has no colour (grayscale); retake it in colour"
    else:
        other = "after" if photos[0] == "before" else "before"
        what = (
            f"the {photos[0]} photo has no colour (grayscale) and its grey is not the {other} "
            "photo's lightness; retake it in colour"
        )
    return Verdict(fam, "not_comparable", f"{fam}: {what}")


def verdicts(m: Mismatch, families: Collection[str] | None = None) -> dict[str, Verdict]:
    """The verdict of every family of :data:`FAMILIES` (or of ``families``: those scored) from
    the measured mismatch (:data:`BODY_FAMILIES` only for a body pair, whose mismatch has an
    ``overlap``; there the :data:`RELIEF_FAMILIES` take the light's and the framing's limits
    too). The :data:`COLOUR_FAMILIES` are not comparable when a photo has no colour
    (``grayscale_photos``), and every family when only one of the two has none."""
    values = _values(m)
    raw = {
        "delta_e00": m.delta_e00,
        "detail_spread": m.detail_ratio,
        "noise_spread": m.noise_ratio,
    }
    from .verdict_words import reason_words

    words = reason_words(m)

    def said(lim: Limit) -> str:  # what a limit's measure reads on this pair
        v = values[lim.measure]
        return lim.what.format(v=v, r=raw.get(lim.measure) or v, ok=lim.ok, **words)

    out = {}
    given = dict(LIMITS)
    if m.overlap is not None:
        given.update({f: LIMITS[like] for f, like in BODY_FAMILIES.items()})
    for fam, limits in given.items():
        if families is not None and fam not in families:
            continue
        gray = m.grayscale_photos
        if gray and (fam in COLOUR_FAMILIES or len(gray) == 1):
            out[fam] = _no_colour(fam, gray)
            continue
        if fam in RELIEF_FAMILIES and m.overlap is not None:
            limits = limits + BODY_LIMITS
        worst, worst_grade, widening = None, 0.0, 0.0
        for lim in limits:
            g = lim.grade(values[lim.measure])
            if g > worst_grade:
                worst, worst_grade = lim, g
            if lim.widens:
                widening = max(widening, min(g, 1.0))
        # An expression change widens geometry when no widening limit does (a limit that only
        # costs sensitivity, the face's size, gives way to it).
        if fam == "geometry" and m.expression_regions and widening < 1e-9:
            regions = ", ".join(m.expression_regions)
            out[fam] = Verdict(
                fam,
                "limited",
                f"{fam}: the expression differs ({regions}); retake with the baseline's "
                "neutral expression",
                2.0,
            )
            continue
        if worst is None:
            out[fam] = Verdict(fam, "comparable", "")
            continue
        prefix = {"light_change_deg": "light", "overlap": "framing"}.get(worst.measure, fam)
        reason = f"{prefix}: {said(worst)}; {worst.advice.format(**words)}"
        # the other limits this pair is past too: a retake that mends one meets the next
        others = sorted(
            (lim for lim in limits if lim is not worst and lim.grade(values[lim.measure]) > 0),
            key=lambda lim: -lim.grade(values[lim.measure]),
        )
        if others:
            reason += "; also " + ", and ".join(said(lim) for lim in others)
        if worst_grade > 1.0:
            out[fam] = Verdict(fam, "not_comparable", reason)
        else:
            out[fam] = Verdict(fam, "limited", reason, round(1.0 + widening, 3))
    return out
