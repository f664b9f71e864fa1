"""The scene generator on tiny items: same seed same bytes, masks and boxes agree, the placement rules hold."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data.scenes import ItemPool, SceneConfig, box_iou, generate_scenes, tight_box
from cnnkit.data.scenes.cache import digest
from cnnkit.data.scenes.compose import try_place
from tests.data.scenes.tiny_items import make_items

COUNT = 40


@pytest.fixture(scope="module")
def pool() -> ItemPool:
    items, labels = make_items(50, seed=3)
    return ItemPool(items, labels, np.arange(100, 150))


@pytest.fixture(scope="module")
def scenes(pool):
    return generate_scenes(pool, COUNT, seed=5)


def test_same_seed_same_bytes_and_another_seed_other_bytes(pool, scenes):
    assert digest(generate_scenes(pool, COUNT, seed=5)) == digest(scenes)
    assert digest(generate_scenes(pool, COUNT, seed=6)) != digest(scenes)
    assert digest(generate_scenes(pool, COUNT, seed=5, stream=1)) != digest(scenes)


def test_a_shorter_run_is_a_prefix_of_a_longer_one(pool, scenes):
    assert digest(generate_scenes(pool, 7, seed=5)) == digest(scenes.head(7))


def test_each_box_is_the_tight_box_of_its_visible_pixels(scenes):
    for i in range(len(scenes)):
        objects = scenes.objects(i)
        boxes, n = scenes.boxes[objects], objects.stop - objects.start
        assert 1 <= n <= 4
        assert scenes.instances[i].max() == n
        for k in range(n):
            assert np.array_equal(boxes[k], tight_box(scenes.instances[i] == k + 1))


def test_mask_labels_agree_with_objects_and_background_stays_black(scenes):
    masks = scenes.masks(ignore_border=False)
    for i in range(len(scenes)):
        labels = scenes.labels[scenes.objects(i)]
        for k, label in enumerate(labels):
            assert np.all(masks[i][scenes.instances[i] == k + 1] == label)
        assert np.all(masks[i][scenes.instances[i] == 0] == 0)
        assert np.all(scenes.images[i][scenes.instances[i] == 0] == 0)  # no clutter: only items are drawn
    assert set(np.unique(scenes.labels)) <= set(range(1, 11))


def test_pairwise_box_iou_at_most_the_cap(scenes):
    worst = 0.0
    for i in range(len(scenes)):
        boxes = scenes.boxes[scenes.objects(i)]
        iou = box_iou(boxes, boxes)
        np.fill_diagonal(iou, 0)
        worst = max(worst, float(iou.max(initial=0)))
    assert worst <= 0.2
    assert len(scenes.labels) > 1.5 * len(scenes)  # the rules still let most drawn items in


def test_ignore_band_surrounds_objects_only(scenes):
    masks = scenes.masks()
    band = masks == 255
    assert band.any()
    assert not np.any(band & (scenes.instances == 0) & (scenes.masks(ignore_border=False) != 0))
    for i in range(len(scenes)):  # the topmost item keeps all its pixels
        top = scenes.instances[i].max()
        assert not band[i][scenes.instances[i] == top].any()


def test_a_placement_hiding_half_an_item_is_refused():
    config = SceneConfig(size=16)
    instances = np.zeros((16, 16), dtype=np.uint8)
    instances[2:8, 2:8] = 1  # area 36
    placed, areas = [(2, 2, 8, 8)], [36]
    patch = np.ones((4, 5), dtype=bool)
    assert try_place(instances, placed, areas, patch, 3, 3, config) is None  # covers 20 of 36: 44 % left
    far = try_place(instances, placed, areas, patch, 10, 10, config)
    assert far is not None and far[1].tolist() == [[2, 2, 8, 8], [10, 10, 15, 14]]
    inside = try_place(instances, placed, areas, np.ones((2, 2), dtype=bool), 2, 2, config)
    assert inside is not None  # box IoU 4/36 = 0.11 and 89 % of item 1 still visible: allowed
    assert inside[0][2, 2] == 2 and inside[1].tolist() == [[2, 2, 8, 8], [2, 2, 4, 4]]
    assert try_place(instances, placed, areas, np.ones((3, 3), dtype=bool), 2, 2, config) is None  # IoU 9/36


def test_clutter_keeps_layouts_and_defeats_a_threshold(pool, scenes):
    cluttered = generate_scenes(pool, COUNT, seed=5, clutter=True)
    assert np.array_equal(cluttered.instances, scenes.instances)
    assert np.array_equal(cluttered.boxes, scenes.boxes)
    truth = scenes.instances > 0

    def best_threshold_iou(images):
        return max(float((truth & (images > t)).sum() / (truth | (images > t)).sum()) for t in range(0, 255, 5))

    assert best_threshold_iou(scenes.images) > 0.95
    assert best_threshold_iou(cluttered.images) < 0.6
    assert np.all(cluttered.images[truth] == scenes.images[truth])  # items pasted the same way


def test_refuses_items_too_big_for_the_canvas(pool):
    with pytest.raises(ValueError, match="do not fit a 32 px canvas"):
        generate_scenes(pool, 1, config=SceneConfig(size=32))


def test_pool_drops_blank_items_and_checks_lengths():
    items, labels = make_items(4)
    items[1] = 5  # everything below the threshold
    pool = ItemPool(items, labels, np.arange(4))
    assert pool.ids.tolist() == [0, 2, 3]
    with pytest.raises(ValueError, match="4 images, 3 labels and 4 ids differ"):
        ItemPool(items, labels[:3], np.arange(4))
