"""The mutation run's bookkeeping: a seeded random sample of mutant names, and the scores.

mutmut (``docs/testing.md``, section "Mutation score") records each mutant's result in
``mutants/<module>.py.meta`` (JSON: ``exit_code_by_key``; 1 killed, 0 survived, 33 no tests,
``null`` not run; a timeout or crash counts as killed). Run from the repository root, after
``mutmut run`` has generated the mutants::

    python scripts/mutation_table.py sample mesovision/align 150 > align.txt
    mutmut run --max-children 1 $(cat align.txt)
    python scripts/mutation_table.py scores mesovision/metrics/bruise.py mesovision/align
    python scripts/mutation_table.py scores --names align.txt mesovision/align

``sample`` prints ``size`` names drawn by ``random.Random(seed)`` (default 22) from the sorted
names of every mutant of the modules under a folder (or of one module), leaving out the names
listed in the ``--exclude`` files (earlier samples, for a held-out sample of mutants no test was
written against). ``scores`` prints, per
module, killed / all with the counts of survivors, no-test and not-run mutants (of the names
listed in ``--names`` only, when given), then the total, with the 95 % normal-approximation
interval of a sample's share killed.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

MUTANTS = Path("mutants")
#: mutmut's exit codes (``mutmut/stats.py``): a test failure, a pytest error, a timeout (CPU
#: limit, SIGXCPU) or a crash all detect the mutant and count as killed here; anything else
#: (mutmut's "suspicious", "skipped") counts against the score with the survivors.
STATUS = {
    1: "killed", 3: "killed", 36: "killed", 24: "killed", -24: "killed", 152: "killed",
    255: "killed", -11: "killed", -9: "killed",
    0: "survived", 5: "no tests", 33: "no tests", None: "not run",
}  # fmt: skip


def _metas(target: str) -> list[Path]:
    base = MUTANTS / target
    if base.is_dir():
        return sorted(base.rglob("*.py.meta"))
    return [Path(str(base) + ".meta")]


def _results(meta: Path) -> dict[str, int | None]:
    return json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]


def sample(target: str, size: int, seed: int, exclude: set[str] = frozenset()) -> list[str]:
    names = sorted(n for meta in _metas(target) for n in _results(meta) if n not in exclude)
    return sorted(random.Random(seed).sample(names, min(size, len(names))))


def scores(targets: list[str], names: set[str] | None) -> list[str]:
    lines = ["module | mutants | killed | survived | no tests | not run | score"]
    total = dict.fromkeys(STATUS.values(), 0)
    for target in targets:
        for meta in _metas(target):
            res = {k: v for k, v in _results(meta).items() if names is None or k in names}
            if not res:
                continue
            count = dict.fromkeys(STATUS.values(), 0)
            for v in res.values():
                count[STATUS.get(v, "survived")] += 1
            for k, v in count.items():
                total[k] += v
            module = str(meta.relative_to(MUTANTS))[: -len(".meta")]
            lines.append(_row(module, count))
    lines.append(_row("all", total))
    return lines


def _row(name: str, c: dict[str, int]) -> str:
    n = sum(c.values())
    run = n - c["not run"]
    p = c["killed"] / run if run else float("nan")
    ci = 1.96 * math.sqrt(p * (1 - p) / run) if run else float("nan")
    return (
        f"{name} | {n} | {c['killed']} | {c['survived']} | {c['no tests']} | {c['not run']} | "
        f"{100 * p:.1f} % (+- {100 * ci:.1f} % if a sample)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample", help="seeded random sample of mutant names")
    s.add_argument("target", help="a module or a folder of the package (mesovision/align)")
    s.add_argument("size", type=int)
    s.add_argument("--seed", type=int, default=22)
    s.add_argument("--exclude", nargs="*", default=[], help="files of mutant names to leave out")
    t = sub.add_parser("scores", help="killed / all per module")
    t.add_argument("targets", nargs="+")
    t.add_argument("--names", help="a file of mutant names (a sample): count only these")
    args = ap.parse_args(argv)
    if not MUTANTS.is_dir():
        print("mutation_table: no ./mutants folder: run mutmut first", file=sys.stderr)
        return 2
    if args.cmd == "sample":
        exclude = {n for f in args.exclude for n in Path(f).read_text(encoding="utf-8").split()}
        print("\n".join(sample(args.target, args.size, args.seed, exclude)))
    else:
        names = None
        if args.names:
            names = set(Path(args.names).read_text(encoding="utf-8").split())
        print("\n".join(scores(args.targets, names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
