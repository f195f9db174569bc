"""Facial expression as measured quantities, from the Face Landmarker's blendshapes.

MediaPipe's Face Landmarker scores 51 expression blendshapes (ARKit names: ``mouthSmileLeft``,
``jawOpen``, ``eyeBlinkRight``, ...; each in [0, 1], sides the patient's). Skin measures of a
region are not comparable across a change of the expression that moves that region: a smile
folds the cheeks and the perioral skin, a frown the glabella, raised brows the forehead. This
module groups the blendshapes into the few expressions that matter for skin photos
(:data:`EXPRESSIONS`), each the mean of its blendshapes' scores, and names the regions each one
moves. The capture checks (:mod:`mesovision.checks`) compare them with the course's baseline;
a comparison records the expression difference of its pair.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MAX_EXPRESSION_CHANGE",
    "MAX_EXPRESSION_SCORE",
    "Expression",
    "EXPRESSIONS",
    "NEUTRAL_CHECKED",
    "expression_scores",
    "expression_difference",
    "regions_moved",
]

#: Largest change of an expression score from the baseline photo's that counts as the same
#: expression (the frown has its own, :data:`EXPRESSIONS`): the 99th percentile of the changes
#: that synthetic recaptures of the same photo produced on the development half of the faces,
#: rounded up to 0.05, and at least 0.10 (``benchmarks/expression.py``, ``docs/landmarks.md``).
MAX_EXPRESSION_CHANGE = 0.10
#: Largest score of :data:`NEUTRAL_CHECKED` for a neutral expression (a convention: the
#: blendshape is more expressed than not above it).
MAX_EXPRESSION_SCORE = 0.5


@dataclass(frozen=True)
class Expression:
    """An expression: the blendshapes averaged into its score, how to say it, and the regions it
    moves (names of :mod:`mesovision.regions`)."""

    blendshapes: tuple[str, ...]
    words: str
    regions: tuple[str, ...]
    max_change: float = MAX_EXPRESSION_CHANGE


_PERIORBITAL = ("left_periorbital", "right_periorbital")
_CHEEKS = ("left_cheek", "right_cheek")

#: The expressions measured, in the order they are reported.
EXPRESSIONS: dict[str, Expression] = {
    "smile": Expression(
        ("mouthSmileLeft", "mouthSmileRight"),
        "smiling",
        ("perioral", "chin", *_CHEEKS, *_PERIORBITAL, "face"),
    ),
    "mouth_open": Expression(("jawOpen",), "the mouth open", ("perioral", "chin", "face")),
    "pucker": Expression(("mouthPucker", "mouthFunnel"), "pursed lips", ("perioral", "chin")),
    "eye_blink": Expression(("eyeBlinkLeft", "eyeBlinkRight"), "the eyes closed", _PERIORBITAL),
    "eye_squint": Expression(
        ("eyeSquintLeft", "eyeSquintRight", "cheekSquintLeft", "cheekSquintRight"),
        "squinting",
        (*_PERIORBITAL, *_CHEEKS),
    ),
    "brow_raise": Expression(
        ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"),
        "the brows raised",
        ("forehead", "glabella", "face"),
    ),
    # The brow-lowering blendshapes are the noisiest under recapture (99th percentile 0.18) and
    # read above 0.5 on a third of ordinary portraits: a wider limit, and no neutral check.
    "frown": Expression(
        ("browDownLeft", "browDownRight"),
        "frowning",
        ("glabella", "forehead", *_PERIORBITAL),
        max_change=0.20,
    ),
}


#: The expressions a single photo is checked for (eyes are checked by their opening; squint
#: reads up to 0.6 on neutral faces with hooded lids; frown, see above).
NEUTRAL_CHECKED = ("smile", "mouth_open", "pucker", "brow_raise")


def expression_scores(blendshapes: dict[str, float] | None) -> dict[str, float] | None:
    """Score of each expression of :data:`EXPRESSIONS` (mean of its blendshapes, in [0, 1]);
    ``None`` when there are no blendshapes."""
    if not blendshapes:
        return None
    return {
        name: float(sum(blendshapes[b] for b in e.blendshapes) / len(e.blendshapes))
        for name, e in EXPRESSIONS.items()
    }


def expression_difference(
    before: dict[str, float] | None, after: dict[str, float] | None
) -> dict[str, float] | None:
    """``after - before`` for every expression scored in both (``None`` if either is missing)."""
    if not before or not after:
        return None
    return {k: after[k] - before[k] for k in EXPRESSIONS if k in before and k in after}


def regions_moved(difference: dict[str, float] | None) -> dict[str, list[str]]:
    """The regions moved by an expression whose score changed by more than its ``max_change``:
    ``{region: [expression, ...]}``."""
    out: dict[str, list[str]] = {}
    for name, d in (difference or {}).items():
        if abs(d) > EXPRESSIONS[name].max_change:
            for region in EXPRESSIONS[name].regions:
                out.setdefault(region, []).append(name)
    return out
