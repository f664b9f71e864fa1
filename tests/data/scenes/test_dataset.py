"""FashionScenes on a tiny Fashion-MNIST written in IDX: item hold-out, cache, targets, errors; one test on the
real data set when it is installed."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from cnnkit.data import FashionMNIST
from cnnkit.data.joint_transforms import RandomHorizontalFlip
from cnnkit.data.scenes import CLASSES, FashionScenes, grid_collisions, tight_box
from cnnkit.data.scenes import dataset as scenes_dataset
from tests.data.conftest import SYSTEM_FASHION_SPEC
from tests.data.scenes.tiny_items import write_tiny_items

N_TRAIN, N_TEST, HOLD_OUT = 60, 20, 15


@pytest.fixture
def root(tmp_path):
    return write_tiny_items(tmp_path / "data", N_TRAIN, N_TEST)


def scenes(root, split, **kwargs):
    options = {"num_scenes": 12, "val_items": HOLD_OUT} | kwargs
    return FashionScenes(root, split=split, **options)


def test_splits_use_disjoint_items(root):
    train, val, test = (scenes(root, s) for s in ("train", "val", "test"))
    train_items = np.concatenate([train.item_ids(i) for i in range(len(train))])
    val_items = np.concatenate([val.item_ids(i) for i in range(len(val))])
    test_items = np.concatenate([test.item_ids(i) for i in range(len(test))])
    assert train_items.max() < N_TRAIN - HOLD_OUT <= val_items.min() and val_items.max() < N_TRAIN
    assert not set(train_items) & set(val_items)
    assert test_items.max() < N_TEST  # indices into the t10k file
    assert len(set(train_items)) > 10  # the pool is really drawn from


def test_item_classes_match_the_source_labels(root):
    train = scenes(root, "train")
    source = FashionMNIST(root, train=True)
    for i in range(len(train)):
        _, target = train[i]
        assert np.array_equal(target["labels"], source.targets[train.item_ids(i)] + 1)


def test_items_are_images_and_targets_of_the_documented_types(root):
    image, target = scenes(root, "val")[3]
    assert image.dtype == np.float32 and image.shape == (1, 64, 64) and 0 <= image.min() and image.max() <= 1
    assert target["mask"].dtype == np.int64 and target["mask"].shape == (64, 64)
    assert target["boxes"].dtype == np.float32 and target["boxes"].shape[1] == 4
    assert target["labels"].dtype == np.int64 and len(target["labels"]) == len(target["boxes"])
    assert set(np.unique(target["mask"])) <= {0, 255, *target["labels"].tolist()}
    assert FashionScenes.classes == CLASSES and len(CLASSES) == 11


def test_boxes_enclose_exactly_the_visible_pixels_of_their_label(root):
    data = scenes(root, "train", ignore_border=False)
    for i in range(len(data)):
        _, target = data[i]
        for k, box in enumerate(target["boxes"]):
            assert np.array_equal(box, tight_box(data.scenes.instances[i] == k + 1))
            assert np.all(target["mask"][data.scenes.instances[i] == k + 1] == target["labels"][k])
        assert 255 not in target["mask"]


def test_cache_is_reused_and_byte_identical_across_folders(root, tmp_path, monkeypatch):
    first = scenes(root, "test")
    other_root = write_tiny_items(tmp_path / "other", N_TRAIN, N_TEST)
    second = scenes(other_root, "test")
    sha = [
        hashlib.sha256((r / "fashion-scenes-0" / "test.safetensors").read_bytes()).hexdigest()
        for r in (root, other_root)
    ]
    assert sha[0] == sha[1]
    assert np.array_equal(first.masks, second.masks)
    monkeypatch.setattr(scenes_dataset, "generate_scenes", lambda *a, **k: pytest.fail("regenerated"))
    again = scenes(root, "test", num_scenes=5)  # a prefix of the cached 12
    assert len(again) == 5 and np.array_equal(again.images, first.images[:5])
    assert '"scenes": 12' in (root / "fashion-scenes-0" / "scenes.json").read_text()


def test_another_seed_or_clutter_gets_its_own_folder(root):
    plain, other, cluttered = scenes(root, "test"), scenes(root, "test", seed=1), scenes(root, "test", clutter=True)
    assert other.folder.name == "fashion-scenes-1" and cluttered.folder.name == "fashion-scenes-0-clutter"
    assert not np.array_equal(plain.images, other.images)
    assert np.array_equal(plain.scenes.instances, cluttered.scenes.instances)
    assert (cluttered.images[plain.scenes.instances == 0] > 0).mean() > 0.99


def test_a_changed_hold_out_regenerates(root):
    first = scenes(root, "train")
    second = scenes(root, "train", val_items=30)
    assert max(second.item_ids(i).max() for i in range(len(second))) < N_TRAIN - 30
    assert not np.array_equal(first.images, second.images)


def test_cache_goes_to_cnnkit_data_when_no_root(root, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(FashionMNIST, "spec", dataclasses.replace(FashionMNIST.spec, system_dirs=(str(root),)))
    data = FashionScenes(split="test", num_scenes=3)
    assert data.folder == tmp_path / "env" / "fashion-scenes-0" and (data.folder / "test.safetensors").is_file()


def test_transforms_apply_to_image_and_target_together(root):
    plain = scenes(root, "val")
    flipped = scenes(root, "val", transforms=RandomHorizontalFlip(p=1.0))
    image, target = flipped[0]
    assert np.array_equal(image, plain[0][0][:, :, ::-1])
    assert np.array_equal(target["mask"], plain[0][1]["mask"][:, ::-1])
    with pytest.raises(ValueError, match="either transforms= .* not both"):
        scenes(root, "val", transform=lambda x: x, transforms=RandomHorizontalFlip())


def test_bad_arguments_are_refused_clearly(root):
    with pytest.raises(ValueError, match="split must be one of train, val, test, got 'valid'"):
        scenes(root, "valid")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        scenes(root, "train", seed=-1)
    with pytest.raises(ValueError, match="val_items must leave items .* got 60 of the 60 training items"):
        scenes(root, "train", val_items=60)
    with pytest.raises(IndexError, match="index 12 out of range for 12 scenes"):
        scenes(root, "test")[12]


SYSTEM = Path(SYSTEM_FASHION_SPEC.system_dirs[0])


@pytest.mark.skipif(not SYSTEM.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_scenes(tmp_path, monkeypatch):
    monkeypatch.setattr(FashionMNIST, "spec", SYSTEM_FASHION_SPEC)
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))  # the scenes are cached there; the items come from the system
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # copy (an explicit root must hold Fashion-MNIST itself)
    data = FashionScenes(split="test", num_scenes=200)
    assert data.folder == tmp_path / "fashion-scenes-0"
    objects = np.diff(data.scenes.offsets)
    assert objects.min() >= 1 and objects.max() <= 4 and objects.mean() > 2.0
    foreground = ((data.masks > 0) & (data.masks < 255)).mean()
    assert 0.15 < foreground < 0.4  # the scene design: 25-30 % of pixels are foreground
    boxes = [data.scenes.boxes[data.scenes.objects(i)] for i in range(len(data))]
    assert grid_collisions(boxes, 7, 64) < 0.05  # the IoU cap keeps centres apart
