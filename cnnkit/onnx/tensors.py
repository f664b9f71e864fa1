"""ONNX tensors and NumPy arrays: TensorProto ↔ ndarray, ONNX element types ↔ NumPy dtypes.

Only the element types a CNN uses are mapped (floats, integers, bool); the exotic ones (bfloat16, the 8-, 4-
and 2-bit floats and integers, strings, complex) raise an error naming the type, rather than being read as
something they are not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.onnx.dependency import require_onnx

# TensorProto.DataType numbers (onnx.proto3) → NumPy dtypes
_NUMPY_OF = {
    1: np.float32,
    2: np.uint8,
    3: np.int8,
    4: np.uint16,
    5: np.int16,
    6: np.int32,
    7: np.int64,
    9: np.bool_,
    10: np.float16,
    11: np.float64,
    12: np.uint32,
    13: np.uint64,
}
_ONNX_OF = {np.dtype(v): k for k, v in _NUMPY_OF.items()}


class UnsupportedTypeError(TypeError):
    """An ONNX element type that cnnkit does not compute with."""


def type_name(elem_type: int) -> str:
    """The ONNX name of an element type number, e.g. 16 → 'BFLOAT16'."""
    onnx = require_onnx()
    try:
        return onnx.TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"type {elem_type}"


def numpy_dtype(elem_type: int) -> np.dtype:
    """The NumPy dtype of an ONNX element type, or UnsupportedTypeError naming the type."""
    if elem_type not in _NUMPY_OF:
        raise UnsupportedTypeError(
            f"ONNX element type {type_name(elem_type)} is not supported by cnnkit "
            f"(supported: {', '.join(type_name(t) for t in _NUMPY_OF)})"
        )
    return np.dtype(_NUMPY_OF[elem_type])


def onnx_type(dtype: Any) -> int:
    """The ONNX element type number of a NumPy dtype."""
    dtype = np.dtype(dtype)
    if dtype not in _ONNX_OF:
        raise UnsupportedTypeError(f"NumPy dtype {dtype} has no ONNX element type that cnnkit writes")
    return _ONNX_OF[dtype]


def to_array(proto: Any, where: str = "") -> np.ndarray:
    """A TensorProto's values as a NumPy array of its own dtype (external data must already be loaded)."""
    onnx = require_onnx()
    numpy_dtype(proto.data_type)  # refuse exotic types before numpy_helper reinterprets them
    if proto.data_location == onnx.TensorProto.EXTERNAL:
        raise ValueError(f"{where}tensor {proto.name!r} keeps its data in an external file that was not loaded")
    return np.array(onnx.numpy_helper.to_array(proto), copy=True)


def from_array(array: np.ndarray, name: str) -> Any:
    """A TensorProto named `name` holding `array` (its dtype must have an ONNX type)."""
    onnx = require_onnx()
    array = np.asarray(array)
    onnx_type(array.dtype)
    return onnx.numpy_helper.from_array(np.ascontiguousarray(array), name=name)
