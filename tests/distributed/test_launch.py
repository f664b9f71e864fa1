"""launch: a failing or killed rank ends the whole 2-rank job within seconds; the mpirun command line, the
--nprocs relaunch and its one-line errors; a --nprocs 2 training run end to end (slow)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from cnnkit.cli import main
from cnnkit.distributed.launch import mpirun_command, rank_environment, without_nprocs
from tests.distributed.mpi import environment, mpirun_args, requires_mpirun, run_job, run_worker
from tests.training.tiny_data import write_tiny_fashion


@requires_mpirun
def test_an_error_on_one_rank_ends_the_job_with_that_error(tmp_path):
    start = time.perf_counter()
    job = run_worker("fail", tmp_path, timeout=60)
    elapsed = time.perf_counter() - start
    assert job.returncode != 0
    assert "cnnkit worker: error (rank 1 of 2): the data of rank 1 is missing" in job.stderr
    assert elapsed < 20, f"the job took {elapsed:.1f} s to end"  # mpirun's own start-up is about 2.5 s


@requires_mpirun
def test_killing_one_rank_ends_the_job_within_seconds(tmp_path):
    command = [*mpirun_args(2), sys.executable, "-m", "tests.distributed.workers", "hang", str(tmp_path)]
    job = subprocess.Popen(
        command,
        cwd=os.getcwd(),
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        pid_file = tmp_path / "pid-rank1"
        deadline = time.perf_counter() + 60
        while not (pid_file.exists() and (tmp_path / "pid-rank0").exists()) and time.perf_counter() < deadline:
            time.sleep(0.1)
        assert pid_file.exists(), "the ranks did not start"
        time.sleep(0.3)
        killed = time.perf_counter()
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        job.wait(timeout=30)
        ended = time.perf_counter() - killed
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
        job.communicate()
    assert job.returncode != 0
    assert ended < 10, f"the job went on for {ended:.1f} s after a rank was killed"


def test_mpirun_command_for_this_machine():
    command = mpirun_command(3, ["python", "-m", "cnnkit"], mpirun="/opt/mpi/bin/mpirun")
    assert command[:3] == ["/opt/mpi/bin/mpirun", "-np", "3"]
    assert ("--allow-run-as-root" in command) == (os.geteuid() == 0)
    assert command[-3:] == ["python", "-m", "cnnkit"] and "--oversubscribe" in command


def test_relaunch_drops_nprocs_and_splits_threads():
    assert without_nprocs(["train", "--nprocs", "2", "--epochs", "3", "--nprocs=4"]) == ["train", "--epochs", "3"]
    env = rank_environment(2, {"PATH": "/bin", "OMP_NUM_THREADS": "3"})
    assert env["OMP_NUM_THREADS"] == "3"  # what the user set stays
    assert env["OPENBLAS_NUM_THREADS"] == str(max(1, (os.cpu_count() or 1) // 2))


def test_nprocs_errors_are_one_line_before_any_process_starts(tmp_path, capsys):
    code = main(["train", "--nprocs", "2", "--batch-size", "33", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        "cnnkit train: error: --batch-size 33 cannot be split evenly over 2 processes; choose a multiple of 2"
    ]
    assert main(["train", "--nprocs", "0", "--out", str(tmp_path / "run")]) == 2
    assert "--nprocs must be at least 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_train_help_names_the_parallel_options(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "--nprocs" in text and "--distributed" in text and "--sync-batchnorm" in text


@pytest.mark.slow
@requires_mpirun
def test_train_with_nprocs_runs_two_ranks_and_rank_zero_reports(tmp_path):
    data = write_tiny_fashion(tmp_path / "data", n_train=128, n_test=40)
    command = [
        sys.executable,
        "-m",
        "cnnkit",
        "train",
        "--nprocs",
        "2",
        "--data-dir",
        str(data),
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--out",
        str(tmp_path / "run"),
        "--quiet",
        "--sync-batchnorm",
    ]
    job = run_job(command, timeout=180)
    assert job.returncode == 0, job.stderr
    lines = job.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch   1") and lines[1].startswith("final val accuracy")
    assert (tmp_path / "run" / "last.safetensors").exists() and (tmp_path / "run" / "history.csv").exists()
