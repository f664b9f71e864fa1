"""The shipped Fashion-MNIST classifier (`cnnkit/models/weights/fashion_vgg_val.safetensors`): its metadata says
what it is and how it was chosen, its parameters are the zoo model's, and it classifies real test images.

A broken or swapped file fails here rather than in the README's figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

WEIGHTS = Path(__file__).resolve().parents[2] / "cnnkit" / "models" / "weights" / "fashion_vgg_val.safetensors"
FASHION = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def test_the_metadata_names_the_model_its_data_and_a_validation_selected_checkpoint() -> None:
    meta = json.loads(WEIGHTS.with_suffix(".json").read_text())
    config = meta["config"]
    assert config["model"] == "fashion_vgg" and config["task"] == "classify" and config["dataset"] == "fashion-mnist"
    assert config["val_split"] is None  # the default: the last 5,000 training images chose the checkpoint
    assert meta["data"]["classes"] == CLASSES and meta["data"]["input_shape"] == [1, 28, 28]
    best = max(row["val_accuracy"] for row in meta["history"])
    assert meta["best_score"] == best and 0.9 < best < 1
    assert all("test_accuracy" not in row for row in meta["history"])  # the test split chose nothing
    assert WEIGHTS.stat().st_size < 10 * 2**20


def test_the_file_loads_into_the_zoo_model_with_its_parameter_count() -> None:
    from cnnkit.training.restore import load_trained_model

    model, _, info = load_trained_model(WEIGHTS)
    assert sum(p.numel() for p in model.parameters()) == 575_754
    assert not model.training and len(info.classes) == 10


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_it_classifies_the_first_thousand_test_images() -> None:
    import cnnkit
    from cnnkit.data import FashionMNIST
    from cnnkit.data.loader import gather_arrays
    from cnnkit.training.restore import load_trained_model

    model, _, info = load_trained_model(WEIGHTS)
    images, labels = gather_arrays(FashionMNIST(root=FASHION, train=False), np.arange(1000))
    mean, std = (np.asarray(v, np.float32).reshape(1, -1, 1, 1) for v in (info.mean, info.std))
    with cnnkit.no_grad():
        logits = model(cnnkit.tensor(((images - mean) / std).astype(np.float32))).numpy()
    assert (logits.argmax(1) == labels).mean() >= 0.92  # the whole test split: see README's results table
