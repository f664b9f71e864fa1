"""`cnnkit eval RUN` / `cnnkit report RUN` after the folder the run was trained from has moved or vanished.

A data set cnnkit can find by itself is then looked for in the usual places (as a training without --data-dir
does), said in one stderr line; --data-dir chooses the folder. A folder of the user's own images cannot be searched
for: that run is refused in one line naming the missing folder and --data-dir.
"""

from __future__ import annotations

import shutil

import pytest

from cnnkit.cli import main
from cnnkit.training.datasets import data_dir_for_run
from tests.training.tiny_data import write_tiny_fashion


@pytest.fixture(scope="module")
def moved_run(tmp_path_factory):
    """(run folder trained from a data folder since moved to $CNNKIT_DATA/fashion-mnist, that new place)."""
    base = tmp_path_factory.mktemp("moved")
    data = write_tiny_fashion(base / "data", n_train=64, n_test=32)
    run = base / "run"
    assert main(["train", "--model", "lenet5_relu", "--data-dir", str(data), "--epochs", "1", "--batch-size", "32",
                 "--val-split", "0", "--out", str(run), "--quiet"]) == 0
    moved = base / "env" / "fashion-mnist"
    moved.parent.mkdir()
    shutil.move(str(data), str(moved))
    return run, data, moved


@pytest.fixture
def search_finds(moved_run, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNKIT_DATA", str(moved_run[2].parent))
    monkeypatch.setenv("HOME", str(tmp_path))  # no other cache copy


def _scores(capsys, argv) -> tuple[int, str, list[str]]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, [line for line in captured.err.splitlines() if line.strip()]


def test_eval_falls_back_to_the_usual_search_and_says_so(moved_run, search_finds, capsys):
    run, gone, moved = moved_run
    code, out, err = _scores(capsys, ["eval", run])
    assert code == 0, err
    assert len(err) == 1 and str(gone) in err[0] and "no longer exists" in err[0] and "--data-dir" in err[0]
    code, out_given, err_given = _scores(capsys, ["eval", run, "--data-dir", moved])
    assert code == 0 and err_given == []  # a folder given now: used, nothing to say
    assert out == out_given  # the same test images, the same scores


def test_eval_without_any_copy_is_refused_naming_the_data_set(moved_run, monkeypatch, tmp_path, capsys):
    run, gone, _ = moved_run
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    import cnnkit.data.locate as locate

    monkeypatch.setattr(locate, "search_places", lambda spec, root: [])  # no system copy, no download either
    monkeypatch.setattr(locate, "download_missing", lambda *a, **k: ["offline"])
    code, out, err = _scores(capsys, ["eval", run])
    assert code == 2 and "Traceback" not in "\n".join(err)
    assert len(err) == 2 and str(gone) in err[0]  # the note, then the one-line refusal
    assert "Fashion-MNIST not found" in err[1]


@pytest.mark.slow
def test_report_falls_back_too(moved_run, search_finds, capsys):
    run, gone, _ = moved_run
    code, out, err = _scores(capsys, ["report", run, "--max-images", "32"])
    assert code == 0, err
    assert (run / "report.html").is_file()
    assert len(err) == 1 and str(gone) in err[0]


def test_a_folder_of_images_that_moved_is_refused_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'gone'} no longer exists; pass --data-dir"):
        data_dir_for_run(None, str(tmp_path / "gone"), "folder")


def test_a_folder_given_now_or_still_there_is_used_as_it_is(tmp_path):
    notes = []
    assert data_dir_for_run(str(tmp_path / "new"), str(tmp_path / "gone"), "folder", notes.append) == str(
        tmp_path / "new")
    assert data_dir_for_run(None, str(tmp_path), "fashion-mnist", notes.append) == str(tmp_path)
    assert data_dir_for_run(None, None, "fashion-mnist", notes.append) is None
    assert notes == []
    assert data_dir_for_run(None, str(tmp_path / "gone"), "mnist", notes.append) is None
    assert len(notes) == 1 and "mnist" in notes[0]


def test_resume_refuses_naming_the_moved_folder_and_takes_its_new_place(moved_run, search_finds, tmp_path, capsys):
    from tests.hostile.helpers import refused

    run, gone, moved = moved_run
    resumed = tmp_path / "resumed"
    shutil.copytree(run, resumed)
    argv = ["train", "--model", "lenet5_relu", "--epochs", "2", "--batch-size", "32", "--val-split", "0", "--out",
            resumed, "--resume", "--quiet"]
    refused(argv, capsys, str(gone), "no longer exists", "--data-dir")  # never the copy the search would find
    assert main([str(a) for a in [*argv, "--data-dir", moved]]) == 0
