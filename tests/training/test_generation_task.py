"""`--task generate` through the one trainer: defaults, history, the epoch grids, EMA in the checkpoints,
exact resume, and the task's option checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cnnkit.cli import main
from cnnkit.training.checkpoint import load_checkpoint
from cnnkit.training.run import RunConfig, train
from cnnkit.training.tasks import get_task
from tests.training.interrupt import train_killed_in_epoch_two
from tests.training.tiny_data import write_tiny_fashion
from tests.training.tiny_generation import DATA_ARGS, MODEL_ARGS, tiny_config


@pytest.fixture(scope="module")
def tiny_fashion(tmp_path_factory):
    return write_tiny_fashion(tmp_path_factory.mktemp("fashion"), n_train=96, n_test=40)


def test_generate_defaults_are_the_diffusion_unet_with_adam_and_warm_up() -> None:
    config = RunConfig.for_task("generate")
    assert (config.model, config.optimizer, config.lr) == ("diffusion_unet", "adam", 1e-3)
    assert (config.batch_size, config.epochs) == (64, 3)  # the shipped models' recipe
    assert (config.schedule, config.warmup_fraction) == ("onecycle", 0.05)
    task = get_task("generate")
    assert task.kind == "generation" and task.score_name == "eps_r2"


def test_generation_run_writes_grids_keeps_the_ema_and_resumes_exactly(tiny_fashion, tmp_path, monkeypatch) -> None:
    lines = []
    whole = train(tiny_config(tiny_fashion, tmp_path / "whole"), progress=False, log=lines.append)
    rows = whole.history
    assert [r["epoch"] for r in rows] == [1, 2]
    assert {"train_loss", "val_loss", "val_eps_r2"} <= set(rows[0]) and "test_loss" not in rows[0]
    assert "train_accuracy" not in rows[0]  # a generator has none: no column of zeros, no "train acc" printed
    epoch_lines = [line for line in lines if line.startswith("epoch")]
    assert len(epoch_lines) == 2 and not any("train acc" in line for line in epoch_lines)
    assert rows[0]["val_eps_r2"] == pytest.approx(1 - rows[0]["val_loss"], abs=1e-5)
    assert 0 < rows[-1]["train_loss"] < 1.2 and rows[-1]["val_loss"] < rows[0]["val_loss"]
    assert sorted(p.name for p in (tmp_path / "whole" / "samples").iterdir()) == ["epoch-001.png", "epoch-002.png"]
    state = load_checkpoint(tmp_path / "whole" / "last.safetensors").model_state
    assert int(state["ema.num_updates"]) == 2 * 2  # num_images 64, batch 32: 2 steps per epoch
    assert not np.array_equal(state["ema.shadow.conv_in.weight"], state["net.conv_in.weight"])
    assert json.loads((tmp_path / "whole" / "config.json").read_text())["task"] == "generate"

    split = tiny_config(tiny_fashion, tmp_path / "split")
    split.data_args["grid_per_class"] = 0  # no grids (they draw from their own generator, not the training's)
    train_killed_in_epoch_two(split, monkeypatch)
    train(split, resume=True, progress=False, log=lambda *_: None)
    assert not (tmp_path / "split" / "samples").exists()
    resumed = load_checkpoint(tmp_path / "split" / "last.safetensors").model_state
    for key, value in state.items():
        np.testing.assert_array_equal(resumed[key], value, err_msg=key)


def test_generate_task_option_checks(tiny_fashion, tmp_path) -> None:
    config = tiny_config(tiny_fashion, tmp_path / "a")
    config.data_args = {"grid": 3}
    with pytest.raises(ValueError, match="--task generate takes num_images, .* got grid"):
        train(config, progress=False)
    config = tiny_config(tiny_fashion, tmp_path / "b")
    config.augment = "crop"
    with pytest.raises(ValueError, match="use --augment none or flip"):
        train(config, progress=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_train_cli_generate_takes_the_task_schedule(tiny_fashion, tmp_path, capsys) -> None:
    code = main(
        [
            "train",
            "--task",
            "generate",
            "--data-dir",
            str(tiny_fashion),
            "--epochs",
            "1",
            "--batch-size",
            "48",
            "--model-args",
            json.dumps(MODEL_ARGS),
            "--data-args",
            json.dumps(DATA_ARGS),
            "--out",
            str(tmp_path / "cli"),
            "--quiet",
            "--report",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0 and "final val eps_r2" in printed and "report written" in printed
    assert "eps_r2" in (tmp_path / "cli" / "report.html").read_text()  # --report draws diffusion runs too
    config = json.loads((tmp_path / "cli" / "config.json").read_text())
    assert (config["schedule"], config["warmup_fraction"], config["lr"]) == ("onecycle", 0.05, 1e-3)


def test_epochs_are_scored_on_held_out_training_images_never_on_the_test_split(tiny_fashion) -> None:
    from cnnkit.training.tasks import generation

    config = tiny_config(tiny_fashion, Path("unused"))  # 96 training images, eval_images 32, num_images 64
    trained, scored, _ = generation.load_data(config)
    assert list(trained.indices) == list(range(64)) and list(scored.indices) == list(range(64, 96))
    assert scored.dataset is trained.dataset  # the training set's last images, not the test split
    config.val_split = 16
    trained, scored, _ = generation.load_data(config)
    assert len(scored) == 16 and list(scored.indices) == list(range(80, 96)) and len(trained) == 64
    config.val_split = 0
    trained, scored, _ = generation.load_data(config)
    assert scored is None and len(trained) == 64  # nothing held out: the last epoch is kept
    _, test, _ = generation.load_data(tiny_config(tiny_fashion, Path("unused")), split="test")
    assert len(test) == 32 and test.dataset is not trained.dataset  # cnnkit eval's split


def test_a_generation_run_made_before_the_validation_split_resumes_on_every_image(tiny_fashion, tmp_path) -> None:
    from dataclasses import asdict

    from cnnkit.training.run import read_config

    stored = asdict(tiny_config(tiny_fashion, tmp_path / "old"))
    del stored["val_split"]  # as written before generation held out a validation split
    (tmp_path / "config.json").write_text(json.dumps(stored))
    assert read_config(tmp_path / "config.json").val_split == 0
