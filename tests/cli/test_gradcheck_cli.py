"""`cnnkit gradcheck`: the table, exit status 0 when every gradient agrees, 1 when one does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import cnnkit.models
from cnnkit.cli import main
from tests.test_gradient_check import small_net

ROOT = Path(__file__).resolve().parents[2]


def test_gradcheck_of_a_zoo_model_prints_the_table_and_passes(capsys) -> None:
    assert main(["gradcheck", "lenet5", "--coords", "3"]) == 0
    out = capsys.readouterr().out
    assert ["features.0", "weight", "6×1×5×5"] in [line.split()[:3] for line in out.splitlines()]
    assert "11 of 11 gradients agree with finite differences (training mode, batch of 2, input 1×28×28)" in out


def test_gradcheck_of_one_layer(capsys) -> None:
    assert main(["gradcheck", "lenet5", "--layer", "classifier.2", "--eval"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 gradients agree" in out and "eval mode" in out and "features.0" not in out


def test_gradcheck_exits_1_on_a_wrong_gradient(capsys, monkeypatch) -> None:
    monkeypatch.setattr(cnnkit.models, "get_model", lambda name: small_net(planted_bug=True))
    monkeypatch.setattr(cnnkit.models, "model_info",
                        lambda name: type("Info", (), {"name": name, "input_shape": (1, 4, 4)})())
    assert main(["gradcheck", "planted"]) == 1
    out = capsys.readouterr().out
    assert "FAIL: gradient of 1.weight (3,) is wrong at index" in out and "5 of 6 gradients agree" in out


def test_an_unknown_model_is_one_line(capsys) -> None:
    assert main(["gradcheck", "no_such_model"]) == 2
    assert "no_such_model" in capsys.readouterr().err


@pytest.mark.parametrize("name, rows, shape", [("resnet20", 66, "3×8×8"), ("yolo", 27, "1×64×64")])
def test_gradcheck_of_representative_zoo_models_end_to_end(name: str, rows: int, shape: str) -> None:
    # a residual net with batch norm at its small default input, and a detector with leaky ReLUs, as a user runs it
    done = subprocess.run([sys.executable, "-m", "cnnkit", "gradcheck", name, "--coords", "2"], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["layer", "parameter", "shape", "max", "rel.", "error", "checked", "result"]
    table = [line.split() for line in lines[2:] if line.endswith("pass")]
    assert len(table) == rows and table[0][:3] == ["(input)", "input", f"2×{shape}"]
    assert f"{rows} of {rows} gradients agree with finite differences (training mode, batch of 2, input {shape})" \
        in done.stdout
    assert "Traceback" not in done.stderr


def test_gradcheck_of_a_checkpoint_uses_its_trained_weights_and_input(capsys) -> None:
    checkpoint = ROOT / "cnnkit" / "models" / "weights" / "fashion_vgg.safetensors"
    assert main(["gradcheck", str(checkpoint), "--layer", "classifier.3", "--coords", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 gradients agree with finite differences (training mode, batch of 2, input 1×28×28)" in out
