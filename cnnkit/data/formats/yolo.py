"""YOLO txt: write `images/<split>/`, `labels/<split>/<stem>.txt` and `data.yaml`; read any such folder as
`YoloDetection` (ultralytics' layout).

A label file has one line per object, `class cx cy w h`: the class 0-based (YOLO has no background class), the
box centre and size divided by the image's width and height. An image without objects gets an empty file when
written; a missing file reads as no objects. cnnkit labels are YOLO class + 1 (`classes[0]` is the background,
as in every cnnkit detection dataset). Coordinates are written with 6 decimals (at most 3·10⁻⁵ px off at 64 px).
A label line that is not five finite numbers, a class beyond `names`, or a box reaching outside [0, 1] (beyond
10⁻⁵) is refused, naming the file and line; label files are UTF-8 (a byte-order mark is dropped).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.dataset import Dataset
from cnnkit.data.errors import DatasetFormatError
from cnnkit.data.formats.datayaml import data_yaml_text, parse_data_yaml
from cnnkit.data.formats.images import image_files, load_image, save_image
from cnnkit.data.formats.record import AnnotatedImage
from cnnkit.data.joint_transforms import apply_to_sample, check_transform_args

DATA_YAML = "data.yaml"
TOLERANCE = 1e-5
MAX_LABEL_BYTES = 16 << 20  # ~300,000 boxes in one image: far beyond any real label file


# ----------------------------------------------------------------------------------------------- writing
def yolo_lines(record: AnnotatedImage) -> str:
    w, h = record.width, record.height
    lines = []
    for (x1, y1, x2, y2), label in zip(record.boxes, record.labels, strict=True):
        values = ((x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h)
        lines.append(f"{int(label) - 1} " + " ".join(f"{v:.6f}" for v in values))
    return "".join(line + "\n" for line in lines)


def write_yolo(
    root: str | os.PathLike,
    records: Iterable[AnnotatedImage],
    split: str,
    classes: Sequence[str],
    image_format: str = "png",
) -> Path:
    """Write split's images and label files under root and (re)write root/data.yaml listing every split present.

    classes[0] is the background and is not a YOLO class: classes[k] is written as YOLO class k − 1.
    """
    if image_format not in ("jpg", "png"):
        raise ValueError(f"write_yolo: image_format must be 'jpg' or 'png', got {image_format!r}")
    root = Path(root)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    for record in records:
        save_image(root / "images" / split / f"{record.name}.{image_format}", record.image)
        (root / "labels" / split / f"{record.name}.txt").write_text(yolo_lines(record))
    present = sorted(p.name for p in (root / "images").iterdir() if p.is_dir())
    order = {"train": 0, "val": 1, "test": 2}
    splits = {s: f"images/{s}" for s in sorted(present, key=lambda s: (order.get(s, 3), s))}
    (root / DATA_YAML).write_text(data_yaml_text(None, splits, list(classes[1:])))  # relative: copies stay whole
    return root


# ----------------------------------------------------------------------------------------------- reading
def labels_path(image: Path) -> Path:
    """ultralytics' rule: the last 'images' folder of the path becomes 'labels', the suffix '.txt'."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")  # images and labels side by side


def parse_line(line: str, where: str, classes: int) -> tuple[int, list[float]]:
    fields = line.split()
    if len(fields) != 5:
        raise DatasetFormatError(
            f"{where}: expected 5 fields 'class cx cy w h', got {len(fields)} "
            f"(polygon lines of YOLO segmentation are not read)"
        )
    try:
        cls = int(fields[0])
        cx, cy, w, h = (float(v) for v in fields[1:])
    except ValueError:
        raise DatasetFormatError(f"{where}: expected an integer class and four numbers, got {line.strip()!r}") from None
    if not all(math.isfinite(v) for v in (cx, cy, w, h)):
        raise DatasetFormatError(f"{where}: box cx={cx} cy={cy} w={w} h={h} is not finite (NaN or infinity)")
    if not 0 <= cls < classes:
        raise DatasetFormatError(f"{where}: class id {cls} is out of range 0..{classes - 1} ({classes} names)")
    if w <= 0 or h <= 0:
        raise DatasetFormatError(f"{where}: box cx={cx} cy={cy} w={w} h={h} has a non-positive width or height")
    edges = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    if min(edges) < -TOLERANCE or max(edges) > 1 + TOLERANCE:
        raise DatasetFormatError(
            f"{where}: box cx={cx} cy={cy} w={w} h={h} reaches outside the image "
            f"(its normalised edges must lie in [0, 1])"
        )
    return cls, [min(max(e, 0.0), 1.0) for e in edges]


def read_label_text(path: Path) -> str:
    """A label file's text: UTF-8, a leading byte-order mark dropped; too large or not UTF-8 is refused."""
    size = path.stat().st_size
    if size > MAX_LABEL_BYTES:
        raise DatasetFormatError(f"{path}: {size:,} bytes, more than the {MAX_LABEL_BYTES:,} a label file may hold")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetFormatError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason}); a YOLO label file "
                                 "holds lines of numbers") from None


def read_labels(path: Path, classes: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(boxes float32 (n, 4) in pixel edges, YOLO classes int64 (n,)) of one label file; none if it is missing."""
    if not path.is_file():
        return np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.int64)
    parsed = [
        parse_line(line, f"{path}:{n}", classes)
        for n, line in enumerate(read_label_text(path).splitlines(), start=1)
        if line.strip()
    ]
    scale = np.array([width, height, width, height], dtype=np.float64)
    boxes = (np.array([p[1] for p in parsed], dtype=np.float64).reshape(-1, 4) * scale).astype(np.float32)
    return boxes, np.array([p[0] for p in parsed], dtype=np.int64)


def dataset_base(yaml_file: Path, data: dict[str, Any]) -> Path:
    """The folder split paths are relative to: `path` (relative to the yaml's folder) when it exists, else the
    yaml's own folder (a moved dataset keeps working)."""
    if data.get("path"):
        base = yaml_file.parent / Path(str(data["path"])).expanduser()
        if base.is_dir():
            return base
    return yaml_file.parent


class YoloDetection(Dataset):
    """Items: (image float32 (C, H, W), {"boxes" float32 (n, 4) xyxy pixel edges, "labels" int64 = class + 1})."""

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        transforms: Callable | None = None,
    ) -> None:
        check_transform_args("YoloDetection", transform, target_transform, transforms)
        root = Path(root).expanduser()
        self.yaml = root if root.is_file() else root / DATA_YAML
        data = parse_data_yaml(self.yaml)
        if not data.get(split):
            splits = [k for k in ("train", "val", "test") if data.get(k)]
            raise DatasetFormatError(f"{self.yaml}: no split {split!r} (it lists {', '.join(splits) or 'none'})")
        folder = dataset_base(self.yaml, data) / str(data[split])
        if folder.suffix == ".txt":
            raise DatasetFormatError(
                f"{self.yaml}: split {split!r} is a list file ({folder.name}); only image folders are read"
            )
        self.split, self.folder = split, folder
        self.classes = ["background", *data["names"]]
        self.files = image_files(folder)
        self.transform, self.target_transform, self.transforms = transform, target_transform, transforms

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image = load_image(self.files[index])
        height, width = image.shape[-2:]
        boxes, classes = read_labels(labels_path(self.files[index]), len(self.classes) - 1, width, height)
        target = {"boxes": boxes, "labels": classes + 1}
        return apply_to_sample(image, target, self.transform, self.target_transform, self.transforms)

    def describe(self, index: int) -> str:
        return str(self.files[index])

    def __repr__(self) -> str:
        return f"YoloDetection(split={self.split!r}, n={len(self)}, folder={str(self.folder)!r})"
