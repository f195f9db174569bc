"""Run independent stages of one comparison side by side on threads.

OpenCV and NumPy release the GIL inside their kernels, so the two photos of a pair (decoding,
region masks, per-pixel maps) and the noise floor's re-measurements overlap well on a second
core. The default thread count is OpenCV's (``cv2.getNumThreads()``), which a batch worker sets
to 1: a batch already runs one pair per core.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


def default_threads() -> int:
    import cv2

    return max(1, cv2.getNumThreads())


def run(threads: int | None, *fns: Callable):
    """Call each of ``fns`` (no arguments) and return their results in order, on up to
    ``threads`` threads (default :func:`default_threads`). An exception is raised as the
    sequential calls would raise it: the first failing function's, in order."""
    n = default_threads() if threads is None else threads
    if n <= 1 or len(fns) <= 1:
        return [f() for f in fns]
    with ThreadPoolExecutor(min(n, len(fns))) as ex:
        futures = [ex.submit(f) for f in fns]
        return [f.result() for f in futures]
