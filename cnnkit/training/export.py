"""Exported weights: a run's checkpoint cut down to what using the model needs, for sharing or shipping.

An exported file is a cnnkit checkpoint without the optimiser's state, the scheduler's or the RNGs': the
weights, the model's name and arguments, the data description and the training history, and under
`provenance` the `cnnkit train` command that reproduces the run and the run's wall time
(`cnnkit.training.provenance`).
`cnnkit eval`, `predict`, `generate` and `report` read it as they read a run folder.

A diffusion model keeps two copies of its weights, the trained `net.*` and their moving average
`ema.shadow.*`, which is what the samplers use. `ema_only=True` keeps the average alone (half the size); on
loading, `full_state` copies it into `net.*` too, so the model is complete and samples and is evaluated from
the averaged weights.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cnnkit.training.checkpoint import load_checkpoint, refuse_run_file, save_checkpoint
from cnnkit.training.history import read_history
from cnnkit.training.provenance import training_command, wall_seconds

EMA_PREFIX, NET_PREFIX = "ema.shadow.", "net."
KEPT_META = ("kind", "config", "data", "epoch", "history", "best_score", "score_name", "best_accuracy")


def ema_only_state(state: dict[str, Any]) -> dict[str, Any]:
    """The state without the trained `net.*` weights: the EMA copy (and its update count) only."""
    if not any(name.startswith(EMA_PREFIX) for name in state):
        raise ValueError("--ema-only needs a model with an exponential moving average of its weights "
                         "(ema.shadow.*, as a diffusion run keeps); this checkpoint has none")
    return {name: value for name, value in state.items() if not name.startswith(NET_PREFIX)}


def is_ema_only(meta: dict[str, Any]) -> bool:
    """Whether a checkpoint's metadata says it was exported with --ema-only (it then has no online weights)."""
    return bool(meta.get("exported", {}).get("ema_only"))


def full_state(state: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """A loadable state dict: an EMA-only export gets `net.*` = `ema.shadow.*`; anything else is returned as is."""
    if not is_ema_only(meta):
        return state
    restored = dict(state)
    for name, value in state.items():
        if name.startswith(EMA_PREFIX):
            restored[NET_PREFIX + name[len(EMA_PREFIX):]] = value
    return restored


def export_checkpoint(source: str | os.PathLike, target: str | os.PathLike, ema_only: bool = False) -> Path:
    """Write the weights of `source` (a run folder, meaning its best checkpoint, or a checkpoint file) to
    `target` (a .safetensors file, with its metadata as JSON beside it); returns the checkpoint read."""
    from cnnkit.training.restore import resolve_checkpoint

    path, target = resolve_checkpoint(source), Path(target)
    if target.suffix != ".safetensors":
        raise ValueError(f"expected the exported file to end in .safetensors, got {target}")
    if target.resolve() == path.resolve():
        raise ValueError(f"{target} is the checkpoint being exported: write the export to another file")
    refuse_run_file(target, "the export")
    checkpoint = load_checkpoint(path)
    state = ema_only_state(checkpoint.model_state) if ema_only else checkpoint.model_state
    meta = {key: checkpoint.meta[key] for key in KEPT_META if key in checkpoint.meta}
    meta["exported"] = {"from": f"{path.parent.name}/{path.name}", "ema_only": ema_only}
    meta["provenance"] = _provenance(Path(source), checkpoint.meta)
    save_checkpoint(target, state, None, meta)
    return path


def _provenance(source: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The command that trains the run again, and its wall time: from the run folder's whole history when the
    source is a run folder (the best checkpoint's history stops at its own epoch), else from the checkpoint's."""
    history = meta.get("history", [])
    if source.is_dir() and (source / "history.json").is_file():
        history = read_history(source)
    return {"command": training_command(meta.get("config", {})), "wall_seconds": wall_seconds(history),
            "epochs_run": len(history), "chosen_epoch": meta.get("epoch")}
