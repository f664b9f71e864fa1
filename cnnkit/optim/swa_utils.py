"""`update_bn`: batch-norm statistics recomputed for a model whose weights were averaged (PyTorch's
`torch.optim.swa_utils.update_bn`).

An average of weights (an `EMA`'s shadow, or a stochastic weight average) is a network no batch ever ran
through, so the running statistics it inherits belong to other weights. `update_bn` resets every batch norm's
running mean and variance and runs the data through the model once in training mode with momentum=None, which
makes each statistic the cumulative average over the pass's batches:

    running_mean = (1/B) Σ_b mean_b,     running_var = (1/B) Σ_b var_b  (unbiased per batch)

Each layer's momentum and the model's training mode are restored afterwards. Batch norms that keep no running
statistics (track_running_stats=False) are skipped; a model with none to update is left untouched and the loader
is not read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cnnkit import nn
from cnnkit.autograd import no_grad
from cnnkit.device import check_device
from cnnkit.nn.layers.normalization import _BatchNorm
from cnnkit.tensor import Tensor


def update_bn(loader: Iterable[Any], model: nn.Module, device: Any = None) -> None:
    """Recompute the running statistics of every batch norm in `model` with one pass over `loader`.

    Each item of `loader` is an input batch, or a list or tuple whose first element is (as a DataLoader of
    (images, labels) gives); NumPy arrays are taken as float32 tensors. `device` is accepted for PyTorch's
    signature: the CPU (None, "cpu", a cpu device); any other device is refused, as by every factory's `device=`.
    """
    check_device(device)
    momenta = {module: module.momentum for module in model.modules()
               if isinstance(module, _BatchNorm) and module.track_running_stats}
    if not momenta:
        return
    for module in momenta:
        module.reset_running_stats()
        module.momentum = None
    was_training = model.training
    model.train()
    try:
        with no_grad():
            for batch in loader:
                inputs = batch[0] if isinstance(batch, list | tuple) else batch
                model(inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs, dtype=np.float32)))
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)
