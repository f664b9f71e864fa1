"""`cnnkit.autograd.Function`, `cnnkit.autograd.grad`, `Variable`, and the core tensor API real scripts use,
against PyTorch: comparisons as methods, view_as/reshape_as/expand_as/type_as, minimum/maximum, sign, `.data`."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.autograd import Function

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _function_classes(lib):
    """The same custom ops, written against each library's Function."""
    base = lib.autograd.Function

    class ScaledSquare(base):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x * x * scale

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad[0] and not ctx.needs_input_grad[1]
            return grad * 2 * x * ctx.scale, None

    class MulAdd(base):  # two tensor inputs, two outputs
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b, a + b

        @staticmethod
        def backward(ctx, g_prod, g_sum):
            a, b = ctx.saved_tensors
            return g_prod * b + g_sum, g_prod * a + g_sum

    return ScaledSquare, MulAdd


def test_custom_functions_match_pytorch():
    rng = np.random.default_rng(0)
    a0, b0 = rng.standard_normal((2, 3, 4)).astype(np.float32)
    results = []
    for lib in (cnnkit, torch):
        square, muladd = _function_classes(lib)
        a, b = lib.tensor(a0, requires_grad=True), lib.tensor(b0, requires_grad=True)
        y = square.apply(a, 3.0)
        p, s = muladd.apply(a, b)
        loss = (y * b).sum() + (p * p).sum() + (s * 2).sum()
        loss.backward()
        results.append([loss.detach().numpy(), a.grad.numpy(), b.grad.numpy(), y.detach().numpy()])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_function_errors():
    class WrongCount(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x, y = cnnkit.ones(2, requires_grad=True), cnnkit.ones(2)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        WrongCount.apply(x, y).sum().backward()

    square, _ = _function_classes(cnnkit)
    a = cnnkit.ones(3, requires_grad=True) * 1
    out = square.apply(a, 2.0)
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_function_without_grad_returns_the_forward_result():
    square, _ = _function_classes(cnnkit)
    out = square.apply(cnnkit.ones(2), 2.0)
    assert out.grad_fn is None and not out.requires_grad
    with cnnkit.no_grad():
        assert square.apply(cnnkit.ones(2, requires_grad=True), 2.0).grad_fn is None


def test_non_differentiable_output():
    class ArgmaxAndDouble(Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            return x * 2, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return g * 2

    x = cnnkit.tensor([1.0, 3.0, 2.0], requires_grad=True)
    doubled, idx = ArgmaxAndDouble.apply(x)
    assert not idx.requires_grad and int(idx) == 1
    doubled.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])


def test_autograd_grad_matches_pytorch_and_leaves_grad_alone():
    rng = np.random.default_rng(1)
    x0, w0 = rng.standard_normal((2, 4)).astype(np.float32)
    results = []
    for lib in (cnnkit, torch):
        x, w = lib.tensor(x0, requires_grad=True), lib.tensor(w0, requires_grad=True)
        h = (x * w).exp()
        loss = (h * h).sum()
        gx, gh = lib.autograd.grad(loss, [x, h], retain_graph=True)
        (gw,) = lib.autograd.grad([loss, h.sum()], w, grad_outputs=[lib.tensor(2.0), None] if lib is cnnkit
                                  else [lib.tensor(2.0), lib.tensor(1.0)])
        assert x.grad is None and w.grad is None
        results.append([gx.numpy(), gh.numpy(), gw.numpy()])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_autograd_grad_errors_as_pytorch():
    for lib in (cnnkit, torch):
        x, unused = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad((x * 2).sum(), [x, unused])
        gx, none = lib.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
        assert none is None and np.array_equal(gx.numpy(), [2, 2])
        with pytest.raises(RuntimeError, match="does not require grad"):
            lib.autograd.grad((x * 2).sum(), [lib.ones(2)])
        with pytest.raises(RuntimeError, match="only for scalar outputs"):
            lib.autograd.grad(x * 2, [x])
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        cnnkit.autograd.grad((cnnkit.ones(1, requires_grad=True) * 2).sum(), [cnnkit.ones(1)], create_graph=True)


def test_variable_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning):
        v = cnnkit.autograd.Variable(cnnkit.ones(2), requires_grad=True)
    assert isinstance(v, cnnkit.Tensor) and v.requires_grad


# ------------------------------------------------------------------------------------------ core tensor API
@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_methods(name):
    a0 = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    b0 = np.array([3.0, 2.0, 1.0], dtype=np.float32)
    ours = getattr(cnnkit.tensor(a0), name)(cnnkit.tensor(b0))
    theirs = getattr(torch.tensor(a0), name)(torch.tensor(b0))
    assert ours.dtype == np.bool_
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(getattr(cnnkit.tensor(a0), name)(2.0).numpy(),
                                  getattr(torch.tensor(a0), name)(2.0).numpy())


def test_as_methods():
    x = cnnkit.arange(6.0)
    other = cnnkit.zeros(2, 3)
    assert x.view_as(other).shape == (2, 3) and x.reshape_as(other).shape == (2, 3)
    assert cnnkit.ones(1, 3).expand_as(other).shape == (2, 3)
    assert x.type_as(cnnkit.zeros(1, dtype=cnnkit.float64)).dtype == np.float64
    assert x.type() == torch.arange(6.0).type() == "torch.FloatTensor"
    w = cnnkit.ones(6, requires_grad=True)
    (w.view_as(other) * cnnkit.arange(6.0).view(2, 3)).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.arange(6.0))


def test_minimum_maximum_and_two_tensor_max_min_match_pytorch():
    a0 = np.array([[1.0, 5.0, 2.0], [2.0, -1.0, 4.0]], dtype=np.float32)
    b0 = np.array([[3.0, 5.0, 0.0]], dtype=np.float32)  # a tie, and broadcasting
    results = []
    for lib in (cnnkit, torch):
        a, b = lib.tensor(a0, requires_grad=True), lib.tensor(b0, requires_grad=True)
        outs = [lib.maximum(a, b), lib.minimum(a, b), lib.max(a, b), lib.min(a, b), a.max(b), a.min(b)]
        sum(((o * (k + 1)).sum() for k, o in enumerate(outs)), lib.tensor(0.0)).backward()
        results.append([o.detach().numpy() for o in outs] + [a.grad.numpy(), b.grad.numpy()])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs)


def test_sign_has_zero_gradient():
    for lib in (cnnkit, torch):
        x = lib.tensor([-2.0, 0.0, 3.0], requires_grad=True)
        s = x.sign()
        np.testing.assert_array_equal(s.detach().numpy(), [-1, 0, 1])
        np.testing.assert_array_equal(lib.sign(x).detach().numpy(), [-1, 0, 1])
        (s * x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [-1, 0, 1])


def test_data_is_a_tensor_sharing_memory():
    w = cnnkit.ones(3, requires_grad=True)
    d = w.data
    assert isinstance(d, cnnkit.Tensor) and not d.requires_grad and d.grad_fn is None
    d.mul_(2)  # allowed: .data is outside autograd
    np.testing.assert_array_equal(w.numpy(), [2, 2, 2])
    assert w._version == 0
    w.data = cnnkit.zeros(3)
    np.testing.assert_array_equal(w.numpy(), [0, 0, 0])
    assert w.requires_grad
    p = cnnkit.nn.Parameter(cnnkit.ones(2))
    p.data.copy_(cnnkit.tensor([3.0, 4.0]))  # the common initialisation idiom
    np.testing.assert_array_equal(p.numpy(), [3, 4])
    p.data.normal_(0, 0.01)
    assert np.abs(p.numpy()).max() < 0.1


def test_tensor_of_a_float64_array_keeps_float64_as_pytorch():
    array = np.zeros(3)
    assert cnnkit.tensor(array).dtype == np.float64 == torch.tensor(array).numpy().dtype
    assert cnnkit.tensor([1.0, 2.0]).dtype == np.float32 == torch.tensor([1.0, 2.0]).numpy().dtype
    assert cnnkit.tensor(array, dtype=cnnkit.float32).dtype == np.float32
    assert cnnkit.tensor(np.float64(2.0)).dtype == np.float64 == torch.tensor(np.float64(2.0)).numpy().dtype
    assert cnnkit.Tensor(array).dtype == np.float32  # the Tensor constructor, as torch.Tensor, gives float32


def test_backward_with_inputs_fills_only_their_grad():
    for lib in (cnnkit, torch):
        x, w = lib.ones(2, requires_grad=True), lib.full((2,), 3.0, requires_grad=True)
        h = x * w
        (h * h).sum().backward(inputs=[w, h])
        assert x.grad is None
        np.testing.assert_allclose(w.grad.numpy(), [6, 6])
        np.testing.assert_allclose(h.grad.numpy(), [6, 6])
