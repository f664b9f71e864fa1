"""Whole-model workloads: a training step at batch 128 and inference at batch 1000, cnnkit against its PyTorch twin.

A training step is zero_grad → forward → cross-entropy → backward → SGD step (lr 0.01, momentum 0.9),
in training mode (BatchNorm on batch statistics, Dropout on). Inference is one forward in eval mode
under no_grad. The cnnkit model comes from `cnnkit.models.get_model(name)` (seeded), the PyTorch model
is `twins.torch_twin` of it: same layers, same weights. Before timing, `check()` runs both once on the
same batch and compares the logits (1e-3), and for training the loss and every parameter's gradient (Dropout
switched off for that one comparison, since the two frameworks draw different masks).

FLOPs per call: forward = 2 · multiply-accumulates of the convolutions and linear layers
(`cnnkit.summary`); a training step counts 3 × forward (forward, input gradient, weight gradient).
BatchNorm, pooling, activations and the optimiser are left out, as in the usual complexity tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

import cnnkit
import cnnkit.nn.functional as F
from benchmarks.report import Target
from benchmarks.workload import Built, Workload, assert_close, assert_grads_close
from cnnkit import optim
from cnnkit.models import get_model, model_info
from cnnkit.summary import summary

MODELS = ("lenet5", "lenet5_relu", "resnet20", "fashion_vgg")
TRAIN_BATCH, INFER_BATCH = 128, 1000
LR, MOMENTUM = 0.01, 0.9
TRAIN_TARGETS = {"lenet5": Target(">=", 0.9), "resnet20": Target(">=", 0.5), "fashion_vgg": Target(">=", 0.8)}
INFER_TARGETS = {"resnet20": Target(">=", 0.5), "fashion_vgg": Target(">=", 0.6)}
QUICK = {"train lenet5 b128", "infer lenet5 b1000"}


def workloads() -> list[Workload]:
    """Training at batch 128 and inference at batch 1000 for each model."""
    out = []
    for name in MODELS:
        for train, batch, targets in ((True, TRAIN_BATCH, TRAIN_TARGETS), (False, INFER_BATCH, INFER_TARGETS)):
            label = f"{'train' if train else 'infer'} {name} b{batch}"
            out.append(Workload(label, "model", _builder(name, batch, train), targets.get(name), label in QUICK,
                                {"model": name, "batch": batch, "mode": "train" if train else "infer"}))
    return out


def _builder(name: str, batch: int, train: bool):
    return lambda torch: model_case(name, batch, train, torch)


def model_case(name: str, batch: int, train: bool, torch: Any = None, seed: int = 0) -> Built:
    """The two contenders for one model: a training step (train=True) or an inference forward."""
    cnnkit.manual_seed(seed)
    model = get_model(name)
    shape = model_info(name).input_shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *shape), dtype=np.float32)
    y = rng.integers(0, 10, size=batch, dtype=np.int64)
    forward_flops = 2.0 * summary(model, shape, batch_size=1).total_macs * batch
    flops = 3 * forward_flops if train else forward_flops
    model.train(train)
    ours = _cnnkit_step(model, x, y) if train else _cnnkit_infer(model, x)
    if torch is None:
        return Built(ours, None, batch, flops)
    from benchmarks.twins import torch_twin

    twin = torch_twin(model)
    theirs = _torch_step(torch, twin, x, y) if train else _torch_infer(torch, twin, x)
    check = _train_check(torch, model, twin, x, y) if train else _infer_check(torch, model, twin, x)
    return Built(ours, theirs, batch, flops, check)


def _cnnkit_step(model: cnnkit.nn.Module, x: np.ndarray, y: np.ndarray):
    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt = cnnkit.tensor(x), cnnkit.tensor(y)

    def step() -> None:
        optimizer.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        optimizer.step()

    return step


def _cnnkit_infer(model: cnnkit.nn.Module, x: np.ndarray):
    xt = cnnkit.tensor(x)

    def infer() -> cnnkit.Tensor:
        with cnnkit.no_grad():
            return model(xt)

    return infer


def _torch_step(torch: Any, twin: Any, x: np.ndarray, y: np.ndarray):
    optimizer = torch.optim.SGD(twin.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())

    def step() -> None:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(twin(xt), yt).backward()
        optimizer.step()

    return step


def _torch_infer(torch: Any, twin: Any, x: np.ndarray):
    xt = torch.from_numpy(x.copy())

    def infer() -> Any:
        with torch.no_grad():
            return twin(xt)

    return infer


def _infer_check(torch: Any, model: Any, twin: Any, x: np.ndarray):
    def check() -> None:
        with cnnkit.no_grad():
            ours = model(cnnkit.tensor(x))._data
        with torch.no_grad():
            theirs = twin(torch.from_numpy(x.copy())).numpy()
        assert_close(ours, theirs, "logits")

    return check


def _train_check(torch: Any, model: Any, twin: Any, x: np.ndarray, y: np.ndarray):
    """Logits, loss and every parameter gradient of one training-mode forward/backward, Dropout off."""

    def check() -> None:
        with _dropout_off(model), _dropout_off(twin):
            out = model(cnnkit.tensor(x))
            loss = F.cross_entropy(out, cnnkit.tensor(y))
            loss.backward()
            t_out = twin(torch.from_numpy(x.copy()))
            t_loss = torch.nn.functional.cross_entropy(t_out, torch.from_numpy(y.copy()))
            t_loss.backward()
        assert_close(out._data, t_out.detach().numpy(), "logits")
        assert_close(loss._data, t_loss.detach().numpy(), "loss")
        theirs = dict(twin.named_parameters())
        assert_grads_close([(name, p.grad._data, theirs[name].grad.numpy()) for name, p in model.named_parameters()])
        model.zero_grad()
        twin.zero_grad()

    return check


@contextlib.contextmanager
def _dropout_off(model: Any) -> Iterator[None]:
    """Put the Dropout layers (cnnkit or torch) in eval mode for the duration; the rest stays in training mode."""
    dropouts = [m for m in model.modules() if type(m).__name__ in ("Dropout", "Dropout2d")]
    modes = [m.training for m in dropouts]
    for m in dropouts:
        m.training = False
    try:
        yield
    finally:
        for m, mode in zip(dropouts, modes, strict=True):
            m.training = mode
