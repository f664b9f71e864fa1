"""Run folders: one training at a time (an advisory lock naming its holder), no stale lock after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cnnkit.cli import main
from cnnkit.training.lock import LOCK_NAME, RunFolderLocked, lock_run_dir
from tests.hostile.helpers import ROOT, refused, run_cli
from tests.training.tiny_data import write_tiny_fashion

HOLD = """
import sys, time
from cnnkit.training.lock import lock_run_dir
lock = lock_run_dir(sys.argv[1])
print("locked", flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_fashion(tmp_path_factory.mktemp("fashion"), n_train=64, n_test=32)


def _train_args(data_dir, out, *more):
    return ["train", "--model", "lenet5_relu", "--data-dir", data_dir, "--epochs", "1", "--batch-size", "32",
            "--out", out, "--quiet", *more]


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of tmp_path/run."""
    folder = tmp_path / "run"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout.readline().strip() == "locked"
    yield folder, process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_a_second_training_into_a_locked_folder_is_refused_naming_folder_and_pid(tiny, holder, capsys):
    folder, process = holder
    (folder / "config.json").write_text('{"theirs": true}')
    line = refused(_train_args(tiny, folder), capsys, str(folder), str(process.pid))
    assert "in use" in line
    assert (folder / "config.json").read_text() == '{"theirs": true}'  # nothing of the other run is touched
    assert sorted(p.name for p in folder.iterdir()) == [LOCK_NAME, "config.json"]


def test_resume_of_a_locked_folder_is_refused_likewise(tiny, holder, capsys):
    folder, process = holder
    (folder / "last.safetensors").write_bytes(b"theirs")
    refused(_train_args(tiny, folder, "--resume"), capsys, str(folder), str(process.pid))
    assert (folder / "last.safetensors").read_bytes() == b"theirs"


def test_kill_9_leaves_no_stale_lock(tiny, holder, capsys):
    folder, process = holder
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert main([str(a) for a in _train_args(tiny, folder)]) == 0
    assert (folder / "last.safetensors").is_file()
    assert json.loads((folder / "config.json").read_text())["epochs"] == 1


def test_the_lock_is_released_when_the_run_ends_and_on_error(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([str(a) for a in _train_args(tiny, out)]) == 0
    lock_run_dir(out).release()  # free again after a finished run
    assert main([str(a) for a in _train_args(tiny, out, "--resume", "--epochs", "2")]) == 0
    refused(_train_args(tiny, out), capsys, str(out))  # an error (folder holds a run) also releases the lock
    lock_run_dir(out).release()


def test_the_lock_file_names_the_holder_and_refuses_in_process(tmp_path):
    with lock_run_dir(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
        with pytest.raises(RunFolderLocked, match=str(os.getpid())):
            lock_run_dir(tmp_path)
    lock_run_dir(tmp_path).release()


def test_two_concurrent_trainings_keep_the_first_whole(tiny, tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "cnnkit", *map(str, _train_args(tiny, out, "--epochs", "3"))],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "config.json").exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    second = run_cli(_train_args(tiny, out, "--seed", "7", "--epochs", "1"))
    first_out, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err
    config = json.loads((out / "config.json").read_text())
    history = json.loads((out / "history.json").read_text())
    assert (config["seed"], config["epochs"], len(history)) == (0, 3, 3)  # the first run, whole
    if second.returncode == 0:  # the first had already finished: then the second must have been refused anyway
        pytest.fail("two trainings into one folder both succeeded")
    assert "Traceback" not in second.stderr and str(out) in second.stderr
