"""The report of a diffusion run: the page shows the best epoch's validation eps_r2 and ε-MSE from the history, says
where the quality table is, shows settings and summary; every figure is embedded and matches the PNG beside it;
the sample grid is the trainer's newest one (or drawn here when the run has none); the trajectory is seeded, so
a second report draws it again byte for byte; `cnnkit report` reaches the page; errors name the folder."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from cnnkit.report import write_report
from cnnkit.report.generation_figures import SECTIONS
from cnnkit.report.run_kind import run_kind
from tests.training.tiny_data import write_tiny_fashion
from tests.training.tiny_generation import tiny_config

IMG_SRC = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def generation_run(tmp_path_factory):
    """(run folder, report.html) of a one-step tiny diffusion run (64 images, one batch); 3 trajectory samples."""
    from cnnkit.training.run import train

    data_dir = write_tiny_fashion(tmp_path_factory.mktemp("fashion"), n_train=96, n_test=40)
    out = tmp_path_factory.mktemp("runs") / "ddpm"
    config = dataclasses.replace(tiny_config(data_dir, out, epochs=1), batch_size=64)
    train(config, progress=False, log=lambda *_: None)
    return out, write_report(out, images=3, log=lambda *_: None)


def test_the_page_shows_the_best_epochs_eps_r2_and_where_the_quality_table_is(generation_run):
    run_dir, page = generation_run
    assert run_kind(run_dir) == "generation" and page == run_dir / "report.html"
    text = page.read_text()
    [row] = json.loads((run_dir / "history.json").read_text())  # one epoch of one step
    assert f"val eps_r2 {row['val_eps_r2']:.4f} · ε-MSE {row['val_loss']:.4f}" in text
    assert abs(row["val_eps_r2"] - (1 - row["val_loss"])) < 1e-5
    assert "<td>checkpoint</td><td>epoch 1 (best val eps_r2)</td>" in text
    assert "on the validation split (training images never trained on)" in text
    assert "<td>noise schedule</td><td>linear, T = 100 steps</td>" in text
    assert "<td>quality table</td><td>not stored in the run folder: `cnnkit eval RUN` prints it" in text
    assert "<td>diffusion_unet</td>" in text and "<td>task</td><td>generate</td>" in text
    assert "GaussianDiffusion on input [1, 1, 28, 28]" in text  # the model summary
    for title in ("Results", "Settings", "Model", *SECTIONS):
        assert f"<h2>{title}</h2>" in text, title


def test_every_figure_is_embedded_and_the_grid_is_the_trainers_newest(generation_run):
    run_dir, page = generation_run
    text = page.read_text()
    embedded = [base64.b64decode(data) for data in IMG_SRC.findall(text)]
    files = sorted((run_dir / "report").glob("*.png"))
    assert [f.name for f in files] == ["curves.png", "samples.png", "trajectory.png"]
    assert sorted(embedded) == sorted(f.read_bytes() for f in files)
    assert (run_dir / "report" / "samples.png").read_bytes() == (run_dir / "samples" / "epoch-001.png").read_bytes()
    assert "the grid the trainer drew after epoch 1 (samples/epoch-001.png)" in text
    for path in files:
        with Image.open(path) as image:
            grey = np.asarray(image.convert("L"), dtype=np.float64)
            assert image.format == "PNG" and grey.var() > 100 and (grey < 128).mean() > 0.01, path.name


def test_the_trajectory_is_seeded_three_samples_of_every_ddim_state(generation_run, tmp_path):
    run_dir, page = generation_run
    text = page.read_text()
    assert "3 samples (rows: T-shirt/top, Trouser, Pullover) from pure noise x_T to the image x_0" in text
    assert "DDIM-10, seed 0, guidance 2" in text
    with Image.open(run_dir / "report" / "trajectory.png") as image:
        width, height = image.size
    assert width > 2 * height  # 11 states (t = 100, 89, …, 0) side by side, 3 rows
    copy = shutil.copytree(run_dir, tmp_path / "again", ignore=shutil.ignore_patterns("report*"))
    write_report(copy, images=3, log=lambda *_: None)
    assert (copy / "report" / "trajectory.png").read_bytes() == (run_dir / "report" / "trajectory.png").read_bytes()


def test_a_run_without_epoch_grids_gets_one_sample_per_class_drawn(generation_run, tmp_path):
    run_dir, _ = generation_run
    copy = shutil.copytree(run_dir, tmp_path / "nogrid", ignore=shutil.ignore_patterns("report*", "samples"))
    text = write_report(copy, images=2, log=lambda *_: None).read_text()
    assert "one sample per class drawn for this report (DDIM-10, seed 0, guidance 2)" in text
    assert "2 samples (rows: T-shirt/top, Trouser)" in text
    with Image.open(copy / "report" / "samples.png") as image:
        width, height = image.size
    assert height > width  # 10 rows of one sample (the title sets the width)


def test_an_exported_file_gets_the_page_with_a_grid_drawn_for_it(generation_run, tmp_path):
    """`cnnkit export RUN FILE --ema-only` (as the shipped models are), then `cnnkit report FILE --out DIR`: the
    run's eps_r2, a grid drawn for the page (a file keeps none), nothing beside FILE."""
    from cnnkit.cli import main

    run_dir, _ = generation_run
    exported = tmp_path / "weights" / "ddpm.safetensors"
    exported.parent.mkdir()
    assert main(["export", str(run_dir), str(exported), "--ema-only"]) == 0
    out = tmp_path / "page"
    assert main(["report", str(exported), "--out", str(out), "--images", "2"]) == 0
    text = (out / "report.html").read_text()
    [row] = json.loads((run_dir / "history.json").read_text())
    assert f"val eps_r2 {row['val_eps_r2']:.4f} · ε-MSE {row['val_loss']:.4f}" in text
    assert "<td>checkpoint</td><td>epoch 1 (best val eps_r2)</td>" in text
    drawn = "one sample per class drawn for this report (DDIM-10, seed 0, guidance 2)"
    assert f"{drawn}: a weights file keeps no epoch grid" in text
    assert f"diffusion weights file {exported}, exported from ddpm/best.safetensors" in text
    assert sorted(p.name for p in exported.parent.iterdir()) == ["ddpm.json", "ddpm.safetensors"]
    assert sorted(p.name for p in (out / "report").iterdir()) == ["curves.png", "samples.png", "trajectory.png"]


def test_report_cli_reaches_the_generation_page(generation_run, capsys, monkeypatch):
    import cnnkit.report.generation_report as generation_report
    from cnnkit.cli import main

    run_dir, page = generation_run
    calls = []  # the page itself is drawn by the fixture; here: does `cnnkit report` dispatch to it, and how
    monkeypatch.setattr(
        generation_report,
        "write_generation_report",
        lambda run_dir, images=3, log=print, out_dir=None: calls.append((run_dir, images)) or page,
    )
    assert main(["report", str(run_dir), "--images", "5"]) == 0
    assert calls == [(str(run_dir), 5)]
    assert f"report written: {page}" in capsys.readouterr().out
    monkeypatch.undo()
    with pytest.raises(ValueError, match="--images must be at least 1, got 0"):
        generation_report.write_generation_report(run_dir, images=0)


def test_a_diffusion_run_without_a_checkpoint_is_refused_by_name(generation_run, tmp_path):
    run_dir, _ = generation_run
    started = tmp_path / "started"
    started.mkdir()
    shutil.copy(run_dir / "config.json", started / "config.json")  # training began, no epoch finished
    with pytest.raises(FileNotFoundError, match=r"started \(a 'generate' run\) holds no checkpoint"):
        write_report(started)


def test_a_run_that_held_nothing_out_gets_a_page_that_says_so(tmp_path) -> None:
    from cnnkit.training.run import train

    data_dir = write_tiny_fashion(tmp_path / "fashion", n_train=96, n_test=40)
    config = dataclasses.replace(tiny_config(data_dir, tmp_path / "all", epochs=1), batch_size=64, val_split=0)
    config.data_args["grid_per_class"] = 0
    train(config, progress=False, log=lambda *_: None)
    [row] = json.loads((tmp_path / "all" / "history.json").read_text())
    assert "val_eps_r2" not in row and "test_eps_r2" not in row  # nothing was scored
    text = write_report(tmp_path / "all", images=1, log=lambda *_: None).read_text()
    assert f"nothing held out (--val-split 0) · train ε-MSE {row['train_loss']:.4f}" in text
    assert "<td>checkpoint</td><td>epoch 1 (the last)</td>" in text
    assert len(IMG_SRC.findall(text)) >= 3  # the curves, the samples and the trajectory are still drawn
