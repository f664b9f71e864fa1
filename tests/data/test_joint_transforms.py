"""Joint transforms keep image, masks and boxes aligned: flips, crops, scaling, padding, Compose."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data import transforms as T
from cnnkit.data.joint_transforms import (
    Compose,
    ImageOnly,
    RandomCrop,
    RandomHorizontalFlip,
    RandomScale,
    RandomVerticalFlip,
    Resize,
)
from cnnkit.data.scenes import ItemPool, generate_scenes, tight_box
from tests.data.scenes.tiny_items import make_items


@pytest.fixture(scope="module")
def scenes():
    items, labels = make_items(30, seed=1)
    return generate_scenes(ItemPool(items, labels, np.arange(30)), 6, seed=2)


def sample(scenes, i: int):
    """(image (1, H, W), target with mask, per-object instance masks, boxes, labels) of scene i."""
    objects = scenes.objects(i)
    n = objects.stop - objects.start
    instances = scenes.instances[i]
    target = {
        "mask": scenes.masks()[i].astype(np.int64),
        "boxes": scenes.boxes[objects].copy(),
        "labels": scenes.labels[objects].copy(),
        "masks": np.stack([instances == k + 1 for k in range(n)]).astype(np.uint8),
        "note": "kept",
    }
    return scenes.images[i][None].astype(np.float32) / 255, target


def assert_boxes_are_tight(target):
    for box, mask in zip(target["boxes"], target["masks"], strict=True):
        assert np.array_equal(box, tight_box(mask))


@pytest.mark.parametrize("flip", [RandomHorizontalFlip, RandomVerticalFlip])
def test_flip_twice_is_identity_and_boxes_follow(scenes, flip):
    image, target = sample(scenes, 0)
    once = flip(p=1.0)(image, {k: v for k, v in target.items()})
    assert_boxes_are_tight(once[1])
    assert not np.array_equal(once[0], image)
    twice = flip(p=1.0)(*once)
    assert np.array_equal(twice[0], image)
    for key in ("mask", "boxes", "labels", "masks"):
        assert np.array_equal(twice[1][key], target[key])
    assert twice[1]["note"] == "kept"


def test_crop_boxes_are_the_tight_boxes_of_the_cropped_masks(scenes):
    crop = RandomCrop(40, seed=0)
    dropped = 0
    for i in range(len(scenes)):
        for _ in range(5):
            image, target = sample(scenes, i)
            out_image, out = crop(image, target)
            assert out_image.shape == (1, 40, 40) and out["mask"].shape == (40, 40)
            assert len(out["boxes"]) == len(out["labels"]) == len(out["masks"])
            assert all(m.any() for m in out["masks"])  # no empty object survives
            assert_boxes_are_tight(out)
            dropped += len(target["boxes"]) - len(out["boxes"])
            for mask, label in zip(out["masks"], out["labels"], strict=True):
                assert np.all(out["mask"][mask.astype(bool)] == label) or 255 in out["mask"][mask.astype(bool)]
    assert dropped > 0  # some crops cut objects away entirely


def test_crop_is_the_same_window_of_image_and_mask(scenes):
    image, target = sample(scenes, 1)
    out_image, out = RandomCrop((30, 50), seed=3)(image, target)
    rng = np.random.default_rng(3)
    top, left = int(rng.integers(0, 64 - 30 + 1)), int(rng.integers(0, 64 - 50 + 1))  # the documented draws
    assert np.array_equal(out_image, image[:, top : top + 30, left : left + 50])
    assert np.array_equal(out["mask"], target["mask"][top : top + 30, left : left + 50])


def test_pad_if_needed_fills_the_mask_with_ignore(scenes):
    image, target = sample(scenes, 2)
    out_image, out = RandomCrop(70, pad_if_needed=True, fill=0.5, seed=1)(image, target)
    assert out_image.shape == (1, 70, 70)
    assert (out["mask"] == 255).sum() >= 70 * 70 - 64 * 64
    assert_boxes_are_tight(out)


@pytest.mark.parametrize("size", [(32, 32), (96, 80)])
def test_resize_scales_boxes_and_resamples_masks_nearest(scenes, size):
    image, target = sample(scenes, 3)
    out_image, out = Resize(size)(image, target)
    assert out_image.shape == (1, *size) and out["mask"].shape == size
    assert set(np.unique(out["mask"])) <= set(np.unique(target["mask"]))
    scale = np.array([size[1] / 64, size[0] / 64] * 2)
    assert np.allclose(out["boxes"], target["boxes"] * scale)
    for box, mask in zip(out["boxes"], out["masks"], strict=True):  # within a pixel of the resized mask's box
        assert np.abs(box - tight_box(mask)).max() <= 1.0


def test_random_scale_draws_its_factor_from_the_range(scenes):
    image, target = sample(scenes, 4)
    out_image, out = RandomScale((0.5, 0.75), seed=7)(image, target)
    f = np.random.default_rng(7).uniform(0.5, 0.75)
    assert out_image.shape == (1, round(64 * f), round(64 * f))
    assert out["mask"].shape == out_image.shape[1:]


def test_compose_image_only_and_a_bare_mask_target(scenes):
    image, target = sample(scenes, 5)
    pipeline = Compose([RandomHorizontalFlip(p=1.0), ImageOnly(T.Normalize([0.5], [0.25]))])
    out_image, out_mask = pipeline(image, target["mask"])
    assert isinstance(out_mask, np.ndarray) and np.array_equal(out_mask, target["mask"][:, ::-1])
    assert np.allclose(out_image, (image[:, :, ::-1] - 0.5) / 0.25)


def test_seeded_transforms_repeat(scenes):
    image, target = sample(scenes, 0)
    a = RandomCrop(33, seed=9)(image, dict(target))
    b = RandomCrop(33, seed=9)(image, dict(target))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1]["boxes"], b[1]["boxes"])


def test_mismatched_mask_and_bad_sizes_are_refused(scenes):
    image, target = sample(scenes, 0)
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip: target 'mask' is \(60, 64\) but the image is"):
        RandomHorizontalFlip()(image, {"mask": target["mask"][:60]})
    with pytest.raises(ValueError, match="crop size .* larger than the input"):
        RandomCrop(65)(image, target)
    with pytest.raises(ValueError, match="scale must be"):
        RandomScale((2.0, 1.0))
