"""A network as a sampler's ε-function, with classifier-free guidance (Ho & Salimans 2021).

    ε̃(x, t, y) = (1 + w)·ε_θ(x, t, y) − w·ε_θ(x, t, ∅)

w = 0 is the plain conditional prediction (one network pass); otherwise the conditional and unconditional
inputs go through the network as one batch of 2N. Without labels the prediction is unconditional (∅).
Evaluation runs without a graph, in chunks of `batch_size` images to bound memory.
"""

from __future__ import annotations

import numpy as np

from cnnkit.autograd import no_grad
from cnnkit.diffusion.model import DiffusionUNet
from cnnkit.diffusion.samplers import EpsFn
from cnnkit.tensor import Tensor


def guided_epsilon(
    net: DiffusionUNet, x: np.ndarray, t: int, labels: np.ndarray | None, guidance: float = 0.0
) -> np.ndarray:
    """ε̃ for one batch: (1 + w)·ε(x, y) − w·ε(x, ∅), or ε(x, y) when w = 0, or ε(x, ∅) without labels."""
    n = x.shape[0]
    with no_grad():
        if labels is None or guidance == 0:
            return net(Tensor(x), t, labels)._data
        null = np.full(n, net.null_label, np.int64)
        both = net(Tensor(np.concatenate([x, x])), t, np.concatenate([labels, null]))._data
    w = np.float32(guidance)
    return (1 + w) * both[:n] - w * both[n:]


def epsilon_function(
    net: DiffusionUNet, labels: np.ndarray | None = None, guidance: float = 0.0, batch_size: int = 250
) -> EpsFn:
    """eps_fn(x, t) for the samplers: the guided prediction of `net` (in eval mode) for per-sample labels."""
    if labels is not None:
        if net.null_label is None:
            raise ValueError("class labels given, but the model is unconditional (trained without classes)")
        labels = np.asarray(labels, dtype=np.int64)
        if labels.min() < 0 or labels.max() >= net.num_classes:
            raise ValueError(f"class labels must lie in 0 … {net.num_classes - 1}, got {labels.min()} … {labels.max()}")
    if guidance < 0:
        raise ValueError(f"guidance must be >= 0, got {guidance}")
    net.eval()

    def eps_fn(x: np.ndarray, t: int) -> np.ndarray:
        if labels is not None and len(labels) != len(x):
            raise ValueError(f"{len(labels)} labels for a batch of {len(x)} images")
        parts = [
            guided_epsilon(
                net, x[i : i + batch_size], t, None if labels is None else labels[i : i + batch_size], guidance
            )
            for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts).astype(np.float32, copy=False)

    return eps_fn
