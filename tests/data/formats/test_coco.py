"""COCO instances: write -> read round trips (images, boxes, classes, RLE masks, areas); malformed JSON refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnkit.data import DatasetFormatError
from cnnkit.data.formats import CocoDetection, semantic_mask, write_coco
from tests.data.formats.records import CLASSES, tiny_records


@pytest.fixture(scope="module")
def records():
    return tiny_records(5, seed=1)


@pytest.fixture
def written(tmp_path, records):
    json_path = write_coco(tmp_path / "coco", records, "val", CLASSES)
    return tmp_path / "coco" / "val", json_path


def test_json_fields_follow_coco(written, records):
    _, json_path = written
    document = json.loads(json_path.read_text())
    assert [c["id"] for c in document["categories"]] == list(range(1, 11))
    assert document["categories"][0]["name"] == "T-shirt/top"
    first = document["annotations"][0]
    x1, y1, x2, y2 = records[0].boxes[0]
    assert first["bbox"] == [x1, y1, x2 - x1, y2 - y1]  # top-left corner, width, height; no +1
    assert first["area"] == float((records[0].instances == 1).sum()) and first["iscrowd"] == 0
    assert first["category_id"] == records[0].labels[0]
    assert first["segmentation"]["size"] == [64, 64] and isinstance(first["segmentation"]["counts"], list)
    assert document["images"][0] == {"id": 1, "file_name": "scene_000.png", "width": 64, "height": 64}


def test_round_trip(written, records):
    images_dir, json_path = written
    data = CocoDetection(images_dir, json_path)
    assert data.classes == CLASSES and data.category_ids[1:] == list(range(1, 11)) and len(data) == len(records)
    for i, record in enumerate(records):
        image, target = data[i]
        assert np.array_equal(image[0], record.image / np.float32(255))
        assert np.array_equal(target["boxes"], record.boxes.astype(np.float32))
        assert np.array_equal(target["labels"], record.labels)
        n = len(record.labels)
        assert target["masks"].shape == (n, 64, 64)
        for k in range(n):
            assert np.array_equal(target["masks"][k], record.instances == k + 1)
        assert np.array_equal(target["area"], target["masks"].sum(axis=(1, 2)))
        painted = np.concatenate([[0], record.labels])[record.instances]  # the label mask without the band
        assert np.array_equal(semantic_mask(target, 64, 64), painted)


def test_category_ids_with_gaps_map_to_contiguous_labels(written):
    images_dir, json_path = written
    document = json.loads(json_path.read_text())
    for category in document["categories"]:
        category["id"] *= 10
    for annotation in document["annotations"]:
        annotation["category_id"] *= 10
    json_path.write_text(json.dumps(document))
    data = CocoDetection(images_dir, json_path)
    assert data.category_ids[1:] == list(range(10, 101, 10)) and data.classes == CLASSES
    assert data[0][1]["labels"].tolist() == [
        a["category_id"] // 10 for a in document["annotations"] if a["image_id"] == 1
    ]


def rewrite(json_path, edit) -> None:
    document = json.loads(json_path.read_text())
    edit(document)
    json_path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("annotations"), "the file lacks the field 'annotations'"),
        (lambda d: d["annotations"][0].pop("bbox"), "annotation 1 lacks the field 'bbox'"),
        (lambda d: d["images"][0].pop("file_name"), "image 1 lacks the field 'file_name'"),
        (lambda d: d["annotations"][0].update(category_id=77), r"annotation 1 has category_id 77, not among"),
        (lambda d: d["annotations"][0].update(image_id=99), "annotation 1 refers to image_id 99, which is not listed"),
        (
            lambda d: d["annotations"][0].update(bbox=[50, 10, 20, 5]),
            r"annotation 1 has bbox \[50, 10, 20, 5\] outside "
            r"its 64×64 image 'scene_000.png'",
        ),
        (
            lambda d: d["annotations"][0].update(bbox=[5, 10, 0, 5]),
            r"annotation 1 has bbox \[5, 10, 0, 5\] with a "
            r"non-positive width or height",
        ),
        (lambda d: d["annotations"][0].update(bbox=[5, 10, "x"]), r"annotation 1 has bbox .* expected four numbers"),
    ],
)
def test_malformed_json_is_refused_naming_the_file(written, edit, message):
    images_dir, json_path = written
    rewrite(json_path, edit)
    with pytest.raises(DatasetFormatError, match=rf"instances_val\.json: {message}"):
        CocoDetection(images_dir, json_path)


def test_not_json_and_wrong_image_size_are_refused(written):
    images_dir, json_path = written
    rewrite(json_path, lambda d: d["images"][0].update(width=80, height=80))
    with pytest.raises(DatasetFormatError, match=r"image 1 is listed as 80×80 but .*scene_000\.png is 64×64"):
        CocoDetection(images_dir, json_path)[0]
    json_path.write_text("{not json")
    with pytest.raises(DatasetFormatError, match=r"instances_val\.json: not valid JSON"):
        CocoDetection(images_dir, json_path)


def test_boxes_only_records_write_empty_segmentations(tmp_path, records):
    bare = [type(r)(r.name, r.image, r.boxes, r.labels) for r in records[:2]]
    json_path = write_coco(tmp_path, bare, "train", CLASSES, image_format="jpg")
    _, target = CocoDetection(tmp_path / "train", json_path)[0]
    assert "masks" not in target and np.array_equal(target["boxes"], bare[0].boxes.astype(np.float32))
