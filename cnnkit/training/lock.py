"""The run-folder lock: one training process writes a run folder at a time.

An advisory lock (`fcntl.flock`, exclusive, non-blocking) on `RUN_DIR/.lock`, taken before anything is written
and held until the run ends. The operating system drops it when the process dies, even by `kill -9`, so a
killed run leaves no stale lock: the next `--resume` takes it at once. The holder writes its PID into the file,
so a refused run can name the process that holds the folder. The file itself stays (deleting a lock file
races with a process about to lock it); only the lock on it matters.
"""

from __future__ import annotations

import os
from pathlib import Path

LOCK_NAME = ".lock"


class RunFolderLocked(RuntimeError):
    """Another live process holds the run folder's lock."""


class RunLock:
    """The held lock of one run folder; `release()` (or leaving a `with` block) lets it go."""

    def __init__(self, run_dir: Path, fd: int | None) -> None:
        self.run_dir, self._fd = run_dir, fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_run_dir(run_dir: str | os.PathLike) -> RunLock:
    """Take the lock of an existing run folder, or refuse naming the folder and the process that holds it."""
    run_dir = Path(run_dir)
    try:
        import fcntl
    except ImportError:  # no flock on this platform: runs are not locked
        return RunLock(run_dir, None)
    path = run_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise RunFolderLocked(f"{run_dir} is in use by another training (process {holder} holds {path}); "
                              "wait for it to end, or choose another folder with --out") from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return RunLock(run_dir, fd)
