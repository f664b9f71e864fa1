"""sample_set(): chunked generation with per-chunk seeds, kept in a folder and read back, resumed after a crash,
never reused for other weights or settings, damaged chunks refused by name, and chunks shared between processes
through claims."""

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
        p._data[...] = rng.standard_normal(p.shape).astype(np.float32) * 0.05
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


def _claim_as(path, pid: int, host: str | None = None) -> None:
    import json
    import socket

    path.with_name(path.name + ".claim").write_text(json.dumps({"host": host or socket.gethostname(), "pid": pid}))


def _chunk_path(model, store, index: int, size: int, steps: int = 2):
    settings = {"sampler": "ddim", "steps": steps, "guidance": 0.0, "seed": 0, "chunk": 3, "shape": list(SHAPE),
                "schedule": [model.schedule.name, model.schedule.timesteps]}
    key = sample_store.chunk_key(sample_store.weights_digest(model), settings, index, size, None)
    return store / f"{key}.safetensors"


def test_a_chunk_claimed_by_a_live_process_is_left_to_it_and_waited_for(model, tmp_path, monkeypatch) -> None:
    import os

    claimed = _chunk_path(model, tmp_path, 1, 3)
    _claim_as(claimed, os.getppid())  # the parent process: alive, and on this host
    made, slept, lines = [], [], []
    real_generate = sample_store.generate

    def counting(*args, **kwargs):
        made.append(kwargs["seed"][1])
        return real_generate(*args, **kwargs)

    def other_process_finishes(seconds):  # meanwhile the claimant writes its chunk and drops its claim
        slept.append(seconds)
        images = real_generate(model, 3, steps=2, seed=[0, 1], image_shape=SHAPE).images
        save({"images": images}, claimed)
        claimed.with_name(claimed.name + ".claim").unlink()

    monkeypatch.setattr(sample_store, "generate", counting)
    monkeypatch.setattr(sample_store.time, "sleep", other_process_finishes)
    images = sample_set(model, 8, steps=2, image_shape=SHAPE, chunk=3, store=tmp_path, log=lines.append)
    assert made == [0, 2] and slept == [sample_store.POLL_SECONDS]
    assert any("waiting for chunk 2, claimed by another process" in line for line in lines)
    np.testing.assert_array_equal(images, sample_set(model, 8, steps=2, image_shape=SHAPE, chunk=3))
    assert not list(tmp_path.glob("*.claim"))


def test_a_dead_process_claim_is_taken_over_and_claims_are_released(model, tmp_path, monkeypatch) -> None:
    import os
    import subprocess
    import sys

    ended = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603 - our own interpreter
    ended.wait()
    _claim_as(_chunk_path(model, tmp_path, 0, 3), ended.pid)  # a killed evaluation's claim
    unwritten = _chunk_path(model, tmp_path, 2, 2).with_suffix(".safetensors.claim")
    unwritten.write_text("")  # killed between creating its claim and writing it, long ago
    long_ago = sample_store.time.time() - 2 * sample_store.UNWRITTEN_CLAIM_SECONDS
    os.utime(unwritten, (long_ago, long_ago))
    monkeypatch.setattr(sample_store.time, "sleep", lambda seconds: pytest.fail("waited for a dead claim"))
    images = sample_set(model, 8, steps=2, image_shape=SHAPE, chunk=3, store=tmp_path)
    np.testing.assert_array_equal(images, sample_set(model, 8, steps=2, image_shape=SHAPE, chunk=3))
    assert len(list(tmp_path.glob("*.safetensors"))) == 3 and not list(tmp_path.glob("*.claim"))


def test_a_fresh_unwritten_or_foreign_claim_counts_as_live(tmp_path) -> None:
    claim = tmp_path / "chunk.safetensors.claim"
    claim.write_text("")
    assert sample_store._claim_is_live(claim)  # its writer may be between creating and writing it
    _claim_as(tmp_path / "chunk.safetensors", 1, host="another-machine")
    assert sample_store._claim_is_live(claim)
    assert sample_store._claim(tmp_path / "chunk.safetensors") is None


def test_eta_reaches_the_ddim_sampler_and_only_a_nonzero_eta_changes_the_keys(model, tmp_path) -> None:
    stochastic = sample_set(model, 4, steps=3, eta=1.0, image_shape=SHAPE, chunk=2, store=tmp_path)
    for index in (0, 1):
        expected = generate(model, 2, steps=3, eta=1.0, seed=[0, index], image_shape=SHAPE).images
        np.testing.assert_array_equal(stochastic[2 * index : 2 * index + 2], expected)
    assert np.abs(stochastic - sample_set(model, 4, steps=3, image_shape=SHAPE, chunk=2)).max() > 1e-3
    assert len(list(tmp_path.glob("*.safetensors"))) == 2
    sample_set(model, 4, steps=3, eta=0.0, image_shape=SHAPE, chunk=2, store=tmp_path)
    assert len(list(tmp_path.glob("*.safetensors"))) == 4  # η = 0 is a set of its own
    ddpm = sample_set(model, 2, sampler="ddpm", eta=1.0, image_shape=SHAPE, chunk=2, store=tmp_path)
    again = sample_set(model, 2, sampler="ddpm", image_shape=SHAPE, chunk=2, store=tmp_path)
    np.testing.assert_array_equal(ddpm, again)  # DDPM has no η: both calls share one chunk
    assert len(list(tmp_path.glob("*.safetensors"))) == 5
