"""Data-parallel scaling: `python -m benchmarks.distributed` times LeNet-5 and ResNet-20 training on this machine
as 1 process × 2 threads and as 2 processes × 1 thread (DistributedDataParallel under mpirun, the global
batch split in two), with 1 process × 1 thread for reference, and models the speed-up on N machines for a
given network bandwidth.

Each configuration runs in child processes with its thread variables set before NumPy loads. The 2-process
child reports, per step: the whole step, the compute (forward, backward and optimiser step of a `no_sync`
step, no communication), the time backward's end waited for the gradient allreduce, and a plain blocking
allreduce of all the gradient bytes. The model: one machine computes a global batch in t₁ (the best measured
here); on N machines compute takes t₁/N and a ring allreduce moves 2·G·(N−1)/N bytes per machine (G = gradient
bytes, about 2·G: "the communication volume per step is 2 × the gradient bytes") at bandwidth W, so with no
overlap of communication and compute the speed-up is S(N) = t₁ / (t₁/N + 2·G·(N−1)/(N·W)).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("lenet5", "resnet20")
BANDWIDTHS_GBIT = (1.0, 10.0, 100.0)
MACHINES = (1, 2, 4, 8, 16)
CONFIGURATIONS = ((1, 1), (1, 2), (2, 1))  # (processes, threads each): the 2-core machine used three ways
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


# ------------------------------------------------------------------------------------------ child processes
def _setup(name: str, batch: int, seed: int = 0):
    import numpy as np

    import cnnkit
    from cnnkit.models import get_model, model_info

    cnnkit.manual_seed(seed)
    model = get_model(name)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *model_info(name).input_shape), dtype=np.float32)
    y = rng.integers(0, 10, size=batch, dtype=np.int64)
    return model, x, y


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _timed_steps(step, steps: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def child_single(name: str, batch: int, steps: int, warmup: int) -> dict[str, Any]:
    """One process: the training step on the whole batch."""
    import cnnkit
    import cnnkit.nn.functional as F
    from cnnkit import optim

    model, x, y = _setup(name, batch)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, yt = cnnkit.tensor(x), cnnkit.tensor(y)

    def step() -> None:
        optimizer.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        optimizer.step()

    seconds = _median(_timed_steps(step, steps, warmup))
    return {"step_seconds": seconds, "images_per_second": batch / seconds}


def child_ddp(name: str, batch: int, steps: int, warmup: int) -> dict[str, Any] | None:
    """One rank of the job: its share of the batch through DistributedDataParallel (rank 0 returns the figures)."""
    import numpy as np

    import cnnkit
    import cnnkit.nn.functional as F
    from cnnkit import distributed as dist
    from cnnkit import optim

    dist.init()
    rank, world = dist.rank(), dist.world_size()
    model, x, y = _setup(name, batch)
    share = slice(rank * batch // world, (rank + 1) * batch // world)
    xt, yt = cnnkit.tensor(x[share]), cnnkit.tensor(y[share])
    ddp = dist.DistributedDataParallel(model)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        optimizer.zero_grad()
        F.cross_entropy(ddp(xt), yt).backward()
        ddp.finish_gradient_synchronization()
        optimizer.step()

    def compute_only() -> None:
        with ddp.no_sync():
            step()

    waits = []

    def timed_wait_step() -> None:
        before = ddp.wait_seconds
        step()
        waits.append(ddp.wait_seconds - before)

    dist.barrier()
    synced = _timed_steps(timed_wait_step, steps, warmup)
    waited = _median(waits[warmup:])
    compute = _timed_steps(compute_only, steps, 1)
    gradient = np.zeros(sum(p._data.size for p in model.parameters()), dtype=np.float32)
    allreduce = []
    for _ in range(max(steps, 5)):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(gradient)
        allreduce.append(time.perf_counter() - start)
    seconds = _median(synced)
    if rank != 0:
        return None
    return {
        "step_seconds": seconds,
        "images_per_second": batch / seconds,
        "compute_seconds": _median(compute),
        "wait_seconds": waited,
        "allreduce_seconds": _median(allreduce),
        "gradient_bytes": gradient.nbytes,
        "buckets": len(ddp.buckets),
        "world_size": world,
    }


# ------------------------------------------------------------------------------------------ the parent
def _environment(threads: int) -> dict[str, str]:
    env = dict(os.environ, NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING="1")
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _last_json(output: str, command: list[str], stderr: str) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(command)} printed no result:\n{output}\n{stderr}")
    return json.loads(lines[-1])


def measure(name: str, batch: int, steps: int, warmup: int, nprocs: int, threads: int) -> dict[str, Any]:
    """Run one configuration in child processes and return rank 0's figures."""
    from cnnkit.distributed.launch import mpirun_command

    program = [
        sys.executable,
        "-m",
        "benchmarks.distributed",
        "--child",
        "ddp" if nprocs > 1 else "single",
        "--models",
        name,
        "--batch",
        str(batch),
        "--steps",
        str(steps),
        "--warmup",
        str(warmup),
    ]
    command = mpirun_command(nprocs, program) if nprocs > 1 else program
    done = subprocess.run(
        command, cwd=ROOT, env=_environment(threads), capture_output=True, text=True, timeout=3600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return {"model": name, "processes": nprocs, "threads": threads, **_last_json(done.stdout, command, done.stderr)}


def speedup(step_seconds: float, gradient_bytes: int, machines: int, gbit_per_second: float) -> float:
    """S(N) = t₁ / (t₁/N + 2·G·(N−1)/(N·W)): compute split N ways plus a ring allreduce, no overlap."""
    bandwidth = gbit_per_second * 1e9 / 8
    communication = 2 * gradient_bytes * (machines - 1) / machines / bandwidth
    return step_seconds / (step_seconds / machines + communication)


def table(results: list[dict[str, Any]], batch: int) -> str:
    """The measured table and the speed-up model, as Markdown."""
    lines = [
        f"Training step at global batch {batch} (median); speed-up = 2 processes against the faster single process:",
        "",
        "| model | 1 process × 1 thread (img/s) | 1 process × 2 threads (img/s) | 2 processes × 1 thread (img/s) "
        "| speed-up | compute / step | allreduce of the gradients / step | waited after backward / step "
        "| gradient MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r["model"] for r in results):
        rate = {(r["processes"], r["threads"]): r["images_per_second"] for r in results if r["model"] == name}
        two = next(r for r in results if r["model"] == name and r["processes"] == 2)
        single = max(rate.get((1, 1), 0.0), rate.get((1, 2), 0.0))
        cells = " | ".join(f"{rate[c]:.0f}" if c in rate else "–" for c in CONFIGURATIONS)
        lines.append(
            f"| {name} | {cells} | {rate[(2, 1)] / single:.2f}× | {two['compute_seconds'] * 1e3:.1f} ms | "
            f"{two['allreduce_seconds'] * 1e3:.2f} ms | {two['wait_seconds'] * 1e3:.2f} ms | "
            f"{two['gradient_bytes'] / 1e6:.2f} |"
        )
    lines += [
        "",
        "Modelled speed-up on N machines (S(N) = t₁ / (t₁/N + 2·G·(N−1)/(N·W)), t₁ = the best step time above):",
        "",
        "| model | bandwidth | " + " | ".join(f"N = {n}" for n in MACHINES) + " |",
        "|---|---|" + "---|" * len(MACHINES),
    ]
    for name in dict.fromkeys(r["model"] for r in results):
        rows = [r for r in results if r["model"] == name]
        best = min(r["step_seconds"] for r in rows)
        gradient = next(r["gradient_bytes"] for r in rows if "gradient_bytes" in r)
        for gbit in BANDWIDTHS_GBIT:
            cells = " | ".join(f"{speedup(best, gradient, n, gbit):.1f}" for n in MACHINES)
            lines.append(f"| {name} | {gbit:g} Gbit/s | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="zoo models to time")
    parser.add_argument("--batch", type=int, default=128, help="global batch (split over the processes)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per configuration (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--json", type=Path, help="also write the measurements to this file")
    parser.add_argument("--child", choices=["single", "ddp"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        run = child_single if args.child == "single" else child_ddp
        result = run(args.models[0], args.batch, args.steps, args.warmup)
        if result is not None:
            print(json.dumps(result), flush=True)
        return 0
    if args.batch % 2:
        parser.error(f"--batch must be even (it is split over 2 processes), got {args.batch}")
    results = []
    for name in args.models:
        for nprocs, threads in CONFIGURATIONS:
            results.append(measure(name, args.batch, args.steps, args.warmup, nprocs, threads))
            print(
                f"{name}: {nprocs} process(es) × {threads} thread(s): {results[-1]['images_per_second']:.0f} img/s",
                file=sys.stderr,
                flush=True,
            )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    print(table(results, args.batch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
