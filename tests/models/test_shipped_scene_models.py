"""The shipped models of the Fashion-MNIST scenes (`cnnkit/models/weights/`): the YOLO detector and the U-Nets of
the plain and the clutter scenes. For each, the metadata says what it is and how it was chosen, the parameters are
the zoo model's, and it scores real test scenes above a floor.

A broken or swapped file fails here rather than in the README's figure."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

WEIGHTS = Path(__file__).resolve().parents[2] / "cnnkit" / "models" / "weights"
FASHION = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class Shipped:
    file: str
    task: str
    model: str
    model_args: dict
    parameters: int
    classes: int
    score: str  # the history column that chose the checkpoint
    floors: dict  # metric → floor on the first 200 test scenes (the README gives the whole test split's figures)
    data_args: dict = field(default_factory=dict)  # the scenes it was trained on: {} plain, {"clutter": True}


SHIPPED = [
    # scores 0.899 and 0.658 on those scenes; trained on 60,000 scenes (the task's default)
    Shipped("yolo_scenes.safetensors", "detect", "yolo", {}, 202_948, 10, "val_map50", {"map50": 0.88, "map": 0.64},
            {"train_scenes": 60000}),
    # scores mIoU 0.774 on those scenes (0.816 on all 2,000: 200 scenes hold few pixels of some classes); trained
    # on 100,000 scenes (the task's default)
    Shipped("unet_scenes.safetensors", "segment", "unet", {"base_channels": 16, "depth": 4}, 1_942_459, 11, "val_miou",
            {"miou": 0.75}, {"train_scenes": 100000}),
    # the same recipe on the clutter scenes; scores mIoU 0.727 on those scenes (0.766 on all 2,000)
    Shipped("unet_clutter.safetensors", "segment", "unet", {"base_channels": 16, "depth": 4}, 1_942_459, 11,
            "val_miou", {"miou": 0.70}, {"clutter": True}),
]


@pytest.fixture(params=SHIPPED, ids=[row.file for row in SHIPPED])
def shipped(request) -> Shipped:
    return request.param


def _meta(shipped: Shipped) -> dict:
    return json.loads((WEIGHTS / shipped.file).with_suffix(".json").read_text())


def test_the_metadata_names_the_model_and_a_validation_selected_checkpoint(shipped) -> None:
    meta = _meta(shipped)
    config = meta["config"]
    assert (config["task"], config["model"], config["dataset"]) == (shipped.task, shipped.model, "fashion-scenes")
    assert config["model_args"] == shipped.model_args and config["data_args"] == shipped.data_args
    best = max(row[shipped.score] for row in meta["history"])
    assert meta["best_score"] == pytest.approx(best, abs=1e-5) and 0.7 < best < 1  # the history is rounded
    assert all(not key.startswith("test") for row in meta["history"] for key in row)  # the test split chose nothing
    assert (WEIGHTS / shipped.file).stat().st_size < 10 * 2**20


def test_the_metadata_gives_the_command_that_trains_it_again(shipped) -> None:
    from cnnkit.cli import build_parser
    from cnnkit.cli.train import config_from_args

    meta = _meta(shipped)
    words = shlex.split(meta["provenance"]["command"])
    config = config_from_args(build_parser().parse_args(words[1:]))
    stored = {"ema": 0.0, **meta["config"]}  # files trained before --ema existed record none
    for key in ("task", "model", "model_args", "data_args", "loss_args", "epochs", "batch_size", "lr", "optimizer",
                "schedule", "augment", "ema", "seed"):
        assert getattr(config, key) == stored[key], key
    assert meta["provenance"]["wall_seconds"] > 0


def test_the_file_loads_into_the_zoo_model_with_its_parameter_count(shipped) -> None:
    from cnnkit.training.restore import load_trained_model

    model, _, info = load_trained_model(WEIGHTS / shipped.file)
    assert sum(p.numel() for p in model.parameters()) == shipped.parameters
    assert not model.training and len(info.classes) == shipped.classes and info.input_shape == (1, 64, 64)


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_it_scores_the_first_two_hundred_test_scenes_above_its_floor(shipped, tmp_path, monkeypatch) -> None:
    from cnnkit.training.restore import load_trained_model
    from cnnkit.training.run import RunConfig, evaluation_loader
    from cnnkit.training.tasks import detection, get_task, segmentation

    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))  # the scenes are made and cached here, not in the home folder
    path = WEIGHTS / shipped.file
    model, meta, info = load_trained_model(path)
    config = RunConfig.from_stored(dict(meta["config"]), str(path))
    config.data_args = {**shipped.data_args, "num_scenes": 2000}  # the test split then holds 200 scenes
    scenes = detection.detection_arrays if shipped.task == "detect" else segmentation.scenes
    test_set = scenes(config, "test")
    assert len(test_set) == 200
    task = get_task(shipped.task)
    result = task.evaluate(model, evaluation_loader(task, config, info, test_set, 50), None)
    for metric, floor in shipped.floors.items():
        assert result.metrics[metric] >= floor, result.metrics
