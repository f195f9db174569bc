"""``mesovision compare BEFORE AFTER -o OUT``: align, normalize, score and compare two photos."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from .common import (
    add_align_options,
    add_subparser,
    add_threads_option,
    align_from_args,
    input_files,
    lighting_method,
    new_folder_ok,
    printable,
)

__all__ = [
    "REPORT_OUTPUTS",
    "add_parser",
    "body_check_lines",
    "clipping_lines",
    "comparability_lines",
    "every_output",
    "hairline_lines",
    "no_change_line",
    "print_changes",
    "run",
    "untested_lines",
]


#: What ``--report`` adds to the outputs (``report.pdf`` with ``--pdf``).
REPORT_OUTPUTS = ("before.png", "report.html", "report.pdf")


def every_output() -> list[str]:
    """Every file name a ``compare`` run can write, in any mode and with any option."""
    from ..compare import output_names

    modes = ("face", "body", "scalp", "trichoscopy")
    return list(dict.fromkeys([n for m in modes for n in output_names(m)] + list(REPORT_OUTPUTS)))


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "compare",
        "align, normalize, score and compare two photos",
        run,
        examples=(
            "mesovision compare before.jpg after.jpg -o out",
            "mesovision compare before.jpg after.jpg -o out --treated left_cheek,right_cheek",
            "mesovision compare before.jpg after.jpg -o out --ipd-mm 63 --json > result.json",
            "mesovision compare before.jpg after.jpg -o out --treated chin --report --pdf",
            "mesovision compare close_before.png close_after.png -o out --mode trichoscopy "
            "--px-per-mm 50",
        ),
    )
    add_align_options(p)
    p.add_argument(
        "--ipd-mm",
        type=float,
        default=None,
        metavar="MM",
        help="the patient's measured interpupillary distance in mm: gives a scale, "
        "and areas in mm2 and densities per cm2",
    )
    p.add_argument(
        "--px-per-mm",
        type=float,
        default=None,
        metavar="PX",
        help="the before photo file's pixels per mm: gives a scale, and hair densities per "
        "cm2 and shaft widths in um (without it, the scalp and trichoscopy modes look for a "
        "millimetre ruler in the before photo)",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="also write report.html in OUT: the practitioner's report of this one comparison "
        "(summary, viewer, heatmaps, measures, quality, methods), no patient record needed",
    )
    p.add_argument(
        "--pdf",
        action="store_true",
        help="with --report, also write report.pdf (the two-page summary)",
    )
    add_threads_option(p)


def run(args: argparse.Namespace) -> int:
    from ..checks import add_body_checks
    from ..compare import compare_pair, comparison_record, output_images, output_names
    from ..errors import UsageError
    from ..frontal_hairline import add_hairline
    from ..io import output_folder, write_json, write_png
    from ..regions import validate_region_names
    from ..scale import check_px_per_mm, resolve_scale
    from ..tables import OUTPUT_MARKER, marked_outputs, record_outputs
    from .feedback import Feedback

    treated = validate_region_names(args.treated, mode=args.mode) if args.treated else ()
    lighting = lighting_method(args.lighting)
    if args.ipd_mm is not None and not 40 <= args.ipd_mm <= 80:
        raise UsageError(
            f"--ipd-mm {args.ipd_mm} is not a plausible interpupillary distance (40-80 mm)"
        )
    if args.px_per_mm is not None:
        check_px_per_mm(args.px_per_mm, "--px-per-mm")
    if args.px_per_mm is not None and args.ipd_mm is not None:
        raise UsageError("give --ipd-mm or --px-per-mm, not both")
    if args.pdf and not args.report:
        raise UsageError("--pdf needs --report")
    new_folder_ok(args.out)
    out = Path(args.out)
    names = output_names(args.mode) + (list(REPORT_OUTPUTS[:2]) if args.report else [])
    names += ["report.pdf"] if args.pdf else []
    # All outputs or none: written into a staging folder, moved into `out` at the end; with
    # --force, the outputs an earlier compare wrote there (its marker lists them) that this run
    # does not write are removed; a file of the same name that compare did not write is kept.
    # The marker is written with the outputs (all or none).
    ours = marked_outputs(out) if out.is_dir() else set()
    earlier = [n for n in every_output() if n in ours]
    with (
        Feedback("compare", quiet=args.quiet or args.json) as fb,
        output_folder(
            out, [*names, OUTPUT_MARKER], force=args.force, inputs=input_files(args),
            replaces=earlier,
        ) as staging,
    ):  # fmt: skip
        fb.stage("aligning the photos", done="aligned the photos")
        pair = align_from_args(args)
        scale, pair = resolve_scale(pair, px_per_mm=args.px_per_mm, ipd_mm=args.ipd_mm)
        pair = add_hairline(pair, px_per_mm_working=scale.px_per_mm_working, ipd_mm=args.ipd_mm)
        fb.stage("comparing", done="compared")
        cmp = compare_pair(
            pair,
            lighting=lighting,
            treated=treated,
            px_per_mm_at_before=scale.px_per_mm_working,
            threads=args.threads,
        )
        cmp = add_body_checks(cmp)
        record = comparison_record(cmp)
        fb.stage("writing the outputs", done="wrote the outputs")
        for name, img in output_images(cmp).items():
            write_png(staging / name, img)
        write_json(staging / "result.json", record)
        if args.report:
            fb.stage("writing the report", done="wrote the report")
            _write_report(staging, cmp, record, pdf=args.pdf)
        record_outputs(staging, set(names) | (ours - set(every_output())))
    if args.json:
        from ..io import to_jsonable

        print(json.dumps(to_jsonable(record), indent=2, allow_nan=False))
        return 0
    print_changes(record)
    print(f"outputs in {printable(out)}/")
    if args.report:
        print(f"report written: {printable(out / 'report.html')}")
    return 0


def _write_report(staging: Path, cmp, record: dict, *, pdf: bool) -> None:
    """report.html (and report.pdf) of this comparison, from the images just written."""
    from .._version import __version__
    from ..io import to_jsonable, write_png
    from ..report import write_report
    from ..report.pair import pair_document

    write_png(staging / "before.png", cmp.pair.before.rgb)
    images = {p.stem: str(p) for p in staging.glob("*.png")}
    doc = pair_document(to_jsonable(record), images, generated_by=f"mesovision {__version__}")
    write_report(doc, staging / "report.html", pdf=pdf, force=True)


def print_changes(record: dict) -> None:
    """The short terminal table: quality figures, then the significant changes (beyond the noise
    floor and kept by the false discovery rate control)."""
    from .align import lighting_line

    sig = record["significant"]
    al = record["alignment"]
    print(
        f"alignment: {al['method']}, residual {al['residual_px']:.2f} px, coverage "
        f"{100 * al['coverage']:.1f} %"
    )
    for line in forced_lines(al):
        print(line)
    if record.get("lighting"):
        print(lighting_line(record["lighting"]))
    for line in comparability_lines(record.get("comparability")):
        print(line)
    for line in hairline_lines(record.get("hairline")):
        print(line)
    for line in body_check_lines(record.get("body_checks")):
        print(line)
    for line in untested_lines(record.get("changes")):
        print(line)
    for line in clipping_lines(record.get("clipping")):
        print(line)
    if not sig:
        print(no_change_line(record.get("comparability")))
        return
    print(f"{'region':<18} {'metric':<36} {'change':>10} {'noise floor':>12}  unit")
    for s in sig:
        print(
            f"{s['region']:<18} {s['metric']:<36} {s['delta']:>+10.3g} "
            f"{s['noise_floor']:>12.3g}  {s['unit']}"
        )


def forced_lines(alignment: dict) -> list[str]:
    """One warning line per refusal of the photos that ``--force`` overrode (``result.json``
    ``alignment.forced``: a face too small, another person by the identity check, a head pose,
    alignment residual or coverage beyond its limit)."""
    return [f"warning: {printable(f)}: compared only because of --force"
            for f in alignment.get("forced") or []]  # fmt: skip


def hairline_lines(hairline: dict | None) -> list[str]:
    """The frontal hairline (scalp mode): its note, or the sites where it receded or advanced
    significantly (their changes are rows of the table, as in ``result.json``
    ``significant``), or one line saying it moved at no site."""
    if not hairline:
        return []
    if hairline.get("note"):
        return [f"hairline: {printable(hairline['note'])}"]
    moved: dict[str, list[str]] = {"receded": [], "advanced": []}
    for site, per in hairline["changes"].items():
        c = per["hair.hairline_iod_pct"]
        if c["significant"]:
            moved["receded" if c["delta"] > 0 else "advanced"].append(site)
    parts = [f"{word} at {', '.join(sites)}" for word, sites in moved.items() if sites]
    if not parts:
        return ["hairline: no significant change at any site (false discovery rate 5 %)"]
    return [f"hairline: {'; '.join(parts)} (the rows of these sites below)"]


def clipping_lines(clipping: dict | None) -> list[str]:
    """One warning line per region that lost a large share of its skin to clipping at capture
    (``result.json`` ``clipping.warnings``), then one per region with a large share of colours
    clipped by the conversion from the file's colour profile (``clipping.gamut_warnings``):
    its colour change may be under-reported."""
    c = clipping or {}
    lines = [*(c.get("warnings") or {}).values(), *(c.get("gamut_warnings") or {}).values()]
    return [f"warning: {printable(line)}" for line in lines]


def untested_lines(changes: dict | None) -> list[str]:
    """One line per measured change of a metric whose change is not tested (the registry's
    ``tested=False``: the part width), with both values: it is never in the table of
    significant changes."""
    from ..metrics import REGISTRY

    out = []
    for region, per in (changes or {}).items():
        for name, c in per.items():
            spec = REGISTRY.get(name)
            b, a = c.get("before"), c.get("after")
            if spec is None or spec.tested or b is None or a is None:
                continue
            if not (math.isfinite(b) and math.isfinite(a)):
                continue
            out.append(
                f"{region} {name}: {b:.4g} -> {a:.4g} {printable(spec.unit)} "
                f"(change {a - b:+.3g}; not tested: no noise floor)"
            )
    return out


def body_check_lines(checks: list[dict] | None) -> list[str]:
    """One warning line per failing body check (body mode; ``result.json`` ``body_checks``):
    its name, what to fix, its value and threshold. None for a record without body checks
    (another mode, or a record of schema 3.0)."""
    out = []
    for c in checks or []:
        if c.get("ok"):
            continue
        value = "none" if c.get("value") is None else f"{c['value']:.3g}"
        unit = f" {printable(c['unit'])}" if c.get("unit") else ""
        out.append(
            f"warning: {printable(c['name'])}: {printable(c['message'])} (value {value}, "
            f"threshold {c['threshold']:.3g}{unit})"
        )
    return out


def no_change_line(verdicts: dict | None) -> str:
    """What a comparison without a significant change says: nothing significant (the false
    discovery rate at 5 %: a change may pass its noise floor, ``p < 0.05``, and not the
    control), in the families it tested (none, when every family is not comparable)."""
    untested = [f for f, v in (verdicts or {}).items() if v["status"] == "not_comparable"]
    if not untested:
        return "no significant change in any region (false discovery rate 5 %)"
    if len(untested) == len(verdicts):
        return "nothing tested: no family is comparable (the reasons are above)"
    tested = ", ".join(f for f in verdicts if f not in untested)
    return f"no significant change in the families tested ({tested}; false discovery rate 5 %)"


def comparability_lines(verdicts: dict | None) -> list[str]:
    """One line per family that is not comparable or limited (with its reason), or one line
    saying every family is comparable. Families with the same verdict for the same reason share
    a line that names them (``colour, bruise: light differs by dE00 14.1 ...``); a reason named
    by its measure rather than its family (the body mode's ``light:`` and ``framing:``) keeps
    that name: ``texture, body_texture (light): ...``."""
    if not verdicts:
        return []
    groups: dict[tuple, list[str]] = {}
    for f, v in verdicts.items():
        if v["status"] != "comparable":
            head, sep, text = v["reason"].partition(": ")
            named = None if sep and head == f else head if sep else ""
            key = (named, text if sep else v["reason"], v["status"], v["inflation"])
            groups.setdefault(key, []).append(f)
    if not groups:
        return ["comparability: every family comparable"]
    out = []
    for (named, text, status, inflation), fams in groups.items():
        who = ", ".join(fams) + (f" ({named})" if named else "")
        # two decimals: a measure just past its comparable limit widens by less than 1 %; a
        # limit that only costs sensitivity (a small face) does not widen at all
        if status != "limited":
            extra = ", not tested"
        elif inflation == 1.0:
            extra = ", noise floor not widened"
        else:
            extra = f", noise x{inflation:.2f}"
        status = status.replace("_", " ")
        out.append(f"{printable(who + ': ' + text)} [{status}{extra}]")
    return out
