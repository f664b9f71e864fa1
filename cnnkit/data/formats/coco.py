"""COCO instances: write `annotations/instances_<split>.json` with the images beside it, read any such file
as `CocoDetection(root, annFile)` (torchvision's signature: root is the images folder).

Written: images [{id, file_name, width, height}], categories [{id, name, supercategory}] with ids = cnnkit labels
(1-based, 0 being the background), annotations [{id, image_id, category_id, bbox [x, y, w, h] (pixel edges, no
+1), area = the visible mask's pixel count, iscrowd 0, segmentation = uncompressed RLE of the visible mask}].
Read: every image must have id and file_name, every annotation image_id, category_id and bbox; a box must lie
inside its image (to 0.01 px) with positive width and height. Category ids need not be contiguous (COCO's run
1..90 with gaps): labels are 1 + the category's rank among the sorted ids, `classes[label]` its name and
`category_ids[label]` its id (identical to the ids for files this module writes).
Targets: {"boxes" float32 (n, 4) xyxy, "labels" int64, "area" float32, "iscrowd" int64, and "masks" uint8
(n, H, W) when every annotation carries a segmentation (RLE, compressed RLE or polygons)}.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.dataset import Dataset
from cnnkit.data.errors import DatasetFormatError
from cnnkit.data.formats.images import load_image, save_image
from cnnkit.data.formats.record import AnnotatedImage
from cnnkit.data.formats.rle import decode_segmentation, encode_rle
from cnnkit.data.joint_transforms import apply_to_sample, check_transform_args

TOLERANCE = 0.01  # px: float rounding in other tools' boxes, not a licence to leave the image


# ----------------------------------------------------------------------------------------------- writing
def coco_annotations(record: AnnotatedImage, image_id: int, first_id: int) -> list[dict[str, Any]]:
    """The annotation dicts of one record; ids first_id, first_id + 1, …"""
    out = []
    for k, (box, label) in enumerate(zip(record.boxes, record.labels, strict=True)):
        x1, y1, x2, y2 = (float(v) for v in box)
        annotation: dict[str, Any] = {
            "id": first_id + k,
            "image_id": image_id,
            "category_id": int(label),
            "bbox": [x1, y1, x2 - x1, y2 - y1],
            "iscrowd": 0,
        }
        if record.instances is not None:
            visible = np.asarray(record.instances) == k + 1
            annotation["area"] = float(visible.sum())
            annotation["segmentation"] = encode_rle(visible)
        else:
            annotation["area"] = (x2 - x1) * (y2 - y1)
            annotation["segmentation"] = []
        out.append(annotation)
    return out


def write_coco(
    root: str | os.PathLike,
    records: Iterable[AnnotatedImage],
    split: str,
    classes: Sequence[str],
    image_format: str = "png",
    supercategory: str = "object",
) -> Path:
    """Write images to root/<split>/ and root/annotations/instances_<split>.json; returns the JSON's path.

    classes[0] is the background and gets no category; classes[k] becomes category id k.
    """
    if image_format not in ("jpg", "png"):
        raise ValueError(f"write_coco: image_format must be 'jpg' or 'png', got {image_format!r}")
    root = Path(root)
    images, annotations = [], []
    for image_id, record in enumerate(records, start=1):
        file_name = f"{record.name}.{image_format}"
        save_image(root / split / file_name, record.image)
        images.append({"id": image_id, "file_name": file_name, "width": record.width, "height": record.height})
        annotations += coco_annotations(record, image_id, len(annotations) + 1)
    categories = [{"id": k, "name": name, "supercategory": supercategory} for k, name in enumerate(classes) if k]
    document = {
        "info": {"description": f"{split} split written by cnnkit"},
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    path = root / "annotations" / f"instances_{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, separators=(",", ":")))
    return path


# ----------------------------------------------------------------------------------------------- reading
def field(entry: Any, key: str, where: str, file: Path) -> Any:
    if not isinstance(entry, dict) or key not in entry:
        raise DatasetFormatError(f"{file}: {where} lacks the field {key!r}")
    return entry[key]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_document(file: Path) -> dict[str, Any]:
    try:
        document = json.loads(file.read_bytes().decode("utf-8-sig"), parse_constant=_no_constant)
    except FileNotFoundError:
        raise DatasetFormatError(f"{file}: file not found") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise DatasetFormatError(f"{file}: not valid JSON ({error})") from None
    except RecursionError:  # Python's parser recurses once per nesting level
        raise DatasetFormatError(f"{file}: JSON nested too deeply to be a COCO file") from None
    if not isinstance(document, dict):
        raise DatasetFormatError(f"{file}: expected a JSON object with images, annotations and categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(field(document, key, "the file", file), list):
            raise DatasetFormatError(f"{file}: {key!r} must be a list")
    return document


def is_finite_number(value: Any) -> bool:
    """A JSON number that is finite: not a string such as "nan", not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_bbox(bbox: Any, image: dict[str, Any], where: str, file: Path) -> list[float]:
    """[x, y, w, h] as floats, inside the image (when its size is given) with positive width and height."""
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(is_finite_number(v) for v in bbox):
        raise DatasetFormatError(f"{file}: {where} has bbox {bbox!r}, expected four numbers [x, y, w, h] "
                                 "(finite JSON numbers)")
    x, y, w, h = (float(v) for v in bbox)
    if w <= 0 or h <= 0:
        raise DatasetFormatError(f"{file}: {where} has bbox {bbox!r} with a non-positive width or height")
    width, height = image.get("width"), image.get("height")
    if (
        width is not None
        and height is not None
        and (x < -TOLERANCE or y < -TOLERANCE or x + w > width + TOLERANCE or y + h > height + TOLERANCE)
    ):
        raise DatasetFormatError(
            f"{file}: {where} has bbox {bbox!r} outside its {width}×{height} image {image.get('file_name')!r}"
        )
    return [x, y, x + w, y + h]


class CocoDetection(Dataset):
    """Images of a COCO instances file with their boxes, labels, areas and (when given) instance masks."""

    def __init__(
        self,
        root: str | os.PathLike,
        annFile: str | os.PathLike,  # torchvision's name
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        transforms: Callable | None = None,
    ) -> None:
        check_transform_args("CocoDetection", transform, target_transform, transforms)
        self.root, self.file = Path(root).expanduser(), Path(annFile).expanduser()
        self.transform, self.target_transform, self.transforms = transform, target_transform, transforms
        document = load_document(self.file)
        self.category_ids, self.classes = self.read_categories(document["categories"])
        self.images = self.read_images(document["images"])
        self.ids = list(self.images)
        self.annotations: dict[int, list[dict[str, Any]]] = {i: [] for i in self.ids}
        label_of = {cid: k for k, cid in enumerate(self.category_ids) if k}
        for n, annotation in enumerate(document["annotations"]):
            where = f"annotation {annotation.get('id', n) if isinstance(annotation, dict) else n}"
            image_id = field(annotation, "image_id", where, self.file)
            if image_id not in self.images:
                raise DatasetFormatError(f"{self.file}: {where} refers to image_id {image_id!r}, which is not listed")
            category = field(annotation, "category_id", where, self.file)
            if category not in label_of:
                raise DatasetFormatError(
                    f"{self.file}: {where} has category_id {category!r}, not among the categories {sorted(label_of)}"
                )
            box = check_bbox(field(annotation, "bbox", where, self.file), self.images[image_id], where, self.file)
            self.annotations[image_id].append(
                {**annotation, "_box": box, "_label": label_of[category], "_where": where}
            )

    def read_categories(self, categories: list[Any]) -> tuple[list[int | None], list[str]]:
        ids, names = [], {}
        for n, category in enumerate(categories):
            cid = field(category, "id", f"category {n}", self.file)
            names[cid] = str(field(category, "name", f"category {cid}", self.file))
            ids.append(cid)
        if len(set(ids)) != len(ids):
            raise DatasetFormatError(f"{self.file}: category ids repeat: {ids}")
        order = sorted(ids)
        return [None, *order], ["background", *(names[c] for c in order)]

    def read_images(self, images: list[Any]) -> dict[Any, dict[str, Any]]:
        out: dict[Any, dict[str, Any]] = {}
        for n, image in enumerate(images):
            image_id = field(image, "id", f"image {n}", self.file)
            field(image, "file_name", f"image {image_id}", self.file)
            for key in ("width", "height"):
                if key in image and not (is_finite_number(image[key]) and image[key] > 0):
                    raise DatasetFormatError(f"{self.file}: image {image_id!r} has {key} {image[key]!r}, expected a "
                                             "positive number")
            if image_id in out:
                raise DatasetFormatError(f"{self.file}: image id {image_id!r} is listed twice")
            out[image_id] = image
        return out

    def __len__(self) -> int:
        return len(self.ids)

    def target(self, image_id: Any, height: int, width: int) -> dict[str, np.ndarray]:
        annotations = self.annotations[image_id]
        target = {
            "boxes": np.array([a["_box"] for a in annotations], dtype=np.float32).reshape(-1, 4),
            "labels": np.array([a["_label"] for a in annotations], dtype=np.int64),
            "area": np.array([float(a.get("area", 0.0)) for a in annotations], dtype=np.float32),
            "iscrowd": np.array([int(a.get("iscrowd", 0)) for a in annotations], dtype=np.int64),
        }
        if annotations and all(a.get("segmentation") for a in annotations):
            masks = []
            for a in annotations:
                try:
                    masks.append(decode_segmentation(a["segmentation"], height, width))
                except ValueError as error:
                    raise DatasetFormatError(f"{self.file}: {a['_where']} has a bad segmentation ({error})") from None
            target["masks"] = np.stack(masks).astype(np.uint8)
        return target

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image_id = self.ids[index]
        entry = self.images[image_id]
        path = self.root / entry["file_name"]
        image = load_image(path)
        height, width = image.shape[-2:]
        if (entry.get("width", width), entry.get("height", height)) != (width, height):
            raise DatasetFormatError(
                f"{self.file}: image {image_id} is listed as {entry['width']}×{entry['height']} "
                f"but {path} is {width}×{height}"
            )
        target = self.target(image_id, height, width)
        return apply_to_sample(image, target, self.transform, self.target_transform, self.transforms)

    def describe(self, index: int) -> str:
        return f"image {self.ids[index]} ({self.images[self.ids[index]]['file_name']}) of {self.file}"

    def __repr__(self) -> str:
        return f"CocoDetection(n={len(self)}, classes={len(self.classes) - 1}, annFile={str(self.file)!r})"


def semantic_mask(target: dict[str, np.ndarray], height: int, width: int) -> np.ndarray:
    """uint8 (H, W) label mask painted from a target's instance masks in order (a later one on top)."""
    mask = np.zeros((height, width), dtype=np.uint8)
    for instance, label in zip(target.get("masks", []), target["labels"], strict=False):
        mask[np.asarray(instance, dtype=bool)] = label
    return mask
