"""The interleaved timer, on a fake clock: call order, warm-up, median/min, calls per sample; the thread control."""

from __future__ import annotations

import pytest

from benchmarks import threads
from benchmarks.timing import MAX_CALLS_PER_SAMPLE, Timing, calls_per_sample, interleaved


class FakeClock:
    """A clock that only moves when a fake workload "runs" for a given duration."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def workload(clock: FakeClock, log: list[str], name: str, durations: list[float]):
    """A callable that logs its name and advances the clock by the next duration (the last one repeats)."""
    calls = iter(durations)
    last = [durations[-1]]

    def run() -> None:
        log.append(name)
        last[0] = next(calls, last[0])
        clock.now += last[0]

    return run


def test_interleaves_after_warmup_and_reports_median_and_min():
    clock, log = FakeClock(), []
    # c: warm-up 9, 9, probe 1, then repeats 3, 1, 2 ; t: warm-up 9, 9, probe 1, then repeats 5, 4, 6
    c = workload(clock, log, "c", [9, 9, 1, 3, 1, 2])
    t = workload(clock, log, "t", [9, 9, 1, 5, 4, 6])
    ck, th = interleaved([c, t], repeats=3, warmup=2, min_sample=0.0, clock=clock, settle=0)
    assert log == ["c", "t"] * 2 + ["c", "t"] + ["c", "t"] * 3  # warm-up, probe, repeats: always in turn
    assert ck.samples == [3, 1, 2] and th.samples == [5, 4, 6]
    assert (ck.median, ck.min, th.median, th.min) == (2, 1, 5, 4)
    assert ck.number == th.number == 1


def test_short_calls_are_repeated_inside_each_sample():
    clock, log = FakeClock(), []
    fast = workload(clock, log, "f", [0.001])
    slow = workload(clock, log, "s", [0.5])
    f, s = interleaved([fast, slow], repeats=2, warmup=0, min_sample=0.01, clock=clock, settle=0)
    assert f.number == 10 and s.number == 1
    assert f.samples == pytest.approx([0.001, 0.001])  # per call, not per sample
    assert log.count("f") == 1 + 2 * 10 and log.count("s") == 1 + 2


def test_each_sample_follows_an_untimed_call_of_the_same_contender():
    # the first call after the other contender's turn is slow (its threads still spin): it is run, not timed
    clock, log = FakeClock(), []
    c = workload(clock, log, "c", [1, 7, 2, 7, 3])  # probe 1; then per repeat: settle 7, timed 2 / 3
    t = workload(clock, log, "t", [1, 9, 4, 9, 5])
    ck, th = interleaved([c, t], repeats=2, warmup=0, min_sample=0.0, clock=clock, settle=1)
    assert log == ["c", "t"] + ["c", "c", "t", "t"] * 2
    assert ck.samples == [2, 3] and th.samples == [4, 5]


@pytest.mark.parametrize(("seconds", "min_sample", "expected"), [
    (0.5, 0.01, 1), (0.01, 0.01, 1), (0.004, 0.01, 3), (1e-4, 0.01, 100), (0.0, 0.01, MAX_CALLS_PER_SAMPLE),
    (1e-4, 0.0, 1),
])
def test_calls_per_sample(seconds, min_sample, expected):
    assert calls_per_sample(seconds, min_sample) == expected


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="interleaved: expected repeats >= 1, got 0"):
        interleaved([lambda: None], repeats=0)
    with pytest.raises(ValueError, match="interleaved: expected warmup >= 0 and settle >= 0, got -1 and 1"):
        interleaved([lambda: None], warmup=-1)
    with pytest.raises(ValueError, match="expected warmup >= 0 and settle >= 0, got 2 and -1"):
        interleaved([lambda: None], settle=-1)


def test_timing_as_dict():
    d = Timing([0.3, 0.1, 0.2], number=4).as_dict()
    assert d == {"median_s": 0.2, "min_s": 0.1, "samples_s": [0.3, 0.1, 0.2], "calls_per_sample": 4}


def test_thread_limits_reach_the_loaded_blas(monkeypatch):
    for var in threads._ENV_VARS:  # cleared now, restored after the test (an absent one deleted again)
        monkeypatch.setenv(var, "")  # setenv records the original; delenv of an absent variable records nothing
        monkeypatch.delenv(var)
    info = threads.limit_env(3)
    assert info["env"] == {"OPENBLAS_NUM_THREADS": "3", "OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3",
                           "NUMBA_NUM_THREADS": "3"}
    assert info["numpy_already_imported"] is True  # pytest has imported NumPy: too late for the variables
    before = threads.blas_threads()
    if before is None:
        pytest.skip("this NumPy's BLAS does not report its thread count")
    try:
        assert threads.limit_loaded(1)["blas_threads"] == 1
        assert threads.blas_threads() == 1
    finally:
        threads.limit_loaded(before)
    assert threads.blas_threads() == before
