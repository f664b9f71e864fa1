"""`cnnkit.accelerator`: PyTorch's accelerator queries, answered for a CPU-only build (there is none)."""

from __future__ import annotations

from typing import Any


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False) -> Any:
    return None


def device_count() -> int:
    return 0
