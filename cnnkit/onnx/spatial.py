"""Window geometry shared by the imported Conv, ConvTranspose and pooling ops: strides, dilations, pads.

ONNX writes pads as [x1_begin, x2_begin, ..., x1_end, x2_end, ...] and may ask for them implicitly
(`auto_pad`): SAME_UPPER / SAME_LOWER pad so that the output is ⌈input / stride⌉, with the odd pixel at the
end (UPPER) or the beginning (LOWER); VALID pads nothing. cnnkit's kernels are 2-D, so a 1-D op runs as a
2-D one on a height-1 image (`lift_1d`).
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnkit.onnx.registry import NodeContext
from cnnkit.ops import shape as S
from cnnkit.tensor import Tensor


def check_rank(ctx: NodeContext, x: Tensor) -> int:
    """The number of spatial dims (1 or 2), or an error: cnnkit has no 3-D kernels."""
    spatial = x.ndim - 2
    if spatial not in (1, 2):
        raise ctx.error(
            f"expected a 1-D or 2-D spatial input (N, C, L) or (N, C, H, W), got shape {x.shape}; "
            f"cnnkit computes 1-D and 2-D {ctx.op_type} only"
        )
    return spatial


def ints(ctx: NodeContext, key: str, default: Sequence[int]) -> list[int]:
    value = ctx.attr(key)
    return [int(v) for v in (default if value is None or len(value) == 0 else value)]


def explicit_pads(
    ctx: NodeContext, sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int]
) -> list[int]:
    """[begin..., end...] pads from `pads` or `auto_pad` (SAME_*: output ⌈n / stride⌉; VALID: none)."""
    n = len(sizes)
    auto = ctx.attr("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        pads = ints(ctx, "pads", [0] * 2 * n)
        if len(pads) != 2 * n:
            raise ctx.error(f"expected {2 * n} pads for {n} spatial dims, got {pads}")
        return pads
    if auto == "VALID":
        return [0] * 2 * n
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise ctx.error(f"auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got {auto!r}")
    begin, end = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else large)
        end.append(large if auto == "SAME_UPPER" else small)
    return begin + end


def lift_1d(
    x: Tensor, kernel: list[int], strides: list[int], dilations: list[int], pads: list[int]
) -> tuple[Tensor, list[int], list[int], list[int], list[int]]:
    """A 1-D op's input as (N, C, 1, L) and its geometry with a unit height axis prepended."""
    return (S.unsqueeze(x, 2), [1] + kernel, [1] + strides, [1] + dilations, [0, pads[0], 0, pads[1]])


def torch_pad(pads: Sequence[int]) -> tuple[int, ...]:
    """ONNX 2-D pads [h_begin, w_begin, h_end, w_end] as F.pad's (left, right, top, bottom)."""
    return (pads[1], pads[3], pads[0], pads[2])
