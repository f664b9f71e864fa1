"""DistributedDataParallel on 2 ranks equals one process with the global batch (1e-5), leaves bitwise-identical
weights on every rank, starts bucket reductions during backward; bucket planning on its own."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit import nn
from cnnkit.distributed.ddp import plan_buckets
from cnnkit.serialization import load_with_metadata
from tests.distributed.workers import batches, build, train


def single_process(batchnorm: bool, accumulate: int = 1) -> dict[str, np.ndarray]:
    model = build(batchnorm, seed=0)
    train(model, batches(), accumulate=accumulate)
    return {name: np.array(t._data) for name, t in model.state_dict().items()}


def rank_weights(out, case: str, rank: int) -> tuple[dict[str, np.ndarray], dict]:
    return load_with_metadata(out / f"{case}-rank{rank}.safetensors")


@pytest.mark.parametrize(
    "case, batchnorm, accumulate", [("plain", False, 1), ("accumulate", False, 2), ("tiny_buckets", False, 1)]
)
def test_two_ranks_equal_one_process_with_the_global_batch(basics, case, batchnorm, accumulate):
    reference = single_process(batchnorm, accumulate)
    weights, _ = rank_weights(basics, case, 0)
    assert sorted(weights) == sorted(reference)
    for name, value in reference.items():
        np.testing.assert_allclose(weights[name], value, rtol=0, atol=1e-5, err_msg=f"{case}: {name}")
    moved = max(
        float(np.abs(value - build(batchnorm, 0).state_dict()[name]._data).max()) for name, value in reference.items()
    )
    assert moved > 1e-2  # the steps changed the weights, so equality says something


@pytest.mark.parametrize("case", ["plain", "syncbn", "accumulate", "tiny_buckets", "local_bn"])
def test_every_rank_holds_bitwise_identical_weights(basics, case):
    first, _ = rank_weights(basics, case, 0)
    second, _ = rank_weights(basics, case, 1)
    for name in first:
        if case == "local_bn" and "running" in name:
            continue  # as PyTorch's: rank 0's buffers are broadcast at each forward, then updated by each rank's share
        assert first[name].tobytes() == second[name].tobytes(), f"{case}: {name} differs between the ranks"


def test_plain_batchnorm_keeps_rank_zeros_running_statistics(basics):
    """Without SyncBatchNorm each rank normalises by its own half-batch (other statistics than SyncBatchNorm's)."""
    local, _ = rank_weights(basics, "local_bn", 0)
    synced, _ = rank_weights(basics, "syncbn", 0)
    assert not np.allclose(local["1.running_mean"], synced["1.running_mean"], atol=1e-6)
    assert int(local["1.num_batches_tracked"]) == 3


def test_buckets_start_while_backward_is_still_running(basics):
    _, one_bucket = rank_weights(basics, "plain", 0)
    _, per_parameter = rank_weights(basics, "tiny_buckets", 0)
    assert one_bucket == {"buckets": 1, "started_early": 0}
    assert per_parameter == {"buckets": 4, "started_early": 3}  # all but the last bucket overlap backward


def test_buckets_hold_parameters_in_reverse_order_up_to_the_cap():
    layers = [nn.Linear(256, 256), nn.Linear(256, 256), nn.Linear(256, 10)]  # 256·256·4 B = 256 KiB per weight
    params = [p for layer in layers for p in layer.parameters()]
    groups = plan_buckets(params[::-1], cap_bytes=200 * 1024, first_bytes=1 << 20)
    # the first bucket closes at min(first, cap) = 200 KiB, once reached; a parameter never straddles two buckets
    assert [[tuple(p.shape) for p in group] for group in groups] == [
        [(10,), (10, 256), (256,), (256, 256)],
        [(256,), (256, 256)],
    ]
    assert sum(len(g) for g in groups) == len(params)


def test_single_process_reference_is_deterministic():
    a, b = single_process(False), single_process(False)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_a_discarded_wrapper_stops_listening_to_its_parameters():
    import gc

    from cnnkit.distributed.ddp import _weak_hook

    calls = []

    class Wrapper:
        def _grad_ready(self, param):
            calls.append(param)

    wrapper = Wrapper()
    hook = _weak_hook(wrapper)
    hook("p")
    del wrapper
    gc.collect()
    hook("q")
    assert calls == ["p"]
