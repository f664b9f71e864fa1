"""torch.utils.data.DataLoader: batches from a dataset, in the main process or in worker processes.

What an epoch visits: `batch_sampler` if given, else `BatchSampler(sampler, batch_size, drop_last)` where
`sampler` defaults to `RandomSampler(dataset, generator=generator)` when `shuffle`, else `SequentialSampler`;
`batch_size=None` turns batching off (each item goes through `default_convert`). An IterableDataset is read
as a stream instead, each worker iterating its own copy.

With `num_workers > 0`, worker processes (see `worker`) fetch and collate batches; at most
`prefetch_factor * num_workers` tasks are in flight; batches come back through shared memory (see `shared`)
and are yielded in the sampler's order (`in_order=False`: as they arrive). A worker's exception is raised in
the main process with its type, naming the worker and the dataset index; a worker that dies raises a
RuntimeError naming it, its exit code and the indices it was loading; `timeout` bounds the wait for one batch.
`persistent_workers` keeps the workers (and their seeds) from one epoch to the next. `pin_memory` and
`pin_memory_device` are accepted: on the CPU there is nothing to pin.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import multiprocessing.connection
import os
import time
from collections.abc import Callable, Iterator
from multiprocessing import resource_tracker
from typing import Any

import numpy as np

from cnnkit.random import Generator, numpy_generator
from cnnkit.utils.data import shared
from cnnkit.utils.data.collate import default_collate, default_convert
from cnnkit.utils.data.dataset import IterableDataset
from cnnkit.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from cnnkit.utils.data.worker import IterableEnd, Resume, WorkerError, WorkerSetup, worker_loop

POLL_SECONDS = 1.0
SHUTDOWN_SECONDS = 5.0


class InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: None forever (the dataset decides what comes next)."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


def check_arguments(dataset: Any, batch_size: int | None, shuffle: bool | None, sampler: Any, batch_sampler: Any,
                    num_workers: int, drop_last: bool, timeout: float, prefetch_factor: int | None,
                    persistent_workers: bool) -> None:
    """torch's argument checks, with its messages."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, int | np.integer) or num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing. Let num_workers > 0 "
                         "to enable multiprocessing, otherwise set prefetch_factor to None.")
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    if isinstance(dataset, IterableDataset):
        if shuffle not in (None, False):
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                             f"but got shuffle={shuffle}")
        if sampler is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, "
                             f"but got sampler={sampler}")
        if batch_sampler is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                             f"but got batch_sampler={batch_sampler}")
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
        raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                         "drop_last")
    if batch_size is None and drop_last:
        raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")


class DataLoader:
    """Iterate over `dataset` in batches: `for images, labels in DataLoader(train, batch_size=64, shuffle=True)`."""

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None, sampler: Any = None,
                 batch_sampler: Any = None, num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None, multiprocessing_context: Any = None,
                 generator: Generator | np.random.Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "", in_order: bool = True) -> None:
        check_arguments(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, drop_last, timeout,
                        prefetch_factor, persistent_workers)
        self.dataset = dataset
        self.num_workers = int(num_workers)
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None else prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.is_iterable = isinstance(dataset, IterableDataset)
        if self.is_iterable:
            sampler = InfiniteConstantSampler()
        elif sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self._iterator: MultiProcessIter | None = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def _draw_base_seed(self) -> int:
        """One 63-bit seed per iterator, drawn from the loader's generator (else the global one), as torch draws."""
        return int(numpy_generator(self.generator).integers(2**63))

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return SingleProcessIter(self)
        if not self.persistent_workers:
            return MultiProcessIter(self)
        if self._iterator is None or self._iterator.shutdown_done:  # first epoch, or after a worker failed
            self._iterator = MultiProcessIter(self)
        else:
            self._iterator.reset()
        return self._iterator

    def __len__(self) -> int:
        if self.is_iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"num_workers={self.num_workers})")


class SingleProcessIter:
    """Batches fetched in the main process."""

    def __init__(self, loader: DataLoader) -> None:
        self.loader = loader
        self.base_seed = loader._draw_base_seed()  # drawn even here, so shuffles match with and without workers
        self.sampler_iter = iter(loader._index_sampler)
        self.stream = iter(loader.dataset) if loader.is_iterable else None

    def __iter__(self) -> SingleProcessIter:
        return self

    def __len__(self) -> int:
        return len(self.loader)

    def __next__(self) -> Any:
        loader = self.loader
        indices = next(self.sampler_iter)
        if loader.is_iterable:
            return self.next_from_stream(indices)
        if not loader._auto_collation:
            return loader.collate_fn(loader.dataset[indices])
        if callable(getattr(loader.dataset, "__getitems__", None)):
            return loader.collate_fn(loader.dataset.__getitems__(list(indices)))
        return loader.collate_fn([loader.dataset[i] for i in indices])

    def next_from_stream(self, indices: Any) -> Any:
        if not self.loader._auto_collation:
            return self.loader.collate_fn(next(self.stream))
        items = list(itertools.islice(self.stream, len(indices)))
        if not items or (self.loader.drop_last and len(items) < len(indices)):
            raise StopIteration
        return self.loader.collate_fn(items)


def mp_context(choice: Any) -> Any:
    if choice is None:
        return multiprocessing.get_context()
    if isinstance(choice, str):
        return multiprocessing.get_context(choice)
    return choice


class MultiProcessIter:
    """Batches fetched by `num_workers` worker processes (see the module docstring)."""

    def __init__(self, loader: DataLoader) -> None:
        self.loader = loader
        self.workers: list[Any] = []
        self.index_pipes: list[Any] = []
        self.shutdown_done = False
        ctx = mp_context(loader.multiprocessing_context)
        self.readers: list[Any] = []
        self.inbox: collections.deque = collections.deque()  # answers read but not yet handled
        self.pool = shared.BlockPool(per_worker=loader.prefetch_factor + 1)
        base_seed = loader._draw_base_seed()
        collate = loader.collate_fn
        resource_tracker.ensure_running()  # started before the workers, so they share it (see `shared`)
        for worker_id in range(loader.num_workers):
            task_reader, task_writer = ctx.Pipe(duplex=False)  # pipes, not Queues: no feeder thread to wake
            setup = WorkerSetup(loader.dataset, loader.is_iterable, loader._auto_collation, collate,
                                loader.drop_last, base_seed, loader.worker_init_fn, worker_id, loader.num_workers)
            reader, writer = ctx.Pipe(duplex=False)  # one pipe per worker: its sends are synchronous
            process = ctx.Process(target=worker_loop, args=(setup, task_reader, writer, os.getpid()), daemon=True)
            process.start()
            writer.close()  # the worker holds the only writing end: its death reads as EOF
            task_reader.close()
            self.readers.append(reader)
            self.workers.append(process)
            self.index_pipes.append(task_writer)
        self.start_epoch()

    # ----------------------------------------------------------------- epochs
    def start_epoch(self) -> None:
        self.sampler_iter = iter(self.loader._index_sampler)
        self.active = [True] * len(self.workers)
        self.worker_cycle = itertools.cycle(range(len(self.workers)))
        self.task_info: dict[int, tuple[int, Any, Any]] = {}  # task -> (worker, indices, lent block) until answered
        self.results: dict[int, Any] = {}  # batches (already copied out of shared memory) or WorkerErrors
        self.ended: set[int] = set()
        self.send_idx = self.rcvd_idx = 0
        self.sampler_done = False
        for _ in range(self.loader.prefetch_factor * len(self.workers)):
            self.try_put_index()

    def reset(self) -> None:
        """A new epoch on the same (persistent) workers: drop what the last epoch left in flight."""
        while self.task_info:
            self.handle(self.get_result())
        self.results.clear()
        if self.loader.is_iterable:
            for index_pipe in self.index_pipes:
                index_pipe.send(Resume())
        self.start_epoch()

    def try_put_index(self) -> None:
        if self.sampler_done or not any(self.active):
            return
        try:
            indices = next(self.sampler_iter)
        except StopIteration:
            self.sampler_done = True
            return
        worker = next(w for w in self.worker_cycle if self.active[w])
        lease = self.pool.lease(worker)
        self.index_pipes[worker].send((self.send_idx, indices, lease))
        self.task_info[self.send_idx] = (worker, indices, lease)
        self.send_idx += 1

    # ----------------------------------------------------------------- receiving
    def get_result(self) -> tuple[int, Any, str | None, bool]:
        """The next answer from any worker, checking every second that the workers are alive; honours timeout."""
        timeout = self.loader.timeout
        deadline = time.monotonic() + timeout if timeout > 0 else None
        while not self.inbox:
            wait = POLL_SECONDS if deadline is None else max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
            self.receive(wait)
            if self.inbox:
                break
            self.check_workers_alive()
            if deadline is not None and time.monotonic() >= deadline:
                self.shutdown()
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting for a batch")
        return self.inbox.popleft()

    def receive(self, wait: float) -> None:
        """Read every answer that arrives within `wait` seconds into the inbox."""
        open_readers = [r for r in self.readers if not r.closed]
        for reader in multiprocessing.connection.wait(open_readers, timeout=wait):
            try:
                self.inbox.append(reader.recv())
            except (EOFError, OSError):  # the worker is gone; check_workers_alive says how
                reader.close()

    def check_workers_alive(self) -> None:
        for worker_id, process in enumerate(self.workers):
            if process.is_alive():
                continue
            self.collect_ready()  # what it answered before dying is not what it died on
            pending = [indices for w, indices, _ in self.task_info.values() if w == worker_id]
            shown = "; ".join(str(list(p)) for p in pending[:4]) + ("; ..." if len(pending) > 4 else "")
            what = ("" if not pending else "while it had a batch of the stream to load" if self.loader.is_iterable
                    else f"while loading dataset indices {shown} (unanswered batches, in order)")
            self.shutdown()
            raise RuntimeError(f"DataLoader worker {worker_id} (pid {process.pid}) exited unexpectedly with exit code "
                               f"{process.exitcode} {what}".rstrip())

    def collect_ready(self) -> None:
        """Handle every answer already sent."""
        self.receive(0.1)
        while self.inbox:
            self.handle(self.inbox.popleft())

    def handle(self, answer: tuple[int, Any, str | None, bool]) -> None:
        """File one answer: its batch copied out of shared memory into `results` (its block free again), or the
        worker's error, or the end of a worker's stream."""
        task, payload, name, created = answer
        worker, _, lease = self.task_info.pop(task)
        if isinstance(payload, IterableEnd):
            self.active[worker] = False
            self.ended.add(task)
            self.pool.give_back(worker, lease)
        elif isinstance(payload, WorkerError):
            self.results[task] = payload
            self.pool.give_back(worker, lease)
        else:
            self.results[task] = self.pool.receive(worker, payload, name, created, lease)

    def __iter__(self) -> MultiProcessIter:
        return self

    def __len__(self) -> int:
        return len(self.loader)

    def __next__(self) -> Any:
        while True:
            while self.rcvd_idx in self.ended:
                self.ended.discard(self.rcvd_idx)
                self.rcvd_idx += 1
            if self.loader.in_order and self.rcvd_idx in self.results:
                payload = self.results.pop(self.rcvd_idx)
                self.rcvd_idx += 1
                return self.deliver(payload)
            if not self.loader.in_order and self.results:
                return self.deliver(self.results.pop(next(iter(self.results))))
            if not self.task_info:
                self.end_epoch()
                raise StopIteration
            self.handle(self.get_result())

    def deliver(self, result: Any) -> Any:
        self.try_put_index()
        if isinstance(result, WorkerError):
            result.reraise()
        return result

    def end_epoch(self) -> None:
        if not self.loader.persistent_workers:
            self.shutdown()

    # ----------------------------------------------------------------- shutting down
    def shutdown(self) -> None:
        """Stop the workers (asking, then terminating stragglers) and unlink every batch not yet read."""
        if self.shutdown_done:
            return
        self.shutdown_done = True
        for index_pipe in self.index_pipes:
            try:
                index_pipe.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        while any(p.is_alive() for p in self.workers) and time.monotonic() < deadline:
            self.drain(0.05)  # keep reading, so no worker blocks on a full pipe while exiting
        for process in self.workers:
            if process.is_alive():
                process.terminate()
            process.join(timeout=1.0)
        self.drain(0.0)
        self.results.clear()
        self.pool.close()
        for reader in self.readers:
            reader.close()
        for index_pipe in self.index_pipes:
            index_pipe.close()

    def drain(self, wait: float) -> None:
        """Read and drop whatever the workers send within `wait` seconds (unlinking the blocks they made)."""
        self.receive(wait)
        while self.inbox:
            _, _, name, created = self.inbox.popleft()
            if created:
                shared.discard(name)

    def __del__(self) -> None:
        try:
            self.shutdown()
        except Exception:
            pass
