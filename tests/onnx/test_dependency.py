"""cnnkit.onnx imports without the `onnx` package and says how to install it when a function needs it."""

from __future__ import annotations

import sys

import pytest

import cnnkit
import cnnkit.onnx
from cnnkit.onnx.dependency import OnnxNotInstalledError


def test_missing_onnx_package_is_one_clear_message(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    for call in (
        lambda: cnnkit.onnx.load(tmp_path / "m.onnx"),
        lambda: cnnkit.onnx.export(cnnkit.nn.ReLU(), cnnkit.randn(2), tmp_path / "m.onnx"),
    ):
        with pytest.raises(OnnxNotInstalledError, match=r"needs the 'onnx' package.*pip install 'cnnkit\[onnx\]'"):
            call()
    assert not (tmp_path / "m.onnx").exists()


def test_cnnkit_onnx_never_imports_torch() -> None:
    import pathlib

    sources = pathlib.Path(cnnkit.onnx.__file__).parent.glob("*.py")
    offenders = [p.name for p in sources if "import torch" in p.read_text()]
    assert not offenders


def test_summary_of_an_onnx_file_without_onnx_is_one_line(monkeypatch, tmp_path, capsys) -> None:
    from cnnkit.cli import main

    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["summary", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'cnnkit[onnx]'" in err
