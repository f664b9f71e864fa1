"""Propose, then classify: R-CNN (Girshick et al. 2014) in miniature.

1. Proposals: sliding windows (and optionally connected components) from `cnnkit.detection.proposals`.
2. Each proposal is cut out and resized to 28×28 (`cnnkit.detection.crops`).
3. A small CNN from the zoo (LeNet-5 with ReLU and max-pooling by default) gives 11 class scores — the 10
   classes and background (index 0) — and, with `box_regression=True`, 4 box offsets (`box_coder`) that move
   the proposal onto the object; the network's last layer simply has 11 + 4 outputs.
4. Iterative localisation (Gidaris & Komodakis 2015): with box regression, each moved box is cut out and
   classified again, `refinements` times (2 by default), the last pass giving the box and the mean of all
   passes' softmax probabilities its class scores. A window half on an object scores low and lands short of
   it; its moved box, seen again, is mostly the object. On 500 validation scenes, for the Fast R-CNN-rule run
   in the README: mAP@0.5 0.672 / 0.725 / 0.747 / 0.756 and COCO mAP 0.419 / 0.486 / 0.512 / 0.515 after
   0 / 1 / 2 / 3 refinements; each costs one more classifier pass over all proposals.
5. A proposal's score for class c is its mean probability; (proposal, class) pairs scoring at least 0.05
   (torchvision's Faster R-CNN default: with ~400 proposals × 10 classes, lower thresholds flood the NMS with
   hopeless candidates) go through per-class NMS (`batched_nms`, torchvision's semantics) at 0.5, and the best
   100 detections of each image are kept.

`forward(crops)` is the classifier alone (crops (M, C, 28, 28) → (M, 11 [+ 4])): that is what the trainer fits,
on crops labelled by R-CNN's IoU rules (`cnnkit.detection.rcnn_targets`). `detect(images)` runs the whole
pipeline on normalised images (N, C, 64, 64).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit import nn
from cnnkit.detection.box_coder import apply_offsets
from cnnkit.detection.crops import crop_and_resize
from cnnkit.detection.proposals import RATIOS, SIZES, Proposer
from cnnkit.detection.rcnn_targets import NEAR_MISS_IOU, NEGATIVE_IOU, POSITIVE_IOU
from cnnkit.models.alexnet import alexnet_small
from cnnkit.models.lenet import lenet5, lenet5_relu
from cnnkit.models.vgg import fashion_vgg
from cnnkit.tensor import Tensor

BACKBONES = {"lenet5_relu": lenet5_relu, "lenet5": lenet5, "alexnet_small": alexnet_small, "fashion_vgg": fashion_vgg}
CROP_SIZE = 28  # the backbones' input size


class ProposeClassify(nn.Module):
    """`classifier`: a zoo CNN with num_classes + 1 (+ 4) outputs, applied to 28×28 crops of proposals."""

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        backbone: str = "lenet5_relu",
        box_regression: bool = True,
        image_size: int = 64,
        sizes: tuple[float, ...] = SIZES,
        ratios: tuple[float, ...] = RATIOS,
        stride: int = Proposer.stride,
        components: bool = Proposer.components,
        min_foreground: float = Proposer.min_foreground,
        background_iou: float = NEGATIVE_IOU,
        near_miss_share: float = 0.0,
        refinements: int = 2,
    ) -> None:
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"ProposeClassify: backbone must be one of {', '.join(BACKBONES)}, got {backbone!r}")
        if not NEAR_MISS_IOU < background_iou <= POSITIVE_IOU:
            raise ValueError(f"ProposeClassify: background_iou must lie in ({NEAR_MISS_IOU}, {POSITIVE_IOU}] "
                             f"(0.3: R-CNN's rule, 0.5: Fast R-CNN's), got {background_iou!r}")
        if not 0.0 <= near_miss_share <= 1.0:
            raise ValueError(f"ProposeClassify: near_miss_share must lie in [0, 1], got {near_miss_share!r}")
        # how training labels and draws its crops (`sample_crops`); kept on the model so evaluation draws alike
        self.background_iou, self.near_miss_share = float(background_iou), float(near_miss_share)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"ProposeClassify: num_classes must be a positive int, got {num_classes!r}")
        self.num_classes, self.in_channels, self.box_regression = num_classes, in_channels, bool(box_regression)
        if isinstance(refinements, bool) or not isinstance(refinements, int) or refinements < 0:
            raise ValueError(f"ProposeClassify: refinements must be an int ≥ 0, got {refinements!r}")
        # without box regression a second pass would see the same boxes and repeat the first one's scores
        self.refinements = refinements if self.box_regression else 0
        self.image_size = image_size
        self.proposer = Proposer(image_size, tuple(sizes), tuple(ratios), stride, components, min_foreground)
        outputs = num_classes + 1 + (4 if box_regression else 0)
        self.classifier = BACKBONES[backbone](num_classes=outputs, in_channels=in_channels)

    def forward(self, crops: Tensor) -> Tensor:
        expected = (self.in_channels, CROP_SIZE, CROP_SIZE)
        if crops.ndim != 4 or tuple(crops.shape[1:]) != expected:
            raise ValueError(
                f"ProposeClassify: expected crops of shape (M, {expected[0]}, {CROP_SIZE}, {CROP_SIZE}) "
                f"(forward classifies proposals; detect() takes whole images), got {tuple(crops.shape)}"
            )
        return self.classifier(crops)

    def detect(
        self,
        images: Any,
        score_threshold: float = 0.05,
        iou_threshold: float = 0.5,
        max_detections: int = 100,
        chunk: int = 2048,
    ) -> list[dict[str, np.ndarray]]:
        """Per image {"boxes" float32 (k, 4), "scores" float32 (k,), "labels" int64 (k,) in 1…num_classes}."""
        images = np.asarray(images._data if isinstance(images, Tensor) else images, dtype=np.float32)
        expected = (self.in_channels, self.image_size, self.image_size)
        if images.ndim != 4 or images.shape[1:] != expected:
            raise ValueError(
                f"ProposeClassify.detect: expected images of shape (N, {expected[0]}, {expected[1]}, "
                f"{expected[2]}), got {images.shape}"
            )
        proposals = self.proposer(images)
        counts = np.array([len(p) for p in proposals])
        boxes = np.concatenate(proposals) if len(proposals) else np.zeros((0, 4), np.float32)
        owner = np.repeat(np.arange(len(images)), counts)
        was_training = self.training
        self.eval()
        probabilities = np.zeros((len(boxes), self.num_classes), np.float32)
        for _ in range(self.refinements + 1):
            scores, boxes = self._classify(images, boxes, owner, chunk)
            probabilities += scores / (self.refinements + 1)
        self.train(was_training)
        return [
            select(boxes[owner == i], probabilities[owner == i], score_threshold, iou_threshold, max_detections)
            for i in range(len(images))
        ]

    def _classify(
        self, images: np.ndarray, boxes: np.ndarray, owner: np.ndarray, chunk: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """One pass over the boxes: class probabilities without background (M, num_classes), and the boxes moved
        by the predicted offsets and clipped to the image (the same boxes without box regression)."""
        from cnnkit.autograd import no_grad

        outputs = [np.zeros((0, self.num_classes + 1 + 4 * self.box_regression), np.float32)]
        with no_grad():
            for start in range(0, len(boxes), chunk):
                crops = crop_and_resize(images, boxes[start : start + chunk], owner[start : start + chunk], CROP_SIZE)
                outputs.append(self.classifier(Tensor(crops))._data)
        out = np.concatenate(outputs)
        probabilities = softmax(out[:, : self.num_classes + 1])[:, 1:]  # background dropped
        if self.box_regression:
            boxes = np.clip(apply_offsets(boxes, out[:, self.num_classes + 1 :]), 0, self.image_size)
        return probabilities, boxes

    def crop_rules(self) -> dict[str, Any]:
        """How this model's training crops are labelled and drawn: `sample_crops`'s keyword arguments."""
        return {
            "box_regression": self.box_regression,
            "background_iou": self.background_iou,
            "near_miss_share": self.near_miss_share,
        }

    def extra_repr(self) -> str:
        return (f"num_classes={self.num_classes}, box_regression={self.box_regression}, "
                f"background_iou={self.background_iou}, near_miss_share={self.near_miss_share}, "
                f"refinements={self.refinements}, "
                f"proposer={self.proposer}")


def crop_rules(model_args: dict[str, Any]) -> dict[str, Any]:
    """`sample_crops`'s keyword arguments for a propose_classify model built with model_args."""
    return {
        "box_regression": bool(model_args.get("box_regression", True)),
        "background_iou": float(model_args.get("background_iou", NEGATIVE_IOU)),
        "near_miss_share": float(model_args.get("near_miss_share", 0.0)),
    }


def proposer_for(model_args: dict[str, Any]) -> Proposer:
    """The proposal settings a propose_classify model built with model_args has, without building its network."""
    fields = ("image_size", "sizes", "ratios", "stride", "components", "min_foreground")
    chosen = {key: value for key, value in model_args.items() if key in fields}
    chosen.update({key: tuple(chosen[key]) for key in ("sizes", "ratios") if key in chosen})  # JSON gives lists
    return Proposer(**chosen)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def select(
    boxes: np.ndarray, probabilities: np.ndarray, score_threshold: float, iou_threshold: float, max_detections: int
) -> dict[str, np.ndarray]:
    """One image's detections: every (proposal, class) scoring at least the threshold, per-class NMS, the best few."""
    from cnnkit.detection.boxes import batched_nms

    index, cls = np.nonzero(probabilities >= score_threshold)
    candidate_boxes, scores = boxes[index].astype(np.float32), probabilities[index, cls].astype(np.float32)
    wide = (candidate_boxes[:, 2] > candidate_boxes[:, 0]) & (candidate_boxes[:, 3] > candidate_boxes[:, 1])
    candidate_boxes, scores, cls = candidate_boxes[wide], scores[wide], cls[wide]
    keep = batched_nms(candidate_boxes, scores, cls, iou_threshold)[:max_detections]
    return {
        "boxes": candidate_boxes[keep].reshape(-1, 4),
        "scores": scores[keep],
        "labels": (cls[keep] + 1).astype(np.int64),
    }


def propose_classify(*, num_classes: int = 10, in_channels: int = 1, **kwargs: Any) -> ProposeClassify:
    """Propose-then-classify for 64×64 scenes: ~400 windows per scene, a LeNet-5 (ReLU) over 11 classes + 4 offsets."""
    return ProposeClassify(num_classes=num_classes, in_channels=in_channels, **kwargs)
