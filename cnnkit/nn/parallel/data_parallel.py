"""DataParallel on the CPU: a pass-through wrapper with torch's surface.

PyTorch splits each batch over GPUs; cnnkit has one device, the CPU, so `DataParallel(model)(x)` is
`model(x)`. The wrapper keeps torch's visible effects: the model is `.module`, and the state dict's names
carry the `module.` prefix, so checkpoints match the ones a DataParallel script writes under PyTorch.
For more cores or machines, see `cnnkit.distributed`.
"""

from __future__ import annotations

from typing import Any

from cnnkit.nn.module import Module


class DataParallel(Module):
    """DataParallel(module, device_ids=None, output_device=None, dim=0): forward calls `module`; as torch's on a
    machine without GPUs, `device_ids` are ignored."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected a cnnkit nn.Module, got {type(module).__name__}")
        self.module = module
        self.device_ids = []  # as torch's DataParallel without a GPU: the given ids are ignored
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
