"""Rebuilding a trained model from a run folder or a checkpoint file, and preparing images for it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.serialization import CheckpointError
from cnnkit.training.checkpoint import Checkpoint, load_checkpoint
from cnnkit.training.datasets import DataInfo
from cnnkit.training.export import full_state


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """A run folder means its best checkpoint (else its last); a file is taken as it is."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.safetensors", "last.safetensors"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{path} holds no best.safetensors or last.safetensors: is it a cnnkit run folder?")
    if not path.exists():
        raise FileNotFoundError(f"no such run folder or checkpoint: {path}")
    return path


def refuse_non_finite(state: dict[str, np.ndarray], source: Path) -> None:
    """A model with NaN or infinite weights can only give NaN answers: refuse it, naming the first such tensor."""
    for name, array in state.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            count = int(array.size - np.isfinite(array).sum())
            raise ValueError(f"{source}: weight {name!r} holds {count} non-finite value(s) (NaN or infinity); "
                             "the model cannot be used (the training diverged, or the file was altered)")


def described_model(meta: dict[str, Any], source: Path) -> tuple[DataInfo, dict[str, Any]]:
    """(DataInfo, config) from a checkpoint's metadata; a part that is missing or malformed is named."""
    for key in ("data", "config"):
        if not isinstance(meta.get(key), dict):
            raise CheckpointError(f"{source}: its metadata lacks {key!r} (an object describing the "
                                  f"{'training data' if key == 'data' else 'model and run'})")
    if not isinstance(meta["config"].get("model"), str):
        raise CheckpointError(f"{source}: its metadata's config lacks 'model' (the model's name)")
    if not isinstance(meta["config"].get("model_args", {}), dict):
        raise CheckpointError(f"{source}: its metadata's config has 'model_args' "
                              f"{meta['config']['model_args']!r}, not an object of the model's arguments")
    try:
        info = DataInfo.from_dict(meta["data"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{source}: its metadata's 'data' is incomplete or malformed ({error!r})") from None
    problem = data_problem(info)
    if problem:
        raise CheckpointError(f"{source}: its metadata's 'data' is malformed: {problem}")
    return info, meta["config"]


def data_problem(info: DataInfo) -> str | None:
    """What is wrong with a stored DataInfo (None: nothing): the model is built and images prepared from it."""
    def is_number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and bool(np.isfinite(value))

    if not info.classes or not all(isinstance(name, str) for name in info.classes):
        return f"'classes' should be a non-empty list of names, got {info.classes!r}"
    shape = info.input_shape
    if len(shape) != 3 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
        return f"'input_shape' should be three positive integers (channels, height, width), got {list(shape)!r}"
    for name, values in (("mean", info.mean), ("std", info.std)):
        if len(values) != shape[0] or not all(is_number(v) for v in values):
            return f"{name!r} should be {shape[0]} finite number(s), one per channel, got {list(values)!r}"
    if not all(v > 0 for v in info.std):
        return f"'std' should be positive, got {list(info.std)!r}"
    return None


def averaged_weights(checkpoint: Checkpoint, source: Path) -> dict[str, np.ndarray]:
    """The moving average (`shadow.*`) a training checkpoint keeps beside the trained weights, keyed as they are."""
    if checkpoint.ema_state is None:
        raise CheckpointError(f"{source}: holds no moving average of the weights (only the last.safetensors of a "
                              "run trained with --ema does; that run's best.safetensors and exports are the average)")
    average = {k[len("shadow."):]: v for k, v in checkpoint.ema_state.items() if k.startswith("shadow.")}
    if average.keys() != checkpoint.model_state.keys():
        raise CheckpointError(f"{source}: its moving average does not hold the same tensors as its weights")
    return average


def load_trained_model(path: str | os.PathLike, average: bool = False) -> tuple[Any, dict[str, Any], DataInfo]:
    """(model in eval mode, checkpoint metadata, DataInfo) from a run folder or checkpoint.

    average: load the checkpoint's moving average of the weights instead of its trained weights. Only the
    last.safetensors of a run trained with --ema holds both; its best.safetensors and exports hold the average
    as their weights."""
    from cnnkit.models import get_model

    source = resolve_checkpoint(path)
    checkpoint = load_checkpoint(source)
    state = averaged_weights(checkpoint, source) if average else checkpoint.model_state
    refuse_non_finite(state, source)
    meta = checkpoint.meta
    info, config = described_model(meta, source)
    try:
        model = get_model(config["model"], num_classes=len(info.classes), in_channels=info.input_shape[0],
                          **config.get("model_args", {}))
    except (TypeError, MemoryError) as error:  # model_args of the wrong type or size in the metadata
        raise CheckpointError(f"{source}: its model {config['model']!r} cannot be built with the stored "
                              f"model_args {config.get('model_args', {})!r} ({error})") from None
    model.load_state_dict(full_state(state, meta))
    model.eval()
    return model, meta, info


def prepare_image(path: str | os.PathLike, info: DataInfo) -> np.ndarray:
    """Read an image file and convert it the way the model was trained: colour mode, size, scaling, normalisation.

    Returns a float32 array (1, C, H, W). A file that is not an image raises ValueError naming it.
    """
    from cnnkit.data.pixels import read_pixels

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory; give image files")
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    channels, height, width = info.input_shape
    array = read_pixels(path, "L" if channels == 1 else "RGB", (width, height), reader="",
                        unreadable="is not an image cnnkit can read")
    mean = np.asarray(info.mean, dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(info.std, dtype=np.float32).reshape(-1, 1, 1)
    return ((array - mean) / std)[None].astype(np.float32)
