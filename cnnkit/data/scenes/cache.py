"""The on-disk cache of generated scenes: one safetensors file per split plus a readable `scenes.json`.

Folder: `root/fashion-scenes-<seed>[-clutter]` when a root is given, else under `$CNNKIT_DATA`, else under
`~/.cache/cnnkit`. `<split>.safetensors` holds the SceneSet's six arrays (images, instances, boxes, labels, items,
offsets) and, in its header, the settings that made them; a file whose settings differ from the request (another
generator version, item hold-out or rule set) or that holds fewer scenes than asked is generated again. Files
are written atomically, so a killed generation leaves the old file or none. No pickle anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.locate import ENV_VAR, cache_root
from cnnkit.data.scenes.compose import SceneSet
from cnnkit.serialization import CheckpointError, atomic_write_text, load_with_metadata, save

NAME = "fashion-scenes"
SUMMARY = "scenes.json"
ARRAYS = ("images", "instances", "boxes", "labels", "items", "offsets")


def cache_folder(root: str | os.PathLike | None, seed: int, clutter: bool) -> Path:
    """Where the scenes of (seed, clutter) live: root, else $CNNKIT_DATA, else ~/.cache/cnnkit; plus the name.

    A root that is itself that folder (`--data-dir ~/.cache/cnnkit/fashion-scenes-0`) is taken as it is."""
    env = os.environ.get(ENV_VAR)
    base = Path(root).expanduser() if root is not None else Path(env).expanduser() if env else cache_root()
    name = f"{NAME}-{seed}{'-clutter' if clutter else ''}"
    return base if root is not None and base.name == name else base / name


def split_file(folder: Path, split: str) -> Path:
    return folder / f"{split}.safetensors"


def digest(scenes: SceneSet) -> str:
    """sha256 over the six arrays' bytes, in a fixed order: equal digests mean byte-identical scenes."""
    h = hashlib.sha256()
    for name in ARRAYS:
        h.update(np.ascontiguousarray(getattr(scenes, name)).tobytes())
    return h.hexdigest()


def load_split(folder: Path, split: str, settings: dict[str, Any], count: int) -> SceneSet | None:
    """The cached scenes of split if made with exactly `settings` and at least `count` of them, else None."""
    path = split_file(folder, split)
    if not path.is_file():
        return None
    try:
        arrays, meta = load_with_metadata(path)
    except (CheckpointError, OSError, ValueError):
        return None  # a damaged cache is regenerated, not trusted
    if not meta or meta.get("settings") != settings or set(arrays) != set(ARRAYS):
        return None
    scenes = SceneSet(**{name: arrays[name] for name in ARRAYS})
    if len(scenes) < count or meta.get("sha256") != digest(scenes):
        return None
    return scenes


def save_split(folder: Path, split: str, scenes: SceneSet, settings: dict[str, Any]) -> None:
    """Write split's scenes and record them in scenes.json (kept readable: counts, seed, settings, digests)."""
    sha = digest(scenes)
    save(scenes.arrays(), split_file(folder, split), metadata={"settings": settings, "sha256": sha})
    summary_path = folder / SUMMARY
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError):
        summary = {}
    splits = summary.get("splits", {}) if isinstance(summary.get("splits"), dict) else {}
    splits[split] = {"scenes": len(scenes), "objects": int(len(scenes.labels)), "sha256": sha, "settings": settings}
    summary = {"dataset": "Fashion-MNIST scenes (cnnkit)", "splits": dict(sorted(splits.items()))}
    atomic_write_text(summary_path, json.dumps(summary, indent=2) + "\n")
