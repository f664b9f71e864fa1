"""What a workload is: a name, a lazy builder of the two contenders, and a target; plus the sameness check.

A `Workload` builds nothing until it runs, so listing and selecting workloads is free. Its `build(torch)`
returns a `Built`: the cnnkit callable, the PyTorch callable (None without torch), the images and the
FLOPs per call, and a `check()` that runs both once, untimed, and raises `Mismatch` if they disagree:
a benchmark that compares two different computations is worthless.

NumPy is imported inside the checks, not here: `benchmarks.memory` imports this module in a child process
that must set the BLAS thread count before NumPy loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.report import Target

TOLERANCE = 1e-3  # outputs: max error relative to the largest magnitude of the reference array
# Gradients: error norm relative to the gradient's norm. Float32 rounding through a stack of training-mode
# BatchNorms leaves both frameworks about 1e-2 (worst element) and 6e-3 (norm) away from a float64 reference
# on ResNet-20, so 1e-3 would fail on noise; a wrong gradient is off by O(1).
GRAD_TOLERANCE = 3e-2
# A gradient that is zero in exact arithmetic (a conv bias followed by BatchNorm) holds only rounding noise:
# its norm is judged against this fraction of the model's largest gradient norm instead of its own.
GRAD_FLOOR = 1e-4


class Mismatch(AssertionError):
    """cnnkit and PyTorch computed different things for one workload."""


@dataclass
class Built:
    """The two contenders of one workload, ready to call, and what one call is worth."""

    cnnkit: Callable[[], object]
    torch: Callable[[], object] | None
    images: int  # images processed per call
    flops: float  # floating-point operations per call (see the workload's module for the count)
    check: Callable[[], None] | None = None


@dataclass
class Workload:
    """A named benchmark: `build(torch_module_or_None)` makes the contenders; `quick` puts it in `--quick`."""

    name: str
    group: str  # "model", "op", "scaling" or "memory"
    build: Callable[[Any], Built] | None
    target: Target | None = None
    quick: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def assert_close(ours: Any, theirs: Any, what: str, tol: float = TOLERANCE) -> None:
    """Raise Mismatch unless max |ours − theirs| ≤ tol · max |theirs| (and the shapes agree)."""
    import numpy as np

    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise Mismatch(f"{what}: cnnkit shape {ours.shape} vs PyTorch {theirs.shape}")
    scale = max(float(np.max(np.abs(theirs), initial=0.0)), 1e-12)
    error = float(np.max(np.abs(ours - theirs), initial=0.0))
    if not error <= tol * scale:  # `not <=` also catches NaN
        raise Mismatch(f"{what}: cnnkit and PyTorch differ by {error:.3g} (largest |value| {scale:.3g}, "
                       f"tolerance {tol:g} relative)")


def assert_grads_close(grads: list[tuple[str, Any, Any]], tol: float = GRAD_TOLERANCE) -> None:
    """(name, ours, theirs) for each parameter: raise Mismatch unless ‖ours − theirs‖ ≤ tol · max(‖theirs‖, floor)."""
    import numpy as np

    norms = [float(np.linalg.norm(np.asarray(theirs, dtype=np.float64))) for _, _, theirs in grads]
    floor = GRAD_FLOOR * max(norms, default=0.0)
    for (name, ours, theirs), norm in zip(grads, norms, strict=True):
        ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
        if ours.shape != theirs.shape:
            raise Mismatch(f"gradient of {name}: cnnkit shape {ours.shape} vs PyTorch {theirs.shape}")
        error = float(np.linalg.norm(ours - theirs))
        if not error <= tol * max(norm, floor, 1e-30):
            raise Mismatch(f"gradient of {name}: cnnkit and PyTorch differ by {error:.3g} in norm "
                           f"(PyTorch's gradient norm {norm:.3g}, tolerance {tol:g} relative)")
