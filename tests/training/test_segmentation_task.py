"""`--task segment` through the one trainer: scenes built from a tiny Fashion-MNIST, history, resume, eval."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnkit.cli import main
from cnnkit.training.history import TIMING_COLUMNS
from cnnkit.training.run import RunConfig, train
from cnnkit.training.tasks import get_task
from tests.training.interrupt import train_killed_in_epoch_two
from tests.training.tiny_data import write_tiny_fashion

TINY = {"num_scenes": 48, "val_items": 60}


def _config(data_dir, out, epochs: int = 2) -> RunConfig:
    return RunConfig.for_task("segment", data_dir=str(data_dir), out=str(out), epochs=epochs, batch_size=16,
                              eval_batch_size=8, data_args=dict(TINY), model_args={"base_channels": 4, "depth": 2})


@pytest.fixture(scope="module")
def tiny_fashion(tmp_path_factory):
    return write_tiny_fashion(tmp_path_factory.mktemp("fashion"), n_train=200, n_test=60)


def test_segment_defaults_are_a_unet_on_the_scenes_with_adam() -> None:
    config = RunConfig.for_task("segment")
    assert (config.model, config.dataset, config.optimizer, config.augment) == ("unet", "fashion-scenes", "adam",
                                                                               "flip")
    assert RunConfig.for_task("classify") == RunConfig()
    # the shipped recipe (docs/results.md); its model and data arguments and its average belong to the default
    # unet only
    assert (config.epochs, config.model_args, config.loss_args) == (5, {"base_channels": 16, "depth": 4},
                                                                    {"dice": 1.0})
    assert (config.data_args, config.ema) == ({"train_scenes": 100000}, 0.999)
    assert RunConfig.for_task("segment", model="unet").model_args == {"base_channels": 16, "depth": 4}
    other = RunConfig.for_task("segment", model="other")
    assert (other.model_args, other.data_args, other.ema) == ({}, {}, 0.0)
    assert RunConfig.for_task("segment", model_args={"depth": 2}).model_args == {"depth": 2}


def test_cli_left_out_model_and_loss_args_take_the_task_defaults(monkeypatch) -> None:
    import cnnkit.training.run as run_module

    seen = []
    monkeypatch.setattr(run_module, "train", lambda config, **_: seen.append(config) or (_ for _ in ()).throw(
        SystemExit(0)))
    for argv in (["--task", "segment"], ["--task", "segment", "--model-args", '{"depth": 3}', "--loss-args", "{}"],
                 ["--task", "segment", "--model", "lenet5"], ["--model", "lenet5"]):
        with pytest.raises(SystemExit):
            main(["train", *argv, "--out", "unused"])
    assert [(c.model, c.model_args, c.loss_args) for c in seen] == [
        ("unet", {"base_channels": 16, "depth": 4}, {"dice": 1.0}),
        ("unet", {"depth": 3}, {}),
        ("lenet5", {}, {"dice": 1.0}),
        ("lenet5", {}, {}),
    ]


def test_clutter_adds_to_the_default_scenes_or_to_the_given_ones(monkeypatch) -> None:
    import cnnkit.training.run as run_module

    seen = []
    monkeypatch.setattr(run_module, "train", lambda config, **_: seen.append(config) or (_ for _ in ()).throw(
        SystemExit(0)))
    for argv in (["--clutter"], ["--clutter", "--data-args", "{}"]):
        with pytest.raises(SystemExit):
            main(["train", "--task", "segment", *argv, "--out", "unused"])
    assert [c.data_args for c in seen] == [{"train_scenes": 100000, "clutter": True}, {"clutter": True}]


def _weights(run_dir):
    from safetensors.numpy import load_file

    return {k: v for k, v in load_file(str(run_dir / "last.safetensors")).items() if k.startswith("model.")}


def test_segmentation_run_writes_val_miou_history_and_resumes_to_the_same_weights(tiny_fashion, tmp_path,
                                                                                   monkeypatch) -> None:
    whole = train(_config(tiny_fashion, tmp_path / "whole"), progress=False, log=lambda *_: None)
    rows = whole.history
    assert [r["epoch"] for r in rows] == [1, 2]
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_miou"} <= set(rows[0])
    assert 0.0 <= rows[-1]["val_miou"] <= 1.0 and whole.score_name == "miou" and whole.eval_split == "val"
    assert json.loads((tmp_path / "whole" / "config.json").read_text())["task"] == "segment"

    train_killed_in_epoch_two(_config(tiny_fashion, tmp_path / "cut"), monkeypatch)
    resumed = train(_config(tiny_fashion, tmp_path / "cut"), resume=True, progress=False, log=lambda *_: None)
    untimed = [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in resumed.history]
    assert untimed == [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]
    expected, got = _weights(tmp_path / "whole"), _weights(tmp_path / "cut")
    assert expected and all(np.array_equal(expected[k], got[k]) for k in expected)


def test_segment_batches_flip_image_and_mask_together() -> None:
    task = get_task("segment")
    config = RunConfig.for_task("segment")

    class Info:
        mean, std = (0.0,), (1.0,)

    images = np.arange(2 * 1 * 2 * 3, dtype=np.float32).reshape(2, 1, 2, 3)
    masks = images[:, 0].astype(np.int64)
    import cnnkit

    cnnkit.manual_seed(0)  # a seed whose draws flip the second image only
    flipped, flipped_masks = task.batch_transform(config, Info, True)(images, masks)
    np.testing.assert_array_equal(flipped[:, 0], flipped_masks)  # whatever was mirrored, both were
    mirrored = [not np.array_equal(flipped[b], images[b]) for b in range(2)]
    assert mirrored == [False, True]
    for b in range(2):
        expected = images[b, 0, :, ::-1] if mirrored[b] else images[b, 0]
        np.testing.assert_array_equal(flipped[b, 0], expected)


def _check_flip_evaluation(out, capsys, monkeypatch) -> None:
    """`eval --tta flip` runs every test batch through FlipAverage and prints the wrapped model's scores."""
    from cnnkit.models import FlipAverage
    from cnnkit.training.restore import load_trained_model
    from cnnkit.training.run import evaluation_loader

    batches, forward = [], FlipAverage.forward
    monkeypatch.setattr(FlipAverage, "forward", lambda self, x: batches.append(x.shape[0]) or forward(self, x))
    assert main(["eval", str(out), "--tta", "flip"]) == 0
    assert sum(batches) == 4  # the 4 test scenes, each through the wrapper
    printed = capsys.readouterr()
    assert "warning" not in printed.err  # trained with mirrored scenes (the task's default): no warning
    text = printed.out
    assert "checkpoint of epoch 1, flip test-time augmentation)" in text
    model, meta, info = load_trained_model(str(out))
    config = RunConfig(**meta["config"])
    task = get_task("segment")
    _, test_set, _ = task.load_data(config, split="test")
    confusion = task.evaluate(FlipAverage(model), evaluation_loader(task, config, info, test_set, 1000), None).details
    assert f"mean IoU: {confusion.mean_iou():.4f}" in text
    assert f"pixel accuracy: {confusion.pixel_accuracy():.4f}" in text


def test_cli_eval_of_a_segmentation_run_prints_miou_and_the_class_table(tiny_fashion, tmp_path, capsys,
                                                                        monkeypatch) -> None:
    out = tmp_path / "seg"
    code = main(["train", "--task", "segment", "--data-dir", str(tiny_fashion), "--epochs", "1", "--batch-size", "16",
                 "--data-args", json.dumps(TINY), "--model-args", '{"base_channels": 4, "depth": 2}',
                 "--out", str(out), "--quiet"])
    assert code == 0
    assert "final val miou" in capsys.readouterr().out
    assert main(["eval", str(out)]) == 0
    text = capsys.readouterr().out
    assert "mean IoU:" in text and "Ankle boot" in text and "background" in text
    assert "test set (4 scenes" in text  # the test split: a tenth of num_scenes, from test-set items
    _check_flip_evaluation(out, capsys, monkeypatch)

    from PIL import Image

    picture = tmp_path / "scene.png"  # 48×40: another size than the 64×64 training scenes
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48), dtype=np.uint8)).save(picture)
    assert main(["predict", str(out), str(picture), "--out-dir", str(tmp_path / "pred"), "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    with Image.open(result["mask"]) as mask:
        assert mask.mode == "P" and mask.size == (48, 40)  # class ids in a palette PNG, at the image's size
        ids = np.asarray(mask)
    assert ids.max() <= 10 and abs(sum(result["classes"].values()) - 1) < 1e-3
    with Image.open(result["overlay"]) as overlay:
        assert overlay.mode == "RGB" and overlay.size == (48, 40)


def test_unknown_scene_option_is_refused_with_the_allowed_names(tiny_fashion, tmp_path) -> None:
    config = _config(tiny_fashion, tmp_path / "bad")
    config.data_args = {"clutterr": True}
    with pytest.raises(ValueError, match="clutterr"):
        train(config, progress=False, log=lambda *_: None)


def test_train_scenes_sets_the_training_count_alone(tiny_fashion, tmp_path) -> None:
    from cnnkit.training.tasks.detection import detection_arrays
    from cnnkit.training.tasks.segmentation import scenes, split_count

    assert [split_count({"num_scenes": 48}, s) for s in ("train", "val", "test")] == [48, 4, 4]
    assert [split_count({"train_scenes": 96}, s) for s in ("train", "val", "test")] == [96, None, None]
    assert [split_count({"num_scenes": 48, "train_scenes": 96}, s) for s in ("train", "val")] == [96, 4]
    config = _config(tiny_fashion, tmp_path / "more")
    config.data_args = {**TINY, "train_scenes": 96}
    more = scenes(config, "train")
    assert (len(more), len(scenes(config, "val")), len(scenes(config, "test"))) == (96, 4, 4)
    config.data_args = dict(TINY)  # the first 48 training scenes are the same scenes
    np.testing.assert_array_equal(scenes(config, "train").data, more.data[:48])
    config.task, config.model, config.model_args = "detect", "yolo", {}
    config.data_args = {**TINY, "train_scenes": 96}
    assert len(detection_arrays(config, "train")) == 96 and len(detection_arrays(config, "val")) == 4
    config.data_args = {"train_scenes": 0}
    with pytest.raises(ValueError, match="'train_scenes' must be an integer >= 1, got 0"):
        scenes(config, "train")


def test_loss_args_weight_the_classes_and_add_a_dice_term(tiny_fashion, tmp_path) -> None:
    import cnnkit
    from cnnkit import nn
    from cnnkit.training.tasks.segmentation import build_loss, scenes

    config = _config(tiny_fashion, tmp_path / "loss")
    assert config.loss_args == {"dice": 1.0}  # the task's default
    config.loss_args = {}
    logits = cnnkit.randn(2, 11, 8, 8)
    target = np.random.default_rng(0).integers(0, 11, (2, 8, 8))
    target[0, 0, :3] = 255
    plain = build_loss(config)(logits, target).item()
    assert plain == pytest.approx(nn.CrossEntropyLoss(ignore_index=255)(logits, target).item())

    masks = scenes(config, "train").targets
    labels = masks[masks != 255]
    frequency = np.bincount(labels, minlength=11) / labels.size
    expected = np.median(frequency) / frequency  # median-frequency balancing, by hand
    config.loss_args = {"class_weights": "balanced", "dice": 0.5}
    combined = build_loss(config)(logits, target).item()
    weighted = nn.CrossEntropyLoss(weight=cnnkit.tensor(expected.astype(np.float32)), ignore_index=255)
    dice = nn.DiceLoss(ignore_index=255)(logits, target).item()
    assert combined == pytest.approx(weighted(logits, target).item() + 0.5 * dice, rel=1e-5)

    config.loss_args = {"class_weights": [1.0] * 11}
    assert build_loss(config)(logits, target).item() == pytest.approx(plain, rel=1e-6)
    for bad, message in (({"class_weights": [1.0] * 3}, "11 numbers"), ({"dice": -1}, "dice must be"),
                         ({"focal": 2}, "takes class_weights and dice, got focal")):
        config.loss_args = bad
        with pytest.raises(ValueError, match=message):
            build_loss(config)
    with pytest.raises(ValueError, match="--loss-args must be empty except for --task segment"):
        RunConfig.for_task("classify", loss_args={"dice": 1.0}).validate()


def test_cli_passes_loss_args_to_the_run(tiny_fashion, tmp_path) -> None:
    out = tmp_path / "cli-loss"
    code = main(["train", "--task", "segment", "--data-dir", str(tiny_fashion), "--data-args", json.dumps(TINY),
                 "--model-args", '{"base_channels": 4, "depth": 2}', "--loss-args", '{"dice": 0.5}', "--epochs", "1",
                 "--batch-size", "16", "--out", str(out), "--quiet"])
    assert code == 0
    assert json.loads((out / "config.json").read_text())["loss_args"] == {"dice": 0.5}
