"""write_report: the page shows the run's accuracy, settings, summary and every figure, embedded and self-contained."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from cnnkit.report import write_report
from cnnkit.report.run_report import SECTIONS
from tests.report.conftest import eval_accuracy

IMG_SRC = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def test_the_page_shows_the_best_checkpoints_accuracy_and_the_runs_settings(reported_run):
    run_dir, page = reported_run
    assert page == run_dir / "report.html"
    text = page.read_text()
    best = eval_accuracy(run_dir)  # the test figure of the checkpoint chosen on validation, as `cnnkit eval` gives it
    assert f"test accuracy {best:.4f} ({best * 100:.2f} %)" in text
    assert "(best validation accuracy)" in text and "final epoch: train / validation accuracy" in text
    assert "Total params: 61,706" in text  # the summary table
    assert "<td>lenet5_relu</td>" in text and "<td>batch_size</td><td>32</td>" in text
    assert "Ankle boot" in text and "<td>test images</td><td>100</td>" in text
    for title in ("Results", "Settings", "Model", *SECTIONS):
        assert f"<h2>{title}</h2>" in text, title


def test_every_figure_is_embedded_and_matches_the_png_beside_it(reported_run):
    run_dir, page = reported_run
    embedded = [base64.b64decode(data) for data in IMG_SRC.findall(page.read_text())]
    files = sorted((run_dir / "report").glob("*.png"))
    # curves, gradient flow (lines and bars), confusion, mistakes, Grad-CAM of right and wrong images, filters,
    # maps of features.0 and features.3 for one image, 2 patch grids, kernels
    assert len(files) == 13 and len(embedded) == 13
    assert sorted(embedded) == sorted(f.read_bytes() for f in files)
    for payload in embedded:
        with Image.open(io.BytesIO(payload)) as image:
            assert image.format == "PNG" and image.size[0] >= 250 and image.size[1] >= 200
            assert np.asarray(image.convert("L"), dtype=np.float64).var() > 0
    assert {f.name for f in files} >= {
        "patches-features.3-0.png",
        "patches-features.3-1.png",
        "filters.png",
        "maps-features.0-0.png",
        "maps-features.3-0.png",
        "curves.png",
        "explain-right.png",
        "explain-wrong.png",
        "gradient-flow.png",
        "gradient-flow-bars.png",
    }


def test_the_page_needs_no_network(reported_run):
    text = reported_run[1].read_text()
    assert "http://" not in text and "https://" not in text and "<link" not in text and 'src="/' not in text
    assert text.count("<img ") == len(IMG_SRC.findall(text))  # no image comes from anywhere else


def test_errors_name_the_folder(tmp_path, reported_run):
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        write_report(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="has no config.json: is it a cnnkit run folder"):
        write_report(tmp_path)
    with pytest.raises(ValueError, match="--images, --channels and --max-images must be at least 1, got 0"):
        write_report(reported_run[0], images=0)
    (tmp_path / "config.json").write_text(json.dumps({"task": "segment", "model": "unet"}))
    with pytest.raises(FileNotFoundError, match=r"\(a 'segment' run\) holds no checkpoint"):
        write_report(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"task": "translate"}))
    with pytest.raises(ValueError, match="is a 'translate' run; reports cover the tasks classify, detect"):
        write_report(tmp_path)
