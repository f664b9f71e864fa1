"""training.parallel: how a run is split over ranks (batch split, steps, sampler, seeds), checked without MPI."""

from __future__ import annotations

import pytest

from cnnkit import nn
from cnnkit.distributed import DistributedSampler, SyncBatchNorm
from cnnkit.training.loop import EpochStats
from cnnkit.training.parallel import Parallel


def test_one_process_changes_nothing():
    single = Parallel()
    model = nn.Linear(2, 2)
    stats = EpochStats(0.5, 0.25, 8, 1.0, 2, 8)
    assert single.is_main and not single.distributed
    assert single.local_batch_size(128) == 128 and single.steps_per_epoch(1000, 128) == 8
    assert single.sampler(range(10), 3) is None and single.rank_seed(42) == 42
    assert single.wrap(model) is model and single.prepare(model) is model
    assert single.reduce_stats(stats) is stats and single.from_main([1, 2]) == [1, 2]
    assert single.main_first(lambda: "loaded") == "loaded"


def test_a_rank_takes_its_share_of_batch_and_epoch():
    second = Parallel(rank=1, world_size=2)
    assert not second.is_main and second.local_batch_size(128) == 64
    assert second.steps_per_epoch(11, 4) == 3  # ⌈⌈11/2⌉ / 2⌉: 6 samples per rank, 2 per step
    sampler = second.sampler(range(10), seed=7)
    assert isinstance(sampler, DistributedSampler) and (sampler.rank, sampler.num_replicas, sampler.seed) == (1, 2, 7)


def test_global_batch_must_split_evenly():
    with pytest.raises(ValueError, match="--batch-size 7 cannot be split evenly over 2 processes"):
        Parallel(0, 2).local_batch_size(7)


def test_ranks_draw_their_own_augmentation_streams():
    seeds = [Parallel(r, 3).rank_seed(1234) for r in range(3)]
    assert seeds[0] == 1234 and len(set(seeds)) == 3
    assert seeds == [Parallel(r, 3).rank_seed(1234) for r in range(3)]  # the same on every run
    assert all(0 <= s < 2**63 for s in seeds)


def test_sync_batchnorm_is_made_before_training():
    model = Parallel(0, 1, sync_batchnorm=True).prepare(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
    assert isinstance(model[1], SyncBatchNorm)
