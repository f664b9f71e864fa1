"""`cnnkit train --report`, `cnnkit report RUN_DIR` and `cnnkit demo shift` on the tiny data set; one-line errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cnnkit.cli import main
from tests.training.tiny_data import write_tiny_fashion


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return write_tiny_fashion(tmp_path_factory.mktemp("fashion"))


def test_train_with_report_writes_the_report_of_the_new_run(tiny_data, tmp_path, capsys, monkeypatch):
    import cnnkit.report

    calls = []  # the report itself is drawn by the test below and tests/report; here: is it asked for, and how
    monkeypatch.setattr(
        cnnkit.report,
        "write_report",
        lambda run_dir, data_dir: calls.append((run_dir, data_dir)) or run_dir / "report.html",
    )
    out = tmp_path / "run"
    args = [
        "train",
        "--model",
        "lenet5_relu",
        "--data-dir",
        str(tiny_data),
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--out",
        str(out),
        "--quiet",
        "--report",
    ]
    assert main(args) == 0
    assert calls == [(out, str(tiny_data))]
    assert f"report written: {out / 'report.html'}" in capsys.readouterr().out


def test_report_of_a_run(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "train",
        "--model",
        "lenet5_relu",
        "--data-dir",
        str(tiny_data),
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(args) == 0
    assert main(["report", str(out), "--images", "1", "--channels", "1"]) == 0  # data folder from config.json
    text = capsys.readouterr().out
    assert f"report written: {out / 'report.html'}" in text
    page = (out / "report.html").read_text()
    # curves, gradient flow (lines, bars), confusion, mistakes, Grad-CAM (right, wrong), filters, 2 layers' maps of
    # 1 image, 1 patch grid, kernels
    assert page.count("<img ") == 12 and page.count('<img src="data:image/png;base64,') == 12
    assert "test accuracy" in page


def test_report_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"cnnkit report: error: no such run folder: {tmp_path / 'nowhere'}"
    assert main(["report", str(tmp_path)]) == 2
    assert "has no config.json: is it a cnnkit run folder?" in capsys.readouterr().err


def test_demo_shift_prints_the_table_and_plots_it(tiny_data, tmp_path, capsys):
    figure = tmp_path / "shift.png"
    args = [
        "demo",
        "shift",
        "--data-dir",
        str(tiny_data),
        "--epochs",
        "1",
        "--train-size",
        "128",
        "--test-size",
        "40",
        "--out",
        str(figure),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines() if line.strip() and line.split()[0].isdigit()]
    assert [int(row[0]) for row in rows] == list(range(7))
    accuracies = np.array([[float(v) for v in row[1:]] for row in rows])
    assert accuracies.shape == (7, 2) and np.all((accuracies >= 0) & (accuracies <= 1))
    assert "shift       MLP       CNN" in text and "parameters: MLP 29,425, CNN 28,986" in text
    with Image.open(figure) as image:
        assert image.size == (550, 360) and np.asarray(image.convert("L"), dtype=np.float64).var() > 0


def test_demo_shift_refuses_zero_epochs(capsys):
    assert main(["demo", "shift", "--epochs", "0"]) == 2
    assert capsys.readouterr().err.strip() == "cnnkit demo: error: --epochs must be at least 1, got 0"


@pytest.mark.parametrize("command", [["report"], ["demo"], ["demo", "shift"], ["demo", "gradients"], ["gradcheck"]])
def test_help(command):
    result = subprocess.run(
        [sys.executable, "-m", "cnnkit", *command, "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "usage: cnnkit" in result.stdout
    assert "(default: None)" not in result.stdout
