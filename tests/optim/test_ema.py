"""EMA: the warm-up decays, the average by hand, a frozen copy without parameters, and its state."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.optim.ema import EMA


def test_ema_averages_with_the_warm_up_decay() -> None:
    layer = nn.Linear(3, 2)
    ema = EMA(layer, decay=0.999)
    assert list(ema.parameters()) == [] and set(dict(ema.named_buffers())) == {
        "num_updates",
        "shadow.weight",
        "shadow.bias",
    }
    expected = layer.weight._data.astype(np.float64).copy()
    decays = []
    for step in range(3):
        layer.weight._data[...] = step + 1.0
        decays.append(ema.current_decay())
        ema.update(layer)
        expected = decays[-1] * expected + (1 - decays[-1]) * (step + 1.0)
    assert decays == pytest.approx([1 / 10, 2 / 11, 3 / 12])
    np.testing.assert_allclose(ema.shadow.weight._data, expected, rtol=1e-6)
    assert int(ema.num_updates._data) == 3
    ema.num_updates._data[...] = 100_000
    assert ema.current_decay() == 0.999  # the warm-up ends at the decay
    assert EMA(layer, 0.9, warmup=False).current_decay() == 0.9


def test_ema_copy_runs_like_the_model_and_its_state_round_trips() -> None:
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    ema = EMA(net)
    x = cnnkit.randn(5, 4)
    with cnnkit.no_grad():
        np.testing.assert_array_equal(ema.shadow.eval()(x)._data, net.eval()(x)._data)
    net[1].running_mean._data[...] = 7.0
    ema.update(net)
    np.testing.assert_array_equal(ema.shadow[1].running_mean._data, 7.0)  # buffers are copied, not averaged
    other = EMA(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)))
    other.load_state_dict(ema.state_dict())
    np.testing.assert_array_equal(other.shadow[0].weight._data, ema.shadow[0].weight._data)
    assert int(other.num_updates._data) == 1
    with pytest.raises(ValueError, match="has no matching average"):
        ema.update(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"decay in \[0, 1\)"):
        EMA(net, decay=1.0)
