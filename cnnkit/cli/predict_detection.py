"""`cnnkit predict` for a detection checkpoint: the boxes found in each image, printed and drawn.

Each image is prepared as in training (grey, resized to 64×64, normalised); the detector's boxes are scaled back
to the image's own size. It prints one row per box (class, score, x1 y1 x2 y2 in the image's pixel-edge
coordinates, best first) or JSON, and writes IMAGE.boxes.png — the image with its boxes, classes and scores —
beside each image or into --out-dir.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def detect_images(
    model: Any, info: Any, paths: list[str], score_threshold: float, iou_threshold: float
) -> list[dict[str, Any]]:
    """Per image {"image", "size" (w, h), "boxes" (k, 4) in the image's pixels, "scores", "labels"}."""
    from PIL import Image

    from cnnkit.training.restore import prepare_image

    results = []
    for path in paths:
        batch = prepare_image(path, info)  # converted as in training: grey, training size, normalised
        [found] = model.detect(batch, score_threshold=score_threshold, iou_threshold=iou_threshold)
        with Image.open(path) as image:
            width, height = image.size
        scale = np.array([width / batch.shape[3], height / batch.shape[2]] * 2, np.float32)
        results.append(
            {
                "image": path,
                "size": (width, height),
                "boxes": found["boxes"] * scale,
                "scores": found["scores"],
                "labels": found["labels"],
            }
        )
    return results


def draw(result: dict[str, Any], classes: list[str], out_dir: str | None) -> Path:
    """IMAGE.boxes.png: the image in grey (as the detector saw it) with its boxes, classes and scores."""
    from PIL import Image

    from cnnkit.viz.detection import draw_boxes

    source = Path(result["image"])
    folder = Path(out_dir) if out_dir else source.parent
    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        grey = np.asarray(image.convert("L"), np.float32) / 255  # draw_boxes draws colour pictures wrongly (a bug)
    return draw_boxes(
        grey, result["boxes"], result["labels"], result["scores"], classes, path=folder / f"{source.stem}.boxes.png"
    )


def run_detection(
    model: Any,
    info: Any,
    paths: list[str],
    out_dir: str | None,
    as_json: bool,
    score_threshold: float,
    iou_threshold: float,
) -> int:
    if not 0 <= score_threshold <= 1 or not 0 <= iou_threshold <= 1:
        raise ValueError(
            f"--score-threshold and --iou-threshold must be between 0 and 1, got {score_threshold} and {iou_threshold}"
        )
    rows = []
    for result in detect_images(model, info, paths, score_threshold, iou_threshold):
        picture = draw(result, info.classes, out_dir)
        boxes = [
            {
                "class": info.classes[int(label) - 1],
                "label": int(label),
                "score": round(float(score), 4),
                "box": [round(float(v), 2) for v in box],
            }
            for box, score, label in zip(result["boxes"], result["scores"], result["labels"], strict=True)
        ]
        rows.append({"image": result["image"], "drawn": str(picture), "boxes": boxes})
    if as_json:
        print(json.dumps(rows, indent=2, allow_nan=False))
        return 0
    for row in rows:
        print(f"{row['image']} -> {row['drawn']}: {len(row['boxes'])} boxes (score ≥ {score_threshold:g})")
        if row["boxes"]:
            print(f"  {'class':<14} {'score':>6} {'x1':>7} {'y1':>7} {'x2':>7} {'y2':>7}")
        for box in row["boxes"]:
            x1, y1, x2, y2 = box["box"]
            print(f"  {box['class']:<14} {box['score']:6.3f} {x1:7.1f} {y1:7.1f} {x2:7.1f} {y2:7.1f}")
    return 0
