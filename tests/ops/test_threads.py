"""The batch split: every chunk runs once, in the right worker slots, with a one-thread BLAS, and errors surface."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cnnkit.ops import threads
from cnnkit.ops.threads import get_num_threads, set_num_threads, split_batch, split_threads


@pytest.fixture
def two_threads():
    before = threads._State.threads
    set_num_threads(2)
    yield
    threads._State.threads = before


def test_every_chunk_runs_once_and_workers_stay_in_range(two_threads):
    seen, names = [], set()

    def work(lo, hi, worker):
        seen.append((lo, hi, worker))
        names.add(threading.current_thread().name)

    workers = split_batch(work, 23, 4)
    assert sorted((lo, hi) for lo, hi, _ in seen) == [(lo, min(lo + 4, 23)) for lo in range(0, 23, 4)]
    assert workers == (2 if threads._openblas() else 1)
    assert all(0 <= w < workers for _, _, w in seen)
    assert len(names) <= workers


def test_blas_is_single_threaded_inside_and_restored_after(two_threads):
    if not threads._openblas():
        pytest.skip("no OpenBLAS thread setter in this process")
    setter, getter = threads._openblas()
    before = getter()
    inside = []
    split_batch(lambda lo, hi, w: inside.append(getter()), 8, 1)
    assert set(inside) == {1}
    assert getter() == before


def test_one_thread_asked_for_keeps_blas_on_one_thread_too(two_threads):
    if not threads._openblas():
        pytest.skip("no OpenBLAS thread setter in this process")
    set_num_threads(1)
    getter = threads._openblas()[1]
    inside = []
    assert split_batch(lambda lo, hi, w: inside.append(getter()), 8, 2) == 1
    assert set(inside) == {1}


def test_an_error_in_a_chunk_surfaces_and_blas_is_restored(two_threads):
    def work(lo, hi, worker):
        if lo == 6:
            raise RuntimeError("chunk 6 failed")

    before = threads._openblas()[1]() if threads._openblas() else None
    with pytest.raises(RuntimeError, match="chunk 6 failed"):
        split_batch(work, 10, 2)
    if before is not None:
        assert threads._openblas()[1]() == before


def test_a_split_inside_a_split_runs_serially(two_threads):
    inner_workers = []

    def work(lo, hi, worker):
        inner_workers.append(split_batch(lambda a, b, w: None, 8, 1))

    split_batch(work, 8, 1)
    assert inner_workers == [1] * 8


def test_small_batches_and_one_thread_run_in_the_caller(two_threads):
    assert split_threads(0, 4) == 1 and split_threads(3, 4) == 1
    set_num_threads(1)
    assert get_num_threads() == 1 and split_threads(100, 1) == 1
    assert split_batch(lambda lo, hi, w: None, 0, 4) == 1


def test_thread_count_from_the_environment(monkeypatch):
    monkeypatch.setattr(threads._State, "threads", None)
    monkeypatch.setenv("CNNKIT_NUM_THREADS", "3")
    assert get_num_threads() == 3
    monkeypatch.delenv("CNNKIT_NUM_THREADS")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert get_num_threads() == 1
    with pytest.raises(ValueError, match="positive int"):
        set_num_threads(0)


def test_per_worker_sums_add_up(two_threads):
    values = np.arange(1000, dtype=np.float64)
    parts = [0.0] * split_threads(1000, 7)

    def work(lo, hi, worker):
        parts[worker] += values[lo:hi].sum()

    split_batch(work, 1000, 7)
    assert sum(parts) == values.sum()


def test_a_forked_child_makes_its_own_pool(two_threads):
    import os

    if not hasattr(os, "fork") or not threads._openblas():
        pytest.skip("needs fork and an OpenBLAS thread setter")
    split_batch(lambda lo, hi, w: None, 8, 1)  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: a split must run every chunk, not wait for the parent's (absent) threads
        import signal

        signal.alarm(30)  # a hang fails the test instead of stalling it
        done = []
        split_batch(lambda lo, hi, w: done.append(lo), 8, 1)
        os._exit(0 if sorted(done) == list(range(8)) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_thread_count_is_set_from_the_top_level_as_in_pytorch(two_threads):
    import cnnkit
    from cnnkit.ops import compiled

    cnnkit.set_num_threads(1)
    assert cnnkit.get_num_threads() == 1 == get_num_threads() and compiled._wanted == [1]
    seen = []
    split_batch(lambda lo, hi, worker: seen.append(worker), 64, 8)
    assert set(seen) == {0}  # one thread: every chunk in the caller
    cnnkit.set_num_threads(2)
    assert cnnkit.get_num_threads() == 2 and compiled._wanted == [2]


def test_small_work_runs_in_the_caller_alone(two_threads):
    if not threads._openblas():
        pytest.skip("no OpenBLAS thread setter: splits use BLAS's own threads")
    assert split_threads(100, 1) == 2  # work unknown: split
    assert split_threads(100, 1, flops=threads.PARALLEL_MIN_FLOPS / 2) == 1
    assert split_threads(100, 1, flops=threads.PARALLEL_MIN_FLOPS) == 2
    workers = set()
    split_batch(lambda lo, hi, w: workers.add(w), 100, 1, flops=1e6)
    assert workers == {0}


def test_small_products_outside_splits_run_blas_on_one_thread(two_threads):
    blas = threads._openblas()
    if not blas:
        pytest.skip("no OpenBLAS thread setter")
    setter, getter = blas
    setter(2)
    try:
        with threads.small_product(threads.PARALLEL_MIN_FLOPS / 10):
            assert getter() == 1
        assert getter() == 2  # restored
        with threads.small_product(threads.PARALLEL_MIN_FLOPS * 10):
            assert getter() == 2
    finally:
        setter(2)
