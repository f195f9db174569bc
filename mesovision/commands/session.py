"""``mesovision session add|edit|remove``: file a session's photos (checked), correct a session, or
remove one."""

from __future__ import annotations

import argparse
import json
import logging

from .common import add_store_option, add_subparser, confirm_removal

__all__ = ["add_parser", "run_add", "run_edit", "run_remove"]

log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "session",
        "file a treatment session's photos in a store, correct a session or remove one",
        examples=(
            "mesovision session add P001 --date 2026-11-02 --photo front.jpg --store clinic",
            "mesovision session edit 3 --date 2026-11-29 --store clinic",
        ),
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_add(actions)
    _add_edit(actions)
    _add_remove(actions)


def _add_add(actions) -> None:
    """``session add``: the options of a new session."""
    a = add_subparser(
        actions,
        "add",
        "add a session: its photos are checked (capture checks, same person as the baseline) and "
        "filed in one step",
        run_add,
        examples=(
            "mesovision session add P001 --date 2026-11-02 --photo front.jpg --store clinic",
            "mesovision session add P001 --date 2026-11-30 --photo f.jpg --photo l.jpg "
            "--view front --view left-45 --treated left_cheek --copy",
            "mesovision session add P002 --date 2026-11-30 --photo thigh.jpg --photo close.png "
            "--view body:thigh --view trichoscopy:vertex --px-per-mm 8 --px-per-mm 50 "
            "--treated body:thigh",
        ),
    )
    a.add_argument("patient", help="patient id")
    a.add_argument("--date", required=True, help="session date, YYYY-MM-DD")
    a.add_argument(
        "--photo", action="append", required=True, metavar="PATH", help="a photo (repeatable)"
    )
    a.add_argument(
        "--view",
        action="append",
        default=None,
        help="view of each photo, once per --photo in the same order: front (default), "
        "left-45, right-45, body:<area>, scalp:<area>, trichoscopy:<area>",
    )
    a.add_argument(
        "--px-per-mm",
        action="append",
        default=None,
        metavar="PX",
        help="the scale of each photo file in pixels per mm (as compare --px-per-mm takes it), "
        "once per --photo in the same order, '-' for a photo without one; needed for a "
        "trichoscopy:<area> photo; a body photo without one is measured at an assumed 4 px "
        "per mm",
    )
    a.add_argument(
        "--treated",
        default="",
        metavar="AREAS",
        help="comma-separated treated areas: face regions (e.g. left_cheek,right_cheek,forehead,"
        "chin) and body, scalp or trichoscopy views (e.g. body:thigh: the area of that view)",
    )
    a.add_argument("--product", default=None, metavar="TEXT", help="product or cocktail")
    a.add_argument("--notes", default=None, metavar="TEXT", help="free notes")
    a.add_argument(
        "--copy",
        action="store_true",
        help="keep a copy of each photo in the store (DIR/photos/<sha256>.<ext>)",
    )
    a.add_argument(
        "--force",
        action="store_true",
        help="import photos even if a capture check or the same-person check fails",
    )
    a.add_argument(
        "--rebaseline",
        action="store_true",
        help="accept a date before the patient's first session (it becomes the baseline)",
    )
    a.add_argument("--json", action="store_true", help="the new session as JSON on stdout")
    add_store_option(a)


def _add_edit(actions) -> None:
    """``session edit``: the fields a correction can change."""
    e = add_subparser(
        actions,
        "edit",
        "correct a session's date, treated areas, product or notes, or a photo's view or scale "
        "(one transaction, recorded with the old values and the time); the checks of a new view or "
        "against a new baseline are re-run, and a new failure is refused unless --force",
        run_edit,
        examples=(
            "mesovision session edit 3 --date 2026-11-29 --store clinic",
            'mesovision session edit 3 --notes "" --store clinic',
            "mesovision session edit 3 --photo 7 --view left-45 --store clinic",
            "mesovision session edit 3 --photo 7 --px-per-mm 8.2 --store clinic",
        ),
    )
    e.add_argument("session", type=int, help="session id (see: mesovision patient show)")
    e.add_argument("--date", default=None, help="new date, YYYY-MM-DD")
    e.add_argument("--view", default=None, help="new view of the photo (--photo ID)")
    e.add_argument(
        "--photo",
        type=int,
        default=None,
        metavar="ID",
        help="the photo whose view or scale changes (needed when the session has several)",
    )
    e.add_argument(
        "--px-per-mm",
        default=None,
        metavar="PX",
        help='new scale of the photo (--photo ID) in pixels per mm of its file; --px-per-mm "" '
        "clears it (not for a trichoscopy photo); its cached comparisons are computed again",
    )
    e.add_argument(
        "--treated",
        default=None,
        metavar="AREAS",
        help="new treated areas (comma-separated face regions and body, scalp or trichoscopy "
        'views); --treated "" clears them',
    )
    e.add_argument(
        "--product", default=None, metavar="TEXT", help='new product; --product "" clears it'
    )
    e.add_argument(
        "--notes", default=None, metavar="TEXT", help='new notes; --notes "" clears them'
    )
    e.add_argument(
        "--rebaseline",
        action="store_true",
        help="accept a date before the patient's first session (it becomes the baseline)",
    )
    e.add_argument(
        "--force",
        action="store_true",
        help="change it even if a check re-run for the new view or the new baseline fails (or "
        "the same-person check)",
    )
    add_store_option(e)


def _add_remove(actions) -> None:
    """``session remove``."""
    r = add_subparser(
        actions,
        "remove",
        "remove a session, its photos, their managed copies and the cached comparisons that "
        "use them (one transaction, recorded with the time); asks for the session id first "
        "unless --yes (any other answer keeps the session; no answer, or no terminal to ask, "
        "exits 2)",
        run_remove,
        examples=(
            "mesovision session remove 3 --store clinic",
            "mesovision session remove 3 --yes",
        ),
    )
    r.add_argument("session", type=int, help="session id")
    r.add_argument("--yes", action="store_true", help="do not ask")
    add_store_option(r)


def run_add(args: argparse.Namespace) -> int:
    from ..course import add_checked_session
    from ..errors import UsageError
    from ..io import to_jsonable
    from ..regions import validate_treated
    from ..store import open_store, validate_date, validate_view
    from .check import print_report
    from .feedback import Feedback

    validate_date(args.date)
    treated = validate_treated(args.treated) if args.treated else ()
    views = args.view or ["front"]
    if not args.view and len(args.photo) > 1:
        raise UsageError(
            f"{len(args.photo)} --photo and no --view: give --view once per --photo, in the "
            "same order (one photo per view and session; front is the default of one photo)"
        )
    if len(views) != len(args.photo):
        raise UsageError(
            f"{len(args.photo)} --photo but {len(views)} --view: give --view once per --photo "
            "(one photo per view and session)"
        )
    views = [validate_view(v) for v in views]
    scales = _scales(args.px_per_mm, args.photo, views)
    with (
        Feedback("session", quiet=args.quiet or args.json) as fb,
        open_store(args.store) as store,
    ):
        store.require_writable()
        store.patient(args.patient)
        note = store.rebaseline_note(args.patient, args.date, rebaseline=args.rebaseline)
        if note and not args.json:
            print(f"rebaseline: {note}")
        fb.stage("checking and filing the photos", done="checked and filed the photos")
        session, _ = add_checked_session(
            store,
            args.patient,
            date=args.date,
            photos=list(zip(args.photo, views, strict=True)),
            scales=scales,
            treated=treated,
            product=args.product,
            notes=args.notes,
            copy=args.copy,
            force=args.force,
            on_report=None if args.json else print_report,
        )
    if args.json:
        print(json.dumps(to_jsonable(session), indent=2))
        return 0
    # The photos' filed checks: the capture checks and the same-person check against the baseline.
    checks = [c for p in session["photos"] for c in p["checks"]]
    failed = [c for c in checks if not c["ok"] and c["severity"] == "fail"]
    for c in checks:
        if c["name"] == "same_person":
            ok = "same person as" if c["ok"] else "NOT the same person as"
            print(
                f"  {ok} the baseline photo {c['baseline_photo_id']}: descriptor distance "
                f"{c['value']:.3f}, limit {c['threshold']:.3f}"
                if c["value"] is not None
                else f"  warn  same_person        {c['message']}"
            )
    forced = f" ({len(failed)} failed check(s) overridden by --force)" if failed else ""
    print(
        f"session {session['id']} ({session['date']}) added for patient {args.patient}: "
        f"{len(session['photos'])} photo(s){forced}"
    )
    return 0


def _scale(text: str, *, allow_empty: bool = False) -> float | str | None:
    """A ``--px-per-mm`` value: a plausible scale (:func:`mesovision.scale.check_px_per_mm`),
    ``-`` (no scale: None) or, with ``allow_empty``, ``""`` (clear it)."""
    from ..errors import UsageError
    from ..scale import check_px_per_mm

    if text == "-" and not allow_empty:
        return None
    if text == "" and allow_empty:
        return ""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--px-per-mm {text!r} is not a number (pixels per mm)") from None
    check_px_per_mm(value, "--px-per-mm")
    return value


def _scales(given: list[str] | None, photos: list[str], views: list[str]) -> list:
    """The scale of each photo (None: none) from the ``--px-per-mm`` values (none, or one per
    ``--photo``); a photo of a view that needs one (``trichoscopy:``) without it is refused."""
    from ..errors import UsageError
    from ..store import check_photo_scale

    if given is not None and len(given) != len(photos):
        raise UsageError(
            f"{len(photos)} --photo but {len(given)} --px-per-mm: give --px-per-mm once per "
            "--photo, in the same order ('-' for a photo without a scale)"
        )
    scales = [_scale(g) for g in given] if given is not None else [None] * len(photos)
    for path, view, scale in zip(photos, views, scales, strict=True):
        check_photo_scale(view, scale, path=path)
    return scales


def run_edit(args: argparse.Namespace) -> int:
    from ..course import date_warnings, edit_checked_session
    from ..regions import validate_treated
    from ..store import open_store, validate_date

    treated = None if args.treated is None else validate_treated(args.treated)
    scale = None if args.px_per_mm is None else _scale(args.px_per_mm, allow_empty=True)
    with open_store(args.store, create=False) as store:
        store.require_writable()
        old = store.session(args.session)
        note = None
        if args.date is not None:
            validate_date(args.date)
            note = store.rebaseline_note(
                old["patient_id"], args.date, rebaseline=args.rebaseline, session_id=args.session
            )
        s, rechecked = edit_checked_session(
            store,
            args.session,
            force=args.force,
            date=args.date,
            view=args.view,
            photo_id=args.photo,
            treated=treated,
            product=args.product,
            notes=args.notes,
            px_per_mm=scale,
            rebaseline=args.rebaseline,
        )
        warnings = (
            date_warnings(store, s["patient_id"], args.date, session_id=s["id"])
            if args.date is not None
            else []
        )
    for w in warnings:
        log.warning("%s", w)
    if note:
        print(f"rebaseline: {note}")
    print(f"session {s['id']} of patient {s['patient_id']} changed ({s['date']})")
    _print_rechecked(rechecked)
    return 0


def _print_rechecked(rechecked: dict) -> None:
    """One line per photo whose checks were re-run (a new view, a new baseline), then its
    failed checks (as ``mesovision check`` prints them)."""
    from .check import counts_text, problem_lines

    for pid, u in sorted(rechecked.items()):
        what = f"photo {pid} of session {u['session_id']} ({u['view']})"
        print(f"  checks re-run: {what}: {counts_text(u['checks'])}")
        for line in problem_lines(u["checks"], indent="    "):
            print(line)


def run_remove(args: argparse.Namespace) -> int:
    from ..course import remove_checked_session
    from ..store import open_store

    with open_store(args.store, create=False) as store:
        store.require_writable()
        s = store.session(args.session)
        question = (
            f"remove session {s['id']} ({s['date']}) of patient {s['patient_id']} with "
            f"{len(s['photos'])} photo(s)? type the session id to confirm: "
        )
        if not confirm_removal(f"session {s['id']}", str(s["id"]), question, yes=args.yes):
            return 0
        old, rechecked = remove_checked_session(store, args.session)
    print(
        f"session {old['id']} ({old['date']}) of patient {old['patient_id']} removed with "
        f"{len(old['photos'])} photo(s)"
    )
    _print_rechecked(rechecked)
    return 0
