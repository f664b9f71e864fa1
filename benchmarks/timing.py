"""The interleaved median timer: warm up, then time the contenders in turn (c, t, c, t, ...), report the median.

Interleaving matters on a shared machine: a burst of outside load then slows one repeat of each contender
instead of all the repeats of one of them, and the median throws that repeat away. But taking turns has a cost
of its own: PyTorch's OpenMP threads keep spinning for a while after its last call, on the cores that the next
contender wants. So each timed sample is preceded by `settle` untimed calls of the same contender, which absorb
what the other one left running, as happens in a real training loop, where the same framework runs step after
step. Measured on 2 cores, a 5×5 6→16 convolution forward at batch 128: cnnkit 1.34 ms timed alone, 2.35 ms
timed right after PyTorch's call; PyTorch 0.63 ms alone, 0.74 ms right after cnnkit's. Calls shorter than
`min_sample` seconds are repeated inside one sample (as `timeit` does) so that the clock's resolution and
the loop's own cost stay negligible; each sample is then the mean time per call within it.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

MAX_CALLS_PER_SAMPLE = 1000


@dataclass
class Timing:
    """Seconds per call, one sample per repeat; `number` calls were made inside each sample."""

    samples: list[float] = field(default_factory=list)
    number: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    def as_dict(self) -> dict:
        return {"median_s": self.median, "min_s": self.min, "samples_s": list(self.samples),
                "calls_per_sample": self.number}


def calls_per_sample(seconds_per_call: float, min_sample: float) -> int:
    """How many calls make one sample last at least min_sample seconds (1 for calls already that long)."""
    if min_sample <= 0 or seconds_per_call >= min_sample:
        return 1
    return min(MAX_CALLS_PER_SAMPLE, math.ceil(min_sample / max(seconds_per_call, 1e-9)))


def interleaved(fns: Sequence[Callable[[], object]], repeats: int = 7, warmup: int = 2, min_sample: float = 0.01,
                clock: Callable[[], float] = time.perf_counter, settle: int = 1) -> list[Timing]:
    """Time each function `repeats` times, taking turns, after `warmup` untimed turns; one Timing per function.
    Each timed sample follows `settle` untimed calls of the same function."""
    if repeats < 1:
        raise ValueError(f"interleaved: expected repeats >= 1, got {repeats}")
    if warmup < 0 or settle < 0:
        raise ValueError(f"interleaved: expected warmup >= 0 and settle >= 0, got {warmup} and {settle}")
    gc.collect()  # start from a clean heap, so that no contender pays for the garbage of the previous workload
    for _ in range(warmup):
        for fn in fns:
            fn()
    timings = [Timing(number=calls_per_sample(_time_once(fn, clock), min_sample)) for fn in fns]
    for _ in range(repeats):
        for fn, timing in zip(fns, timings, strict=True):
            for _ in range(settle):
                fn()
            start = clock()
            for _ in range(timing.number):
                fn()
            timing.samples.append((clock() - start) / timing.number)
    return timings


def _time_once(fn: Callable[[], object], clock: Callable[[], float]) -> float:
    start = clock()
    fn()
    return clock() - start
