"""Saving and loading as safetensors files (never pickle), written atomically; reading PyTorch's .pt files.

`cnnkit.save(obj, f)` / `cnnkit.load(f)` mirror torch.save / torch.load for what training scripts save:
- a flat name → tensor mapping (a state dict) is written as a plain safetensors file, readable by any
  safetensors tool;
- anything else — a checkpoint dict of state dicts, optimizer state, numbers, strings, lists, tuples, None —
  stores its tensors and arrays as the file's tensors (named by their path, e.g. `model.conv1.weight`) and
  its structure as JSON in the header (`__metadata__["cnnkit.object"]`); `load` rebuilds it (Tensors as
  Tensors, ndarrays as ndarrays, int keys as ints). Other objects are refused, naming where they are.
`cnnkit.load` also reads a `torch.save` zip file (.pt/.pth) without PyTorch, through the allow-list
unpickler of `cnnkit.safe_pickle` (tensors and plain containers only, as torch's weights_only=True).
A write goes to a temporary file in the same folder, is flushed to disk, then renamed over the target, so a
killed process leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.tensor import Tensor

METADATA_KEY = "cnnkit"
OBJECT_KEY = "cnnkit.object"
ZIP_MAGIC = b"PK\x03\x04"


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


def is_state_dict(obj: Any) -> bool:
    """A flat str → tensor/array mapping, stored as a plain safetensors file."""
    return (isinstance(obj, Mapping) and len(obj) > 0 and all(isinstance(k, str) for k in obj)
            and all(isinstance(v, Tensor | np.ndarray) for v in obj.values()))


def save(obj: Any, f: str | os.PathLike | Any, metadata: Mapping[str, Any] | None = None) -> None:
    """Save a state dict, or a checkpoint of nested containers (see the module docstring), as safetensors;
    `metadata` (JSON-serialisable) goes in the header. `f` is a path or a writable binary file."""
    from safetensors.numpy import save as to_bytes

    header = {} if metadata is None else {METADATA_KEY: json.dumps(metadata)}
    if is_state_dict(obj):
        # order="C" rather than np.ascontiguousarray, which would turn a 0-d array (num_batches_tracked) into 1-d
        arrays = {name: np.asarray(value.numpy() if isinstance(value, Tensor) else value, order="C")
                  for name, value in obj.items()}
    else:
        arrays = {}
        header[OBJECT_KEY] = json.dumps(encode(obj, "", arrays, {}))
    payload = to_bytes(arrays, metadata=header or None)
    if hasattr(f, "write"):
        f.write(payload)
    else:
        atomic_write_bytes(f, payload)


def leaf_name(path: str, arrays: dict[str, np.ndarray]) -> str:
    name = path.strip(".") or "tensor"
    unique, n = name, 1
    while unique in arrays:
        unique, n = f"{name}#{n}", n + 1
    return unique


def encode(obj: Any, path: str, arrays: dict[str, np.ndarray], seen: dict[int, str]) -> Any:
    """The JSON form of obj; its tensors and arrays go into `arrays` under their path (shared ones once)."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if np.isfinite(value) else {"@": "float", "value": repr(value)}
    if isinstance(obj, Tensor | np.ndarray):
        array = obj.numpy() if isinstance(obj, Tensor) else obj
        if array.dtype.kind not in "biuf":
            raise TypeError(f"cnnkit.save: cannot store the {array.dtype} array at {path or 'the top'}")
        if id(obj) not in seen:
            seen[id(obj)] = leaf_name(path, arrays)
            arrays[seen[id(obj)]] = np.asarray(array, order="C")
        if isinstance(obj, Tensor):
            return {"@": "tensor", "key": seen[id(obj)], "requires_grad": bool(obj.requires_grad)}
        return {"@": "ndarray", "key": seen[id(obj)]}
    if isinstance(obj, Mapping):
        kind = "odict" if isinstance(obj, OrderedDict) else "dict"
        return {"@": kind, "items": [[encode(k, f"{path}.{k}", {}, {}), encode(v, f"{path}.{k}", arrays, seen)]
                                     for k, v in obj.items()]}
    if isinstance(obj, list | tuple):
        return {"@": "list" if isinstance(obj, list) else "tuple",
                "items": [encode(v, f"{path}.{i}", arrays, seen) for i, v in enumerate(obj)]}
    raise TypeError(f"cnnkit.save: cannot store a {type(obj).__name__} at {path.strip('.') or 'the top'}: a "
                    f"checkpoint holds tensors, arrays, numbers, strings, None, and lists, tuples and dicts of "
                    f"them (cnnkit never pickles)")


def decode(node: Any, arrays: dict[str, np.ndarray], made: dict[str, Any]) -> Any:
    """The object of `encode`'s JSON form."""
    if not isinstance(node, dict):
        return node
    kind = node.get("@")
    if kind in ("tensor", "ndarray"):
        key = node["key"]
        if key not in made:
            array = arrays[key]
            made[key] = (Tensor(array, dtype=array.dtype, requires_grad=bool(node.get("requires_grad")))
                         if kind == "tensor" else array)
        return made[key]
    if kind == "float":
        return float(node["value"])
    if kind in ("dict", "odict"):
        out = OrderedDict() if kind == "odict" else {}
        for k, v in node["items"]:
            out[decode(k, arrays, made)] = decode(v, arrays, made)
        return out
    if kind == "list":
        return [decode(v, arrays, made) for v in node["items"]]
    if kind == "tuple":
        return tuple(decode(v, arrays, made) for v in node["items"])
    raise ValueError(f"unknown node {kind!r} in the structure of a cnnkit checkpoint")


def _read(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
    arrays, header = _read_safetensors(path)
    raw = header.get(METADATA_KEY)
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


def _read_safetensors(path: str | os.PathLike | Any,
                      payload: bytes | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays and the `__metadata__` strings of a safetensors file."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as from_bytes

    if payload is None:
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
        raise CheckpointError(f"{path} is not a safetensors file (nor a PyTorch zip checkpoint); cnnkit writes "
                              "safetensors only and reads PyTorch's .pt/.pth zip files through an allow-list "
                              "(it never runs a pickle)") from None
    header_len = int.from_bytes(payload[:8], "little")
    header = json.loads(payload[8 : 8 + header_len])
    return arrays, dict(header.get("__metadata__") or {})


def load(f: str | os.PathLike | Any, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """What `save` wrote (a state dict as a name → Tensor dict, or the checkpoint's structure), or a `torch.save`
    zip file read through the allow-list unpickler. torch.load's other arguments are accepted: everything is
    on the CPU and nothing is unpickled beyond tensors and plain containers, whatever `weights_only` says."""
    if map_location not in (None, "cpu") and str(map_location) != "cpu" and not callable(map_location):
        if not isinstance(map_location, dict):
            raise RuntimeError(f"cnnkit.load: cnnkit runs on the CPU; got map_location={map_location!r}")
    if hasattr(f, "read"):
        payload, name = f.read(), getattr(f, "name", "<file object>")
    else:
        path = Path(f)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        if path.suffix == ".json" and path.with_suffix(".safetensors").is_file():
            _read_safetensors(path)  # raises the pointer to the checkpoint
        payload, name = path.read_bytes(), str(path)
    if payload.startswith(ZIP_MAGIC):
        import io

        from cnnkit.safe_pickle import UnsafePickleError, load_torch_zip

        try:
            return load_torch_zip(io.BytesIO(payload)) if hasattr(f, "read") else load_torch_zip(name)
        except UnsafePickleError as error:
            raise CheckpointError(str(error).replace("<file object>", name)) from None
    arrays, header = _read_safetensors(name, payload)
    if OBJECT_KEY in header:
        return decode(json.loads(header[OBJECT_KEY]), arrays, {})
    return {key: Tensor(array, dtype=array.dtype) for key, array in arrays.items()}


def load_with_metadata(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
    """The arrays of a safetensors file and the JSON metadata cnnkit stored in its header (or None)."""
    return _read(path)
