"""`cnnkit.onnx.load(path)`: read an ONNX file (or a loaded ModelProto) and return it as a cnnkit module.

The file is parsed with the `onnx` package (external weight files beside it are read too) and checked by
`onnx.checker` unless `check=False`; the graph becomes an `OnnxModel` (see `importer.py`) whose nodes run
cnnkit's own ops, so it can be called, inspected with `repr`/`cnnkit.summary`, and fine-tuned.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cnnkit.onnx.dependency import require_onnx
from cnnkit.onnx.importer import OnnxModel, build_model


def load(path: str | os.PathLike | Any, check: bool = True) -> OnnxModel:
    """The ONNX model at `path` (or a ModelProto) as an `OnnxModel` in eval mode."""
    onnx = require_onnx()
    if isinstance(path, onnx.ModelProto):
        proto, source = path, path.graph.name or "model"
    else:
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"no such ONNX file: {file}")
        try:
            proto = onnx.load(str(file))
        except Exception as err:  # protobuf raises its own DecodeError for a file that is not ONNX
            raise ValueError(f"{file}: not a readable ONNX model ({type(err).__name__}: {err})") from None
        source = str(file)
    if check:
        try:
            onnx.checker.check_model(proto)
        except onnx.checker.ValidationError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"{source}: not a valid ONNX model: {first}") from None
    return build_model(proto, source)
