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
random sample of the others are checked.

Kinks. A ReLU, leaky ReLU or max-pool is not differentiable where its input is 0 (or at a tie), and a central
difference whose ±ε steps move some activation across that point measures a mix of the two slopes, not the
derivative. In a deep net in training mode this is common: a batch-norm parameter moves every activation of its
channel (resnet20 at 32×32, batch 2: 32,768 pre-ReLU values per channel in the first stage, the nearest 8.5e-8
from 0), so some coordinate's ±10⁻⁶ step crosses a kink. Measured on resnet20's layer1.0.bn1.bias[14]: the
analytic gradient −0.0660062 equals PyTorch's on the same float64 weights and input (all gradients of the model
agree to 1.6e-14), one ReLU input crosses 0 at +ε for ε = 10⁻⁶ and 10⁻⁷, and the central difference moves to the
analytic value as ε shrinks: relative error 1.1e-2 at ε = 10⁻⁶, 1.7e-3 at 10⁻⁷, 4.2e-6 at 10⁻⁸. So a coordinate
that fails is measured again with ε/10 and then ε/100 (in float64 the rounding error of L is ~1e-16·|L|, small
against 2ε = 2e-8), keeping the best agreement: a kink within ε of the point is left behind by a smaller step,
while a wrong backward disagrees with the derivative at every step size, so its error stays. The tolerance is
never widened; `TensorCheck.refined` counts the coordinates that passed only at a smaller step.

A tensor whose analytic gradient is exactly 0 everywhere passes without showing anything (`TensorCheck.zero`,
"pass (gradient 0)" in the table). `zoo_model` therefore redraws a zoo model's all-zero weights before its check,
and `zoo_inputs` gives each zoo model its smallest input (`SMALL_INPUTS`).

Models run in training mode by default (batch norm uses the batch's statistics, the gradient training
follows), with cnnkit's random generator reset to the same state before every forward so dropout draws the
same mask each time; `train=False` checks the evaluation-mode function instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
    refined: int = 0  # coordinates that agreed only at a smaller step (a kink within ε of the point)
    zero: bool = False  # the whole analytic gradient is exactly 0: a pass that shows nothing

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
        # float64 grads are read in place: a copy of a 100 M-parameter layer's gradient is 800 MB
        analytic = np.zeros(leaf.shape) if leaf.grad is None else np.asarray(leaf.grad._data, dtype=np.float64)
        coords = _sample(analytic.reshape(-1), max_coords, self.rng)
        a = analytic.reshape(-1)[coords]
        n = numeric_gradient(self.scalar, [leaf._data], 0, eps, coords)
        ratio = np.abs(a - n) / (atol + rtol * np.abs(n))
        refined = np.zeros(coords.size, dtype=bool)
        for step in (eps / 10, eps / 100):  # a kink within ε of the point: measure again with smaller steps
            failing = np.flatnonzero(ratio > 1)
            if not failing.size:
                break
            n_fine = numeric_gradient(self.scalar, [leaf._data], 0, step, coords[failing])
            ratio_fine = np.abs(a[failing] - n_fine) / (atol + rtol * np.abs(n_fine))
            improves = ratio_fine < ratio[failing]
            better = failing[improves]
            n[better], ratio[better], refined[better] = n_fine[improves], ratio_fine[improves], True
        scale = np.maximum(np.abs(a), np.abs(n))
        rel = np.where(scale >= atol, np.abs(a - n) / np.maximum(scale, atol), 0.0)
        worst = int(np.argmax(ratio))
        index = tuple(int(i) for i in np.unravel_index(int(coords[worst]), leaf.shape)) if leaf.ndim else ()
        return TensorCheck(name, tuple(leaf.shape), int(coords.size), float(rel.max(initial=0.0)), index,
                           float(a[worst]), float(n[worst]), bool(ratio.max(initial=0.0) <= 1),
                           int((refined & (ratio <= 1)).sum()), not analytic.any())


def _as_float64_leaf(value: Any) -> Any:
    """A float64 copy that requires grad for floating data; anything else is passed through."""
    array = value._data if isinstance(value, Tensor) else value
    if isinstance(array, np.ndarray) and array.dtype.kind == "f":
        return Tensor(np.array(array, dtype=np.float64), requires_grad=True, dtype=np.float64)
    return value


@contextmanager
def _threads(count: int | None) -> Iterator[None]:
    """cnnkit's ops on `count` threads for the duration (None: as they are), the setting restored after."""
    if count is None:
        yield
        return
    from cnnkit.ops import compiled, threads

    saved = threads._State.threads
    threads.set_num_threads(count)
    try:
        yield
    finally:
        threads._State.threads = saved
        compiled.set_num_threads(threads.get_num_threads())


def check_function(fn: Callable[..., Any], inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
                   rtol: float = 1e-3, max_coords: int = 32, seed: int = 0, threads: int | None = 1
                   ) -> list[TensorCheck]:
    """One row per floating input of `fn(*inputs)` (inputs copied to float64); `threads` as in `check_module`."""
    args = [_as_float64_leaf(v) for v in (inputs if isinstance(inputs, (tuple, list)) else (inputs,))]
    with _threads(threads):
        checker = _Checker(lambda: fn(*args), seed)
        return [checker.check(f"input {i}", leaf, eps, atol, rtol, max_coords)
                for i, leaf in enumerate(args) if isinstance(leaf, Tensor) and leaf.requires_grad]


def check_module(model: Any, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                 max_coords: int = 16, seed: int = 0, layer: str | None = None, train: bool = True,
                 check_input: bool = True, threads: int | None = 1) -> list[TensorCheck]:
    """One row for the input (unless a `layer` is named) and one per parameter of a float64 copy of `model`.

    `layer` restricts the check to the parameters of the named submodule (and its children). The model's ops
    run on `threads` threads (None: cnnkit's setting): one by default, since the check makes hundreds of
    forward passes on a batch of one or two, where threads only add synchronisation (resnet20 at 8×8 on a
    busy 2-core machine: 0.73 s a forward on two threads, 0.04 s on one).
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
        with _threads(threads):
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
              raise_exception: bool = True, threads: int | None = 1) -> bool:
    """True when every checked gradient of `model_or_fn` at `inputs` matches central finite differences.

    A `Module` has its input and each parameter checked (float64 copy, training mode with repeatable
    dropout unless `train=False`, `layer` to check one layer); any other callable has its floating inputs
    checked. On a mismatch raises `GradcheckError` naming the tensor and the worst coordinate (or returns
    False when `raise_exception=False`). The ops run on `threads` threads (None: cnnkit's setting).
    """
    from cnnkit.nn.module import Module

    if isinstance(model_or_fn, Module):
        rows = check_module(model_or_fn, inputs, eps=eps, atol=atol, rtol=rtol, max_coords=max_coords or 16,
                            seed=seed, layer=layer, train=train, threads=threads)
    else:
        rows = check_function(model_or_fn, inputs, eps=eps, atol=atol, rtol=rtol, max_coords=max_coords or 32,
                              seed=seed, threads=threads)
    failed = [r for r in rows if not r.passed]
    if failed and raise_exception:
        raise GradcheckError("gradcheck: " + "; ".join(r.describe() for r in failed))
    return not failed


# A small input (C, H, W) for each expensive zoo model, mostly the smallest it takes, so that checking one stays
# in seconds to minutes (every checked coordinate costs two forward passes in float64); the others are checked at
# their own input.
SMALL_INPUTS = {
    "alexnet": (3, 63, 63),  # the third max-pool needs 3×3: 63 → 15 → 7 → 7 → 3 → 3 → 1
    **{name: (3, 32, 32) for name in ("vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
                                      "vgg19_bn")},  # five 2×2 max-pools: 32 → 1
    # stride 32: 2×2 at the end. At 32×32 the last batch norms would normalise 2 values per channel, a point so
    # curved (gradients ~1e5) that central differences need ε ≤ 1e-7 to reach 1e-4 of the analytic value
    "resnet18": (3, 64, 64), "resnet34": (3, 64, 64), "resnet50": (3, 64, 64),
    "resnet20": (3, 8, 8), "resnet32": (3, 8, 8), "resnet56": (3, 8, 8),  # 8 → 4 → 2
    "unet": (1, 8, 8), "diffusion_unet": (1, 8, 8),  # two 2× down-samplings each: 2×2 at the bottom
}


def zoo_model(name: str, seed: int = 0) -> Any:
    """Zoo model `name` with random weights (seed `seed`), at a point where every gradient can be checked.

    A weight tensor that is initialised to all zeros (the DDPM noise predictor's output convolution, as in Ho
    et al.) makes every gradient before it exactly 0, so its check would pass whatever the backward computes;
    such a tensor is drawn from N(0, 1 / fan_in) instead. Zero biases stay: they block no gradient.
    """
    import cnnkit
    from cnnkit.models import get_model

    cnnkit.manual_seed(seed)
    model = get_model(name)
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        if p.ndim >= 2 and not p._data.any():
            p._data[...] = rng.standard_normal(p.shape) / np.sqrt(np.prod(p.shape[1:]))
    return model


def zoo_inputs(name: str, batch_size: int = 2, seed: int = 0,
               shape: Sequence[int] | None = None) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """The input shape and a random float64 batch (plus time steps for a noise predictor) to check zoo model
    `name` with: `shape`, else `SMALL_INPUTS`, else the model's own input shape."""
    from cnnkit.models import model_info

    info = model_info(name)
    shape = tuple(shape) if shape is not None else SMALL_INPUTS.get(info.name, tuple(info.input_shape))
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal((batch_size, *shape))]
    if info.name == "diffusion_unet":  # the noise predictor also takes a time step and a label per image
        labels = rng.integers(0, info.num_classes, size=batch_size)
        labels[-1] = -1  # the "no label" row of the class embedding is checked too
        inputs += [rng.integers(0, 1000, size=batch_size), labels]
    return shape, inputs


def format_table(rows: Sequence[TensorCheck]) -> str:
    """The per-parameter table: layer, parameter, shape, max relative error, coordinates checked, result."""
    header = ("layer", "parameter", "shape", "max rel. error", "checked", "result")
    lines = [header]
    for r in rows:
        lines.append((r.layer, r.name.rpartition(".")[2] if r.name != INPUT else "input",
                      "×".join(str(s) for s in r.shape) or "scalar", f"{r.max_rel_error:.2e}", str(r.checked),
                      ("pass (gradient 0)" if r.zero else "pass") if r.passed else f"FAIL at {r.worst_index}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)
