"""The shipped Fashion-MNIST classifiers (`cnnkit/models/weights/*.safetensors`): the metadata says what each is
and how it was chosen, the parameters are the zoo model's, and each classifies real test images.

A broken or swapped file fails here rather than in the README's figure."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest

WEIGHTS = Path(__file__).resolve().parents[2] / "cnnkit" / "models" / "weights"
FASHION = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# (file, model arguments, parameters, accuracy floor on the first 1,000 test images; the README gives the whole
# test split's figure, which each file's first 1,000 images reproduce to within a point)
SHIPPED = [
    ("fashion_vgg_val.safetensors", {}, 575_754, 0.92),
    ("fashion_vgg_wide.safetensors", {"width": 64}, 1_701_642, 0.94),
]


@pytest.fixture(params=SHIPPED, ids=[row[0] for row in SHIPPED])
def shipped(request):
    return request.param


def test_the_metadata_names_the_model_its_data_and_a_validation_selected_checkpoint(shipped) -> None:
    name, model_args, _, _ = shipped
    meta = json.loads((WEIGHTS / name).with_suffix(".json").read_text())
    config = meta["config"]
    assert config["model"] == "fashion_vgg" and config["task"] == "classify" and config["dataset"] == "fashion-mnist"
    assert config["model_args"] == model_args
    assert config["val_split"] is None  # the default: the last 5,000 training images chose the checkpoint
    assert meta["data"]["classes"] == CLASSES and meta["data"]["input_shape"] == [1, 28, 28]
    best = max(row["val_accuracy"] for row in meta["history"])
    assert meta["best_score"] == best and 0.9 < best < 1
    assert all("test_accuracy" not in row for row in meta["history"])  # the test split chose nothing
    assert (WEIGHTS / name).stat().st_size < 10 * 2**20


def test_the_metadata_gives_the_command_that_trains_it_again(shipped) -> None:
    meta = json.loads((WEIGHTS / shipped[0]).with_suffix(".json").read_text())
    if "provenance" not in meta:
        pytest.skip(f"{shipped[0]} was exported before cnnkit export recorded the command")
    from cnnkit.cli import build_parser
    from cnnkit.cli.train import config_from_args

    words = shlex.split(meta["provenance"]["command"])
    config = config_from_args(build_parser().parse_args(words[1:]))
    for key in ("model", "model_args", "epochs", "batch_size", "lr", "optimizer", "weight_decay", "schedule",
                "augment", "label_smoothing", "warmup_fraction", "seed"):
        assert getattr(config, key) == meta["config"][key], key
    for key in ("ema", "mixup_alpha", "cutmix_alpha"):  # options newer than the oldest file: checked where recorded
        assert key not in meta["config"] or getattr(config, key) == meta["config"][key], key
    assert meta["provenance"]["wall_seconds"] > 0


def test_the_file_loads_into_the_zoo_model_with_its_parameter_count(shipped) -> None:
    from cnnkit.training.restore import load_trained_model

    model, _, info = load_trained_model(WEIGHTS / shipped[0])
    assert sum(p.numel() for p in model.parameters()) == shipped[2]
    assert not model.training and len(info.classes) == 10


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_it_classifies_the_first_thousand_test_images(shipped) -> None:
    import cnnkit
    from cnnkit.data import FashionMNIST
    from cnnkit.data.loader import gather_arrays
    from cnnkit.training.restore import load_trained_model

    model, _, info = load_trained_model(WEIGHTS / shipped[0])
    images, labels = gather_arrays(FashionMNIST(root=FASHION, train=False), np.arange(1000))
    mean, std = (np.asarray(v, np.float32).reshape(1, -1, 1, 1) for v in (info.mean, info.std))
    with cnnkit.no_grad():
        logits = model(cnnkit.tensor(((images - mean) / std).astype(np.float32))).numpy()
    assert (logits.argmax(1) == labels).mean() >= shipped[3]
