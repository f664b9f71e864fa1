"""The `onnx` package, imported only when an ONNX function is called, with one clear message when it is missing.

cnnkit reads and writes ONNX protobuf files with the `onnx` package (an optional dependency: the rest of
cnnkit works without it). Nothing in `cnnkit.onnx` imports `onnx` at module level.
"""

from __future__ import annotations

from types import ModuleType

INSTALL_HINT = "pip install 'cnnkit[onnx]' (or: pip install onnx)"


class OnnxNotInstalledError(ImportError, RuntimeError):
    """The `onnx` package is needed for ONNX export and import but is not installed (a RuntimeError too, so the
    command line reports it in one line)."""


def require_onnx() -> ModuleType:
    """The `onnx` module, or an OnnxNotInstalledError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise OnnxNotInstalledError(
            f"cnnkit.onnx needs the 'onnx' package to read and write ONNX files; install it with: {INSTALL_HINT}"
        ) from None
    return onnx
