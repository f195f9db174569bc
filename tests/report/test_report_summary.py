"""The plain-language summary (mesovision.report.summary) on records whose numbers are known."""

import pytest

from mesovision.report.summary import everyday_size, summarize

SPECS = {
    "redness.mean_a": {"display": "redness", "unit_label": "a* units"},
    "pigmentation.spot_count": {"display": "brown spots", "unit_label": "spots"},
    "texture.roughness_ra": {"display": "roughness", "unit_label": "L* units"},
    "bruise.area_pct": {"display": "bruised area", "unit_label": "% of the area"},
    "redness.erythema_index": {"display": "erythema index", "unit_label": "EI"},
}


def _c(before, after, *, significant, family, direction="higher_is_worse", z=0.0, floor=1.0):
    return {
        "before": before,
        "after": after,
        "delta": after - before,
        "significant": significant,
        "family": family,
        "direction": direction,
        "z": z,
        "noise_floor": floor,
    }


def _record(**verdicts):
    return {
        "settings": {"treated": ["left_cheek"]},
        "comparability": {
            f: {"status": verdicts.get(f, "comparable"), "reason": f"{f} reason"}
            for f in ("colour", "pigmentation", "texture", "bruise", "geometry")
        },
        "changes": {
            "left_cheek": {
                "redness.mean_a": _c(12.0, 8.0, significant=True, family="colour", z=-5),
                "pigmentation.spot_count": _c(10, 11, significant=False, family="pigmentation"),
                "texture.roughness_ra": _c(2.0, 2.1, significant=False, family="texture"),
                "bruise.area_pct": _c(0.0, 6.5, significant=True, family="bruise", z=7),
            },
            "chin": {
                "redness.erythema_index": _c(30.0, 36.0, significant=True, family="colour", z=4),
                "redness.mean_a": _c(9.0, 9.5, significant=False, family="colour"),
            },
        },
    }


@pytest.mark.parametrize(
    ("before", "after", "words"),
    [
        (12.0, 8.0, "by about a third"),
        (12.0, 6.0, "by about half"),
        (10.0, 7.5, "by about a quarter"),
        (10.0, 9.0, "by about a tenth"),
        (10.0, 10.3, "slightly"),
        (10.0, 20.0, "to about twice its value"),
        (10.0, 40.0, "to about 4 times its value"),
        (10.0, 0.5, "almost completely"),
        (0.0, 5.0, None),
        (None, 5.0, None),
        (-3.0, -12.0, None),  # no ratio of values below zero ("about 4 times")
        (4.0, -2.0, None),
    ],
)
def test_everyday_size_names_the_nearest_fraction(before, after, words):
    assert everyday_size(before, after) == words


def test_summary_sentences_carry_the_numbers_and_the_verdict():
    s = summarize(_record(), SPECS)
    texts = [x.text for x in s]
    assert texts[0] == (
        "Redness of the left cheek went down by about a third since the first session "
        "(4.0 a* units); that is more than a retake of the photo would change. "
        "This is an improvement."
    )
    assert texts[1] == (
        "Bruised area of the left cheek went up since the first session (from 0 to 6.5 % of "
        "the area); that is more than a retake of the photo would change. This is a worsening."
    )
    assert texts[2] == (
        "On the left cheek, brown spots and roughness did not change beyond what retaking the "
        "photo changes."
    )
    assert texts[3] == "Also beyond a retake: erythema index of the chin (up)."
    assert [x.kind for x in s] == ["change", "change", "no_change", "others"]


def test_a_family_that_cannot_be_compared_gets_its_reason_and_no_numbers():
    s = summarize(_record(colour="not_comparable", texture="limited"), SPECS, since="since May")
    assert s[0].kind == "not_comparable"
    assert s[0].text == "Colour could not be compared between these photos: colour reason."
    assert not any("edness" in x.text or "erythema" in x.text for x in s)
    # A limited family's reason is said once, after the families that were not compared, and
    # not again in each region's sentence.
    assert s[1].kind == "limited" and s[1].family == "texture"
    assert s[1].text == (
        "Texture: only a larger change would count between these photos: texture reason."
    )
    unchanged = next(x for x in s if x.kind == "no_change")
    assert unchanged.text.endswith("did not change beyond what retaking the photo changes.")
    assert "since May" in next(x for x in s if x.kind == "change").text


def test_a_reason_that_names_its_family_is_not_named_twice():
    record = _record(colour="not_comparable", texture="limited")
    record["comparability"]["colour"]["reason"] = "colour: light differs by dE00 3.4"
    record["comparability"]["texture"]["reason"] = "texture: the face is only 77 px"
    s = summarize(record, SPECS)
    assert s[0].text == (
        "Colour could not be compared between these photos: light differs by dE00 3.4."
    )
    assert s[1].text == (
        "Texture: only a larger change would count between these photos: the face is only 77 px."
    )


def test_treated_regions_within_retake_noise_share_one_sentence():
    record = _record()
    record["settings"]["treated"] = ["left_cheek", "chin"]
    record["changes"]["left_cheek"]["pigmentation.spot_count"] = _c(
        10, 1, significant=True, family="pigmentation", direction="higher_is_worse", z=-6
    )
    s = summarize(record, SPECS)
    assert [x.kind for x in s] == ["change", "change", "change", "no_change", "others"]
    # A fall to a tenth or less is "almost completely", without "by"; a count is whole.
    assert s[1].text.startswith(
        "Brown spots of the left cheek went down almost completely since the first session "
        "(9 spots)"
    )
    # One sentence for both treated regions' headline measures within retake noise, in the
    # order of the regions; the chin's erythema index (not a headline) stays among the others.
    assert s[3].text == (
        "Within what retaking the photo changes: on the left cheek, roughness; on the chin, "
        "redness."
    )
    assert s[4].text == "Also beyond a retake: erythema index of the chin (up)."


def test_figures_keep_their_sign_and_the_amount_is_a_size():
    """A contour shift from 0 to -9.59 % of the eye distance went down "from 0 to -9.6", not
    "to 9.6"; an amount ("by about a third (4.0 a* units)") is a size."""
    shift = {"display": "contour shift", "unit_label": "% of the eye distance"}
    specs = {**SPECS, "swelling.contour_pct_iod": shift}
    record = _record()
    record["settings"]["treated"] = ["right_cheek", "left_cheek"]
    record["changes"]["right_cheek"] = {
        "swelling.contour_pct_iod": _c(0.0, -9.59, significant=True, family="geometry", z=-5),
        "redness.mean_a": _c(-3.0, -12.0, significant=True, family="colour", z=-6),
    }
    record["changes"]["left_cheek"] = {
        "swelling.contour_pct_iod": _c(0.0, 5.28, significant=True, family="geometry", z=4),
    }
    texts = [s.text for s in summarize(record, specs)]
    (inward,) = [t for t in texts if t.startswith("Contour shift of the right cheek")]
    assert inward == (
        "Contour shift of the right cheek went down since the first session (from 0 to -9.6 % "
        "of the eye distance); that is more than a retake of the photo would change."
    )  # an outline moved inward from the first photo's is not an improvement over it
    (outward,) = [t for t in texts if t.startswith("Contour shift of the left cheek")]
    assert outward.endswith(" This is a worsening.")
    # values at or below zero have no relative size: their figures are given, with signs
    assert texts[0].startswith(
        "Redness of the right cheek went down since the first session (from -3.0 to -12 a* units)"
    )


def test_a_headline_change_beyond_one_retake_but_not_significant_is_not_called_unchanged():
    """A treated region's headline measure past its noise floor but not significant among all
    the measures tested is not among those "within what retaking the photo changes"."""
    record = _record()
    # roughness moved by 0.3 against a floor of 0.2, not significant after the FDR control
    record["changes"]["left_cheek"]["texture.roughness_ra"] = _c(
        2.0, 2.3, significant=False, family="texture", floor=0.2
    )
    s = summarize(record, SPECS)
    assert [x.kind for x in s] == ["change", "change", "no_change", "beyond_one", "others"]
    assert s[2].text == (
        "On the left cheek, brown spots did not change beyond what retaking the photo changes."
    )
    assert s[3].text == (
        "More than one retake would change, but not significant among all the measures tested: "
        "roughness of the left cheek (up)."
    )
