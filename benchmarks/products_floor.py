"""The BLAS floor of a training step: cnnkit's convolution products alone, against PyTorch's whole step.

cnnkit's convolutions make four kinds of matrix product, per chunk of the batch (`cnnkit.ops.threads`):
W·cols (forward, and the input gradient of stride-1 layers as a correlation), Wᵀ·dY (input gradient),
dY·colsᵀ (weight gradient), and Winograd's 16 tile products (forward and input gradient of 3×3 stride-1 layers,
`cnnkit.ops.winograd`). `recorded_products` runs one real training step of a model with those product functions
wrapped, and notes the shape of every call; the workload then replays exactly those calls one after another in
the calling thread (BLAS with the benchmark's thread count), on fresh contiguous arrays of the same shapes, and
nothing else: no im2col, no col2im, no Winograd transforms, no batch norm, no Python above them. That is the
products' own cost; the real step runs them on all cores at once, one chunk per thread, so its floor on 2 cores
is about half of it. The PyTorch side is the
model's real training step (`workloads_models`).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.workload import Built, Workload
from benchmarks.workloads_models import TRAIN_BATCH, model_case

MODELS = ("resnet20", "fashion_vgg")
PRODUCTS = {"conv": ("_forward_product", "_adjoint_product", "_weight_product"), "winograd": ("_tile_products",)}


def workloads() -> list[Workload]:
    return [Workload(f"floor {name} b{TRAIN_BATCH}: conv products alone", "model", _builder(name), None, False,
                     {"model": name, "batch": TRAIN_BATCH, "mode": "conv products only"}) for name in MODELS]


def _builder(name: str):
    return lambda torch: floor_case(name, torch)


@contextlib.contextmanager
def _recording(calls: list[tuple[str, list[tuple]]]) -> Iterator[None]:
    """Wrap the convolutions' product functions so that each call appends (function name, [argument shapes])."""
    modules = {name: importlib.import_module(f"cnnkit.ops.{name}") for name in PRODUCTS}
    originals = {(module, name): getattr(modules[module], name) for module, names in PRODUCTS.items() for name in names}

    def wrap(name: str, fn: Callable) -> Callable:
        def recorded(*arrays: Any) -> Any:
            calls.append((name, [a.shape for a in arrays]))
            return fn(*arrays)

        return recorded

    for (module, name), fn in originals.items():
        setattr(modules[module], name, wrap(name, fn))
    try:
        yield
    finally:
        for (module, name), fn in originals.items():
            setattr(modules[module], name, fn)


def recorded_products(step: Callable[[], object]) -> list[tuple[str, list[tuple]]]:
    """(product function, argument shapes) of every convolution product that one call of a cnnkit `step` makes."""
    calls: list[tuple[str, list[tuple]]] = []
    with _recording(calls):
        step()
    return calls


def floor_case(name: str, torch: Any = None) -> Built:
    """cnnkit: the recorded products replayed alone; PyTorch: the model's whole training step."""
    import numpy as np

    whole = model_case(name, TRAIN_BATCH, True, torch)
    calls = recorded_products(whole.cnnkit)  # one real step of the very model the PyTorch twin copies
    rng = np.random.default_rng(0)
    modules = {name: module for module, names in PRODUCTS.items() for name in names}
    replay = [(getattr(importlib.import_module(f"cnnkit.ops.{modules[fn]}"), fn),
               [rng.standard_normal(shape, dtype=np.float32) for shape in shapes]) for fn, shapes in calls]

    def products() -> None:
        for fn, arrays in replay:
            fn(*arrays)

    return Built(products, whole.torch, whole.images, whole.flops)
