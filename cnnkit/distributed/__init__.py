"""Data-parallel training over MPI (mpi4py): every process holds the whole model and trains on its own share of
each batch; gradients are averaged with allreduce before each step.

`comm` (init, rank, world_size, barrier, all_reduce, broadcast on NumPy buffers), `DistributedDataParallel`,
`DistributedSampler`, `SyncBatchNorm`; `launch` runs `cnnkit train` under `mpirun` and stops the whole job
when one rank fails. Install with `pip install -e '.[mpi]'`; mpi4py is imported only by `init()`.
"""

from __future__ import annotations

from cnnkit.distributed.comm import (
    Work,
    abort,
    all_reduce,
    barrier,
    broadcast,
    init,
    is_initialized,
    rank,
    world_size,
)
from cnnkit.distributed.ddp import DistributedDataParallel
from cnnkit.distributed.sampler import DistributedSampler
from cnnkit.distributed.sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

__all__ = [
    "DistributedDataParallel",
    "DistributedSampler",
    "SyncBatchNorm",
    "Work",
    "abort",
    "all_reduce",
    "barrier",
    "broadcast",
    "convert_sync_batchnorm",
    "init",
    "is_initialized",
    "rank",
    "world_size",
]
