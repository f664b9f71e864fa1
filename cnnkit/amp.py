"""Mixed precision, PyTorch's names: `cnnkit.amp.autocast` (also `cnnkit.autocast`) and `cnnkit.amp.GradScaler`.

cnnkit computes in float32 end to end on the CPU, so both are there for scripts to run unchanged and change
nothing: inside `autocast(...)` float32 stays float32 (PyTorch on a GPU would run some ops in float16), and
`GradScaler` behaves as PyTorch's does when it is disabled: `scale(loss)` returns the loss, `step(optimizer)`
calls `optimizer.step()`, `update()` does nothing, `get_scale()` is 1.0. Gradients are therefore never scaled,
so no overflow check is needed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


class autocast:  # noqa: N801 - PyTorch's name
    """`autocast(device_type, dtype=None, enabled=True, cache_enabled=None)`: a context manager and decorator that
    leaves every dtype as it is (float32 stays float32; see the module docstring)."""

    def __init__(self, device_type: str, dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise TypeError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = bool(enabled)

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper


class GradScaler:
    """`GradScaler(device='cuda', init_scale=65536.0, growth_factor=2.0, backoff_factor=0.5,
    growth_interval=2000, enabled=True)`, always in PyTorch's disabled behaviour (see the module docstring)."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._init_scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._enabled = False  # float32 gradients need no scaling

    def scale(self, outputs: Any) -> Any:
        return outputs

    def unscale_(self, optimizer: Any) -> None:
        return None

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: Any = None) -> None:
        return None

    def get_scale(self) -> float:
        return 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        return {}  # PyTorch's disabled scaler saves nothing

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        return None
