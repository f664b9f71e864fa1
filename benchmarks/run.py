"""The benchmark command: `python -m benchmarks [--quick] [--only PATTERN] [--json PATH] [--no-torch] ...`.

For each selected workload: build both contenders, check once that they compute the same thing, then time
them interleaved after warm-up (`timing.interleaved`) and keep the median. Memory runs in child processes
(`benchmarks.memory`). At the end: the tables (`report`), and with `--json` the same figures in a file,
with the machine, the versions, the thread settings, the load average at start and end, and the CPU time the
virtual machine's host took from it during the run (steal).

NumPy reads its BLAS thread count when it is imported, so this module imports NumPy, cnnkit and torch only
inside `main`, after `threads.limit_env`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import statistics
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py`: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import report, threads  # noqa: E402 - after the sys.path fix above
from benchmarks.report import MemoryResult, Result  # noqa: E402
from benchmarks.timing import interleaved  # noqa: E402

LOAD_WARNING = 1.5  # 1-minute load average above which another process is keeping a core busy
STEAL_WARNING = 0.05  # share of the run's CPU time the host took (steal) above which the figures are disturbed
PROBE_WARNING = 1e-3  # seconds for the BLAS probe's small product: beyond this, OpenBLAS is waiting for a core
REPEATS, QUICK_REPEATS, WARMUP = 7, 3, 2
DEFAULT_THREADS = 2
FLOP_CONVENTION = ("models: forward = 2 x MACs of convs and linears, training step = 3 x forward; convs: 2 x MACs "
                   "forward, 2 x that backward; pools, batch norm, cross-entropy: nominal per-element counts "
                   "(see benchmarks/workloads_ops.py)")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="cnnkit against PyTorch: models, single ops, batch scaling, memory.")
    parser.add_argument("--quick", action="store_true", help="a small subset, 3 repeats (under a minute when quiet)")
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN",
                        help="run only the workloads whose name contains PATTERN (repeatable; any may match)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--no-torch", action="store_true", help="time cnnkit alone, even if torch is installed")
    parser.add_argument("--threads", type=int, help="threads for NumPy's BLAS and for PyTorch (default: "
                        f"$OPENBLAS_NUM_THREADS if set, else {DEFAULT_THREADS})")
    parser.add_argument("--repeats", type=int, help=f"timed repeats per contender (default {REPEATS}, quick "
                                                    f"{QUICK_REPEATS}); the median is reported")
    parser.add_argument("--warmup", type=int, default=WARMUP, help=f"untimed runs first (default {WARMUP})")
    parser.add_argument("--memory-steps", type=int,
                        help="training steps in each memory child (default 20, quick 3)")
    parser.add_argument("--list", action="store_true", help="print the selected workload names and exit")
    parser.add_argument("--busy", action="store_true", help="keep one core busy with a separate spinning process "
                        "while both frameworks are timed (how each degrades when another job holds a core)")
    parser.add_argument("--profile", type=int, metavar="N", help="instead of timing, run cProfile on cnnkit's side of "
                        "each selected workload (warm-up, then the repeats) and print its N costliest functions")
    args = parser.parse_args(argv)
    if args.threads is None:
        args.threads = default_threads(parser)
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.warmup < 0:
        parser.error(f"--warmup must be at least 0, got {args.warmup}")
    if args.profile is not None and args.profile < 1:
        parser.error(f"--profile must be at least 1, got {args.profile}")
    if args.memory_steps is not None and args.memory_steps < 1:
        parser.error(f"--memory-steps must be at least 1, got {args.memory_steps}")
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else REPEATS
    return args


def default_threads(parser: argparse.ArgumentParser) -> int:
    """OPENBLAS_NUM_THREADS when the caller set it (`env OPENBLAS_NUM_THREADS=1 python -m benchmarks`), else 2."""
    value = os.environ.get("OPENBLAS_NUM_THREADS", "").strip()
    if not value:
        return DEFAULT_THREADS
    if not value.isdigit():
        parser.error(f"OPENBLAS_NUM_THREADS must be a positive integer, got {value!r}")
    return int(value)


def all_workloads() -> list:
    """Every workload in run order: models, their BLAS floors, single ops, scaling, memory (imports NumPy, cnnkit)."""
    from benchmarks import memory, products_floor, scaling, workloads_models, workloads_ops

    return (workloads_models.workloads() + products_floor.workloads() + workloads_ops.workloads()
            + scaling.workloads() + memory.workloads())


def select(workloads: list, quick: bool = False, only: Sequence[str] = ()) -> list:
    """The quick subset when asked, then those whose name contains any of the `only` patterns."""
    chosen = [w for w in workloads if w.quick] if quick else list(workloads)
    if only:
        chosen = [w for w in chosen if any(p.lower() in w.name.lower() for p in only)]
    return chosen


def load_torch(no_torch: bool) -> tuple[Any, str | None]:
    """(torch module or None, a note saying why the PyTorch columns are empty)."""
    if no_torch:
        return None, "PyTorch columns skipped: --no-torch."
    try:
        import torch
    except ImportError:
        return None, "PyTorch columns skipped: torch is not installed (pip install torch==2.13.0)."
    return torch, None


def run_timed(workload: Any, torch: Any, repeats: int, warmup: int) -> Result:
    """Build, check, time; any failure (a mismatch included) becomes the row's error instead of stopping the run."""
    result = Result(workload.name, workload.group, target=workload.target, extra=dict(workload.extra))
    try:
        from cnnkit.ops.compiled import first_call_seconds

        compiling = first_call_seconds()
        built = workload.build(torch)
        result.images, result.flops = built.images, built.flops
        if built.check is not None:
            built.check()
        contenders = [built.cnnkit] + ([built.torch] if built.torch is not None else [])
        timings = interleaved(contenders, repeats=repeats, warmup=warmup)
        # kernels first run in this workload (in its check or warm-up) paid for compiling or loading them
        result.extra["cnnkit_compile_s"] = first_call_seconds() - compiling
        result.cnnkit = timings[0]
        result.torch = timings[1] if len(timings) > 1 else None
    except Exception as err:  # noqa: BLE001 - one broken workload must not lose the others' figures
        result.error = f"{type(err).__name__}: {err}"
        result.extra["traceback"] = traceback.format_exc()
    return result


def profile_cnnkit(workload: Any, repeats: int, warmup: int, top: int) -> str:
    """cProfile of cnnkit's contender alone (no PyTorch, no check): the `top` functions by own time."""
    if workload.build is None:
        return f"{workload.name}: not profiled (it runs in child processes)"
    fn = workload.build(None).cnnkit
    for _ in range(warmup):
        fn()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeats):
        fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    body = out.getvalue().strip().splitlines()
    start = next((i for i, line in enumerate(body) if line.lstrip().startswith("ncalls")), 0)
    total = next((line.strip() for line in body if "function calls" in line), "")
    return "\n".join([f"{workload.name}: {repeats} calls, {total}"] + body[start:])


def blas_probe(calls: int = 20, pause: float = 0.002) -> float:
    """Median seconds of a small float32 product (84×120 @ 120×128), each after a short pause.

    About 20–100 µs on a quiet machine. When another process keeps a core busy, a multi-threaded OpenBLAS
    must wake its parked helper thread for each product and waits for the scheduler: milliseconds. The
    pause lets the helper park, as it does between the products of a training step.
    """
    import numpy as np

    a, b = np.ones((84, 120), np.float32), np.ones((120, 128), np.float32)
    times = []
    for _ in range(calls):
        time.sleep(pause)
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine_info() -> dict[str, Any]:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        info["cpu"] = None
    return info


def load_warning(load: tuple[float, float, float], n_threads: int = 2) -> str | None:
    if load[0] <= LOAD_WARNING:
        return None
    blas = (" A multi-threaded OpenBLAS slows down badly then (--threads 1 avoids that);" if n_threads > 1 else "")
    return (f"WARNING: 1-minute load average {load[0]:.2f} at start (> {LOAD_WARNING}): other processes are using "
            f"the CPU.{blas} These figures are disturbed.")


def steal_seconds(stat_path: str = "/proc/stat") -> float | None:
    """CPU time the hypervisor has given to other guests since boot, summed over this machine's CPUs (the 8th
    field of /proc/stat's "cpu" line, in clock ticks); None where the file or the field is missing."""
    try:
        with open(stat_path) as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK") if fields[:1] == ["cpu"] and len(fields) > 8 else None
    except (OSError, ValueError):
        return None


def steal_note(stolen: float | None, seconds: float, n_cpus: int) -> str | None:
    """The host's share of the run's CPU time: a run that lost more than STEAL_WARNING of it is disturbed even
    when nothing else ran on the machine (the load average does not see it)."""
    if stolen is None:
        return None
    share = stolen / max(seconds * n_cpus, 1e-9)
    text = f"host steal: {stolen:.1f} s of {n_cpus} x {seconds:.0f} s CPU time ({share:.1%})"
    if share > STEAL_WARNING:
        return (f"WARNING: {text}: the virtual machine's host took that share of the CPUs during the run. These "
                "figures are disturbed.")
    return text


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def describe(r: Result) -> str:
    if r.error:
        return f"error: {r.error}"
    theirs = report.format_seconds(r.torch.median) if r.torch else report.DASH
    ratio = f", ratio {r.ratio:.2f}" if r.ratio is not None else ""
    compiling = r.extra.get("cnnkit_compile_s")
    compile_note = f"; kernels' first calls {report.format_seconds(compiling)}" if compiling else ""
    return f"cnnkit {report.format_seconds(r.cnnkit.median)}, PyTorch {theirs}{ratio}{compile_note}"


def start_warnings(load: tuple[float, float, float], probe: float, n_threads: int) -> list[str]:
    """Warnings that the run is disturbed: a high load average, or a BLAS that waits for a core."""
    notes = [n for n in (load_warning(load, n_threads),) if n]
    if probe > PROBE_WARNING:
        notes.append(f"WARNING: a small BLAS product takes {report.format_seconds(probe)} (well under 1 ms when "
                     f"quiet): the {n_threads}-thread OpenBLAS is waiting for a core; cnnkit's figures are disturbed.")
    return notes


def run_all(chosen: Sequence[Any], torch: Any, args: argparse.Namespace) -> tuple[list[Result], list[MemoryResult]]:
    """Every selected workload in order, with a progress line on stderr for each."""
    from benchmarks import memory as memory_bench

    results: list[Result] = []
    memory: list[MemoryResult] = []
    steps = args.memory_steps or (memory_bench.QUICK_STEPS if args.quick else memory_bench.STEPS)
    for i, workload in enumerate(chosen, 1):
        progress(f"[{i}/{len(chosen)}] {workload.name} ...")
        if workload.group == "memory":
            memory.append(memory_bench.measure(workload, torch is not None, steps, args.threads))
            progress(f"    {memory[-1].error or 'done'}")
        else:
            results.append(run_timed(workload, torch, args.repeats, args.warmup))
            progress(f"    {describe(results[-1])}")
    return results, memory


def closing_note(args: argparse.Namespace, thread_info: dict[str, Any], loads: tuple[tuple, tuple]) -> str:
    probe = thread_info["blas_probe_s"]
    return "\n".join([
        f"load average (1, 5, 15 min): start {_load_text(loads[0])}, end {_load_text(loads[1])}",
        f"threads: BLAS {thread_info.get('blas_threads')} ({thread_info.get('blas_method')}), "
        f"PyTorch {thread_info.get('torch_threads', report.DASH)}",
        f"BLAS probe (84x120 @ 120x128 float32 after a pause): {report.format_seconds(probe['start'])} at start, "
        f"{report.format_seconds(probe['end'])} at end; well under 1 ms when the machine is quiet",
        f"median of {args.repeats} interleaved repeats after {args.warmup} warm-up runs, each repeat after one "
        "untimed call of the same contender; ratio = PyTorch time / "
        "cnnkit time (memory: PyTorch peak / cnnkit peak)"])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    env_threads = threads.limit_env(args.threads)  # before anything imports NumPy
    chosen = select(all_workloads(), args.quick, args.only)
    if args.list:
        print("\n".join(w.name for w in chosen))
        return 0
    if not chosen:
        progress(f"no workload matches {args.only}; --list shows the names")
        return 2
    start_load = os.getloadavg()  # before importing torch, which itself loads the machine for a few seconds
    torch, torch_note = load_torch(args.no_torch)
    thread_info = {**env_threads, **threads.limit_loaded(args.threads, torch)}
    if args.profile:
        for workload in chosen:
            print(profile_cnnkit(workload, args.repeats, args.warmup, args.profile) + "\n")
        return 0
    probe_start, started, steal_start = blas_probe(), time.time(), steal_seconds()
    notes = start_warnings(start_load, probe_start, args.threads)
    for note in notes:
        progress(note)
    notes += [torch_note] if torch_note else []
    if args.busy:
        from benchmarks.busy import busy_core

        with busy_core() as busy:
            notes.append(f"--busy: a spinning process (pid {busy['pid']}, core {busy['cpu']}) held one core while "
                         "both frameworks were timed")
            progress(notes[-1])
            results, memory = run_all(chosen, torch, args)
        thread_info["busy"] = busy
    else:
        results, memory = run_all(chosen, torch, args)
    end_load, steal_end = os.getloadavg(), steal_seconds()
    stolen = None if steal_start is None or steal_end is None else steal_end - steal_start
    thread_info["steal_s"] = stolen
    steal = steal_note(stolen, time.time() - started, os.cpu_count() or 1)
    notes += [steal] if steal else []
    thread_info["blas_probe_s"] = {"start": probe_start, "end": blas_probe()}
    from benchmarks.scaling import SCALING_TARGET

    scaling_rows = report.scaling_rows(results, SCALING_TARGET)
    notes.append(closing_note(args, thread_info, (start_load, end_load)))
    print(report.format_report(results, memory, scaling_rows, notes))
    if args.json:
        meta = _meta(args, thread_info, torch, start_load, end_load, time.time() - started, notes)
        report.write_json(args.json, report.to_json(meta, results, memory, scaling_rows))
        progress(f"wrote {args.json}")
    return 1 if any(r.error for r in results) or any(m.error for m in memory) else 0


def _load_text(load: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.2f}" for v in load)


def _meta(args: argparse.Namespace, thread_info: dict, torch: Any, start_load: tuple, end_load: tuple,
          seconds: float, notes: list[str]) -> dict[str, Any]:
    import numpy

    import cnnkit

    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() - seconds)),
        "seconds": seconds, "argv": sys.argv[1:], "quick": args.quick, "only": args.only, "repeats": args.repeats,
        "warmup": args.warmup, "busy": args.busy, "threads": thread_info, "loadavg_start": list(start_load),
        "loadavg_end": list(end_load), "load_warning": start_load[0] > LOAD_WARNING,
        "versions": {"cnnkit": cnnkit.__version__, "numpy": numpy.__version__,
                     "torch": torch.__version__ if torch is not None else None},
        "machine": machine_info(), "flop_convention": FLOP_CONVENTION, "notes": notes,
    }


if __name__ == "__main__":
    raise SystemExit(main())
