"""`cnnkit.cuda`: what PyTorch's CPU-only build answers. There is no GPU: `is_available()` is False.

The seeding and synchronising calls that training scripts make unconditionally do nothing; asking for a CUDA
device (`current_device`, `get_device_name`, `device(...)`) raises the one clear error of `cnnkit.device`.
`cnnkit.cuda.amp` holds PyTorch's older spelling of `cnnkit.amp`.
"""

from __future__ import annotations

from typing import Any

from cnnkit.cuda import amp  # noqa: F401 - cnnkit.cuda.amp.GradScaler, as torch.cuda.amp
from cnnkit.device import device as _device


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """No GPU generator to seed (cnnkit.manual_seed seeds the CPU one)."""


def manual_seed_all(seed: int) -> None:
    """No GPU generator to seed."""


def synchronize(device: Any = None) -> None:
    """Nothing runs asynchronously on the CPU."""


def empty_cache() -> None:
    """No GPU memory cache to empty."""


def current_device() -> int:
    _device("cuda")
    return 0  # not reached: device("cuda") raises


def get_device_name(device: Any = None) -> str:
    _device("cuda")
    return ""  # not reached


def device(index: Any) -> Any:
    return _device("cuda" if isinstance(index, int) else index)
