"""Grad-CAM and saliency: a hand-computed Grad-CAM, PyTorch's gradients, the model left untouched, the figures."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.viz.explain import default_cam_layer, grad_cam, saliency
from cnnkit.viz.explain_figure import plot_explanation, plot_explanations
from tests.gradcheck import requires_torch
from tests.viz.png import read_png


def tiny_model() -> nn.Module:
    """conv 3×3 (pad 1) → ReLU → global average → linear: y = W · mean_ij(A) + b, so ∂y_c/∂A_kij = W_ck / hw."""
    cnnkit.manual_seed(3)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(3, 4))


def by_hand(model: nn.Module, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A, logits, weights W) with the convolution written out as a sum over the kernel's nine offsets."""
    conv, linear = model[0], model[4]
    kernel, bias = conv.weight._data.astype(np.float64), conv.bias._data.astype(np.float64)
    padded = np.pad(image[0].astype(np.float64), 1)
    h, w = image.shape[1:]
    z = np.stack([bias[k] + sum(kernel[k, 0, i, j] * padded[i:i + h, j:j + w] for i in range(3) for j in range(3))
                  for k in range(3)])
    a = np.maximum(z, 0)
    weights = linear.weight._data.astype(np.float64)
    return a, weights @ a.mean(axis=(1, 2)) + linear.bias._data, weights


def image(seed: int = 0, shape: tuple[int, ...] = (1, 6, 5)) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("target", [None, 0, 2])
def test_grad_cam_equals_the_hand_computed_one(target) -> None:
    model, x = tiny_model(), image()
    a, logits, weights = by_hand(model, x)
    c = int(np.argmax(logits)) if target is None else target
    alpha = weights[c] / a[0].size  # ∂y_c/∂A_kij, the same at every position
    cam = np.maximum(np.tensordot(alpha, a, axes=1), 0)
    result = grad_cam(model, "1", x, target)
    assert result.target == c and result.layer == "1"
    np.testing.assert_allclose(result.activations, a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.gradients, np.broadcast_to(alpha[:, None, None], a.shape), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(result.weights, alpha, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(result.cam, cam, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(result.heatmap, cam / cam.max(), rtol=1e-4, atol=1e-6)  # same size: no resizing
    p = np.exp(logits - logits.max())
    assert result.probability == pytest.approx(p[c] / p.sum(), rel=1e-5)


def test_the_heatmap_is_resized_bilinearly_to_the_image() -> None:
    cnnkit.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(2, 3, 3, padding=1),
                          nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    result = grad_cam(model, "4", image(1, (1, 8, 8)))
    assert result.cam.shape == (4, 4) and result.heatmap.shape == (8, 8)
    assert result.heatmap.max() == pytest.approx(1.0) and result.heatmap.min() >= 0
    # align_corners=False: output pixel (0, 0) samples the map at (-0.25, -0.25), clamped to cam[0, 0]
    assert result.heatmap[0, 0] == pytest.approx(result.cam[0, 0] / result.cam.max(), rel=1e-5)


def test_saliency_is_the_largest_absolute_input_gradient_over_channels() -> None:
    model, x = tiny_model(), image()
    _, logits, weights = by_hand(model, x)
    result = saliency(model, x)
    assert result.target == int(np.argmax(logits)) and result.gradient.shape == x.shape
    assert result.heatmap.shape == (6, 5) and result.heatmap.max() == pytest.approx(1.0)
    np.testing.assert_allclose(result.heatmap, np.abs(result.gradient[0]) / np.abs(result.gradient[0]).max(),
                               rtol=1e-6)


def test_explaining_leaves_the_model_as_it_was() -> None:
    model = tiny_model().train()
    model[4].weight.requires_grad_(False)
    grad_cam(model, "1", image())
    saliency(model, image())
    assert model.training and all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert [p.requires_grad for p in model.parameters()] == [True, True, False, True]


def test_bad_layers_and_targets_are_named() -> None:
    with pytest.raises(ValueError, match=r"layer '4' gives \(1, 4\), not feature maps"):
        grad_cam(tiny_model(), "4", image())
    with pytest.raises(ValueError, match="target 7 is not a class index \\(the model has 4 classes\\)"):
        saliency(tiny_model(), image(), target=7)
    with pytest.raises(ValueError, match="has no layer 'conv9'"):
        grad_cam(tiny_model(), "conv9", image())


def test_the_default_layer_is_the_last_activation_with_feature_maps() -> None:
    from cnnkit.models import get_model

    assert default_cam_layer(get_model("fashion_vgg"), image(0, (1, 28, 28))) == "features.16"
    assert default_cam_layer(get_model("resnet20"), image(0, (3, 32, 32))) == "layer3.2.relu"
    assert default_cam_layer(tiny_model(), image()) == "1"


@requires_torch
@pytest.mark.torch
def test_the_gradients_grad_cam_uses_match_pytorch() -> None:
    import torch

    cnnkit.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 5))
    model[1].running_mean._data[...] = [0.1, -0.2, 0.3, 0.0]
    model[1].running_var._data[...] = [1.5, 0.5, 2.0, 1.0]
    reference = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                    torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.ReLU(),
                                    torch.nn.Flatten(), torch.nn.Linear(6 * 4 * 4, 5))
    reference.load_state_dict({k: torch.tensor(v._data) for k, v in model.state_dict().items()})
    reference.eval()
    x = image(2, (2, 8, 8))
    target = 3
    cam, sal = grad_cam(model, "5", x, target), saliency(model, x, target)

    tx = torch.tensor(x[None], requires_grad=True)
    captured = {}

    def keep(module, args, output) -> None:
        output.retain_grad()
        captured["a"] = output

    reference[5].register_forward_hook(keep)
    reference(tx)[0, target].backward()
    a = captured["a"]
    np.testing.assert_allclose(cam.activations, a[0].detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cam.gradients, a.grad[0].numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(sal.gradient, tx.grad[0].numpy(), rtol=1e-4, atol=1e-6)
    weights = a.grad[0].mean(dim=(1, 2))
    expected = torch.relu((weights[:, None, None] * a[0]).sum(0)).detach().numpy()
    np.testing.assert_allclose(cam.cam, expected, rtol=1e-4, atol=1e-6)


def test_the_figures_show_the_heat_map_over_the_image(tmp_path) -> None:
    model, x = tiny_model(), image(0, (1, 12, 12))
    cam = grad_cam(model, "1", x)
    path = plot_explanation(x, cam, ["a", "b", "c", "d"], tmp_path / "x.cam.png")
    pixels = read_png(path, (320, 350))
    red, blue = pixels[..., 0] - pixels[..., 2], pixels[..., 2] - pixels[..., 0]
    assert red.max() > 100 and blue.max() > 100  # jet's hot and cold ends over a grey image
    grid = plot_explanations([x, x], [cam, cam], [saliency(model, x)] * 2, [0, cam.target], list("abcd"),
                             tmp_path / "grid.png", "two")
    read_png(grid, (300, 360))
