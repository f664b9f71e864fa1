"""How one training run is spread over the ranks of an MPI job (`cnnkit train --distributed` / `--nprocs N`).

`Parallel()` is the single process (rank 0 of 1): every method is then the identity, so the trainer has one
code path. `Parallel.from_mpi()` is one rank of a job, and then:
- the global `--batch-size` B is split: each rank trains on B / R samples per step, drawn by a
  `DistributedSampler` from the same per-epoch permutation a single process draws (seed `epoch_seed(seed, epoch,
  0)`), so the ranks' k-th batches together are the single process's k-th batch;
- the model is wrapped in `DistributedDataParallel` (and, if asked, its batch norms made `SyncBatchNorm`);
- each rank's augmentation and dropout stream is its own: rank 0 keeps the single-process seed, rank r > 0
  derives another from (seed, r), so ranks do not apply the same random crops to different images;
- training statistics (loss, correct, counted, images) are summed over the ranks;
- rank 0 alone evaluates, prints and writes the run folder; the other ranks receive its epoch results.
The run folder and the data must be at the same path on every rank (one machine, or a shared file system).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np


@dataclass
class Parallel:
    """The rank of this process, the number of ranks, and whether batch norm is synchronised across them."""

    rank: int = 0
    world_size: int = 1
    sync_batchnorm: bool = False

    @classmethod
    def from_mpi(cls, sync_batchnorm: bool = False) -> Parallel:
        """This process as one rank of the MPI job it was started in (by mpirun)."""
        from cnnkit.distributed import comm

        comm.init()
        return cls(comm.rank(), comm.world_size(), sync_batchnorm)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def local_batch_size(self, batch_size: int) -> int:
        """This rank's share of the global batch; the global batch must split evenly."""
        if batch_size % self.world_size:
            raise ValueError(
                f"--batch-size {batch_size} cannot be split evenly over {self.world_size} processes; "
                f"choose a multiple of {self.world_size}"
            )
        return batch_size // self.world_size

    def steps_per_epoch(self, num_samples: int, batch_size: int) -> int:
        """Optimiser steps per epoch: ⌈⌈N / R⌉ / (B / R)⌉, which is ⌈N / B⌉ for one process."""
        return math.ceil(math.ceil(num_samples / self.world_size) / self.local_batch_size(batch_size))

    def sampler(self, dataset: Any, seed: int) -> Any:
        """This rank's share of the epoch drawn with `seed` (None for a single process: the loader shuffles)."""
        if not self.distributed:
            return None
        from cnnkit.distributed import DistributedSampler

        return DistributedSampler(dataset, self.world_size, self.rank, shuffle=True, seed=seed)

    def rank_seed(self, seed: int) -> int:
        """`seed` on rank 0; on rank r > 0 an independent seed derived from (seed, r)."""
        if self.rank == 0:
            return seed
        return int(np.random.SeedSequence([seed, self.rank]).generate_state(1, np.uint64)[0] % 2**63)

    def wrap(self, model: Any) -> Any:
        """The model to train with: the model itself, or (in a job) wrapped in DistributedDataParallel."""
        if not self.distributed:
            return model
        from cnnkit.distributed import DistributedDataParallel

        return DistributedDataParallel(model)

    def prepare(self, model: Any) -> Any:
        """The model with its batch norms made SyncBatchNorm when asked (same parameters and state-dict keys)."""
        if not self.sync_batchnorm:
            return model
        from cnnkit.distributed import convert_sync_batchnorm

        return convert_sync_batchnorm(model)

    def main_first(self, load: Callable[[], Any]) -> Any:
        """`load()` on rank 0, then on the others: a download or a cache being built happens once."""
        if not self.distributed:
            return load()
        from cnnkit.distributed import comm

        result = load() if self.is_main else None
        comm.barrier()
        return result if self.is_main else load()

    def reduce_stats(self, stats: Any) -> Any:
        """Training statistics of the whole job: sums of loss·images, correct, counted and images over the ranks;
        the seconds of the slowest rank."""
        if not self.distributed:
            return stats
        from cnnkit.distributed import comm

        totals = np.array([stats.loss * stats.images, stats.correct, stats.counted, stats.images], dtype=np.float64)
        comm.all_reduce(totals, "sum")
        seconds = np.array([stats.seconds])
        comm.all_reduce(seconds, "max")
        loss_sum, correct, counted, images = totals
        return replace(
            stats,
            loss=loss_sum / max(images, 1),
            accuracy=correct / max(counted, 1),
            images=int(images),
            seconds=float(seconds[0]),
            correct=int(correct),
            counted=int(counted),
        )

    def from_main(self, value: Any) -> Any:
        """Rank 0's value (JSON-serialisable) on every rank."""
        if not self.distributed:
            return value
        from cnnkit.distributed.comm import broadcast_json

        return broadcast_json(value if self.is_main else None, 0)
