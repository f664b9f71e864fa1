"""Pascal VOC: write a VOC folder, and read any VOC folder as `VOCSegmentation` or `VOCDetection` (torchvision's names).

Layout (root is the folder holding these, or a folder with `VOCdevkit/VOC<year>/` inside, as torchvision's):
  JPEGImages/<name>.jpg         the images (any of .jpg .jpeg .png .bmp is read)
  SegmentationClass/<name>.png  palette PNGs whose stored values are class indices, 255 = ignore
  SegmentationObject/<name>.png palette PNGs of instance ids (1..n, 255 = ignore)
  Annotations/<name>.xml        per object <name>, <pose>, <truncated>, <difficult>, <bndbox> (1-based, inclusive)
  ImageSets/Main/<set>.txt, ImageSets/Segmentation/<set>.txt   one name per line
  labelmap.txt                  class names (CVAT's "name:r,g,b::" lines); without it, VOC's 21 classes

Boxes. VOC stores 1-based inclusive pixel indices; cnnkit boxes are 0-based pixel edges with x2, y2 exclusive.
The pixels of columns a..b (0-based) are written xmin = a + 1, xmax = b + 1, so x1 = xmin − 1 and x2 = xmax: the
conversion is (x1 + 1, y1 + 1, x2, y2) on writing and (xmin − 1, ymin − 1, xmax, ymax) on reading. This is
py-faster-rcnn's reading (it subtracts 1 from all four, giving inclusive 0-based x2 = b) written in edges.

Images are written as JPEG (quality 95) by default, for fidelity to VOC and its tools, so a round trip returns
them within JPEG's error (a few grey levels), not exactly; `image_format="png"` writes them losslessly under the
same folder name, and the readers accept either. Masks are always lossless PNGs.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.dataset import Dataset
from cnnkit.data.errors import DatasetFormatError
from cnnkit.data.formats.images import find_image, load_image, load_index_png, save_image, save_index_png
from cnnkit.data.formats.record import AnnotatedImage
from cnnkit.data.joint_transforms import apply_to_sample, check_transform_args

IGNORE_INDEX = 255
VOC_CLASSES = [
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
]
LABELMAP = "labelmap.txt"
BOX_FIELDS = ("xmin", "ymin", "xmax", "ymax")


def voc_palette() -> np.ndarray:
    """uint8 (256, 3): VOC's colour of index i — bits 0, 1, 2 of i, i >> 3, i >> 6 go to r, g, b from the top bit
    down. Index 1 is (128, 0, 0), 255 (ignore) is (224, 224, 192)."""
    index = np.arange(256)
    palette = np.zeros((256, 3), dtype=np.int64)
    c = index.copy()
    for j in range(8):
        for channel in range(3):
            palette[:, channel] |= ((c >> channel) & 1) << (7 - j)
        c >>= 3
    return palette.astype(np.uint8)


# ----------------------------------------------------------------------------------------------- writing
def labelmap_text(classes: Sequence[str]) -> str:
    palette = voc_palette()
    lines = ["# label:color_rgb:parts:actions"]
    lines += [f"{name}:{','.join(str(int(v)) for v in palette[i])}::" for i, name in enumerate(classes)]
    return "\n".join(lines) + "\n"


def number(value: float) -> str:
    """A coordinate as VOC writes it: an integer when whole, else up to 6 significant digits."""
    return str(int(value)) if float(value).is_integer() else format(float(value), ".6g")


def annotation_xml(record: AnnotatedImage, filename: str, classes: Sequence[str], database: str) -> str:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = filename
    ET.SubElement(ET.SubElement(root, "source"), "database").text = database
    size = ET.SubElement(root, "size")
    for tag, value in (("width", record.width), ("height", record.height), ("depth", record.depth)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, "segmented").text = "1" if record.mask is not None else "0"
    for box, label in zip(record.boxes, record.labels, strict=True):
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = classes[int(label)]
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bndbox = ET.SubElement(obj, "bndbox")
        for tag, value in zip(BOX_FIELDS, (box[0] + 1, box[1] + 1, box[2], box[3]), strict=True):
            ET.SubElement(bndbox, tag).text = number(value)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def object_png(record: AnnotatedImage) -> np.ndarray:
    """SegmentationObject values: instance ids, with 255 where the class mask says ignore."""
    objects = np.asarray(record.instances, dtype=np.uint8).copy()
    if record.mask is not None:
        objects[np.asarray(record.mask) == IGNORE_INDEX] = IGNORE_INDEX
    return objects


def write_voc(
    root: str | os.PathLike,
    records: Iterable[AnnotatedImage],
    image_set: str,
    classes: Sequence[str],
    image_format: str = "jpg",
    database: str = "cnnkit",
) -> Path:
    """Write the records as a VOC folder's image set `image_set` (replacing that set's lists); returns root."""
    if image_format not in ("jpg", "png"):
        raise ValueError(f"write_voc: image_format must be 'jpg' or 'png', got {image_format!r}")
    root = Path(root)
    palette = voc_palette()
    names, segmented = [], []
    for record in records:
        filename = f"{record.name}.{image_format}"
        save_image(root / "JPEGImages" / filename, record.image)
        xml = annotation_xml(record, filename, classes, database)
        (root / "Annotations").mkdir(parents=True, exist_ok=True)
        (root / "Annotations" / f"{record.name}.xml").write_text(xml)
        if record.mask is not None:
            save_index_png(root / "SegmentationClass" / f"{record.name}.png", record.mask, palette)
            segmented.append(record.name)
        if record.instances is not None:
            save_index_png(root / "SegmentationObject" / f"{record.name}.png", object_png(record), palette)
        names.append(record.name)
    for folder, listed in (("Main", names), ("Segmentation", segmented)):
        (root / "ImageSets" / folder).mkdir(parents=True, exist_ok=True)
        (root / "ImageSets" / folder / f"{image_set}.txt").write_text("".join(f"{n}\n" for n in listed))
    (root / LABELMAP).write_text(labelmap_text(classes))
    return root


# ----------------------------------------------------------------------------------------------- reading
def voc_root(root: str | os.PathLike, year: str) -> Path:
    """The folder holding ImageSets/: root itself, or root/VOCdevkit/VOC<year> (torchvision's layout)."""
    root = Path(root).expanduser()
    for candidate in (root, root / "VOCdevkit" / f"VOC{year}"):
        if (candidate / "ImageSets").is_dir():
            return candidate
    raise DatasetFormatError(f"{root}: not a VOC folder (no ImageSets/ in it, nor in VOCdevkit/VOC{year}/)")


MAX_LIST_BYTES = 16 << 20  # an image-set list or labelmap: ~1,000,000 names, far beyond any real one


def read_list_text(path: Path, holds: str) -> str:
    """A list file's text (an image set, labelmap.txt): UTF-8, a byte-order mark dropped; a file that is too
    large or not UTF-8 is refused naming it (`holds`: what it should hold, for the message)."""
    size = path.stat().st_size
    if size > MAX_LIST_BYTES:
        raise DatasetFormatError(f"{path}: {size:,} bytes, more than the {MAX_LIST_BYTES:,} a list of {holds} may "
                                 "hold")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetFormatError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason}); it should list "
                                 f"{holds}") from None


def read_labelmap(path: Path) -> list[str]:
    """Class names from CVAT's labelmap.txt ('name:r,g,b:parts:actions' per line, '#' comments)."""
    names = []
    for number_, line in enumerate(read_list_text(path, "class names").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.rsplit(":", 3)
        if len(parts) != 4 or not parts[0]:
            raise DatasetFormatError(f"{path}:{number_}: expected 'name:r,g,b:parts:actions', got {line!r}")
        names.append(parts[0])
    if not names:
        raise DatasetFormatError(f"{path}: lists no classes")
    return names


def voc_classes(folder: Path, classes: Sequence[str] | None) -> list[str]:
    """The classes given, else those of folder/labelmap.txt, else VOC's 21 (index 0 = background)."""
    if classes is not None:
        return list(classes)
    labelmap = folder / LABELMAP
    return read_labelmap(labelmap) if labelmap.is_file() else list(VOC_CLASSES)


def read_image_set(folder: Path, kind: str, image_set: str) -> list[str]:
    path = folder / "ImageSets" / kind / f"{image_set}.txt"
    if not path.is_file():
        sets = sorted(p.stem for p in (folder / "ImageSets" / kind).glob("*.txt"))
        raise DatasetFormatError(f"{path}: no such image set list (found: {', '.join(sets) or 'none'})")
    names = [line.split()[0] for line in read_list_text(path, "image names").splitlines() if line.strip()]
    for number_, name in enumerate(names, start=1):  # a name is a file stem in the dataset's own folders
        if "/" in name or "\\" in name or name in (".", ".."):
            raise DatasetFormatError(f"{path}: image name {name!r} (entry {number_}) is a path, not a file name "
                                     "in JPEGImages/; refused")
    return names


def required(element: ET.Element, path: str, where: str, file: Path) -> str:
    found = element.find(path)
    if found is None or found.text is None or not found.text.strip():
        raise DatasetFormatError(f"{file}: {where} lacks <{path.replace('/', '>/<')}>")
    return found.text.strip()


def required_number(element: ET.Element, path: str, where: str, file: Path) -> float:
    text = required(element, path, where, file)
    try:
        value = float(text)
    except ValueError:
        raise DatasetFormatError(f"{file}: {where} has <{path}> {text!r}, not a number") from None
    if not math.isfinite(value):
        raise DatasetFormatError(f"{file}: {where} has <{path}> {text!r}, not a finite number")
    return value


def parse_object(
    obj: ET.Element, index: int, size: tuple[int, int], classes: Sequence[str], file: Path
) -> tuple[list[float], int, bool]:
    """(box in cnnkit's edges, label, difficult) of one <object>, checked against the classes and the image."""
    where = f"object {index}"
    name = required(obj, "name", where, file)
    if name not in classes:
        raise DatasetFormatError(
            f"{file}: {where} has class {name!r}, not one of the {len(classes)} classes ({', '.join(classes)})"
        )
    if obj.find("bndbox") is None:
        raise DatasetFormatError(f"{file}: {where} lacks <bndbox>")
    xmin, ymin, xmax, ymax = (required_number(obj, f"bndbox/{tag}", where, file) for tag in BOX_FIELDS)
    width, height = size
    if not (1 <= xmin <= xmax <= width and 1 <= ymin <= ymax <= height):
        raise DatasetFormatError(
            f"{file}: {where} ({name}) has box xmin={number(xmin)} ymin={number(ymin)} "
            f"xmax={number(xmax)} ymax={number(ymax)} outside its {width}×{height} image "
            f"(VOC boxes are 1-based: 1 <= xmin <= xmax <= width)"
        )
    difficult = obj.find("difficult")
    hard = difficult is not None and (difficult.text or "0").strip() not in ("0", "")
    return [xmin - 1, ymin - 1, xmax, ymax], classes.index(name), hard


def parse_voc_xml(file: str | os.PathLike, classes: Sequence[str]) -> dict[str, Any]:
    """An annotation file as {"boxes" float32 (n, 4), "labels" int64, "difficult" bool, "size" (w, h)}."""
    file = Path(file)
    try:
        root = ET.parse(file).getroot()
    except FileNotFoundError:
        raise DatasetFormatError(f"{file}: file not found") from None
    except ET.ParseError as error:
        raise DatasetFormatError(f"{file}: not well-formed XML ({error})") from None
    if root.tag != "annotation":
        raise DatasetFormatError(f"{file}: the root element is <{root.tag}>, expected <annotation>")
    size = (
        int(required_number(root, "size/width", "the annotation", file)),
        int(required_number(root, "size/height", "the annotation", file)),
    )
    if min(size) < 1:
        raise DatasetFormatError(f"{file}: the annotation has <size> {size[0]}×{size[1]}, expected positive sizes")
    parsed = [parse_object(obj, i, size, classes, file) for i, obj in enumerate(root.findall("object"))]
    return {
        "boxes": np.array([p[0] for p in parsed], dtype=np.float32).reshape(-1, 4),
        "labels": np.array([p[1] for p in parsed], dtype=np.int64),
        "difficult": np.array([p[2] for p in parsed], dtype=bool),
        "size": size,
    }


def check_mask(mask: np.ndarray, image: np.ndarray, classes: Sequence[str], mask_path: Path, image_path: Path) -> None:
    """Refuse a mask of another size than its image, or holding a class id beyond the classes (255 allowed)."""
    if mask.shape != image.shape[-2:]:
        raise DatasetFormatError(
            f"{mask_path}: mask is {mask.shape[1]}×{mask.shape[0]} (w×h) but its image "
            f"{image_path.name} is {image.shape[-1]}×{image.shape[-2]}"
        )
    values = np.unique(mask)
    bad = values[(values >= len(classes)) & (values != IGNORE_INDEX)]
    if bad.size:
        raise DatasetFormatError(
            f"{mask_path}: class id {int(bad[0])} is out of range: the {len(classes)} classes "
            f"are 0..{len(classes) - 1}, and 255 means ignore"
        )


class VOCDataset(Dataset):
    """Shared base of the VOC readers: finds the folder, the classes and the image set's names."""

    kind = "Main"

    def __init__(
        self,
        root: str | os.PathLike,
        year: str = "2012",
        image_set: str = "train",
        download: bool = False,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        transforms: Callable | None = None,
        *,
        classes: Sequence[str] | None = None,
    ) -> None:
        name = type(self).__name__
        if download:
            raise ValueError(
                f"{name}: cnnkit does not download Pascal VOC; fetch it (e.g. VOCtrainval_11-May-2012"
                f".tar), extract it and pass its folder as root with download=False"
            )
        check_transform_args(name, transform, target_transform, transforms)
        self.root = voc_root(root, year)
        self.image_set = image_set
        self.classes = voc_classes(self.root, classes)
        self.names = read_image_set(self.root, self.kind, image_set)
        self.transform, self.target_transform, self.transforms = transform, target_transform, transforms

    def __len__(self) -> int:
        return len(self.names)

    def image_path(self, index: int) -> Path:
        return find_image(self.root / "JPEGImages", self.names[index])

    def describe(self, index: int) -> str:
        return f"{self.names[index]} in {self.root}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(image_set={self.image_set!r}, n={len(self)}, root={str(self.root)!r})"


class VOCSegmentation(VOCDataset):
    """Items: (image float32 (C, H, W) in [0, 1], label mask int64 (H, W) with 255 = ignore)."""

    kind = "Segmentation"

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image_path = self.image_path(index)
        mask_path = self.root / "SegmentationClass" / f"{self.names[index]}.png"
        image, mask = load_image(image_path), load_index_png(mask_path)
        check_mask(mask, image, self.classes, mask_path, image_path)
        return apply_to_sample(image, mask.astype(np.int64), self.transform, self.target_transform, self.transforms)


class VOCDetection(VOCDataset):
    """Items: (image float32 (C, H, W), {"boxes" float32 (n, 4) xyxy edges, "labels" int64, "difficult" bool})."""

    kind = "Main"

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image_path = self.image_path(index)
        xml_path = self.root / "Annotations" / f"{self.names[index]}.xml"
        target = parse_voc_xml(xml_path, self.classes)
        image = load_image(image_path)
        width, height = target.pop("size")
        if (height, width) != image.shape[-2:]:
            raise DatasetFormatError(
                f"{xml_path}: <size> says {width}×{height} but {image_path.name} is {image.shape[-1]}×{image.shape[-2]}"
            )
        return apply_to_sample(image, target, self.transform, self.target_transform, self.transforms)
