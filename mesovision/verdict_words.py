"""The words a comparability verdict's reason fills in (:func:`mesovision.comparability.verdicts`):
which photo is the noisier, the blurrier or the enlarged one, what to do about it, and which way
the raking light turned, each from the pair's :class:`~mesovision.comparability.Mismatch`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .comparability_records import Mismatch

__all__ = ["reason_words"]


def reason_words(m: Mismatch) -> dict[str, str | float | None]:
    """Every word a limit's ``what`` and ``advice`` may name (``{noisier}``, ``{way}``,
    ``{enlarged}``, ``{factor}``, ...)."""
    return {
        **_sides(m),
        **_worse_photo(m),
        "enlarged": m.enlarged_photo,
        "factor": m.enlargement,
    }


def _worse_photo(m: Mismatch) -> dict[str, str]:
    """Which photo is the noisier and which shows less detail (the ratios are after over
    before), and what to do: a retake mends the after photo, not the baseline."""
    after_noisier = m.noise_ratio is None or m.noise_ratio >= 1.0
    after_blurrier = m.detail_ratio is None or m.detail_ratio <= 1.0
    cannot = "which a retake of the after photo cannot mend: compare with a {} baseline"
    return {
        "noisier": "after" if after_noisier else "before",
        "noise_advice": "retake with more light or a lower ISO"
        if after_noisier
        else "the baseline photo is the noisier, " + cannot.format("cleaner"),
        "blurrier": "after" if after_blurrier else "before",
        "detail_advice": "retake in focus at the baseline's distance"
        if after_blurrier
        else "the baseline photo shows less detail, " + cannot.format("sharper"),
    }


def _sides(m: Mismatch) -> dict[str, str]:
    """Which way the lamp turned and where it stands now, in words ("counter-clockwise",
    "upper left"), for the light's reason."""
    from .relief import angle_between_deg, side_name

    if m.light_before_deg is None or m.light_after_deg is None:
        return {"way": "", "after": ""}
    turn = angle_between_deg(m.light_before_deg, m.light_after_deg)
    return {
        "way": "counter-clockwise" if turn > 0 else "clockwise",
        "after": side_name(m.light_after_deg),
    }
