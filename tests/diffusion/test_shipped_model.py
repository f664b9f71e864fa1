"""The shipped unconditional DDPM (cnnkit/models/weights/ddpm_fashion_uncond.*): it loads as the README describes
it, and the same seed gives the same images."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import cnnkit
from cnnkit.diffusion import generate
from cnnkit.training.restore import load_trained_model

SHIPPED = Path(cnnkit.__file__).resolve().parent / "models" / "weights" / "ddpm_fashion_uncond.safetensors"


def test_shipped_ddpm_is_the_readmes_unconditional_model() -> None:
    model, meta, info = load_trained_model(SHIPPED)
    assert meta["kind"] == "generation" and meta["epoch"] == 3
    assert meta["config"]["model"] == "diffusion_unet" and meta["config"]["model_args"] == {"conditional": False}
    # 958,209 with conditional=True, which adds the class embedding
    assert sum(p.numel() for p in model.parameters()) == 956_801
    assert info.input_shape == (1, 28, 28) and len(info.classes) == 10
    assert not model.training


def test_shipped_ddpm_samples_are_images_and_repeat_with_the_seed() -> None:
    model, _, _ = load_trained_model(SHIPPED)
    first, again = (generate(model, 2, steps=3, eta=1.0, seed=5).images for _ in range(2))
    assert first.shape == (2, 1, 28, 28) and first.dtype == np.float32
    assert first.min() >= 0 and first.max() <= 1 and first.std() > 0.1
    np.testing.assert_array_equal(first, again)
