"""Thread counts: make NumPy's BLAS and PyTorch use the same number of threads, and say how it was done.

NumPy's matrix products run in OpenBLAS, which reads OPENBLAS_NUM_THREADS once, when NumPy is imported.
So `limit_env(n)` must run before anything imports NumPy; `limit_loaded(n)` then sets the count in the
loaded library: through threadpoolctl when it is installed, else by calling OpenBLAS's own
`openblas_set_num_threads` (what threadpoolctl does), and PyTorch through `torch.set_num_threads`.
Both return plain dicts that go into the JSON report.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
# OpenBLAS builds name their setter differently: NumPy's wheels carry scipy-openblas with a suffixed name.
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
            "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
            "openblas_get_num_threads")


def limit_env(threads: int) -> dict[str, Any]:
    """Set the thread variables for libraries not loaded yet; says whether NumPy was already imported."""
    for var in _ENV_VARS:
        os.environ[var] = str(threads)
    return {"env": {var: os.environ[var] for var in _ENV_VARS}, "numpy_already_imported": "numpy" in sys.modules}


def limit_loaded(threads: int, torch_module: Any = None) -> dict[str, Any]:
    """Set the thread count in the loaded BLAS (and in torch when given); report the method and the result."""
    info: dict[str, Any] = {"requested": threads}
    info["blas_method"], info["blas_threads"] = _limit_blas(threads)
    from cnnkit.ops.threads import set_num_threads as set_cnnkit_threads

    set_cnnkit_threads(threads)  # cnnkit's batch split and compiled loops use the same count
    info["kernel_threads"] = threads
    if torch_module is not None:
        torch_module.set_num_threads(threads)
        info["torch_threads"] = torch_module.get_num_threads()
    return info


def blas_threads() -> int | None:
    """The thread count the loaded BLAS reports now (None when it cannot be read)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        getters = [_symbol(path, _GETTERS) for path in _loaded_openblas()]
        counts = [int(getter()) for getter in getters if getter is not None]
        return min(counts) if counts else None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return min(counts) if counts else None


def _limit_blas(threads: int) -> tuple[str, int | None]:
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return _limit_openblas_ctypes(threads)
    threadpool_limits(limits=threads, user_api="blas")
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return "threadpoolctl", (min(counts) if counts else None)


def _limit_openblas_ctypes(threads: int) -> tuple[str, int | None]:
    """Call the setter of each OpenBLAS mapped into this process; (method, threads it now reports)."""
    import numpy  # noqa: F401 - loads the BLAS so that it appears in the memory map

    libraries = _loaded_openblas()
    if not libraries:
        return "environment (no OpenBLAS found in this process)", None
    setters = [setter for setter in (_symbol(path, _SETTERS) for path in libraries) if setter is not None]
    if not setters:
        return "environment (OpenBLAS without a thread setter)", None
    for setter in setters:
        setter.argtypes, setter.restype = [ctypes.c_int], None
        setter(threads)
    return "openblas_set_num_threads (ctypes)", blas_threads()


def _loaded_openblas() -> list[str]:
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return []
    return sorted(paths)


def _symbol(path: str, names: tuple[str, ...]) -> Any:
    """The first of `names` that the library at `path` exports (getters return an int), or None."""
    lib = ctypes.CDLL(path)
    for name in names:
        try:
            function = getattr(lib, name)
        except AttributeError:
            continue
        function.restype = ctypes.c_int
        return function
    return None
