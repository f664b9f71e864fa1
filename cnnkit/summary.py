"""`summary(model, input_shape)`: a torchinfo-style table of a model's layers, output shapes, parameters and MACs.

It runs one forward pass on zeros under `no_grad` with forward hooks on the leaf modules (and on any module
that owns parameters directly), in eval mode so BatchNorm statistics and dropout are untouched, then puts
every module back in the mode it was in. The result is plain data: `Summary.rows` is a list of `Row`s
(name, layer type, output shape, parameter count, multiply-accumulates) and `Summary` holds the totals;
`str(summary)` is the table.

Multiply-accumulates (MACs) per layer, for the whole batch (FLOPs ≈ 2 × MACs):
- Conv2d: output elements × (in_channels / groups × kH × kW)
- ConvTranspose2d: input elements × (out_channels / groups × kH × kW)
- Linear: output elements × in_features
- everything else (BatchNorm, pooling, activations, dropout, LRN, reshapes): 0. Their cost is a few
  operations per element, not multiply-accumulates, and is left out as in the usual complexity tables.
Bias additions are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

import cnnkit
from cnnkit import nn

WIDTHS = (30, 18, 22, 14, 16)  # name, type, output shape, params, MACs (name and type widen to fit)


class Row(NamedTuple):
    """One call of one layer during the forward pass."""

    name: str  # qualified module name, e.g. "features.0"
    layer_type: str  # class name, e.g. "Conv2d"
    output_shape: tuple[int, ...]  # including the batch dimension
    num_params: int  # parameters the module owns directly (0 on repeated calls of a shared module)
    macs: int  # multiply-accumulates for the whole batch


@dataclass
class Summary:
    """The rows of `summary()` and its totals; `str()` renders the table."""

    model_name: str
    input_shape: tuple[int, ...]  # including the batch dimension
    rows: list[Row] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0
    param_bytes: int = 0
    activation_bytes: int = 0  # sum of the layers' output sizes

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    def __str__(self) -> str:
        return format_summary(self)


def summary(model: nn.Module, input_shape: Sequence[int], batch_size: int = 1) -> Summary:
    """Run `model` once on zeros of shape (batch_size, *input_shape) and tabulate its layers.

    `input_shape` excludes the batch dimension, e.g. (1, 28, 28) for LeNet-5.
    """
    shape = _check_args(model, input_shape, batch_size)
    hooked = [(name, m) for name, m in model.named_modules() if _is_leaf(m) or _own_param_count(m) > 0]
    names = {id(m): name for name, m in hooked}
    rows: list[Row] = []
    seen: set[int] = set()

    def hook(module: nn.Module, args: tuple, output: Any) -> None:
        first_call = id(module) not in seen
        seen.add(id(module))
        out = _first_tensor(output)
        out_shape = tuple(out.shape) if out is not None else ()
        inp = _first_tensor(args)
        in_shape = tuple(inp.shape) if inp is not None else ()
        rows.append(Row(names[id(module)], type(module).__name__, out_shape,
                        _own_param_count(module) if first_call else 0, layer_macs(module, in_shape, out_shape)))

    handles = [m.register_forward_hook(hook) for _, m in hooked]
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with cnnkit.no_grad():
            model(cnnkit.zeros(*shape))
    except Exception as err:
        done = rows[-1].name if rows else "none"
        raise RuntimeError(f"summary: the forward pass of {type(model).__name__} on zeros of shape {shape} failed "
                           f"(last layer completed: {done}): {err}") from err
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.training = training
    return _totals(model, shape, rows)


def layer_macs(module: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one call of `module` (formulas in the module docstring)."""
    if isinstance(module, nn.ConvTranspose2d):
        kh, kw = _pair(module.kernel_size)
        return _numel(in_shape) * (module.out_channels // module.groups) * kh * kw
    if isinstance(module, nn.Conv2d):
        kh, kw = _pair(module.kernel_size)
        return _numel(out_shape) * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return _numel(out_shape) * module.in_features
    return 0


def _check_args(model: Any, input_shape: Sequence[int], batch_size: int) -> tuple[int, ...]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary: expected an nn.Module, got {type(model).__name__}")
    try:
        dims = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise TypeError(f"summary: expected input_shape as a sequence of ints such as (1, 28, 28), "
                        f"got {input_shape!r}") from None
    if not dims or any(d <= 0 for d in dims) or any(int(d) != d for d in input_shape):
        raise ValueError(f"summary: expected input_shape of positive ints without the batch dimension, "
                         f"such as (1, 28, 28), got {tuple(input_shape)}")
    if int(batch_size) != batch_size or batch_size <= 0:
        raise ValueError(f"summary: expected a positive integer batch_size, got {batch_size!r}")
    return (int(batch_size),) + dims


def _totals(model: nn.Module, shape: tuple[int, ...], rows: list[Row]) -> Summary:
    params = {id(p): p for p in model.parameters()}.values()  # a shared parameter counts once
    return Summary(
        model_name=type(model).__name__,
        input_shape=shape,
        rows=rows,
        total_params=sum(_numel(p.shape) for p in params),
        trainable_params=sum(_numel(p.shape) for p in params if p.requires_grad),
        total_macs=sum(r.macs for r in rows),
        param_bytes=sum(_numel(p.shape) * p.dtype.itemsize for p in params),
        activation_bytes=sum(_numel(r.output_shape) for r in rows) * 4,  # float32 outputs
    )


def format_summary(s: Summary) -> str:
    """The table: one line per layer call, then the totals."""
    name_w = max([WIDTHS[0]] + [len(r.name) + 1 for r in s.rows])
    type_w = max([WIDTHS[1]] + [len(r.layer_type) + 1 for r in s.rows])
    widths = (name_w, type_w) + WIDTHS[2:]
    rule = "=" * sum(widths)
    header = _line(("Layer", "Type", "Output Shape", "Param #", "Mult-Adds"), widths)
    lines = [f"{s.model_name} on input {list(s.input_shape)}", rule, header, rule]
    for r in s.rows:
        cells = (r.name or "(model)", r.layer_type, str(list(r.output_shape)),
                 f"{r.num_params:,}" if r.num_params else "--", f"{r.macs:,}" if r.macs else "--")
        lines.append(_line(cells, widths))
    mb = 1024 * 1024
    lines += [
        rule,
        f"Total params: {s.total_params:,}",
        f"Trainable params: {s.trainable_params:,}",
        f"Non-trainable params: {s.non_trainable_params:,}",
        f"Params size (MB): {s.param_bytes / mb:.2f}",
        f"Activations size (MB): {s.activation_bytes / mb:.2f}",
        f"Total mult-adds (M): {s.total_macs / 1e6:.2f}",
        f"Total FLOPs (M): {s.total_flops / 1e6:.2f}",
        rule,
    ]
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    # name and type left-aligned, the numbers right-aligned
    left = cells[0].ljust(widths[0]) + cells[1].ljust(widths[1]) + cells[2].ljust(widths[2])
    return left + cells[3].rjust(widths[3]) + cells[4].rjust(widths[4])


def _is_leaf(module: nn.Module) -> bool:
    return next(iter(module.children()), None) is None


def _own_param_count(module: nn.Module) -> int:
    return sum(_numel(p.shape) for p in module.parameters(recurse=False))


def _first_tensor(value: Any) -> Any:
    """The first object with a shape in value (a tensor, or a tuple/list holding tensors)."""
    if hasattr(value, "shape"):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if np.isscalar(value) else (int(value[0]), int(value[1]))


def _numel(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
