"""The report of a detection run: the page shows the VOC and COCO mAPs and the per-class table that `cnnkit eval`
prints for the same scenes (the whole test split, or its first scenes with --max-images), settings and summary;
every figure is embedded and matches the PNG beside it; the scene pictures colour boxes by VOC's matching; the
hardest scenes are counted right; `cnnkit report` reaches the page; errors name the folder."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from cnnkit.report import write_report
from cnnkit.report.detection_figures import SECTIONS, scene_errors
from cnnkit.report.run_kind import run_kind
from tests.training.tiny_data import write_tiny_fashion

IMG_SRC = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
TINY = {"num_scenes": 128, "val_items": 60}  # 12 test scenes
EVAL_MAPS = re.compile(r"VOC mAP@0\.5: (\d\.\d{4}) {3}COCO mAP@\[\.5:\.95\]: (\d\.\d{4}) {3}\((\d+) scenes")
NUM = '<td class="num">'


@pytest.fixture(scope="module")
def detection_run(tmp_path_factory):
    """(run folder, report.html, data folder) of a 3-epoch tiny YOLO (width 4; val mAP@0.5 ~0.12); 2 scenes a
    figure, every test scene scored."""
    from cnnkit.training.run import RunConfig, train

    data_dir = write_tiny_fashion(tmp_path_factory.mktemp("fashion"), n_train=200, n_test=60)
    out = tmp_path_factory.mktemp("runs") / "yolo"
    config = RunConfig.for_task("detect", data_dir=str(data_dir), out=str(out), epochs=3, batch_size=16, lr=0.003,
                                eval_batch_size=8, data_args=dict(TINY), model_args={"width": 4})  # fmt: skip
    train(config, progress=False, log=lambda *_: None)
    return out, write_report(out, images=2, log=lambda *_: None), data_dir


def eval_output(run_dir, capsys) -> str:
    from cnnkit.cli import main

    capsys.readouterr()
    assert main(["eval", str(run_dir), "--batch-size", "5"]) == 0
    return capsys.readouterr().out


def class_rows(eval_text: str) -> list[list[str]]:
    """The per-class rows and the mean row of `cnnkit eval`'s detection table, split into their 5 columns."""
    lines = eval_text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("class "))
    end = next(i for i, line in enumerate(lines) if line.startswith("mean "))
    return [line.rsplit(None, 4) for line in lines[start + 1 : end + 1] if not line.startswith("-")]


def assert_page_matches_eval(text: str, eval_text: str, scenes: int) -> None:
    voc, coco, scored = EVAL_MAPS.search(eval_text).groups()
    assert int(scored) == scenes
    assert f"test VOC mAP@0.5 {voc} · COCO mAP@[.5:.95] {coco}" in text
    rows = class_rows(eval_text)
    assert len(rows) == 11 and rows[-1][0] == "mean"
    for name, boxes, detections, ap50, ap in rows:
        expected = f"<td>{name}</td>{NUM}{int(boxes):,}</td>{NUM}{int(detections):,}</td>{NUM}{ap50}</td>{NUM}{ap}</td>"
        assert expected in text, name
    assert int(rows[-1][2]) > 0  # the detector returned boxes: the numbers compared are not all empty


def test_the_page_shows_the_maps_and_class_table_of_cnnkit_eval(detection_run, capsys):
    run_dir, page, _ = detection_run
    assert run_kind(run_dir) == "detection" and page == run_dir / "report.html"
    text = page.read_text()
    eval_text = eval_output(run_dir, capsys)
    assert_page_matches_eval(text, eval_text, 12)
    assert float(EVAL_MAPS.search(eval_text).group(1)) > 0  # a run that finds some objects: AP is not all zeros
    assert "<td>test scenes scored</td><td>12 (the whole test split)</td>" in text
    assert " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = " in text  # COCOeval's lines
    best = max(json.loads((run_dir / "history.json").read_text()), key=lambda row: row["val_map50"])
    assert f"epoch {best['epoch']} (best validation mAP@0.5)" in text
    assert "<td>yolo</td>" in text and "<td>task</td><td>detect</td>" in text
    assert "YOLOv1 on input [1, 1, 64, 64]" in text  # the model summary
    for title in ("Results", "Settings", "Model", *SECTIONS):
        assert f"<h2>{title}</h2>" in text, title


def test_an_exported_file_gets_the_maps_and_class_table_of_cnnkit_eval(detection_run, tmp_path, capsys):
    """`cnnkit export RUN FILE`, then `cnnkit report FILE --out DIR`: the run folder's scores, nothing beside FILE."""
    from cnnkit.cli import main

    run_dir, page, _ = detection_run
    exported = tmp_path / "weights" / "yolo.safetensors"
    exported.parent.mkdir()
    assert main(["export", str(run_dir), str(exported)]) == 0
    out = tmp_path / "page"
    assert main(["report", str(exported), "--out", str(out), "--images", "1"]) == 0
    assert f"report written: {out / 'report.html'}" in capsys.readouterr().out
    text = (out / "report.html").read_text()
    assert_page_matches_eval(text, eval_output(exported, capsys), 12)
    headline = re.search(r'<p class="big">(.*?)</p>', page.read_text()).group(1)
    assert f'<p class="big">{headline}</p>' in text  # the same checkpoint on the same scenes
    assert f"detection weights file {exported}, exported from yolo/best.safetensors" in text
    assert sorted(p.name for p in exported.parent.iterdir()) == ["yolo.json", "yolo.safetensors"]
    assert sorted(p.name for p in (out / "report").glob("*.png")) == sorted(
        p.name for p in (run_dir / "report").glob("*.png")
    )


def test_max_images_scores_the_first_scenes_as_eval_scores_them(detection_run, tmp_path):
    """The page of 5 of the 12 scenes equals the task's evaluation (what `cnnkit eval` runs) on those 5 scenes."""
    from cnnkit.cli.evaluate_detection import print_detection
    from cnnkit.detection.dataset import DetectionArrays
    from cnnkit.training.restore import load_trained_model
    from cnnkit.training.run import RunConfig, evaluation_loader
    from cnnkit.training.tasks import get_task
    from cnnkit.training.tasks.detection import detection_arrays

    run_dir, _, _ = detection_run
    copy = shutil.copytree(run_dir, tmp_path / "yolo", ignore=shutil.ignore_patterns("report*"))
    text = write_report(copy, images=1, max_images=5, log=lambda *_: None).read_text()
    assert "<td>test scenes scored</td><td>5 of 12 (the first ones; --max-images limits them)</td>" in text
    model, meta, info = load_trained_model(copy)
    config = RunConfig(**meta["config"])
    full = detection_arrays(config, "test")
    first = DetectionArrays(full.images[:5], full.boxes[:5], full.labels[:5], full.encoded[:5], full.classes)
    task = get_task("detect")
    evaluator = task.evaluate(model, evaluation_loader(task, config, info, first, 1000), None).details
    with contextlib.redirect_stdout(io.StringIO()) as printed:  # printed as `cnnkit eval` prints it
        print_detection(SimpleNamespace(details=evaluator), first, info.classes, 0.0)
    assert_page_matches_eval(text, printed.getvalue(), 5)
    assert f"<td>objects in them</td><td>{first.num_objects}</td>" in text
    assert len(IMG_SRC.findall(text)) == 5  # one scene per scene figure


def test_every_figure_is_embedded_matches_its_png_and_is_not_blank(detection_run):
    run_dir, page, _ = detection_run
    embedded = [base64.b64decode(data) for data in IMG_SRC.findall(page.read_text())]
    files = sorted((run_dir / "report").glob("*.png"))
    assert [f.name for f in files] == ["curves.png", "filters.png", "hardest.png", "pr-curves.png", "scenes.png"]
    assert sorted(embedded) == sorted(f.read_bytes() for f in files)
    for path in files:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] >= 250 and image.size[1] >= 200, path.name
            grey = np.asarray(image.convert("L"), dtype=np.float64)
            assert grey.var() > 100 and (grey < 128).mean() > 0.01, path.name  # drawn on, not a blank page


def test_scene_pictures_colour_boxes_found_green_and_missed_orange(detection_run):
    run_dir, _, _ = detection_run
    with Image.open(run_dir / "report" / "scenes.png") as image:
        rgb = np.asarray(image.convert("RGB")).astype(int)[:-40]  # the legend's swatches (bottom) left out
    width = rgb.shape[1]
    truth = rgb[:, : width // 2]  # the ground-truth column: every box is found (green) or missed (orange)
    green = (np.abs(truth - (0, 190, 0)).max(axis=-1) < 10).sum()
    orange = (np.abs(truth - (255, 150, 0)).max(axis=-1) < 10).sum()  # not tab10's class orange (255, 127, 14)
    assert green + orange > 200


def test_the_hardest_scenes_count_false_positives_and_misses_among_the_drawn_boxes():
    box = np.array([[10.0, 10.0, 30.0, 30.0]])
    predictions = [
        {"boxes": box, "scores": np.array([0.9]), "labels": np.array([1])},  # scene 0: found
        {"boxes": np.concatenate([box, box]), "scores": np.array([0.8, 0.1]), "labels": np.array([2, 1])},
    ]  # scene 1: a wrong class (false positive, and the box missed); the right one is below the drawn 0.3
    run = SimpleNamespace(
        scenes=[0, 1],
        prediction=lambda i: predictions[i],
        target=lambda i: {"boxes": box, "labels": np.array([1])},
    )
    np.testing.assert_array_equal(scene_errors(run), [0, 2])


def test_report_cli_reaches_the_detection_page_with_its_limits(detection_run, capsys, monkeypatch):
    import cnnkit.report.detection_report as detection_report
    from cnnkit.cli import main

    run_dir, page, data_dir = detection_run
    calls = []  # the page itself is drawn by the fixture; here: does `cnnkit report` dispatch to it, and how
    monkeypatch.setattr(
        detection_report,
        "write_detection_report",
        lambda run_dir, data_dir=None, images=3, max_scenes=None, log=print, out_dir=None: (
            calls.append((run_dir, data_dir, images, max_scenes)) or page
        ),
    )
    args = ["report", str(run_dir), "--images", "1", "--max-images", "4", "--data-dir", str(data_dir)]
    assert main(args) == 0
    assert calls == [(str(run_dir), str(data_dir), 1, 4)]
    assert f"report written: {page}" in capsys.readouterr().out
    monkeypatch.undo()
    with pytest.raises(ValueError, match="--images and --max-images must be at least 1, got 3 and 0"):
        detection_report.write_detection_report(run_dir, max_scenes=0)


def test_a_detection_run_without_a_checkpoint_is_refused_by_name(detection_run, tmp_path, capsys):
    from cnnkit.cli import main

    run_dir, _, _ = detection_run
    started = tmp_path / "started"
    started.mkdir()
    shutil.copy(run_dir / "config.json", started / "config.json")  # training began, no epoch finished
    with pytest.raises(FileNotFoundError, match=r"started \(a 'detect' run\) holds no checkpoint .* finished epoch"):
        write_report(started)
    assert main(["report", str(started)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "holds no checkpoint (best.safetensors or last.safetensors)" in err
    assert not (started / "report.html").exists()
