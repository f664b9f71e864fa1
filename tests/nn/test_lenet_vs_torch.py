"""Acceptance test: whole networks built from cnnkit layers equal the same PyTorch networks.

Each model is written ONCE against an `nn` namespace and instantiated with `cnnkit.nn` and `torch.nn`; the
cnnkit copy gets PyTorch's weights through `load_state_dict`, both see the same batch, and the loss and the
gradient of every parameter must agree to 1e-4 relative. Covered: LeNet-5 (conv → tanh → avg pool, twice,
flatten, linear, cross-entropy), a ReLU/max-pool/BatchNorm2d/Dropout variant (eval, and training with the
dropout switched off), a 2-block residual net (fan-out: x feeds both the branch and the sum), and a
200-layer chain whose backward must not recurse.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import cnnkit
import cnnkit.nn as cnn
from tests.gradcheck import requires_torch

pytestmark = requires_torch
RTOL = 1e-4


def lenet(nn):
    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.act1 = nn.Tanh()
            self.pool1 = nn.AvgPool2d(2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.act2 = nn.Tanh()
            self.pool2 = nn.AvgPool2d(2)
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool1(self.act1(self.conv1(x)))
            x = self.pool2(self.act2(self.conv2(x)))
            x = self.flatten(x)
            return self.fc3(self.fc2(self.fc1(x).tanh()).tanh())

    return LeNet()


def lenet_bn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Dropout(0.5), nn.Linear(120, 84), nn.ReLU(),
        nn.Dropout(0.3), nn.Linear(84, 10))


def resnet(nn):
    class Block(nn.Module):
        """x + conv(bn(relu(conv(x)))): x fans out to the branch and to the sum."""

        def __init__(self, channels):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.relu = nn.ReLU()
            self.bn = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

        def forward(self, x):
            return x + self.conv2(self.bn(self.relu(self.conv1(x))))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
            self.layers = nn.Sequential(Block(8), Block(8))
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(8, 10)

        def forward(self, x):
            return self.fc(self.pool(self.layers(self.stem(x))).flatten(1))

    return ResNet()


def _assert_close(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    # 1e-4 relative; the absolute floor is relative to the tensor's own scale, for entries near zero
    scale = float(np.abs(theirs).max()) if theirs.size else 0.0
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-5 * scale + 1e-12, err_msg=what)


def _run_both(build, x: np.ndarray, labels: np.ndarray, train: bool, configure=None) -> tuple:
    """Build both models, copy PyTorch's weights in, run forward + cross-entropy + backward in each."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs, ours = build(torch.nn), build(cnn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    theirs.train(train)
    ours.train(train)
    if configure is not None:
        configure(theirs)
        configure(ours)
    th_loss = torch.nn.CrossEntropyLoss()(theirs(torch.tensor(x)), torch.tensor(labels))
    ck_loss = cnn.CrossEntropyLoss()(ours(cnnkit.tensor(x)), cnnkit.tensor(labels))
    th_loss.backward()
    ck_loss.backward()
    return ours, theirs, ck_loss, th_loss


def _compare_training_state(ours, theirs, ck_loss, th_loss, zero_grads: tuple[str, ...] = ()) -> None:
    """Loss, every parameter gradient and every buffer agree.

    `zero_grads` names parameters whose gradient is mathematically zero (a conv bias feeding a training-mode
    BatchNorm, which subtracts the batch mean): both frameworks must give float32 noise, tiny against the
    other gradients, and a relative comparison of two noises would be meaningless.
    """
    assert ck_loss.shape == () and ck_loss.dtype == np.float32
    _assert_close(ck_loss._data, th_loss.detach().numpy(), "loss")
    th_params = dict(theirs.named_parameters())
    scale = max(float(np.abs(p.grad.numpy()).max()) for p in theirs.parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, name
        if name in zero_grads:
            assert np.abs(p.grad._data).max() < 1e-5 * scale, name
            assert np.abs(th_params[name].grad.numpy()).max() < 1e-5 * scale, name
            continue
        _assert_close(p.grad._data, th_params[name].grad.numpy(), f"gradient of {name}")
    th_buffers = dict(theirs.named_buffers())
    for name, b in ours.named_buffers():
        _assert_close(b._data, th_buffers[name].numpy(), f"buffer {name}")


def _batch(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, shape[0])


def test_lenet5_loss_and_every_gradient_match_pytorch():
    x, labels = _batch((16, 1, 32, 32))
    _compare_training_state(*_run_both(lenet, x, labels, train=True))


def test_lenet_with_relu_maxpool_batchnorm_dropout_in_eval_matches_pytorch():
    x, labels = _batch((12, 1, 28, 28), seed=1)

    def warm_up(model):  # non-trivial running statistics, from the same batches in both frameworks
        model.train()
        for step in range(2):
            batch, _ = _batch((8, 1, 28, 28), seed=10 + step)
            model(cnnkit.tensor(batch) if isinstance(model, cnn.Module) else _torch_tensor(batch))
        model.eval()

    _compare_training_state(*_run_both(lenet_bn, x, labels, train=False, configure=_no_grad(warm_up)))


def test_lenet_batchnorm_in_training_mode_with_dropout_off_matches_pytorch():
    x, labels = _batch((12, 1, 28, 28), seed=2)

    def dropout_off(model):
        for module in model.modules():
            if type(module).__name__ == "Dropout":
                module.eval()

    ours, theirs, ck_loss, th_loss = _run_both(lenet_bn, x, labels, train=True, configure=dropout_off)
    _compare_training_state(ours, theirs, ck_loss, th_loss, zero_grads=("0.bias", "4.bias"))
    assert int(ours[1].num_batches_tracked._data) == 1


def test_two_block_residual_net_matches_pytorch():
    x, labels = _batch((6, 3, 8, 8), seed=3)
    _compare_training_state(*_run_both(resnet, x, labels, train=True), zero_grads=("stem.0.bias",))


def test_two_block_residual_net_in_eval_matches_pytorch():
    x, labels = _batch((4, 3, 6, 6), seed=4)
    _compare_training_state(*_run_both(resnet, x, labels, train=False))


def test_200_layer_chain_backward_does_not_recurse_and_matches_pytorch():
    depth = 200

    def chain(nn):
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(4, 4), nn.Tanh()]
        return nn.Sequential(*layers, nn.Linear(4, 10))

    x, labels = _batch((5, 4), seed=5)
    x *= 3
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(250)  # far below the graph's 400+ nodes: a recursive backward would fail
    try:
        ours, theirs, ck_loss, th_loss = _run_both(chain, x, labels, train=True)
    finally:
        sys.setrecursionlimit(limit)
    assert len(list(ours.parameters())) == 2 * depth + 2
    _compare_training_state(ours, theirs, ck_loss, th_loss)


def _torch_tensor(array):
    import torch

    return torch.tensor(array)


def _no_grad(fn):
    def wrapped(model):
        if isinstance(model, cnn.Module):
            with cnnkit.no_grad():
                fn(model)
        else:
            import torch

            with torch.no_grad():
                fn(model)

    return wrapped
