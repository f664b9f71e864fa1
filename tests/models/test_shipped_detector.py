"""The shipped YOLO detector (`cnnkit/models/weights/yolo_scenes.safetensors`): the metadata says what it is and how it
was chosen, the parameters are the zoo model's, and it finds the items of real test scenes.

A broken or swapped file fails here rather than in the README's figure."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

WEIGHTS = Path(__file__).resolve().parents[2] / "cnnkit" / "models" / "weights"
SHIPPED = WEIGHTS / "yolo_scenes.safetensors"
FASHION = Path("/usr/share/datasets/fashion-mnist")
PARAMETERS = 202_948
# VOC mAP@0.5 and COCO mAP on the first 200 test scenes (it scores 0.864 and 0.607 there); the README gives the
# whole test split's figures
MAP50_FLOOR, COCO_FLOOR = 0.85, 0.58


def _meta() -> dict:
    return json.loads(SHIPPED.with_suffix(".json").read_text())


def test_the_metadata_names_the_model_and_a_validation_selected_checkpoint() -> None:
    meta = _meta()
    config = meta["config"]
    assert config["task"] == "detect" and config["model"] == "yolo" and config["dataset"] == "fashion-scenes"
    assert config["data_args"] == {}  # the default scenes: 20,000 to train, 2,000 to validate, 2,000 to test
    best = max(row["val_map50"] for row in meta["history"])
    assert meta["best_score"] == pytest.approx(best, abs=1e-5) and 0.85 < best < 1  # the history is rounded
    assert all(not key.startswith("test") for row in meta["history"] for key in row)  # the test split chose nothing
    assert SHIPPED.stat().st_size < 10 * 2**20


def test_the_metadata_gives_the_command_that_trains_it_again() -> None:
    from cnnkit.cli import build_parser
    from cnnkit.cli.train import config_from_args

    meta = _meta()
    words = shlex.split(meta["provenance"]["command"])
    config = config_from_args(build_parser().parse_args(words[1:]))
    for key in ("task", "model", "model_args", "epochs", "batch_size", "lr", "optimizer", "schedule", "augment",
                "seed"):
        assert getattr(config, key) == meta["config"][key], key
    assert meta["provenance"]["wall_seconds"] > 0


def test_the_file_loads_into_the_zoo_model_with_its_parameter_count() -> None:
    from cnnkit.training.restore import load_trained_model

    model, _, info = load_trained_model(SHIPPED)
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS
    assert not model.training and len(info.classes) == 10 and info.input_shape == (1, 64, 64)


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_it_finds_the_items_of_the_first_two_hundred_test_scenes(tmp_path, monkeypatch) -> None:
    from cnnkit.training.restore import load_trained_model
    from cnnkit.training.run import RunConfig, evaluation_loader
    from cnnkit.training.tasks import detection, get_task

    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))  # the scenes are made and cached here, not in the home folder
    model, meta, info = load_trained_model(SHIPPED)
    config = RunConfig.from_stored(dict(meta["config"]), str(SHIPPED))
    config.data_args = {"num_scenes": 2000}  # the test split then holds 200 scenes
    test_set = detection.detection_arrays(config, "test")
    assert len(test_set) == 200
    task = get_task("detect")
    result = task.evaluate(model, evaluation_loader(task, config, info, test_set, 100), None)
    assert result.metrics["map50"] >= MAP50_FLOOR and result.metrics["map"] >= COCO_FLOOR, result.metrics
