"""`cnnkit report FILE.safetensors`: a weights file written by `cnnkit export` gets the page its run folder gets (the
same test results of the same checkpoint), written into --out or NAME-report in the current folder and never beside
the file; the facts about training say when the file's history stops before the run did; files that are not
cnnkit exports are refused in one line naming them."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from cnnkit.cli import main
from cnnkit.report import write_report
from cnnkit.report.run_data import history_facts
from cnnkit.report.run_kind import report_folder, run_kind
from tests.report.conftest import eval_accuracy

RESULTS = re.compile(r"<section><h2>Results</h2>.*?</section>", re.S)
TABLES = re.compile(r"<table>.*?</table>", re.S)


@pytest.fixture(scope="module")
def exported_page(reported_run, tmp_path_factory):
    """(run folder, its page, the exported file, the file's page) of the tiny LeNet run of conftest.py."""
    run_dir, folder_page = reported_run
    exported = tmp_path_factory.mktemp("exports") / "lenet.safetensors"
    assert main(["export", str(run_dir), str(exported)]) == 0
    out = tmp_path_factory.mktemp("pages") / "lenet-page"
    assert main(["report", str(exported), "--out", str(out), "--images", "1", "--channels", "2"]) == 0
    return run_dir, folder_page, exported, out / "report.html"


def test_the_file_gets_the_test_results_of_the_same_checkpoint(exported_page):
    run_dir, folder_page, exported, page = exported_page
    text = page.read_text()
    best = eval_accuracy(run_dir)  # what `cnnkit eval` gives for the checkpoint that was exported
    assert f"test accuracy {best:.4f} ({best * 100:.2f} %)" in text
    [folder_results], [results] = RESULTS.findall(folder_page.read_text()), RESULTS.findall(text)
    assert TABLES.findall(results)[1] == TABLES.findall(folder_results)[1]  # per class: accuracy and test images
    epoch = re.search(r"<td>checkpoint evaluated</td><td>epoch (\d+) ", folder_results).group(1)
    assert f"<td>checkpoint evaluated</td><td>epoch {epoch} (best validation accuracy)</td>" in results
    assert "<td>test images</td><td>100</td>" in results and "<td>Ankle boot</td>" in results
    assert f"classification weights file {exported}, exported from lenet/best.safetensors" in text
    assert "<td>lenet5_relu</td>" in text and "Total params: 61,706" in text  # settings and summary
    assert "<h2>Training curves</h2>" in text and "<h2>Learned filters</h2>" in text


def test_the_page_goes_to_out_and_nothing_beside_the_file(exported_page):
    _, _, exported, page = exported_page
    assert sorted(p.name for p in exported.parent.iterdir()) == ["lenet.json", "lenet.safetensors"]
    figures = {p.name for p in (page.parent / "report").glob("*.png")}
    assert {"curves.png", "confusion.png", "filters.png", "kernels.png"} <= figures
    assert sorted(p.name for p in page.parent.iterdir()) == ["report", "report.html"]


def test_the_default_folder_is_named_after_the_file_in_the_current_folder(tmp_path):
    weights = tmp_path / "package" / "fashion_vgg_wide.safetensors"
    assert report_folder(weights) == Path("fashion_vgg_wide-report")
    assert report_folder(weights, tmp_path / "elsewhere") == tmp_path / "elsewhere"
    assert report_folder(tmp_path) == tmp_path  # a run folder keeps its page
    assert report_folder(tmp_path, "pages") == Path("pages")


def test_the_kind_comes_from_the_files_metadata(exported_page):
    assert run_kind(exported_page[2]) == "classification"


def test_a_history_cut_at_the_exported_epoch_is_said_to_be(tmp_path):
    rows = [{"epoch": 1, "seconds": 10.0}, {"epoch": 2, "seconds": 12.0}]
    exported = tmp_path / "w.safetensors"
    exported.write_bytes(b"")
    provenance = {"epochs_run": 5, "wall_seconds": 70.4}
    run = SimpleNamespace(run_dir=exported, history=rows, exported=True, meta={"provenance": provenance})
    assert history_facts(run, "train loss", "0.5") == [
        ("epochs trained", "5 (the file keeps the history of the first 2, up to its checkpoint)"),
        ("epoch 2, the last the file keeps: train loss", "0.5"),
        ("training time", "22 s for those 2 epochs (70 s for all 5, validation included)"),
    ]
    whole = {"provenance": {"epochs_run": 2, "wall_seconds": 25.0}}
    for meta, is_file in ((whole, True), ({"provenance": provenance}, False)):  # the whole history, or a run folder
        run = SimpleNamespace(run_dir=exported, history=rows, exported=is_file, meta=meta)
        assert history_facts(run, "train loss", "0.5") == [
            ("epochs trained", "2"), ("final epoch: train loss", "0.5"), ("training time", "22 s")
        ]


def test_files_that_are_not_cnnkit_exports_are_refused_by_name(exported_page, tmp_path, capsys):
    import cnnkit
    from cnnkit.training.checkpoint import load_checkpoint, save_checkpoint

    plain = tmp_path / "plain.safetensors"
    cnnkit.save({"w": cnnkit.tensor([1.0, 2.0])}, plain)
    text = tmp_path / "notes.txt"
    text.write_text("not weights")
    missing = tmp_path / "missing.safetensors"
    for path, message in (
        (plain, f"{plain} is neither a run folder nor a weights file written by `cnnkit export`"),
        (text, f"{text} is neither a run folder nor a weights file written by `cnnkit export`"),
        (missing, f"no such weights file: {missing}"),
    ):
        assert main(["report", str(path)]) == 2
        assert capsys.readouterr().err == f"cnnkit report: error: {message}\n"
    checkpoint = load_checkpoint(exported_page[2])
    bare = tmp_path / "bare.safetensors"
    save_checkpoint(bare, checkpoint.model_state, None, {k: v for k, v in checkpoint.meta.items() if k != "history"})
    with pytest.raises(ValueError, match=r"bare.safetensors: its metadata holds no training history"):
        write_report(bare, out_dir=tmp_path / "page")
    assert not (tmp_path / "page").exists()
