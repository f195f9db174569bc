"""``mesovision check PHOTO...``: capture checks, while the patient is still in the chair."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import add_subparser, max_side_px, printable

__all__ = [
    "add_parser",
    "counts_text",
    "done_text",
    "exit_code",
    "print_report",
    "problem_lines",
    "run",
]


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "check",
        "capture checks of photos (orientation, pose, eyes, expression, blur, light, glare, face "
        "size)",
        run,
        examples=(
            "mesovision check new.jpg",
            "mesovision check new.jpg --baseline first_visit.jpg",
            "mesovision check left.jpg --view left-45 --json",
        ),
    )
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="photos to check")
    p.add_argument(
        "--baseline",
        metavar="PHOTO",
        default=None,
        help="the course's first photo of this view: also compare pose and expression with it",
    )
    p.add_argument(
        "--view",
        default="front",
        help="front (default), left-45 (patient's left cheek shown), right-45, body:<area>, "
        "scalp:<area> or trichoscopy:<area>",
    )
    p.add_argument(
        "--max-side",
        type=max_side_px,
        default=2048,
        metavar="PX",
        help="long side of the working copy (default 2048)",
    )
    p.add_argument("--json", action="store_true", help="the checks as JSON on stdout")


def counts_text(checks: list[dict]) -> str:
    """``F failed, W warning(s) of N checks`` of a photo's check dicts."""
    problems = [c for c in checks if not c["ok"]]
    fails = sum(c["severity"] == "fail" for c in problems)
    return f"{fails} failed, {len(problems) - fails} warning(s) of {len(checks)} checks"


def problem_lines(checks: list[dict], indent: str = "  ") -> list[str]:
    """One line per check that did not pass: ``FAIL`` or ``warn``, its name and message."""
    return [
        f"{indent}{'FAIL' if c['severity'] == 'fail' else 'warn'}  {c['name']:<18} "
        f"{printable(c['message'])}"
        for c in checks
        if not c["ok"]
    ]


def print_report(report) -> None:
    """One line per photo, then one line per problem (``FAIL`` or ``warn``)."""
    from pathlib import Path

    head = f"{printable(Path(report.path).name)} ({printable(report.features.view)}): "
    if not report.problems:
        print(head + f"all {len(report.checks)} checks ok")
        return
    print(head + counts_text(report.checks))
    for line in problem_lines(report.checks):
        print(line)


def run(args: argparse.Namespace) -> int:
    from ..checks import check_photo
    from ..errors import MesovisionError
    from ..views import validate_view
    from .feedback import Feedback

    view = validate_view(args.view)
    baseline = None
    reports, entries, unreadable = [], [], []
    with Feedback("check", quiet=args.quiet or args.json) as fb:
        if args.baseline:
            fb.stage("reading the baseline photo", done="read the baseline photo")
            baseline = check_photo(args.baseline, view=view, max_side=args.max_side).features
        fb.stage("checking the photos", done=lambda: done_text(len(reports), len(unreadable)))
        for path in args.photos:
            fb.step(Path(path).name, total=len(args.photos))
            try:
                r = check_photo(path, view=view, baseline=baseline, max_side=args.max_side)
            except MesovisionError as e:  # an unreadable file: one line, go on with the others
                print(f"mesovision: error: {printable(e)}", file=sys.stderr)
                unreadable.append(e)
                entries.append({"file": str(path), "error": str(e), "exit_code": e.exit_code})
            else:
                reports.append(r)
                entries.append(r.as_dict())
    if args.json:
        from ..io import to_jsonable

        print(json.dumps(to_jsonable(entries), indent=2))
    else:
        for r in reports:
            print_report(r)
    return exit_code(reports, unreadable)


def done_text(checked: int, unreadable: int) -> str:
    """The summary line's end: ``checked N photo(s)``, and how many could not be read."""
    if not unreadable:
        return f"checked {checked} photo(s)"
    return f"{checked} photo(s) checked, {unreadable} unreadable"


def exit_code(reports: list, unreadable: list) -> int:
    """The first unreadable file's code (3 missing, 4 not an image, ...) wins over a failed
    check (6): a file that cannot be read is the first thing to fix; 0 when every photo was
    read and passed."""
    if unreadable:
        return unreadable[0].exit_code
    if any(r.failed for r in reports):
        from ..errors import CaptureError

        return CaptureError.exit_code
    return 0
