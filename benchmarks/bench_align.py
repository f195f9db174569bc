"""Load + landmarks + align for a pair of 12-MP JPEGs, against the bare decode of the same files.

Run: python benchmarks/bench_align.py [--repeat N]
Prints the median of N runs of each and the ratio (target: align step < 3x bare decode).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _photos import twelve_mp_pair
from PIL import Image

from mesovision.pipeline import align_pair


def bare_decode(paths) -> None:
    for p in paths:
        with Image.open(p) as im:
            im.load()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        before, after = twelve_mp_pair(Path(d))
        align_pair(str(before), str(after))  # warm-up: model load, imports
        dec, full = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            bare_decode((before, after))
            dec.append(time.perf_counter() - t)
            t = time.perf_counter()
            pair = align_pair(str(before), str(after))
            full.append(time.perf_counter() - t)
        d_ms, f_ms = 1000 * statistics.median(dec), 1000 * statistics.median(full)
        print(f"bare decode of two 12-MP JPEGs : {d_ms:7.1f} ms")
        print(f"load + landmarks + align (2048): {f_ms:7.1f} ms   ({pair.alignment.method})")
        print(f"ratio                          : {f_ms / d_ms:7.2f} x   (target < 3)")


if __name__ == "__main__":
    main()
