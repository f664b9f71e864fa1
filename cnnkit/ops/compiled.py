"""Compiled loops: `compiled(fn)` turns a plain-Python loop nest into a parallel machine-code kernel with Numba.

Only the few loops that NumPy cannot express without big temporaries or thousands of tiny calls are
compiled (the convolution's scatter-adds, the depthwise convolution, Winograd's transforms, batch norm, ReLU and
pooling; see `benchmarks/`); the matrix products stay with BLAS. Numba is imported, and a kernel compiled, on the
kernel's first call, so `import cnnkit` and `cnnkit --help` never pay for it; compiled code is cached
on disk (`cache=True`), so later processes load it instead of compiling again.

Parallel kernels use `prange` over independent planes or runs of them: no two iterations write the same
element, so the loop needs no atomics. Kernels that run inside a thread of a batch split are compiled with
`parallel=False`. `set_num_threads` sets the kernels' thread count (the
benchmark keeps it equal to BLAS's).
"""

from __future__ import annotations

import functools
import os
import sys
import time
import types
from collections.abc import Callable
from typing import Any


def compiled(fn: Callable | None = None, *, parallel: bool = True) -> Callable:
    """`fn` compiled with `numba.njit(parallel=parallel, cache=True, nogil=True)` on first call; same signature.

    `parallel=False` gives a one-thread kernel (its `prange` runs as `range`), for loops that already run
    inside one of the threads of `cnnkit.ops.threads.split_batch`.
    """
    if fn is None:
        return functools.partial(compiled, parallel=parallel)
    kernel: list[Callable] = []

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        if not kernel:
            started = time.perf_counter()
            numba = _numba()
            # the kernel module's `prange` is the plain `range` below until numba is loaded; the compiler
            # must see numba's own to parallelise the loop
            fn.__globals__["prange"] = numba.prange
            for name, value in list(fn.__globals__.items()):  # the helpers it may call, compiled likewise
                if getattr(value, "_kernel_helper", False) and not hasattr(value, "py_func"):  # not yet compiled
                    fn.__globals__[name] = numba.njit(cache=True, inline="always")(value)
            kernel.append(numba.njit(parallel=parallel, cache=True, nogil=True)(fn if parallel else _serial_alias(fn)))
            try:
                return kernel[0](*args)  # compiles, or loads from the cache, for these argument types
            finally:
                _first_calls[0] += time.perf_counter() - started
        return kernel[0](*args)

    call.py_func = fn  # the plain-Python loop nest, for reading and for tests
    return call


def _serial_alias(fn: Callable) -> Callable:
    """fn under the name `<name>_serial`: numba's on-disk cache keys a kernel by its name and bytecode, not by
    its flags, so without another name a one-thread kernel and the parallel kernel of the same loops would load
    each other's machine code."""
    name = fn.__name__ + "_serial"
    code = fn.__code__.replace(co_name=name, co_qualname=name) if hasattr(fn.__code__, "co_qualname") \
        else fn.__code__.replace(co_name=name)
    alias = types.FunctionType(code, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    alias.__qualname__ = name
    return alias


_first_calls = [0.0]  # seconds spent in kernels' first calls: loading numba, compiling or loading from the cache


def first_call_seconds() -> float:
    """Seconds this process has spent in compiled kernels' first calls (numba's import, compiling or loading
    the cached machine code, and that one run): the start-up price that the benchmark reports."""
    return _first_calls[0]


def kernel_helper(fn: Callable) -> Callable:
    """Mark a small function that compiled kernels of the same module call: when a kernel is compiled, the
    module's name for it is rebound to a Numba function inlined into the kernel (plain Python until then)."""
    fn._kernel_helper = True
    return fn


# elements: see `numpy_suffices`. 2^18 takes in the largest activations of a one-image prediction by the shipped
# models: 64 channels at 28×28 (the wide Fashion-VGG), 32 at 64×64 (the scenes' U-Net)
NUMPY_BELOW = 1 << 18


def numpy_suffices(size: int, needs_grad: bool) -> bool:
    """Whether an op on `size` elements that needs no gradient runs its forward in plain NumPy instead of a compiled
    loop. For small arrays the loops gain microseconds, while their first call in a process costs about 0.6 s
    (numba's import and loading the cached kernels): a one-image `cnnkit predict` then never loads numba."""
    return not needs_grad and size < NUMPY_BELOW


def prange(*args: int) -> range:
    """`numba.prange` inside a compiled kernel; Python's `range` when a kernel's `py_func` runs uncompiled."""
    return range(*args)


_wanted: list[int] = []  # set_num_threads's values, the last one applied when numba loads


@functools.cache
def _numba() -> Any:
    # Numba's threading layer: TBB when it is installed (a dependency on x86-64; numba prefers it by itself), else
    # OpenMP. Measured on a ResNet-20 training step (2 cores, `CLOCK=wall python docs/tools/step_split.py resnet20`):
    # TBB 633–657 ms; OpenMP 1,073 ms with its default waiting, where its threads spin after each parallel region
    # on the cores the convolutions' threads (cnnkit.ops.threads) want next, and 764 ms with passive waiting.
    # The OpenMP runtime is shared with any other library of the process that loaded it first (PyTorch's reads
    # its settings when torch is imported), so passive waiting is asked for here only as the fallback's default.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import numba

    # Threads: $NUMBA_NUM_THREADS when set (numba reads it itself), else as many as BLAS was given through
    # $OPENBLAS_NUM_THREADS / $OMP_NUM_THREADS: a user who keeps BLAS on one core to leave the other to
    # another job expects the same of the kernels (a 2-thread kernel next to a busy core waits for it).
    if _wanted:
        numba.set_num_threads(max(1, min(_wanted[-1], numba.config.NUMBA_NUM_THREADS)))
    elif "NUMBA_NUM_THREADS" not in os.environ:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            if os.environ.get(var, "").isdigit() and int(os.environ[var]) >= 1:
                numba.set_num_threads(min(int(os.environ[var]), numba.config.NUMBA_NUM_THREADS))
                break
    return numba


def set_num_threads(threads: int) -> None:
    """Threads used by the compiled kernels, clamped to [1, the pool size numba started with]."""
    _wanted[:] = [threads]
    if "numba" in sys.modules:  # else applied when numba loads: setting it must not load numba
        numba = _numba()
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
