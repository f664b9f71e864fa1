"""The check every YOLO reimplementation should pass first (darkflow #35, darknet #849): a model overfits a few
scenes to near-perfect mAP@0.5, or its targets or loss are broken. 16 scenes in the default run, 64 in the slow one."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import optim
from cnnkit.detection.dataset import scene_boxes
from cnnkit.detection.yolo import encode_targets, yolo_v1
from cnnkit.detection.yolo_loss import YOLOLoss
from cnnkit.metrics.detection import DetectionEvaluator
from tests.training.tiny_data import write_tiny_fashion


def overfit(tmp_path, scenes: int, steps: int, width: int, lr: float) -> float:
    """mAP@0.5 on the training scenes themselves after `steps` Adam steps (batches of 16) of a narrow YOLO."""
    from cnnkit.data.scenes import FashionScenes

    data = FashionScenes(
        root=write_tiny_fashion(tmp_path, n_train=200, n_test=20), split="train", num_scenes=scenes, val_items=60
    )
    boxes, labels = scene_boxes(data)
    targets, _ = encode_targets(boxes, labels, num_classes=10)
    images = data.images[:, None].astype(np.float32) / 255
    cnnkit.manual_seed(0)
    model, loss_fn = yolo_v1(width=width), YOLOLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    order = np.random.default_rng(0)
    for _ in range(steps):
        batch = order.permutation(scenes)[:16]
        loss = loss_fn(model(cnnkit.tensor(images[batch])), cnnkit.tensor(targets[batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    evaluator = DetectionEvaluator(10)
    for found, b, lab in zip(model.detect(images), boxes, labels, strict=True):
        evaluator.update(found["boxes"], found["scores"], found["labels"], b, lab)
    return evaluator.voc()["map"]


def test_yolo_overfits_16_scenes(tmp_path) -> None:
    assert overfit(tmp_path, scenes=16, steps=70, width=4, lr=0.005) >= 0.99  # about 15 s on the shared machine


@pytest.mark.slow
def test_yolo_overfits_64_scenes(tmp_path) -> None:
    assert overfit(tmp_path, scenes=64, steps=150, width=8, lr=0.003) >= 0.99
