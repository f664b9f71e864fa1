"""Runs shared by the hostile cases: a tiny Fashion-MNIST-format data set, a classifier and a generator
trained on it for one epoch (built once per test session)."""

from __future__ import annotations

import pytest

from cnnkit.cli import main
from tests.training.tiny_data import write_tiny_fashion
from tests.training.tiny_generation import train_tiny_generator


@pytest.fixture(scope="session")
def tiny_fashion(tmp_path_factory):
    return write_tiny_fashion(tmp_path_factory.mktemp("hostile-fashion"), n_train=64, n_test=32)


@pytest.fixture(scope="session")
def classifier_run(tiny_fashion, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile-runs") / "lenet"
    assert main(["train", "--model", "lenet5_relu", "--data-dir", str(tiny_fashion), "--epochs", "1",
                 "--batch-size", "32", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="session")
def generator_run(tmp_path_factory):
    return train_tiny_generator(tmp_path_factory.mktemp("hostile-generator"), epochs=1)
