"""`--busy`: keep one core busy with a separate process while cnnkit and PyTorch are timed.

On a shared machine another job often holds a core. A library that splits every product evenly over both
cores then waits for the busy one at each product (a 2-thread OpenBLAS: a LeNet-5 epoch goes from 5–7 s to
about 54 s). `busy_core()` starts a child Python process that spins in a loop, pinned to the last core this
process may use, and stops it (by its own pid) when the block ends; both contenders are timed under the same
load. The spinning child is a plain loop, not a benchmark: it does nothing but hold the core.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

SPIN = "while True:\n    pass\n"


@contextlib.contextmanager
def busy_core() -> Iterator[dict]:
    """A spinning child process for the duration of the block; yields {"pid", "cpu"} for the report."""
    child = subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.DEVNULL)
    info: dict = {"pid": child.pid, "cpu": None}
    try:
        try:
            cpu = max(os.sched_getaffinity(0))
            os.sched_setaffinity(child.pid, {cpu})
            info["cpu"] = cpu
        except (AttributeError, OSError):  # not Linux: the child runs wherever the scheduler puts it
            pass
        yield info
    finally:
        child.terminate()
        child.wait()
