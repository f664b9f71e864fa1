"""cnnkit.vision.utils (make_grid, save_image), cnnkit.vision.ops (Tensors from cnnkit.detection's boxes, against
torch arithmetic) and cnnkit.vision.models (torchvision's constructors and parameter names)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import cnnkit
from cnnkit.vision import models, ops
from cnnkit.vision.utils import make_grid, save_image


def test_make_grid_places_each_image_with_padding():
    batch = np.stack([np.full((1, 2, 3), k, np.float32) for k in range(5)])
    grid = make_grid(cnnkit.tensor(batch), nrow=2, padding=1, pad_value=-1).numpy()
    assert grid.shape == (3, 3 * 3 + 1, 2 * 4 + 1)  # 3 rows of 2, one-channel images made three
    np.testing.assert_array_equal(grid[:, 1:3, 1:4], 0)
    np.testing.assert_array_equal(grid[:, 1:3, 5:8], 1)
    np.testing.assert_array_equal(grid[:, 7:9, 1:4], 4)
    np.testing.assert_array_equal(grid[:, 7:9, 5:8], -1)  # the empty cell
    assert grid[0, 0, 0] == -1 and grid[0, 3, 2] == -1


def test_make_grid_normalize_and_single_image():
    x = cnnkit.tensor(np.array([[[[-2.0, 0.0], [2.0, 6.0]]]], np.float32))
    out = make_grid(x, normalize=True).numpy()
    np.testing.assert_allclose(out[0], [[0.0, 0.25], [0.5, 1.0]])
    clipped = make_grid(x, normalize=True, value_range=(0, 2)).numpy()
    np.testing.assert_allclose(clipped[0], [[0.0, 0.0], [1.0, 1.0]])


def test_save_image_writes_rounded_8_bit(tmp_path):
    x = cnnkit.tensor(np.array([[[0.0, 0.5], [1.0, 0.2]]] * 3, np.float32))
    save_image(x, tmp_path / "a.png")
    pixels = np.asarray(Image.open(tmp_path / "a.png"))
    np.testing.assert_array_equal(pixels[:, :, 0], [[0, 128], [255, 51]])
    save_image([x, x], tmp_path / "b.png", nrow=2, padding=0)
    assert Image.open(tmp_path / "b.png").size == (4, 2)


def torch_iou(a, b):
    torch = pytest.importorskip("torch")
    a, b = torch.tensor(a), torch.tensor(b)
    area = lambda t: (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])  # noqa: E731
    lt = torch.max(a[:, None, :2], b[:, :2])
    rb = torch.min(a[:, None, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(2)
    return (inter / (area(a)[:, None] + area(b) - inter)).numpy()


@pytest.mark.torch
def test_box_iou_and_nms_return_tensors_with_torch_values(rng):
    xy = rng.uniform(0, 50, (12, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(5, 30, (12, 2)).astype(np.float32)], axis=1)
    iou = ops.box_iou(cnnkit.tensor(boxes), cnnkit.tensor(boxes[:5]))
    assert isinstance(iou, cnnkit.Tensor) and iou.shape == (12, 5)
    np.testing.assert_allclose(iou.numpy(), torch_iou(boxes, boxes[:5]), rtol=1e-5, atol=1e-6)
    scores = cnnkit.tensor(rng.uniform(0, 1, 12).astype(np.float32))
    keep = ops.nms(cnnkit.tensor(boxes), scores, 0.3)
    assert keep.dtype == np.int64
    kept = boxes[keep.numpy()]
    pairwise = torch_iou(kept, kept) - np.eye(len(kept))
    assert pairwise.max() <= 0.3 and np.all(np.diff(scores.numpy()[keep.numpy()]) <= 0)
    per_class = ops.batched_nms(cnnkit.tensor(boxes), scores, cnnkit.tensor(np.arange(12) % 2), 0.3)
    assert set(keep.numpy().tolist()) <= set(per_class.numpy().tolist())


def test_models_have_torchvision_constructors_and_names():
    model = models.resnet18(num_classes=10)
    names = list(model.state_dict())
    assert names[:2] == ["conv1.weight", "bn1.weight"] and "layer4.1.bn2.running_var" in names
    assert names[-2:] == ["fc.weight", "fc.bias"] and model.fc.out_features == 10
    assert model(cnnkit.randn(2, 3, 32, 32)).shape == (2, 10)
    assert "features.0.weight" in models.vgg11_bn(num_classes=3).state_dict()
    assert not any("lrn" in type(m).__name__.lower() or "localresponse" in type(m).__name__.lower()
                   for m in models.alexnet().modules())
    with pytest.raises(ValueError, match="does not bundle pretrained weights"):
        models.resnet50(weights="IMAGENET1K_V1")
