"""The benchmark tests clear and set the thread variables (OPENBLAS_NUM_THREADS, NUMBA_NUM_THREADS, ...).

Numba reads NUMBA_NUM_THREADS when it is imported and again before every compilation, and refuses to compile
when the value has changed since its threads started. So numba is imported here, under the session's own
environment, before any of these tests changes it: a kernel compiled later in the session (a fresh cache)
then sees the value numba started with.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _numba_reads_the_session_environment() -> None:
    import numba  # noqa: F401 - its config (the thread count) is read on import
