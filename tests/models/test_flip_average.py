"""FlipAverage: flip test-time augmentation, checked by value against NumPy and, with gradients, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.models.flip_average import FlipAverage
from tests.gradcheck import requires_torch


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def conv_logits(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A 1×3 correlation along the width (no padding), written out by hand: (N, 1, H, W) → (N, C, H, W - 2)."""
    taps = np.stack([x[:, 0, :, k: x.shape[3] - 2 + k] for k in range(3)], axis=-1)
    return np.einsum("nhwk,ck->nchw", taps, weight[:, 0, 0, :])


def test_dense_output_is_the_log_of_the_mean_probability_mirrored_back():
    cnnkit.manual_seed(0)
    conv = nn.Conv2d(1, 4, (1, 3), bias=False)  # not mirror-symmetric, so the mirror's logits differ
    x = np.random.default_rng(1).standard_normal((2, 1, 3, 7)).astype(np.float32)
    weight = conv.weight._data
    direct = softmax(conv_logits(weight, x))
    mirrored = softmax(conv_logits(weight, x[..., ::-1]))[..., ::-1]
    expected = np.log((direct + mirrored) / 2)
    got = FlipAverage(conv).eval()(cnnkit.tensor(x))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got._data, expected, rtol=1e-5, atol=1e-6)
    # and it differs from the plain model's log-probabilities: the averaging is not a no-op
    assert np.abs(got._data - np.log(direct)).max() > 1e-2


def test_class_output_is_averaged_without_mirroring_back():
    cnnkit.manual_seed(2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
    x = np.random.default_rng(3).standard_normal((4, 1, 3, 4)).astype(np.float32)
    w, b = model[1].weight._data, model[1].bias._data
    direct = softmax(x.reshape(4, -1) @ w.T + b)
    mirrored = softmax(x[..., ::-1].reshape(4, -1) @ w.T + b)
    got = FlipAverage(model)(cnnkit.tensor(x))
    np.testing.assert_allclose(got._data, np.log((direct + mirrored) / 2), rtol=1e-5, atol=1e-6)


def test_mirror_symmetric_model_gives_its_own_log_probabilities():
    conv = nn.Conv2d(1, 3, (1, 3), bias=True)
    taps = np.array([1.0, 2.0, 1.0], np.float32)  # a palindrome: the filter is its own mirror image
    conv.weight._data[...] = taps * np.arange(1, 4, dtype=np.float32)[:, None, None, None]
    x = np.random.default_rng(4).standard_normal((1, 1, 2, 6)).astype(np.float32)
    got = FlipAverage(conv)(cnnkit.tensor(x))
    own = conv(cnnkit.tensor(x)).log_softmax(1)
    np.testing.assert_allclose(got._data, own._data, rtol=1e-5, atol=1e-6)


def test_refuses_a_batch_that_is_not_images():
    with pytest.raises(ValueError, match=r"FlipAverage: expected a batch of images \(N, C, H, W\), got shape \(3, 4\)"):
        FlipAverage(nn.Linear(4, 2))(cnnkit.tensor(np.zeros((3, 4), np.float32)))


def test_train_and_eval_reach_the_wrapped_model():
    model = FlipAverage(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
    model.eval()
    assert not model.model[1].training
    model.train()
    assert model.model[1].training


@requires_torch
def test_matches_pytorch_with_gradients():
    import torch

    cnnkit.manual_seed(5)
    ours = nn.Conv2d(2, 3, 3, padding=1)
    theirs = torch.nn.Conv2d(2, 3, 3, padding=1)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight._data))
        theirs.bias.copy_(torch.from_numpy(ours.bias._data))
    x = np.random.default_rng(6).standard_normal((2, 2, 5, 6)).astype(np.float32)
    target = np.random.default_rng(7).integers(0, 3, (2, 5, 6))

    xt = torch.from_numpy(x).requires_grad_()
    probs = theirs(xt).softmax(1) + theirs(xt.flip(-1)).softmax(1).flip(-1)
    expected = (probs / 2).log()
    torch.nn.functional.nll_loss(expected, torch.from_numpy(target)).backward()

    xc = cnnkit.tensor(x, requires_grad=True)
    got = FlipAverage(ours)(xc)
    nn.functional.cross_entropy(got, cnnkit.tensor(target)).backward()
    np.testing.assert_allclose(got._data, expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-4, atol=1e-5)
