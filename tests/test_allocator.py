"""The heap policy set on import: memory freed by one step is reused by the next without page faults."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# A child process imports cnnkit, then twice fills two 8 MiB arrays (an activation's size) and frees them; it prints
# the minor page faults of the second round: the kernel's first-touch faults on memory it had to hand out again
# (about 500–1,000 with glibc's defaults, whether in 4 KiB or transparent huge pages; 0 when the heap kept it).
_CHILD = """
import resource
import numpy as np
import cnnkit
def fill():
    a, b = np.empty(2 << 20, dtype=np.float32), np.empty(2 << 20, dtype=np.float32)
    a.fill(1)
    b.fill(2)
fill()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
fill()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's (Linux)")


def _second_round_faults(malloc: str | None) -> int:
    env = dict(os.environ)
    env.pop("CNNKIT_MALLOC", None)
    if malloc is not None:
        env["CNNKIT_MALLOC"] = malloc
    done = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


def test_freed_memory_is_reused_without_page_faults() -> None:
    assert _second_round_faults(None) < 50  # the heap kept the 16 MiB: next to no first-touch faults


def test_cnnkit_malloc_system_keeps_the_defaults() -> None:
    assert _second_round_faults("system") > 200  # mmap'd afresh and faulted in page by page


def test_keep_freed_memory_reports_opting_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnkit.allocator import keep_freed_memory

    monkeypatch.setenv("CNNKIT_MALLOC", "system")
    assert keep_freed_memory() is False
    monkeypatch.delenv("CNNKIT_MALLOC")
    assert keep_freed_memory() is True
