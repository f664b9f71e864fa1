"""`cnnkit.nn.parallel`: `DataParallel` (on the CPU, the wrapped module itself) and `DistributedDataParallel`
(cnnkit's MPI data parallelism, `cnnkit.distributed.DistributedDataParallel`), under torch.nn.parallel's names."""

from __future__ import annotations

from typing import Any

from cnnkit.nn.parallel.data_parallel import DataParallel


def __getattr__(name: str) -> Any:
    # imported on first use: cnnkit.distributed builds on cnnkit.nn
    if name == "DistributedDataParallel":
        from cnnkit.distributed.ddp import DistributedDataParallel

        return DistributedDataParallel
    raise AttributeError(f"module 'cnnkit.nn.parallel' has no attribute {name!r}")


__all__ = ["DataParallel", "DistributedDataParallel"]
