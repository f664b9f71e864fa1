"""A tiny trained run (LeNet-5 with ReLU on the tiny IDX Fashion-MNIST) with its report, shared by the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.tiny_data import write_tiny_fashion


@pytest.fixture(scope="session")
def reported_run(tmp_path_factory) -> tuple[Path, Path]:
    """(run folder, report.html) of a 2-epoch run on the tiny data set; the report shows 1 image and 2 channels."""
    from cnnkit.report import write_report
    from cnnkit.training.run import RunConfig, train

    data_dir = write_tiny_fashion(tmp_path_factory.mktemp("fashion"))
    out = tmp_path_factory.mktemp("runs") / "lenet"
    config = RunConfig(
        model="lenet5_relu", dataset="fashion-mnist", data_dir=str(data_dir), epochs=2, batch_size=32, out=str(out)
    )
    train(config, progress=False, log=lambda *_: None)
    return out, write_report(out, images=1, channels=2, log=lambda *_: None)


def eval_accuracy(run_dir: Path) -> float:
    """The test accuracy `cnnkit eval RUN` prints for the run's best checkpoint (chosen on validation)."""
    import contextlib
    import io

    from cnnkit.cli import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["eval", str(run_dir)]) == 0
    return float(printed.getvalue().split("accuracy: ")[1].split()[0])
