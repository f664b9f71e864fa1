"""`cnnkit convert-weights IN.pth OUT.safetensors`: a PyTorch checkpoint's tensors as a safetensors state dict.

The file is read without PyTorch, by cnnkit's allow-list unpickler (`cnnkit.safe_pickle.load_torch_zip`): it
rebuilds tensors and plain containers only and refuses any other pickled object, so a hostile file cannot run
code. The file may be a bare state dict or a dict holding one under "state_dict" or "model" (as training
scripts save them); a "module." prefix left by DataParallel is removed. The tensors are written with
`safetensors.numpy` under their PyTorch names, so `model.load_state_dict(cnnkit.load(OUT))` loads them into the
cnnkit model of the same architecture. bfloat16 tensors, which NumPy cannot hold, are written as float32 (exact),
and the output says so.
"""

from __future__ import annotations

import argparse
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

CONTAINER_KEYS = ("state_dict", "model")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert-weights",
        help="convert a PyTorch .pth checkpoint to safetensors",
        description="Convert a PyTorch checkpoint (a state dict, or a dict with 'state_dict' or "
        "'model' inside) to a safetensors file that cnnkit.load reads. PyTorch is not needed: the file is "
        "read by an allow-list unpickler that rebuilds tensors and plain containers only.",
    )
    p.add_argument("source", metavar="IN.pth", help="PyTorch checkpoint (torch.save)")
    p.add_argument("target", metavar="OUT.safetensors", help="safetensors file to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cnnkit.cli import UserError
    from cnnkit.serialization import save
    from cnnkit.training.checkpoint import refuse_run_file

    source, target = Path(args.source), Path(args.target)
    if not source.is_file():
        raise UserError(f"no such checkpoint: {source}")
    if target.suffix != ".safetensors":
        raise UserError(f"expected the output to end in .safetensors, got {target}")
    refuse_run_file(target, "the output")
    widened: dict[int, str] = {}
    arrays = state_dict_arrays(_read_checkpoint(source, widened), source, widened)
    save(arrays, target)
    print(f"wrote {len(arrays)} tensors ({sum(a.size for a in arrays.values()):,} values) to {target}")
    return 0


def _read_checkpoint(source: Path, widened: dict[int, str]) -> Any:
    """The checkpoint's tree (cnnkit Tensors at the leaves); a refused or unreadable file is one line naming it."""
    from cnnkit.cli import UserError
    from cnnkit.safe_pickle import UnsafePickleError, load_torch_zip

    try:
        return load_torch_zip(source, widened)
    except UnsafePickleError as error:
        raise UserError(f"not a checkpoint cnnkit can read safely: {error}") from None  # the error names the file
    except (OSError, zipfile.BadZipFile, RuntimeError) as error:
        raise UserError(f"{source}: not a readable checkpoint ({type(error).__name__}: {error})") from None


def state_dict_arrays(checkpoint: Any, source: Path, widened: dict[int, str] | None = None) -> dict[str, np.ndarray]:
    """name → NumPy array of the state dict inside `checkpoint`; `widened` maps id(tensor) → the dtype it was
    stored in, for the tensors the reader widened to float32."""
    from cnnkit.cli import UserError
    from cnnkit.tensor import Tensor

    widened = widened or {}
    state = checkpoint
    if isinstance(state, Mapping):
        for key in CONTAINER_KEYS:
            if isinstance(state.get(key), Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping) or not state:
        raise UserError(
            f"{source}: expected a state dict (name → tensor), or a dict holding one under "
            f"{' or '.join(repr(k) for k in CONTAINER_KEYS)}, got {type(checkpoint).__name__}"
        )
    arrays, skipped, converted = {}, [], {}
    for name, value in state.items():
        if isinstance(value, Tensor):
            arrays[_strip(str(name))] = value._data.copy(order="C")  # ascontiguousarray would make 0-d 1-d
            if id(value) in widened:
                converted.setdefault(widened[id(value)], []).append(str(name))
        else:
            skipped.append(str(name))
    if not arrays:
        raise UserError(f"{source}: no tensors found (entries: {', '.join(skipped[:5])})")
    if skipped:
        print(f"note: skipped {len(skipped)} entries that are not tensors: {', '.join(skipped[:5])}")
    for kind, names in converted.items():
        print(f"note: converted {len(names)} {kind} tensors to float32 (NumPy has no {kind}; exact for bfloat16): "
              f"{', '.join(names[:5])}")
    return arrays


def _strip(name: str) -> str:
    """DataParallel saves every name under "module."; the bare model's names are wanted."""
    return name[len("module.") :] if name.startswith("module.") else name
