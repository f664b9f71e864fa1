"""One 2-rank MPI job per test session runs `tests.distributed.workers basics`; its outputs serve every test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.distributed.mpi import MPIRUN, has_mpi4py, run_worker


@pytest.fixture(scope="session")
def basics(tmp_path_factory) -> Path:
    """The folder of the `basics` job's outputs (skips without MPI; fails with the job's output if it failed)."""
    if MPIRUN is None or not has_mpi4py():
        pytest.skip("needs MPI: mpirun and mpi4py (pip install -e '.[mpi]')")
    out = tmp_path_factory.mktemp("basics")
    job = run_worker("basics", out)
    assert job.returncode == 0, f"the 2-rank job failed:\n{job.stdout}\n{job.stderr}"
    return out


def rank_info(out: Path, rank: int) -> dict:
    return json.loads((out / f"info-rank{rank}.json").read_text())
