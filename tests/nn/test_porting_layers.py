"""InstanceNorm2d, PixelShuffle / PixelUnshuffle, one_hot and DataParallel against PyTorch (values and gradients)
and finite differences; the padding layers' names resolve."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
import cnnkit.nn.functional as F
from cnnkit import nn
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch


@pytest.fixture
def x(rng):
    return rng.standard_normal((2, 3, 5, 4)).astype(np.float32) * 2 + 1


@requires_torch
@pytest.mark.torch
def test_instance_norm_functional_matches_torch_with_affine(x, rng):
    import torch.nn.functional as TF

    w = rng.standard_normal(3).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    compare_with_torch(lambda a, g, h: F.instance_norm(a, weight=g, bias=h),
                       lambda a, g, h: TF.instance_norm(a, weight=g, bias=h), x, w, b)


def test_instance_norm_gradients_match_finite_differences(x):
    check_gradients(lambda a: F.instance_norm(a), x.astype(np.float64)[:, :, :3, :3])


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"track_running_stats": True},
                                    {"affine": True, "track_running_stats": True, "momentum": None}])
def test_instance_norm_layer_matches_torch_in_train_and_eval(x, kwargs):
    import torch

    ours, theirs = nn.InstanceNorm2d(3, **kwargs), torch.nn.InstanceNorm2d(3, **kwargs)
    for step in range(3):
        batch = x * (step + 1)
        compare_with_torch(ours, theirs, batch, rtol=1e-4, atol=1e-5)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name].numpy(), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    ours.eval()
    theirs.eval()
    compare_with_torch(ours, theirs, x, rtol=1e-4, atol=1e-5)
    compare_with_torch(ours, theirs, x[0], rtol=1e-4, atol=1e-5)  # unbatched (C, H, W)


def test_instance_norm_refuses_wrong_input():
    with pytest.raises(ValueError, match=r"InstanceNorm2d.*expected input of shape \(N, C, H, W\) or \(C, H, W\)"):
        nn.InstanceNorm2d(3)(cnnkit.randn(2, 3))


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("shape", [(2, 8, 3, 5), (1, 2, 4, 3, 2)])
def test_pixel_shuffle_and_unshuffle_match_torch(rng, shape):
    import torch

    a = rng.standard_normal(shape).astype(np.float32)
    compare_with_torch(lambda t: F.pixel_shuffle(t, 2), lambda t: torch.nn.functional.pixel_shuffle(t, 2), a)
    b = rng.standard_normal((2, 3, 4, 6)).astype(np.float32)
    compare_with_torch(nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), b)
    np.testing.assert_array_equal(F.pixel_shuffle(F.pixel_unshuffle(cnnkit.tensor(b), 2), 2).numpy(), b)


def test_pixel_shuffle_refuses_channels_not_divisible():
    with pytest.raises(ValueError, match=r"input.size\(-3\)=5 is not divisible by 4"):
        nn.PixelShuffle(2)(cnnkit.randn(1, 5, 2, 2))


@requires_torch
@pytest.mark.torch
def test_one_hot_matches_torch():
    import torch

    labels = np.array([[0, 3], [2, 1]], dtype=np.int64)
    for k in (-1, 6):
        ours = F.one_hot(cnnkit.tensor(labels), k)
        theirs = torch.nn.functional.one_hot(torch.from_numpy(labels), k)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(cnnkit.tensor(labels), 3)
    with pytest.raises(RuntimeError, match="index tensor"):
        F.one_hot(cnnkit.tensor([0.0, 1.0]))


def test_data_parallel_is_the_module_with_torch_state_dict_names(rng):
    cnnkit.manual_seed(0)
    inner = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    wrapped = nn.DataParallel(inner, device_ids=[0, 1])
    a = cnnkit.tensor(rng.standard_normal((2, 1, 5, 5)).astype(np.float32))
    np.testing.assert_array_equal(wrapped(a).numpy(), inner(a).numpy())
    assert wrapped.module is inner and list(wrapped.state_dict()) == ["module.0.weight", "module.0.bias"]
    assert list(wrapped.parameters()) == list(inner.parameters())
    assert nn.parallel.DistributedDataParallel is cnnkit.distributed.DistributedDataParallel


def test_padding_layers_resolve_under_torch_names():
    a = cnnkit.tensor(np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2))
    assert nn.ZeroPad2d(1)(a).shape == (1, 1, 4, 4)
    assert nn.ConstantPad2d((1, 0, 0, 0), 3.0)(a).numpy()[0, 0, 0, 0] == 3.0
    assert nn.ReflectionPad2d(1)(a).shape == nn.ReplicationPad2d(1)(a).shape == (1, 1, 4, 4)
