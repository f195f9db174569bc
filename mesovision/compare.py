"""Two photos -> a :class:`Comparison`: scores per region before and after, their changes, each
with a standard error and a test, and a comparability verdict per metric family.

The stages of :func:`compare_pair` (run on threads by :func:`mesovision._threads.run_stages`,
each after its inputs; the result does not depend on the thread count):

1. **Align** (done before: :mod:`mesovision.pipeline`) and **normalize lighting**
   (:mod:`mesovision.lighting`, stage ``fit``), fitted on reference pixels only (untreated
   regions, background) of reduced copies of the aligned pair.
2. **Score each photo in its own frame** (:mod:`mesovision.scoring`; stages ``copies``,
   ``before_own``, ``after``, ``scored_own``), both resampled to a common face scale, the
   before photo's facial skin the baseline of both; then make their bruises agree on standing
   features (:mod:`mesovision.paired_bruises`, stage ``bruises``: ``before`` and ``scored``).
3. **Noise** of each change (:mod:`mesovision.remeasure` and :mod:`mesovision.noise`; stages
   ``tiles_before``, ``paired``, ``recapture``, ``registration_*``): the paired per-tile spread,
   registration, recapture, counting, capture and detail terms (:func:`noise_terms`).
4. **Comparability** (:mod:`mesovision.comparability`, stage ``mismatch``): the pair's measured
   mismatch gives each family a verdict; a limited family's standard errors are widened, a
   not-comparable family is reported untested.
5. **Test** (:func:`assess_changes`): ``delta / se`` against its null reference (its family's
   or the metric's own: a scaled t fitted on null pairs,
   :class:`mesovision.null_reference.NullReference`) gives a two-sided p-value and ``z`` (its
   normal score), then Benjamini-Hochberg over the pair's tested changes (``significant`` when
   the adjusted ``q < FDR``).

The record and the images ``mesovision compare`` writes are made by :mod:`mesovision.record`;
``docs/method.md`` gives the derivations and the calibration.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from . import remeasure as rm
from . import scoring as sc
from ._lazy import ImportOnUse
from ._threads import run_stages
from .change_frame import FRAME_COLUMNS, changes_frame
from .clipping import Clipping, clipping_record
from .color import sharing_lab
from .comparability import Mismatch, Verdict, family_of
from .comparability import verdicts as comparability_verdicts
from .errors import OutputExists, UsageError
from .hairline import hairline_measured
from .io import output_folder, to_jsonable, write_json, write_png
from .lighting import LightingResult
from .metrics import get_metric
from .noise import (
    Change,
    NoiseTerms,
    capture_noise,
    capture_sd,
    control_fdr,
    counting_sd,
    detail_noise,
    detail_sd,
    field_terms,
    mark_primaries,
    pose_sd,
    registration_sd,
    z_score,
)
from .null_reference import NullReference, null_reference, reference_tests
from .paired_bruises import pair_sides, paired_tiles_before
from .pipeline import AlignedPair
from .scored_photo import ScoredPhoto

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use: typing.get_type_hints resolves ``pd.DataFrame`` (a light import)
    pd = ImportOnUse("pandas")

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Comparison:
    """The result of comparing two photos (:func:`compare_pair`, :func:`mesovision.compare`).

    Attributes
    ----------
    pair : AlignedPair
        The photos and their alignment.
    lighting : LightingResult or None
        The lighting normalization fitted on reference skin (``None``: ``lighting="none"``).
    before, after : ScoredPhoto
        Each photo as scored, in its own scoring frame.
    changes : dict of str to dict of str to Change
        ``changes[region][metric]``: values before and after, delta, standard error and test.
    mismatch : Mismatch or None
        What the two photos measurably differ in beyond the skin.
    verdicts : dict of str to Verdict
        ``verdicts[family]``: each comparability family's verdict (the ``family`` of a change).
    settings : dict
        The comparison's options and scoring frames (``lighting``, ``treated``,
        ``score_frame_before``, ``fdr``, ...: ``result.json``'s ``settings``).
    clipping : Clipping or None
        Each region's skin lost to clipping (:func:`mesovision.clipping.clipping_record`).
    """

    pair: AlignedPair
    lighting: LightingResult | None
    before: ScoredPhoto
    after: ScoredPhoto
    changes: dict[str, dict[str, Change]]
    mismatch: Mismatch | None = None
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    settings: dict[str, str | float | list[str] | list[float] | list[list[float]] | None] = field(
        default_factory=dict
    )
    clipping: Clipping | None = None

    def significant(self) -> list[tuple[str, str, Change]]:
        """``(region, metric, change)`` for every significant change of the regions (the frontal
        hairline's, scalp mode, are in ``pair.settings["hairline"]["changes"]``, each with its
        ``significant``; ``result.json`` lists both under ``significant``)."""
        return [(r, m, c) for r, ms in self.changes.items() for m, c in ms.items() if c.significant]

    #: The columns of :meth:`to_frame` and their pandas dtypes
    #: (:data:`mesovision.change_frame.FRAME_COLUMNS`).
    FRAME_COLUMNS: ClassVar[dict[str, str]] = FRAME_COLUMNS

    def to_frame(self) -> pd.DataFrame:
        """The changes as a tidy table: one row per region and metric.

        Returns
        -------
        pandas.DataFrame
            Columns and dtypes :attr:`FRAME_COLUMNS`: ``region``, ``metric``, ``family`` (the
            comparability family: ``colour``, ``pigmentation``, ``texture``, ``bruise`` or
            ``geometry``), ``unit``, ``direction``, ``endpoint`` (``primary`` for the headline
            metric of a treated region) and ``comparability`` (the family's verdict status) as
            ``string``; ``before``, ``after``, ``delta``, ``relative``, ``se``, ``noise_floor``
            and the test's ``z``, ``p`` and ``q`` as ``float64`` (NaN when not tested);
            ``significant`` as ``bool``. Rows in the order of :attr:`changes`.

        Examples
        --------
        >>> import mesovision as mv
        >>> r = mv.compare(*mv.sample_pair(), treated=["left_cheek"], max_side=512)  # quick
        >>> df = r.to_frame()
        >>> len(df) == sum(len(per) for per in r.changes.values())
        True
        >>> str(df.dtypes["delta"]), str(df.dtypes["significant"])
        ('float64', 'bool')
        """
        return changes_frame(self.changes, self.verdicts)

    def to_dict(self) -> dict:
        """The ``result.json`` record :meth:`save` writes (equal to ``json.load`` of it), made in
        memory without the images, in JSON types only (NaN as ``None``)."""
        return to_jsonable(comparison_record(self))

    def save(self, out: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write what ``mesovision compare -o OUT`` writes: ``result.json`` and the images.

        All outputs or none (:func:`mesovision.io.output_folder`): they are written into a
        staging folder that becomes ``out`` at the end.

        Parameters
        ----------
        out : str or os.PathLike
            The output folder; created if missing.
        force : bool, optional
            Write into an existing folder that is not empty, replacing earlier outputs.

        Returns
        -------
        pathlib.Path
            ``out``.

        Raises
        ------
        OutputExists
            ``out`` exists, is not empty, and ``force`` is false (or is not a folder).
        OutputError
            A file cannot be written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import mesovision as mv
        >>> r = mv.compare(*mv.sample_pair(), treated=["left_cheek"], max_side=512)  # quick
        >>> out = r.save(pathlib.Path(tempfile.mkdtemp()) / "result")
        >>> sorted(p.name for p in out.iterdir())[:3]
        ['aligned_after.png', 'bruise_mask_after.png', 'bruise_mask_before.png']
        """
        if not isinstance(out, (str, os.PathLike)):
            raise UsageError(f"out: expected a folder path (str or os.PathLike), got {out!r}")
        target = Path(out)
        if not force and target.is_dir() and any(target.iterdir()):
            raise OutputExists(
                "exists and is not empty; pass force=True to write into it", path=str(target)
            )
        mode = self.pair.settings.get("mode", "face")
        with output_folder(target, output_names(mode), force=force) as staging:
            for name, img in output_images(self).items():
                write_png(staging / name, img)
            write_json(staging / "result.json", self.to_dict())
        return target

    def __repr__(self) -> str:
        n = sum(len(per) for per in self.changes.values())
        return (
            f"<Comparison: {n} changes in {len(self.changes)} regions, "
            f"{len(self.significant())} significant; lighting {self.settings.get('lighting')}>"
        )


def _stage(name: str, fn: Callable, plan: sc.ScoringPlan) -> Callable:
    """``fn`` with the plan bound, named ``name`` (the thread runner logs stages by name)."""

    def stage(*inputs):
        return fn(plan, *inputs)

    stage.__name__ = name
    return stage


def _stages(plan: sc.ScoringPlan) -> dict[str, tuple[Callable, tuple[str, ...]]]:
    """The named stages of a comparison and their inputs, long ones first. A colour card
    corrects the before photo too, so its before photo waits for the fit."""
    card_first = plan.kf == 1.0 and plan.lighting != "none"
    graph = {
        "fit": (sc.fit_lighting, ()),
        "copies": (sc.scoring_copies, ()),
        "before_own": (sc.before_side, ("copies", "fit") if card_first else ("copies",)),
        "after": (sc.after_photo, ("fit", "copies")),
        "tiles_own": (rm.before_tiles, ("before_own",)),
        "scored_own": (sc.after_side, ("before_own", "after")),
        "recapture": (rm.recapture, ("fit", "before_own", "copies")),
        # Each photo scored on its own, then their bruises made to agree (stage ``bruises``).
        "bruises": (pair_sides, ("before_own", "after", "scored_own")),
        "before": (lambda plan, sides: sides[0], ("bruises",)),
        "scored": (lambda plan, sides: sides[1], ("bruises",)),
        "tiles_before": (paired_tiles_before, ("before", "tiles_own")),
        "paired": (rm.paired_tiles, ("before", "tiles_before", "after", "scored")),
        "registration_face": (rm.registration_face, ("before", "after", "scored")),
        "registration_parts": (rm.registration_parts, ("before", "after", "scored")),
        "registration_before": (rm.registration_before, ("before", "after")),
        "mismatch": (
            rm.measure_mismatch,
            ("before", "tiles_before", "after", "paired", "copies", "scored"),
        ),
    }
    return {name: (_stage(name, fn, plan), deps) for name, (fn, deps) in graph.items()}


def compare_pair(
    pair: AlignedPair,
    *,
    lighting: str = "reference",
    treated=(),
    metrics=None,
    px_per_mm_at_before: float | None = None,
    threads: int | None = None,
) -> Comparison:
    """Normalize, score and compare an aligned pair (see the module docstring for the method).

    ``px_per_mm_at_before``: the scale of the before photo's working copy, when known (e.g. from
    the patient's measured interpupillary distance); enables the mm-based metrics.
    ``threads``: independent stages (the two photos, the noise re-measurements) run on this
    many threads (default: see :mod:`mesovision._threads`). The result does not depend on it.
    """
    # scipy (and its BLAS) loaded before the stages run, so that the runner holds its BLAS too.
    import scipy.stats  # noqa: F401

    from .lighting import METHODS

    if lighting not in METHODS:
        raise UsageError(f"unknown lighting method {lighting!r}; valid: {', '.join(METHODS)}")
    plan = sc.plan_scoring(
        pair,
        lighting=lighting,
        treated=treated,
        metrics=metrics,
        px_per_mm_at_before=px_per_mm_at_before,
    )
    with sharing_lab():  # each scoring copy's CIELAB converted once (mesovision.color.keep_lab)
        done = run_stages(threads, _stages(plan))
    before, after, scored = done["before"], done["after"], done["scored"]
    recap: rm.Recapture = done["recapture"]
    shifted = done["registration_face"] | done["registration_parts"]
    terms = noise_terms(
        plan, before, after, scored, done["paired"], recap, shifted,
        done["mismatch"].detail_ratio, done["registration_before"],
    )  # fmt: skip
    verdicts = comparability_verdicts(done["mismatch"], rm.scored_families(plan))
    mode = pair.settings.get("mode", "face")
    # a frontal-hairline view: the scalp share of the whole photo is no endpoint (the hairline,
    # tested apart, is what it measures)
    primary_in = () if hairline_measured(pair.settings.get("hairline")) else treated
    changes = assess_changes(terms, before.scores, scored.scores, verdicts, primary_in, mode)
    return Comparison(
        pair=pair,
        lighting=done["fit"],
        before=ScoredPhoto(
            before.rgb,
            before.regions,
            before.maps,
            before.scores,
            plan.kb,
            before.bruises,
            plan.frame_b,
        ),
        after=ScoredPhoto(
            after.rgb,
            after.regions,
            scored.maps,
            scored.scores,
            plan.ka,
            scored.bruises,
            plan.frame_a,
        ),
        changes=changes,
        mismatch=done["mismatch"],
        verdicts=verdicts,
        settings=pair_settings(plan, recap.gain, px_per_mm_at_before),
        clipping=clipping_record(before.clipped, after.clipped),
    )


def noise_terms(
    plan: sc.ScoringPlan,
    before: sc.BeforeSide,
    after: sc.AfterPhoto,
    scored: sc.AfterScores,
    paired: rm.PairedTiles,
    recap: rm.Recapture,
    shifted: dict[str, list[dict[str, float]]],
    detail_ratio: float | None = None,
    shifted_b: dict[str, list[dict[str, float]]] | None = None,
) -> dict[str, dict[str, NoiseTerms]]:
    """``{region: {metric: NoiseTerms}}`` of every region scored in both photos, from the
    stages' re-measurements (``shifted_b``: the before photo's moved masks of the metrics with
    a two-sided registration term) and the pair's ``detail_ratio`` (:mod:`mesovision.noise`)."""
    reg_b, reg_a = before.regions, after.regions
    scores_b, scores_a = before.scores, scored.scores
    # The between-region term of each metric (per region: relative metrics scale it; NaN when
    # the pair has too few facial parts, which then take the capture term fitted without it).
    sd_fields = {
        name: field_terms(
            name,
            {r: scores_b[r][name] for r in reg_b if r in reg_a},
            {r: scores_a[r][name] for r in reg_b if r in reg_a},
            plan.treated,
        )
        for name in plan.names
    }
    capture = {True: capture_noise(), False: capture_noise(with_field=False)}
    detail = detail_noise()
    terms: dict[str, dict[str, NoiseTerms]] = {}
    for region in (r for r in reg_b if r in reg_a):
        nb, na = int(np.count_nonzero(reg_b[region])), int(np.count_nonzero(reg_a[region]))
        terms[region] = {}
        for name, vb in scores_b[region].items():
            va = scores_a[region][name]
            se_p, n_tiles = paired.se[region][name]
            near = before.near[region].get(name, 0) + scored.near[region].get(name, 0)
            sd_recap = abs(recap.scores[region][name] - va) if region in recap.scores else 0.0
            sd_field = sd_fields[name][region]
            with_field = not math.isnan(sd_field)
            family = get_metric(name).family
            ref = null_reference(family, declared=bool(plan.treated), field=with_field, metric=name)
            terms[region][name] = NoiseTerms(
                se_paired=se_p,
                n_tiles=n_tiles,
                sd_registration=registration_sd(
                    name,
                    [s[name] for s in shifted[region]],
                    va,
                    [s[name] for s in (shifted_b or {}).get(region, ()) if name in s],
                    vb,
                ),
                sd_recapture=sd_recap if np.isfinite(sd_recap) else 0.0,
                sd_counting=counting_sd(
                    name, vb, va, nb, na, plan.ppm, scores_b[region], scores_a[region], near
                ),
                sd_capture=capture_sd(capture[with_field], name, vb, va, (plan.ppm, plan.iod_px)),
                sd_field=sd_field if with_field else 0.0,
                # (the detail term goes with the between-region term)
                sd_detail=detail_sd(detail, name, vb, va, detail_ratio) if with_field else 0.0,
                null_scale=ref.scale,
                null_df=ref.df,
                sd_pose=pose_sd(name, scored.maps, reg_a[region]),
            )
    return terms


def assess_changes(
    terms: dict[str, dict[str, NoiseTerms]],
    scores_b: dict[str, dict[str, float]],
    scores_a: dict[str, dict[str, float]],
    verdicts: dict[str, Verdict],
    treated=(),
    mode: str = "face",
) -> dict[str, dict[str, Change]]:
    """``{region: {metric: Change}}``: each change with its standard error (widened by its
    family's verdict), two-sided ``p`` under its null reference and ``z`` (its normal score),
    the primary endpoints of capture mode ``mode`` in the ``treated`` regions
    (:func:`~mesovision.noise.mark_primaries`) and, over the pair, Benjamini-Hochberg ``q``."""
    changes: dict[str, dict[str, Change]] = {}
    # delta / se of each tested change and its null reference: their p-values in one call
    # (the same values as one call per change, at less cost)
    tested: list[tuple[Change, float, NullReference]] = []
    for region, per in terms.items():
        out = {}
        for name, t in per.items():
            vb, va = scores_b[region][name], scores_a[region][name]
            spec, family = get_metric(name), family_of(name)
            # (a body metric asked for outside body mode takes the texture verdict)
            verdict = verdicts.get(family) or verdicts["texture"]
            if verdict.inflation > 1.0:
                t = dataclasses.replace(
                    t, sd_mismatch=t.total() * math.sqrt(verdict.inflation**2 - 1.0)
                )
            delta = va - vb
            # no change measured (a metric without its scale, a region without the features it
            # reads), a metric whose change is not tested, or no noise term at all: no standard
            # error and no floor (NaN, not 0)
            se = t.total() if np.isfinite(delta) and spec.tested else math.nan
            floor = t.reference.floor * se if se > 0 else math.nan
            ratio = float(z_score(delta, se))
            out[name] = c = Change(
                before=vb,
                after=va,
                delta=delta,
                relative=delta / abs(vb) if np.isfinite(vb) and vb != 0 else None,
                se=se,
                z=None,  # the reference's normal score of p, below
                p=None,
                q=None,
                noise_floor=floor,
                significant=False,
                unit=spec.unit,
                direction=spec.direction,
                family=family,
                noise=t,
            )
            if np.isfinite(ratio) and verdict.tested:
                tested.append((c, ratio, t.reference))
        changes[region] = out
    z, p = reference_tests([r for _, r, _ in tested], [ref for _, _, ref in tested])
    for (c, _, _), zc, pc in zip(tested, z, p, strict=True):
        c.z, c.p = float(zc), float(pc)
    mark_primaries(changes, treated, mode)
    control_fdr([c for per in changes.values() for c in per.values()])
    return changes


# The record and the images compare writes (kept importable from here).
from .record import (  # noqa: E402
    RESULT_SCHEMA_VERSION,
    comparison_record,
    method_summary,
    output_images,
    output_names,
    pair_settings,
)

__all__ = [
    "RESULT_SCHEMA_VERSION",
    "Comparison",
    "ScoredPhoto",
    "compare_pair",
    "comparison_record",
    "method_summary",
    "noise_terms",
    "output_images",
    "output_names",
    "assess_changes",
]
