"""Gradient checking: analytic gradients against central finite differences in float64.

For a scalar L = Σ_k P_k · y_k (y the function's outputs, P a fixed random projection), each checked
coordinate θ_i of an input or parameter gets

    numeric_i = (L(θ + ε e_i) − L(θ − ε e_i)) / 2ε          (error O(ε²) + rounding O(1e-16 · |L| / ε))

and passes when |analytic_i − numeric_i| ≤ atol + rtol · |numeric_i| (PyTorch's `gradcheck` test).

- `gradcheck(fn, inputs)` takes any callable of tensors (a `Function.apply` included): its floating inputs
  are copied to float64 and checked; it returns True or raises `GradcheckError` naming the input and the
  worst coordinate.
- `gradcheck(model, inputs)` checks a copy of the model in float64: the input and every parameter, layer by
  layer; `check_module` returns the per-parameter rows that `format_table` prints.

Where a tensor has more than `max_coords` elements, the coordinate with the largest analytic gradient and a
random sample of the others are checked. A coordinate that fails is measured once more with ε/10: a ReLU or
max-pool kink lying within ε of the point is crossed by one step size but rarely by both, while a wrong
backward disagrees at every step size.

Models run in training mode by default (batch norm uses the batch's statistics, the gradient training
follows), with cnnkit's random generator reset to the same state before every forward so dropout draws the
same mask each time; `train=False` checks the evaluation-mode function instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnkit.autograd import enable_grad, no_grad
from cnnkit.random import get_rng_state, set_rng_state
from cnnkit.tensor import Tensor

INPUT = "(input)"


class GradcheckError(RuntimeError):
    """An analytic gradient disagrees with finite differences; the message names the tensor and coordinate."""


@dataclass
class TensorCheck:
    """The verdict on one checked tensor (an input or a parameter)."""

    name: str
    shape: tuple[int, ...]
    checked: int
    max_rel_error: float  # max |a − n| / max(|a|, |n|) over checked coordinates with max(|a|, |n|) ≥ atol
    worst_index: tuple[int, ...]  # the coordinate with the largest |a − n| / (atol + rtol·|n|)
    analytic: float
    numeric: float
    passed: bool

    @property
    def layer(self) -> str:
        return self.name.rpartition(".")[0] if self.name != INPUT else INPUT

    def describe(self) -> str:
        return (f"gradient of {self.name} {self.shape} is wrong at index {self.worst_index}: analytic "
                f"{self.analytic:.6g}, numeric {self.numeric:.6g} (max relative error {self.max_rel_error:.3g} "
                f"over {self.checked} coordinates)")


def numeric_gradient(f: Callable[[list[np.ndarray]], float], arrays: list[np.ndarray], index: int,
                     eps: float = 1e-6, coords: np.ndarray | None = None) -> np.ndarray:
    """∂f/∂arrays[index] by central differences: the full gradient, or its values at flat `coords`."""
    flat = arrays[index].reshape(-1)
    which = np.arange(flat.size) if coords is None else np.asarray(coords)
    values = np.empty(which.size, dtype=np.float64)
    for k, i in enumerate(which):
        old = flat[i]
        flat[i] = old + eps
        plus = f(arrays)
        flat[i] = old - eps
        minus = f(arrays)
        flat[i] = old
        values[k] = (plus - minus) / (2 * eps)
    if coords is not None:
        return values
    return values.reshape(arrays[index].shape)


def _float_outputs(out: Any) -> list[Tensor]:
    """The floating tensors of an output: a Tensor, or (nested) tuples, lists and dicts of them."""
    if isinstance(out, Tensor):
        return [out] if out.dtype.kind == "f" else []
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _float_outputs(item)]
    return []


def _sample(analytic: np.ndarray, max_coords: int, rng: np.random.Generator) -> np.ndarray:
    """Flat coordinates to check: all of them, or the largest |gradient| plus a random sample of the rest."""
    size = analytic.size
    if size <= max_coords:
        return np.arange(size)
    top = int(np.argmax(np.abs(analytic)))
    rest = rng.choice(size - 1, size=max_coords - 1, replace=False)
    return np.concatenate([[top], rest + (rest >= top)])


class _Checker:
    """One function of some float64 leaf tensors, with its projection fixed after a first forward."""

    def __init__(self, evaluate: Callable[[], Any], seed: int) -> None:
        self.evaluate = evaluate
        self.rng = np.random.default_rng(seed)
        with enable_grad():
            outputs = _float_outputs(evaluate())
        if not outputs:
            raise ValueError("gradcheck: the function returned no floating-point tensor")
        for out in outputs:
            if out.dtype != np.float64:
                raise ValueError(f"gradcheck: an output is {out.dtype}; the check needs float64 throughout "
                                 "(give float64 inputs and parameters)")
        self.projections = [self.rng.standard_normal(out.shape) for out in outputs]
        loss = None
        for out, p in zip(outputs, self.projections, strict=True):
            term = (out * Tensor(p, dtype=np.float64)).sum()
            loss = term if loss is None else loss + term
        if loss.requires_grad:
            loss.backward()

    def scalar(self, _arrays: Any = None) -> float:
        with no_grad():
            outputs = _float_outputs(self.evaluate())
        return float(sum((out._data * p).sum() for out, p in zip(outputs, self.projections, strict=True)))

    def check(self, name: str, leaf: Tensor, eps: float, atol: float, rtol: float, max_coords: int) -> TensorCheck:
        analytic = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad._data.astype(np.float64)
        coords = _sample(analytic.reshape(-1), max_coords, self.rng)
        a = analytic.reshape(-1)[coords]
        n = numeric_gradient(self.scalar, [leaf._data], 0, eps, coords)
        ratio = np.abs(a - n) / (atol + rtol * np.abs(n))
        failing = np.flatnonzero(ratio > 1)
        if failing.size:  # a kink within ε of the point: measure again with a smaller step
            n_fine = numeric_gradient(self.scalar, [leaf._data], 0, eps / 10, coords[failing])
            ratio_fine = np.abs(a[failing] - n_fine) / (atol + rtol * np.abs(n_fine))
            better = ratio_fine < ratio[failing]
            n[failing[better]] = n_fine[better]
            ratio[failing[better]] = ratio_fine[better]
        scale = np.maximum(np.abs(a), np.abs(n))
        rel = np.where(scale >= atol, np.abs(a - n) / np.maximum(scale, atol), 0.0)
        worst = int(np.argmax(ratio))
        index = tuple(int(i) for i in np.unravel_index(int(coords[worst]), leaf.shape)) if leaf.ndim else ()
        return TensorCheck(name, tuple(leaf.shape), int(coords.size), float(rel.max(initial=0.0)), index,
                           float(a[worst]), float(n[worst]), bool(ratio.max(initial=0.0) <= 1))


def _as_float64_leaf(value: Any) -> Any:
    """A float64 copy that requires grad for floating data; anything else is passed through."""
    array = value._data if isinstance(value, Tensor) else value
    if isinstance(array, np.ndarray) and array.dtype.kind == "f":
        return Tensor(np.array(array, dtype=np.float64), requires_grad=True, dtype=np.float64)
    return value


def check_function(fn: Callable[..., Any], inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
                   rtol: float = 1e-3, max_coords: int = 32, seed: int = 0) -> list[TensorCheck]:
    """One row per floating input of `fn(*inputs)` (inputs copied to float64)."""
    args = [_as_float64_leaf(v) for v in (inputs if isinstance(inputs, (tuple, list)) else (inputs,))]
    checker = _Checker(lambda: fn(*args), seed)
    return [checker.check(f"input {i}", leaf, eps, atol, rtol, max_coords)
            for i, leaf in enumerate(args) if isinstance(leaf, Tensor) and leaf.requires_grad]


def check_module(model: Any, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                 max_coords: int = 16, seed: int = 0, layer: str | None = None, train: bool = True,
                 check_input: bool = True) -> list[TensorCheck]:
    """One row for the input (unless a `layer` is named) and one per parameter of a float64 copy of `model`.

    `layer` restricts the check to the parameters of the named submodule (and its children).
    """
    model = copy.deepcopy(model).double().train(train)
    named = list(model.named_parameters())
    if layer is not None:
        named = [(n, p) for n, p in named if n.startswith(layer + ".")]
        if not named:
            names = sorted({n.rpartition(".")[0] for n, _ in model.named_parameters()})
            raise ValueError(f"gradcheck: no parameterised layer named {layer!r}; the layers are {', '.join(names)}")
        check_input = False
    for _, p in model.named_parameters():
        p.grad = None
        p.requires_grad = any(p is q for _, q in named)
    args = [_as_float64_leaf(v) for v in (inputs if isinstance(inputs, (tuple, list)) else (inputs,))]
    if not check_input:
        args = [a.detach() if isinstance(a, Tensor) else a for a in args]
    state = get_rng_state()

    def evaluate() -> Any:
        set_rng_state(copy.deepcopy(state))  # the same dropout masks in every forward
        return model(*args)

    try:
        checker = _Checker(evaluate, seed)
        rows = []
        if check_input:
            rows += [checker.check(INPUT if i == 0 else f"(input {i})", a, eps, atol, rtol, max_coords)
                     for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        rows += [checker.check(name, p, eps, atol, rtol, max_coords) for name, p in named]
    finally:
        set_rng_state(state)
    return rows


def gradcheck(model_or_fn: Any, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              max_coords: int | None = None, seed: int = 0, layer: str | None = None, train: bool = True,
              raise_exception: bool = True) -> bool:
    """True when every checked gradient of `model_or_fn` at `inputs` matches central finite differences.

    A `Module` has its input and each parameter checked (float64 copy, training mode with repeatable
    dropout unless `train=False`, `layer` to check one layer); any other callable has its floating inputs
    checked. On a mismatch raises `GradcheckError` naming the tensor and the worst coordinate (or returns
    False when `raise_exception=False`).
    """
    from cnnkit.nn.module import Module

    if isinstance(model_or_fn, Module):
        rows = check_module(model_or_fn, inputs, eps=eps, atol=atol, rtol=rtol, max_coords=max_coords or 16,
                            seed=seed, layer=layer, train=train)
    else:
        rows = check_function(model_or_fn, inputs, eps=eps, atol=atol, rtol=rtol, max_coords=max_coords or 32,
                              seed=seed)
    failed = [r for r in rows if not r.passed]
    if failed and raise_exception:
        raise GradcheckError("gradcheck: " + "; ".join(r.describe() for r in failed))
    return not failed


def format_table(rows: Sequence[TensorCheck]) -> str:
    """The per-parameter table: layer, parameter, shape, max relative error, coordinates checked, result."""
    header = ("layer", "parameter", "shape", "max rel. error", "checked", "result")
    lines = [header]
    for r in rows:
        lines.append((r.layer, r.name.rpartition(".")[2] if r.name != INPUT else "input",
                      "×".join(str(s) for s in r.shape) or "scalar", f"{r.max_rel_error:.2e}", str(r.checked),
                      "pass" if r.passed else f"FAIL at {r.worst_index}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)
