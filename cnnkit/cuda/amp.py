"""`cnnkit.cuda.amp`: PyTorch's older spelling of `cnnkit.amp` (`GradScaler`, `autocast`), changing nothing.

See cnnkit/amp.py: float32 stays float32 and the scaler behaves as PyTorch's disabled one.
"""

from __future__ import annotations

from typing import Any

from cnnkit import amp as _amp


class GradScaler(_amp.GradScaler):
    """`GradScaler(init_scale=65536.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000, enabled=True)`."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


class autocast(_amp.autocast):  # noqa: N801 - PyTorch's name
    """`autocast(enabled=True, dtype=torch.float16, cache_enabled=True)`: float32 stays float32."""

    def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True) -> None:
        super().__init__("cuda", dtype, enabled, cache_enabled)
