"""In-place ops, slice assignment and views, against PyTorch: values, gradients, versions and the errors raised.

Each case is one function written against the shared API, run once with `cnnkit` and once with `torch`.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import cnnkit

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _np(t):
    return None if t is None else t.detach().numpy().copy()


def both(fn, *shapes, seed=0):
    """Run fn(lib, *leaves) with each library; return [(value, [leaf grads])] for cnnkit then torch."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    results = []
    for lib in (cnnkit, torch):
        leaves = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
        out = fn(lib, *leaves)
        out.backward()
        results.append((_np(out), [_np(leaf.grad) for leaf in leaves]))
    return results


def assert_same(fn, *shapes, seed=0):
    (value, grads), (t_value, t_grads) = both(fn, *shapes, seed=seed)
    np.testing.assert_allclose(value, t_value, rtol=1e-5, atol=1e-5)
    for g, t_g in zip(grads, t_grads, strict=True):
        assert (g is None) == (t_g is None)
        if g is not None:
            np.testing.assert_allclose(g, t_g, rtol=1e-5, atol=1e-5)


def raised(fn, *shapes):
    """The error messages each library raises for fn (backward included), cnnkit's then torch's."""
    messages = []
    for lib in (cnnkit, torch):
        leaves = [lib.ones(s, requires_grad=True) for s in shapes]
        with pytest.raises(RuntimeError) as info:
            fn(lib, *leaves).backward()
        messages.append(str(info.value))
    return messages


VERSION = re.compile(r"is at version (\d+); expected version (\d+)")


def assert_same_version_error(fn, *shapes):
    ours, theirs = raised(fn, *shapes)
    assert "modified by an inplace operation" in ours and "modified by an inplace operation" in theirs
    assert VERSION.search(ours).groups() == VERSION.search(theirs).groups(), (ours, theirs)


# ------------------------------------------------------------------------------------------ slice assignment
def test_the_slice_assignment_of_a_yolo_loss_gives_pytorchs_gradients():
    def fn(lib, pred, other):
        out = pred * 1.0
        out[:, 0] = other[:, 0] * 3
        return (out * out).sum()

    (_, (pred_grad, other_grad)), _ = both(fn, (5, 4), (5, 4))
    assert_same(fn, (5, 4), (5, 4))
    np.testing.assert_array_equal(pred_grad[:, 0], 0)
    rng = np.random.default_rng(0)
    rng.standard_normal((5, 4))
    other = rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(other_grad[:, 0], 18 * other[:, 0], rtol=1e-5)
    np.testing.assert_array_equal(other_grad[:, 1:], 0)


@pytest.mark.parametrize("case", ["number", "row", "broadcast_column", "int_index", "ellipsis", "view_of_view"])
def test_basic_index_assignment(case):
    def fn(lib, x, v):
        a = x * 2
        if case == "number":
            a[1:3, ::2] = 0.5
        elif case == "row":
            a[2] = v[0]
        elif case == "broadcast_column":
            a[:, 1:3] = v[:, :1]  # (4, 1) broadcast over two columns
        elif case == "int_index":
            a[1, 2] = v[0, 0] * 5
        elif case == "ellipsis":
            a[..., -1] = v[:, 0] + v[:, 1]
        else:
            a[1:][::2] = v[:2] * 2  # through a view of a view
        return (a * a.detach().exp()).sum()

    assert_same(fn, (4, 3), (4, 3))


@pytest.mark.parametrize("case", ["list", "tensor_index", "bool_mask", "mixed", "repeated"])
def test_advanced_and_boolean_index_assignment(case):
    def fn(lib, x, v):
        a = x + 1
        if case == "list":
            a[[0, 2]] = v[:2]
        elif case == "tensor_index":
            a[lib.tensor([3, 1])] = v[1]
        elif case == "bool_mask":
            a[a > 1] = 0
            a[lib.tensor([True, False, True, False])] = v[:2] * 3
        elif case == "mixed":
            a[:, [0, 2]] = v[:, 1:]
        else:
            a[[1, 1], [0, 0]] = 7.0  # the same element twice
        return (a * a).sum()

    assert_same(fn, (4, 3), (4, 3))


def test_assignment_into_a_buffer_that_needs_no_grad_makes_it_part_of_the_graph():
    def fn(lib, p, q):
        buf = lib.zeros(4, 3)
        buf[:, 0] = p[:, 0]
        buf[1] = q[0] * 2
        buf[buf > 10] = 1.0
        assert buf.requires_grad and not buf.is_leaf
        return (buf * buf).sum()

    assert_same(fn, (4, 3), (4, 3))


# ------------------------------------------------------------------------------------------ in-place methods
METHODS = {
    "add_": lambda a, w: a.add_(w, alpha=2),
    "sub_": lambda a, w: a.sub_(w),
    "mul_": lambda a, w: a.mul_(w),
    "mul_number": lambda a, w: a.mul_(0.5),
    "div_": lambda a, w: a.div_(w.abs() + 1),
    "clamp_": lambda a, w: a.clamp_(-0.5, 0.7),
    "sqrt_": lambda a, w: a.abs_().sqrt_(),
    "pow_": lambda a, w: a.pow_(2),
    "neg_": lambda a, w: a.neg_(),
    "abs_": lambda a, w: a.abs_(),
    "exp_": lambda a, w: a.exp_(),
    "addcmul_": lambda a, w: a.addcmul_(w, w, value=0.5),
    "addcdiv_": lambda a, w: a.addcdiv_(w, w * w + 1, value=-2),
    "masked_fill_": lambda a, w: a.masked_fill_(w > 0, 3.0),
    "copy_": lambda a, w: a.copy_(w * 3),
    "fill_": lambda a, w: a.fill_(2.0),
    "zero_": lambda a, w: a.zero_(),
    "relu_": lambda a, w: a.relu_(),
    "iadd": lambda a, w: a.__iadd__(w),
    "imul": lambda a, w: a.__imul__(w),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_in_place_method_values_and_gradients(name):
    def fn(lib, x, w, u):
        a = x * 1.5
        result = METHODS[name](a, w)
        assert result is a
        return (a * u).sum()

    assert_same(fn, (3, 4), (3, 4), (3, 4))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_in_place_method_versions_follow_pytorch(name):
    versions = []
    for lib in (cnnkit, torch):
        a = lib.ones(3, 4) * 2
        before = a._version
        METHODS[name](a, lib.full((3, 4), 0.25))
        versions.append(a._version - before)
    assert versions[0] == versions[1]


@pytest.mark.parametrize("kind", ["normal_", "uniform_", "bernoulli_"])
def test_random_fills_are_in_place_with_zero_gradient(kind):
    cnnkit.manual_seed(0)
    for lib in (cnnkit, torch):
        x = lib.ones(2000, requires_grad=True)
        a = x * 1
        getattr(a, kind)() if kind != "uniform_" else a.uniform_(-2, 3)
        (a * 2).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), 0)
        values = a.detach().numpy()
        if kind == "normal_":
            assert abs(values.mean()) < 0.1 and abs(values.std() - 1) < 0.1
        elif kind == "uniform_":
            assert values.min() >= -2 and values.max() < 3 and abs(values.mean() - 0.5) < 0.15
        else:
            assert set(np.unique(values)) <= {0.0, 1.0} and abs(values.mean() - 0.5) < 0.05


def test_an_in_place_op_keeps_a_value_other_ops_still_use_correct():
    def fn(lib, x, w):
        a = x * 2
        b = a + 1  # add saves nothing: a may change afterwards
        c = a.sum()
        d = a.reshape(-1)[:3] * 1  # reshape and slicing save nothing either
        a.mul_(w)  # mul_ needs the old a for w's gradient
        return (a * a).sum() + (b * b).sum() + c + d.sum()

    assert_same(fn, (3, 4), (3, 4))


def test_activation_layers_honour_inplace():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 5)).astype(np.float32)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    layers = {cnnkit: cnnkit.nn, torch: torch.nn}
    results = []
    for lib, nn in layers.items():
        weight = lib.tensor(w, requires_grad=True)
        acts = [nn.ReLU(inplace=True), nn.LeakyReLU(0.2, inplace=True), nn.ELU(inplace=True),
                nn.Hardtanh(inplace=True), nn.ReLU6(inplace=True), nn.SiLU(inplace=True)]
        grads = []
        for act in acts:
            weight.grad = None
            h = lib.tensor(x) @ weight.T
            out = act(h)
            assert out is h  # written into its input
            (out * out).sum().backward()
            grads.append(weight.grad.numpy().copy())
        results.append(grads)
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_residual_block_idiom_runs_as_in_pytorch():
    def fn(lib, x, w):
        out = x @ w
        out = out * 1.5  # stands for a batch norm's output
        out += x  # the shortcut, added in place
        out = lib.nn.functional.relu(out, inplace=True)
        return (out * out).sum()

    assert_same(fn, (4, 4), (4, 4))


# ------------------------------------------------------------------------------------------------------ views
def test_writing_through_a_view_changes_the_base():
    for lib in (cnnkit, torch):
        x = lib.zeros(3, 4)
        x[0].add_(1)
        x[:, 1].mul_(5).add_(2)
        x.view(-1)[5:7].fill_(9)
        x.t()[3].sub_(1)
        v = x[2]
        v[1:3] = 4
        assert x._version == v._version
        x1d = lib.zeros(3)
        x1d[0].add_(3)  # a 0-d view
        assert float(x1d[0]) == 3
    results = []
    for lib in (cnnkit, torch):
        x = lib.zeros(3, 4)
        x[0].add_(1)
        x[:, 1].mul_(5).add_(2)
        x.view(-1)[5:7].fill_(9)
        x.t()[3].sub_(1)
        x[2][1:3] = 4
        results.append(x.numpy())
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("case", ["row", "column_of_transpose", "flat_view", "view_of_view", "stale_view",
                                  "base_changed_after_view", "two_writes"])
def test_gradients_through_views_modified_in_place(case):
    def fn(lib, x, y):
        a = x * 1
        if case == "row":
            a[1].mul_(y[0])
        elif case == "column_of_transpose":
            a.t()[2].mul_(y[:, 2]).add_(1)
        elif case == "flat_view":
            a.view(-1)[2:9].mul_(y.view(-1)[:7])
        elif case == "view_of_view":
            a[1:][:, 1:3].addcmul_(y[1:, :2], y[1:, 1:3])
        elif case == "stale_view":
            v1, v2 = a[0], a[:, 0]  # overlap at a[0, 0]
            v1.mul_(y[0])
            return (v2 * v2).sum() + (a * y).sum()
        elif case == "base_changed_after_view":
            v = a[1:3]
            a.mul_(y)
            return (v * v).sum()
        else:
            v = a[:, 1]
            v.mul_(2)
            a.mul_(y)
            v.add_(y[:, 0])
            return (v * v).sum() + (a * a).sum()
        return (a * a).sum()

    assert_same(fn, (3, 4), (3, 4))


# ----------------------------------------------------------------------------------------------------- errors
def test_in_place_on_a_leaf_that_requires_grad_raises_as_pytorch():
    for lib in (cnnkit, torch):
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            w.add_(1)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            w[0] = 2.0
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            w[[0, 1]] = 2.0
        with lib.no_grad():
            w.mul_(2)
            w[0] = 5.0
        np.testing.assert_array_equal(w.detach().numpy(), [5, 2, 2])


def test_backward_through_a_saved_output_that_was_overwritten_raises():
    assert_same_version_error(lambda lib, x: _bump(x.exp(), 1).sum(), (3,))
    assert_same_version_error(lambda lib, x: _bump(x.sigmoid(), 2).sum(), (3,))
    assert_same_version_error(lambda lib, x: _bump(x.tanh(), 1).sum(), (3,))


def test_backward_through_a_saved_input_that_was_overwritten_raises():
    def mul_then_write(lib, x, w):
        a = x * 1
        b = a * w  # saves a for w's gradient
        a.add_(1)
        return b.sum()

    def write_through_a_view(lib, x, w):
        a = x * 1
        b = a * w
        a[0].zero_()
        return b.sum()

    def write_in_no_grad(lib, x, w):
        b = x * w
        with lib.no_grad():
            x.add_(1)
        return b.sum()

    def write_twice(lib, x, w):
        a = x * 1
        b = a.exp()
        b.mul_(1)
        b.mul_(1)
        return (a * b).sum()

    for fn in (mul_then_write, write_through_a_view, write_in_no_grad, write_twice):
        assert_same_version_error(fn, (3,), (3,))


def test_writes_through_data_or_numpy_are_not_tracked():
    def fn(lib, x, w):
        b = x * w
        w.data.add_(1)  # .data: outside autograd, as in PyTorch
        return b.sum()

    assert_same(fn, (3,), (3,))
    for lib in (cnnkit, torch):
        x = lib.ones(3)
        x.data.add_(1)
        assert x._version == 0
        x.detach().add_(1)  # detach shares the version counter
        assert x._version == 1


def test_unsupported_writes_raise_clear_errors():
    x = cnnkit.ones(1, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        x.expand(4, 3).add_(1)
    with pytest.raises(RuntimeError, match="can't be cast"):
        cnnkit.ones(3, dtype=cnnkit.int64).add_(0.5)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        cnnkit.ones(3).add_(cnnkit.ones(2, 3))
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        cnnkit.ones(3).copy_(cnnkit.ones(2))


def test_a_retained_grad_follows_the_in_place_value():
    for lib in (cnnkit, torch):
        x = lib.ones(3, requires_grad=True)
        a = x * 2
        a.retain_grad()
        a.mul_(3)
        (a * a).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), 2 * 6 * np.ones(3))


def _bump(t, times):
    for _ in range(times):
        t.add_(0)
    return t


def test_an_optimizer_step_between_forward_and_backward_raises_as_pytorch():
    messages = []
    for lib in (cnnkit, torch):
        w = lib.ones(3, requires_grad=True)
        w.grad = lib.ones(3)
        loss = (w * w).sum()
        lib.optim.SGD([w], lr=0.1).step()
        with pytest.raises(RuntimeError, match="modified by an inplace operation") as info:
            loss.backward()
        messages.append(VERSION.search(str(info.value)).groups())
    assert messages[0] == messages[1]


def _basic_block(lib):
    nn = lib.nn

    class Block(nn.Module):  # torchvision's BasicBlock: ReLU(inplace=True) and `out += identity`
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
            self.conv2, self.bn2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += x
            return self.relu(out)

    return Block()


def test_a_residual_block_with_in_place_relu_and_shortcut_matches_pytorch():
    theirs, ours = _basic_block(torch), _basic_block(cnnkit)
    ours.load_state_dict({k: cnnkit.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 6)).astype(np.float32)
    tx, cx = torch.tensor(x, requires_grad=True), cnnkit.tensor(x, requires_grad=True)
    t_out, c_out = theirs(tx), ours(cx)
    (t_out * t_out).sum().backward()
    (c_out * c_out).sum().backward()
    np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-4)
