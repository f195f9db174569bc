"""Command line: parses arguments, calls the library, prints. Nothing else.

Exit codes are listed by ``mesovision --help`` and in the README (see :mod:`mesovision.errors`).
Errors are one line on stderr, ``mesovision: error: <file>: <reason>``; machine output (``--json``)
goes to stdout, logs and warnings to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import __version__

log = logging.getLogger("mesovision")


def _exit_code_table() -> str:
    from .errors import EXIT_CODES

    return "exit codes:\n" + "\n".join(f"  {k:>3}  {v}" for k, v in sorted(EXIT_CODES.items()))


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite existing outputs and proceed past quality thresholds",
    )
    p.add_argument(
        "--max-side",
        type=int,
        default=2048,
        metavar="PX",
        help="long side of the working copy (default 2048; results map back to the "
        "original pixels)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def _add_align_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("before", help="the before photo (reference frame)")
    p.add_argument("after", help="the after photo (aligned onto the before photo)")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument(
        "--mode",
        choices=("face", "body"),
        default="face",
        help="face: align on the face mesh; body: align on image features "
        "(thigh, abdomen, arm, scalp)",
    )
    p.add_argument(
        "--mask",
        metavar="FILE",
        help="measured area as an image the size of the before photo (non-zero = "
        "measured); default: facial skin, or detected skin in body mode",
    )
    p.add_argument(
        "--refine",
        choices=("none", "ecc", "mesh"),
        default="ecc",
        help="refinement after the landmark fit (default ecc; body mode: ecc or none)",
    )
    p.add_argument(
        "--model",
        choices=("similarity", "affine"),
        default="similarity",
        help="landmark fit model (default similarity)",
    )
    p.add_argument(
        "--lighting",
        default="reference",
        metavar="METHOD",
        help="lighting normalization: reference (default), card or none",
    )
    p.add_argument(
        "--treated",
        default="",
        metavar="REGIONS",
        help="comma-separated treated regions, excluded from the lighting reference "
        "(e.g. left_cheek,right_cheek)",
    )
    _add_common(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mesovision",
        description="Measured, comparable evidence from before/after photos of mesotherapy "
        "treatments. Nothing leaves this machine.",
        epilog=_exit_code_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mesovision {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="errors only")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "align",
        help="align the after photo onto the before photo",
        epilog=_exit_code_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_align_options(p)

    p = sub.add_parser(
        "compare",
        help="align, normalize, score and compare two photos",
        epilog=_exit_code_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_align_options(p)
    p.add_argument(
        "--ipd-mm",
        type=float,
        default=None,
        metavar="MM",
        help="the patient's measured interpupillary distance in mm: gives a scale, "
        "and areas in mm2 and densities per cm2",
    )

    p = sub.add_parser(
        "metrics", help="list the registered metrics (name, unit, direction, formula, reference)"
    )
    p.add_argument("--json", action="store_true", help="as JSON on stdout")

    p = sub.add_parser("demo", help="run the pipeline on the shipped sample photos")
    p.add_argument("-o", "--out", default="mesovision-demo", help="output folder")
    p.add_argument("--samples", default=None, help="sample folder (default: sample_images/)")
    p.add_argument("--force", action="store_true", help="overwrite an existing demo output")
    return parser


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("mesovision: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


ALIGN_OUTPUTS = ("aligned_after.png", "checkerboard.png", "valid_mask.png", "alignment.json")


def _align_from_args(args: argparse.Namespace):
    from .pipeline import align_pair

    return align_pair(
        args.before,
        args.after,
        mode=args.mode,
        refine=args.refine,
        model=args.model,
        mask_path=args.mask,
        max_side=args.max_side,
        force=args.force,
    )


def cmd_align(args: argparse.Namespace) -> int:
    from .io import prepare_output_dir, write_json, write_png
    from .pipeline import alignment_record, checkerboard
    from .regions import validate_region_names

    treated = validate_region_names(args.treated) if args.treated else ()
    lighting = _lighting_method(args.lighting)
    names = list(ALIGN_OUTPUTS) + (["normalized_after.png"] if lighting != "none" else [])
    out = prepare_output_dir(args.out, names, force=args.force)
    pair = _align_from_args(args)
    record = alignment_record(pair)
    written = {}
    if lighting != "none":
        from .compare import normalize_pair

        norm = normalize_pair(pair, method=lighting, treated=treated)
        record["lighting"] = norm.report.as_dict()
        written["normalized_after"] = write_png(
            out / "normalized_after.png", norm.after, force=args.force
        )
    lm = pair.before_landmarks
    tile = max(8, int(lm.interocular_px / 2)) if lm else max(8, min(pair.valid.shape) // 16)
    written["aligned_after"] = write_png(
        out / "aligned_after.png", pair.aligned_after, force=args.force
    )
    written["checkerboard"] = write_png(
        out / "checkerboard.png",
        checkerboard(pair.before.rgb, pair.aligned_after, tile_px=tile),
        force=args.force,
    )
    written["valid_mask"] = write_png(out / "valid_mask.png", pair.valid, force=args.force)
    written["alignment"] = write_json(out / "alignment.json", record, force=args.force)
    if args.json:
        print(json.dumps({**record, "outputs": {k: str(v) for k, v in written.items()}}, indent=2))
    else:
        al = pair.alignment
        iod = f" ({100 * al.residual_iod:.2f} % of interocular distance)" if al.residual_iod else ""
        print(
            f"aligned {Path(args.after).name} onto {Path(args.before).name}: {al.method}, "
            f"residual {al.residual_px:.2f} px{iod}, coverage {100 * al.coverage:.1f} %"
        )
        if "lighting" in record:
            lr = record["lighting"]
            print(
                f"lighting: {lr['method']} ({lr.get('model')}), reference dE00 median "
                f"{lr['delta_e_before']['median']:.2f} -> {lr['delta_e_after']['median']:.2f}"
            )
        print(f"outputs in {out}/")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare_pair, comparison_record, output_images, output_names
    from .io import prepare_output_dir, write_json, write_png
    from .regions import validate_region_names

    treated = validate_region_names(args.treated) if args.treated else ()
    lighting = _lighting_method(args.lighting)
    if args.ipd_mm is not None and not 40 <= args.ipd_mm <= 80:
        from .errors import UsageError

        raise UsageError(
            f"--ipd-mm {args.ipd_mm} is not a plausible interpupillary distance (40-80 mm)"
        )
    out = prepare_output_dir(args.out, output_names(), force=args.force)
    pair = _align_from_args(args)
    ppm = None
    if args.ipd_mm is not None and pair.before_landmarks is not None:
        ppm = pair.before_landmarks.interocular_px / args.ipd_mm
    cmp = compare_pair(pair, lighting=lighting, treated=treated, px_per_mm_at_before=ppm)
    record = comparison_record(cmp)
    for name, img in output_images(cmp).items():
        write_png(out / name, img, force=args.force)
    write_json(out / "result.json", record, force=args.force)
    if args.json:
        from .io import to_jsonable

        print(json.dumps(to_jsonable(record), indent=2, allow_nan=False))
        return 0
    _print_changes(record)
    print(f"outputs in {out}/")
    return 0


def _print_changes(record: dict) -> None:
    sig = record["significant"]
    al = record["alignment"]
    lr = record.get("lighting") or {}
    print(
        f"alignment: {al['method']}, residual {al['residual_px']:.2f} px, coverage "
        f"{100 * al['coverage']:.1f} %"
    )
    if lr:
        print(
            f"lighting: {lr['method']} ({lr.get('model')}), reference dE00 median "
            f"{lr['delta_e_before']['median']:.2f} -> {lr['delta_e_after']['median']:.2f}"
        )
    if not sig:
        print("no change beyond the noise floor in any region")
        return
    print(f"{'region':<18} {'metric':<36} {'change':>10} {'noise floor':>12}  unit")
    for s in sig:
        print(
            f"{s['region']:<18} {s['metric']:<36} {s['delta']:>+10.3g} "
            f"{s['noise_floor']:>12.3g}  {s['unit']}"
        )


def cmd_metrics(args: argparse.Namespace) -> int:
    from .metrics import metric_table

    rows = metric_table()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'metric':<40} {'unit':<22} {'direction':<18} summary")
    for r in rows:
        print(f"{r['name']:<40} {str(r['unit']):<22} {r['direction']:<18} {r['summary']}")
    return 0


def _lighting_method(name: str) -> str:
    from .errors import UsageError
    from .lighting import METHODS

    if name not in METHODS:
        raise UsageError(f"unknown lighting method {name!r}; valid: {', '.join(METHODS)}")
    return name


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    out = run_demo(args.out, samples=args.samples, force=args.force)
    print(f"demo outputs in {out}/")
    return 0


COMMANDS = {"align": cmd_align, "compare": cmd_compare, "metrics": cmd_metrics, "demo": cmd_demo}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    _configure_logging(args)
    from .errors import MesovisionError

    try:
        return COMMANDS[args.command](args)
    except MesovisionError as e:
        print(f"mesovision: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("mesovision: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the one broad catch: a bug must still end in one line
        if args.debug:
            raise
        print(
            f"mesovision: unexpected failure: {type(e).__name__}: {e} "
            "(run with --debug for details; please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
