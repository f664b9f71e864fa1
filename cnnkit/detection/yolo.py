"""YOLO v1 (Redmon et al. 2016) for small images: the network, its target encoding and its decoding to boxes.

The image is cut into an S×S grid; each cell predicts B boxes (x, y, √w, √h, confidence) and one set of C
class probabilities, so the output is (N, S, S, B·5 + C), laid out per cell as

    [x₁, y₁, √w₁, √h₁, conf₁, …, x_B, y_B, √w_B, √h_B, conf_B, p(class 1), …, p(class C)]

x, y: the box centre's offset inside its cell (0…1); √w, √h: square roots of the box's width and height as
fractions of the image. The network predicts √w and √h directly (through a sigmoid, like x, y and the
confidence), so no square root of a negative number can arise; the class probabilities are a softmax.
A box's score for class c is conf × p(c) (the paper's class-specific confidence).

Network (for 64×64 inputs and S = 8): 3×3 convs with batch norm and leaky ReLU (slope 0.1) in stages that
double the width and halve the size (max-pool 2×2) until the map is S×S, 1×1 convs between the 3×3 ones as
the paper's, then a 1×1 conv to B·5 + C channels (the paper's two fully connected layers would cost more
than the whole backbone here). An output cell sees 62×62 px (`cnnkit.receptive_field(model, "features")`),
enough for the largest objects (42 px) centred anywhere in the cell.

Targets: `encode_targets` gives (N, S, S, 5 + C) — for the cell holding an object's centre [x, y, √w, √h, 1,
one-hot class], zeros elsewhere — which is exactly the prediction layout with B = 1, so `decode_predictions`
turns a target back into its boxes. Labels are 1…C (0 is the background, as torchvision's detection targets).
When two centres fall in one cell, the larger box is kept (YOLO v1 predicts one object per cell).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnkit import nn
from cnnkit.ops.shape import cat
from cnnkit.tensor import Tensor

LEAKY_SLOPE = 0.1  # the paper's leaky ReLU


def conv_bn_leaky(in_channels: int, out_channels: int, kernel_size: int) -> list[nn.Module]:
    """Conv (no bias: batch norm follows) → BatchNorm → LeakyReLU(0.1), keeping the size."""
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(LEAKY_SLOPE),
    ]


class YOLOv1(nn.Module):
    """`features` (conv stages down to S×S) → `head` (a 1×1 conv to B·5 + C channels).

    Input (N, in_channels, image_size, image_size); output (N, S, S, B·5 + C), activated as the module
    docstring says (sigmoids on the box numbers, a softmax over the classes).
    """

    def __init__(
        self,
        num_classes: int = 10,
        grid: int = 8,
        boxes_per_cell: int = 2,
        in_channels: int = 1,
        width: int = 16,
        image_size: int = 64,
    ) -> None:
        super().__init__()
        _check_args(num_classes, grid, boxes_per_cell, in_channels, width, image_size)
        self.num_classes, self.grid, self.boxes_per_cell = num_classes, grid, boxes_per_cell
        self.in_channels, self.width, self.image_size = in_channels, width, image_size
        self.features = nn.Sequential(*_backbone(in_channels, width, int(math.log2(image_size // grid))))
        top = width * 2 ** int(math.log2(image_size // grid))
        self.head = nn.Conv2d(top, 5 * boxes_per_cell + num_classes, 1)

    @property
    def channels(self) -> int:
        """Numbers per cell: B·5 + C."""
        return 5 * self.boxes_per_cell + self.num_classes

    def forward(self, x: Tensor) -> Tensor:
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"YOLOv1: expected input of shape (N, {expected[0]}, {expected[1]}, {expected[2]}), "
                f"got {tuple(x.shape)}"
            )
        raw = self.head(self.features(x)).permute(0, 2, 3, 1)  # (N, S, S, B·5 + C)
        split = 5 * self.boxes_per_cell
        return cat([raw[..., :split].sigmoid(), raw[..., split:].softmax(-1)], dim=-1)

    def detect(
        self, images: Any, score_threshold: float = 0.01, iou_threshold: float = 0.5, max_detections: int = 100
    ) -> list[dict[str, np.ndarray]]:
        """Per image {"boxes", "scores", "labels"} of normalised images (N, C, H, W), in eval mode, without a graph."""
        from cnnkit.autograd import no_grad

        was_training = self.training
        self.eval()
        with no_grad():
            predictions = self(images if isinstance(images, Tensor) else Tensor(np.asarray(images, np.float32)))
        self.train(was_training)
        return decode_predictions(
            predictions, self.boxes_per_cell, self.image_size, score_threshold, iou_threshold, max_detections
        )

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, grid={self.grid}, boxes_per_cell={self.boxes_per_cell}, "
            f"image_size={self.image_size}"
        )


def _check_args(
    num_classes: int, grid: int, boxes_per_cell: int, in_channels: int, width: int, image_size: int
) -> None:
    for name, value in (
        ("num_classes", num_classes),
        ("grid", grid),
        ("boxes_per_cell", boxes_per_cell),
        ("in_channels", in_channels),
        ("width", width),
        ("image_size", image_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"YOLOv1: {name} must be a positive int, got {value!r}")
    ratio = image_size // grid
    if image_size % grid or ratio < 2 or ratio & (ratio - 1):
        raise ValueError(
            f"YOLOv1: image_size / grid must be a power of two of at least 2 (each stage halves the "
            f"map), got image_size {image_size} and grid {grid}"
        )


def _backbone(in_channels: int, width: int, stages: int) -> list[nn.Module]:
    """Stage k (k = 0 … stages − 1) at width·2^k, ending in a max-pool; then two 3×3 blocks on the S×S map.

    Stages after the first two alternate 3×3 and 1×1 convs (3×3 → 1×1 halving → 3×3), as YOLO v1's network.
    """
    layers: list[nn.Module] = []
    channels = in_channels
    for k in range(stages):
        out = width * 2**k
        layers += conv_bn_leaky(channels, out, 3)
        if k >= 2:
            layers += conv_bn_leaky(out, out // 2, 1) + conv_bn_leaky(out // 2, out, 3)
        layers.append(nn.MaxPool2d(2, 2))
        channels = out
    top = width * 2**stages
    layers += conv_bn_leaky(channels, top, 3) + conv_bn_leaky(top, top // 2, 1) + conv_bn_leaky(top // 2, top, 3)
    return layers


def yolo_v1(
    *,
    num_classes: int = 10,
    grid: int = 8,
    boxes_per_cell: int = 2,
    in_channels: int = 1,
    width: int = 16,
    image_size: int = 64,
) -> YOLOv1:
    """YOLO v1 for 64×64 scenes: an 8×8 grid, 2 boxes per cell, 10 classes → (N, 8, 8, 20)."""
    return YOLOv1(num_classes, grid, boxes_per_cell, in_channels, width, image_size)


# ------------------------------------------------------------------------------------------------ targets
def cell_of(boxes: np.ndarray, grid: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) int64 of each xyxy box's centre; a centre on the far edge joins the last cell."""
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    cell = image_size / grid
    col = np.clip(np.floor(cx / cell), 0, grid - 1).astype(np.int64)
    row = np.clip(np.floor(cy / cell), 0, grid - 1).astype(np.int64)
    return row, col


def encode_targets(
    boxes: list[np.ndarray], labels: list[np.ndarray], num_classes: int, grid: int = 8, image_size: int = 64
) -> tuple[np.ndarray, int]:
    """(targets float32 (N, S, S, 5 + C), number of objects dropped because a larger one shared their cell).

    boxes[i] is float (n_i, 4) xyxy in pixels, labels[i] int (n_i,) in 1…C, for image i of N.
    """
    counts = np.array([len(b) for b in boxes], dtype=np.int64)
    targets = np.zeros((len(boxes), grid, grid, 5 + num_classes), dtype=np.float32)
    if counts.sum() == 0:
        return targets, 0
    flat = np.concatenate([np.asarray(b, dtype=np.float64).reshape(-1, 4) for b in boxes])
    classes = np.concatenate([np.asarray(lab, dtype=np.int64).reshape(-1) for lab in labels])
    if classes.min() < 1 or classes.max() > num_classes:
        raise ValueError(
            f"encode_targets: labels must be 1…{num_classes} (0 is the background), got {classes.min()}…{classes.max()}"
        )
    image = np.repeat(np.arange(len(boxes)), counts)
    row, col = cell_of(flat, grid, image_size)
    area = (flat[:, 2] - flat[:, 0]) * (flat[:, 3] - flat[:, 1])
    key = (image * grid + row) * grid + col
    order = np.lexsort((-area, key))  # by cell, the largest box first
    _, first = np.unique(key[order], return_index=True)
    kept = order[first]
    cell = image_size / grid
    w, h = flat[kept, 2] - flat[kept, 0], flat[kept, 3] - flat[kept, 1]
    values = np.stack(
        [
            (flat[kept, 0] + flat[kept, 2]) / 2 / cell - col[kept],
            (flat[kept, 1] + flat[kept, 3]) / 2 / cell - row[kept],
            np.sqrt(w / image_size),
            np.sqrt(h / image_size),
            np.ones(len(kept)),
        ],
        axis=1,
    )
    targets[image[kept], row[kept], col[kept], :5] = values
    targets[image[kept], row[kept], col[kept], 5 + classes[kept] - 1] = 1
    return targets, int(len(flat) - len(kept))


def flip_targets(targets: np.ndarray, chosen: np.ndarray, boxes_per_cell: int = 1) -> np.ndarray:
    """Targets (or predictions) of horizontally mirrored images: columns reversed, x → 1 − x where a box is."""
    out = targets.copy()
    flipped = out[chosen][:, :, ::-1].copy()
    for b in range(boxes_per_cell):
        present = flipped[..., 5 * b + 4] > 0
        flipped[..., 5 * b] = np.where(present, 1 - flipped[..., 5 * b], flipped[..., 5 * b])
    out[chosen] = flipped
    return out


# ------------------------------------------------------------------------------------------------ decoding
def prediction_boxes(predictions: np.ndarray, boxes_per_cell: int, image_size: int) -> np.ndarray:
    """xyxy pixel boxes (N, S, S, B, 4) of predictions (N, S, S, B·5 + C), not clipped."""
    n, grid = predictions.shape[0], predictions.shape[1]
    p = predictions[..., : 5 * boxes_per_cell].reshape(n, grid, grid, boxes_per_cell, 5).astype(np.float64)
    cell = image_size / grid
    cols = np.arange(grid).reshape(1, 1, grid, 1)
    rows = np.arange(grid).reshape(1, grid, 1, 1)
    cx, cy = (cols + p[..., 0]) * cell, (rows + p[..., 1]) * cell
    w, h = p[..., 2] ** 2 * image_size, p[..., 3] ** 2 * image_size  # the network predicts √w, √h
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def decode_predictions(
    predictions: Any,
    boxes_per_cell: int = 2,
    image_size: int = 64,
    score_threshold: float = 0.01,
    iou_threshold: float = 0.5,
    max_detections: int = 100,
) -> list[dict[str, np.ndarray]]:
    """Per image {"boxes" float32 (k, 4) xyxy clipped to the image, "scores" float32 (k,), "labels" int64 (k,)}.

    Every (box, class) pair whose score conf × p(class) reaches score_threshold is a candidate; candidates go
    through per-class NMS (`batched_nms`, torchvision's semantics) and the best max_detections are kept.
    """
    from cnnkit.detection.boxes import batched_nms

    p = np.asarray(predictions._data if isinstance(predictions, Tensor) else predictions, dtype=np.float32)
    if p.ndim != 4 or p.shape[1] != p.shape[2] or p.shape[3] <= 5 * boxes_per_cell:
        raise ValueError(f"decode_predictions: expected predictions (N, S, S, {boxes_per_cell}·5 + C), got {p.shape}")
    n = p.shape[0]
    boxes = np.clip(prediction_boxes(p, boxes_per_cell, image_size), 0, image_size).astype(np.float32)
    conf = p[..., 4 : 5 * boxes_per_cell : 5]  # (N, S, S, B)
    scores = conf[..., None] * p[..., None, 5 * boxes_per_cell :]  # (N, S, S, B, C)
    num_classes = scores.shape[-1]
    boxes = boxes.reshape(n, -1, 4)
    scores = scores.reshape(n, -1, num_classes)
    results = []
    for i in range(n):
        box_index, class_index = np.nonzero(scores[i] >= score_threshold)
        candidate_boxes, candidate_scores = boxes[i][box_index], scores[i][box_index, class_index]
        keep = batched_nms(candidate_boxes, candidate_scores, class_index, iou_threshold)[:max_detections]
        results.append(
            {
                "boxes": candidate_boxes[keep].reshape(-1, 4),
                "scores": candidate_scores[keep],
                "labels": (class_index[keep] + 1).astype(np.int64),
            }
        )
    return results
