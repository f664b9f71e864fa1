"""Checkpoint metadata whose values have the wrong types: `predict` and `eval` refuse in one line naming the file
and the part (model_args, classes, input_shape, mean, std, a run setting), never a traceback deep inside."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from PIL import Image

from cnnkit.training.checkpoint import load_checkpoint, save_checkpoint
from tests.hostile.helpers import refused


@pytest.fixture(scope="module")
def best(classifier_run):
    return load_checkpoint(classifier_run / "best.safetensors")


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(np.full((28, 28), 90, np.uint8)).save(path)
    return path


def _altered(best, tmp_path, part: str, key: str, value):
    meta = copy.deepcopy(best.meta)
    meta[part][key] = value
    path = tmp_path / "altered.safetensors"
    save_checkpoint(path, best.model_state, None, meta)
    return path


@pytest.mark.parametrize("part, key, value, names", [
    ("config", "model_args", [1, 2], ["'model_args'", "[1, 2]"]),
    ("config", "model_args", "x", ["'model_args'"]),
    ("data", "classes", [], ["'classes'"]),
    ("data", "classes", [1, 2, 3], ["'classes'"]),
    ("data", "input_shape", [1, 28], ["'input_shape'", "[1, 28]"]),
    ("data", "input_shape", ["a", "b", "c"], ["'input_shape'"]),
    ("data", "input_shape", [1, 28, True], ["'input_shape'"]),
    ("data", "mean", ["x"], ["'mean'"]),
    ("data", "mean", [0.1, 0.2], ["'mean'", "1 finite"]),
    ("data", "std", [0.0], ["'std'", "positive"]),
    ("data", "std", [-1], ["'std'", "positive"]),
])
def test_predict_and_eval_name_the_malformed_part(best, tmp_path, image, capsys, part, key, value, names):
    path = _altered(best, tmp_path, part, key, value)
    refused(["predict", path, image], capsys, str(path), *names)
    refused(["eval", path], capsys, str(path), *names)


@pytest.mark.parametrize("key, value, names", [
    ("epochs", "ten", ["'epochs'", "int", "'ten'"]),
    ("data_dir", 5, ["'data_dir'", "str | None"]),
    ("lr", True, ["'lr'", "float"]),
    ("data_args", [], ["'data_args'"]),
    ("whatever", 1, ["unknown settings whatever"]),
])
def test_eval_names_a_run_setting_of_the_wrong_type(best, tmp_path, capsys, key, value, names):
    path = _altered(best, tmp_path, "config", key, value)
    refused(["eval", path], capsys, str(path), "config", *names)


@pytest.mark.parametrize("content", [
    b"",  # zero bytes
    (1 << 62).to_bytes(8, "little") + b"{}",  # a header length of 4 EiB
    (100_000_000).to_bytes(8, "little") + b"{" * 100,  # a header longer than the file
    (2).to_bytes(8, "little") + b"[]",  # a header that is JSON but not an object
    b"\x89PNG\r\n\x1a\n" + bytes(64),  # another kind of file
], ids=["empty", "huge-header", "header-past-the-end", "header-not-object", "png"])
def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path, image, capsys, content):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(content)
    refused(["predict", path, image], capsys, str(path))
    refused(["eval", path], capsys, str(path))
