"""Single-op workloads: `cnnkit.nn.functional` against `torch.nn.functional` on identical inputs.

Each op is timed twice: "fwd" (the forward alone, inputs requiring grad as in training, so both frameworks
keep what their backward needs) and "fwd+bwd" (the forward, then backward of a fixed upstream gradient;
the input gradients are reset to None before each call so that no call pays for accumulation).
`check()` compares the outputs (1e-3) and every input gradient once before timing.

FLOPs per call, counted from the shapes (N batch, C/F in/out channels, k kernel, OH·OW output pixels):
- conv2d: forward 2 · N·F·OH·OW·(C/groups)·k²; backward twice that (input and weight gradients).
- max/avg pool: k² operations per output (a compare or an add) forward, the same backward.
- batch_norm (training): nominally 8 per element forward (mean 1, variance 3, normalise 2, affine 2) and
  8 backward (two channel sums 3, the closed-form dx 5).
- cross_entropy on (N, C): nominally 4 per logit forward (max, subtract, exp, sum) and 3 backward.
Only the conv counts are exact; the others say how far a memory-bound op is from arithmetic limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import cnnkit
import cnnkit.nn.functional as F
from benchmarks.report import Target
from benchmarks.workload import Built, Workload, assert_close

BATCH = 128
OP_TARGET = Target(">=", 0.3)


@dataclass(frozen=True)
class OpSpec:
    """One op on fixed shapes: `call(fn_namespace, *tensors)` runs it through cnnkit's or torch's functional."""

    name: str
    arrays: Callable[[np.random.Generator], list[np.ndarray]]
    call: Callable[..., Any]
    forward_flops: float
    backward_flops: float
    quick: bool = False
    state: tuple[int, ...] = ()  # indices of float arrays that are state, not inputs: no gradient (running stats)

    def differentiable(self, arrays: list[np.ndarray]) -> list[bool]:
        return [a.dtype.kind == "f" and i not in self.state for i, a in enumerate(arrays)]


def _conv(name: str, cin: int, cout: int, k: int, hw: int, stride: int = 1, padding: int = 0, groups: int = 1,
          bias: bool = False, quick: bool = False) -> OpSpec:
    out = (hw + 2 * padding - k) // stride + 1
    macs = BATCH * cout * out * out * (cin // groups) * k * k

    def arrays(rng: np.random.Generator) -> list[np.ndarray]:
        fan_in = cin // groups * k * k
        xs = [rng.standard_normal((BATCH, cin, hw, hw), dtype=np.float32),
              rng.uniform(-1, 1, (cout, cin // groups, k, k)).astype(np.float32) / np.float32(np.sqrt(fan_in))]
        return xs + [rng.uniform(-0.1, 0.1, cout).astype(np.float32)] if bias else xs

    def call(f: Any, x: Any, w: Any, b: Any = None) -> Any:
        return f.conv2d(x, w, b, stride, padding, 1, groups)

    return OpSpec(name, arrays, call, 2.0 * macs, 4.0 * macs, quick)


def _pool(name: str, kind: str, k: int, stride: int, quick: bool = False) -> OpSpec:
    shape = (BATCH, 32, 32, 32)
    out = (shape[-1] - k) // stride + 1
    ops = BATCH * 32 * out * out * k * k

    def call(f: Any, x: Any) -> Any:
        return getattr(f, kind)(x, k, stride)

    return OpSpec(name, lambda rng: [rng.standard_normal(shape, dtype=np.float32)], call, float(ops), float(ops), quick)


def _batch_norm(quick: bool = False) -> OpSpec:
    shape = (BATCH, 64, 16, 16)
    count = float(np.prod(shape))

    def arrays(rng: np.random.Generator) -> list[np.ndarray]:
        return [rng.standard_normal(shape, dtype=np.float32) * 2 + 1, np.zeros(64, np.float32), np.ones(64, np.float32),
                rng.uniform(0.5, 1.5, 64).astype(np.float32), rng.uniform(-0.5, 0.5, 64).astype(np.float32)]

    def call(f: Any, x: Any, running_mean: Any, running_var: Any, weight: Any, bias: Any) -> Any:
        # as BatchNorm2d in training: batch statistics, running statistics updated in place
        return f.batch_norm(x, running_mean, running_var, weight, bias, training=True)

    return OpSpec("batch_norm train 64ch@16", arrays, call, 8 * count, 8 * count, quick, state=(1, 2))


def _cross_entropy(quick: bool = False) -> OpSpec:
    def arrays(rng: np.random.Generator) -> list[np.ndarray]:
        return [rng.standard_normal((BATCH, 10), dtype=np.float32) * 3, rng.integers(0, 10, BATCH, dtype=np.int64)]

    def call(f: Any, logits: Any, target: Any) -> Any:
        return f.cross_entropy(logits, target)

    return OpSpec("cross_entropy 128x10", arrays, call, 4.0 * BATCH * 10, 3.0 * BATCH * 10, quick)


def specs() -> list[OpSpec]:
    """The single ops a CNN training step is made of, on the shapes of the zoo models' layers (batch 128)."""
    return [
        _conv("conv2d 5x5 1->6 @32", 1, 6, 5, 32, bias=True),
        _conv("conv2d 5x5 6->16 @14", 6, 16, 5, 14, bias=True, quick=True),
        _conv("conv2d 3x3 16->16 @32 p1", 16, 16, 3, 32, padding=1, quick=True),
        _conv("conv2d 3x3 32->32 @16 p1", 32, 32, 3, 16, padding=1),
        _conv("conv2d 3x3 64->64 @8 p1", 64, 64, 3, 8, padding=1),
        _conv("conv2d 3x3/2 16->32 @32 p1", 16, 32, 3, 32, stride=2, padding=1),
        _conv("conv2d 1x1 64->64 @16", 64, 64, 1, 16),
        _conv("conv2d dw3x3 64 @16 p1", 64, 64, 3, 16, padding=1, groups=64),
        _pool("max_pool2d 2x2/2 32ch@32", "max_pool2d", 2, 2, quick=True),
        _pool("max_pool2d 3x3/2 32ch@32", "max_pool2d", 3, 2),
        _pool("avg_pool2d 2x2/2 32ch@32", "avg_pool2d", 2, 2),
        _batch_norm(quick=True),
        _cross_entropy(quick=True),
    ]


def workloads() -> list[Workload]:
    """Each op forward alone and forward+backward; quick runs only the fwd+bwd of the quick ops."""
    out = []
    for spec in specs():
        for backward in (False, True):
            label = f"{spec.name} {'fwd+bwd' if backward else 'fwd'}"
            # the op target holds for the forward alone and for forward+backward, the pass a training step makes
            out.append(Workload(label, "op", _builder(spec, backward), OP_TARGET, spec.quick and backward,
                                {"op": spec.name, "pass": "fwd+bwd" if backward else "fwd"}))
    return out


def _builder(spec: OpSpec, backward: bool):
    return lambda torch: op_case(spec, backward, torch)


def op_case(spec: OpSpec, backward: bool, torch: Any = None, seed: int = 0) -> Built:
    """The two contenders for one op; both see copies of the same arrays."""
    arrays = spec.arrays(np.random.default_rng(seed))
    flops = spec.forward_flops + (spec.backward_flops if backward else 0.0)
    grads = spec.differentiable(arrays)
    ours_in = [cnnkit.tensor(a, dtype=a.dtype, requires_grad=g) for a, g in zip(arrays, grads, strict=True)]
    upstream = _upstream(spec.call(F, *ours_in).shape, seed)
    ours = _runner(lambda: spec.call(F, *ours_in), ours_in, cnnkit.tensor(upstream), backward)
    if torch is None:
        return Built(ours, None, BATCH, flops)
    theirs_in = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads, strict=True)]
    theirs = _runner(lambda: spec.call(torch.nn.functional, *theirs_in), theirs_in, torch.from_numpy(upstream),
                     backward)
    return Built(ours, theirs, BATCH, flops, _check(spec, ours_in, theirs_in, upstream, torch))


def _upstream(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 1).standard_normal(shape).astype(np.float32)


def _runner(forward: Callable[[], Any], inputs: list[Any], upstream: Any, backward: bool) -> Callable[[], Any]:
    if not backward:
        return forward
    float_inputs = [t for t in inputs if t.requires_grad]

    def forward_backward() -> None:
        for t in float_inputs:
            t.grad = None
        forward().backward(upstream)

    return forward_backward


def _check(spec: OpSpec, ours_in: list[Any], theirs_in: list[Any], upstream: np.ndarray, torch: Any):
    def check() -> None:
        for t in ours_in + theirs_in:
            t.grad = None
        ours, theirs = spec.call(F, *ours_in), spec.call(torch.nn.functional, *theirs_in)
        assert_close(ours._data, theirs.detach().numpy(), "output")
        ours.backward(cnnkit.tensor(upstream))
        theirs.backward(torch.from_numpy(upstream))
        for i, (a, b) in enumerate(zip(ours_in, theirs_in, strict=True)):
            if a.requires_grad:
                assert_close(a.grad._data, b.grad.numpy(), f"gradient of input {i}")

    return check
