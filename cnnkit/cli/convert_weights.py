"""`cnnkit convert-weights IN.pth OUT.safetensors`: a PyTorch checkpoint's tensors as a safetensors state dict.

PyTorch is imported only here (the optional `torch` extra) and only to read the file, with
`torch.load(..., weights_only=True, map_location="cpu")`, which refuses arbitrary pickled objects. The file
may be a bare state dict or a dict holding one under "state_dict" or "model" (as training scripts save
them); a "module." prefix left by DataParallel is removed. The tensors are written with
`safetensors.numpy` under their PyTorch names, so `model.load_state_dict(cnnkit.load(OUT))` loads them
into the cnnkit model of the same architecture. Floating tensors NumPy cannot hold (bfloat16, float8) are
written as float32, and the output says so.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

CONTAINER_KEYS = ("state_dict", "model")
NUMPY_FLOATS = ("float16", "float32", "float64")  # other floating dtypes are widened to float32


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert-weights",
        help="convert a PyTorch .pth checkpoint to safetensors",
        description="Convert a PyTorch checkpoint (a state dict, or a dict with 'state_dict' or "
        "'model' inside) to a safetensors file that cnnkit.load reads. Needs torch "
        "(pip install 'cnnkit[torch]'); the file is read with weights_only=True.",
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
    arrays = state_dict_arrays(_torch_load(source), source)
    save(arrays, target)
    print(f"wrote {len(arrays)} tensors ({sum(a.size for a in arrays.values()):,} values) to {target}")
    return 0


def _torch_load(source: Path) -> Any:
    from cnnkit.cli import UserError

    try:
        import torch
    except ImportError:
        raise UserError(
            "converting a .pth checkpoint needs PyTorch, which is not installed; install it with "
            "pip install 'cnnkit[torch]' (or pip install torch)"
        ) from None
    try:
        return torch.load(source, weights_only=True, map_location="cpu")
    except Exception as err:  # pickle and zip errors of every kind: one line naming the file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{source}: not a checkpoint torch.load(weights_only=True) can read: {first}") from None


def state_dict_arrays(checkpoint: Any, source: Path) -> dict[str, np.ndarray]:
    """name → NumPy array of the state dict inside `checkpoint`."""
    from cnnkit.cli import UserError

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
    arrays, skipped, widened = {}, [], {}
    for name, value in state.items():
        if hasattr(value, "detach") and hasattr(value, "numpy"):
            tensor = value.detach().cpu().contiguous()
            kind = str(tensor.dtype).replace("torch.", "")
            if tensor.is_floating_point() and kind not in NUMPY_FLOATS:  # bfloat16, float8...: NumPy has none
                widened.setdefault(kind, []).append(str(name))
                tensor = tensor.float()
            try:
                arrays[_strip(str(name))] = tensor.numpy()
            except (TypeError, RuntimeError):
                raise UserError(f"{source}: tensor {name!r} has dtype {kind}, which NumPy cannot hold") from None
        else:
            skipped.append(str(name))
    if not arrays:
        raise UserError(f"{source}: no tensors found (entries: {', '.join(skipped[:5])})")
    if skipped:
        print(f"note: skipped {len(skipped)} entries that are not tensors: {', '.join(skipped[:5])}")
    for kind, names in widened.items():
        print(f"note: converted {len(names)} {kind} tensors to float32 (NumPy has no {kind}; exact for bfloat16): "
              f"{', '.join(names[:5])}")
    return arrays


def _strip(name: str) -> str:
    """DataParallel saves every name under "module."; the bare model's names are wanted."""
    return name[len("module.") :] if name.startswith("module.") else name
