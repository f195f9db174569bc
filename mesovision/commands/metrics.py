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
    # each column as wide as its longest entry, so that every row lines up
    keys = ("name", "display", "unit_label", "direction")
    head = ("metric", "measure", "unit", "direction")
    widths = [max(len(h), *(len(str(r[k])) for r in rows)) for k, h in zip(keys, head, strict=True)]
    print(" ".join(f"{h:<{w}}" for h, w in zip(head, widths, strict=True)), "what it measures")
    for r in rows:
        cells = (f"{r[k]!s:<{w}}" for k, w in zip(keys, widths, strict=True))
        print(" ".join(cells), r["plain"])
    return 0
