"""DataLoader worker processes: their seeds, `get_worker_info`, the fetch loop, and how their errors travel.

Seeding, as torch's: the loader draws one 64-bit `base_seed` per iterator; worker w seeds Python's `random`
and cnnkit's generator with `base_seed + w`, and NumPy's legacy global generator with a 4-word state mixed
from (w, base_seed) by the hash torch uses (`generate_state`, SeedSequence's mixing), so two workers never
share a NumPy stream. Then `worker_init_fn(w)` runs.

Each task is (task index, dataset indices, lent block); the worker fetches the items, collates them, packs
the batch into shared memory (see `shared`) and answers (task index, skeleton, block name, whether it
created the block). A failure answers with a `WorkerError`
carrying the exception's type and a message naming the worker and the indices; an IterableDataset that is
exhausted answers `IterableEnd`. `None` stops the worker; `Resume` restarts an IterableDataset's iterator
(persistent workers, new epoch).
"""

from __future__ import annotations

import os
import random
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnkit.utils.data import shared

MASK32 = 0xFFFFFFFF
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerInfo:
    """What `get_worker_info()` returns inside a worker: its id, the number of workers, its seed, its dataset copy."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's `WorkerInfo`, or None in the main process."""
    return _worker_info


def generate_state(base_seed: int, worker_id: int) -> list[int]:
    """Four 32-bit words for NumPy's seed: (worker_id, base_seed) hashed and mixed, bit for bit as torch's."""
    mult_a, mult_b, mix_l, mix_r, shift = 0x931E8875, 0x58F38DED, 0xCA01F9DD, 0x4973F715, 16
    const_a = [0x43B0D7E5]

    def hash32(value: int) -> int:
        value = (value ^ const_a[0]) & MASK32
        const_a[0] = (const_a[0] * mult_a) & MASK32
        value = (value * const_a[0]) & MASK32
        return (value ^ (value >> shift)) & MASK32

    def mix(x: int, y: int) -> int:
        result = ((mix_l * x) - (mix_r * y)) & MASK32
        return (result ^ (result >> shift)) & MASK32

    pool = [hash32(v) for v in (worker_id, base_seed & MASK32, base_seed >> 32, 0)]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hash32(pool[src]))
    const_b, state = 0x8B51F9DD, []
    for value in pool:
        value = (value ^ const_b) & MASK32
        const_b = (const_b * mult_b) & MASK32
        value = (value * const_b) & MASK32
        state.append((value ^ (value >> shift)) & MASK32)
    return state


def seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed random, cnnkit and NumPy for this worker; returns its seed base_seed + worker_id."""
    from cnnkit.random import manual_seed

    seed = base_seed + worker_id
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(generate_state(base_seed, worker_id))
    return seed


class WorkerError:
    """An exception raised in a worker, carried to the main process and raised there (`reraise`)."""

    def __init__(self, error: BaseException, where: str) -> None:
        self.exc_type = type(error)
        self.message = (f"Caught {type(error).__name__} in DataLoader worker process {where}.\n"
                        f"Original {''.join(traceback.format_exception(error)).rstrip()}")

    def reraise(self) -> None:
        if self.exc_type is KeyError:  # KeyError's str() quotes its message: keep the traceback readable
            raise KeyError(self.message)
        try:
            error = self.exc_type(self.message)
        except Exception:
            error = RuntimeError(self.message)
        raise error


class IterableEnd:
    """Answer of a worker whose IterableDataset is exhausted."""


class Resume:
    """Task telling a persistent worker to restart its IterableDataset's iterator."""


@dataclass
class WorkerSetup:
    """Everything a worker needs, sent once at start."""

    dataset: Any
    is_iterable: bool
    auto_collation: bool
    collate_fn: Any
    drop_last: bool
    base_seed: int
    init_fn: Any
    worker_id: int
    num_workers: int


def fetch(setup: WorkerSetup, stream: Any, indices: Any) -> Any:
    """The collated batch of `indices`, or IterableEnd. For an IterableDataset, `indices` only counts items."""
    dataset = setup.dataset
    if setup.is_iterable:
        if not setup.auto_collation:
            try:
                return setup.collate_fn(next(stream))
            except StopIteration:
                return IterableEnd()
        items = []
        for _ in indices:
            try:
                items.append(next(stream))
            except StopIteration:
                break
        if not items or (setup.drop_last and len(items) < len(indices)):
            return IterableEnd()
        return setup.collate_fn(items)
    if not setup.auto_collation:
        return setup.collate_fn(dataset[indices])
    items = []
    for i in indices:
        try:
            items.append(dataset[i])
        except Exception as error:
            raise ItemError(i, error) from error
    return setup.collate_fn(items)


class ItemError(Exception):
    """Dataset item `index` raised `error` (so the message can name the index)."""

    def __init__(self, index: Any, error: Exception) -> None:
        super().__init__(index, error)
        self.index, self.error = index, error


def worker_loop(setup: WorkerSetup, index_pipe: Any, result_pipe: Any, parent_pid: int) -> None:
    """The body of one worker process (see the module docstring)."""
    global _worker_info
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    seed = seed_worker(setup.base_seed, setup.worker_id)
    _worker_info = WorkerInfo(setup.worker_id, setup.num_workers, seed, setup.dataset)
    init_error = None
    try:
        if setup.init_fn is not None:
            setup.init_fn(setup.worker_id)
    except Exception as error:
        init_error = WorkerError(error, f"{setup.worker_id} (in worker_init_fn)")
    stream = iter(setup.dataset) if setup.is_iterable and init_error is None else None
    blocks = shared.WorkerBlocks()
    while True:
        try:
            if not index_pipe.poll(POLL_SECONDS):
                if os.getppid() != parent_pid:  # the main process is gone: nobody will read what we make
                    return
                continue
            task = index_pipe.recv()
        except (EOFError, OSError):  # the main process closed its end
            return
        if task is None:
            return
        if isinstance(task, Resume):
            stream = iter(setup.dataset) if setup.is_iterable and init_error is None else None
            continue
        task_index, indices, lease = task
        if init_error is not None:
            result_pipe.send((task_index, init_error, None, False))
            continue
        try:
            batch = fetch(setup, stream, indices)
            if isinstance(batch, IterableEnd):
                result_pipe.send((task_index, batch, None, False))
                continue
            skeleton, name, created = blocks.pack(batch, lease)
        except ItemError as failure:
            where = f"{setup.worker_id} (while loading dataset index {failure.index})"
            result_pipe.send((task_index, WorkerError(failure.error, where), None, False))
            continue
        except Exception as error:
            where = f"{setup.worker_id} (batch of indices {describe_indices(indices, setup.is_iterable)})"
            result_pipe.send((task_index, WorkerError(error, where), None, False))
            continue
        result_pipe.send((task_index, skeleton, name, created))


def describe_indices(indices: Any, is_iterable: bool) -> str:
    if is_iterable:
        return "from the IterableDataset's stream"
    if isinstance(indices, list | tuple) and len(indices) > 8:
        return f"[{', '.join(map(str, indices[:8]))}, ...] ({len(indices)} in all)"
    return str(list(indices) if isinstance(indices, tuple) else indices)
