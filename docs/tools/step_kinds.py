"""A ResNet-20 training step's wall time split by kind of work: products, layout, batch norm, activations, ...

    python docs/tools/step_kinds.py [model] [steps]

Runs zero_grad → forward → cross-entropy → backward → SGD step at batch 128 on the current thread count, after
three warm-up steps; times `steps` steps plainly, then the same number under cProfile with a wall clock. Each
function's own time is charged to a kind by its name or file; NumPy and built-in calls are charged to their
callers' kinds. cProfile sees the main thread only: the other thread runs its share of each split's chunks
alongside, and the main thread's wait for it shows as "waiting for the other thread".
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # step_split, beside this file
sys.path.insert(0, os.getcwd())  # the working tree's cnnkit, not an installed one

from step_split import print_split, profiled_split, training_step  # noqa: E402

Function = tuple[str, int, str]  # (file, line, name), as pstats keys them
PRODUCTS = ("_forward_product", "_weight_product", "_adjoint_product", "_tile_products")
LAYOUT_FILES = ("im2col.py", "winograd.py", "ops/conv.py", "compiled.py")
PYTHON_FILES = ("autograd.py", "tensor.py", "cnnkit/nn/", "threads.py", "elementwise", "loss.py", "threading.py",
                "concurrent")
KINDS: list[tuple[str, Callable[[Function], bool]]] = [  # first match wins
    ("waiting for the other thread", lambda f: f[2] == "<method 'acquire' of '_thread.lock' objects>"),
    ("products (BLAS)", lambda f: f[2] in PRODUCTS or "matmul" in f[2]),
    ("layout (gathers, scatters, transforms, pads, transposes)", lambda f: any(k in f[0] for k in LAYOUT_FILES)),
    ("batch norm", lambda f: "norm" in f[0]),
    ("activations", lambda f: "activation" in f[0]),
    ("optimizer", lambda f: "optim/" in f[0]),
    ("autograd and Python", lambda f: any(k in f[0] for k in PYTHON_FILES)),
]


def kind(function: Function) -> str | None:
    return next((name for name, test in KINDS if test(function)), None)


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "resnet20"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    step = training_step(name, 128)
    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    plain = (time.perf_counter() - started) / steps
    split = profiled_split(step, steps, time.perf_counter, kind)
    print_split(f"{name} b128: {plain * 1e3:.0f} ms per step not profiled", split, 58)


if __name__ == "__main__":
    main()
