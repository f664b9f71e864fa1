"""Command-line arguments: --model-args, --data-dir, generate's --n, --guidance and --eta, refused in one line."""

from __future__ import annotations

import json
import shutil

import pytest

from cnnkit.cli import main
from tests.hostile.helpers import refused
from tests.training.tiny_data import write_tiny_fashion


def _train(data_dir, out, *more):
    return ["train", "--model", "lenet5_relu", "--data-dir", data_dir, "--epochs", "1", "--batch-size", "32",
            "--out", out, "--quiet", *more]


@pytest.mark.parametrize("args, names", [
    ('{"dropout_rate": 0.5}', ["--model-args", "'dropout_rate'", "lenet5_relu"]),
    ('{"num_classes": 3}', ["--model-args", "'num_classes'", "from the data"]),
    ('{"in_channels": 3}', ["--model-args", "'in_channels'", "from the data"]),
])
def test_model_args_unknown_or_set_by_the_run_are_refused_listing_the_accepted(tiny_fashion, tmp_path, capsys,
                                                                                args, names):
    refused(_train(tiny_fashion, tmp_path / "run", "--model-args", args), capsys, *names)
    assert not (tmp_path / "run").exists()  # refused before any folder is made


def test_model_args_message_lists_the_models_own_arguments(tiny_fashion, tmp_path, capsys):
    line = refused(["train", "--model", "vgg11", "--model-args", '{"levels": 3}', "--out", tmp_path / "r",
                    "--data-dir", tiny_fashion, "--quiet"], capsys, "'levels'", "vgg11")
    assert line.endswith("vgg11's arguments (num_classes and in_channels come from the data): batch_norm, dropout")
    assert not (tmp_path / "r").exists()


def test_a_data_dir_that_does_not_exist_is_refused(tmp_path, capsys):
    refused(_train(tmp_path / "nowhere", tmp_path / "run"), capsys, str(tmp_path / "nowhere"), "does not exist")
    assert not (tmp_path / "run").exists()


def test_an_empty_data_dir_is_not_silently_replaced_by_another_copy(tiny_fashion, tmp_path, capsys, monkeypatch):
    other = tmp_path / "env"
    shutil.copytree(tiny_fashion, other / "fashion-mnist")
    monkeypatch.setenv("CNNKIT_DATA", str(other))  # a copy elsewhere that the search would find
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(_train(empty, tmp_path / "run"), capsys, str(empty), str(other / "fashion-mnist"))
    assert not (tmp_path / "run").exists()


def test_the_run_records_where_its_data_came_from(tmp_path, capsys):
    data = write_tiny_fashion(tmp_path / "data" / "FashionMNIST" / "raw", n_train=32, n_test=16)
    assert main([str(a) for a in _train(tmp_path / "data", tmp_path / "run")]) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data_dir"] == str(tmp_path / "data")
    assert config["data_source"] == str(data.resolve())


@pytest.mark.parametrize("args, names", [
    (["--n", "100000000"], ["--n 100000000", "10,000"]),
    (["--guidance", "inf"], ["--guidance", "inf"]),
    (["--guidance", "nan"], ["--guidance", "nan"]),
    (["--eta", "nan"], ["--eta", "nan"]),
    (["--steps", "0"], ["--steps"]),
])
def test_generate_refuses_unbounded_or_non_finite_options(generator_run, tmp_path, capsys, args, names):
    out = tmp_path / "grid.png"
    refused(["generate", generator_run, "--out", out, "--quiet", *args], capsys, *names)
    assert not out.exists()
