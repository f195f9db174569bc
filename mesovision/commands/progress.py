"""``mesovision progress PATIENT``: every session against the baseline and the previous one."""

from __future__ import annotations

import argparse
import json

from .common import (
    add_store_option,
    add_subparser,
    add_threads_option,
    printable,
    require_view,
    row_id,
)

__all__ = ["add_parser", "ipd_scale", "ipd_words", "pair_label", "run"]


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "progress",
        "a patient's course: each session against the baseline and the preceding session "
        "(comparisons are computed once and cached in the store)",
        run,
        examples=(
            "mesovision progress P001 --store clinic",
            "mesovision progress P001 --all --session 3 --store clinic",
            "mesovision progress P001 --json --store clinic > progress.json",
        ),
    )
    p.add_argument("patient", help="patient id")
    p.add_argument("--view", default="front", help="photo view (default front)")
    p.add_argument(
        "--session", type=row_id, default=None, metavar="ID", help="the session with this id only"
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="every region and metric (default: those with a significant change)",
    )
    p.add_argument("--json", action="store_true", help="tidy rows and notes as JSON on stdout")
    add_store_option(p)
    add_threads_option(p)


def _cell(row: dict | None) -> str:
    if row is None or row["delta"] is None:
        return "-"
    mark = "*" if row["significant"] else ""
    if row["comparability"] == "not_comparable":
        mark = " n/c"
    return f"{row['delta']:+.3g}{mark}"


def pair_label(session_id: int, date: str, against: str) -> str:
    """A comparison's label in the table and its lines: the session's id and date (two sessions
    can share a date) and what it is compared with, ``s12 2026-03-10 vs prev``."""
    return f"s{session_id} {printable(date)} vs {'base' if against == 'baseline' else 'prev'}"


def _pair_lines(doc: dict, cols: list[tuple], dates: dict) -> list[str]:
    """For each shown comparison, its families that are not comparable or limited (with the
    reason) and its failing body checks (body views), each line prefixed with the pair."""
    from .compare import body_check_lines, comparability_lines

    out = []
    for c in doc["comparisons"]:
        if (c["session_id"], c["against"]) not in cols:
            continue
        verdicts = c["record"].get("comparability") or {}
        lines = body_check_lines(c["record"].get("body_checks"))
        if not all(v["status"] == "comparable" for v in verdicts.values()):
            lines = comparability_lines(verdicts) + lines
        label = pair_label(c["session_id"], dates[c["session_id"]], c["against"])
        out += [f"{label}: {line}" for line in lines]
    return out


def _no_change_text(doc: dict, cols: list[tuple]) -> str:
    """What the table says when no shown comparison has a significant change: in every region,
    or in the families tested when a shown comparison left one untested (not comparable)."""
    from .compare import no_change_line

    untested = any(
        v["status"] == "not_comparable"
        for c in doc["comparisons"]
        if (c["session_id"], c["against"]) in cols
        for v in (c["record"].get("comparability") or {}).values()
    )
    if untested:
        return (
            "no significant change in the families tested (false discovery rate 5 %; the lines "
            "below say which were not)"
        )
    return no_change_line(None)


def _sessions(doc: dict) -> list[dict]:
    """The sessions shown, for the JSON: id, date, whether it is the baseline, and the label of
    the text's columns (``s12 2026-03-10``)."""
    return [
        {"id": s["id"], "date": s["date"], "baseline": i == 0, "label": f"s{s['id']} {s['date']}"}
        for i, s in enumerate(doc["sessions"])
    ]


def ipd_scale(doc: dict) -> float | None:
    """The patient's interpupillary distance (mm) when it is the scale of the course's
    comparisons (the front view: :func:`mesovision.course.comparison_settings`), else None."""
    from ..course import IPD_VIEW

    ipd = doc["patient"].get("ipd_mm")
    return ipd if ipd is not None and doc["view"] == IPD_VIEW else None


def ipd_words(ipd_mm: float) -> str:
    """How the progress table names the scale that an interpupillary distance gives."""
    return (
        f"interpupillary distance {ipd_mm:g} mm: the scale of the measures in mm "
        "(swelling.contour_mm and others)"
    )


def run(args: argparse.Namespace) -> int:
    from ..course import course_document, progress_rows
    from ..io import to_jsonable
    from ..store import open_store
    from .feedback import Feedback

    with Feedback("progress", quiet=args.quiet or args.json) as fb, open_store(args.store) as store:
        fb.stage("comparing the sessions", done="compared the sessions")
        doc = course_document(
            store,
            args.patient,
            view=args.view,
            session=args.session,
            on_step=lambda k, n, label: fb.step(label, total=n),
            warn=args.json,  # the text below prints the notes
        )
    require_view(args.store, args.patient, args.view, doc)
    rows = progress_rows(doc)
    ipd = ipd_scale(doc)
    if args.json:
        out = {"patient": doc["patient"]["id"], "view": doc["view"], "sessions": _sessions(doc)}
        out |= {"ipd_mm": ipd} if ipd is not None else {}
        out = {**out, "rows": rows, "notes": doc["notes"]}
        print(json.dumps(to_jsonable(out), indent=2, allow_nan=False))
        return 0
    sessions = doc["sessions"]
    scale = "" if ipd is None else f"; {ipd_words(ipd)}"
    print(
        f"patient {printable(doc['patient']['id'])}, {printable(doc['view'])} view: "
        f"{len(sessions)} session(s){scale}"
    )
    for i, s in enumerate(sessions):
        tag = "baseline" if i == 0 else ""
        ppm = s["photo"].get("px_per_mm")
        extra = "  ".join(x for x in (tag, f"{ppm:g} px/mm" if ppm else "") if x)
        print(f"  session {s['id']:<4} {printable(s['date'])}  {extra}")
    base_id = sessions[0]["id"] if sessions else None
    cols = [
        (c["session_id"], c["against"])
        for c in doc["comparisons"]
        if c["against"] == "baseline" or c["against_session_id"] != base_id
    ]
    if not sessions:
        print("no session yet")
    elif not cols and len(sessions) < 2:
        print("nothing to compare yet (one session)")
    elif not cols:
        print("no session could be compared (the notes below say why)")
    else:
        dates = {s["id"]: s["date"] for s in sessions}
        by = {(r["session"], r["against"], r["region"], r["metric"]): r for r in rows}
        keys = list(dict.fromkeys((r["region"], r["metric"]) for r in rows))
        if not args.all:
            keys = [k for k in keys if any(by.get((*c, *k), {}).get("significant") for c in cols)]
        names = [pair_label(s, dates[s], a) for s, a in cols]
        w = max(20, *map(len, names))
        print()
        print(f"{'region':<18} {'metric':<36} {'unit':<14}" + "".join(f" {n:>{w}}" for n in names))
        for region, metric in keys:
            unit = next(r["unit"] for r in rows if (r["region"], r["metric"]) == (region, metric))
            cells = "".join(f" {_cell(by.get((*c, region, metric))):>{w}}" for c in cols)
            print(f"{region:<18} {metric:<36} {printable(unit):<14}{cells}")
        if not keys:
            print(_no_change_text(doc, cols))
        print(
            "* significant (false discovery rate 5 %); n/c: not comparable, not tested; "
            "sN: session N; 'base': against the baseline, 'prev': against the previous session"
        )
        for line in _pair_lines(doc, cols, dates):
            print(line)
    for n in doc["notes"]:
        print(f"note: {printable(n)}")
    return 0
