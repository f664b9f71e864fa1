"""YOLO folders: non-finite or non-numeric labels, byte-order marks, invalid UTF-8, huge label files, and the
data.yaml `cnnkit data scenes` writes (relative: a copied folder reads its own files)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from cnnkit.cli import main
from cnnkit.data import DatasetFormatError
from cnnkit.data.formats import YoloDetection
from cnnkit.data.formats.yolo import MAX_LABEL_BYTES
from tests.data.scenes.tiny_items import write_tiny_items


def yolo_folder(root, label: bytes, yaml: bytes = b"train: images/train\nnames: [shirt, shoe]\n"):
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(root / "images" / "train" / "a.png")
    (root / "labels" / "train" / "a.txt").write_bytes(label)
    (root / "data.yaml").write_bytes(yaml)
    return root / "labels" / "train" / "a.txt"


@pytest.mark.parametrize("line", ["1 nan 0.5 0.2 0.2", "0 0.5 inf 0.2 0.2", "0 0.5 0.5 -inf 0.2", "0 0.5 0.5 0.2 NaN",
                                  "0 0.5 0.5 0.2 abc", "x 0.5 0.5 0.2 0.2", "0 0.5 0.5 0.2 1e999"])
def test_non_finite_or_non_numeric_coordinates_are_refused_naming_file_and_line(tmp_path, line):
    label = yolo_folder(tmp_path, f"0 0.5 0.5 0.2 0.2\n{line}\n".encode())
    with pytest.raises(DatasetFormatError, match=rf"{label}:2: "):
        YoloDetection(tmp_path)[0]


def test_a_byte_order_mark_is_dropped(tmp_path):
    yolo_folder(tmp_path, b"\xef\xbb\xbf1 0.5 0.5 0.2 0.4\n", yaml=b"\xef\xbb\xbftrain: images/train\nnames: [a, b]\n")
    _, target = YoloDetection(tmp_path)[0]
    np.testing.assert_allclose(target["boxes"], [[12, 6, 18, 14]], atol=1e-4)
    assert target["labels"].tolist() == [2]


def test_invalid_utf8_is_refused_naming_the_file(tmp_path):
    label = yolo_folder(tmp_path, b"0 0.5 0.5 0.2 0.2\n\xff\xfe 0.5\n")
    with pytest.raises(DatasetFormatError, match=rf"{label}: not UTF-8 text"):
        YoloDetection(tmp_path)[0]


def test_invalid_utf8_in_data_yaml_is_refused_naming_it(tmp_path):
    yolo_folder(tmp_path, b"", yaml=b"train: images/train\nnames: [\xff]\n")
    with pytest.raises(DatasetFormatError, match=r"data.yaml: not UTF-8 text"):
        YoloDetection(tmp_path)


def test_a_huge_label_file_is_refused_before_it_is_read(tmp_path):
    label = yolo_folder(tmp_path, b"")
    with open(label, "wb") as f:
        f.truncate(MAX_LABEL_BYTES + 1)  # sparse: no disk used
    with pytest.raises(DatasetFormatError, match=rf"{label}: .* more than"):
        YoloDetection(tmp_path)[0]


def test_scenes_data_yaml_is_relative_so_a_copy_reads_its_own_files(tmp_path, capsys):
    items = write_tiny_items(tmp_path / "items", n_train=5020, n_test=10)
    original = tmp_path / "original"
    assert main(["data", "scenes", "--out", str(original), "--format", "yolo", "--split", "test", "--count", "2",
                 "--data-dir", str(items)]) == 0
    text = (original / "data.yaml").read_text()
    assert str(tmp_path) not in text  # no absolute path
    copy = tmp_path / "moved" / "copy"
    shutil.copytree(original, copy)
    first = (copy / "images" / "test").iterdir().__next__()
    Image.fromarray(np.full((64, 64), 7, np.uint8)).save(first)  # the copy differs from the original
    shutil.rmtree(original)
    data = YoloDetection(copy, split="test")
    assert data.folder == copy / "images" / "test"
    assert len(data) == 2 and any(np.allclose(data[i][0], 7 / 255) for i in range(2))
