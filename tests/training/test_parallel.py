"""training.parallel: how a run is split over ranks (batch split, steps, sampler, seeds), checked without MPI;
and checkpoints resumed across world sizes by a 2-rank job."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit import nn
from cnnkit.distributed import DistributedSampler, SyncBatchNorm
from cnnkit.training.checkpoint import load_checkpoint
from cnnkit.training.loop import EpochStats
from cnnkit.training.parallel import Parallel
from cnnkit.training.run import train
from tests.distributed.mpi import requires_mpirun, run_worker
from tests.distributed.workers import tiny_run_config
from tests.training.tiny_data import write_tiny_fashion


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


@requires_mpirun
def test_checkpoints_resume_across_world_sizes(tmp_path):
    """A 2-rank run's checkpoint resumes in one process and a one-process run's on 2 ranks; both end at the
    weights of an uninterrupted one-process run, with the job's statistics summed over the ranks."""
    write_tiny_fashion(tmp_path / "data", n_train=128, n_test=40)
    job = run_worker("resume", tmp_path)
    assert job.returncode == 0, f"{job.stdout}\n{job.stderr}"
    reference = train(
        tiny_run_config(tmp_path / "data", tmp_path / "reference", 2), progress=False, log=lambda *a: None
    )
    expected = load_checkpoint(reference.run_dir / "last.safetensors")
    for name in ("two", "one"):  # two: 2 ranks then 1 process; one: 1 process then 2 ranks
        got = load_checkpoint(tmp_path / name / "last.safetensors")
        assert [row["epoch"] for row in got.meta["history"]] == [1, 2]
        for key, value in expected.model_state.items():
            np.testing.assert_allclose(got.model_state[key], value, rtol=0, atol=1e-5, err_msg=f"{name}: {key}")
        for mine, theirs in zip(got.meta["history"], expected.meta["history"], strict=True):
            assert mine["train_loss"] == pytest.approx(theirs["train_loss"], abs=1e-4)
            assert mine["train_accuracy"] == pytest.approx(theirs["train_accuracy"], abs=1e-6)
    assert float(np.abs(expected.model_state["features.0.weight"]).max()) > 0
    # only rank 0 printed: one line per epoch trained on 2 ranks (epoch 1 of `two`, epoch 2 of `one`)
    assert job.stdout.count("epoch   1 ") == 1 and job.stdout.count("epoch   2 ") == 1, job.stdout
    assert job.stdout.count("resuming") == 1
