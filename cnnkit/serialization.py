"""Saving and loading tensors as safetensors files (never pickle), written atomically.

`cnnkit.save(state_dict, path, metadata=None)` and `cnnkit.load(path)` mirror torch.save/torch.load for
state dicts. A write goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target, so a killed process leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.tensor import Tensor

METADATA_KEY = "cnnkit"


class CheckpointError(ValueError):
    """A file that is not a safetensors file, or not the kind of file the caller expected."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Write payload to path via a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the permissions open() would
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save(tensors: Mapping[str, Any], path: str | os.PathLike, metadata: Mapping[str, Any] | None = None) -> None:
    """Save a name → tensor/array mapping as safetensors; `metadata` (JSON-serialisable) goes in the header."""
    from safetensors.numpy import save as to_bytes

    # order="C" rather than np.ascontiguousarray, which would turn a 0-d array (num_batches_tracked) into 1-d
    arrays = {name: np.asarray(value.data if isinstance(value, Tensor) else value, order="C")
              for name, value in tensors.items()}
    header = None if metadata is None else {METADATA_KEY: json.dumps(metadata)}
    atomic_write_bytes(path, to_bytes(arrays, metadata=header))


def _read(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
    from safetensors import SafetensorError
    from safetensors.numpy import load as from_bytes

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix == ".json" and path.with_suffix(".safetensors").is_file():
        raise CheckpointError(f"{path} is the readable copy of a checkpoint's metadata; pass "
                              f"{path.with_suffix('.safetensors')} (or its run folder) instead")
    payload = path.read_bytes()
    try:
        arrays = from_bytes(payload)
    except (SafetensorError, ValueError, OSError):
        raise CheckpointError(f"{path} is not a safetensors file; cnnkit reads and writes weights and "
                              "checkpoints as safetensors only (it never unpickles .pth files)") from None
    header_len = int.from_bytes(payload[:8], "little")
    header = json.loads(payload[8 : 8 + header_len])
    raw = (header.get("__metadata__") or {}).get(METADATA_KEY)
    if not raw:
        return arrays, None
    try:
        metadata = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: the cnnkit metadata in its header is not valid JSON ({error}); the file "
                              "is corrupt or was not written by cnnkit") from None
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path}: the cnnkit metadata in its header is a JSON {type(metadata).__name__}, "
                              "not an object; the file is corrupt or was not written by cnnkit")
    return arrays, metadata


def load(path: str | os.PathLike) -> dict[str, Tensor]:
    """Load a safetensors file as a name → Tensor dict (for `model.load_state_dict(cnnkit.load(path))`)."""
    arrays, _ = _read(path)
    return {name: Tensor(array, dtype=array.dtype) for name, array in arrays.items()}


def load_with_metadata(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
    """The arrays of a safetensors file and the JSON metadata cnnkit stored in its header (or None)."""
    return _read(path)
