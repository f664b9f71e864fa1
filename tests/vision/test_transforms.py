"""cnnkit.vision.transforms on PIL images, uint8 arrays and Tensors: values against formulas, Pillow and colorsys,
the same pixels whatever the kind of image, and torchvision's random draws from cnnkit's generator."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from PIL import Image, ImageEnhance

import cnnkit
from cnnkit.vision import transforms as T
from cnnkit.vision.transforms import functional as F


@pytest.fixture
def rgb(rng):
    return rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)


def kinds(pixels: np.ndarray):
    """The same picture as a PIL image, a uint8 array and a float Tensor."""
    return Image.fromarray(pixels), pixels, F.to_tensor(pixels)


def as_hwc_float(img) -> np.ndarray:
    if isinstance(img, cnnkit.Tensor):
        return img.numpy().transpose(1, 2, 0)
    return np.asarray(img).astype(np.float32).reshape(np.asarray(img).shape[:2] + (-1,)) / 255


def assert_same_picture(outputs, atol=1e-6):
    first = as_hwc_float(outputs[0])
    for other in outputs[1:]:
        np.testing.assert_allclose(as_hwc_float(other), first, atol=atol)


def test_to_tensor_scales_uint8_and_keeps_float(rgb):
    for img in (Image.fromarray(rgb), rgb):
        x = T.ToTensor()(img)
        assert x.dtype == np.float32 and x.shape == (3, 6, 9)
        np.testing.assert_array_equal(x.numpy(), rgb.transpose(2, 0, 1).astype(np.float32) / 255)
    gray = T.ToTensor()(Image.fromarray(rgb[:, :, 0]))
    assert gray.shape == (1, 6, 9)
    as_float = T.ToTensor()(rgb.astype(np.float64) / 7)
    assert as_float.dtype == np.float64  # torchvision only scales uint8
    np.testing.assert_array_equal(T.PILToTensor()(Image.fromarray(rgb)).numpy(), rgb.transpose(2, 0, 1))
    back = T.ToPILImage()(T.ToTensor()(Image.fromarray(rgb)))
    assert np.abs(np.asarray(back).astype(int) - rgb).max() <= 1


@pytest.mark.torch
def test_normalize_matches_torch_arithmetic(rgb):
    torch = pytest.importorskip("torch")
    x = T.ToTensor()(rgb)
    mean, std = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
    ours = T.Normalize(mean, std)(x)
    t = torch.from_numpy(x.numpy().copy())
    theirs = (t - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize(mean, std)(cnnkit.tensor(rgb.transpose(2, 0, 1), dtype=np.uint8))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_matches_numpy_in_every_kind(rgb, mode):
    outputs = [F.pad(img, [1, 2, 3, 0], fill=0, padding_mode=mode) for img in kinds(rgb)]
    expected = np.pad(rgb, ((2, 0), (1, 3), (0, 0)), mode=mode)
    np.testing.assert_array_equal(np.asarray(outputs[0]), expected)
    assert_same_picture(outputs)


def test_random_crop_with_padding_draws_top_then_left(rgb):
    transform = T.RandomCrop((4, 5), padding=2)
    outputs = []
    for img in kinds(rgb):
        cnnkit.manual_seed(3)
        outputs.append(transform(img))
    cnnkit.manual_seed(3)
    g = cnnkit.random.default_generator()
    top, left = int(g.integers(0, 10 - 4 + 1)), int(g.integers(0, 13 - 5 + 1))
    padded = np.pad(rgb, ((2, 2), (2, 2), (0, 0)))
    np.testing.assert_array_equal(np.asarray(outputs[0]), padded[top:top + 4, left:left + 5])
    assert_same_picture(outputs)
    with pytest.raises(ValueError, match="larger than the input image size"):
        T.RandomCrop(10)(rgb)
    assert T.RandomCrop(12, pad_if_needed=True)(rgb).shape == (12, 12, 3)


def test_horizontal_and_vertical_flips(rgb):
    always, never = T.RandomHorizontalFlip(p=1.0), T.RandomHorizontalFlip(p=0.0)
    outputs = [always(img) for img in kinds(rgb)]
    np.testing.assert_array_equal(np.asarray(outputs[0]), rgb[:, ::-1])
    assert_same_picture(outputs)
    np.testing.assert_array_equal(never(rgb), rgb)
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(rgb), rgb[::-1])


def test_center_crop_rounds_as_torchvision_and_pads_small_images(rgb):
    outputs = [T.CenterCrop((3, 4))(img) for img in kinds(rgb)]
    top, left = int(round((6 - 3) / 2)), int(round((9 - 4) / 2))  # 2 and 2 (round half to even)
    np.testing.assert_array_equal(np.asarray(outputs[0]), rgb[top:top + 3, left:left + 4])
    assert_same_picture(outputs)
    big = T.CenterCrop(10)(rgb)
    assert big.shape == (10, 10, 3) and big[0].sum() == 0
    np.testing.assert_array_equal(big[2:8, 0:9], rgb)


def test_resize_uses_pillow_and_torchvision_size_rule(rgb):
    pil = Image.fromarray(rgb)
    out = T.Resize(4)(pil)  # shorter edge (height 6) → 4, width int(4·9/6) = 6
    assert out.size == (6, 4)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(pil.resize((6, 4), Image.BILINEAR)))
    np.testing.assert_array_equal(T.Resize((3, 5))(rgb), np.asarray(pil.resize((5, 3), Image.BILINEAR)))
    x = T.Resize((3, 5))(F.to_tensor(rgb))
    assert x.shape == (3, 3, 5)
    np.testing.assert_allclose(x.numpy()[0] * 255, np.asarray(pil.resize((5, 3), Image.BILINEAR))[:, :, 0], atol=1.0)
    flat = T.Resize(7)(cnnkit.tensor(np.full((1, 4, 4), 0.25, np.float32)))
    np.testing.assert_allclose(flat.numpy(), 0.25, atol=1e-6)


def test_random_resized_crop_output_size_and_window(rgb):
    cnnkit.manual_seed(0)
    out = T.RandomResizedCrop(8, scale=(0.5, 1.0))(Image.fromarray(rgb))
    assert out.size == (8, 8)
    top, left, h, w = T.RandomResizedCrop.get_params(rgb, (0.5, 1.0), (3 / 4, 4 / 3))
    assert 0 <= top <= 6 - h and 0 <= left <= 9 - w and 0.5 * 54 * 0.7 <= h * w <= 54


def test_brightness_contrast_saturation_on_tensors_follow_the_formulas(rgb):
    x = F.to_tensor(rgb).numpy()
    gray = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    np.testing.assert_allclose(F.adjust_brightness(cnnkit.tensor(x), 1.5).numpy(), np.clip(1.5 * x, 0, 1), atol=1e-6)
    np.testing.assert_allclose(F.adjust_contrast(cnnkit.tensor(x), 0.5).numpy(),
                               np.clip(0.5 * x + 0.5 * gray.mean(), 0, 1), atol=1e-6)
    np.testing.assert_allclose(F.adjust_saturation(cnnkit.tensor(x), 0.0).numpy(), np.broadcast_to(gray, x.shape),
                               atol=1e-6)


def test_colour_ops_on_pil_are_pillows(rgb):
    pil = Image.fromarray(rgb)
    np.testing.assert_array_equal(np.asarray(F.adjust_brightness(pil, 1.3)),
                                  np.asarray(ImageEnhance.Brightness(pil).enhance(1.3)))
    np.testing.assert_array_equal(F.adjust_saturation(rgb, 0.4), np.asarray(ImageEnhance.Color(pil).enhance(0.4)))
    np.testing.assert_array_equal(np.asarray(F.rgb_to_grayscale(pil)), np.asarray(pil.convert("L")))


def test_hue_shift_on_tensors_matches_colorsys(rgb):
    x = F.to_tensor(rgb).numpy()
    out = F.adjust_hue(cnnkit.tensor(x), 0.2).numpy()
    for (i, j) in [(0, 0), (2, 5), (5, 8)]:
        h, s, v = colorsys.rgb_to_hsv(*x[:, i, j])
        expected = colorsys.hsv_to_rgb((h + 0.2) % 1.0, s, v)
        np.testing.assert_allclose(out[:, i, j], expected, atol=1e-5)
    np.testing.assert_allclose(F.adjust_hue(cnnkit.tensor(x), 0.0).numpy(), x, atol=1e-5)
    with pytest.raises(ValueError, match="hue_factor"):
        F.adjust_hue(cnnkit.tensor(x), 0.7)


def test_color_jitter_draws_order_then_factors(rgb):
    jitter = T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    x = F.to_tensor(rgb)
    cnnkit.manual_seed(9)
    out = jitter(x)
    cnnkit.manual_seed(9)
    order, b, c, s, h = T.ColorJitter.get_params(jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue)
    assert sorted(order.tolist()) == [0, 1, 2, 3] and 0.6 <= b <= 1.4 and -0.1 <= h <= 0.1
    expected = x
    for index in order:
        expected = [lambda im: F.adjust_brightness(im, b), lambda im: F.adjust_contrast(im, c),
                    lambda im: F.adjust_saturation(im, s), lambda im: F.adjust_hue(im, h)][index](expected)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-6)
    assert isinstance(jitter(Image.fromarray(rgb)), Image.Image)
    with pytest.raises(ValueError, match="brightness"):
        T.ColorJitter(brightness=-1)


def test_grayscale_three_channels_and_random_erasing(rgb):
    g = T.Grayscale(3)(F.to_tensor(rgb))
    np.testing.assert_array_equal(g.numpy()[0], g.numpy()[2])
    x = cnnkit.tensor(np.ones((3, 20, 20), np.float32))
    cnnkit.manual_seed(1)
    erased = T.RandomErasing(p=1.0, value=0.0)(x).numpy()
    zeros = erased[0] == 0
    rows, cols = np.flatnonzero(zeros.any(1)), np.flatnonzero(zeros.any(0))
    assert zeros.sum() == len(rows) * len(cols)  # one rectangle
    assert 0.02 * 400 * 0.5 <= zeros.sum() <= 0.33 * 400 * 1.5 and (erased[1] == 0).sum() == zeros.sum()
    assert np.all(x.numpy() == 1)  # not in place by default
    with pytest.raises(TypeError, match="Tensor image"):
        T.RandomErasing(p=1.0)(rgb)


def test_compose_lambda_and_a_full_cifar_pipeline(rgb):
    pipeline = T.Compose([T.RandomCrop(6, padding=2), T.RandomHorizontalFlip(), T.ColorJitter(0.2, 0.2, 0.2),
                          T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3), T.RandomErasing(),
                          T.Lambda(lambda t: t * 2)])
    out = pipeline(Image.fromarray(rgb))
    assert out.shape == (3, 6, 6) and out.dtype == np.float32 and np.abs(out.numpy()).max() <= 2.0 + 1e-6
