"""sample_set(): chunked generation with per-chunk seeds, kept in a folder and read back, resumed after a crash,
never reused for other weights or settings, and damaged chunks refused by name."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.diffusion import sample_store
from cnnkit.diffusion.gaussian import diffusion_unet
from cnnkit.diffusion.generate import balanced_labels, generate
from cnnkit.diffusion.sample_store import sample_set
from cnnkit.serialization import CheckpointError, save

SHAPE = (1, 8, 8)


def tiny_model(seed: int = 0):
    cnnkit.manual_seed(seed)
    m = diffusion_unet(base_channels=8, channel_mults=(1, 2), num_groups=4, num_classes=3, timesteps=20)
    rng = np.random.default_rng(seed)
    for p in m.net.parameters():
        p.data[...] = rng.standard_normal(p.shape).astype(np.float32) * 0.05
    m.ema.update(m.net)
    return m


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def test_chunk_i_is_generated_from_the_seed_sequence_seed_i_with_its_labels(model) -> None:
    labels = balanced_labels(7, 3)
    images = sample_set(model, 7, labels=labels, guidance=1.0, steps=3, seed=5, image_shape=SHAPE, chunk=3)
    for index, start in enumerate(range(0, 7, 3)):
        part = slice(start, min(start + 3, 7))
        expected = generate(model, len(labels[part]), labels=labels[part], guidance=1.0, steps=3, seed=[5, index],
                            image_shape=SHAPE).images
        np.testing.assert_array_equal(images[part], expected)


def test_a_stored_set_is_read_back_and_a_crashed_one_resumes(model, tmp_path, monkeypatch) -> None:
    made = []
    real_generate = sample_store.generate

    def counting(*args, **kwargs):
        made.append(kwargs["seed"][1])
        if kwargs["seed"][1] == 2 and len(made) == 3:
            raise KeyboardInterrupt  # killed while making the third chunk
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(sample_store, "generate", counting)
    with pytest.raises(KeyboardInterrupt):
        sample_set(model, 8, steps=2, image_shape=SHAPE, chunk=3, store=tmp_path)
    assert made == [0, 1, 2] and len(list(tmp_path.glob("*.safetensors"))) == 2  # no half-written chunk
    resumed = sample_set(model, 8, steps=2, image_shape=SHAPE, chunk=3, store=tmp_path)
    assert made == [0, 1, 2, 2]  # only the missing chunk was generated
    again = sample_set(model, 8, steps=2, image_shape=SHAPE, chunk=3, store=tmp_path)
    assert made == [0, 1, 2, 2]
    np.testing.assert_array_equal(again, resumed)
    np.testing.assert_array_equal(resumed, sample_set(model, 8, steps=2, image_shape=SHAPE, chunk=3))


def test_other_weights_or_settings_never_reuse_a_chunk(model, tmp_path) -> None:
    sample_set(model, 2, steps=2, image_shape=SHAPE, store=tmp_path)
    sample_set(model, 2, steps=3, image_shape=SHAPE, store=tmp_path)
    sample_set(model, 2, steps=2, seed=1, image_shape=SHAPE, store=tmp_path)
    sample_set(model, 2, labels=np.array([0, 1]), steps=2, image_shape=SHAPE, store=tmp_path)
    sample_set(model, 2, labels=np.array([1, 1]), steps=2, image_shape=SHAPE, store=tmp_path)
    other = sample_set(tiny_model(seed=1), 2, steps=2, image_shape=SHAPE, store=tmp_path)
    assert len(list(tmp_path.glob("*.safetensors"))) == 6
    sample_set(model, 3, steps=2, image_shape=SHAPE, store=tmp_path)  # a longer set: its one chunk is longer too
    assert len(list(tmp_path.glob("*.safetensors"))) == 7
    assert np.abs(other - sample_set(model, 2, steps=2, image_shape=SHAPE, store=tmp_path)).max() > 0.01


def test_a_damaged_or_foreign_chunk_is_refused_by_name(model, tmp_path) -> None:
    sample_set(model, 2, steps=2, image_shape=SHAPE, store=tmp_path)
    (path,) = tmp_path.glob("*.safetensors")
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match=rf"{path.name} is a damaged sample chunk.*delete it"):
        sample_set(model, 2, steps=2, image_shape=SHAPE, store=tmp_path)
    save({"images": np.zeros((3, *SHAPE), np.float32)}, path)
    with pytest.raises(CheckpointError, match=r"should hold float32 images of shape \(2, 1, 8, 8\), holds float32"):
        sample_set(model, 2, steps=2, image_shape=SHAPE, store=tmp_path)
    with pytest.raises(ValueError, match="positive chunk size"):
        sample_set(model, 2, image_shape=SHAPE, chunk=0)


def test_a_chunk_holds_about_the_same_work_whatever_the_sampler() -> None:
    from cnnkit.diffusion.sample_store import chunk_size

    assert chunk_size("ddim", 50, 1000) == 500 and chunk_size("ddim", 25, 1000) == 1000
    assert chunk_size("ddpm", 50, 1000) == 25 and chunk_size("ddpm", 50, 100_000) == 1
