"""The whole comparison (align, normalize, score, compare; no report rendering) for a pair of
12-MP JPEGs, per stage, against the bare decode of the same two files in the same run.
Independent stages run on OpenCV's thread count (the machine's cores); medians of the runs, and
the ratio of the best runs (the least disturbed by other load on a shared machine).

Run: python benchmarks/bench_compare.py [--repeat N]     (target: whole < 5x bare decode)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _photos import twelve_mp_pair
from bench_align import bare_decode

from mesovision._threads import default_threads
from mesovision.compare import compare_pair
from mesovision.pipeline import align_pair


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        before, after = twelve_mp_pair(Path(d))
        compare_pair(align_pair(str(before), str(after)))  # warm-up
        rows: dict[str, list[float]] = {"decode": [], "align": [], "compare": []}
        for _ in range(args.repeat):
            t = time.perf_counter()
            bare_decode((before, after))
            rows["decode"].append(time.perf_counter() - t)
            t = time.perf_counter()
            pair = align_pair(str(before), str(after))
            rows["align"].append(time.perf_counter() - t)
            t = time.perf_counter()
            compare_pair(pair)
            rows["compare"].append(time.perf_counter() - t)
        ms = {k: 1000 * statistics.median(v) for k, v in rows.items()}
        best = {k: 1000 * min(v) for k, v in rows.items()}
        whole = ms["align"] + ms["compare"]
        print(f"bare decode of two 12-MP JPEGs        : {ms['decode']:7.1f} ms")
        print(f"load + landmarks + align              : {ms['align']:7.1f} ms")
        print(f"normalize + score + noise floor       : {ms['compare']:7.1f} ms")
        print(f"whole comparison                      : {whole:7.1f} ms")
        print(f"ratio whole / decode                  : {whole / ms['decode']:7.2f} x (target < 5)")
        best_ratio = (best["align"] + best["compare"]) / best["decode"]
        print(f"ratio of the best runs                : {best_ratio:7.2f} x")
        print(f"threads (OpenCV's count)              : {default_threads():7d}")


if __name__ == "__main__":
    main()
