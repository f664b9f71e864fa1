"""Imported ONNX layers with weights: Conv, ConvTranspose, Gemm, MatMul, BatchNormalization,
InstanceNormalization, LRN and Dropout.

- Conv: symmetric pads go to `F.conv2d` directly, asymmetric ones through an explicit `F.pad` first.
- ConvTranspose: `F.conv_transpose2d` without padding gives the full output; output position o is full
  position o + pad_begin, so the result is that window of it (cropped, or zero-extended by output_padding or
  an `output_shape` larger than the full output), plus the bias.
- BatchNormalization: inference uses the given mean and variance; the graph asks for batch statistics with
  `is_test=0` (opset 6), with more than one output (opsets 7–13) or with `training_mode=1` (14+), and then
  also returns the updated running statistics r·momentum + batch·(1 − momentum), the batch variance being
  the population one (ONNX's reference). `spatial=0` (before opset 9) normalises each activation on its own.
  When the imported model itself is in training mode, BatchNormalization uses batch statistics and updates
  the running statistics it reads in place (PyTorch's rule, momentum 1 − ONNX's), as a BatchNorm layer would
  while fine-tuning.
- LRN: y = x / (bias + α/size · Σ x²)^β, the sum over channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉.
"""

from __future__ import annotations

import numpy as np

import cnnkit.nn.functional as F
from cnnkit.creation import rand
from cnnkit.onnx.registry import NodeContext, register, values
from cnnkit.onnx.spatial import check_rank, explicit_pads, ints, lift_1d, torch_pad
from cnnkit.ops import elementwise as E
from cnnkit.ops import matmul as M
from cnnkit.ops import shape as S
from cnnkit.tensor import Tensor


# --------------------------------------------------------------------- convolutions
@register("Conv", names=("", "weight", "bias"))
def conv(ctx: NodeContext, inputs: list) -> Tensor:
    x, w, b = (inputs + [None])[:3]
    spatial = check_rank(ctx, x)
    kernel = ints(ctx, "kernel_shape", w.shape[2:])
    strides = ints(ctx, "strides", [1] * spatial)
    dilations = ints(ctx, "dilations", [1] * spatial)
    pads = explicit_pads(ctx, x.shape[2:], kernel, strides, dilations)
    if spatial == 1:
        x, kernel, strides, dilations, pads = lift_1d(x, kernel, strides, dilations, pads)
        w = S.unsqueeze(w, 2)
    if pads[0] == pads[2] and pads[1] == pads[3]:
        padding = (pads[0], pads[1])
    else:
        x, padding = F.pad(x, torch_pad(pads)), (0, 0)
    y = F.conv2d(x, w, b, tuple(strides), padding, tuple(dilations), int(ctx.attr("group", 1)))
    return S.squeeze(y, 2) if spatial == 1 else y


def _transpose_geometry(
    ctx: NodeContext,
    sizes: tuple[int, ...],
    kernel: list[int],
    strides: list[int],
    dilations: list[int],
    out_pad: list[int],
) -> tuple[list[int], list[int]]:
    """(pad_begin per axis, output size per axis): from `output_shape` or SAME auto-padding as the spec
    says (onnxruntime does so too), else from `pads`."""
    n = len(sizes)
    full = [s * (size - 1) + (k - 1) * d + 1 for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True)]
    output_shape = ctx.attr("output_shape")
    output_shape = [int(v) for v in output_shape[-n:]] if output_shape else None
    auto = ctx.attr("auto_pad", "NOTSET")
    if output_shape is not None or (ctx.attr("pads") is None and auto in ("SAME_UPPER", "SAME_LOWER")):
        # the spec: pads split total = full + output_padding − wanted, the odd one at the end for SAME_UPPER
        target = output_shape or [size * s for size, s in zip(sizes, strides, strict=True)]
        total = [f + op - t for f, op, t in zip(full, out_pad, target, strict=True)]
        begin = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in total]
        return begin, target
    pads = ints(ctx, "pads", [0] * 2 * n)
    return pads[:n], [f + op - pads[i] - pads[n + i] for i, (f, op) in enumerate(zip(full, out_pad, strict=True))]


@register("ConvTranspose", names=("", "weight", "bias"))
def conv_transpose(ctx: NodeContext, inputs: list) -> Tensor:
    x, w, b = (inputs + [None])[:3]
    spatial = check_rank(ctx, x)
    kernel = ints(ctx, "kernel_shape", w.shape[2:])
    strides = ints(ctx, "strides", [1] * spatial)
    dilations = ints(ctx, "dilations", [1] * spatial)
    out_pad = ints(ctx, "output_padding", [0] * spatial)[:spatial]
    begin, out = _transpose_geometry(ctx, x.shape[2:], kernel, strides, dilations, out_pad)
    if spatial == 1:
        x, w = S.unsqueeze(x, 2), S.unsqueeze(w, 2)
        strides, dilations, begin, out = [1] + strides, [1] + dilations, [0] + begin, [1] + out
    full = F.conv_transpose2d(x, w, None, tuple(strides), 0, 0, int(ctx.attr("group", 1)), tuple(dilations))
    # output o reads full[o + begin]: crop `begin` at the start, then crop or zero-extend the end to `out`
    ends = [o + p - n for o, p, n in zip(out, begin, full.shape[2:], strict=True)]
    y = F.pad(full, (-begin[1], ends[1], -begin[0], ends[0])) if any(begin) or any(ends) else full
    if b is not None:
        y = E.add(y, S.reshape(b, (1, -1, 1, 1)))
    return S.squeeze(y, 2) if spatial == 1 else y


# --------------------------------------------------------------------- matrix products
@register("Gemm", names=("", "weight", "bias"))
def gemm(ctx: NodeContext, inputs: list) -> Tensor:
    """Y = α·A'·B' + β·C, A' = Aᵀ if transA, B' = Bᵀ if transB (C broadcast to Y)."""
    a, b, c = (inputs + [None])[:3]
    alpha, beta = float(ctx.attr("alpha", 1.0)), float(ctx.attr("beta", 1.0))
    trans_a, trans_b = int(ctx.attr("transA", 0)), int(ctx.attr("transB", 0))
    linear_bias = c is None or (beta == 1.0 and c.ndim == 1 and c.shape[0] == b.shape[0])
    if trans_b and not trans_a and alpha == 1.0 and linear_bias and a.ndim == 2:
        return F.linear(a, b, c)  # the common Linear layer: one fused product
    y = M.matmul(S.permute(a, (1, 0)) if trans_a else a, S.permute(b, (1, 0)) if trans_b else b)
    if alpha != 1.0:
        y = E.mul(y, alpha)
    if c is not None and beta != 0.0:
        y = E.add(y, c if beta == 1.0 else E.mul(c, beta))
    return y


register("MatMul", names=("", "weight"))(lambda ctx, inputs: M.matmul(inputs[0], inputs[1]))


# --------------------------------------------------------------------- normalisation
def _graph_trains(ctx: NodeContext) -> bool:
    """Whether the graph itself asks BatchNormalization for batch statistics (see the module docstring)."""
    if ctx.opset < 7:
        return not ctx.attr("is_test", 0)
    if ctx.opset < 14:
        return ctx.num_outputs > 1
    return bool(ctx.attr("training_mode", 0))


def _batch_stats(x: Tensor) -> tuple[np.ndarray, np.ndarray]:
    axes = (0,) + tuple(range(2, x.ndim))
    return x._data.mean(axis=axes), x._data.var(axis=axes)


@register("BatchNormalization", names=("", "weight", "bias", "running_mean", "running_var"), buffers=(3, 4))
def batch_norm(ctx: NodeContext, inputs: list) -> Tensor | tuple[Tensor, ...]:
    x, scale, bias, mean, var = inputs[:5]
    eps, momentum = float(ctx.attr("epsilon", 1e-5)), float(ctx.attr("momentum", 0.9))
    if ctx.opset < 9 and ctx.attr("spatial", 1) == 0:
        return _per_activation(x, scale, bias, mean, var, eps)
    if _graph_trains(ctx):
        batch_mean, batch_var = _batch_stats(x)
        y = F.batch_norm(x, None, None, scale, bias, training=True, eps=eps)
        new_mean = Tensor((mean._data * momentum + batch_mean * (1 - momentum)).astype(x.dtype))
        new_var = Tensor((var._data * momentum + batch_var * (1 - momentum)).astype(x.dtype))
        extra = (Tensor(batch_mean.astype(x.dtype)), Tensor(batch_var.astype(x.dtype))) if ctx.opset < 14 else ()
        return (y, new_mean, new_var) + extra
    if ctx.training:  # fine-tuning the imported model: PyTorch's BatchNorm in training mode
        return F.batch_norm(x, mean, var, scale, bias, training=True, momentum=1.0 - momentum, eps=eps)
    return F.batch_norm(x, mean, var, scale, bias, training=False, eps=eps)


def _per_activation(x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, var: Tensor, eps: float) -> Tensor:
    """spatial=0: every activation (C, H, W) has its own statistics and affine: (x − μ)/√(σ² + ε)·γ + β."""
    inv = Tensor((1.0 / np.sqrt(var._data + eps)).astype(x.dtype))
    return E.add(E.mul(E.mul(E.sub(x, mean), inv), scale), bias)


@register("InstanceNormalization", names=("", "weight", "bias"))
def instance_norm(ctx: NodeContext, inputs: list) -> Tensor:
    """Each (sample, channel) plane normalised on its own: group norm with one channel per group."""
    x, scale, bias = inputs
    return F.group_norm(x, x.shape[1], scale, bias, float(ctx.attr("epsilon", 1e-5)))


@register("LayerNormalization", names=("", "weight", "bias"))
def layer_norm(ctx: NodeContext, inputs: list) -> Tensor:
    """(x − μ)/√(σ² + ε)·scale + B over the dims from `axis` on (opset 17); only the first output."""
    x, scale, bias = (inputs + [None])[:3]
    if ctx.num_outputs > 1:
        raise ctx.error("the Mean and InvStdDev outputs are not supported")
    axis = int(ctx.attr("axis", -1)) % x.ndim
    shape = x.shape[axis:]
    eps = float(ctx.attr("epsilon", 1e-5))
    if scale.shape == shape and (bias is None or bias.shape == shape):
        return F.layer_norm(x, shape, scale, bias, eps)
    y = E.mul(F.layer_norm(x, shape, None, None, eps), scale)  # a broadcast scale and bias
    return y if bias is None else E.add(y, bias)


@register("LRN")
def lrn(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    size = int(ctx.attr("size"))
    alpha, beta, bias = float(ctx.attr("alpha", 1e-4)), float(ctx.attr("beta", 0.75)), float(ctx.attr("bias", 1.0))
    before, after = (size - 1) // 2, size // 2  # ⌊(size−1)/2⌋ channels before c, ⌈(size−1)/2⌉ after
    squares = E.mul(x, x)
    pad = (0, 0) * (x.ndim - 2) + (before, after)
    padded = F.pad(squares, pad)
    channels = x.shape[1]
    window = S.getitem(padded, (slice(None), slice(0, channels)))
    for k in range(1, size):  # Σ over the size shifted channel windows (size is small: 5 in AlexNet)
        window = E.add(window, S.getitem(padded, (slice(None), slice(k, k + channels))))
    return E.mul(x, E.pow(E.add(E.mul(window, alpha / size), bias), -beta))


# --------------------------------------------------------------------- dropout
@register("Dropout", static=(1, 2))
def dropout(ctx: NodeContext, inputs: list) -> Tensor | tuple[Tensor, Tensor]:
    """Identity (mask all true) unless training; training drops with probability `ratio`, scaling by 1/(1−ratio)."""
    x = inputs[0]
    if ctx.opset >= 12:
        ratio_v, mode_v = values((inputs + [None, None])[1]), values((inputs + [None, None])[2])
        ratio = 0.5 if ratio_v is None else float(ratio_v)
        training = ctx.training if mode_v is None else bool(mode_v)
    else:
        ratio = float(ctx.attr("ratio", 0.5))
        training = ctx.training or (ctx.opset < 7 and not ctx.attr("is_test", 0) and ctx.num_outputs > 1)
    if not training or ratio == 0.0:
        keep = np.ones(x.shape, dtype=bool)
        y = x
    else:
        keep = rand(*x.shape)._data >= ratio
        y = E.mul(x, Tensor((keep / (1.0 - ratio)).astype(x.dtype)))
    return (y, Tensor(keep)) if ctx.num_outputs > 1 else y
