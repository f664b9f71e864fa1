"""`SyncBatchNorm`: batch norm whose statistics are those of the global batch, reduced over all ranks.

Forward: each rank computes its per-channel count m_r, mean μ_r and M2_r = Σ(x − μ_r)² (two passes, as
BatchNorm), and one all-reduce in float64 sums (m_r·μ_r, M2_r + m_r·μ_r², m_r) — the sum, the sum of squares
and the count — from which μ = Σ m_r·μ_r / M and σ² = Σ(M2_r + m_r·μ_r²) / M − μ² over the M = Σ m_r values.
Backward: with x̂ = (x − μ)/σ, the input gradient needs Σ dy and Σ dy·(x − μ) over the global batch,
    dx = γ/σ · (dy − Σdy/M − (x − μ)/σ² · Σ dy·(x − μ)/M),
so those two sums are all-reduced too; dγ = Σ dy·x̂ and dβ = Σ dy stay local (DistributedDataParallel
averages them with the other gradients). Averaged over the ranks this is exactly the gradient of one process
running BatchNorm on the whole batch. In evaluation, or without a job of more than one process, it is BatchNorm.
"""

from __future__ import annotations

import numpy as np

from cnnkit.distributed import comm
from cnnkit.nn.layers.normalization import _BatchNorm
from cnnkit.nn.module import Module

# The same vectorised per-channel reductions as BatchNorm, so that a SyncBatchNorm on one rank matches it.
from cnnkit.ops.norm import _channel_dot, _channel_sum, _inputs_and_grads, _per_channel, _update_running
from cnnkit.tensor import Tensor, record


def _global_statistics(x3: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(mean, biased variance) per channel over every rank's (N, C, S) batch, and the global count M."""
    n, c, s = x3.shape
    m_local = n * s
    stats = np.zeros(2 * c + 1, dtype=np.float64)
    if m_local:
        mean_local = _channel_sum(x3).astype(np.float64) / m_local
        xc = x3 - _per_channel(mean_local.astype(x3.dtype), s)
        stats[:c] = m_local * mean_local
        stats[c : 2 * c] = _channel_dot(xc, xc) + m_local * mean_local**2
    stats[-1] = m_local
    comm.all_reduce(stats, "sum")
    m = int(stats[-1])
    if m <= 1:
        raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all ranks when training, got {m}")
    mean = stats[:c] / m
    return mean, np.maximum(stats[c : 2 * c] / m - mean**2, 0.0), m


def sync_batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None,
    bias: Tensor | None,
    momentum: float,
    eps: float,
) -> Tensor:
    """Training-mode batch norm over the global batch of all ranks (forward and backward below)."""
    n, c = x.shape[:2]
    s = int(np.prod(x.shape[2:], dtype=np.int64))
    x3 = x._data.reshape(n, c, s)
    mean64, var64, m = _global_statistics(x3)
    mean, var = mean64.astype(x.dtype), var64.astype(x.dtype)
    inv_std = (1 / np.sqrt(var64 + eps)).astype(x.dtype)
    scale = inv_std if weight is None else weight._data.reshape(-1) * inv_std
    xc = x3 - _per_channel(mean, s)
    out = xc * _per_channel(scale, s)  # y = γ·(x − μ)/σ + β
    if bias is not None:
        out += _per_channel(bias._data.reshape(-1), s)
    _update_running(running_mean, running_var, mean, var, m, momentum)
    inputs, pack = _inputs_and_grads(x, weight, bias)

    def backward(g: np.ndarray):
        g3 = g.reshape(n, c, s)
        sum_g, sum_g_xc = _channel_sum(g3), _channel_dot(g3, xc)  # this rank's Σdy and Σ dy·(x − μ)
        dx = None
        if x.requires_grad:
            sums = np.concatenate([sum_g, sum_g_xc]).astype(np.float64)
            comm.all_reduce(sums, "sum")
            global_g, global_g_xc = (sums[:c] / m).astype(x.dtype), (sums[c:] / m).astype(x.dtype)
            dx = xc * _per_channel(inv_std * inv_std * global_g_xc, s)
            dx += _per_channel(global_g, s)
            np.subtract(g3, dx, out=dx)
            dx *= _per_channel(scale, s)
            dx = dx.reshape(x.shape)
        return pack(dx, sum_g_xc * inv_std, sum_g)

    return record(out.reshape(x.shape), inputs, backward, "SyncBatchNorm")


class SyncBatchNorm(_BatchNorm):
    """SyncBatchNorm(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True): any (N, C, *)."""

    _ranks = (2, 3, 4, 5)
    _layout = "(N, {C}, *)"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
        if not (self.training and comm.is_initialized() and comm.world_size() > 1):
            return super().forward(input)
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            if self.momentum is None:  # cumulative moving average, as BatchNorm
                factor = 1.0 / float(self.num_batches_tracked._data)
        running_mean = self.running_mean if self.track_running_stats else None
        running_var = self.running_var if self.track_running_stats else None
        return sync_batch_norm(input, running_mean, running_var, self.weight, self.bias, factor, self.eps)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: None = None) -> Module:
        """Replace every BatchNorm*d inside `module` (or `module` itself) by a SyncBatchNorm sharing its parameters
        and buffers; returns the converted module (PyTorch's classmethod)."""
        if process_group is not None:
            raise ValueError(
                "SyncBatchNorm.convert_sync_batchnorm: cnnkit has one process group (all ranks); "
                f"process_group must be None, got {process_group!r}"
            )
        output = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            output = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                bias=module.bias is not None,
            )
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    setattr(output, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                output.register_buffer(name, getattr(module, name))
            output.train(module.training)
        for name, child in module.named_children():
            output.add_module(name, cls.convert_sync_batchnorm(child))
        return output


convert_sync_batchnorm = SyncBatchNorm.convert_sync_batchnorm
