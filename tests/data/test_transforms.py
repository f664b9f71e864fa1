"""Batch transforms against straightforward per-image reference loops drawing the same random numbers."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import cnnkit
from cnnkit.data.transforms import (
    CenterCrop,
    Compose,
    Lambda,
    Normalize,
    Pad,
    RandomAffine,
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomShift,
    RandomVerticalFlip,
    Resize,
    ToTensor,
    image_to_float,
)


def batch(rng, shape=(6, 2, 5, 7), dtype=np.float32):
    return rng.random(shape).astype(dtype)


def shifted(image: np.ndarray, dy: int, dx: int, fill: float) -> np.ndarray:
    """Reference translation of one (C, H, W) image, pixel by pixel."""
    c, h, w = image.shape
    out = np.full_like(image, fill)
    for y in range(h):
        for x in range(w):
            if 0 <= y - dy < h and 0 <= x - dx < w:
                out[:, y, x] = image[:, y - dy, x - dx]
    return out


# ------------------------------------------------------------------------------------------------ ToTensor
@pytest.mark.parametrize("shape, batched, layout", [
    ((5, 4), None, "hw"), ((5, 4, 3), None, "hwc"), ((5, 4, 1), None, "hwc"), ((5, 4, 4), None, "hwc"),
    ((6, 5, 7), None, "bhw"), ((2, 5, 4, 3), None, "bhwc"), ((5, 4, 3), True, "bhw"), ((5, 4, 7), False, "hwc"),
])
def test_to_tensor_layouts_and_values(rng, shape, batched, layout):
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    out = image_to_float(pixels, batched=batched)
    reference = pixels[..., None, :, :] if layout in ("hw", "bhw") else np.moveaxis(pixels, -1, -3)
    assert out.shape == reference.shape and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, reference.astype(np.float32) / np.float32(255))
    assert out.min() >= 0 and out.max() <= 1


def test_to_tensor_accepts_pil_and_passes_floats(rng):
    pixels = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(ToTensor()(Image.fromarray(pixels)), pixels.transpose(2, 0, 1) / np.float32(255))
    floats = rng.random((1, 3, 3)).astype(np.float32)
    assert ToTensor()(floats) is floats
    with pytest.raises(TypeError, match=r"ToTensor: expected uint8 or floating images, got dtype int32"):
        ToTensor()(np.zeros((2, 2), np.int32))
    with pytest.raises(ValueError, match=r"ToTensor: expected uint8 images .*got shape \(2,\)"):
        ToTensor()(np.zeros(2, np.uint8))


# ------------------------------------------------------------------------------------------------ Normalize
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_per_channel(rng, dtype):
    x = batch(rng, (4, 3, 2, 5), dtype)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.4)
    out = Normalize(mean, std)(x)
    assert out.dtype == dtype
    for c in range(3):
        np.testing.assert_allclose(out[:, c], (x[:, c] - mean[c]) / std[c], rtol=1e-6)
    np.testing.assert_allclose(Normalize(mean, std)(x[1]), out[1], rtol=1e-6)  # a single image
    assert not np.shares_memory(out, x)


def test_normalize_single_value_for_all_channels_and_inplace(rng):
    x = batch(rng, (2, 3, 2, 2))
    expected = (x - 0.5) / 0.25
    out = Normalize(0.5, 0.25, inplace=True)(x)
    assert out is x
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_normalize_errors(rng):
    with pytest.raises(ValueError, match=r"Normalize: expected input with 3 channels \(mean has 3 values\), "
                                         r"got shape \(2, 1, 4, 4\)"):
        Normalize((0.1, 0.2, 0.3), (1, 1, 1))(np.zeros((2, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"Normalize: std must not contain zeros"):
        Normalize(0.5, (1.0, 0.0))
    with pytest.raises(ValueError, match=r"Normalize: expected an image \(C, H, W\) or a batch \(B, C, H, W\), "
                                         r"got shape \(4, 4\)"):
        Normalize(0.5, 0.5)(np.zeros((4, 4), np.float32))
    with pytest.raises(TypeError, match=r"Normalize: expected floating images \(apply ToTensor first\)"):
        Normalize(0.5, 0.5)(np.zeros((1, 4, 4), np.uint8))


# ------------------------------------------------------------------------------------------------ Pad / crops
@pytest.mark.parametrize("padding, ltrb", [(2, (2, 2, 2, 2)), ((1, 3), (1, 3, 1, 3)), ((0, 1, 2, 3), (0, 1, 2, 3))])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_matches_np_pad_per_image(rng, padding, ltrb, mode):
    x = batch(rng)
    out = Pad(padding, fill=0.25, padding_mode=mode)(x)
    left, top, right, bottom = ltrb
    kwargs = {"constant_values": 0.25} if mode == "constant" else {}
    for b in range(len(x)):
        reference = np.pad(x[b], ((0, 0), (top, bottom), (left, right)), mode=mode, **kwargs)
        np.testing.assert_array_equal(out[b], reference)
    assert out.dtype == np.float32


def test_pad_per_channel_fill_and_errors(rng):
    out = Pad(1, fill=(0.1, 0.9))(batch(rng, (1, 2, 2, 2)))
    assert out[0, 0, 0, 0] == np.float32(0.1) and out[0, 1, 0, 0] == np.float32(0.9)
    with pytest.raises(ValueError, match=r"Pad: padding must be non-negative"):
        Pad(-1)
    with pytest.raises(ValueError, match=r"Pad: padding_mode must be one of"):
        Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match=r"Pad: fill has 3 values for images with 2 channels"):
        Pad(1, fill=(0, 0, 0))(batch(rng, (1, 2, 2, 2)))


@pytest.mark.parametrize("size, padding", [(5, 2), ((4, 6), None), ((5, 7), (1, 2)), (3, 0)])
def test_random_crop_matches_per_image_reference(rng, size, padding):
    x = batch(rng, (8, 2, 5, 7))
    out = RandomCrop(size, padding=padding, fill=0.5, seed=42)(x)
    h, w = (size, size) if isinstance(size, int) else size
    if padding is None:
        padded = x
    else:
        lr, tb = (padding, padding) if isinstance(padding, int) else padding
        padded = np.pad(x, ((0, 0), (0, 0), (tb, tb), (lr, lr)), constant_values=0.5)
    draws = np.random.default_rng(42)  # documented order: tops, then lefts
    top = draws.integers(0, padded.shape[2] - h + 1, size=len(x))
    left = draws.integers(0, padded.shape[3] - w + 1, size=len(x))
    assert out.shape == (8, 2, h, w) and out.dtype == np.float32
    for b in range(len(x)):
        np.testing.assert_array_equal(out[b], padded[b, :, top[b]:top[b] + h, left[b]:left[b] + w])


def test_random_crop_uses_every_offset_independently_per_image():
    x = np.arange(5 * 5, dtype=np.float32).reshape(1, 1, 5, 5).repeat(400, axis=0)
    out = RandomCrop(3, seed=0)(x)
    offsets = {(int(o[0, 0, 0]) // 5, int(o[0, 0, 0]) % 5) for o in out}
    assert offsets == {(i, j) for i in range(3) for j in range(3)}


def test_random_crop_single_image_pad_if_needed_and_errors(rng):
    image = batch(rng, (3, 4, 4))
    assert RandomCrop(2, seed=1)(image).shape == (3, 2, 2)
    np.testing.assert_array_equal(RandomCrop(4)(image), image)  # full size: nothing to choose
    grown = RandomCrop((6, 4), pad_if_needed=True, seed=3)(image)
    assert grown.shape == (3, 6, 4)
    with pytest.raises(ValueError, match=r"RandomCrop: crop size \(33, 33\) is larger than the padded input "
                                         r"\(32, 32\) \(input \(28, 28\), padding \(2, 2, 2, 2\)\)"):
        RandomCrop(33, padding=2)(np.zeros((1, 1, 28, 28), np.float32))


@pytest.mark.parametrize("shape, size, top, left", [((7, 9), 4, 2, 2), ((6, 6), (3, 5), 2, 0), ((5, 5), 5, 0, 0)])
def test_center_crop(rng, shape, size, top, left):
    x = batch(rng, (2, 1) + shape)
    h, w = (size, size) if isinstance(size, int) else size
    np.testing.assert_array_equal(CenterCrop(size)(x), x[:, :, top:top + h, left:left + w])
    with pytest.raises(ValueError, match=r"CenterCrop: crop size \(9, 9\) is larger than the input"):
        CenterCrop(9)(np.zeros((1, 5, 5), np.float32))


# ------------------------------------------------------------------------------------------------ flips
@pytest.mark.parametrize("cls, axis", [(RandomHorizontalFlip, 3), (RandomVerticalFlip, 2)])
def test_flips_match_per_image_reference(rng, cls, axis):
    x = batch(rng, (16, 2, 3, 4))
    out = cls(p=0.5, seed=9)(x)
    chosen = np.random.default_rng(9).random(16) < 0.5
    assert 0 < chosen.sum() < 16
    for b in range(16):
        np.testing.assert_array_equal(out[b], np.flip(x[b], axis=axis - 1) if chosen[b] else x[b])
    np.testing.assert_array_equal(cls(p=0.0)(x), x)
    np.testing.assert_array_equal(cls(p=1.0)(x), np.flip(x, axis=axis))
    assert cls(p=1.0)(x[0]).shape == x[0].shape


# ------------------------------------------------------------------------------------------------ translations
def test_random_shift_matches_per_image_reference(rng):
    x = batch(rng, (10, 2, 5, 6))
    out = RandomShift(2, fill=-1.0, seed=4)(x)
    dy, dx = np.random.default_rng(4).integers(-2, 3, size=(2, 10))
    assert np.abs(dy).max() > 0
    for b in range(10):
        np.testing.assert_array_equal(out[b], shifted(x[b], dy[b], dx[b], -1.0))


def test_random_affine_translate_matches_torchvision_rule(rng):
    x = batch(rng, (12, 1, 10, 8))
    out = RandomAffine(degrees=0, translate=(0.25, 0.1), seed=6)(x)
    draws = np.random.default_rng(6)
    dx = np.rint(draws.uniform(-0.25 * 8, 0.25 * 8, size=12)).astype(int)
    dy = np.rint(draws.uniform(-0.1 * 10, 0.1 * 10, size=12)).astype(int)
    assert np.abs(dx).max() == 2
    for b in range(12):
        np.testing.assert_array_equal(out[b], shifted(x[b], dy[b], dx[b], 0.0))


def test_random_affine_refuses_what_it_cannot_do(rng):
    with pytest.raises(NotImplementedError, match=r"RandomAffine: rotations are not supported"):
        RandomAffine(15)
    with pytest.raises(NotImplementedError, match=r"scale and shear are not supported"):
        RandomAffine(0, scale=(0.9, 1.1))
    with pytest.raises(ValueError, match=r"translate must be a pair of fractions in \[0, 1\]"):
        RandomAffine(0, translate=(2, 0))
    x = batch(rng, (2, 1, 3, 3))
    np.testing.assert_array_equal(RandomAffine(0)(x), x)


# ------------------------------------------------------------------------------------------------ erasing
def erased_box(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, h, w) of the one rectangle in which `after` (C, H, W) differs from `before` in every channel and
    every pixel, everything else unchanged; None when nothing changed. Fails when the change is not one rectangle."""
    changed = (after != before).any(axis=0)
    if not changed.any():
        return None
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    top, left, h, w = rows[0], cols[0], rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert changed.sum() == h * w, "the changed pixels are not one filled rectangle"
    assert (after[:, top:top + h, left:left + w] != before[:, top:top + h, left:left + w]).all()
    return int(top), int(left), int(h), int(w)


def could_be_drawn(h: int, w: int, height: int, width: int, scale, ratio) -> bool:
    """Whether some area fraction in `scale` and aspect ratio in `ratio` round to (h, w), h < H and w < W."""
    area = (max(h - 0.5, 0) * max(w - 0.5, 0) / (height * width), (h + 0.5) * (w + 0.5) / (height * width))
    aspect = (max(h - 0.5, 0) / (w + 0.5), (h + 0.5) / max(w - 0.5, 1e-9))
    return (h < height and w < width and area[0] <= scale[1] and scale[0] <= area[1]
            and aspect[0] <= ratio[1] and ratio[0] <= aspect[1])


def erasing_reference(x: np.ndarray, p, scale, ratio, value, seed) -> np.ndarray:
    """RandomErasing image by image, drawing the documented numbers: torchvision's get_params, try by try."""
    draws = np.random.default_rng(seed)
    b, c, height, width = x.shape
    chosen = np.flatnonzero(draws.random(b) < p)
    k = len(chosen)
    areas = height * width * draws.uniform(scale[0], scale[1], size=(k, 10))
    aspects = np.exp(draws.uniform(np.log(ratio[0]), np.log(ratio[1]), size=(k, 10)))
    boxes = []
    for n in range(k):
        box = (0, 0)
        for t in range(10):
            h = int(round(float(np.sqrt(areas[n, t] * aspects[n, t]))))
            w = int(round(float(np.sqrt(areas[n, t] / aspects[n, t]))))
            if h < height and w < width:
                box = (h, w)
                break
        boxes.append(box)
    tops = draws.integers(0, height - np.array([h for h, _ in boxes], dtype=np.int64) + 1) if k else []
    lefts = draws.integers(0, width - np.array([w for _, w in boxes], dtype=np.int64) + 1) if k else []
    out = x.copy()
    for n, b_index in enumerate(chosen):
        (h, w), i, j = boxes[n], tops[n], lefts[n]
        if h and w:
            fill = draws.standard_normal((c, h, w)).astype(x.dtype) if value == "random" else \
                np.asarray(value, dtype=x.dtype).reshape(-1, 1, 1)
            out[b_index, :, i:i + h, j:j + w] = fill
    return out


def test_erasing_with_p_one_erases_one_rectangle_per_image_within_scale_and_ratio(rng):
    x = 0.5 + batch(rng, (300, 2, 28, 28))  # no pixel is 0
    before = x.copy()
    out = RandomErasing(p=1.0, seed=3)(x)
    np.testing.assert_array_equal(x, before)  # inplace=False: the input is untouched
    assert out.shape == x.shape and out.dtype == np.float32
    sizes = []
    for b in range(300):
        box = erased_box(x[b], out[b])
        assert box is not None, f"image {b} was not erased"
        top, left, h, w = box
        assert (out[b, :, top:top + h, left:left + w] == 0).all()
        assert could_be_drawn(h, w, 28, 28, (0.02, 0.33), (0.3, 3.3)), (h, w)
        sizes.append((h, w))
    h, w = np.array(sizes).T
    fractions = h * w / 784
    assert fractions.min() < 0.05 and fractions.max() > 0.28  # the whole scale range is used
    assert 0.15 < fractions.mean() < 0.20  # U(0.02, 0.33) has mean 0.175
    assert (h > 2 * w).sum() > 30 and (w > 2 * h).sum() > 30  # tall and wide rectangles, about equally often
    assert abs(np.log(h / w).mean()) < 0.2


def test_erasing_outside_scale_or_ratio_is_caught_by_the_check():
    assert could_be_drawn(5, 5, 28, 28, (0.02, 0.33), (0.3, 3.3))
    assert not could_be_drawn(20, 20, 28, 28, (0.02, 0.33), (0.3, 3.3))  # area 0.51
    assert not could_be_drawn(2, 20, 28, 28, (0.02, 0.33), (0.3, 3.3))  # aspect 0.1
    assert not could_be_drawn(28, 3, 28, 28, (0.0, 1.0), (0.01, 100))  # h must be < H


@pytest.mark.parametrize("p, scale, ratio, value", [
    (0.5, (0.02, 0.33), (0.3, 3.3), 0), (1.0, (0.1, 0.9), (0.5, 2.0), (-1.0, 2.0)),
    (0.7, (0.02, 0.33), (0.3, 3.3), "random"), (1.0, (0.5, 0.6), (1.0, 1.0), 7.0),
])
def test_erasing_matches_per_image_reference(rng, p, scale, ratio, value):
    x = batch(rng, (40, 2, 9, 11))
    out = RandomErasing(p, scale, ratio, value, seed=12)(x)
    np.testing.assert_array_equal(out, erasing_reference(x, p, scale, ratio, value, 12))
    assert not np.array_equal(out, x)


def test_erasing_leaves_an_image_unchanged_when_no_try_fits(rng):
    x = batch(rng, (5, 1, 6, 6))
    # area 0.9..1 of a square image at aspect 1: h = w = 6 (or 5.7 -> 6), never < 6
    np.testing.assert_array_equal(RandomErasing(p=1.0, scale=(0.9, 1.0), ratio=(1.0, 1.0))(x), x)


def test_erasing_with_p_zero_changes_nothing_and_p_half_erases_about_half(rng):
    x = 0.5 + batch(rng, (2000, 1, 12, 12))
    np.testing.assert_array_equal(RandomErasing(p=0.0)(x), x)
    for p in (0.5, 0.2):
        out = RandomErasing(p=p, seed=8)(x)
        erased = (out != x).any(axis=(1, 2, 3)).mean()
        assert abs(erased - p) < 0.045  # 4 standard deviations of a binomial share of 2000


def test_erasing_is_repeatable_with_a_seed_and_with_manual_seed(rng):
    x = batch(rng, (30, 3, 8, 8))
    np.testing.assert_array_equal(RandomErasing(seed=5)(x), RandomErasing(seed=5)(x))
    assert not np.array_equal(RandomErasing(seed=5)(x), RandomErasing(seed=6)(x))
    cnnkit.manual_seed(2)
    first = RandomErasing(value="random")(x)
    cnnkit.manual_seed(2)
    np.testing.assert_array_equal(RandomErasing(value="random")(x), first)


def test_erasing_inplace_writes_into_the_input(rng):
    x = 0.5 + batch(rng, (8, 1, 10, 10))
    kept = x.copy()
    out = RandomErasing(p=1.0, inplace=True, seed=1)(x)
    assert out is x and not np.array_equal(x, kept) and (x == 0).any()
    single = kept[0].copy()
    RandomErasing(p=1.0, inplace=True, seed=1)(single)  # one (C, H, W) image: erased in place too
    assert (single == 0).any()


def test_erasing_per_channel_and_random_values(rng):
    x = 5.0 + batch(rng, (50, 3, 10, 10))
    out = RandomErasing(p=1.0, value=[-1.0, -2.0, -3.0], seed=4)(x)
    for b in range(50):
        box = erased_box(x[b], out[b])
        assert box is not None
        top, left, h, w = box
        for c, v in enumerate([-1.0, -2.0, -3.0]):
            assert (out[b, c, top:top + h, left:left + w] == v).all()
    noisy = RandomErasing(p=1.0, value="random", seed=4)(x)
    changed = noisy[noisy != x]
    assert changed.size > 1000 and abs(changed.mean()) < 0.1 and 0.9 < changed.std() < 1.1  # standard normal
    single = RandomErasing(p=1.0, value=(9.0,), seed=4)(x[0])
    assert single.shape == (3, 10, 10) and (single == 9.0).sum() % 3 == 0 and (single == 9.0).any()


def test_erasing_refuses_bad_arguments(rng):
    with pytest.raises(ValueError, match=r"RandomErasing: random erasing probability p should be between 0 and 1"):
        RandomErasing(p=1.5)
    with pytest.raises(ValueError, match=r"RandomErasing: scale should be between 0 and 1"):
        RandomErasing(scale=(0.1, 1.2))
    with pytest.raises(ValueError, match=r"RandomErasing: scale should be of kind \(min, max\)"):
        RandomErasing(scale=(0.3, 0.1))
    with pytest.raises(ValueError, match=r"RandomErasing: ratio should be of kind \(min, max\)"):
        RandomErasing(ratio=(3.3, 0.3))
    with pytest.raises(ValueError, match=r"RandomErasing: ratio should be positive"):
        RandomErasing(ratio=(0, 3))
    with pytest.raises(ValueError, match=r"RandomErasing: scale should be a pair"):
        RandomErasing(scale=(0.1, 0.2, 0.3))
    with pytest.raises(TypeError, match=r"RandomErasing: ratio should be a sequence"):
        RandomErasing(ratio=2.0)
    with pytest.raises(ValueError, match=r"RandomErasing: if value is a str, it should be 'random'"):
        RandomErasing(value="noise")
    with pytest.raises(TypeError, match=r"RandomErasing: value should be a number, 'random' or a sequence"):
        RandomErasing(value={"fill": 0})
    with pytest.raises(ValueError, match=r"RandomErasing: if value is a sequence, it should have either a single "
                                         r"value or 2 \(the number of input channels\)"):
        RandomErasing(value=(0.0, 0.0, 0.0))(batch(rng, (2, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"RandomErasing: expected an image \(C, H, W\) or a batch"):
        RandomErasing()(np.zeros((5, 5), np.float32))
    assert repr(RandomErasing(value="random")) == ("RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), "
                                                   "value='random', inplace=False)")


# ------------------------------------------------------------------------------------------------ randomness
def test_unseeded_transforms_follow_manual_seed(rng):
    x = batch(rng, (20, 1, 6, 6))
    augment = Compose([RandomCrop(6, padding=1), RandomHorizontalFlip()])
    cnnkit.manual_seed(5)
    first = augment(x)
    cnnkit.manual_seed(5)
    np.testing.assert_array_equal(augment(x), first)
    assert not np.array_equal(augment(x), first)


# ------------------------------------------------------------------------------------------------ Resize
def test_resize_size_rules():
    assert Resize(5).output_size(10, 20) == (5, 10)
    assert Resize(5).output_size(20, 10) == (10, 5)
    assert Resize(4).output_size(7, 9) == (4, 5)  # int(4 * 9 / 7)
    assert Resize((3, 8)).output_size(10, 20) == (3, 8)


def test_resize_matches_pillow_per_channel(rng):
    x = batch(rng, (2, 3, 6, 9))
    out = Resize((4, 5))(x)
    assert out.shape == (2, 3, 4, 5) and out.dtype == np.float32
    for b in range(2):
        for c in range(3):
            reference = np.asarray(Image.fromarray(x[b, c]).resize((5, 4), Image.Resampling.BILINEAR))
            np.testing.assert_array_equal(out[b, c], reference)
    flat = Resize(3, interpolation="nearest")(np.full((1, 6, 6), 0.3, np.float32))
    np.testing.assert_allclose(flat, 0.3)
    pil = Resize(2)(Image.fromarray(np.zeros((4, 8), np.uint8)))
    assert isinstance(pil, Image.Image) and pil.size == (4, 2)
    with pytest.raises(ValueError, match=r"Resize: interpolation must be one of"):
        Resize(3, interpolation="cubic-ish")


# ------------------------------------------------------------------------------------------------ Compose / Lambda
def test_compose_applies_in_order_and_lambda(rng):
    x = batch(rng, (2, 1, 4, 4))
    out = Compose([Lambda(lambda v: v + 1), Lambda(lambda v: v * 3), Pad(1)])(x)
    np.testing.assert_allclose(out[:, :, 1:-1, 1:-1], (x + 1) * 3, rtol=1e-6)
    assert out[0, 0, 0, 0] == 0
    assert "Pad" in repr(Compose([Pad(1)]))
    with pytest.raises(TypeError, match=r"Lambda: expected a callable"):
        Lambda(3)
