"""A tiny diffusion run for the trainer and CLI tests: a 2-level width-8 network, 100 noise steps, 64 tiny
Fashion-MNIST-format images, one sample per class in the epoch grids (a few seconds per epoch)."""

from __future__ import annotations

from pathlib import Path

from cnnkit.training.run import RunConfig, train
from tests.training.tiny_data import write_tiny_fashion

MODEL_ARGS = {"base_channels": 8, "channel_mults": [1, 2], "num_groups": 4, "timesteps": 100}
DATA_ARGS = {"num_images": 64, "eval_images": 32, "grid_per_class": 1, "grid_steps": 2}


def tiny_config(data_dir: Path, out: Path, epochs: int = 2) -> RunConfig:
    return RunConfig.for_task(
        "generate",
        data_dir=str(data_dir),
        out=str(out),
        epochs=epochs,
        batch_size=32,
        model_args=dict(MODEL_ARGS),
        data_args=dict(DATA_ARGS),
    )


def train_tiny_generator(folder: Path, epochs: int = 2) -> Path:
    """Write the tiny data into folder/data, train into folder/run, return the run folder."""
    data = write_tiny_fashion(folder / "data", n_train=96, n_test=40)
    return train(tiny_config(data, folder / "run", epochs), progress=False, log=lambda *_: None).run_dir
