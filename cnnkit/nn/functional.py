"""`cnnkit.nn.functional`: the stateless form of every layer, with PyTorch's names, argument order and defaults.

Each function lives with its backward in `cnnkit.ops.<kind>`; this module gathers them under one name.
"""

from __future__ import annotations

from cnnkit.ops.activation import (
    dropout,
    dropout2d,
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    log_softmax,
    relu,
    relu6,
    silu,
    softmax,
    softplus,
)
from cnnkit.ops.conv import conv2d, conv_transpose2d
from cnnkit.ops.dice import dice_loss
from cnnkit.ops.elementwise import sigmoid, tanh
from cnnkit.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from cnnkit.ops.matmul import linear
from cnnkit.ops.norm import batch_norm, group_norm, instance_norm, layer_norm, local_response_norm
from cnnkit.ops.one_hot import one_hot
from cnnkit.ops.pad import pad
from cnnkit.ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from cnnkit.ops.pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d
from cnnkit.ops.resample import interpolate
from cnnkit.ops.shape import flatten

__all__ = [
    "adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy_with_logits",
    "conv2d", "conv_transpose2d", "cross_entropy", "dice_loss", "dropout", "dropout2d", "flatten", "gelu", "group_norm",
    "interpolate", "l1_loss", "layer_norm", "leaky_relu", "linear", "local_response_norm", "log_softmax",
    "max_pool2d", "mse_loss", "nll_loss", "pad", "relu", "sigmoid", "silu", "softmax", "tanh",
    "binary_cross_entropy", "elu", "hardtanh", "relu6", "smooth_l1_loss", "softplus", "instance_norm", "one_hot",
    "pixel_shuffle", "pixel_unshuffle",
]
