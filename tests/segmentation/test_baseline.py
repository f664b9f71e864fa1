"""The classical baseline on tiny generated scenes (items of known shape, some with holes): with a perfect
classifier it reproduces the masks of scenes whose items do not touch, touching items become one component of
one class, and the run classifier prepares crops as its training prepared images."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data.scenes import FashionScenes
from cnnkit.segmentation import (
    BaselineSettings,
    RunClassifier,
    TruthClassifier,
    crop_components,
    evaluate,
    find_components,
    segment,
)

EXACT = BaselineSettings(threshold=0)  # plain scenes: every item pixel is above 0 (holes filled)


@pytest.fixture(scope="module")
def scenes(tiny_items) -> FashionScenes:
    return FashionScenes(root=tiny_items, split="test", num_scenes=40)


def touching(instances: np.ndarray) -> np.ndarray:
    """bool (N,): scenes in which two items share a 4-neighbour edge."""
    found = np.zeros(len(instances), bool)
    for a, b in ((instances[:, 1:], instances[:, :-1]), (instances[:, :, 1:], instances[:, :, :-1])):
        found |= ((a != b) & (a > 0) & (b > 0)).any(axis=(1, 2))
    return found


def test_a_perfect_classifier_reproduces_the_masks_of_scenes_whose_items_do_not_touch(scenes):
    apart = ~touching(scenes.scenes.instances)
    assert apart.sum() >= 5
    result = segment(scenes.images[apart], TruthClassifier(scenes.masks[apart]), EXACT)
    truth = scenes.masks[apart]
    counted = truth != 255
    np.testing.assert_array_equal(result.predictions[counted], truth[counted])
    holes_kept = segment(scenes.images[apart], TruthClassifier(truth), BaselineSettings(threshold=0, fill_holes=False))
    assert (holes_kept.predictions != truth)[counted].sum() > 0  # the items with holes (classes 2 and 7) lose them
    items = np.diff(scenes.scenes.offsets)[apart]
    np.testing.assert_array_equal(np.bincount(result.scene, minlength=len(items)), items)  # one component each
    confusion = evaluate(scenes.images[apart], truth, TruthClassifier(truth), 11, EXACT, chunk=3)
    assert confusion.mean_iou() == 1.0 and confusion.pixel_accuracy() == 1.0


def test_touching_items_become_one_component_painted_with_one_class(scenes):
    together = touching(scenes.scenes.instances)
    images, truth = scenes.images[together], scenes.masks[together]
    components = find_components(images, EXACT)
    result = segment(images, TruthClassifier(truth), EXACT)
    assert (np.bincount(result.scene, minlength=len(images)) < np.diff(scenes.scenes.offsets)[together]).any()
    inside = components.ids > 0
    pairs = np.unique(np.stack([components.ids[inside], result.predictions[inside]]), axis=1)
    assert pairs.shape[1] == len(components)  # one class per component
    counted = truth != 255
    assert (result.predictions == truth)[counted].mean() < 0.95  # the items merged into another's class


def test_chunks_do_not_change_the_score(scenes):
    whole = evaluate(scenes.images, scenes.masks, TruthClassifier(scenes.masks), 11, EXACT, chunk=1000)
    chunked = evaluate(scenes.images, scenes.masks, TruthClassifier(scenes.masks), 11, EXACT, chunk=7)
    np.testing.assert_array_equal(whole.matrix, chunked.matrix)
    assert 0.3 < whole.mean_iou() < 1  # touching items cost IoU even with a perfect classifier


def test_background_class_and_small_components_leave_pixels_unpainted():
    scene = np.zeros((1, 20, 20), np.uint8)
    scene[0, 2:10, 2:10] = 120  # 64 px
    scene[0, 15:18, 15:18] = 120  # 9 px: below min_size
    components = find_components(scene, BaselineSettings(threshold=50, min_size=10))
    assert len(components) == 1 and components.stats.size.tolist() == [64]
    assert set(np.unique(components.ids).tolist()) == {0, 1}
    kept = segment(scene, lambda crops, comps: np.full(len(crops), 4), BaselineSettings(threshold=50, min_size=10))
    assert (kept.predictions[0, 2:10, 2:10] == 5).all() and kept.predictions.sum() == 64 * 5
    dropped = segment(scene, lambda crops, comps: np.full(len(crops), -1), BaselineSettings(threshold=50))
    assert not dropped.predictions.any()
    with pytest.raises(ValueError, match="the classifier returned 3 classes for 1 components"):
        segment(scene, lambda crops, comps: np.zeros(3, int), BaselineSettings(threshold=50, min_size=10))
    with pytest.raises(ValueError, match="min_size must be a positive number of pixels, got 0"):
        find_components(scene, BaselineSettings(min_size=0))


def test_run_classifier_normalises_as_training_did_and_averages_mirrored_crops(classifier_run, scenes):
    import cnnkit
    import cnnkit.nn.functional as F

    classifier = RunClassifier(classifier_run, FashionScenes.classes[1:])
    mean, std = classifier.info.mean[0], classifier.info.std[0]
    assert (mean, std) == (0.286, 0.353)  # Fashion-MNIST's statistics, stored in the checkpoint
    components = find_components(scenes.images[:6], EXACT)
    crops = crop_components(scenes.images[:6], components.ids, components.stats)
    prepared = classifier.prepare(crops)
    np.testing.assert_allclose(prepared[:, 0], (crops - mean) / std, rtol=1e-6, atol=1e-6)
    with cnnkit.no_grad():
        direct = F.softmax(classifier.model(cnnkit.tensor(prepared)), dim=1)._data
        mirrored = F.softmax(classifier.model(cnnkit.tensor(prepared[..., ::-1].copy())), dim=1)._data
    np.testing.assert_allclose(classifier.probabilities(crops), (direct + mirrored) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(classifier(crops, components), ((direct + mirrored) / 2).argmax(axis=1))
    single = RunClassifier(classifier_run, mirror=False)
    np.testing.assert_array_equal(single(crops), direct.argmax(axis=1))


def test_run_classifier_refuses_other_classes(classifier_run):
    with pytest.raises(ValueError, match=r"expected a classifier of the classes a, b; it was trained on fashion-mnist"):
        RunClassifier(classifier_run, ["a", "b"])


def test_run_classifier_refuses_a_segmentation_checkpoint(tmp_path):
    from cnnkit.models import get_model
    from cnnkit.training.checkpoint import save_checkpoint
    from cnnkit.training.datasets import DataInfo

    model = get_model("unet", num_classes=11, in_channels=1, base_channels=4, depth=2)
    info = DataInfo("fashion-scenes", list(FashionScenes.classes), (1, 64, 64), (0.1,), (0.2,))
    meta = {"kind": "segmentation", "config": {"model": "unet", "model_args": {"base_channels": 4, "depth": 2}},
            "data": info.to_dict(), "epoch": 1}  # fmt: skip
    save_checkpoint(tmp_path / "best.safetensors", model.state_dict(), None, meta)
    with pytest.raises(ValueError, match="expected a classifier's run or checkpoint, got a segmentation checkpoint"):
        RunClassifier(tmp_path)
