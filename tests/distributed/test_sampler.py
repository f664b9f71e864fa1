"""DistributedSampler: PyTorch's padding and stride (compared with torch's sampler unshuffled), the shared
permutation, and exact coverage per epoch on 2 real ranks."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.distributed import DistributedSampler
from tests.distributed.conftest import rank_info


@pytest.mark.parametrize(
    "n, replicas, drop_last",
    [(10, 3, False), (10, 3, True), (2, 5, False), (12, 4, False), (7, 2, True), (0, 2, False)],
)
def test_unshuffled_shares_equal_torchs(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_shuffled_shares_stride_one_permutation_per_epoch():
    n, replicas = 11, 3
    permutation = np.random.default_rng(5 + 2).permutation(n)  # seed + epoch
    padded = np.concatenate([permutation, permutation[:1]])  # 12 = 4 per rank
    for rank in range(replicas):
        sampler = DistributedSampler(range(n), replicas, rank, seed=5)
        sampler.set_epoch(2)
        assert list(sampler) == padded[rank::replicas].tolist()
    first = DistributedSampler(range(n), replicas, 0, seed=5)
    assert list(first) != padded[0::replicas].tolist()  # epoch 0 draws another permutation


def test_global_batch_of_the_shares_is_the_single_process_batch():
    """Rank r's k-th batch of B/R indices, joined over the ranks, is the k-th batch of B of the permutation."""
    n, replicas, batch = 24, 2, 6
    permutation = np.random.default_rng(9).permutation(n)
    shares = [DistributedSampler(range(n), replicas, r, seed=9).indices() for r in range(replicas)]
    for k in range(n // batch):
        joined = np.concatenate([s[k * batch // replicas : (k + 1) * batch // replicas] for s in shares])
        assert sorted(joined.tolist()) == sorted(permutation[k * batch : (k + 1) * batch].tolist())


def test_bad_rank_is_refused():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


@pytest.mark.parametrize("epoch", ["0", "1"])
def test_two_ranks_cover_the_data_exactly_once_per_epoch(basics, epoch):
    shares = [rank_info(basics, r)["samplers"] for r in (0, 1)]
    even = shares[0]["10-False"][epoch] + shares[1]["10-False"][epoch]
    assert sorted(even) == list(range(10))  # 10 over 2 ranks: every index exactly once
    padded = shares[0]["11-False"][epoch] + shares[1]["11-False"][epoch]
    assert len(padded) == 12 and set(padded) == set(range(11))  # one index repeated to even the shares
    dropped = shares[0]["11-True"][epoch] + shares[1]["11-True"][epoch]
    assert len(dropped) == len(set(dropped)) == 10  # drop_last: the tail index is left out, none repeated
    assert shares[0]["10-False"]["0"] != shares[0]["10-False"]["1"]  # set_epoch changes the permutation
