"""`DistributedDataParallel`: one model per process, gradients averaged over all processes during backward.

At construction rank 0's parameters and buffers are broadcast, so every rank starts from the same weights.
The parameters are packed, in reverse order (the order backward produces their gradients), into buckets of
about `bucket_cap_mb` MiB (the first bucket 1 MiB, as PyTorch's, so communication starts early). Every
parameter has a post-accumulate-grad hook: when backward has accumulated its gradient, the gradient is copied
into its bucket, and when a bucket is full it is summed over the ranks with a non-blocking `Iallreduce`
while backward goes on with the layers below. Buckets start in order (0, 1, 2, …) on every rank, as MPI needs.
When the last bucket has started, the hook waits for all of them and writes g ← Σ_ranks g_rank / world_size
back into each `.grad`, so a plain `loss.backward(); optimizer.step()` steps with the averaged gradient.

A parameter that got no gradient in a backward (unused in forward) leaves its bucket unfinished; then call
`finish_gradient_synchronization()` before the step (the trainer always does): it contributes zeros for it.
`no_sync()` skips the averaging for the backward passes of the forwards inside it (gradient accumulation);
the first backward after it averages the accumulated gradients. With `broadcast_buffers` (the default, as
PyTorch's), rank 0's buffers (batch-norm running statistics) are broadcast at every forward.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnkit.autograd import is_grad_enabled
from cnnkit.distributed import comm
from cnnkit.nn.module import Module
from cnnkit.tensor import Tensor

FIRST_BUCKET_BYTES = 1 << 20  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES


@dataclass
class Bucket:
    """Parameters whose gradients travel together in one flat float buffer."""

    params: list[Tensor]
    offsets: list[int]
    flat: np.ndarray
    ready: int = 0
    work: comm.Work | None = None
    done: set[int] = field(default_factory=set)  # id() of the parameters already copied in


def plan_buckets(params: list[Tensor], cap_bytes: int, first_bytes: int = FIRST_BUCKET_BYTES) -> list[list[Tensor]]:
    """Split `params` (already in reverse order) into consecutive groups, a group closed once it reaches its cap;
    a parameter never straddles two buckets, and parameters of different dtypes never share one."""
    groups: list[list[Tensor]] = []
    current: list[Tensor] = []
    size = 0
    for p in params:
        if current and p.dtype != current[0].dtype:
            groups.append(current)
            current, size = [], 0
        current.append(p)
        size += p._data.nbytes
        if size >= (min(first_bytes, cap_bytes) if not groups else cap_bytes):
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    return groups


def _make_bucket(params: list[Tensor]) -> Bucket:
    offsets = np.cumsum([0] + [p._data.size for p in params]).tolist()
    return Bucket(params, offsets, np.zeros(offsets[-1], dtype=params[0].dtype))


def _weak_hook(ddp: DistributedDataParallel):
    """The gradient hook, holding the wrapper weakly: a wrapper that is gone no longer reacts to its parameters."""
    ref = weakref.ref(ddp)

    def hook(param: Tensor) -> None:
        wrapper = ref()
        if wrapper is not None:
            wrapper._grad_ready(param)

    return hook


class DistributedDataParallel(Module):
    """DistributedDataParallel(module, broadcast_buffers=True, bucket_cap_mb=25): data-parallel training over MPI.

    Call `cnnkit.distributed.init()` first (under `mpirun`). The wrapped model is `.module`; save its
    `state_dict()` to get checkpoints without the `module.` prefix.
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        bucket_cap_mb: float = 25,
    ) -> None:
        super().__init__()
        if device_ids is not None or output_device is not None or dim != 0:
            raise ValueError(
                "DistributedDataParallel: cnnkit runs on the CPU; device_ids and output_device must be "
                f"None and dim 0, got device_ids={device_ids!r}, output_device={output_device!r}, "
                f"dim={dim!r}"
            )
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a cnnkit nn.Module, got {type(module).__name__}")
        comm.init()
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = bucket_cap_mb
        self.world_size = comm.world_size()
        self.require_backward_grad_sync = True
        self._sync_this_backward = False
        # idle → reducing (from the first gradient of a synchronised backward) → done (averages written)
        self._sync_state = "idle"
        self._broadcast_from_rank0()
        params = [p for p in module.parameters() if p.requires_grad]
        groups = plan_buckets(params[::-1], int(bucket_cap_mb * (1 << 20)))
        self.buckets = [_make_bucket(group) for group in groups]
        self._slot = {id(p): (b, i) for b, bucket in enumerate(self.buckets) for i, p in enumerate(bucket.params)}
        self._next_bucket = 0
        self.started_early, self.wait_seconds = 0, 0.0  # overlap of this iteration; total seconds spent waiting
        self._handles = [p.register_post_accumulate_grad_hook(_weak_hook(self)) for p in params]

    # ----------------------------------------------------------------- state kept equal on every rank
    def _broadcast_from_rank0(self) -> None:
        """Rank 0's parameters and buffers, broadcast to every rank (one Bcast per dtype)."""
        tensors = list(self.module.parameters()) + [b for b in self.module.buffers() if b is not None]
        self._broadcast_coalesced(tensors)

    def _broadcast_coalesced(self, tensors: list[Tensor]) -> None:
        for dtype in sorted({t.dtype.str for t in tensors}):
            group = [t for t in tensors if t.dtype.str == dtype]
            flat = np.concatenate([t._data.reshape(-1) for t in group])
            comm.broadcast(flat, 0)
            start = 0
            for t in group:
                t._data[...] = flat[start : start + t._data.size].reshape(t.shape)
                start += t._data.size

    def __getattr__(self, name: str) -> Any:
        """Attributes the wrapper lacks come from the wrapped module (task code may call e.g. `model.detect`)."""
        try:
            return super().__getattr__(name)
        except AttributeError:
            module = self.__dict__.get("_modules", {}).get("module")
            if module is None:
                raise
            return getattr(module, name)

    # ----------------------------------------------------------------- forward
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self._sync_state == "reducing":
            raise RuntimeError(
                "DistributedDataParallel: the previous backward did not finish averaging gradients "
                f"(bucket {self._next_bucket} of {len(self.buckets)} never filled: some parameter got "
                "no gradient); call finish_gradient_synchronization() before optimizer.step()"
            )
        if self.broadcast_buffers and self.world_size > 1:
            buffers = [b for b in self.module.buffers() if b is not None]
            if buffers:
                self._broadcast_coalesced(buffers)
        self._sync_this_backward = self.require_backward_grad_sync and is_grad_enabled() and self.world_size > 1
        self._reset_buckets()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward only accumulates local gradients; the first synchronised backward averages them."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ----------------------------------------------------------------- gradient averaging
    def _reset_buckets(self) -> None:
        for bucket in self.buckets:
            bucket.ready, bucket.work = 0, None
            bucket.done.clear()
        self._next_bucket, self._sync_state = 0, "idle"
        self.started_early = 0  # buckets started while backward still had gradients to produce (overlap)

    def _grad_ready(self, param: Tensor) -> None:
        """Post-accumulate hook: copy the gradient into its bucket; start every bucket that is full, in order."""
        if not self._sync_this_backward:
            return
        b, i = self._slot[id(param)]
        bucket = self.buckets[b]
        if self._sync_state == "done" or id(param) in bucket.done:
            raise RuntimeError(
                "DistributedDataParallel: a parameter's gradient arrived twice in one iteration (a "
                "second backward without a new forward); run forward again before each backward"
            )
        self._sync_state = "reducing"
        bucket.flat[bucket.offsets[i] : bucket.offsets[i + 1]] = param.grad._data.reshape(-1)
        bucket.done.add(id(param))
        bucket.ready += 1
        self._launch_full_buckets()
        if self._next_bucket == len(self.buckets):
            self.finish_gradient_synchronization()
        else:
            self._progress()

    def _launch_full_buckets(self) -> None:
        while self._next_bucket < len(self.buckets):
            bucket = self.buckets[self._next_bucket]
            if bucket.ready < len(bucket.params):
                return
            bucket.flat *= bucket.flat.dtype.type(1 / self.world_size)  # average = Σ (g / W): PyTorch divides first
            bucket.work = comm.all_reduce(bucket.flat, "sum", async_op=True)
            self._next_bucket += 1
            self.started_early += self._next_bucket < len(self.buckets)

    def _progress(self) -> None:
        """Let MPI move the started reductions on: Open MPI advances non-blocking collectives only inside MPI calls."""
        for bucket in self.buckets[: self._next_bucket]:
            if not bucket.work.is_completed():
                return

    def finish_gradient_synchronization(self) -> None:
        """Start the buckets not yet started (a parameter without a gradient in this backward contributes its
        current `.grad`, or zeros), wait for all, and write the averages into `.grad`.

        Does nothing when no averaging is under way (inside no_sync, a world of one, or already finished)."""
        if self._sync_state != "reducing":
            return
        for bucket in self.buckets[self._next_bucket :]:
            for i, p in enumerate(bucket.params):
                if id(p) not in bucket.done:
                    piece = bucket.flat[bucket.offsets[i] : bucket.offsets[i + 1]]
                    piece[...] = 0 if p.grad is None else p.grad._data.reshape(-1)
                    bucket.done.add(id(p))
            bucket.ready = len(bucket.params)
        self._launch_full_buckets()
        start = time.perf_counter()
        for bucket in self.buckets:
            bucket.work.wait()
            for i, p in enumerate(bucket.params):
                average = bucket.flat[bucket.offsets[i] : bucket.offsets[i + 1]].reshape(p.shape)
                if p.grad is None:
                    p.grad = Tensor(average.copy(), dtype=p.dtype)
                else:
                    p.grad._data[...] = average
            bucket.work = None
        self.wait_seconds += time.perf_counter() - start
        self._sync_state = "done"

    def extra_repr(self) -> str:
        sizes = ", ".join(f"{b.flat.nbytes / 2**20:.2f}" for b in self.buckets)
        return f"world_size={self.world_size}, buckets (MiB, backward order)=[{sizes}]"
