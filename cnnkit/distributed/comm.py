"""MPI communication on NumPy buffers: `init`, `rank`, `world_size`, `barrier`, `all_reduce`, `broadcast`, `abort`.

Everything goes through mpi4py's buffer interface (upper-case `Allreduce`, `Iallreduce`, `Bcast`, `Ibcast`):
arrays travel as raw memory, never pickled. `all_reduce` and `broadcast` work in place, as PyTorch's
`torch.distributed` calls do, and with `async_op=True` return a `Work` whose `wait()` completes them.
mpi4py is imported (and MPI initialised) only by `init()`, so cnnkit runs without it.

Waiting in a blocking MPI call spins a core at 100 %. On a machine whose cores are shared, the waits that
can be long (a barrier while rank 0 evaluates, a broadcast of the next epoch's results) poll gently instead:
`wait_gently` tests the request and sleeps a millisecond between tests.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

_state: dict[str, Any] = {"comm": None, "MPI": None}

_OPS = ("sum", "max", "min", "prod")


def init() -> None:
    """Initialise MPI (idempotent). Under `mpirun` every process gets its rank; run alone it is rank 0 of 1."""
    if _state["comm"] is not None:
        return
    try:
        from mpi4py import MPI
    except ImportError as err:  # the optional extra is missing
        message = f"cnnkit.distributed needs mpi4py and an MPI library: pip install -e '.[mpi]' ({err})"
        raise RuntimeError(message) from None
    _state["MPI"], _state["comm"] = MPI, MPI.COMM_WORLD


def is_initialized() -> bool:
    return _state["comm"] is not None


def _comm():
    if _state["comm"] is None:
        raise RuntimeError("cnnkit.distributed is not initialised: call cnnkit.distributed.init() first")
    return _state["comm"]


def rank() -> int:
    """This process's rank, 0 … world_size() − 1."""
    return int(_comm().Get_rank())


def world_size() -> int:
    """The number of processes in the job."""
    return int(_comm().Get_size())


class Work:
    """A started non-blocking operation (PyTorch's name); `wait()` returns once it has completed."""

    def __init__(self, request: Any, array: np.ndarray) -> None:
        self.request, self.array = request, array  # the array must stay alive until the operation ends

    def is_completed(self) -> bool:
        return bool(self.request.Test())

    def wait(self) -> np.ndarray:
        self.request.Wait()
        return self.array


def _buffer(array: Any, what: str) -> np.ndarray:
    """The NumPy array behind a Tensor or array, checked to be one contiguous block MPI can read in place."""
    data = getattr(array, "_data", array) if not isinstance(array, np.ndarray) else array
    if not isinstance(data, np.ndarray):
        raise TypeError(f"{what}: expected a NumPy array or cnnkit Tensor, got {type(array).__name__}")
    if not data.flags.c_contiguous or not data.flags.writeable:
        raise ValueError(
            f"{what}: the array must be C-contiguous and writeable (got a view of shape {data.shape}); "
            "pass np.ascontiguousarray(a) and copy the result back"
        )
    return data


def _mpi_op(op: str):
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(_OPS)}, got {op!r}")
    MPI = _state["MPI"]
    return {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "prod": MPI.PROD}[op]


def all_reduce(array: Any, op: str = "sum", async_op: bool = False) -> np.ndarray | Work:
    """Reduce `array` element-wise over all ranks, in place: afterwards every rank holds the result."""
    data = _buffer(array, "all_reduce")
    comm, MPI = _comm(), _state["MPI"]
    if async_op:
        return Work(comm.Iallreduce(MPI.IN_PLACE, data, op=_mpi_op(op)), data)
    comm.Allreduce(MPI.IN_PLACE, data, op=_mpi_op(op))
    return data


def broadcast(array: Any, src: int = 0, async_op: bool = False) -> np.ndarray | Work:
    """Overwrite `array` on every rank with rank `src`'s values, in place (same shape and dtype everywhere)."""
    data = _buffer(array, "broadcast")
    comm = _comm()
    if async_op:
        return Work(comm.Ibcast(data, root=src), data)
    comm.Bcast(data, root=src)
    return data


def wait_gently(work: Work, interval: float = 0.001) -> np.ndarray:
    """Wait for `work` without spinning a core: test, then sleep `interval` seconds, until it completes."""
    while not work.is_completed():
        time.sleep(interval)
    return work.array


def barrier() -> None:
    """Return once every rank has called barrier (waiting gently, see the module docstring)."""
    wait_gently(Work(_comm().Ibarrier(), np.zeros(0)))


def broadcast_json(value: Any = None, src: int = 0) -> Any:
    """Rank `src`'s JSON-serialisable value on every rank: its UTF-8 text as a byte buffer (no pickling)."""
    payload = np.frombuffer(json.dumps(value).encode(), dtype=np.uint8) if rank() == src else np.zeros(0, np.uint8)
    size = np.array([payload.size], dtype=np.int64)
    wait_gently(broadcast(size, src, async_op=True))
    data = payload.copy() if rank() == src else np.empty(int(size[0]), dtype=np.uint8)
    wait_gently(broadcast(data, src, async_op=True))
    return json.loads(data.tobytes().decode())


def abort(code: int = 1) -> None:
    """End every process of the job at once (MPI_Abort): a failed rank stops the others instead of leaving them
    waiting forever in a collective."""
    _comm().Abort(code)
