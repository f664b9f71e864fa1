"""Tests of cnnkit.autograd's post-accumulate-grad hooks (what data-parallel training listens to)."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import cnnkit
from cnnkit import autograd


def test_hook_sees_the_accumulated_gradient_once_per_backward():
    w = cnnkit.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad._data.copy()))
    (w * w).sum().backward()  # dw = 2w, from two uses of w summed before accumulation: one call
    (w * 3).sum().backward()  # accumulates onto the first: 2w + 3
    assert len(seen) == 2
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])
    np.testing.assert_array_equal(seen[1], [5.0, 7.0])


def test_removed_hook_stops_and_a_dead_tensor_leaves_no_entry():
    w = cnnkit.tensor([1.0], requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    (w * 2).sum().backward()
    handle.remove()
    (w * 2).sum().backward()
    assert calls == [1]
    key = id(w)
    del w, handle
    gc.collect()
    assert key not in autograd._post_accumulate_hooks


def test_hook_on_a_non_leaf_is_refused():
    w = cnnkit.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_hooks_fire_in_backward_order_and_before_earlier_layers_are_done():
    first = cnnkit.tensor([1.0], requires_grad=True)
    second = cnnkit.tensor([2.0], requires_grad=True)
    order = []
    first.register_post_accumulate_grad_hook(lambda t: order.append(("first", second.grad is not None)))
    second.register_post_accumulate_grad_hook(lambda t: order.append(("second", first.grad is not None)))
    ((first * 2).exp() * second).sum().backward()
    # second is used last in forward, so its gradient is ready first; first's is not yet computed then
    assert order == [("second", False), ("first", True)]


def test_a_layers_weight_is_final_before_the_layer_below_runs_backward():
    from cnnkit import nn

    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    events = []
    for name, p in net.named_parameters():
        p.register_post_accumulate_grad_hook(lambda t, name=name: events.append(name))
    net(cnnkit.randn(5, 3)).sum().backward()
    assert events == ["2.bias", "2.weight", "0.bias", "0.weight"]
