"""An allow-list unpickler: rebuilds tensors, NumPy arrays and plain containers from a pickle, and nothing else.

A pickle names the functions it calls (`GLOBAL module name`); an ordinary unpickler imports and calls any of
them, so a hostile file runs code. Here `find_class` answers only the names in `ALLOWED`, each mapped to a
stand-in of cnnkit's own that records its arguments; every other name is refused, by name, before anything
runs. The stand-ins are turned into arrays afterwards, checked first (shapes, strides, dtypes, byte counts).
Two users, as PyTorch's `weights_only=True` does for its files:

- `load_torch_zip(path)`: a `torch.save` checkpoint (a zip: `<name>/data.pkl` plus one raw file per storage
  under `<name>/data/`); tensors come back as cnnkit Tensors, bfloat16 widened to float32.
- `load_numpy_pickle(payload)`: a pickle of dicts, lists, strings and NumPy arrays of numbers (CIFAR's
  python batches); arrays come back as ndarrays. Object arrays are refused.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

NUMERIC_DTYPES = {"b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8", "c8", "c16", "?", "b",
                  "B", "h", "H", "i", "I", "l", "L", "q", "Q", "e", "f", "d"}

# torch storage class -> NumPy dtype of its elements (bfloat16: raw uint16, widened after reading)
TORCH_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
TORCH_DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "int64": np.int64,
                "int32": np.int32, "int16": np.int16, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_,
                "bfloat16": "bfloat16"}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asks for something outside the allow-list, or its tensors do not add up."""


# ----------------------------------------------------------------- stand-ins
class DTypeStub:
    """numpy.dtype(spec, align, copy): a plain numeric dtype only; its __setstate__ may set only the byte order."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = False) -> None:
        spec = spec.decode("latin1") if isinstance(spec, bytes) else spec
        if not isinstance(spec, str) or spec.lstrip("<>|=") not in NUMERIC_DTYPES:
            raise UnsafePickleError(f"refused numpy dtype {spec!r}: only plain numeric dtypes are allowed")
        self.dtype = np.dtype(spec)

    def __setstate__(self, state: tuple) -> None:
        order = state[1].decode("latin1") if isinstance(state[1], bytes) else state[1]
        if order not in "<>|=" or any(s not in (None, -1, 0) for s in state[2:]):
            raise UnsafePickleError("refused numpy dtype state: structured or sub-array dtypes are not allowed")
        if order in "<>":
            self.dtype = self.dtype.newbyteorder(order)


class NDArrayClass:
    """Stands for `numpy.ndarray` as the first argument of `_reconstruct`."""


class ArrayStub:
    """numpy's _reconstruct(ndarray, shape, dtype) followed by __setstate__((version, shape, dtype, fortran, raw))."""

    def __init__(self, subtype: Any = None, shape: Any = (0,), dtype: Any = b"b") -> None:
        if subtype is not NDArrayClass:
            raise UnsafePickleError("refused numpy _reconstruct of anything but numpy.ndarray")
        self.array: np.ndarray | None = None

    def __setstate__(self, state: tuple) -> None:
        if len(state) != 5:
            raise UnsafePickleError("refused numpy array state of unexpected length")
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, DTypeStub):
            raise UnsafePickleError("refused numpy array whose dtype is not a plain numeric dtype")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise UnsafePickleError(f"refused numpy array shape {shape!r}")
        raw = raw.encode("latin1") if isinstance(raw, str) else raw
        if not isinstance(raw, bytes | bytearray):
            raise UnsafePickleError("refused numpy array whose data is not raw bytes")
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.dtype.itemsize
        if len(raw) != expected:
            raise UnsafePickleError(f"numpy array of shape {shape} and dtype {dtype.dtype} needs {expected} bytes, "
                                    f"the pickle holds {len(raw)}")
        array = np.frombuffer(bytes(raw), dtype=dtype.dtype).reshape(shape, order="F" if fortran else "C")
        self.array = array.astype(dtype.dtype.newbyteorder("="), copy=True)


def numpy_frombuffer(raw: Any, dtype: Any, shape: Any, order: Any = "C") -> ArrayStub:
    """numpy._core.numeric._frombuffer(bytes, dtype, shape, order): how protocol 5 spells an array."""
    stub = ArrayStub(NDArrayClass)
    stub.__setstate__((1, tuple(shape) if isinstance(shape, list) else shape, dtype, order == "F",
                       bytes(raw) if isinstance(raw, bytearray | memoryview) else raw))
    return stub


def numpy_scalar(dtype: Any, raw: Any = b"") -> np.generic:
    """numpy.core.multiarray.scalar(dtype, raw bytes)."""
    if not isinstance(dtype, DTypeStub):
        raise UnsafePickleError("refused numpy scalar whose dtype is not a plain numeric dtype")
    raw = raw.encode("latin1") if isinstance(raw, str) else raw
    if not isinstance(raw, bytes) or len(raw) != dtype.dtype.itemsize:
        raise UnsafePickleError("refused numpy scalar of the wrong size")
    return np.frombuffer(raw, dtype=dtype.dtype)[0]


def codecs_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """_codecs.encode, as protocol-2 pickles spell bytes: only latin1 text."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


class Sealed:
    """A stand-in whose attributes a pickle's BUILD opcode must not set (the allow-list shares some of them)."""

    def __setstate__(self, state: Any) -> None:
        raise UnsafePickleError(f"refused to set the state of {type(self).__name__}")


class TensorStub(Sealed):
    """torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks, ...)."""

    def __init__(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                 hooks: Any = None, metadata: Any = None) -> None:
        if not isinstance(storage, StorageRef):
            raise UnsafePickleError("refused tensor rebuilt from something that is not a storage")
        ints = (offset, *size, *stride)
        if not all(isinstance(n, int) and n >= 0 for n in ints) or len(size) != len(stride):
            raise UnsafePickleError(f"refused tensor with offset {offset}, size {size}, stride {stride}")
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)
        self.requires_grad = bool(requires_grad)


def rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any) -> TensorStub:
    """torch._utils._rebuild_tensor (older files)."""
    return TensorStub(storage, offset, size, stride)


def rebuild_parameter(data: Any, requires_grad: Any, hooks: Any = None, *state: Any) -> TensorStub:
    """torch._utils._rebuild_parameter(tensor, requires_grad, hooks)."""
    if not isinstance(data, TensorStub):
        raise UnsafePickleError("refused parameter rebuilt from something that is not a tensor")
    data.requires_grad = bool(requires_grad)
    return data


class StorageClass(Sealed):
    """Stands for a `torch.<Type>Storage` class named in a persistent id."""

    def __init__(self, name: str) -> None:
        self.dtype = TORCH_STORAGES[name]


class TorchDType(Sealed):
    """Stands for a `torch.<dtype>` object (newer files name the storage's dtype with it)."""

    def __init__(self, name: str) -> None:
        self.dtype = TORCH_DTYPES[name]


class StorageRef(Sealed):
    """A storage: the zip entry holding its bytes, its element dtype and count."""

    def __init__(self, key: str, dtype: Any, numel: int) -> None:
        self.key, self.dtype, self.numel = key, dtype, numel


def make_ordered_dict(*args: Any) -> collections.OrderedDict:
    if args:
        raise UnsafePickleError("refused OrderedDict built with arguments")
    return collections.OrderedDict()


NUMPY_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): ArrayStub,
    ("numpy._core.multiarray", "_reconstruct"): ArrayStub,
    ("numpy.core.multiarray", "scalar"): numpy_scalar,
    ("numpy._core.multiarray", "scalar"): numpy_scalar,
    ("numpy.core.numeric", "_frombuffer"): numpy_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): numpy_frombuffer,
    ("numpy", "ndarray"): NDArrayClass,
    ("numpy", "dtype"): DTypeStub,
    ("_codecs", "encode"): codecs_encode,
    ("collections", "OrderedDict"): make_ordered_dict,
}
TORCH_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): TensorStub,
    ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("collections", "OrderedDict"): make_ordered_dict,
    ("_codecs", "encode"): codecs_encode,
    **{("torch", name): StorageClass(name) for name in TORCH_STORAGES},
    **{("torch", name): TorchDType(name) for name in TORCH_DTYPES},
}


class AllowListUnpickler(pickle.Unpickler):
    """Resolves only the names of `allowed`; `persistent_load` resolves torch storages when given `storages`."""

    def __init__(self, file: Any, allowed: dict[tuple[str, str], Any], source: str, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self.allowed, self.source = allowed, source

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise UnsafePickleError(f"{self.source}: refused to load {module}.{name}: only tensors, arrays, numbers, "
                                    f"strings and plain containers are rebuilt (nothing in a pickle is run)")
        return found

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise UnsafePickleError(f"{self.source}: refused persistent id {pid!r:.80}")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, StorageClass | TorchDType) or not isinstance(key, str) or not isinstance(numel, int):
            raise UnsafePickleError(f"{self.source}: refused storage reference {pid!r:.80}")
        return StorageRef(key, kind.dtype, numel)


# ----------------------------------------------------------------- plain NumPy pickles
def resolve(obj: Any, leaf: Any) -> Any:
    """obj with every stand-in replaced by `leaf(stub)`, through dicts, lists and tuples."""
    if isinstance(obj, ArrayStub | TensorStub):
        return leaf(obj)
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = resolve(v, leaf)
        return out
    if isinstance(obj, list):
        return [resolve(v, leaf) for v in obj]
    if isinstance(obj, tuple):
        return tuple(resolve(v, leaf) for v in obj)
    if isinstance(obj, DTypeStub | StorageRef | StorageClass | TorchDType):
        raise UnsafePickleError("a dtype or storage appears outside an array")
    return obj


def array_of(stub: Any) -> np.ndarray:
    if not isinstance(stub, ArrayStub) or stub.array is None:
        raise UnsafePickleError("an array was never given its data")
    return stub.array


def load_numpy_pickle(payload: bytes, source: str = "<pickle>", encoding: str = "latin1") -> Any:
    """The dicts, lists, strings, numbers and numeric ndarrays of a pickle (CIFAR's python batches)."""
    unpickler = AllowListUnpickler(io.BytesIO(payload), NUMPY_ALLOWED, source, encoding=encoding)
    try:
        return resolve(unpickler.load(), array_of)
    except UnsafePickleError as error:
        raise UnsafePickleError(str(error) if str(error).startswith(source) else f"{source}: {error}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise UnsafePickleError(f"{source}: not a readable pickle ({type(error).__name__}: {error})") from None


# ----------------------------------------------------------------- torch.save zip files
def storage_array(archive: zipfile.ZipFile, prefix: str, ref: StorageRef, source: str,
                  byteorder: str) -> np.ndarray:
    """The storage's elements as a 1-D array, its byte count checked against its element count first."""
    raw_dtype = np.dtype(np.uint16) if ref.dtype == "bfloat16" else np.dtype(ref.dtype)
    name = f"{prefix}data/{ref.key}"
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise UnsafePickleError(f"{source}: storage {ref.key} is missing from the archive") from None
    if info.file_size != ref.numel * raw_dtype.itemsize:
        raise UnsafePickleError(f"{source}: storage {ref.key} should hold {ref.numel} values of {raw_dtype} "
                                f"({ref.numel * raw_dtype.itemsize} bytes), it holds {info.file_size} bytes")
    array = np.frombuffer(archive.read(name), dtype=raw_dtype.newbyteorder("<" if byteorder == "little" else ">"))
    array = array.astype(raw_dtype, copy=False)
    if ref.dtype == "bfloat16":  # bfloat16 is the top half of a float32
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


def tensor_array(stub: TensorStub, storage: np.ndarray, source: str) -> np.ndarray:
    """The strided view of the storage the tensor describes, bounds-checked, as a contiguous copy."""
    last = stub.offset + sum((n - 1) * s for n, s in zip(stub.size, stub.stride, strict=True)) if all(stub.size) else 0
    if any(n == 0 for n in stub.size):
        return np.zeros(stub.size, dtype=storage.dtype)
    if last >= storage.size:
        raise UnsafePickleError(f"{source}: a tensor of size {stub.size} and stride {stub.stride} at offset "
                                f"{stub.offset} reaches past its storage of {storage.size} values")
    base = storage[stub.offset:]
    strides = tuple(s * storage.itemsize for s in stub.stride)
    return np.lib.stride_tricks.as_strided(base, shape=stub.size, strides=strides, writeable=False).copy()


def load_torch_zip(path: str | os.PathLike | io.IOBase, widened: dict[int, str] | None = None) -> Any:
    """A `torch.save` zip checkpoint, read without PyTorch: dicts, lists, numbers, strings and cnnkit Tensors.

    `widened`, when given, receives id(tensor) → the stored dtype name of every tensor widened to float32
    (bfloat16, which NumPy cannot hold), so that a caller can say which tensors it converted."""
    from cnnkit.tensor import Tensor

    source = str(path) if not hasattr(path, "read") else "<file object>"
    try:
        archive = zipfile.ZipFile(path if not isinstance(path, str | Path) else Path(path))
    except zipfile.BadZipFile as error:
        raise UnsafePickleError(f"{source}: not a PyTorch zip checkpoint ({error})") from None
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise UnsafePickleError(f"{source}: expected one <name>/data.pkl in the archive, found {len(pickles)}")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = "little"
        if f"{prefix}byteorder" in archive.namelist():
            byteorder = archive.read(f"{prefix}byteorder").decode("ascii", "replace").strip()
        unpickler = AllowListUnpickler(io.BytesIO(archive.read(pickles[0])), TORCH_ALLOWED, source,
                                       encoding="utf-8")
        try:
            tree = unpickler.load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
            raise UnsafePickleError(f"{source}: not a readable checkpoint ({type(error).__name__}: {error})") from None
        storages: dict[str, np.ndarray] = {}

        def leaf(stub: Any) -> Tensor:
            if not isinstance(stub, TensorStub):
                raise UnsafePickleError(f"{source}: a numpy array inside a torch checkpoint")
            key = stub.storage.key
            if key not in storages:
                storages[key] = storage_array(archive, prefix, stub.storage, source, byteorder)
            array = tensor_array(stub, storages[key], source)
            grad = stub.requires_grad and array.dtype.kind == "f"
            tensor = Tensor(array, dtype=array.dtype, requires_grad=grad)
            if widened is not None and stub.storage.dtype == "bfloat16":
                widened[id(tensor)] = "bfloat16"
            return tensor

        try:
            return resolve(tree, leaf)
        except (AttributeError, TypeError, ValueError) as error:  # a stand-in built without its arguments
            raise UnsafePickleError(f"{source}: malformed tensor record ({type(error).__name__}: {error})") from None
