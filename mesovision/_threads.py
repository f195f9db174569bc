"""Run independent stages of one comparison side by side on threads.

OpenCV and NumPy release the GIL inside their kernels, so the two photos of a pair (decoding,
region masks, per-pixel maps) and the noise floor's re-measurements overlap well on a second
core. The default thread count is OpenCV's (``cv2.getNumThreads()``), which a batch worker sets
to 1: a batch already runs one pair per core.

While the stages run side by side, NumPy's BLAS (OpenBLAS) is held to one thread: its own worker
threads would otherwise spin between the small matrix products of the pixel maps and the lighting
fit, taking the very cores the stages run on (measured: about 0.4 s of CPU time per 12-MP
comparison on two cores).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache


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
    with _controller().limit(limits=1, user_api="blas"), ThreadPoolExecutor(min(n, len(fns))) as ex:
        futures = [ex.submit(f) for f in fns]
        return [f.result() for f in futures]


@cache
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
