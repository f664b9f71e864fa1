"""The Tensor and the autograd engine: construction, dtypes, grad accumulation, grad mode, graph walking."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit


def test_tensor_defaults_to_float32_and_keeps_ints():
    assert cnnkit.tensor([1.0, 2.0]).dtype == np.float32
    assert cnnkit.tensor(np.zeros(3)).dtype == np.float64  # an array keeps its dtype, as in torch.tensor
    assert cnnkit.Tensor(np.zeros(3)).dtype == np.float32  # the constructor gives float32, as torch.Tensor
    assert cnnkit.tensor([1, 2]).dtype == np.int64
    assert cnnkit.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert cnnkit.from_numpy(np.zeros(3)).dtype == np.float64


def test_tensor_copies_its_data():
    a = np.ones(3, dtype=np.float32)
    t = cnnkit.tensor(a)
    a[0] = 5
    assert t._data[0] == 1


def test_properties_and_item():
    t = cnnkit.tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and len(t) == 2
    assert t.size() == (2, 3) and t.size(1) == 3
    assert cnnkit.tensor([[7.5]]).item() == 7.5
    with pytest.raises(ValueError, match="one element"):
        t.item()
    assert t.numpy() is t._data


def test_only_float_tensors_require_grad():
    with pytest.raises(RuntimeError, match="floating-point"):
        cnnkit.tensor([1, 2], requires_grad=True)


def test_python_scalars_keep_float32():
    x = cnnkit.tensor([1.0, 2.0], requires_grad=True)
    for y in (x * 2.5, 2.5 * x, x + 1, 1 - x, x / 3, 3 / x, x**2, x * np.float64(2.0)):
        assert y.dtype == np.float32


def test_grad_accumulates_across_backward_calls():
    x = cnnkit.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad._data, 2 * x._data + 3)
    x.grad.zero_()
    assert np.all(x.grad._data == 0)


def test_gradient_of_shared_subexpression_is_summed():
    x = cnnkit.tensor([2.0], requires_grad=True)
    y = x * x
    z = y + y * x  # z = x² + x³ → dz/dx = 2x + 3x² = 16
    z.backward()
    assert x.grad.item() == pytest.approx(16.0)


def test_leaf_grad_is_not_aliased_with_other_gradients():
    a = cnnkit.tensor([1.0], requires_grad=True)
    b = cnnkit.tensor([1.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad._data += 10
    assert b.grad.item() == 1.0


def test_backward_needs_scalar_or_gradient():
    x = cnnkit.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()
    y.backward(np.array([1.0, -1.0]))
    np.testing.assert_allclose(x.grad._data, [2.0, -2.0])


def test_backward_twice_without_retain_graph_is_refused():
    x = cnnkit.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(4.0)
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_no_grad_records_nothing_and_restores_mode():
    x = cnnkit.tensor([1.0], requires_grad=True)
    with cnnkit.no_grad():
        y = x * 2
        assert not cnnkit.is_grad_enabled()
    assert cnnkit.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @cnnkit.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad


def test_detach_shares_data_and_cuts_graph():
    x = cnnkit.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    z = (x * d).sum()
    z.backward()
    np.testing.assert_allclose(x.grad._data, d._data)


def test_retain_grad_keeps_intermediate_gradient():
    x = cnnkit.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad._data, 2 * y._data)


def test_deep_graph_does_not_hit_recursion_limit():
    x = cnnkit.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    assert x.grad.item() == pytest.approx(1.0001**5000, rel=1e-3)


def test_inplace_change_of_leaf_requiring_grad_is_refused():
    x = cnnkit.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        x.zero_()
    with cnnkit.no_grad():
        x.fill_(3.0)
    assert x.item() == 3.0


def test_manual_seed_makes_random_tensors_repeatable():
    cnnkit.manual_seed(7)
    a = cnnkit.randn(4, 5)
    cnnkit.manual_seed(7)
    b = cnnkit.randn(4, 5)
    np.testing.assert_array_equal(a._data, b._data)
    assert a.dtype == np.float32
    state = cnnkit.get_rng_state()
    c = cnnkit.rand(3)
    cnnkit.set_rng_state(state)
    np.testing.assert_array_equal(cnnkit.rand(3)._data, c._data)


def test_comparisons_give_bool_tensors_without_grad():
    x = cnnkit.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == np.bool_ and not m.requires_grad
    assert m.tolist() == [False, True, True]


def test_repr_mentions_grad_fn():
    x = cnnkit.tensor([1.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<MulBackward>" in repr(x * 2)


def test_creation_functions():
    assert cnnkit.zeros(2, 3).shape == (2, 3) and cnnkit.ones((4,))._data.sum() == 4
    assert cnnkit.arange(5).dtype == np.int64 and cnnkit.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert cnnkit.full((2,), 3.0).tolist() == [3.0, 3.0]
    assert cnnkit.eye(3)._data.trace() == 3
    assert sorted(cnnkit.randperm(5).tolist()) == [0, 1, 2, 3, 4]
