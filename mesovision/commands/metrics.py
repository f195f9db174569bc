"""``mesovision metrics``: the registered metrics with unit, direction and summary."""

from __future__ import annotations

import argparse
import json

from .common import add_subparser

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "metrics",
        "list the registered metrics (name, display name, unit, direction, plain explanation; "
        "--json adds formula and reference)",
        run,
        examples=("mesovision metrics", "mesovision metrics --json > metrics.json"),
    )
    p.add_argument("--json", action="store_true", help="as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from ..metrics import metric_table

    rows = metric_table()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'metric':<36} {'measure':<28} {'unit':<16} {'direction':<17} what it measures")
    for r in rows:
        print(
            f"{r['name']:<36} {r['display']:<28} {r['unit_label']:<16} {r['direction']:<17} "
            f"{r['plain']}"
        )
    return 0
