"""COCO instances files: non-finite or non-numeric boxes and image sizes, NaN literals, deep nesting, BOM."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cnnkit.data import DatasetFormatError
from cnnkit.data.formats import CocoDetection


def coco(tmp_path, bbox=(1, 2, 3, 4), image=None, text=None):
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(tmp_path / "a.png")
    document = {"images": [image or {"id": 1, "file_name": "a.png", "width": 30, "height": 20}],
                "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]},
                                {"id": 42, "image_id": 1, "category_id": 1, "bbox": list(bbox)}],
                "categories": [{"id": 1, "name": "shirt"}]}
    path = tmp_path / "instances.json"
    path.write_text(text if text is not None else json.dumps(document))
    return path


@pytest.mark.parametrize("bbox", [["nan", 1, 2, 3], [1, "2", 3, 4], [1, 2, True, 4], [1, 2, 3, None], [1, 2, 3],
                                  [1, 2, 3, {"w": 4}]])
def test_non_numeric_bbox_is_refused_naming_file_and_annotation_id(tmp_path, bbox):
    path = coco(tmp_path, bbox)
    with pytest.raises(DatasetFormatError, match=rf"{path}: annotation 42 has bbox .*four numbers"):
        CocoDetection(tmp_path, path)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused(tmp_path, literal):
    path = coco(tmp_path)
    path.write_text(path.read_text().replace('"bbox": [1, 2, 3, 4]', f'"bbox": [1, 2, {literal}, 4]'))
    with pytest.raises(DatasetFormatError, match=rf"{path}: not valid JSON \({literal} is not a JSON number"):
        CocoDetection(tmp_path, path)


def test_huge_float_bbox_is_refused(tmp_path):
    path = coco(tmp_path)
    path.write_text(path.read_text().replace('"bbox": [1, 2, 3, 4]', '"bbox": [1, 2, 1e999, 4]'))
    with pytest.raises(DatasetFormatError, match=rf"{path}: annotation 42 has bbox"):
        CocoDetection(tmp_path, path)


@pytest.mark.parametrize("key, value", [("width", "nan"), ("height", float("inf")), ("width", -3), ("height", "20")])
def test_bad_image_sizes_are_refused_naming_the_image(tmp_path, key, value):
    image = {"id": 1, "file_name": "a.png", "width": 30, "height": 20, key: value}
    path = coco(tmp_path, image=image, text=None)
    if isinstance(value, float):
        path.write_text(path.read_text().replace("Infinity", "1e999"))
    with pytest.raises(DatasetFormatError, match=rf"{path}: image 1 has {key} .*positive number"):
        CocoDetection(tmp_path, path)


def test_json_nested_100000_deep_is_one_clear_error(tmp_path):
    path = coco(tmp_path, text="[" * 100_000 + "]" * 100_000)
    with pytest.raises(DatasetFormatError, match=rf"{path}: JSON nested too deeply"):
        CocoDetection(tmp_path, path)


def test_a_byte_order_mark_is_accepted_and_invalid_utf8_refused(tmp_path):
    path = coco(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(CocoDetection(tmp_path, path)) == 1
    path.write_bytes(path.read_bytes()[3:].replace(b"shirt", b"sh\xffrt"))
    with pytest.raises(DatasetFormatError, match=rf"{path}: not valid JSON"):
        CocoDetection(tmp_path, path)
