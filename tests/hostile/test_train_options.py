"""`cnnkit train` options out of range, of the wrong type, or ignored: refused in one line naming the option,
before any data is read or any folder made (the data folder given does not exist, so a refusal naming the option
shows the check came first)."""

from __future__ import annotations

import pytest

from tests.hostile.helpers import refused


def _train(tmp_path, task: str, *more) -> list:
    return ["train", "--task", task, "--data-dir", tmp_path / "no-data", "--epochs", "1", "--out", tmp_path / "run",
            "--quiet", *more]


@pytest.mark.parametrize("option, value, wanted", [
    ("--lr", "inf", "positive finite"), ("--lr", "nan", "positive finite"), ("--lr", "-0.1", "positive finite"),
    ("--momentum", "nan", ">= 0"), ("--momentum", "-1", ">= 0"),
    ("--weight-decay", "inf", ">= 0"), ("--weight-decay", "-1", ">= 0"),
    ("--label-smoothing", "nan", "between 0 and 1"), ("--label-smoothing", "1.5", "between 0 and 1"),
    ("--seed", "-1", ">= 0"), ("--epochs", "0", "at least 1"), ("--epochs", "-3", "at least 1"),
    ("--batch-size", "0", "at least 1"), ("--warmup-fraction", "nan", "between 0 and 1"),
])
def test_numeric_options_out_of_range_are_refused(tmp_path, capsys, option, value, wanted):
    refused(_train(tmp_path, "classify", option, value), capsys, option, value, wanted)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("task, args, names", [
    ("classify", '{"clutter": true}', ["--task classify takes none", "clutter"]),
    ("classify", '{"num_scenes": 10}', ["--task classify takes none", "num_scenes"]),
    ("generate", '{"num_images": "x"}', ["'num_images'", "integer >= 1", "'x'"]),
    ("generate", '{"eval_images": 0}', ["'eval_images'"]),
    ("generate", '{"grid_steps": 2.5}', ["'grid_steps'"]),
    ("generate", '{"grid_guidance": "inf"}', ["'grid_guidance'", "finite"]),
    ("segment", '{"num_scenes": "x"}', ["'num_scenes'"]),
    ("segment", '{"val_items": 1e9}', ["'val_items'"]),
    ("segment", '{"clutter": "yes"}', ["'clutter'", "true or false"]),
    ("detect", '{"num_scenes": -4}', ["'num_scenes'"]),
    ("detect", '{"seed": -1}', ["'seed'", "integer >= 0"]),
])
def test_data_args_of_the_wrong_type_or_task_are_refused(tmp_path, capsys, task, args, names):
    refused(_train(tmp_path, task, "--data-args", args), capsys, "--data-args", *names)
    assert not (tmp_path / "run").exists()


def test_clutter_for_a_classifier_is_refused_not_ignored(tmp_path, capsys):
    refused(_train(tmp_path, "classify", "--clutter"), capsys, "--data-args", "clutter")


def test_random_crops_for_a_generator_are_refused_before_any_data(tmp_path, capsys):
    refused(_train(tmp_path, "generate", "--augment", "crop"), capsys, "random crops", "--augment none or flip")


@pytest.mark.parametrize("where", ["the file", "under the file"])
def test_an_out_that_is_or_lies_under_a_file_is_refused_naming_it(tmp_path, capsys, where):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker if where == "the file" else blocker / "run"
    argv = _train(tmp_path, "classify")
    argv[argv.index("--out") + 1] = out
    refused(argv, capsys, f"--out {out}", f"{blocker} is a file")
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("command", [["gradcheck", "lenet5"], ["generate", "RUN"], ["demo", "gradients"],
                                     ["segment-baseline"], ["data", "scenes", "--format", "yolo", "--out", "OUT"],
                                     ["train"]])
def test_a_negative_seed_is_refused_naming_the_option_by_every_command(tmp_path, capsys, command):
    argv = [str(tmp_path / "nowhere") if part in ("RUN", "OUT") else part for part in command]
    refused([*argv, "--seed", "-1"], capsys, "--seed", "-1")
    assert not (tmp_path / "nowhere").exists()
