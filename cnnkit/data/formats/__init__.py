"""cnnkit.data.formats: Pascal VOC, COCO instances and YOLO txt folders, written and read.

    from cnnkit.data.formats import VOCSegmentation, VOCDetection, CocoDetection, YoloDetection, write_voc
    seg = VOCSegmentation("VOCdevkit/VOC2012", image_set="val")  # (image, mask with 255 = ignore)

Every reader returns float32 images (C, H, W) in [0, 1] and boxes as (x1, y1, x2, y2) pixel edges with labels
indexing `classes` (0 = background); see `record` for the shared conventions and each module for its format.
Malformed files are refused with a `DatasetFormatError` that names the file and the problem.
"""

from __future__ import annotations

from cnnkit.data.formats.coco import CocoDetection, semantic_mask, write_coco
from cnnkit.data.formats.record import AnnotatedImage
from cnnkit.data.formats.rle import decode_segmentation, encode_rle
from cnnkit.data.formats.voc import VOC_CLASSES, VOCDetection, VOCSegmentation, voc_palette, write_voc
from cnnkit.data.formats.yolo import YoloDetection, write_yolo

WRITERS = {"voc": write_voc, "coco": write_coco, "yolo": write_yolo}

__all__ = [
    "AnnotatedImage",
    "VOCSegmentation",
    "VOCDetection",
    "CocoDetection",
    "YoloDetection",
    "write_voc",
    "write_coco",
    "write_yolo",
    "WRITERS",
    "VOC_CLASSES",
    "voc_palette",
    "encode_rle",
    "decode_segmentation",
    "semantic_mask",
]
