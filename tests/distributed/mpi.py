"""Running `mpirun -np 2 python -m ...` from a test: find mpirun, skip when MPI is missing, bound the time.

mpirun ignores SIGTERM while ranks hang ("Abort is in progress"), so a job past its time limit is killed with
SIGKILL as a whole process group; the test then fails with the job's output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cnnkit.distributed.launch import find_mpirun

ROOT = Path(__file__).resolve().parents[2]
MPIRUN = find_mpirun()


def has_mpi4py() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


requires_mpirun = pytest.mark.skipif(
    MPIRUN is None or not has_mpi4py(), reason="needs MPI: mpirun and mpi4py (pip install -e '.[mpi]')"
)


def mpirun_args(nprocs: int = 2) -> list[str]:
    return [MPIRUN, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", str(nprocs)]


def environment() -> dict[str, str]:
    env = dict(
        os.environ,
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        NUMBA_NUM_THREADS="1",
        NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING="1",
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_job(command: list[str], timeout: float = 120, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run `command` (an mpirun line) in its own process group; SIGKILL the group after `timeout` seconds."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{' '.join(command)} did not end within {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def run_worker(scenario: str, out: Path, nprocs: int = 2, timeout: float = 120) -> subprocess.CompletedProcess:
    """`mpirun ... -np N python -m tests.distributed.workers SCENARIO OUT`."""
    return run_job(
        [*mpirun_args(nprocs), sys.executable, "-m", "tests.distributed.workers", scenario, str(out)], timeout
    )
