"""YOLO txt: normalised label lines, data.yaml written and parsed, write -> read round trips, bad lines refused."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data import DatasetFormatError
from cnnkit.data.formats import YoloDetection, write_yolo
from cnnkit.data.formats.datayaml import parse_data_yaml
from tests.data.formats.records import CLASSES, tiny_records


@pytest.fixture(scope="module")
def records():
    return tiny_records(4, seed=2)


@pytest.fixture
def root(tmp_path, records):
    write_yolo(tmp_path / "yolo", records[:3], "train", CLASSES)
    return write_yolo(tmp_path / "yolo", records[3:], "val", CLASSES)


def test_label_lines_are_zero_based_and_normalised(root, records):
    lines = (root / "labels" / "train" / f"{records[0].name}.txt").read_text().splitlines()
    assert len(lines) == len(records[0].labels)
    fields = lines[0].split()
    x1, y1, x2, y2 = records[0].boxes[0]
    assert int(fields[0]) == records[0].labels[0] - 1
    assert [float(v) for v in fields[1:]] == pytest.approx(
        [(x1 + x2) / 128, (y1 + y2) / 128, (x2 - x1) / 64, (y2 - y1) / 64], abs=5.1e-7
    )


def test_data_yaml_lists_every_split_and_the_names(root):
    data = parse_data_yaml(root / "data.yaml")
    assert data["train"] == "images/train" and data["val"] == "images/val"
    assert data["names"] == CLASSES[1:] and data["nc"] == "10" and "path" not in data  # relative to the file


def test_round_trip(root, records):
    train, val = YoloDetection(root, "train"), YoloDetection(root, "val")
    assert train.classes == CLASSES and (len(train), len(val)) == (3, 1)
    for data, expected in ((train, records[:3]), (val, records[3:])):
        for i, record in enumerate(expected):
            image, target = data[i]
            assert np.array_equal(image[0], record.image / np.float32(255))
            assert np.allclose(target["boxes"], record.boxes, atol=1e-3)
            assert np.array_equal(target["labels"], record.labels)


def test_a_moved_folder_still_reads_and_a_missing_label_file_means_no_objects(root, records, tmp_path):
    moved = root.rename(tmp_path / "moved")
    (moved / "labels" / "val" / f"{records[3].name}.txt").unlink()
    _, target = YoloDetection(moved, "val")[0]
    assert target["boxes"].shape == (0, 4) and target["labels"].shape == (0,)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("3 0.5 0.5 0.2", "expected 5 fields 'class cx cy w h', got 4"),
        ("10 0.5 0.5 0.2 0.2", r"class id 10 is out of range 0..9 \(10 names\)"),
        ("2 0.95 0.5 0.2 0.2", "box cx=0.95 cy=0.5 w=0.2 h=0.2 reaches outside the image"),
        ("2 0.5 0.5 0 0.2", "box cx=0.5 cy=0.5 w=0.0 h=0.2 has a non-positive width or height"),
        ("a 0.5 0.5 0.2 0.2", "expected an integer class and four numbers"),
    ],
)
def test_bad_label_lines_are_refused_with_file_and_line(root, records, line, message):
    path = root / "labels" / "train" / f"{records[0].name}.txt"
    path.write_text("0 0.5 0.5 0.1 0.1\n" + line + "\n")
    with pytest.raises(DatasetFormatError, match=rf"{records[0].name}\.txt:2: {message}"):
        YoloDetection(root, "train")[0]


def test_missing_split_is_named(root):
    with pytest.raises(DatasetFormatError, match=r"data\.yaml: no split 'test' \(it lists train, val\)"):
        YoloDetection(root, "test")


@pytest.mark.parametrize(
    "names",
    [
        "names: ['a', \"b, c\", d]",
        "names:\n  - a\n  - 'b, c'\n  - d",
        "names: {0: a, 1: 'b, c', 2: d}",
        'names:\n  2: d\n  0: a  # first\n  1: "b, c"',
    ],
)
def test_data_yaml_parser_reads_the_common_spellings(tmp_path, names):
    path = tmp_path / "data.yaml"
    path.write_text(
        f"# comment\npath: ../datasets/x\ntrain: images/train  # images\nval: images/val\n"
        f"download: |\n  import os\n  print('hi: there')\n{names}\n"
    )
    data = parse_data_yaml(path)
    assert data["names"] == ["a", "b, c", "d"] and data["train"] == "images/train" and "download" in data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train: images\n", "lacks 'names'"),
        ("nc: 3\nnames: [a, b]\n", "nc is 3 but 2 names are listed"),
        ("names:\n  0: a\n  2: b\n", r"names keys must be 0..1, got \[0, 2\]"),
        ("names: [a]\njust text\n", r"data\.yaml:2: expected 'key: value'"),
    ],
)
def test_data_yaml_errors_name_the_file(tmp_path, text, message):
    path = tmp_path / "data.yaml"
    path.write_text(text)
    with pytest.raises(DatasetFormatError, match=message):
        parse_data_yaml(path)
