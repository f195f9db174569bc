"""The method in plain words for the body and hair capture modes (the face mode's is
:func:`mesovision.record.method_summary`): how the photos are aligned and scored, which noise
terms a change carries there and where they were measured, and how the frontal hairline is
tested. The numbers come from the code's own constants, so the text says what the code does.
"""

from __future__ import annotations

__all__ = ["mode_method_summary"]


def _scoring(mode: str) -> str:
    from ..align.body import MIN_INLIERS, MIN_SKIN_SHARE
    from ..metrics.body import FALLBACK_PX_PER_MM
    from ..scoring import SCORE_IOD_SHARE

    if mode == "body":
        area = (
            "The measured area is the mask given with the photos, else the skin the before photo "
            f"shows by its colour (the whole photo where skin covers less than "
            f"{100 * MIN_SKIN_SHARE:g} % of it)"
        )
        scale = (
            " The cellulite and stretch-mark filters are set in millimetres: at the scale given "
            f"(pixels per mm), else at an assumed {FALLBACK_PX_PER_MM:g} px per mm (counts and "
            "shares are then measured at that assumed scale, the measures in mm and mm² are not "
            "given)."
        )
    else:
        area = "The measured area is the mask given with the photos, else the whole photo"
        scale = (
            " The measures in mm, µm or per cm² need the scale given with the photos (or a "
            "millimetre ruler found in the before photo); without it only the per-pixel ones "
            "are given."
        )
    return (
        "The after photo is aligned on the before one by image features (SIFT features "
        "matched by Lowe's ratio test, a homography fitted by RANSAC, "
        f"refined by ECC over the measured area); at least {MIN_INLIERS} matches must agree on "
        f"it. {area}, carried into the after photo by the alignment. Each photo is scored in "
        "its own frame (warping would soften fine detail), resampled by area averaging (the "
        f"before photo to at most {SCORE_IOD_SHARE} x its size, the after photo by the "
        "alignment's scale as well), after lighting normalization fitted "
        "on the measured area itself (no part of it is known to be untreated, so an even change "
        "of colour over the whole area is partly taken for a change of light). Pixels clipped "
        "at capture in either photo are left out of both; the before photo's measured area is "
        "the baseline skin of both." + scale
    )


def _noise(mode: str) -> str:
    from ..scoring import HAIR_TILE_SHARE

    if mode == "body":
        own = (
            "sd_counting the pixels of a share at risk of flipping over its threshold, and for "
            "the stretch marks a streak that another capture breaks or loses as a whole where "
            "its colour contrast dips towards the linking level (the count moves by one, the "
            "length by a piece); the dimple count has no Poisson term (a second photo shows the "
            "same dimples again); sd_capture, for the cellulite and stretch-mark measures, the "
            "root mean square change over 6 unchanged pairs of rendered skin, and for the skin "
            "measures (redness, spots, texture, bruises) the terms fitted on synthetic "
            "recaptures of real faces (without the between-region term), used on body skin "
            "unchanged"
        )
    else:
        own = (
            "sd_counting the pixels of the visible scalp at risk of flipping between hair and "
            "scalp; the hair counts have no Poisson term (a second photo shows the same hairs "
            "again); sd_capture, for the density, the shaft width and the thin-hair share, the "
            "root mean square change over 8 unchanged pairs of rendered scalps"
        )
    return (
        "Every change has a standard error se = sqrt(se_paired^2 + sd_registration^2 + "
        "sd_recapture^2 + sd_counting^2 + sd_capture^2) and a noise floor, 1.96 se "
        "(the normal reference: no null reference was fitted for these photos). se_paired comes "
        "from the change itself: the measured area is cut into square tiles of "
        f"{HAIR_TILE_SHARE:g} x the before photo's shorter side (each holds a few "
        f"{'dimples' if mode == 'body' else 'hairs'}), each tile is measured in both photos "
        "over the same skin, and the robust spread of the per-tile changes over the square root "
        "of their number is its standard error; sd_registration is the change when the area "
        "moves by the alignment residual; sd_recapture the change when the after photo is "
        "scored as if captured again; " + own + ". The between-region, focus-detail and head-pose "
        "terms do not apply here (one measured area, no head). A change is significant "
        "when its p-value, adjusted by Benjamini-Hochberg within its group, is below 0.05 (a "
        "false discovery rate of 5 % in each group): the headline measure of the treated area "
        "(the primary endpoint) is tested apart from every other change."
    )


def _verdicts(mode: str) -> str:
    if mode == "body":
        return (
            "The cellulite and stretch-mark measures take the body texture verdict: the texture "
            "limits (light, focus, image noise, JPEG quality), plus how far the raking light "
            "turned between the photos (comparable up to 10°, not comparable beyond 20°) and "
            "how much of the baseline's measured area the after photo shows (90 %, 70 %); the "
            "skin measures take their own families' verdicts (colour, pigmentation, texture, "
            "bruise). Limited: standard errors widened; not "
            "comparable: values shown, not tested, with the reason."
        )
    return (
        "The hair measures take the texture verdict (focus and image noise move hair "
        "detection as they move texture): limited, their standard errors are widened; not "
        "comparable, their values are shown but not tested, with the reason."
    )


def _hairline() -> str:
    from ..hairline import CAPTURE_SD_IOD_PCT

    return (
        "The frontal hairline: in each photo, in its own frame, the hairline's height above the "
        "line through the eyes at five sites (the midline, left and right of it, both "
        "temples), in % of the distance between the pupils (so that neither the alignment nor "
        "the zoom enters). Its standard error adds each photo's own terms (the height read with "
        "the threshold 10 % lower or higher and the strip moved sideways, and the face frame's "
        f"uncertainty) and a capture term of {CAPTURE_SD_IOD_PCT:g} % of the distance between "
        "the pupils; the change is tested against the normal, with Benjamini-Hochberg over the "
        "five sites. The visible scalp share and part width of a frontal photo are measured "
        "over the whole photo, face and background included, and say nothing about the "
        "hairline."
    )


def mode_method_summary(mode: str, *, hairline: bool = False) -> list[str]:
    """The method as paragraphs for a comparison in capture ``mode`` (``body``, ``scalp``,
    ``trichoscopy``); with ``hairline``, the frontal hairline's paragraph too."""
    paras = [_scoring(mode), _noise(mode), _verdicts(mode)]
    return paras + ([_hairline()] if hairline else [])
