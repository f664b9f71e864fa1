"""DiffusionUNet: parameter counts, shapes, input checks, and agreement with a PyTorch re-implementation
(time embedding, output and every parameter's gradient within 1e-4)."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.diffusion.embeddings import ClassEmbedding, timestep_features
from cnnkit.diffusion.model import DiffusionUNet
from tests.gradcheck import requires_torch


def count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_default_network_has_about_a_million_parameters_and_keeps_the_shape() -> None:
    net = DiffusionUNet(num_classes=10)
    assert count(net) == 958_209 and count(DiffusionUNet()) == 956_801
    x = cnnkit.randn(2, 1, 28, 28)
    with cnnkit.no_grad():
        out = net(x, np.array([0, 999]), np.array([3, 10]))
    assert out.shape == (2, 1, 28, 28) and out.dtype == np.float32
    assert np.all(out._data == 0)  # the output conv starts at zero: ε̂ = 0 before training


def test_timestep_features_by_hand() -> None:
    f = timestep_features(np.array([0, 5]), 8)  # half 4: freqs 1, 10^(-4/3), 10^(-8/3), 10^-4
    freqs = 10000.0 ** (-np.arange(4) / 3)
    np.testing.assert_allclose(f[0], [0, 0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_allclose(f[1], np.concatenate([np.sin(5 * freqs), np.cos(5 * freqs)]), rtol=1e-6)
    with pytest.raises(ValueError, match="even dim"):
        timestep_features(np.array([1]), 7)


def test_class_embedding_looks_up_rows_and_null() -> None:
    emb = ClassEmbedding(3, 4)
    out = emb(np.array([2, -1, 3]), 3)._data
    np.testing.assert_array_equal(out, emb.weight._data[[2, 3, 3]])
    np.testing.assert_array_equal(emb(None, 2)._data, emb.weight._data[[3, 3]])
    with pytest.raises(ValueError, match=r"class labels in 0 … 2"):
        emb(np.array([4]), 1)


def test_input_checks_name_what_was_expected() -> None:
    net = DiffusionUNet(base_channels=8, channel_mults=(1, 2, 2), num_groups=4)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(cnnkit.randn(1, 1, 30, 30), 0)
    with pytest.raises(ValueError, match="without num_classes"):
        net(cnnkit.randn(1, 1, 8, 8), 0, np.array([1]))
    with pytest.raises(ValueError, match=r"time steps of shape \(1,\)"):
        net(cnnkit.randn(1, 1, 8, 8), np.array([1, 2]))
    with pytest.raises(ValueError, match="num_groups 3 must divide"):
        DiffusionUNet(base_channels=8, num_groups=3)


@requires_torch
def test_time_embedding_output_and_gradients_match_pytorch() -> None:
    import torch

    from tests.diffusion.torch_reference import DiffusionUNet as TorchUNet
    from tests.diffusion.torch_reference import timestep_features as torch_features

    t = np.array([0, 17, 500, 999])
    np.testing.assert_allclose(timestep_features(t, 32), torch_features(torch.tensor(t), 32).numpy(), atol=1e-6)

    cnnkit.manual_seed(3)
    net = DiffusionUNet(base_channels=8, channel_mults=(1, 2), num_classes=3, num_groups=4)
    rng = np.random.default_rng(0)
    for p in net.parameters():  # the zero-initialised output conv would hide differences upstream
        p._data[...] = rng.standard_normal(p.shape).astype(np.float32) * 0.2
    reference = TorchUNet(base=8, mults=(1, 2), num_classes=3, groups=4)
    missing = reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in net.state_dict().items()})
    assert not missing.missing_keys and not missing.unexpected_keys

    x = rng.standard_normal((3, 1, 8, 8)).astype(np.float32)
    y = np.array([0, 2, 3])  # 3 = no label
    projection = rng.standard_normal((3, 1, 8, 8)).astype(np.float32)
    ck_x = cnnkit.tensor(x, requires_grad=True)
    ck_out = net(ck_x, t[:3], y)
    (ck_out * cnnkit.tensor(projection)).sum().backward()
    th_x = torch.tensor(x, requires_grad=True)
    th_out = reference(th_x, torch.tensor(t[:3]), torch.tensor(y))
    (th_out * torch.tensor(projection)).sum().backward()

    np.testing.assert_allclose(ck_out._data, th_out.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ck_x.grad._data, th_x.grad.numpy(), rtol=1e-4, atol=1e-4)
    th_params = dict(reference.named_parameters())
    for name, p in net.named_parameters():
        scale = max(1.0, float(np.abs(th_params[name].grad.numpy()).max()))
        np.testing.assert_allclose(p.grad._data / scale, th_params[name].grad.numpy() / scale, atol=1e-4, err_msg=name)
