"""update_bn: the running statistics against PyTorch's update_bn and by hand, momenta and mode restored, the
loader's item forms, an EMA's shadow, and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.optim.ema import EMA
from cnnkit.optim.swa_utils import update_bn


def small_net() -> nn.Sequential:
    cnnkit.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3, momentum=0.3), nn.ReLU(),
                         nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))


def batches(seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)  # uneven sizes: the cumulative average is over batches, not images
    return [rng.normal(2.0, 3.0, size=(n, 2, 6, 6)).astype(np.float32) for n in (5, 3, 4)]


def test_update_bn_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    from torch.optim.swa_utils import update_bn as torch_update_bn

    net = small_net()
    ours = dict(net.state_dict())
    ref = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.BatchNorm2d(3, momentum=0.3),
                              torch.nn.ReLU(), torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    ref.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.items()})
    net.eval(), ref.eval()
    data = batches()
    update_bn([(x, np.zeros(len(x))) for x in data], net)
    torch_update_bn([(torch.from_numpy(x), torch.zeros(len(x))) for x in data], ref)
    for name, value in ref.state_dict().items():
        np.testing.assert_allclose(np.array(net.state_dict()[name]), value.numpy(), rtol=1e-5, atol=1e-5,
                                   err_msg=name)
    assert not net.training and net[1].momentum == 0.3 and net[4].momentum == 0.1
    assert int(net[1].num_batches_tracked._data) == 3


def test_update_bn_is_the_average_of_the_batch_statistics() -> None:
    layer = nn.BatchNorm2d(2)
    layer.running_mean._data[...] = 50.0  # stale statistics must not leak into the result
    data = batches()
    update_bn(iter(data), layer)
    means = [x.mean(axis=(0, 2, 3)) for x in data]
    variances = [x.var(axis=(0, 2, 3), ddof=1) for x in data]  # unbiased per batch, as training updates them
    np.testing.assert_allclose(layer.running_mean._data, np.mean(means, axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.running_var._data, np.mean(variances, axis=0), rtol=1e-5)
    assert layer.training  # it was training before, so it still is


def test_update_bn_on_an_ema_shadow_replaces_the_copied_statistics() -> None:
    net = small_net()
    ema = EMA(net)
    net[1].running_mean._data[...] = 9.0
    ema.update(net)
    assert np.all(ema.shadow[1].running_mean._data == 9.0)
    data = [cnnkit.tensor(x) for x in batches()]
    update_bn(data, ema.shadow)
    with cnnkit.no_grad():
        hidden = [ema.shadow[0](x)._data for x in data]
    expected = np.mean([h.mean(axis=(0, 2, 3)) for h in hidden], axis=0)
    np.testing.assert_allclose(ema.shadow[1].running_mean._data, expected, rtol=1e-4, atol=1e-6)


def test_update_bn_leaves_models_without_running_statistics_alone() -> None:
    def untouchable():
        raise AssertionError("the loader must not be read")
        yield

    update_bn(untouchable(), nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2, track_running_stats=False)))
    with pytest.raises(ValueError, match="runs on the CPU"):
        update_bn([], small_net(), device="cuda")
