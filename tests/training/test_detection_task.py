"""`--task detect` through the one trainer on scenes built from a tiny Fashion-MNIST: YOLO's history with val mAP
and its resume to identical weights, propose-classify through the same loop, mirrored batches, refused options,
and the command line (train, eval's mAP table, predict's boxes and drawn image)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cnnkit
from cnnkit.cli import main
from cnnkit.training.history import TIMING_COLUMNS
from cnnkit.training.run import RunConfig, train
from cnnkit.training.tasks import get_task
from tests.training.interrupt import train_killed_in_epoch_two
from tests.training.tiny_data import write_tiny_fashion

TINY = {"num_scenes": 48, "val_items": 60}
SMALL_YOLO = {"width": 4}


def _config(data_dir, out, epochs: int = 2, model: str = "yolo", model_args=None) -> RunConfig:
    return RunConfig.for_task(
        "detect",
        data_dir=str(data_dir),
        out=str(out),
        epochs=epochs,
        batch_size=16,
        eval_batch_size=8,
        data_args=dict(TINY),
        model=model,
        model_args=dict(SMALL_YOLO if model_args is None else model_args),
    )


@pytest.fixture(scope="module")
def tiny_fashion(tmp_path_factory):
    return write_tiny_fashion(tmp_path_factory.mktemp("fashion"), n_train=200, n_test=60)


def _weights(run_dir):
    from safetensors.numpy import load_file

    return {k: v for k, v in load_file(str(run_dir / "last.safetensors")).items() if k.startswith("model.")}


def _untimed(history):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in history]


def test_detect_defaults_are_yolo_on_the_scenes_with_adam_and_flips() -> None:
    config = RunConfig.for_task("detect")
    assert (config.model, config.dataset, config.optimizer, config.augment, config.batch_size) == (
        "yolo",
        "fashion-scenes",
        "adam",
        "flip",
        32,
    )
    # the shipped recipe: three times the default training scenes for half the epochs, with an average of the
    # weights; its data_args and ema go with yolo only
    assert (config.epochs, config.data_args, config.ema) == (15, {"train_scenes": 60000}, 0.999)
    other = RunConfig.for_task("detect", model="propose_classify")
    assert (other.data_args, other.ema) == ({}, 0.0)
    config.data_args["train_scenes"] = 8  # a run's config is its own copy of the defaults
    assert RunConfig.for_task("detect").data_args == {"train_scenes": 60000}


def test_yolo_run_writes_val_map_history_and_resumes_to_the_same_weights(tiny_fashion, tmp_path, monkeypatch) -> None:
    whole = train(_config(tiny_fashion, tmp_path / "whole"), progress=False, log=lambda *_: None)
    rows = whole.history
    assert [r["epoch"] for r in rows] == [1, 2]
    assert {"train_loss", "train_accuracy", "val_loss", "val_map50", "val_map"} <= set(rows[0])
    assert 0.0 <= rows[-1]["val_map50"] <= 1.0 and 0.0 <= rows[-1]["val_map"] <= rows[-1]["val_map50"] + 1e-9
    assert rows[1]["train_loss"] < rows[0]["train_loss"]  # the loss goes down
    assert whole.score_name == "map50" and whole.eval_split == "val"
    meta = json.loads((tmp_path / "whole" / "last.json").read_text())
    assert (
        meta["kind"] == "detection"
        and meta["data"]["classes"][0] == "T-shirt/top"
        and len(meta["data"]["classes"]) == 10
    )

    train_killed_in_epoch_two(_config(tiny_fashion, tmp_path / "cut"), monkeypatch)
    resumed = train(_config(tiny_fashion, tmp_path / "cut"), resume=True, progress=False, log=lambda *_: None)
    assert _untimed(resumed.history) == _untimed(rows)
    expected, got = _weights(tmp_path / "whole"), _weights(tmp_path / "cut")
    assert expected and all(np.array_equal(expected[k], got[k]) for k in expected)


def test_propose_classify_trains_on_crops_and_is_scored_on_whole_scenes(tiny_fashion, tmp_path) -> None:
    config = _config(tiny_fashion, tmp_path / "pc", epochs=1, model="propose-classify", model_args={"stride": 8})
    result = train(config, progress=False, log=lambda *_: None)
    [row] = result.history
    assert row["images_per_second"] > 0 and 0.0 <= row["val_map50"] <= 1.0 and np.isfinite(row["val_loss"])
    assert 0.0 <= row["train_accuracy"] <= 1.0


def test_yolo_batches_mirror_images_with_their_targets() -> None:
    from cnnkit.detection.yolo import encode_targets

    task, config = get_task("detect"), RunConfig.for_task("detect")

    class Info:
        mean, std = (0.0,), (1.0,)

    images = np.zeros((2, 1, 64, 64), np.float32)
    images[:, 0, 10:20, 3:20] = 1  # an object at x 3…20, y 10…20 in both scenes
    targets, _ = encode_targets([np.array([[3, 10, 20, 20]], np.float32)] * 2, [np.array([4])] * 2, 10)
    cnnkit.manual_seed(0)  # a seed whose draws flip the second scene only
    flipped, flipped_targets = task.batch_transform(config, Info, True)(images, targets)
    assert np.array_equal(flipped[0], images[0]) and np.array_equal(flipped[1], images[1][..., ::-1])
    mirrored, _ = encode_targets([np.array([[44, 10, 61, 20]], np.float32)], [np.array([4])], 10)
    np.testing.assert_allclose(flipped_targets[1], mirrored[0], atol=1e-6)
    np.testing.assert_array_equal(flipped_targets[0], targets[0])


def test_propose_classify_batches_become_labelled_crops() -> None:
    task = get_task("detect")
    config = RunConfig.for_task("detect", model="propose_classify", augment="none")

    class Info:
        mean, std = (0.0,), (1.0,)

    images = np.zeros((2, 1, 64, 64), np.float32)
    images[:, 0, 8:40, 10:30] = 1
    boxes = np.zeros((2, 3, 5), np.float32)
    boxes[:, 0] = [6, 10, 8, 30, 40]  # class 6 at (10, 8)–(30, 40)
    cnnkit.manual_seed(0)
    crops, targets = task.batch_transform(config, Info, True)(images, boxes)
    assert crops.shape == (32, 1, 28, 28) and targets.shape == (32, 5)  # 8 positives + 8 backgrounds per scene
    assert sorted(set(targets[:, 0].astype(int))) == [0, 6] and (targets[:, 0] == 6).sum() == 16
    assert not targets[targets[:, 0] == 0, 1:].any()  # no offsets for background
    assert crops[targets[:, 0] == 6].mean() > crops[targets[:, 0] == 0].mean()  # positives hold the object


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("augment", "crop", "--augment 'crop'"),
        ("dataset", "fashion-mnist", "--dataset 'fashion-mnist'"),
        ("model", "lenet5", "--model 'lenet5'"),
    ],
)
def test_options_detection_cannot_use_are_refused_before_any_folder(
    tiny_fashion, tmp_path, option, value, message
) -> None:
    config = _config(tiny_fashion, tmp_path / "bad")
    setattr(config, option, value)
    with pytest.raises(ValueError, match=message):
        train(config, progress=False, log=lambda *_: None)
    assert not (tmp_path / "bad").exists()


def test_cli_train_eval_and_predict_a_detector(tiny_fashion, tmp_path, capsys) -> None:
    out = tmp_path / "yolo"
    code = main(
        [
            "train",
            "--task",
            "detect",
            "--model",
            "yolo",
            "--data-dir",
            str(tiny_fashion),
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--data-args",
            json.dumps(TINY),
            "--model-args",
            json.dumps(SMALL_YOLO),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    assert "final val map50" in capsys.readouterr().out
    assert main(["eval", str(out), "--batch-size", "4"]) == 0
    text = capsys.readouterr().out
    assert "VOC mAP@0.5:" in text and "COCO mAP@[.5:.95]:" in text and "test set (4 scenes" in text
    assert "Ankle boot" in text and "AP@0.5" in text and "Average Precision  (AP) @[ IoU=0.50:0.95" in text
    assert main(["eval", str(out), "--tta", "flip"]) == 2  # mirroring boxes back is not what FlipAverage does
    assert "--tta flip is for classifiers and segmenters, not a detection run" in capsys.readouterr().err

    from PIL import Image

    picture = tmp_path / "scene.png"  # 96×80: another size than the 64×64 training scenes
    pixels = np.zeros((80, 96), np.uint8)
    pixels[20:60, 30:70] = 200
    Image.fromarray(pixels).save(picture)
    assert main(["predict", str(out), str(picture), "--score-threshold", "0", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["boxes"] and all(0 <= b["box"][0] < b["box"][2] <= 96 for b in result["boxes"])
    assert all(0 <= b["box"][1] < b["box"][3] <= 80 for b in result["boxes"])
    scores = [b["score"] for b in result["boxes"]]
    assert scores == sorted(scores, reverse=True) and len(scores) <= 100
    with Image.open(result["drawn"]) as drawn:
        assert drawn.size[0] >= 96 and drawn.mode in ("RGB", "RGBA")
    assert main(["predict", str(out), str(picture), "--score-threshold", "0.999"]) == 0
    assert "0 boxes (score ≥ 0.999)" in capsys.readouterr().out
    assert main(["predict", str(out), str(picture), "--score-threshold", "2"]) == 2
    assert "--score-threshold" in capsys.readouterr().err
