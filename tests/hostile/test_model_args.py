"""--model-args for every zoo model: an unknown key, or one the run sets itself, is refused in one line listing the
model's accepted arguments, before any data is read or any folder made (builders that pass **kwargs on included)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from cnnkit.models import list_models
from cnnkit.models.registry import model_arguments
from cnnkit.training.run import model_args_from_data
from tests.hostile.helpers import GiB, one_line_refusal, refused, run_cli, run_fenced

TASK_OF = {"unet": "segment", "diffusion_unet": "generate", "yolo": "detect", "propose_classify": "detect"}
NAMES = [info.name for info in list_models()]


def _train(model: str, args: str, tmp_path) -> list:
    # the data folder does not exist: a refusal naming the argument shows the check came before any data read
    return ["train", "--task", TASK_OF.get(model, "classify"), "--model", model, "--model-args", args,
            "--data-dir", tmp_path / "no-data-here", "--epochs", "1", "--out", tmp_path / "run", "--quiet"]


def test_every_zoo_model_lists_its_arguments():
    for name in NAMES:
        accepted = model_arguments(name)
        assert accepted is not None, name  # never "any keyword": a **kwargs builder names where they go
        assert {"num_classes", "in_channels"} <= set(accepted), (name, accepted)


@pytest.mark.parametrize("model", NAMES)
def test_an_unknown_key_is_refused_for_every_zoo_model(model, tmp_path, capsys):
    started = time.perf_counter()
    line = refused(_train(model, '{"bogus": 1}', tmp_path), capsys, "--model-args", "'bogus'", repr(model))
    assert time.perf_counter() - started < 2  # refused before any model is built or data read
    reserved = model_args_from_data(TASK_OF.get(model, "classify"))
    listed = line.split(f"{model}'s arguments", 1)[1]
    for argument in model_arguments(model):
        if argument not in reserved:
            assert argument in listed, (argument, line)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("model, key", [
    ("diffusion_unet", "num_classes"), ("diffusion_unet", "in_channels"), ("unet", "num_classes"),
    ("yolo", "image_size"), ("propose_classify", "image_size"), ("propose_classify", "num_classes"),
])
def test_a_key_the_task_sets_itself_is_refused(model, key, tmp_path, capsys):
    line = refused(_train(model, f'{{"{key}": 3}}', tmp_path), capsys, "--model-args", repr(key), "sets itself")
    assert key in line.split("'s arguments (", 1)[1].split(" come from the data)", 1)[0], line
    assert not (tmp_path / "run").exists()


def test_a_value_of_the_wrong_type_is_refused_naming_the_option(tiny_fashion, tmp_path, capsys):
    refused(["train", "--model", "alexnet_small", "--model-args", '{"dropout": "much"}', "--data-dir", tiny_fashion,
             "--epochs", "1", "--out", tmp_path / "run", "--quiet"], capsys, "--model-args", "alexnet_small")


@pytest.mark.parametrize("option", ["--model-args", "--data-args", "--loss-args"])
def test_json_nested_100000_deep_is_refused_naming_the_option(tmp_path, capsys, option):
    refused(["train", "--task", "segment", option, "[" * 100_000, "--out", tmp_path / "run", "--quiet"], capsys,
            option, "not valid JSON")


def test_model_args_too_large_to_build_are_refused_under_a_memory_limit():
    # built after the data are read (the data decide num_classes): the trainer's build_model, fenced
    code = """
        from cnnkit.training.datasets import DataInfo
        from cnnkit.training.run import RunConfig, build_model
        config = RunConfig.for_task("segment", model_args={"base_channels": 100000})
        try:
            build_model(config, DataInfo("fashion-scenes", ["a", "b"], (1, 64, 64), (0.5,), (0.5,)))
        except ValueError as error:
            print(error)
        """
    fenced = run_fenced(code, memory=2 * GiB, timeout=60)
    assert fenced.returncode == 0, fenced.stderr
    assert fenced.stdout.startswith('--model-args {"base_channels": 100000}: model \'unet\' cannot be built')


def test_a_checkpoint_whose_model_cannot_be_built_is_refused_naming_it(classifier_run, tmp_path):
    from cnnkit.training.checkpoint import load_checkpoint, save_checkpoint

    best = load_checkpoint(classifier_run / "best.safetensors")
    best.meta["config"].update(model="unet", model_args={"base_channels": 100000})
    path = tmp_path / "huge.safetensors"
    save_checkpoint(path, best.model_state, None, best.meta)
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    one_line_refusal(run_cli(["predict", path, image], memory=2 * GiB, timeout=60), str(path), "base_channels")
