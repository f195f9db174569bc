"""``mesovision demo``: the whole pipeline on the shipped sample photos."""

from __future__ import annotations

import argparse

from .common import add_subparser, printable

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "demo",
        "run the pipeline on the shipped sample photos",
        run,
        examples=("mesovision demo", "mesovision demo -o demo-out --force"),
    )
    p.add_argument(
        "-o", "--out", default="mesovision-demo", help="output folder (default mesovision-demo)"
    )
    p.add_argument("--samples", default=None, help="sample folder (default: sample_images/)")
    p.add_argument("--force", action="store_true", help="overwrite an existing demo output")


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo
    from .feedback import Feedback

    with Feedback("demo", quiet=args.quiet) as fb:
        out = run_demo(
            args.out,
            samples=args.samples,
            force=args.force,
            on_stage=lambda doing, done: fb.stage(doing, done=done),
        )
    print(f"demo outputs in {printable(out)}/")
    return 0
