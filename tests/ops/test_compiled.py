"""The compiled-loop machinery: numba stays unloaded until a kernel runs, and a kernel equals its Python loop nest."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from cnnkit.ops.activation_kernels import relu_forward
from cnnkit.ops.conv_depthwise import _forward, is_depthwise
from cnnkit.ops.im2col import _scatter


def test_importing_cnnkit_and_its_cli_does_not_load_numba() -> None:
    code = "import sys, cnnkit, cnnkit.cli, cnnkit.ops.conv; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_scatter_kernel_equals_its_python_loops() -> None:
    rng = np.random.default_rng(0)
    cols = rng.standard_normal((2, 3, 3, 2, 3, 4)).astype(np.float32)  # (N, C, kH, kW, OH, OW)
    args = (2, 1, 1, 2, 1, 0)  # stride (2, 1), dilation (1, 2), padding top 1, left 0
    fast, slow = np.empty((2, 3, 5, 6), np.float32), np.empty((2, 3, 5, 6), np.float32)
    _scatter(cols, fast, *args)
    _scatter.py_func(cols, slow, *args)
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kernel", [(3, 3), (2, 3)])  # the one-pass 3×3 taps, and the tap-by-tap loop
@pytest.mark.parametrize("chunks", [1, 5])  # 5 runs over 12 planes: uneven runs
def test_depthwise_kernel_equals_its_python_loops(kernel: tuple[int, int], chunks: int) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    w = rng.standard_normal((6, 1) + kernel).astype(np.float32)  # multiplier 2
    out = (2, 6, 7 - kernel[0], 5)
    fast, slow = np.full(out, np.nan, np.float32), np.full(out, np.nan, np.float32)
    args = (1, 1, 1, 1, 0, 1, chunks)  # padding left/right 1 only
    _forward(x, w, fast, *args)
    _forward.py_func(x, w, slow, *args)
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5)
    reference = _depthwise_by_definition(x, w, padding=(0, 1))
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-5)


def _depthwise_by_definition(x: np.ndarray, w: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    """y[n, f] = Σ_k Σ_l W[f, 0, k, l] · xp[n, f // M, i + k, j + l] on the zero-padded input, stride 1."""
    per_group = w.shape[0] // x.shape[1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    kh, kw = w.shape[2:]
    oh, ow = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow), np.float32)
    for f in range(w.shape[0]):
        for k in range(kh):
            for l in range(kw):  # noqa: E741
                y[:, f] += w[f, 0, k, l] * xp[:, f // per_group, k : k + oh, l : l + ow]
    return y


def test_depthwise_route_needs_one_input_channel_per_group() -> None:
    assert is_depthwise(8, 8)
    assert not is_depthwise(8, 4)
    assert not is_depthwise(1, 1)  # a plain single-channel conv goes through im2col


def test_kernels_follow_the_blas_thread_count_when_numba_has_none() -> None:
    code = ("import numpy as np; from cnnkit.ops.activation_kernels import relu_forward; "  # a parallel kernel
            "relu_forward(np.zeros(4, np.float32), np.empty(4, np.float32)); "
            "import numba; print(numba.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")}
    env["OPENBLAS_NUM_THREADS"] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "1"


def test_depthwise_phase_layout_places_each_read_pixel_once() -> None:
    from cnnkit.ops.conv_depthwise import _contiguous_run, _layout, _phase_index

    # 7×9 input, 3×3 kernel, stride (2, 1), padding 1: the output is 4×9 and reads a 9×11 padded plane
    hq, wq, span = _layout(4, 9, 3, 3, 2, 1, 1, 1)
    assert (hq, wq, span) == (5, 11, 3 * 11 + 9)
    rows, cols = _phase_index(7, 9, hq, wq, 2, 1, 1, 1)
    places = (rows[:, None] + cols[None, :]).ravel()
    assert len(set(places)) == places.size and places.min() >= 0 and places.max() < 2 * hq * wq
    # padded row 1 (input row 0) is phase 1's row 0; padded row 2 (input row 1) is phase 0's row 1
    assert rows[0] == 1 * hq * wq and rows[1] == 1 * wq
    assert _contiguous_run(cols) == 9 and _contiguous_run(np.array([0, 2, 4])) == -1
    assert _contiguous_run(np.array([3, 4, -1])) == 2 and _contiguous_run(np.array([3, -1, 5])) == -1


def test_a_one_thread_kernel_is_cached_apart_from_the_parallel_one() -> None:
    # numba's cache keys kernels by name and bytecode, not flags: the serial twin must have its own name
    from cnnkit.ops.compiled import _serial_alias, compiled

    alias = _serial_alias(relu_forward.py_func)
    assert alias.__qualname__ == "relu_forward_serial" and alias.__code__.co_name == "relu_forward_serial"
    serial_relu = compiled(relu_forward.py_func, parallel=False)
    x = np.random.default_rng(3).standard_normal(50_000).astype(np.float32)  # several parallel blocks
    fast, serial = np.empty_like(x), np.empty_like(x)
    relu_forward(x, fast)
    serial_relu(x, serial)
    np.testing.assert_array_equal(fast, serial)
    np.testing.assert_array_equal(fast, np.maximum(x, 0))
