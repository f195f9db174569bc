"""The stage runner of a comparison (mesovision._threads): inputs, order, errors, no deadlock."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mesovision._threads import run, run_tasks


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_tasks_get_their_inputs_and_results_come_in_order(threads):
    tasks = [
        (lambda: 2, ()),
        (lambda: 3, ()),
        (lambda a, b: a * b, (0, 1)),
        (lambda c: c + 1, (2,)),
        (lambda a, d: (a, d), (0, 3)),
    ]
    assert run_tasks(threads, tasks) == [2, 3, 6, 7, (2, 7)]
    assert run(threads, lambda: "x", lambda: "y") == ["x", "y"]


def test_independent_tasks_overlap_on_two_threads():
    # The first task can only finish once the second (independent) one has run: on one thread
    # it would wait for ever (here: fail after 10 s).
    ran = threading.Event()

    def first():
        assert ran.wait(10), "the independent task did not run meanwhile"
        return 1

    def independent():
        ran.set()
        return "i"

    out = run_tasks(2, [(first, ()), (independent, ()), (lambda x: x + 1, (0,))])
    assert out == [1, "i", 2]


@pytest.mark.parametrize("threads", [1, 2])
def test_errors_come_as_the_sequential_run_gives_them(threads):
    def boom():
        raise KeyError("first")

    def later():
        raise ValueError("second")

    with pytest.raises(KeyError, match="first"):
        run_tasks(threads, [(lambda: 1, ()), (boom, ()), (later, ())])
    # A task whose input failed fails with that input's error.
    with pytest.raises(KeyError, match="first"):
        run_tasks(threads, [(boom, ()), (lambda x: x, (0,))])


def test_inputs_must_be_earlier_tasks():
    with pytest.raises(ValueError, match="only earlier tasks"):
        run_tasks(2, [(lambda x: x, (1,)), (lambda: 1, ())])
    with pytest.raises(ValueError, match="only earlier tasks"):
        run_tasks(1, [(lambda x: x, (0,))])


def test_blas_is_held_to_one_thread_only_while_tasks_run():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    inside = run_tasks(2, [(blas_threads, ()), (lambda: threading.active_count(), ())])[0]
    assert inside and all(n == 1 for n in inside)
    assert blas_threads() == before
    assert all(n == 1 for n in run_tasks(1, [(blas_threads, ())])[0])
    assert blas_threads() == before


def test_opencv_is_held_to_one_thread_only_while_tasks_run():
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        inside = run_tasks(2, [(cv2.getNumThreads, ()), (cv2.getNumThreads, ())])
        assert inside == [1, 1]
        assert cv2.getNumThreads() == 3
        # One thread: the tasks run in the caller's thread, with OpenCV held to one thread too
        # (its kernels' last bits depend on its pool's size).
        assert run_tasks(1, [(cv2.getNumThreads, ()), (cv2.getNumThreads, ())]) == [1, 1]
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(before)


def test_alignment_does_not_depend_on_the_thread_count():
    """The identity descriptors and the alignment run side by side on threads (as do the two
    photos' landmarks): the same transform, residual and identity distance as one after the
    other."""
    from conftest import SAMPLES

    from mesovision.pipeline import align_pair

    before = str(SAMPLES / "astronaut" / "before.jpg")
    after = str(SAMPLES / "astronaut" / "after_no_change.jpg")
    one, three = align_pair(before, after, threads=1), align_pair(before, after, threads=3)
    assert np.array_equal(one.alignment.matrix, three.alignment.matrix)
    assert one.alignment.residual_px == three.alignment.residual_px
    assert one.identity == three.identity and one.identity["distance"] < 0.6


def test_overlapping_runs_restore_opencv_and_blas_as_the_first_found_them():
    """Two runs that overlap (two comparisons on two threads) and end in the order they began:
    the last one to end restores what the first one found, not the one thread it saw."""
    import cv2
    from threadpoolctl import threadpool_info

    from mesovision._threads import one_thread_each

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before, blas = cv2.getNumThreads(), blas_threads()
    cv2.setNumThreads(3)
    try:
        first, second = one_thread_each(), one_thread_each()
        first.__enter__()
        second.__enter__()
        assert cv2.getNumThreads() == 1
        first.__exit__(None, None, None)
        assert cv2.getNumThreads() == 1  # the second run still holds it
        second.__exit__(None, None, None)
        assert cv2.getNumThreads() == 3 and blas_threads() == blas
    finally:
        cv2.setNumThreads(before)


def test_tasks_run_in_the_callers_context():
    import contextvars

    var = contextvars.ContextVar("var", default="unset")
    token = var.set("caller")
    try:
        assert run_tasks(2, [(var.get, ()), (var.get, ())]) == ["caller", "caller"]
    finally:
        var.reset(token)


def _body_pair():
    """A thigh at 4 px/mm and the same skin, recaptured, with a new red streak (an audit's
    finding: its cellulite irregularity read other last bits on one thread than on two). The
    skin's crop is 540 x 540 px: OpenCV splits a mean of 2^18 pixels or more over its pool."""
    import cv2

    from mesovision.testing.body import body_field, render

    field = body_field(42, size_mm=170)
    kw = dict(px_per_mm=4.0, size_px=600, blur_px=0.6, noise_sd=0.01)
    before = render(field, seed=1, **kw).rgb
    after = np.asarray(render(field, seed=5, angle_deg=1.0, shift_mm=(1, -1), **kw).rgb, np.float32)
    lab = cv2.cvtColor(after, cv2.COLOR_RGB2LAB)
    streak = np.zeros(after.shape[:2], np.float32)
    cv2.line(streak, (150, 450), (338, 382), 1.0, 10, cv2.LINE_AA)
    streak = cv2.GaussianBlur(streak, (0, 0), 1.5)
    lab[..., 1] += 6 * streak
    lab[..., 0] -= 4 * streak
    after = np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0.0, 1.0)
    return before, after, {"mode": "body", "px_per_mm": 4.0}


def _face_pair():
    from conftest import SAMPLES

    from mesovision.demo import SAMPLE_TREATED

    folder = SAMPLES / "astronaut"
    return folder / "before.jpg", folder / "after_treated.jpg", {"treated": SAMPLE_TREATED}


def _leaves(x, path=""):
    """``{path: value}`` of a record's leaves; floats by their bits (``float.hex``)."""
    if isinstance(x, dict):
        return {k: v for key, sub in x.items() for k, v in _leaves(sub, f"{path}.{key}").items()}
    if isinstance(x, list):
        return {k: v for i, sub in enumerate(x) for k, v in _leaves(sub, f"{path}[{i}]").items()}
    return {path: x.hex() if isinstance(x, float) else x}


@pytest.mark.parametrize("pair", [_body_pair, _face_pair], ids=["body", "face"])
def test_compare_is_bit_identical_whatever_the_thread_counts(pair):
    """``mesovision.compare`` on one thread with OpenCV's own pool of 3 threads, and on two
    threads with that pool at 1 (another machine's core count): the same record to the last
    bit, and the same images (OpenCV's warps and means give other last bits with another size
    of its pool)."""
    import cv2

    import mesovision as mv
    from mesovision.record import output_images

    before, after, kw = pair()
    found = cv2.getNumThreads()
    runs = []
    try:
        for pool, threads in ((3, 1), (1, 2)):
            cv2.setNumThreads(pool)
            cmp = mv.compare(before, after, threads=threads, **kw)
            runs.append((_leaves(cmp.to_dict()), output_images(cmp)))
    finally:
        cv2.setNumThreads(found)
    (one, images_one), (two, images_two) = runs
    assert len(one) > 500
    assert [k for k in one.keys() | two.keys() if one.get(k) != two.get(k)] == []
    assert images_one.keys() == images_two.keys()
    assert [k for k in images_one if not np.array_equal(images_one[k], images_two[k])] == []


def _task_records(caplog):
    import re

    pattern = re.compile(r"task (\w+): ([\d.]+)-([\d.]+) ms, CPU ([\d.]+) ms, runqueue (\S+) ms")
    out = {}
    for r in caplog.records:
        m = pattern.fullmatch(r.getMessage())
        if m:
            out[m[1]] = tuple(float(v) for v in m.groups()[1:])
    return out


@pytest.mark.parametrize("threads", [1, 2])
def test_each_task_logs_its_wall_cpu_and_runqueue_time(caplog, threads):
    import logging
    import math
    import sys
    import time

    def sleeper():  # wall time, no CPU: its thread sleeps (as waiting for the GIL would)
        time.sleep(0.08)
        return 1

    def spinner():
        t = time.thread_time()
        while time.thread_time() - t < 0.03:
            pass
        return 2

    with caplog.at_level(logging.DEBUG, logger="mesovision._threads"):
        assert run_tasks(threads, [(sleeper, ()), (spinner, ())]) == [1, 2]
    rec = _task_records(caplog)
    assert set(rec) == {"sleeper", "spinner"}
    (s0, s1, s_cpu, s_rq), (p0, p1, p_cpu, p_rq) = rec["sleeper"], rec["spinner"]
    assert s1 - s0 >= 79 and s_cpu < 20 and p_cpu >= 29
    if sys.platform.startswith("linux"):
        for wall, cpu, rq in ((s1 - s0, s_cpu, s_rq), (p1 - p0, p_cpu, p_rq)):
            assert 0 <= rq <= wall + 1 and cpu + rq <= wall + 2
        assert (s1 - s0) - s_cpu - s_rq >= 70  # the sleep is neither CPU nor runqueue time
    else:
        assert math.isnan(s_rq) and math.isnan(p_rq)


def test_runqueue_time_is_nan_where_the_kernel_does_not_give_it(monkeypatch):
    import math

    import mesovision._threads as threads_module

    def no_file(*args, **kwargs):
        raise FileNotFoundError("/proc/thread-self/schedstat")

    assert threads_module.runqueue_ms() >= 0 or math.isnan(threads_module.runqueue_ms())
    monkeypatch.setattr(threads_module, "open", no_file, raising=False)
    assert math.isnan(threads_module.runqueue_ms())
