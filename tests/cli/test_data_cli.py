"""`cnnkit data scenes`: VOC, COCO and YOLO folders that the readers load back equal to the scenes; one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.cli import main
from cnnkit.data.formats import CocoDetection, VOCDetection, VOCSegmentation, YoloDetection
from cnnkit.data.scenes import FashionScenes
from tests.data.scenes.tiny_items import write_tiny_items


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    # 5,020 training items: the last 5,000 are held out for validation scenes, as with the real data set
    return write_tiny_items(tmp_path_factory.mktemp("items"), n_train=5020, n_test=30)


@pytest.fixture(scope="module")
def expected(data_dir):
    return FashionScenes(data_dir, split="test", num_scenes=3)


def write(data_dir, out, fmt, *extra):
    args = ["data", "scenes", "--out", str(out), "--format", fmt, "--split", "test", "--count", "3"]
    return main([*args, "--data-dir", str(data_dir), *extra])


def test_voc(data_dir, expected, tmp_path, capsys):
    assert write(data_dir, tmp_path, "voc") == 0  # JPEG first, then PNG: the JPEGs must not linger
    assert sorted(p.suffix for p in (tmp_path / "JPEGImages").iterdir()) == [".jpg"] * 3
    assert write(data_dir, tmp_path, "voc", "--image-format", "png") == 0
    assert sorted(p.suffix for p in (tmp_path / "JPEGImages").iterdir()) == [".png"] * 3
    assert "test: 3 scenes" in capsys.readouterr().out
    segmentation, detection = VOCSegmentation(tmp_path, image_set="test"), VOCDetection(tmp_path, image_set="test")
    for i in range(3):
        image, target = expected[i]
        assert np.array_equal(segmentation[i][0], image) and np.array_equal(segmentation[i][1], target["mask"])
        assert np.array_equal(detection[i][1]["boxes"], target["boxes"])
        assert np.array_equal(detection[i][1]["labels"], target["labels"])


def test_coco(data_dir, expected, tmp_path):
    assert write(data_dir, tmp_path, "coco") == 0
    data = CocoDetection(tmp_path / "test", tmp_path / "annotations" / "instances_test.json")
    for i in range(3):
        image, target = expected[i]
        got_image, got = data[i]
        assert np.array_equal(got_image, image) and np.array_equal(got["masks"], target["masks"])
        assert np.array_equal(got["boxes"], target["boxes"]) and np.array_equal(got["labels"], target["labels"])


def test_yolo_with_clutter_and_every_split(data_dir, tmp_path):
    assert write(data_dir, tmp_path, "yolo", "--clutter") == 0
    assert (
        main(
            [
                "data",
                "scenes",
                "--out",
                str(tmp_path),
                "--format",
                "yolo",
                "--split",
                "all",
                "--count",
                "2",
                "--clutter",
                "--data-dir",
                str(data_dir),
            ]
        )
        == 0
    )
    cluttered = FashionScenes(data_dir, split="val", clutter=True, num_scenes=2)
    val = YoloDetection(tmp_path, "val")
    assert len(val) == 2 and len(YoloDetection(tmp_path, "test")) == 2  # --count 2 rewrote the test split's files
    image, target = val[1]
    assert np.array_equal(image, cluttered[1][0])
    assert np.allclose(target["boxes"], cluttered[1][1]["boxes"], atol=1e-3)


def test_help_and_one_line_errors(data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "scenes", "--help"])
    assert exit_info.value.code == 0 and "--format {voc,coco,yolo}" in capsys.readouterr().out
    assert write(data_dir, tmp_path, "voc", "--count", "0") == 2
    assert capsys.readouterr().err.strip() == "cnnkit data: error: --count must be at least 1, got 0"
    (tmp_path / "file").write_text("x")
    assert write(data_dir, tmp_path / "file", "coco") == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "scenes", "--out", str(tmp_path), "--format", "pascal"])
    assert exit_info.value.code == 2 and "invalid choice: 'pascal'" in capsys.readouterr().err
