"""Threads: how many cores cnnkit's ops use, and the batch split that spreads one op over them.

`split_batch(work, n, chunk)` cuts a batch of n images into chunks of `chunk` images and runs
`work(lo, hi, worker)` on every chunk from T threads (the caller plus T − 1 pool threads). The threads take
chunks from one shared counter, so a thread whose core is busy with another process simply takes fewer
chunks: the op slows by the lost share of one core instead of waiting at every product for the busy core,
which is what a 2-thread OpenBLAS does (a LeNet-5 epoch: 5–7 s quiet, ~54 s with the other core busy).

Inside the split, OpenBLAS is set to one thread (a 0.5 µs call, undone afterwards): each chunk's products
run in the thread that owns the chunk, its data still in that core's cache. That holds when the split runs
in the caller alone (one thread asked for) as well; only a batch that is one chunk keeps BLAS's threads.
NumPy's copies and products and cnnkit's compiled kernels (`nogil`) release the GIL, so the threads really
run in parallel.

Thread count: `set_num_threads(n)`; else $CNNKIT_NUM_THREADS, $OPENBLAS_NUM_THREADS or $OMP_NUM_THREADS
(the first one set); else the cores this process may run on.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

_ENV = ("CNNKIT_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
            "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
            "openblas_get_num_threads")


class _State:
    threads: int | None = None  # set_num_threads's value; None: from the environment
    pool: Any = None  # a concurrent.futures.ThreadPoolExecutor, made on first use (its import costs ~40 ms)
    pool_size = 0
    pool_pid = 0
    blas: tuple | None = None  # (setter, getter) of the loaded OpenBLAS, () when there is none
    lock = threading.Lock()  # one split at a time: a split started inside a split runs serially


def _default_threads() -> int:
    for var in _ENV:
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) >= 1:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def get_num_threads() -> int:
    """Threads that cnnkit's batch split and compiled kernels use."""
    return _State.threads if _State.threads is not None else _default_threads()


def set_num_threads(threads: int) -> None:
    """Use `threads` (≥ 1) threads in cnnkit's batch split and compiled kernels (as `torch.set_num_threads`)."""
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {threads!r}")
    _State.threads = threads
    from cnnkit.ops import compiled

    compiled.set_num_threads(threads)


# ----------------------------------------------------------------- OpenBLAS's own thread count
def _openblas() -> tuple:
    """(setter, getter) of the OpenBLAS that NumPy loaded, found in this process's memory map; () if none."""
    if _State.blas is None:
        import ctypes

        _State.blas = ()
        try:
            with open("/proc/self/maps") as maps:
                paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
        except OSError:
            paths = []
        for path in paths:
            lib = ctypes.CDLL(path)
            setter = next((getattr(lib, s) for s in _SETTERS if hasattr(lib, s)), None)
            getter = next((getattr(lib, g) for g in _GETTERS if hasattr(lib, g)), None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype, getter.restype = [ctypes.c_int], None, ctypes.c_int
                _State.blas = (setter, getter)
                break
    return _State.blas


def small_product(flops: float) -> contextlib.AbstractContextManager[None]:
    """BLAS on one thread inside the block when a product outside any split does less than PARALLEL_MIN_FLOPS of
    work (a linear layer's, say), its own threads otherwise: for small products a second BLAS thread gains
    nothing on a quiet machine and waits for the scheduler when another process holds a core."""
    return _blas_on_one_thread(flops < PARALLEL_MIN_FLOPS)


@contextlib.contextmanager
def _blas_on_one_thread(wanted: bool) -> Iterator[None]:
    """OpenBLAS on one thread inside the block when `wanted` (a 0.5 µs call each way), as it was otherwise."""
    blas = _openblas() if wanted else ()
    before = blas[1]() if blas else 1
    if before > 1:
        blas[0](1)
    try:
        yield
    finally:
        if before > 1:
            blas[0](before)


# ----------------------------------------------------------------- the split
def _pool(workers: int) -> Any:
    from concurrent.futures import ThreadPoolExecutor

    if _State.pool_pid != os.getpid():  # a forked child inherits the pool object but none of its threads
        _State.pool = None
    if _State.pool is None or _State.pool_size != workers:
        if _State.pool is not None:
            _State.pool.shutdown(wait=True)
        _State.pool = ThreadPoolExecutor(workers, thread_name_prefix="cnnkit")
        _State.pool_size, _State.pool_pid = workers, os.getpid()
    return _State.pool


# Below this much work a split runs in the caller alone, BLAS on one thread (PyTorch's grain size plays the same
# part). Measured on 2 cores: with another process on a core, a LeNet-5 training step took 22 ms on one thread and
# 29–66 ms on two (a chunk taken by the thread that shares the busy core waits for the scheduler's time slice);
# on a quiet machine, a LeNet-5 step with splits from 150, 50 or 30 MFLOP took 26.7, 24.3 and 24.6 ms, and a
# 6→16 5×5 forward at 14×14 (61 MFLOP) 2.2 ms on one thread and 1.4 ms on two. Since the chunks became folded
# products, LeNet-5's first layer (1→6 5×5 at 28×28, 30 MFLOP a pass) also gains from the second core: forward
# 3.2 → 2.3 ms, forward and weight gradient 7.6 → 6.3 ms (both thresholds timed in turn in one process); and its
# training step under `benchmarks --busy` stayed at 1.2–1.3× PyTorch's.
PARALLEL_MIN_FLOPS = 20e6


# A chunk's working set (im2col columns, Winograd's transformed input): about 2 MiB, measured best among 1, 2, 4
# and 8 MiB on ResNet-20's and LeNet-5's layers (2 cores, L2 1 MiB per core, L3 32 MiB): smaller chunks make
# products too short for BLAS, larger ones leave the cache.
CHUNK_BYTES = 2 << 20
# At least this many chunks, so that a thread slowed by a busy core can take fewer of them. A constant, not a
# multiple of the thread count: the chunks, and so the order of any sums over them, are then the same on any
# number of threads, and results are bitwise identical whatever `set_num_threads` says.
MIN_CHUNKS = 8


def chunk_images(n: int, bytes_per_image: int) -> int:
    """Images per chunk of a split of n images whose working set is `bytes_per_image` each."""
    by_cache = max(1, CHUNK_BYTES // max(1, bytes_per_image))
    by_balance = max(1, -(-n // MIN_CHUNKS))
    return min(by_cache, by_balance)


def split_threads(n: int, chunk: int, flops: float | None = None) -> int:
    """Threads a split of n images into chunks of `chunk` would use (1: it runs in the caller alone); `flops`,
    when given, is the whole split's work, and less than PARALLEL_MIN_FLOPS runs on one thread."""
    chunks = -(-n // chunk) if n > 0 else 0
    if chunks < 2 or not _openblas():  # without a way to make BLAS single-threaded, its own threads are used
        return 1
    if flops is not None and flops < PARALLEL_MIN_FLOPS:
        return 1
    return max(1, min(get_num_threads(), chunks))


def split_batch(work: Callable[[int, int, int], None], n: int, chunk: int, flops: float | None = None) -> int:
    """Run work(lo, hi, worker) over [0, n) in chunks; returns the number of workers (worker ids are < it).

    Chunks run in any order and concurrently: `work` must write only its own rows [lo, hi) of shared outputs,
    and anything it sums must go into the per-worker slot `worker`. `flops`: the split's whole work, when known
    (see `PARALLEL_MIN_FLOPS`).
    """
    threads = split_threads(n, chunk, flops)
    owner = _State.lock.acquire(blocking=False)  # False inside another split: run serially within its thread
    # BLAS on one thread in the serial case too (a 2-thread BLAS on a chunk's small products waits for a busy
    # core), except for a single chunk of enough work when more threads are wanted: BLAS's own threads are then
    # the only ones
    single_chunk_on_many = n <= chunk and get_num_threads() > 1 and (flops is None or flops >= PARALLEL_MIN_FLOPS)
    try:
        with _blas_on_one_thread(owner and not single_chunk_on_many):
            if threads == 1 or not owner:
                threads = 1
                for lo in range(0, n, chunk):
                    work(lo, min(lo + chunk, n), 0)
            else:
                _run_threads(work, n, chunk, threads)
    finally:
        if owner:
            _State.lock.release()
    return threads


def _run_threads(work: Callable[[int, int, int], None], n: int, chunk: int, threads: int) -> None:
    """The caller and threads − 1 pool threads take chunks from one counter until none is left."""
    counter = itertools.count()  # next() on it is atomic under the GIL: each chunk is taken once

    def worker(index: int) -> None:
        for i in counter:
            lo = i * chunk
            if lo >= n:
                return
            work(lo, min(lo + chunk, n), index)

    futures = [_pool(threads - 1).submit(worker, index) for index in range(1, threads)]
    try:
        worker(0)
    finally:
        errors = [future.exception() for future in futures]  # waits for every pool thread
    for error in errors:
        if error is not None:
            raise error
