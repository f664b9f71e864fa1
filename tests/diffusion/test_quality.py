"""The quality table on a tiny model and a random LeNet-5 as the feature classifier: every row is there,
the baselines order as they must (real < noise), and the text names each measure."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.diffusion.gaussian import diffusion_unet
from cnnkit.diffusion.quality import format_quality, measure_quality
from cnnkit.metrics.generative import FeatureExtractor
from cnnkit.models import lenet5
from tests.training.tiny_data import make_images


def tiny_setup(train_size: int, test_size: int):
    """A tiny conditional model, a random LeNet-5 as the feature classifier, and drawn train and test images."""
    cnnkit.manual_seed(0)
    model = diffusion_unet(base_channels=8, channel_mults=(1, 2), num_groups=4, num_classes=10, timesteps=20)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, train_size)
    images = make_images(labels, rng).astype(np.float32)[:, None] / 255
    test = make_images(rng.integers(0, 10, test_size), rng).astype(np.float32)[:, None] / 255
    return model, FeatureExtractor(lenet5(), mean=(0.286,), std=(0.353,)), images, labels, test


def test_quality_table_on_a_tiny_model() -> None:
    model, features, images, labels, test = tiny_setup(300, 100)
    report = measure_quality(model, features, (images, labels), test, 10, n=40, steps=2, guidance=2.0, ddpm_check=20)
    assert list(report.fid) == [
        "real training images",
        "per-class mean images",
        "per-class Gaussian, 40 PCA dims",
        "uniform noise",
        "samples, unconditional",
        "samples, conditional w = 2",
    ]
    assert report.fid["real training images"] < report.fid["uniform noise"]
    assert report.coverage.sum() == np.float64(1.0) and len(report.agreement_per_class) == 10
    assert set(report.copies) == {"unconditional", "conditional w = 2"}
    assert all(0 <= c.share_below <= 1 for c in report.copies.values())
    assert list(report.ddpm_check) == ["real training images (20)", "DDIM-2 (20)", "DDPM-20 (20)"]
    text = format_quality(report, [f"class {i}" for i in range(10)])
    for words in ("FID against the test images", "label agreement", "class coverage", "copy check", "DDPM-20 (20)"):
        assert words in text


def test_parts_pick_the_sample_sets_and_a_store_gives_the_same_table_twice(tmp_path) -> None:
    model, features, images, labels, test = tiny_setup(200, 60)
    kwargs = {"n": 20, "steps": 2, "ddpm_check": 10, "store": tmp_path}
    only = measure_quality(model, features, (images, labels), test, 10, parts=("conditional",), **kwargs)
    assert "samples, conditional w = 2" in only.fid and "samples, unconditional" not in only.fid
    assert only.coverage is None and not only.ddpm_check and list(only.copies) == ["conditional w = 2"]
    first = measure_quality(model, features, (images, labels), test, 10, **kwargs)  # conditional read back
    again = measure_quality(model, features, (images, labels), test, 10, **kwargs)  # everything read back
    assert len(list(tmp_path.glob("*.safetensors"))) == 4  # one chunk per sample set
    assert first.fid == again.fid and first.ddpm_check == again.ddpm_check
    assert first.fid["samples, conditional w = 2"] == only.fid["samples, conditional w = 2"]
    with pytest.raises(ValueError, match=r"unknown parts \['uncond'\]"):
        measure_quality(model, features, (images, labels), test, 10, parts=("uncond",), **kwargs)
