"""Provenance of shipped weights: the rendered `cnnkit train` command parses back to the run's configuration, and
an export records the whole run's wall time, not the chosen checkpoint's share of it."""

from __future__ import annotations

import dataclasses
import json
import shlex

import pytest

from cnnkit.cli import build_parser
from cnnkit.cli.train import config_from_args
from cnnkit.training.provenance import training_command, wall_seconds
from cnnkit.training.run import RunConfig

NOT_OPTIONS = ("out", "data_dir", "data_source")  # where the data and the run live: left to whoever runs it again


def _parsed(command: str) -> RunConfig:
    words = shlex.split(command)
    assert words[:2] == ["cnnkit", "train"]
    return config_from_args(build_parser().parse_args(words[1:]))


def _settings(config: RunConfig) -> dict:
    return {k: v for k, v in dataclasses.asdict(config).items() if k not in NOT_OPTIONS}


@pytest.mark.parametrize("config", [
    RunConfig.for_task("classify", model="fashion_vgg", model_args={"width": 64}, epochs=30, lr=0.1,
                       weight_decay=5e-4, schedule="onecycle", augment="crop-flip-erase", label_smoothing=0.1,
                       warmup_fraction=0.15, seed=3, val_split=2000, ema=0.999, mixup_alpha=0.2, cutmix_alpha=1.0),
    RunConfig.for_task("segment", data_args={"clutter": True, "num_scenes": 500}, loss_args={"dice": 0.5}),
    RunConfig.for_task("detect"),
    RunConfig.for_task("generate", model_args={"class_conditional": True}),
], ids=["classify", "segment", "detect", "generate"])
def test_the_command_trains_the_same_configuration(config: RunConfig) -> None:
    command = training_command(dataclasses.asdict(config))
    assert _settings(_parsed(command)) == _settings(config)
    assert "--out" not in command and "--data-dir" not in command


def test_a_setting_equal_to_todays_default_is_still_written() -> None:
    # the recipe must survive a change of default: every setting is spelled out
    command = training_command(dataclasses.asdict(RunConfig()))
    for option in ("--model lenet5", "--epochs 10", "--lr 0.05", "--schedule cosine", "--seed 0", "--momentum 0.9"):
        assert option in command


def test_a_run_stored_before_an_option_existed_is_given_the_value_it_trained_with() -> None:
    stored = dataclasses.asdict(RunConfig.for_task("detect"))
    del stored["ema"]  # runs from before --ema kept no average; detect's default is now 0.999
    command = training_command(stored)
    assert "--ema 0.0" in command and _parsed(command).ema == 0.0


def test_wall_seconds_sums_the_epochs_training_and_validation() -> None:
    assert wall_seconds([{"epoch": 1, "seconds": 90.04, "eval_seconds": 4.5}, {"epoch": 2, "seconds": 89.0}]) == 183.5
    assert wall_seconds([]) == 0.0


def test_an_export_of_a_run_folder_records_its_command_and_whole_wall_time(tmp_path) -> None:
    from cnnkit.models import lenet5
    from cnnkit.training.checkpoint import load_checkpoint, save_checkpoint
    from cnnkit.training.export import export_checkpoint

    config = dataclasses.asdict(RunConfig(epochs=3, out=str(tmp_path)))
    rows = [{"epoch": e, "seconds": 10.0 * e, "val_accuracy": 0.5 + e / 100} for e in (1, 2, 3)]
    # the best checkpoint is epoch 2's, whose history stops there; the run folder's history.json has all three
    save_checkpoint(tmp_path / "best.safetensors", lenet5().state_dict(), None,
                    {"kind": "classification", "config": config, "epoch": 2, "history": rows[:2]})
    (tmp_path / "history.json").write_text(json.dumps(rows))
    export_checkpoint(tmp_path, tmp_path / "shipped.safetensors")
    provenance = load_checkpoint(tmp_path / "shipped.safetensors").meta["provenance"]
    assert provenance == {"command": training_command(config), "wall_seconds": 60.0, "epochs_run": 3,
                          "chosen_epoch": 2}


def test_every_train_option_that_sets_the_configuration_is_rendered() -> None:
    # OPTIONS mirrors `cnnkit train`'s options: a new one that sets a RunConfig field must be rendered too
    from cnnkit.training.provenance import OPTIONS

    parser = build_parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith(" train"))
    settings = {f.name for f in dataclasses.fields(RunConfig)} - set(NOT_OPTIONS)
    wanted = {(a.dest, max(a.option_strings, key=len)) for a in train._actions if a.dest in settings}
    assert wanted == set(OPTIONS)
