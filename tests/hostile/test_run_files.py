"""Writing over a run's own files: `cnnkit export` and `cnnkit convert-weights` aimed at RUN/last.safetensors (or a
name whose .json sibling is config.json or history.json) are refused, and the run still resumes and reads."""

from __future__ import annotations

import shutil

import pytest

from tests.hostile.helpers import refused


@pytest.fixture
def run_copy(classifier_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(classifier_run, copy)
    return copy


def _contents(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("name, kept", [
    ("last.safetensors", "last.safetensors"), ("config.safetensors", "config.json"),
    ("history.safetensors", "history.json"), ("best.safetensors", "best.safetensors"),
])
def test_export_over_a_run_file_is_refused_and_nothing_changes(run_copy, tmp_path, capsys, name, kept):
    other = tmp_path / "other-run"
    shutil.copytree(run_copy, other)
    before = _contents(other)
    refused(["export", run_copy, other / name], capsys, str(other / name), kept)
    assert _contents(other) == before


def test_convert_weights_over_a_run_checkpoint_is_refused(run_copy, capsys):
    before = _contents(run_copy)
    refused(["convert-weights", run_copy / "best.safetensors", run_copy / "last.safetensors"], capsys,
            str(run_copy / "last.safetensors"), "training run")
    assert _contents(run_copy) == before


def test_an_export_beside_the_run_files_is_still_written(run_copy, capsys):
    from cnnkit.cli import main

    assert main(["export", str(run_copy), str(run_copy / "weights.safetensors")]) == 0
    assert (run_copy / "weights.safetensors").is_file() and (run_copy / "weights.json").is_file()


@pytest.mark.parametrize("text, what", [("{broken", "not valid JSON"), ("[1, 2]", "not a training history"),
                                        ('{"epoch": 1}', "not a training history"),
                                        (b"\xff\xfe[]", "not valid JSON")])
def test_a_corrupt_history_is_named_by_report(run_copy, capsys, text, what):
    path = run_copy / "history.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    refused(["report", run_copy], capsys, str(path), what)
    assert not (run_copy / "report.html").exists()


def test_newest_grid_skips_a_folder_named_like_a_grid(tmp_path):
    from cnnkit.report.generation_data import newest_grid

    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "epoch-001.png").write_bytes(b"png")
    (tmp_path / "samples" / "epoch-002.png").mkdir()  # reading it as the newest grid: IsADirectoryError
    assert newest_grid(tmp_path) == (tmp_path / "samples" / "epoch-001.png", 1)
