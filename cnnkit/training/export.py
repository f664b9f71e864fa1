"""Exported weights: a run's checkpoint cut down to what using the model needs, for sharing or shipping.

An exported file is a cnnkit checkpoint without the optimiser's state, the scheduler's or the RNGs': the
weights, the model's name and arguments, the data description and the training history (for provenance).
`cnnkit eval`, `predict` and `generate` read it as they read a run folder.

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
    save_checkpoint(target, state, None, meta)
    return path
