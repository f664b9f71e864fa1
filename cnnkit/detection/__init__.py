"""cnnkit.detection: object detection: boxes and classes of the objects in a scene.

`boxes` holds torchvision's box operations on NumPy arrays (xyxy pixel-edge boxes): box_area, box_iou,
generalized_box_iou, box_convert, clip_boxes_to_image, remove_small_boxes, nms, batched_nms. The metrics
(VOC AP, the COCO evaluation) live in `cnnkit.metrics.detection`.
"""

from cnnkit.detection.boxes import (
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    generalized_box_iou,
    nms,
    remove_small_boxes,
)

__all__ = [
    "batched_nms",
    "box_area",
    "box_convert",
    "box_iou",
    "clip_boxes_to_image",
    "generalized_box_iou",
    "nms",
    "remove_small_boxes",
]
