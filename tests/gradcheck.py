"""Test helpers: central finite differences in float64, and comparison of cnnkit with PyTorch.

`check_gradients(fn, *arrays)` runs `fn` on float64 cnnkit tensors, back-propagates a random
projection of the output, and compares every input's gradient with (f(x+h) − f(x−h)) / 2h.
`compare_with_torch(ck_fn, torch_fn, *arrays)` runs both frameworks on the same float32 inputs and
compares outputs and gradients within 1e-4 relative. The finite differences are the library's own
(`cnnkit.gradient_check.numeric_gradient`, behind `cnnkit.gradcheck`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

import cnnkit
from cnnkit.gradient_check import numeric_gradient

try:
    import torch

    torch.set_num_threads(2)
    HAVE_TORCH = True
except ImportError:  # the finite-difference checks still run without PyTorch
    HAVE_TORCH = False

requires_torch = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed (pip install torch==2.13.0)")


def _as_output(out):
    return out[0] if isinstance(out, tuple) else out


def check_gradients(fn: Callable[..., cnnkit.Tensor], *arrays: np.ndarray, differentiable: Sequence[int] | None = None,
                    rtol: float = 1e-5, atol: float = 1e-6, seed: int = 0) -> None:
    """Assert that cnnkit's analytic gradients of fn equal float64 finite differences for every input."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    which = range(len(arrays)) if differentiable is None else differentiable
    tensors = [cnnkit.tensor(a, dtype=np.float64, requires_grad=i in which) for i, a in enumerate(arrays)]
    out = _as_output(fn(*tensors))
    assert out.dtype == np.float64, f"op changed float64 to {out.dtype}"
    projection = np.random.default_rng(seed).standard_normal(out.shape)
    (out * cnnkit.tensor(projection, dtype=np.float64)).sum().backward()

    def scalar(values: list[np.ndarray]) -> float:
        with cnnkit.no_grad():
            result = _as_output(fn(*[cnnkit.tensor(v, dtype=np.float64) for v in values]))
        return float((result._data * projection).sum())

    for i in which:
        expected = numeric_gradient(scalar, arrays, i)
        actual = tensors[i].grad._data
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")


def compare_with_torch(ck_fn: Callable, torch_fn: Callable, *arrays: np.ndarray, rtol: float = 1e-4,
                       atol: float = 1e-5, grad_inputs: Sequence[int] | None = None, seed: int = 0) -> None:
    """Assert cnnkit and PyTorch agree on the output and on every input's gradient (float32)."""
    import torch

    arrays = [np.asarray(a) for a in arrays]
    which = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] if grad_inputs is None else list(grad_inputs)
    ck_in = [cnnkit.tensor(a, dtype=a.dtype, requires_grad=i in which) for i, a in enumerate(arrays)]
    th_in = [torch.tensor(a, requires_grad=i in which) for i, a in enumerate(arrays)]
    ck_out = _as_output(ck_fn(*ck_in))
    th_out = _as_output(torch_fn(*th_in))
    assert ck_out.shape == tuple(th_out.shape), f"shape {ck_out.shape} vs torch {tuple(th_out.shape)}"
    assert ck_out.dtype == np.dtype(str(th_out.dtype).replace("torch.", "")), f"dtype {ck_out.dtype} vs {th_out.dtype}"
    np.testing.assert_allclose(ck_out._data, th_out.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    if not which:
        return
    projection = np.random.default_rng(seed).standard_normal(ck_out.shape).astype(np.float32)
    (ck_out * cnnkit.tensor(projection)).sum().backward()
    (th_out * torch.tensor(projection)).sum().backward()
    for i in which:
        np.testing.assert_allclose(ck_in[i].grad._data, th_in[i].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
