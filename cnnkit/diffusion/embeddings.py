"""What the denoiser is told besides the image: the time step (sinusoidal features → MLP) and the class label.

Sinusoidal features (Ho et al.'s `get_timestep_embedding`, after the Transformer's positions): with
half = dim/2 and freq_i = exp(−i·ln 10000/(half − 1)), i = 0 … half − 1,

    features(t) = [sin(t·freq_0) … sin(t·freq_{half−1}), cos(t·freq_0) … cos(t·freq_{half−1})]

computed in float64 and stored as float32, then Linear(dim → 4·dim) → SiLU → Linear(4·dim → 4·dim).
The class embedding is a table of num_classes + 1 learned rows (the last is "no label", ∅, for
classifier-free guidance), looked up as one-hot @ table so that its gradient is the matrix product's.
"""

from __future__ import annotations

import math

import numpy as np

from cnnkit import nn
from cnnkit.nn import init
from cnnkit.tensor import Tensor


def timestep_features(t: np.ndarray, dim: int) -> np.ndarray:
    """(N, dim) float32 sinusoidal features of integer time steps t (N,); dim must be even and at least 4."""
    if dim % 2 or dim < 4:
        raise ValueError(f"timestep_features: expected an even dim of at least 4, got {dim}")
    half = dim // 2
    freqs = np.exp(-math.log(10000.0) * np.arange(half, dtype=np.float64) / (half - 1))
    angles = np.asarray(t, dtype=np.float64).reshape(-1, 1) * freqs
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1).astype(np.float32)


def as_steps(t: object, batch: int) -> np.ndarray:
    """Time steps as an int64 array (batch,): an int is repeated, an array or Tensor must have batch entries."""
    steps = np.asarray(t._data if isinstance(t, Tensor) else t)
    if steps.ndim == 0:
        steps = np.full(batch, steps)
    if steps.shape != (batch,) or steps.dtype.kind not in "iu":
        raise ValueError(f"expected integer time steps of shape ({batch},), got {steps.dtype} of shape {steps.shape}")
    return steps.astype(np.int64, copy=False)


class TimeEmbedding(nn.Module):
    """t (N,) → sinusoidal features (N, dim) → Linear → SiLU → Linear → (N, emb_dim)."""

    def __init__(self, dim: int, emb_dim: int) -> None:
        super().__init__()
        self.dim, self.emb_dim = dim, emb_dim
        self.linear1 = nn.Linear(dim, emb_dim)
        self.act = nn.SiLU()
        self.linear2 = nn.Linear(emb_dim, emb_dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, emb_dim={self.emb_dim}"

    def forward(self, t: np.ndarray) -> Tensor:
        return self.linear2(self.act(self.linear1(Tensor(timestep_features(t, self.dim)))))


class ClassEmbedding(nn.Module):
    """A learned row per class and one for "no label" (index num_classes); weight (num_classes + 1, emb_dim),
    initialised N(0, 1) as torch.nn.Embedding. `forward(y)` with y None (or −1 entries) looks up ∅."""

    def __init__(self, num_classes: int, emb_dim: int) -> None:
        super().__init__()
        self.num_classes, self.emb_dim = num_classes, emb_dim
        self.weight = nn.Parameter(np.empty((num_classes + 1, emb_dim), np.float32))
        init.normal_(self.weight)

    @property
    def null_label(self) -> int:
        return self.num_classes

    def extra_repr(self) -> str:
        return f"{self.num_classes} classes + no label, emb_dim={self.emb_dim}"

    def labels(self, y: object, batch: int) -> np.ndarray:
        """y as int64 (batch,) with None or −1 meaning ∅; labels outside 0 … num_classes are refused."""
        if y is None:
            return np.full(batch, self.null_label, np.int64)
        labels = as_steps(y, batch).copy()
        labels[labels == -1] = self.null_label
        if labels.min() < 0 or labels.max() > self.null_label:
            raise self._input_error(
                f"expected class labels in 0 … {self.num_classes - 1} (or {self.null_label} / "
                f"−1 for no label), got {labels.min()} … {labels.max()}"
            )
        return labels

    def forward(self, y: object, batch: int) -> Tensor:
        labels = self.labels(y, batch)
        one_hot = np.zeros((batch, self.num_classes + 1), np.float32)
        one_hot[np.arange(batch), labels] = 1.0
        return Tensor(one_hot) @ self.weight
