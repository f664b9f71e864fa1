"""`cnnkit summary FILE.onnx`: the layer table of an imported ONNX graph."""

from __future__ import annotations

import pytest

pytest.importorskip("onnx")
import cnnkit  # noqa: E402
import cnnkit.onnx  # noqa: E402
from cnnkit.cli import main  # noqa: E402


def test_summary_of_an_exported_lenet(tmp_path, capsys) -> None:
    path = tmp_path / "lenet.onnx"
    cnnkit.onnx.export(cnnkit.models.lenet5(), cnnkit.randn(1, 1, 28, 28), path)
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OnnxModel on input [1, 1, 28, 28]" in out
    assert "features_0_Conv" in out and "Conv" in out and "[1, 10]" in out
    assert "Total params: 61,706" in out


def test_summary_of_a_dynamic_graph_needs_an_input_shape(tmp_path, capsys) -> None:
    path = tmp_path / "lenet.onnx"
    cnnkit.onnx.export(
        cnnkit.models.lenet5(), cnnkit.randn(1, 1, 28, 28), path, dynamic_axes={"input": {0: "n", 2: "h"}}
    )
    assert main(["summary", str(path)]) == 2
    assert "no fixed size" in capsys.readouterr().err
    assert main(["summary", str(path), "--input-shape", "1", "28", "28"]) == 0
