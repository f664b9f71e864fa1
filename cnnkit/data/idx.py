"""The IDX file format (MNIST and its look-alikes), gzipped or not, read whole or refused whole.

Layout: 4 magic bytes `00 00 <type> <ndim>`, then `ndim` big-endian uint32 sizes, then the values,
big-endian, row-major. Images are magic 0x00000803 (uint8, 3 dims), labels 0x00000801 (uint8, 1 dim).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from cnnkit.data.errors import DatasetFormatError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

# type byte -> NumPy dtype (big-endian, as the format stores it)
IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, gunzipped when it is a gzip stream (detected by content, not by name)."""
    path = Path(path)
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetFormatError(f"{path}: corrupt or truncated gzip stream ({error})") from None


def parse_idx(buffer: bytes, name: str = "<buffer>", expected_magic: int | None = None) -> np.ndarray:
    """Decode a whole IDX buffer into a native-endian array; refuse bad magic, truncation and trailing bytes."""
    if len(buffer) < 4:
        raise DatasetFormatError(f"IDX file {name}: only {len(buffer)} bytes, too short for the 4-byte magic number")
    magic = int.from_bytes(buffer[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise DatasetFormatError(f"IDX file {name}: wrong magic number 0x{magic:08X}, expected 0x{expected_magic:08X}")
    zeros, type_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zeros != 0 or type_code not in IDX_TYPES or ndim == 0:
        raise DatasetFormatError(f"IDX file {name}: 0x{magic:08X} is not an IDX magic number")
    header = 4 + 4 * ndim
    if len(buffer) < header:
        raise DatasetFormatError(f"IDX file {name}: truncated header ({len(buffer)} bytes, need {header} "
                                 f"for {ndim} dimensions)")
    shape = tuple(int.from_bytes(buffer[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(buffer) - header
    if actual < expected:
        raise DatasetFormatError(f"IDX file {name}: truncated: the header promises shape {shape} "
                                 f"({expected} bytes of data) but only {actual} bytes follow")
    if actual > expected:
        raise DatasetFormatError(f"IDX file {name}: {actual - expected} bytes of trailing garbage after the "
                                 f"{expected} bytes of data promised by shape {shape}")
    # bytearray -> a writable array without a second copy; astype only when the format is not native uint8
    array = np.frombuffer(bytearray(buffer[header:]), dtype=dtype).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into an array; `expected_magic` pins the type and number of dims."""
    return parse_idx(read_bytes(path), str(path), expected_magic)


def read_idx_images(path: str | os.PathLike) -> np.ndarray:
    """uint8 images (N, H, W) from an `*-images-idx3-ubyte[.gz]` file."""
    return read_idx(path, IMAGES_MAGIC)


def read_idx_labels(path: str | os.PathLike) -> np.ndarray:
    """uint8 labels (N,) from an `*-labels-idx1-ubyte[.gz]` file."""
    return read_idx(path, LABELS_MAGIC)


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of an array (the inverse of `parse_idx`), for writing test fixtures and converted data."""
    array = np.asarray(array)
    codes = {(dtype.kind, dtype.itemsize): code for code, dtype in IDX_TYPES.items()}
    code = codes.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise TypeError(f"encode_idx: dtype {array.dtype} has no IDX type code")
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(IDX_TYPES[code], copy=False).tobytes()
