"""A training step's CPU time split by kind of work (convolution, batch norm, pooling, activations, ...), cnnkit alone.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python docs/tools/step_split.py resnet20 [steps]
    CLOCK=wall python docs/tools/step_split.py resnet20 [steps]       # wall time, every core (a quiet machine)

Runs zero_grad → forward → cross-entropy → backward → SGD step (lr 0.01, momentum 0.9) at batch 128 ($BATCH) under
cProfile with a CPU-time clock, after two warm-up steps. Each function's own time is charged to the kind of the
file it lives in; NumPy and built-in calls are charged to their callers' files (pstats keeps per-caller splits),
and to "other" when the caller is outside cnnkit (mostly NumPy's own Python wrappers). CPU time of one thread is
used because wall time on a shared machine varies by a factor of two from run to run.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time

import numpy as np

sys.path.insert(0, os.getcwd())  # the working tree's cnnkit, not an installed one

import cnnkit  # noqa: E402
import cnnkit.nn.functional as F  # noqa: E402
from cnnkit import optim  # noqa: E402
from cnnkit.models import get_model, model_info  # noqa: E402

KINDS = [  # first match wins: (kind, path fragments)
    ("batch norm", ("ops/norm_kernels.py", "ops/norm.py", "layers/normalization.py")),
    ("pooling", ("ops/pool_kernels.py", "ops/pool.py", "layers/pool")),
    ("activations", ("ops/activation_kernels.py", "ops/activation.py", "layers/activation")),
    ("convolution", ("ops/conv", "ops/im2col.py", "ops/compiled.py", "ops/winograd", "ops/direct")),
    ("elementwise", ("ops/elementwise.py", "ops/broadcast.py")),
    ("loss", ("ops/loss.py",)),
    ("optimizer", ("optim/",)),
    ("linear", ("ops/matmul.py", "layers/linear")),
    ("autograd", ("cnnkit/autograd.py", "cnnkit/tensor.py")),
    ("modules", ("cnnkit/nn/",)),
]


def kind(function: tuple[str, int, str]) -> str | None:
    for name, fragments in KINDS:
        if any(fragment in function[0] for fragment in fragments):
            return name
    return None


def training_step(name: str, batch: int):
    """zero_grad → forward → cross-entropy → backward → SGD step (lr 0.01, momentum 0.9) on a fixed random batch."""
    cnnkit.manual_seed(0)
    model = get_model(name)
    model.train()
    rng = np.random.default_rng(0)
    x = cnnkit.tensor(rng.standard_normal((batch, *model_info(name).input_shape), dtype=np.float32))
    y = cnnkit.tensor(rng.integers(0, 10, size=batch))
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    return step


def split_by(profile: cProfile.Profile, kind_of) -> dict[str, float]:  # noqa: ANN001 - function → kind or None
    """Each function's own time under its kind; NumPy and built-ins (no kind) shared among their callers' kinds."""
    split: dict[str, float] = {}
    for function, (_, _, own, _, callers) in pstats.Stats(profile).stats.items():
        mine = kind_of(function)
        if mine is not None:
            split[mine] = split.get(mine, 0.0) + own
            continue
        total = sum(c[2] for c in callers.values()) or 1.0
        for caller, c in callers.items():
            theirs = kind_of(caller) or "other"
            split[theirs] = split.get(theirs, 0.0) + own * c[2] / total
    return split


def profiled_split(step, steps: int, clock, kind_of) -> dict[str, float]:  # noqa: ANN001
    """Seconds per step by kind, over `steps` calls of `step` under cProfile with `clock`."""
    profile = cProfile.Profile(clock)
    profile.enable()
    for _ in range(steps):
        step()
    profile.disable()
    return {k: v / steps for k, v in split_by(profile, kind_of).items()}


def print_split(title: str, split: dict[str, float], width: int) -> None:
    whole = sum(split.values())
    print(f"{title}, {whole * 1e3:.0f} ms profiled, split by kind:")
    for k, v in sorted(split.items(), key=lambda kv: -kv[1]):
        print(f"  {k:{width}s} {v * 1e3:8.1f} ms  {100 * v / whole:5.1f} %")


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "resnet20"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    batch = int(os.environ.get("BATCH", "128"))
    step = training_step(name, batch)
    for _ in range(2):
        step()
    wall = os.environ.get("CLOCK") == "wall"
    split = profiled_split(step, steps, time.perf_counter if wall else time.process_time, kind)
    print_split(f"{name} b{batch}: {'wall' if wall else 'CPU'} time per step", split, 12)


if __name__ == "__main__":
    main()
