"""`Parameter`: a Tensor that a Module registers as one of its learnable weights when assigned as an attribute."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.tensor import Tensor, _to_array


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and that `Module.__setattr__` registers.

    Built from a Tensor it shares that tensor's array and keeps its dtype (as `torch.nn.Parameter`);
    built from anything else it follows `cnnkit.tensor`'s rule (float64 data becomes float32).
    """

    __slots__ = ()  # Tensor uses __slots__; a Parameter adds no state of its own

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty(0, dtype=np.float32)
        elif isinstance(data, Tensor):
            array = data._data
        else:
            array = _to_array(data)
        super().__init__(array, requires_grad=requires_grad, dtype=array.dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: Any) -> Any:  # copy.deepcopy keeps the class and the flag
        return (_rebuild_parameter, (self._data, self.requires_grad))


def _rebuild_parameter(data: np.ndarray, requires_grad: bool) -> Parameter:
    return Parameter(Tensor(data, dtype=data.dtype), requires_grad)


def register_weight_and_bias(module: Any, weight: Tensor | None, bias: Tensor | None) -> None:
    """Register `weight` then `bias` on a layer as Parameters, or as None where the layer has none."""
    for name, value in (("weight", weight), ("bias", bias)):
        module.register_parameter(name, None if value is None else Parameter(value))
