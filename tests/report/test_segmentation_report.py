"""The report of a segmentation run: the page shows the test mIoU that `cnnkit eval` computes, the per-class IoU
table, settings and summary; every figure is embedded, matches the PNG beside it, has the expected size and is not
blank; the page loads in headless Chromium with every image decoded."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from cnnkit.report import write_report
from cnnkit.report.run_kind import checkpoint_kind
from cnnkit.report.segmentation_figures import SECTIONS
from tests.training.tiny_data import write_tiny_fashion

IMG_SRC = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
TINY = {"num_scenes": 32, "val_items": 60}


@pytest.fixture(scope="module")
def segmentation_run(tmp_path_factory):
    """(run folder, report.html, data folder) of a 2-epoch tiny U-Net run; the report shows 2 scenes per figure."""
    from cnnkit.training.run import RunConfig, train

    data_dir = write_tiny_fashion(tmp_path_factory.mktemp("fashion"), n_train=200, n_test=60)
    out = tmp_path_factory.mktemp("runs") / "unet"
    config = RunConfig.for_task("segment", data_dir=str(data_dir), out=str(out), epochs=2, batch_size=16,
                                eval_batch_size=8, data_args=dict(TINY),
                                model_args={"base_channels": 4, "depth": 2})  # fmt: skip
    train(config, progress=False, log=lambda *_: None)
    return out, write_report(out, images=2, log=lambda *_: None), data_dir


def eval_miou(run_dir) -> tuple[float, float]:
    """(mIoU, pixel accuracy) of the run's best checkpoint on its test split, computed as `cnnkit eval` does."""
    from cnnkit.training.restore import load_trained_model
    from cnnkit.training.run import RunConfig, evaluation_loader
    from cnnkit.training.tasks import get_task

    model, meta, info = load_trained_model(run_dir)
    config = RunConfig(**meta["config"])
    task = get_task("segment")
    _, test_set, _ = task.load_data(config, split="test")
    confusion = task.evaluate(model, evaluation_loader(task, config, info, test_set, 8), None).details
    return confusion.mean_iou(), confusion.pixel_accuracy()


def test_the_page_shows_the_test_miou_of_cnnkit_eval_and_the_class_table(segmentation_run):
    run_dir, page, _ = segmentation_run
    assert checkpoint_kind(run_dir) == "segmentation" and page == run_dir / "report.html"
    text = page.read_text()
    miou, accuracy = eval_miou(run_dir)
    assert f"test mean IoU {miou:.4f} · pixel accuracy {accuracy:.4f}" in text
    assert "<th>class</th><th>IoU</th><th>accuracy</th><th>pixels</th><th>predicted</th>" in text
    assert "<td>background</td>" in text and "<td>Ankle boot</td>" in text
    assert "<td>test scenes</td><td>3</td>" in text  # a tenth of num_scenes, from the test items
    best = max(json.loads((run_dir / "history.json").read_text()), key=lambda row: row["val_miou"])
    assert f"epoch {best['epoch']} (best validation mean IoU)" in text
    assert "<td>unet</td>" in text and "<td>task</td><td>segment</td>" in text
    assert "UNet on input [1, 1, 64, 64]" in text  # the model summary
    for title in ("Results", "Settings", "Model", *SECTIONS):
        assert f"<h2>{title}</h2>" in text, title


def test_every_figure_is_embedded_matches_its_png_and_is_not_blank(segmentation_run):
    run_dir, page, _ = segmentation_run
    embedded = [base64.b64decode(data) for data in IMG_SRC.findall(page.read_text())]
    files = sorted((run_dir / "report").glob("*.png"))
    assert [f.name for f in files] == ["confusion.png", "curves.png", "filters.png", "hardest.png", "scenes.png"]
    assert sorted(embedded) == sorted(f.read_bytes() for f in files)
    for path in files:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] >= 250 and image.size[1] >= 200, path.name
            grey = np.asarray(image.convert("L"), dtype=np.float64)
            assert grey.var() > 100 and (grey < 128).mean() > 0.01, path.name  # drawn on, not a blank page
    with Image.open(run_dir / "report" / "scenes.png") as image:
        width, height = image.size
    assert width == 4 * 160 and height >= 2 * 160  # 4 pictures of 1.6 in at 100 dpi per row, 2 rows


def test_the_scene_figure_shows_class_colours_and_red_errors(segmentation_run):
    run_dir, _, _ = segmentation_run
    with Image.open(run_dir / "report" / "hardest.png") as image:
        rgb = np.asarray(image.convert("RGB")).astype(int)
    red = (rgb[..., 0] > 200) & (rgb[..., 1] < 40) & (rgb[..., 2] < 40)
    assert red.sum() > 20  # the hardest scenes of a 2-epoch U-Net have wrong pixels, drawn red


def test_report_cli_and_train_report_reach_the_segmentation_page(segmentation_run, capsys, monkeypatch):
    import cnnkit.report.segmentation_report as segmentation_report
    from cnnkit.cli import main

    run_dir, page, data_dir = segmentation_run
    calls = []  # the page itself is drawn by the fixture; here: does `cnnkit report` dispatch to it, and how
    monkeypatch.setattr(
        segmentation_report,
        "write_segmentation_report",
        lambda run_dir, data_dir=None, images=3, log=print, out_dir=None: (
            calls.append((run_dir, data_dir, images)) or page
        ),
    )
    assert main(["report", str(run_dir), "--images", "1", "--data-dir", str(data_dir)]) == 0
    assert calls == [(str(run_dir), str(data_dir), 1)]
    assert f"report written: {page}" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--images must be at least 1, got 0"):
        monkeypatch.undo()
        segmentation_report.write_segmentation_report(run_dir, images=0)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it when run as root)")
def test_every_image_loads_in_chromium_and_the_miou_shows(segmentation_run, tmp_path):
    run_dir, page, _ = segmentation_run
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
               "--dump-dom", page.resolve().as_uri()]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    widths = [int(w) for w in re.findall(r'<img [^>]*data-natural-width="(\d+)"', dom)]
    assert len(widths) == dom.count("<img ") == 5 and all(w > 0 for w in widths), widths
    assert 'data-images-loaded="5/5"' in dom
    miou, _ = eval_miou(run_dir)
    assert f"test mean IoU {miou:.4f}" in re.sub(r"<[^>]+>", " ", dom)


def test_train_task_segment_with_report_writes_the_report_of_the_new_run(segmentation_run, tmp_path, capsys,
                                                                           monkeypatch):  # fmt: skip
    import cnnkit.report
    from cnnkit.cli import main

    _, page, data_dir = segmentation_run
    calls = []  # the page itself is drawn by the fixture; here: is it asked for after a segmentation run
    monkeypatch.setattr(
        cnnkit.report, "write_report", lambda run_dir, data_dir: calls.append((run_dir, data_dir)) or page
    )
    out = tmp_path / "seg"
    args = ["train", "--task", "segment", "--data-dir", str(data_dir), "--epochs", "1", "--batch-size", "16",
            "--data-args", json.dumps(TINY), "--model-args", '{"base_channels": 4, "depth": 2}', "--out", str(out),
            "--quiet", "--report"]  # fmt: skip
    assert main(args) == 0
    assert calls == [(out, str(data_dir))]
    assert f"report written: {page}" in capsys.readouterr().out
