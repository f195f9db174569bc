"""Options and helpers shared by several commands."""

from __future__ import annotations

import argparse


def exit_code_table() -> str:
    from ..errors import EXIT_CODES

    return "exit codes:\n" + "\n".join(f"  {k:>3}  {v}" for k, v in sorted(EXIT_CODES.items()))


def add_subparser(sub, name: str, help: str, run) -> argparse.ArgumentParser:
    """A sub-parser whose ``--help`` ends with the exit-code table, running ``run``."""
    p = sub.add_parser(
        name,
        help=help,
        epilog=exit_code_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=run)
    return p


def add_store_option(p: argparse.ArgumentParser) -> None:
    """``--store DIR`` (default: the environment variable ``MESOVISION_STORE``)."""
    p.add_argument(
        "--store",
        metavar="DIR",
        default=None,
        help="the store folder (created on first use; default: $MESOVISION_STORE)",
    )


def add_common(p: argparse.ArgumentParser) -> None:
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


def add_align_options(p: argparse.ArgumentParser) -> None:
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
    add_common(p)


def lighting_method(name: str) -> str:
    from ..errors import UsageError
    from ..lighting import METHODS

    if name not in METHODS:
        raise UsageError(f"unknown lighting method {name!r}; valid: {', '.join(METHODS)}")
    return name


def align_from_args(args: argparse.Namespace):
    from ..pipeline import align_pair

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
