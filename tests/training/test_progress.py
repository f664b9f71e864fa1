"""Plain progress lines: printed after the first step and then at least every 10 s, with step, images/s, loss and
the run's ETA; `cnnkit train` prints them when its output is not a terminal."""

from __future__ import annotations

import re

from cnnkit.cli import main
from cnnkit.training.progress import ProgressLines, format_duration
from tests.training.tiny_data import write_tiny_fashion


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_after_the_first_step_then_every_ten_seconds():
    clock, lines = Clock(), []
    progress = ProgressLines("epoch 1/3", steps=10, steps_after=20, write=lines.append, clock=clock)
    for step in range(1, 11):
        clock.now += 4.0  # 4 s a step of 32 images
        progress.update(step, 32 * step, 1.0 / step)
    # steps 1 (first), 4 (12 s after step 1's line: 16 - 4), 7 (24 s) and 10 (36 s) are printed
    assert [int(re.search(r"step (\d+)/10", line)[1]) for line in lines] == [1, 4, 7, 10]
    assert lines[0] == "epoch 1/3  step 1/10  loss 1.0000"  # no rate yet: the first step also loads the kernels
    assert lines[1] == "epoch 1/3  step 4/10  8 img/s  loss 0.2500  ETA 1m44s"  # (6 + 20) steps × 4 s
    assert lines[-1] == "epoch 1/3  step 10/10  8 img/s  loss 0.1000  ETA 1m20s"  # the 20 steps after this epoch


def test_the_rate_leaves_out_the_first_step():
    clock, lines = Clock(), []
    progress = ProgressLines("epoch 1/1", steps=5, write=lines.append, clock=clock, every=0.0)
    for step, seconds in enumerate((30.0, 1.0, 1.0), start=1):  # a first step that compiled for 29 s
        clock.now += seconds
        progress.update(step, 10 * step, 1.0)
    assert lines[-1] == "epoch 1/1  step 3/5  10 img/s  loss 1.0000  ETA 2s"  # 2 steps left at 1 s each


def test_durations_read_short():
    assert [format_duration(s) for s in (0, 45.4, 250, 7380)] == ["0s", "45s", "4m10s", "2h03m"]


def test_train_prints_progress_lines_when_its_output_is_a_file(tmp_path, capsys):
    data_dir = write_tiny_fashion(tmp_path / "data")
    code = main(["train", "--model", "lenet5_relu", "--data-dir", str(data_dir), "--epochs", "2", "--batch-size",
                 "32", "--out", str(tmp_path / "run")])  # pytest's captured stderr is not a terminal
    assert code == 0
    out = capsys.readouterr().out
    progress = [line for line in out.splitlines() if " step " in line]
    assert len(progress) >= 2  # one after the first step of each epoch at least
    assert re.fullmatch(r"epoch 1/2  step 1/9  loss \d+\.\d{4}", progress[0]), progress[0]
    assert progress[-1].startswith("epoch 2/2  step ")
    assert "final val accuracy" in out


def test_quiet_prints_no_progress(tmp_path, capsys):
    data_dir = write_tiny_fashion(tmp_path / "data")
    assert main(["train", "--model", "lenet5_relu", "--data-dir", str(data_dir), "--epochs", "1", "--batch-size",
                 "32", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert " step " not in capsys.readouterr().out
