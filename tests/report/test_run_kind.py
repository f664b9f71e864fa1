"""run_kind: which page a run folder gets, from its checkpoint's kind or else its task, and the refusals every page
shares (no folder, no config.json, bad JSON, unknown task, no checkpoint), each naming the folder or file."""

from __future__ import annotations

import json

import pytest

from cnnkit.report.run_kind import checkpoint_kind, run_kind


def run_folder(path, config, meta=None, checkpoint=True):
    path.mkdir()
    (path / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    if checkpoint:
        (path / "last.safetensors").write_bytes(b"")  # present is all run_kind asks; no weights are read
    if meta is not None:
        (path / "last.json").write_text(json.dumps(meta))
    return path


@pytest.mark.parametrize(
    ("task", "kind"),
    [("classify", "classification"), ("segment", "segmentation"), ("detect", "detection"), ("generate", "generation")],
)
def test_the_task_gives_the_kind_when_the_checkpoint_does_not_say(tmp_path, task, kind):
    assert run_kind(run_folder(tmp_path / "run", {"task": task})) == kind


def test_the_checkpoints_kind_wins_and_old_runs_are_classifiers(tmp_path):
    assert run_kind(run_folder(tmp_path / "a", {"task": "detect"}, {"kind": "segmentation"})) == "segmentation"
    assert run_kind(run_folder(tmp_path / "b", {"model": "lenet5"}, {"epoch": 3})) == "classification"
    assert checkpoint_kind(tmp_path / "b", default="generation") == "generation"  # last.json names no kind
    (tmp_path / "b" / "last.json").write_text("{not json")
    assert checkpoint_kind(tmp_path / "b") == "classification"


def test_refusals_name_the_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such run folder: .*missing"):
        run_kind(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty has no config.json: is it a cnnkit run folder"):
        run_kind(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"bad/config.json is not valid JSON"):
        run_kind(run_folder(tmp_path / "bad", "{task"))
    with pytest.raises(ValueError, match="list/config.json should hold an object of settings, got list"):
        run_kind(run_folder(tmp_path / "list", "[1]"))
    with pytest.raises(ValueError, match="is a 'translate' run; reports cover the tasks classify, detect, generate"):
        run_kind(run_folder(tmp_path / "odd", {"task": "translate"}))
    with pytest.raises(FileNotFoundError, match=r"new \(a 'segment' run\) holds no checkpoint .* finished epoch"):
        run_kind(run_folder(tmp_path / "new", {"task": "segment"}, checkpoint=False))
