"""Shared by the baseline tests: tiny Fashion-MNIST look-alikes in the real IDX format (rectangles and ellipses,
some with holes, with faint speckle around them: `tests/data/scenes/tiny_items.py`), and a classifier run on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data.scenes.tiny_items import write_tiny_items


@pytest.fixture(scope="session")
def tiny_items(tmp_path_factory) -> Path:
    return write_tiny_items(tmp_path_factory.mktemp("items"), n_train=200, n_test=60)


@pytest.fixture(scope="session")
def classifier_run(tiny_items, tmp_path_factory) -> Path:
    """A LeNet-5 (ReLU) trained for one epoch on the tiny items: a real classification run folder."""
    from cnnkit.training.run import RunConfig, train

    out = tmp_path_factory.mktemp("runs") / "lenet"
    config = RunConfig(model="lenet5_relu", data_dir=str(tiny_items), epochs=1, batch_size=32, out=str(out))
    train(config, progress=False, log=lambda *_: None)
    return out
