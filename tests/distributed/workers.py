"""Programs the distributed tests run under `mpirun -np 2 python -m tests.distributed.workers SCENARIO OUT`.

Each rank writes what the test checks into the folder OUT (safetensors and JSON, named by rank):
- `basics`: the communication calls on rank-dependent values; a few SGD steps with DistributedDataParallel
  on each rank's half of every global batch — a conv net without batch norm, one with SyncBatchNorm,
  gradient accumulation with no_sync, one bucket per parameter — plus each rank's DistributedSampler
  indices and its network namespace;
- `fail`: rank 1 raises inside `fail_fast` while rank 0 waits in a barrier;
- `resume`: a 2-rank run resumed in one process and a one-process run resumed on 2 ranks (data in OUT/data);
- `hang`: both ranks write their pid and wait in a collective that never completes, to be killed by the test.
The single-process references are computed by the tests with the same functions (`build`, `batches`, `train`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import cnnkit
import cnnkit.nn.functional as F
from cnnkit import nn, optim
from cnnkit.serialization import save

STEPS, GLOBAL_BATCH, CLASSES = 3, 8, 3


def build(batchnorm: bool, seed: int = 0) -> nn.Module:
    """A small conv net (Conv → [BatchNorm] → ReLU → MaxPool → Linear); weights from `seed`."""
    cnnkit.manual_seed(seed)
    norm = [nn.BatchNorm2d(4)] if batchnorm else []
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), *norm, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, CLASSES)
    )


def batches(steps: int = STEPS, batch: int = GLOBAL_BATCH) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same global batches on every rank: images (B, 1, 8, 8) and labels (B,)."""
    rng = np.random.default_rng(1)
    return [
        (rng.standard_normal((batch, 1, 8, 8)).astype(np.float32), rng.integers(0, CLASSES, batch))
        for _ in range(steps)
    ]


def shard(array: np.ndarray, rank: int, world: int) -> np.ndarray:
    """Rank `rank`'s contiguous share of a global batch."""
    size = len(array) // world
    return array[rank * size : (rank + 1) * size]


def train(model: nn.Module, data, rank: int = 0, world: int = 1, accumulate: int = 1) -> None:
    """SGD with momentum over `data`; with `accumulate` > 1 each batch is cut into that many micro-batches, all but
    the last under `no_sync()` when the model has it (the gradient is the sum of the micro-batch means)."""
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for images, labels in data:
        images, labels = shard(images, rank, world), shard(labels, rank, world)
        optimizer.zero_grad()
        for k in range(accumulate):
            x, y = shard(images, k, accumulate), shard(labels, k, accumulate)
            last = k == accumulate - 1
            context = model.no_sync() if hasattr(model, "no_sync") and not last else _nothing()
            with context:
                F.cross_entropy(model(cnnkit.Tensor(x)), cnnkit.Tensor(y)).backward()
        optimizer.step()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None


def _state(model: nn.Module) -> dict[str, np.ndarray]:
    return {name: np.array(t._data) for name, t in model.state_dict().items()}


def communication_results(r: int) -> dict:
    """all_reduce (sum, max; blocking and async), broadcast and broadcast_json on rank-dependent values."""
    from cnnkit.distributed import all_reduce, barrier, broadcast
    from cnnkit.distributed.comm import broadcast_json

    summed = all_reduce(np.array([1.0, r, 10.0 * r], dtype=np.float32))
    biggest = all_reduce(np.array([r, -r], dtype=np.int64), "max")
    pending = all_reduce(cnnkit.tensor([r + 0.5, 2.0]), "sum", async_op=True)
    sent = broadcast(np.full(3, 7.0 + r))
    barrier()
    text = broadcast_json({"from": r, "values": [r, 1.5]})
    return {
        "sum": summed.tolist(),
        "max": biggest.tolist(),
        "async": pending.wait().tolist(),
        "broadcast": sent.tolist(),
        "json": text,
    }


def scenario_basics(out: Path) -> None:
    from cnnkit.distributed import (
        DistributedDataParallel,
        DistributedSampler,
        convert_sync_batchnorm,
        rank,
        world_size,
    )

    r, w = rank(), world_size()
    communication = communication_results(r)
    cases = {
        "plain": (build(False, seed=r), {}, 1),  # rank 1 starts elsewhere: construction broadcasts rank 0's weights
        "syncbn": (convert_sync_batchnorm(build(True, seed=r)), {}, 1),
        "accumulate": (build(False, seed=r), {}, 2),
        "tiny_buckets": (build(False, seed=r), {"bucket_cap_mb": 1e-6}, 1),
        "local_bn": (build(True, seed=r), {}, 1),  # per-rank statistics; rank 0's buffers broadcast every forward
    }
    for name, (model, options, accumulate) in cases.items():
        ddp = DistributedDataParallel(model, **options)
        train(ddp, batches(), r, w, accumulate)
        save(
            _state(model),
            out / f"{name}-rank{r}.safetensors",
            metadata={"buckets": len(ddp.buckets), "started_early": ddp.started_early},
        )
    samplers = {}
    for n, drop_last in ((10, False), (11, False), (11, True)):
        sampler = DistributedSampler(list(range(n)), drop_last=drop_last, seed=5)
        samplers[f"{n}-{drop_last}"] = {str(e): (sampler.set_epoch(e), sampler.indices().tolist())[1] for e in (0, 1)}
    info = {"samplers": samplers, "netns": os.readlink("/proc/self/ns/net"), "world": w, "communication": communication}
    (out / f"info-rank{r}.json").write_text(json.dumps(info))


def scenario_fail(out: Path) -> None:
    from cnnkit.distributed import barrier, rank
    from cnnkit.distributed.launch import fail_fast

    with fail_fast("worker"):
        if rank() == 1:
            time.sleep(0.5)
            raise ValueError("the data of rank 1 is missing")
        barrier()  # rank 0 would wait here forever without the abort


def scenario_hang(out: Path) -> None:
    from cnnkit.distributed import all_reduce, rank

    (out / f"pid-rank{rank()}").write_text(str(os.getpid()))
    if rank() == 0:
        all_reduce(np.zeros(1))  # rank 1 never joins: rank 0 waits until the job is ended
    else:
        time.sleep(120)


def tiny_run_config(data_dir: Path, out: Path, epochs: int):
    """LeNet-5 on the tiny Fashion-MNIST, constant learning rate: a run cut after epoch 1 is a run of 1 epoch."""
    from cnnkit.training.run import RunConfig

    return RunConfig(data_dir=str(data_dir), epochs=epochs, batch_size=32, schedule="none", out=str(out))


def cut_after_first_epoch(run_dir: Path) -> None:
    """Make a finished 1-epoch run look like a 2-epoch run killed after epoch 1 (what --resume continues)."""
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "epochs": 2}))


def scenario_resume(out: Path) -> None:
    """2 ranks train `two` for an epoch; rank 0 alone resumes it to epoch 2 and trains `one` for an epoch;
    then the 2 ranks resume `one` to epoch 2. Rank 0 prints; its lines go to the test through stdout."""
    from cnnkit.distributed import barrier, rank
    from cnnkit.training.parallel import Parallel
    from cnnkit.training.run import train as train_run

    data, parallel, quiet = out / "data", Parallel.from_mpi(), {"progress": False}
    train_run(tiny_run_config(data, out / "two", 1), parallel=parallel, **quiet)
    if rank() == 0:
        cut_after_first_epoch(out / "two")
        train_run(tiny_run_config(data, out / "two", 2), resume=True, log=lambda *a: None, **quiet)
        train_run(tiny_run_config(data, out / "one", 1), log=lambda *a: None, **quiet)
        cut_after_first_epoch(out / "one")
    barrier()
    train_run(tiny_run_config(data, out / "one", 2), resume=True, parallel=parallel, **quiet)


def main(argv: list[str]) -> int:
    scenario, out = argv[0], Path(argv[1])
    from cnnkit.distributed import init

    init()
    {"basics": scenario_basics, "resume": scenario_resume, "fail": scenario_fail, "hang": scenario_hang}[scenario](out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
