"""Pascal VOC: palette, box convention, write -> read round trips, and malformed folders refused by name."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from cnnkit.data import DatasetFormatError
from cnnkit.data.formats import VOC_CLASSES, VOCDetection, VOCSegmentation, voc_palette, write_voc
from tests.data.formats.records import CLASSES, tiny_records


@pytest.fixture(scope="module")
def records():
    return tiny_records(5)


@pytest.fixture
def png_folder(tmp_path, records):
    return write_voc(tmp_path / "voc", records, "val", CLASSES, image_format="png")


def test_palette_is_vocs():
    palette = voc_palette()
    assert palette[0].tolist() == [0, 0, 0] and palette[1].tolist() == [128, 0, 0]
    assert palette[15].tolist() == [192, 128, 128]  # person
    assert palette[255].tolist() == [224, 224, 192]  # the void border
    assert len(VOC_CLASSES) == 21


def test_layout_and_one_based_inclusive_boxes(png_folder, records):
    for sub in (
        "JPEGImages",
        "Annotations",
        "SegmentationClass",
        "SegmentationObject",
        "ImageSets/Main",
        "ImageSets/Segmentation",
    ):
        assert (png_folder / sub).is_dir()
    assert (png_folder / "ImageSets/Segmentation/val.txt").read_text().split() == [r.name for r in records]
    xml = (png_folder / "Annotations" / f"{records[0].name}.xml").read_text()
    x1, y1, x2, y2 = (int(v) for v in records[0].boxes[0])
    assert f"<xmin>{x1 + 1}</xmin>" in xml and f"<ymin>{y1 + 1}</ymin>" in xml
    assert f"<xmax>{x2}</xmax>" in xml and f"<ymax>{y2}</ymax>" in xml
    assert f"<name>{CLASSES[records[0].labels[0]]}</name>" in xml
    mask_png = Image.open(png_folder / "SegmentationClass" / f"{records[0].name}.png")
    assert mask_png.mode == "P" and np.array_equal(np.asarray(mask_png), records[0].mask)


def test_png_round_trip_is_exact(png_folder, records):
    segmentation = VOCSegmentation(png_folder, image_set="val")
    detection = VOCDetection(png_folder, image_set="val")
    assert segmentation.classes == CLASSES and len(segmentation) == len(detection) == len(records)
    for i, record in enumerate(records):
        image, mask = segmentation[i]
        assert np.array_equal(image[0], record.image / np.float32(255))
        assert mask.dtype == np.int64 and np.array_equal(mask, record.mask)
        _, target = detection[i]
        assert np.array_equal(target["boxes"], record.boxes.astype(np.float32))
        assert np.array_equal(target["labels"], record.labels) and not target["difficult"].any()


def test_jpeg_round_trip_within_tolerance(tmp_path, records):
    folder = write_voc(tmp_path / "voc", records, "train", CLASSES)  # JPEG, quality 95, by default
    assert (folder / "JPEGImages" / f"{records[0].name}.jpg").is_file()
    data = VOCSegmentation(folder)
    for i, record in enumerate(records):
        image, mask = data[i]
        error = np.abs(image[0] * 255 - record.image)
        assert error.mean() < 2.0 and error.max() < 40
        assert np.array_equal(mask, record.mask)  # masks are PNG: exact


def test_torchvision_layout_is_found(tmp_path, records):
    write_voc(tmp_path / "VOCdevkit" / "VOC2012", records, "train", CLASSES, image_format="png")
    assert len(VOCDetection(tmp_path, year="2012")) == len(records)


def test_without_labelmap_the_classes_are_vocs(png_folder):
    (png_folder / "labelmap.txt").unlink()
    assert VOCSegmentation(png_folder, image_set="val").classes == VOC_CLASSES


def name_of(folder, i=0):
    return (folder / "ImageSets/Main/val.txt").read_text().split()[i]


def test_mask_of_another_size_is_refused(png_folder):
    name = name_of(png_folder)
    Image.fromarray(np.zeros((60, 64), np.uint8)).save(png_folder / "SegmentationClass" / f"{name}.png")
    with pytest.raises(DatasetFormatError, match=rf"{name}\.png: mask is 64×60 \(w×h\) but its image {name}\.png"):
        VOCSegmentation(png_folder, image_set="val")[0]


def test_class_id_out_of_range_is_refused(png_folder):
    name = name_of(png_folder)
    mask = np.zeros((64, 64), np.uint8)
    mask[3, 3] = 23
    Image.fromarray(mask).save(png_folder / "SegmentationClass" / f"{name}.png")
    with pytest.raises(DatasetFormatError, match=rf"{name}\.png: class id 23 is out of range: the 11 classes"):
        VOCSegmentation(png_folder, image_set="val")[0]


def test_colour_mask_is_refused(png_folder):
    name = name_of(png_folder)
    Image.new("RGB", (64, 64)).save(png_folder / "SegmentationClass" / f"{name}.png")
    with pytest.raises(DatasetFormatError, match=r"expected a palette \('P'\) or grey \('L'\) PNG.*'RGB'"):
        VOCSegmentation(png_folder, image_set="val")[0]


def edit_xml(folder, pattern: str, replacement: str) -> str:
    """Apply one regex substitution (first match) to the first listed image's annotation; returns its name."""
    name = name_of(folder)
    path = folder / "Annotations" / f"{name}.xml"
    text, n = re.subn(pattern, replacement, path.read_text(), count=1)
    assert n == 1
    path.write_text(text)
    return name


@pytest.mark.parametrize(
    ("pattern", "replacement", "message"),
    [
        (r"<xmin>(.*?)</xmin>", r"<left>\1</left>", r"object 0 lacks <bndbox>/<xmin>"),
        (r"<name>(.*?)</name>", r"<label>\1</label>", r"object 0 lacks <name>"),
        (r"<width>64</width>", "", r"the annotation lacks <size>/<width>"),
        (r"<name>(.*?)</name>", "<name>Jacket</name>", r"object 0 has class 'Jacket', not one of the 11 classes"),
        (r"<xmin>(.*?)</xmin>", "<xmin>left</xmin>", r"object 0 has <bndbox/xmin> 'left', not a number"),
        (r"</annotation>", "", r"not well-formed XML"),
    ],
)
def test_malformed_xml_is_refused_naming_the_file(png_folder, pattern, replacement, message):
    name = edit_xml(png_folder, pattern, replacement)
    with pytest.raises(DatasetFormatError, match=rf"{name}\.xml: {message}"):
        VOCDetection(png_folder, image_set="val")[0]


def test_box_outside_the_image_is_refused(png_folder):
    name = name_of(png_folder)
    path = png_folder / "Annotations" / f"{name}.xml"
    text = path.read_text()
    start = text.index("<xmax>") + len("<xmax>")
    path.write_text(text[:start] + "65" + text[text.index("</xmax>") :])
    with pytest.raises(DatasetFormatError, match=rf"{name}\.xml: object 0 .* xmax=65 .* outside its 64×64 image"):
        VOCDetection(png_folder, image_set="val")[0]


def test_missing_lists_and_folders_are_named(png_folder, tmp_path):
    with pytest.raises(DatasetFormatError, match=r"ImageSets/Main/test\.txt: no such image set list \(found: val\)"):
        VOCDetection(png_folder, image_set="test")
    with pytest.raises(DatasetFormatError, match="not a VOC folder"):
        VOCDetection(tmp_path)
    with pytest.raises(ValueError, match="does not download Pascal VOC"):
        VOCSegmentation(png_folder, download=True)
