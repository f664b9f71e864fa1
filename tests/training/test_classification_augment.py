"""`--augment crop-flip-erase` for classification: crop and flip, normalise, then random erasing (training only);
the other tasks refuse it. `--mixup-alpha` / `--cutmix-alpha`: the training batches' labels become class
probabilities; evaluation batches are left alone."""

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
    classes = [str(k) for k in range(10)]


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


def test_mixup_and_cutmix_mix_training_batches_after_normalisation(rng):
    task = get_task("classify")
    config = RunConfig(augment="flip", mixup_alpha=0.2, cutmix_alpha=1.0)
    images = rng.random((64, 1, 12, 12)).astype(np.float32)
    labels = np.arange(64) % 10
    cnnkit.manual_seed(0)
    out, targets = task.batch_transform(config, Info, True)(images, labels)
    assert targets.shape == (64, 10) and targets.dtype == np.float32
    np.testing.assert_allclose(targets.sum(axis=1), 1, rtol=1e-6)
    own = targets[np.arange(64), labels]  # every image keeps the same share of itself (one λ per batch)
    assert np.allclose(own, own[0]) and 0 < own[0] < 1
    assert -2.0 - 1e-6 <= out.min() and out.max() <= 2.0 + 1e-6  # mixed after Normalize: within its range
    evaluation, eval_labels = task.batch_transform(config, Info, False)(images, labels)
    assert eval_labels is labels
    np.testing.assert_allclose(evaluation, (images - 0.5) / 0.25, rtol=1e-6)


def test_training_accuracy_counts_a_mixed_label_as_its_largest_class():
    task = get_task("classify")
    logits = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0], [1.0, 0.0, 0.0]])
    mixed = np.array([[0.7, 0.3, 0.0], [0.6, 0.4, 0.0], [0.0, 0.1, 0.9]])
    assert task.batch_correct(logits, mixed) == (1, 3)
    assert task.batch_correct(logits, np.array([0, 1, 2])) == (2, 3)


def test_cli_trains_with_mixup_and_cutmix_and_records_them(tmp_path, capsys):
    from cnnkit.training.provenance import training_command

    data = write_tiny_fashion(tmp_path / "fashion", n_train=120, n_test=20)
    out = tmp_path / "run"
    code = main(["train", "--data-dir", str(data), "--epochs", "1", "--batch-size", "32", "--mixup-alpha", "0.2",
                 "--cutmix-alpha", "1.0", "--out", str(out), "--quiet", "--model", "lenet5_relu"])
    assert code == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert (config["mixup_alpha"], config["cutmix_alpha"]) == (0.2, 1.0)
    assert "--mixup-alpha 0.2 --cutmix-alpha 1.0" in training_command(config)


@pytest.mark.parametrize(("task", "option", "value"), [("segment", "mixup_alpha", 0.2), ("detect", "cutmix_alpha", 1.0),
                                                         ("classify", "mixup_alpha", -0.5),
                                                         ("classify", "cutmix_alpha", float("inf"))])
def test_a_mixing_alpha_outside_classification_or_its_range_is_refused(task, option, value):
    flag = "--" + option.replace("_", "-")
    with pytest.raises(ValueError, match=f"{flag} must be a finite number >= 0, and 0 unless --task classify"):
        RunConfig.for_task(task, **{option: value}).validate()
