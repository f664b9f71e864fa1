"""Small arrays that need no gradient run in plain NumPy (`cnnkit.ops.compiled.numpy_suffices`): the same values as
the compiled loops, and a one-image prediction that never loads numba."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cnnkit
import cnnkit.nn.functional as F
from cnnkit.ops.compiled import NUMPY_BELOW, numpy_suffices


def test_only_small_arrays_without_gradients_skip_the_compiled_loops():
    assert numpy_suffices(NUMPY_BELOW - 1, needs_grad=False)
    assert not numpy_suffices(NUMPY_BELOW, needs_grad=False)
    assert not numpy_suffices(10, needs_grad=True)


def _both_ways(fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """fn on x without a gradient (NumPy) and with one (the compiled loops)."""
    with cnnkit.no_grad():
        plain = fn(cnnkit.tensor(x))._data
    compiled = fn(cnnkit.tensor(x, requires_grad=True))._data
    return plain, compiled


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_max_pooling_agree_with_the_compiled_loops_nan_included(dtype, rng):
    x = rng.standard_normal((2, 3, 7, 6)).astype(dtype)
    x[0, 1, 2, 3] = np.nan
    for fn in (F.relu, lambda t: F.max_pool2d(t, 2)):
        plain, compiled = _both_ways(fn, x)
        np.testing.assert_array_equal(plain, compiled)  # equal, NaN in the same places
    assert np.isnan(_both_ways(lambda t: F.max_pool2d(t, 2), x)[0][0, 1, 1, 1])


def test_average_pooling_and_eval_batch_norm_agree_with_the_compiled_loops(rng):
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    mean, var = rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32)
    gamma, beta = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)

    def norm(t):
        return F.batch_norm(t, cnnkit.tensor(mean), cnnkit.tensor(var), cnnkit.tensor(gamma), cnnkit.tensor(beta),
                            training=False)

    for fn in (norm, lambda t: F.avg_pool2d(t, 2)):
        plain, compiled = _both_ways(fn, x)
        np.testing.assert_allclose(plain, compiled, rtol=1e-6, atol=1e-6)


def test_small_convolutions_without_gradient_agree_with_the_compiled_paths(rng):
    x = rng.standard_normal((1, 8, 9, 10)).astype(np.float32)
    w3 = cnnkit.tensor(rng.standard_normal((8, 8, 3, 3)).astype(np.float32))  # Winograd's shape, were it large
    w2 = cnnkit.tensor(rng.standard_normal((8, 4, 2, 2)).astype(np.float32))  # a U-Net's 2×2 stride-2 upsampling
    bias = cnnkit.tensor(rng.standard_normal(4).astype(np.float32))
    for fn in (lambda t: F.conv2d(t, w3, padding=1), lambda t: F.conv_transpose2d(t, w2, bias, stride=2)):
        plain, compiled = _both_ways(fn, x)
        np.testing.assert_allclose(plain, compiled, rtol=1e-5, atol=1e-5)


# the shipped models' architectures, one image each at their input size
PREDICTIONS = [("fashion_vgg", {}, 28), ("fashion_vgg", {"width": 64}, 28),
               ("unet", {"base_channels": 16, "depth": 4}, 64), ("yolo", {}, 64)]


@pytest.mark.parametrize(("name", "args", "size"), PREDICTIONS, ids=[f"{p[0]}{p[1]}" for p in PREDICTIONS])
def test_a_one_image_prediction_never_loads_numba(name, args, size):
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        import cnnkit
        from cnnkit.models import get_model
        model = get_model({name!r}, **{args!r}).eval()
        with cnnkit.no_grad():
            model(cnnkit.tensor(np.zeros((1, 1, {size}, {size}), np.float32)))
        print("numba" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
