"""Training checkpoints: one safetensors file holding the model's weights, the optimiser's state arrays, the moving
average of the weights when the run keeps one (`--ema`), and, in its header, everything else as JSON (epoch,
history, RNG states, the model's name and arguments).

One file, written atomically (temporary file, then rename): a run killed at any moment leaves the
previous checkpoint intact. A readable copy of the metadata is written beside it as JSON.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.serialization import CheckpointError, atomic_write_text, load_with_metadata, save
from cnnkit.tensor import Tensor

FORMAT = "cnnkit-checkpoint-1"


@dataclass
class Checkpoint:
    """What a checkpoint holds, as plain data."""

    model_state: dict[str, np.ndarray]
    optimizer_state: dict[str, Any] | None
    meta: dict[str, Any] = field(default_factory=dict)
    ema_state: dict[str, np.ndarray] | None = None  # an `EMA`'s state_dict (shadow.*, num_updates), or None


def _split_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays of an optimiser's state_dict go into the tensor section; numbers stay in the JSON."""
    arrays: dict[str, np.ndarray] = {}
    plain_state: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        plain_state[str(index)] = {}
        for name, value in entries.items():
            value = value._data if isinstance(value, Tensor) else value
            if isinstance(value, np.ndarray):
                arrays[f"optimizer.{index}.{name}"] = value
            else:
                plain_state[str(index)][name] = value.item() if isinstance(value, np.generic) else value
    return arrays, {"state": plain_state, "param_groups": state["param_groups"]}


def _join_optimizer_state(arrays: dict[str, np.ndarray], plain: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(k): dict(v) for k, v in plain["state"].items()}
    for key, value in arrays.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": plain["param_groups"]}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _arrays(prefix: str, state: dict[str, Any]) -> dict[str, np.ndarray]:
    return {f"{prefix}{k}": (v._data if isinstance(v, Tensor) else np.asarray(v)) for k, v in state.items()}


def save_checkpoint(path: str | os.PathLike, model_state: dict[str, Any], optimizer_state: dict[str, Any] | None,
                    meta: dict[str, Any], ema_state: dict[str, Any] | None = None) -> None:
    """Write a checkpoint atomically, and its metadata as readable JSON beside it (`<name>.json`)."""
    tensors = _arrays("model.", model_state)
    if ema_state is not None:
        tensors.update(_arrays("ema.", ema_state))
    full_meta = {"format": FORMAT, **_jsonable(meta)}
    if optimizer_state is not None:
        opt_arrays, opt_plain = _split_optimizer_state(optimizer_state)
        tensors.update(opt_arrays)
        full_meta["optimizer"] = _jsonable(opt_plain)
    save(tensors, path, metadata=full_meta)
    atomic_write_text(Path(path).with_suffix(".json"), json.dumps(full_meta, indent=2))


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`; anything else is refused with a clear message."""
    arrays, meta = load_with_metadata(path)
    if not meta or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a cnnkit training checkpoint "
                              "(no cnnkit metadata in its header); load plain weights with cnnkit.load()")
    model_state = {k[len("model."):]: v for k, v in arrays.items() if k.startswith("model.")}
    opt_arrays = {k: v for k, v in arrays.items() if k.startswith("optimizer.")}
    optimizer_state = _join_optimizer_state(opt_arrays, meta.pop("optimizer")) if "optimizer" in meta else None
    ema_state = {k[len("ema."):]: v for k, v in arrays.items() if k.startswith("ema.")} or None
    return Checkpoint(model_state, optimizer_state, meta, ema_state)


RESUME_KEYS = {"epoch": int, "history": list, "config": dict}


def require_resumable(checkpoint: Checkpoint, path: str | os.PathLike) -> None:
    """Refuse a checkpoint that cannot continue a run, naming the file and what it lacks."""
    for key, kind in RESUME_KEYS.items():
        if not isinstance(checkpoint.meta.get(key), kind):
            raise CheckpointError(f"{path}: cannot resume from it: its metadata lacks {key!r} (a {kind.__name__}); "
                                  "it is not the last.safetensors a training wrote")
    if checkpoint.optimizer_state is None:
        raise CheckpointError(f"{path}: cannot resume from it: it holds no optimiser state (best.safetensors and "
                              "exported weights do not); resume from the run's own last.safetensors")


def require_average(checkpoint: Checkpoint, path: str | os.PathLike) -> None:
    """Refuse to resume a run that keeps a moving average of its weights from a checkpoint without one."""
    if checkpoint.ema_state is None:
        raise CheckpointError(f"{path}: cannot resume from it: the run keeps a moving average of its weights "
                              "(--ema) and this checkpoint holds none")


RUN_FILES = ("config.json", "history.json", "history.csv", "best.safetensors", "last.safetensors", "best.json",
             "last.json")


def refuse_run_file(path: str | os.PathLike, what: str) -> None:
    """Refuse to write `path` (or the .json beside it) over a file a training run keeps: its checkpoints, their
    metadata, config.json or history. An export written as RUN/last.safetensors would end the run's --resume."""
    path = Path(path)
    for place in (path, path.with_suffix(".json")):
        if place.name in RUN_FILES and (place.parent / "config.json").is_file():
            raise FileExistsError(f"{what} {path} would overwrite {place.name} of the training run in {place.parent}; "
                                  "write to another file")
