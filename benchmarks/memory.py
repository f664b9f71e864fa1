"""Peak memory: ResNet-20 training steps at batch 128, each framework alone in a fresh Python process.

`python -m benchmarks.memory --framework cnnkit|torch [--steps 20] [--batch 128] [--threads 2]` is the
child: it imports only its own framework (the torch child builds its ResNet-20 from `twins`, without
cnnkit), reads its resident set size after the imports (the baseline), builds the model and a random
batch, runs the training steps (forward, cross-entropy, backward, SGD momentum step) and prints one JSON
line with the baseline, the size after building and the peak (VmHWM from /proc/self/status: the
high-water mark of the resident set over the whole process, imports included; ru_maxrss where /proc is
missing). `measure()` is the parent side: it runs one child per framework and collects the lines into a
`MemoryResult` whose ratio is PyTorch peak / cnnkit peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import threads as thread_control
from benchmarks.report import MemoryResult, Target
from benchmarks.workload import Workload

MEMORY_TARGET = Target(">=", 0.7)
STEPS, QUICK_STEPS, BATCH = 20, 3, 128
LR, MOMENTUM = 0.01, 0.9
REPO_ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 1800


def workloads() -> list[Workload]:
    return [Workload("memory resnet20 train b128", "memory", None, MEMORY_TARGET, True,
                     {"model": "resnet20", "batch": BATCH})]


# ----------------------------------------------------------------------------------------------- parent
def measure(workload: Workload, with_torch: bool, steps: int, threads: int) -> MemoryResult:
    """Run the cnnkit child and (with_torch) the torch child; a failing child becomes the result's error."""
    batch = workload.extra["batch"]
    result = MemoryResult(f"resnet20 train b{batch} x{steps} steps", steps, batch, target=workload.target)
    try:
        result.cnnkit = run_child("cnnkit", steps, batch, threads)
        if with_torch:
            result.torch = run_child("torch", steps, batch, threads)
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as err:
        result.error = f"{type(err).__name__}: {err}"
    return result


def run_child(framework: str, steps: int, batch: int, threads: int) -> dict[str, Any]:
    """Run `python -m benchmarks.memory` for one framework and return its JSON report."""
    command = [sys.executable, "-m", "benchmarks.memory", "--framework", framework, "--steps", str(steps),
               "--batch", str(batch), "--threads", str(threads)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"memory child for {framework} exited with {done.returncode}: {tail}")
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------------------------- child
def status_bytes(field: str) -> int | None:
    """A size field of /proc/self/status (VmRSS, VmHWM) in bytes, or None where there is no /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024  # the kernel writes kB
    except OSError:
        return None
    return None


def peak_bytes() -> int:
    """The process's peak resident set: VmHWM, else ru_maxrss (kilobytes on Linux)."""
    hwm = status_bytes("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cnnkit_steps(steps: int, batch: int, threads: int) -> dict[str, Any]:
    import numpy as np

    import cnnkit
    import cnnkit.nn.functional as F
    from cnnkit import optim
    from cnnkit.models import get_model

    report = {"threads": thread_control.limit_loaded(threads), "baseline_bytes": status_bytes("VmRSS")}
    cnnkit.manual_seed(0)
    model = get_model("resnet20")
    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    rng = np.random.default_rng(0)
    x = cnnkit.tensor(rng.standard_normal((batch, 3, 32, 32), dtype=np.float32))
    y = cnnkit.tensor(rng.integers(0, 10, batch, dtype=np.int64))
    report["built_bytes"] = status_bytes("VmRSS")
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    report["seconds"] = time.perf_counter() - start
    return report


def _torch_steps(steps: int, batch: int, threads: int) -> dict[str, Any]:
    import numpy as np
    import torch

    from benchmarks.twins import TorchCifarResNet

    report = {"threads": thread_control.limit_loaded(threads, torch), "baseline_bytes": status_bytes("VmRSS")}
    torch.manual_seed(0)
    model = TorchCifarResNet(3)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((batch, 3, 32, 32), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, 10, batch, dtype=np.int64))
    report["built_bytes"] = status_bytes("VmRSS")
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    report["seconds"] = time.perf_counter() - start
    return report


def child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=("cnnkit", "torch"), required=True)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    thread_control.limit_env(args.threads)  # before NumPy is imported
    run = _cnnkit_steps if args.framework == "cnnkit" else _torch_steps
    report = run(args.steps, args.batch, args.threads)
    report.update(framework=args.framework, steps=args.steps, batch=args.batch, peak_bytes=peak_bytes())
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(child_main())
