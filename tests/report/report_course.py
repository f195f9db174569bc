"""A course document built directly from photo files, without the store.

:func:`course_from_pairs` runs :func:`mesovision.pipeline.align_pair` and
:func:`mesovision.compare.compare_pair` on every later session against the baseline (and against
the previous session), writes the compared images as PNGs and assembles the same dict as
``mesovision.course.course_document`` (the contract is in :mod:`mesovision.report`). The report's
tests use it; the store is not needed.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["course_from_pairs", "face_size_check"]


def face_size_check(interocular_px: float) -> dict:
    """A capture check in the course document's format: the face is large enough to measure.

    A stand-in for the store's capture checks (``mesovision.checks``), using the same limit as the
    alignment (:data:`mesovision.align.THRESHOLDS` ``min_interocular_px``).
    """
    from mesovision.align import THRESHOLDS

    limit = THRESHOLDS["min_interocular_px"]
    ok = bool(interocular_px >= limit)
    return {
        "name": "face_size",
        "ok": ok,
        "severity": "fail",
        "value": float(interocular_px),
        "threshold": limit,
        "unit": "px",
        "message": (
            f"face size ok: {interocular_px:.0f} px between the eyes (minimum {limit:.0f})"
            if ok
            else f"move closer: the face is {interocular_px:.0f} px between the eyes, "
            f"minimum {limit:.0f}"
        ),
    }


def _photo_entry(photo_id: int, path: Path, checks: list[dict]) -> dict:
    from mesovision.io import sha256_file

    return {
        "id": photo_id,
        "sha256": sha256_file(path),
        "path": str(path.resolve()),
        "file_name": path.name,
        "capture_date": None,
        "checks": checks,
    }


def _compare(before: Path, after: Path, out: Path, *, treated, lighting: str, mode: str):
    """Align and compare one pair in capture ``mode`` as a stored course does (the scalp mode
    with a ruler's scale and the frontal hairline, the body checks); write its PNGs into
    ``out``; ``(record, images, pair)``."""
    from mesovision.checks import add_body_checks
    from mesovision.compare import compare_pair, comparison_record, output_images
    from mesovision.io import to_jsonable, write_png
    from mesovision.pipeline import align_pair

    pair = align_pair(str(before), str(after), mode=mode)
    ppm = None
    if mode == "scalp":
        from mesovision.frontal_hairline import add_hairline
        from mesovision.scale import resolve_scale

        scale, pair = resolve_scale(pair)
        ppm = scale.px_per_mm_working
        pair = add_hairline(pair, px_per_mm_working=ppm)
    cmp = compare_pair(pair, lighting=lighting, treated=tuple(treated), px_per_mm_at_before=ppm)
    cmp = add_body_checks(cmp)
    out.mkdir(parents=True, exist_ok=True)
    images = {"before": str(write_png(out / "before.png", pair.before.rgb).resolve())}
    for name, img in output_images(cmp).items():
        images[name.removesuffix(".png")] = str(write_png(out / name, img).resolve())
    return to_jsonable(comparison_record(cmp)), images, pair


def _per_session(n: int, dates, treated, products, notes) -> tuple[list, list, list, list]:
    """The per-session lists with their defaults, each checked to hold ``n`` entries."""
    start = datetime.date(2025, 1, 6)
    dates = (
        list(dates)
        if dates is not None
        else [(start + datetime.timedelta(days=14 * i)).isoformat() for i in range(n)]
    )
    treated = [list(t) for t in treated] if treated is not None else [[] for _ in range(n)]
    products = list(products) if products is not None else [None] * n
    notes = list(notes) if notes is not None else [None] * n
    for label, seq in (("dates", dates), ("treated", treated), ("products", products)):
        if len(seq) != n:
            raise ValueError(f"{label} has {len(seq)} entries for {n} photos")
    if len(notes) != n:
        raise ValueError(f"notes has {len(notes)} entries for {n} photos")
    return dates, treated, products, notes


def _comparisons(
    paths: list[Path], session_ids: list[int], out: Path, *, treated, previous: bool, lighting, mode
) -> tuple[list[dict], dict[int, float]]:
    """Every later session against the baseline (and the previous one): the document's
    comparison entries and the interocular distance of each session's photo."""
    comparisons: list[dict] = []
    iod: dict[int, float] = {}
    n = len(paths)
    jobs = [(i, 0, "baseline") for i in range(1, n)]
    if previous:
        jobs += [(i, i - 1, "previous") for i in range(1, n)]
    jobs.sort()
    done: dict[tuple[int, int], tuple] = {}
    for k, (i, j, against) in enumerate(jobs, start=1):
        if (i, j) not in done:  # the second session's "previous" is the baseline comparison
            log.info("comparing session %d against session %d", session_ids[i], session_ids[j])
            # Regions treated from the reference session to this one stay out of the lighting
            # reference (as course_document does).
            regions = sorted({r for t in treated[j : i + 1] for r in t})
            done[(i, j)] = _compare(
                paths[j],
                paths[i],
                out / f"comparison_{k}",
                treated=regions,
                lighting=lighting,
                mode=mode,
            )
        record, images, pair = done[(i, j)]
        if pair.before_landmarks is not None:
            iod.setdefault(j, pair.before_landmarks.interocular_px)
            iod.setdefault(i, pair.after_landmarks.interocular_px)
        comparisons.append(
            {
                "session_id": session_ids[i],
                "against": against,
                "against_session_id": session_ids[j],
                "record": record,
                "images": images,
            }
        )
    return comparisons, iod


def _sessions(paths, session_ids, dates, treated, products, notes, checks, iod) -> list[dict]:
    """The document's session entries (default checks: :func:`face_size_check` of the photo)."""
    sessions = []
    for i, p in enumerate(paths):
        if checks is not None:
            photo_checks = list(checks.get(i, []))
        else:
            photo_checks = [face_size_check(iod[i])] if i in iod else []
        sessions.append(
            {
                "id": session_ids[i],
                "date": dates[i],
                "treated": treated[i],
                "product": products[i],
                "notes": notes[i],
                "photo": _photo_entry(100 + i, p, photo_checks),
            }
        )
    return sessions


def course_from_pairs(
    photos: Sequence[str | Path],
    out_dir: str | Path,
    *,
    patient_id: str = "P001",
    name: str | None = None,
    birth_year: int | None = None,
    dates: Sequence[str] | None = None,
    treated: Sequence[Sequence[str]] | None = None,
    products: Sequence[str | None] | None = None,
    notes: Sequence[str | None] | None = None,
    view: str = "front",
    previous: bool = True,
    lighting: str = "reference",
    checks: Mapping[int, list[dict]] | None = None,
) -> dict:
    """A course document for the photos of one patient, one photo per session.

    Parameters
    ----------
    photos : sequence of path
        One photo per session, in date order; the first is the baseline.
    out_dir : path
        Folder for the compared images (``comparison_<k>/*.png``); created; must not hold them yet.
    patient_id, name, birth_year, view
        The document's patient and view; the view's capture mode
        (:func:`mesovision.views.view_mode`: ``body:thigh`` the body mode) compares the photos.
    dates : sequence of str, optional
        ``YYYY-MM-DD`` per session (default: every 14 days from 2025-01-06).
    treated, products, notes : sequences, optional
        Per session: treated regions, product, notes (default: none). The regions treated from
        the reference session to the later one are left out of the lighting reference.
    previous : bool
        Also list each session's comparison with the session before it (for the second session
        that is the baseline comparison again, as in ``course_document``).
    lighting : str
        Lighting method passed to :func:`mesovision.compare.compare_pair`.
    checks : mapping of session index -> list of check dicts, optional
        Capture checks per session (index in ``photos``). Default: :func:`face_size_check` of the
        photo's face.

    Returns
    -------
    dict
        The course document (see :mod:`mesovision.report`).
    """
    from mesovision import __version__

    paths = [Path(p) for p in photos]
    n = len(paths)
    if n < 1:
        raise ValueError("a course needs at least one photo")
    dates, treated, products, notes = _per_session(n, dates, treated, products, notes)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    session_ids = [i + 1 for i in range(n)]
    from mesovision.views import view_mode

    mode = view_mode(view)
    comparisons, iod = _comparisons(
        paths, session_ids, out, treated=treated, previous=previous, lighting=lighting, mode=mode
    )
    sessions = _sessions(paths, session_ids, dates, treated, products, notes, checks, iod)
    return {
        "schema_version": "1.1",
        "generated_by": f"mesovision {__version__}",
        "patient": {"id": patient_id, "name": name, "birth_year": birth_year},
        "view": view,
        "sessions": sessions,
        "comparisons": comparisons,
        "notes": [],
        "refusals": [],
    }
