"""The shipped DDPMs (cnnkit/models/weights/ddpm_fashion_{uncond,cond}.*): each loads as docs/generation.md describes
it, the same seed gives the same images, and the conditional one draws the class it is asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cnnkit
from cnnkit.diffusion import generate
from cnnkit.training.restore import load_trained_model

WEIGHTS = Path(cnnkit.__file__).resolve().parent / "models" / "weights"
UNCONDITIONAL = WEIGHTS / "ddpm_fashion_uncond.safetensors"
CONDITIONAL = WEIGHTS / "ddpm_fashion_cond.safetensors"
# (file, model_args, parameters): the class embedding (11 rows of 128: ten classes and "no label") is the difference
SHIPPED = [(UNCONDITIONAL, {"conditional": False}, 956_801), (CONDITIONAL, {}, 958_209)]


@pytest.mark.parametrize(("path", "model_args", "parameters"), SHIPPED, ids=["unconditional", "conditional"])
def test_shipped_ddpm_is_the_readmes_model(path: Path, model_args: dict, parameters: int) -> None:
    model, meta, info = load_trained_model(path)
    assert meta["kind"] == "generation" and meta["epoch"] == 3
    assert meta["config"]["model"] == "diffusion_unet" and meta["config"]["model_args"] == model_args
    assert sum(p.numel() for p in model.parameters()) == parameters
    assert info.input_shape == (1, 28, 28) and len(info.classes) == 10
    assert not model.training


@pytest.mark.parametrize("path", [UNCONDITIONAL, CONDITIONAL], ids=["unconditional", "conditional"])
def test_shipped_ddpm_samples_are_images_and_repeat_with_the_seed(path: Path) -> None:
    model, _, _ = load_trained_model(path)
    first, again = (generate(model, 2, steps=3, eta=1.0, seed=5).images for _ in range(2))
    assert first.shape == (2, 1, 28, 28) and first.dtype == np.float32
    assert first.min() >= 0 and first.max() <= 1 and first.std() > 0.1
    np.testing.assert_array_equal(first, again)


def test_shipped_conditional_ddpm_draws_the_class_asked_for() -> None:
    """Trousers against bags, guided (w = 2), DDIM-10: the silhouettes differ where a blur cannot hide it.

    A trouser is a tall, narrow, dark-background shape with a gap between the legs; a bag is wide. The share
    of bright pixels in the outer columns tells them apart: the test fails if the labels are ignored or swapped.
    """
    model, _, info = load_trained_model(CONDITIONAL)
    trouser, bag = info.classes.index("Trouser"), info.classes.index("Bag")
    labels = np.array([trouser] * 4 + [bag] * 4)
    images = generate(model, 8, steps=10, eta=1.0, labels=labels, guidance=2.0, seed=0).images[:, 0]
    outer = (images[:, :, list(range(5)) + list(range(23, 28))] > 0.3).mean(axis=(1, 2))
    assert outer[4:].min() > outer[:4].max(), f"outer-column fill, trousers {outer[:4]}, bags {outer[4:]}"
