"""What every hostile case checks: the CLI refuses in one line naming the culprit, and bombs run fenced.

`refused(argv, *names)` runs `cnnkit` in this process and asserts exit status 2, a single stderr line, no
traceback, and each of `names` in it. `run_fenced(code)` runs Python source in a child process under an
address-space limit and a timeout, for inputs built to exhaust memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from cnnkit.cli import main

ROOT = Path(__file__).resolve().parents[2]
GiB = 1 << 30


def refused(argv: list[str], capsys, *names: str) -> str:
    """Run the CLI; assert a one-line refusal (status 2) that names each of `names`; return the line."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for name in names:
        assert str(name) in lines[0], lines[0]
    return lines[0]


def run_cli(argv: list[str], timeout: float = 120, memory: int | None = None, cwd: str | None = None,
            ) -> subprocess.CompletedProcess:
    """`python -m cnnkit argv` in a child process (optionally under an address-space limit)."""
    code = f"import sys; from cnnkit.cli import main; sys.exit(main({[str(a) for a in argv]!r}))"
    return run_fenced(code, timeout=timeout, memory=memory, cwd=cwd)


def run_fenced(code: str, memory: int | None = 2 * GiB, timeout: float = 120,
               cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run Python `code` in a child with RLIMIT_AS = `memory` bytes and a wall-clock timeout."""
    prelude = "" if memory is None else textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
        """)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd or str(ROOT))


def one_line_refusal(result: subprocess.CompletedProcess, *names: str) -> str:
    """Assert a child `cnnkit` refused in one stderr line naming each of `names`; return the line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    for name in names:
        assert str(name) in lines[0], lines[0]
    return lines[0]
