"""The records of comparability: a pair's measured :class:`Mismatch` and a metric family's
:class:`Verdict`.

:mod:`mesovision.comparability` turns the one into the other (its module docstring gives the
measures and the limits); :mod:`mesovision.remeasure` measures the mismatch. Both classes are
importable from :mod:`mesovision.comparability` too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Mismatch", "Verdict"]


@dataclass(frozen=True)
class Mismatch:
    """What differs between the two photos beyond the skin, measured on the scoring frames (both
    photos at the same face scale, after the lighting correction).

    Attributes
    ----------
    delta_e00 : float or None
        The colour error left on untreated reference skin: CIEDE2000 between the two photos'
        tile means, median over the tiles (``None``: no reference skin).
    n_reference_tiles : int
        The number of tiles behind ``delta_e00``.
    detail_ratio : float or None
        The after photo's detail over the before photo's (high- over mid-frequency energy of L*
        over the face; below 1: the after photo is the blurrier).
    noise_ratio : float or None
        The after photo's image noise over the before photo's (Immerkaer's estimate on L* of
        the skin; above 1: the after photo is the noisier).
    scoring_iod_px : float or None
        The interocular distance in the scoring frame, px (``None`` without landmarks).
    size_ratio : float or None
        The smaller face's interocular distance over the larger's, each in its file's pixels,
        in ``(0, 1]`` (``None`` unless both photos show a face).
    jpeg_quality : int or None
        The lower estimated JPEG quality of the two files (``None``: neither is a JPEG).
    pose_deg : float or None
        The larger of the yaw and pitch differences between the two heads, degrees (``None``:
        no head pose).
    expression_regions : tuple of str
        The regions an expression that changed between the photos moves (a smile the cheeks,
        a frown the glabella, ...: :mod:`mesovision.expression`); empty when none did.
    skin_melanin : float or None
        The before photo's median Tsumura melanin density on its face skin (exposure-invariant:
        the shading direction is taken out; dimensionless); ``None`` when not measured.
    light_before_deg, light_after_deg : float or None
        Body mode: the raking light's azimuth in each photo, degrees counter-clockwise on
        screen, both in the before photo's frame (``None``: no dominant direction, or not body
        mode).
    overlap : float or None
        Body mode: the share of the before photo's measured area that the after photo covers,
        in ``[0, 1]`` (``None`` outside body mode).
    grayscale_photos : tuple of str
        The photos (``"before"``, ``"after"``) without colour
        (:attr:`mesovision.types.CaptureInfo.grayscale`).
    enlarged_photo : str or None
        The photo (``"before"`` or ``"after"``) enlarged from a smaller image
        (:mod:`mesovision.enlargement`; the more enlarged one when both are), ``None`` when
        neither is.
    enlargement : float or None
        That photo's estimated enlargement factor (``None`` when neither photo is enlarged).
    detail_iod_px : float or None
        The fine detail of the pair as scored: the interocular distance, in px of the scoring
        frame, of the smaller image the enlarged photo was made from (at most
        ``scoring_iod_px``; ``None`` when neither photo is enlarged).
    """

    delta_e00: float | None
    n_reference_tiles: int
    detail_ratio: float | None
    noise_ratio: float | None
    scoring_iod_px: float | None
    size_ratio: float | None
    jpeg_quality: int | None
    pose_deg: float | None
    expression_regions: tuple[str, ...] = ()
    skin_melanin: float | None = None
    light_before_deg: float | None = None
    light_after_deg: float | None = None
    overlap: float | None = None
    grayscale_photos: tuple[str, ...] = ()
    enlarged_photo: str | None = None
    enlargement: float | None = None
    detail_iod_px: float | None = None

    @property
    def light_change_deg(self) -> float | None:
        """How far the raking light turned between the photos (degrees, 0-180), or ``None``
        when either photo's light has no dominant direction."""
        if self.light_before_deg is None or self.light_after_deg is None:
            return None
        return abs((self.light_after_deg - self.light_before_deg + 180.0) % 360.0 - 180.0)

    def as_dict(self) -> dict:
        """The measures by name; the body-mode ones only for a body pair."""
        d = asdict(self)
        d["expression_regions"] = list(self.expression_regions)
        d["grayscale_photos"] = list(self.grayscale_photos)
        if self.overlap is None:
            for k in ("light_before_deg", "light_after_deg", "overlap"):
                del d[k]
        return d


@dataclass(frozen=True)
class Verdict:
    """One comparability family's verdict for a pair: whether its changes can be tested, and
    how much its standard errors are widened.

    Attributes
    ----------
    family : str
        The comparability family (``colour``, ``pigmentation``, ``texture``, ``bruise``,
        ``geometry``, ``body_texture``), the ``family`` of its :class:`~mesovision.Change` records.
    status : str
        ``"comparable"`` (every measure within the calibrated range), ``"limited"`` (a measure
        beyond it: tested, with widened standard errors) or ``"not_comparable"`` (reported, not
        tested).
    reason : str
        One line naming the worst measure, its value and what to do (empty when comparable).
    inflation : float
        The factor the family's standard errors are widened by (1: not widened; at most 2),
        through the ``sd_mismatch`` term of each change's :class:`~mesovision.NoiseTerms`.
    """

    family: str
    status: str
    reason: str
    inflation: float = 1.0

    @property
    def tested(self) -> bool:
        """Whether the family's changes get a z, p and significance."""
        return self.status != "not_comparable"

    def as_dict(self) -> dict:
        return {"status": self.status, "reason": self.reason, "inflation": self.inflation}
