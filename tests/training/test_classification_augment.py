"""`--augment crop-flip-erase` for classification: crop and flip, normalise, then random erasing (training only);
the other tasks refuse it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cnnkit
from cnnkit.cli import main
from cnnkit.data import transforms as T
from cnnkit.training.run import RunConfig
from cnnkit.training.tasks import get_task
from tests.hostile.helpers import refused
from tests.training.tiny_data import write_tiny_fashion


class Info:
    input_shape = (1, 12, 12)
    mean, std = (0.5,), (0.25,)


def test_crop_flip_erase_erases_after_normalisation_in_training_only(rng):
    task = get_task("classify")
    config = RunConfig(augment="crop-flip-erase")
    images = (0.6 + 0.4 * rng.random((400, 1, 12, 12))).astype(np.float32)  # normalised: never 0
    labels = np.arange(400)
    cnnkit.manual_seed(0)
    out, out_labels = task.batch_transform(config, Info, True)(images, labels)
    assert out is not images and out.shape == images.shape and out_labels is labels
    zeros = (out == 0).reshape(400, -1)
    erased = zeros.any(axis=1)
    assert abs(erased.mean() - 0.5) < 0.1  # p = 0.5
    assert ((out == -2.0).sum()) > 0  # crop padding (0 before normalisation) is there too: crop still runs
    fractions = zeros[erased].mean(axis=1)  # one rectangle of zeros, the mean pixel after Normalize
    assert fractions.min() >= 0.01 and fractions.max() <= 0.45
    evaluation, _ = task.batch_transform(config, Info, False)(images, labels)
    np.testing.assert_allclose(evaluation, (images - 0.5) / 0.25, rtol=1e-6)  # no augmentation when evaluating
    assert not (evaluation == 0).any()


def test_crop_flip_without_erase_is_unchanged(rng):
    task = get_task("classify")
    images = (0.6 + 0.4 * rng.random((200, 1, 12, 12))).astype(np.float32)
    cnnkit.manual_seed(0)
    out, _ = task.batch_transform(RunConfig(augment="crop-flip"), Info, True)(images, np.arange(200))
    assert not (out == 0).any()
    assert RunConfig().augment == "none"  # the default stays


def test_cli_accepts_crop_flip_erase_and_erases_training_batches_only(tmp_path, capsys, monkeypatch):
    data = write_tiny_fashion(tmp_path / "fashion", n_train=120, n_test=20)
    batches = []
    apply = T.RandomErasing.apply
    monkeypatch.setattr(T.RandomErasing, "apply", lambda self, batch: batches.append(len(batch)) or apply(self, batch))
    out = tmp_path / "run"
    code = main(["train", "--data-dir", str(data), "--epochs", "1", "--batch-size", "32", "--augment",
                 "crop-flip-erase", "--out", str(out), "--quiet", "--model", "lenet5_relu"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["augment"] == "crop-flip-erase"
    assert sum(batches) == 108  # the 120 - 12 training images, once each; the 12 validation images never
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "crop-flip-erase" in capsys.readouterr().out


@pytest.mark.parametrize("task, wanted", [("segment", "random erasing is for classification"),
                                          ("generate", "random crops"), ("detect", "--augment 'crop-flip-erase'")])
def test_other_tasks_refuse_crop_flip_erase(tmp_path, capsys, task, wanted):
    argv = ["train", "--task", task, "--data-dir", tmp_path / "no-data", "--epochs", "1", "--out", tmp_path / "run",
            "--quiet", "--augment", "crop-flip-erase"]
    refused(argv, capsys, wanted)
    assert not (tmp_path / "run").exists()
