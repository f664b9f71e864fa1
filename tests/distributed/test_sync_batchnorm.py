"""SyncBatchNorm: on 2 ranks equal to BatchNorm over the global batch (weights and running statistics, 1e-5);
alone it is BatchNorm; convert_sync_batchnorm swaps the layers and keeps parameters, buffers and keys."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.distributed import SyncBatchNorm, convert_sync_batchnorm
from tests.distributed.test_ddp import rank_weights, single_process


def test_two_ranks_with_syncbn_equal_batchnorm_on_the_global_batch(basics):
    reference = single_process(batchnorm=True)
    weights, _ = rank_weights(basics, "syncbn", 0)
    for name, value in reference.items():  # includes 1.running_mean / running_var / num_batches_tracked
        np.testing.assert_allclose(weights[name], value, rtol=0, atol=1e-5, err_msg=name)
    assert int(weights["1.num_batches_tracked"]) == 3
    assert float(np.abs(weights["1.running_mean"]).max()) > 1e-3  # the statistics moved


def test_without_a_job_it_is_batchnorm_forward_and_backward():
    x = cnnkit.randn(6, 3, 4, 4, requires_grad=True)
    sync, plain = SyncBatchNorm(3), nn.BatchNorm2d(3)
    outputs = []
    for layer in (sync, plain):
        y = layer(x)
        (y * y).sum().backward()
        outputs.append((y._data.copy(), x.grad._data.copy(), layer.weight.grad._data.copy(), layer.running_var._data))
        x.grad = None
    for ours, theirs in zip(*outputs, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_convert_replaces_batchnorms_and_shares_their_state():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.Flatten(), nn.BatchNorm1d(8)))
    model.eval()
    keys = list(model.state_dict())
    weight, running_mean = model[1].weight, model[1].running_mean
    converted = convert_sync_batchnorm(model)
    assert isinstance(converted[1], SyncBatchNorm) and isinstance(converted[2][1], SyncBatchNorm)
    assert converted[1].weight is weight and converted[1].running_mean is running_mean
    assert not converted[1].training  # keeps the mode
    assert list(converted.state_dict()) == keys  # checkpoints load either way
    assert isinstance(SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(4)), SyncBatchNorm)


def test_wrong_input_is_refused_naming_the_layer():
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, \*\), got \(2, 4, 5\)"):
        SyncBatchNorm(3)(cnnkit.randn(2, 4, 5))
