"""The IDX file format (MNIST and its look-alikes), gzipped or not, read whole or refused whole.

Reads are bounded: the header is read from the stream first and the size it declares is checked (against
`MAX_IDX_BYTES`, and a gzip file against its compressed size) before exactly that many bytes are decompressed.

Layout: 4 magic bytes `00 00 <type> <ndim>`, then `ndim` big-endian uint32 sizes, then the values,
big-endian, row-major. Images are magic 0x00000803 (uint8, 3 dims), labels 0x00000801 (uint8, 1 dim).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

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

# Bounds checked against the header before any data is read: the largest array an IDX file may describe, and
# for a gzipped file larger than RATIO_CHECK_BYTES, the largest expansion over its compressed size. Real IDX
# files compress about 2-10×; deflate's ceiling is ~1032×, which only a bomb of repeated bytes approaches.
MAX_IDX_BYTES = 4 << 30
MAX_GZIP_RATIO = 100
RATIO_CHECK_BYTES = 64 << 20
_CHUNK = 1 << 20


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, gunzipped when it is a gzip stream (detected by content, not by name).

    Unbounded: for IDX files use `read_idx`, which reads the header first and then only the bytes it promises.
    """
    path = Path(path)
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetFormatError(f"{path}: corrupt or truncated gzip stream ({error})") from None


def _read_up_to(stream: BinaryIO, n: int) -> bytes:
    """At most n bytes (fewer only at the end of the stream)."""
    parts, got = [], 0
    while got < n:
        part = stream.read(min(n - got, _CHUNK))
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_header(stream: BinaryIO, name: str, expected_magic: int | None) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and shape declared by the magic number and the dimension sizes; nothing else is read."""
    magic_bytes = _read_up_to(stream, 4)
    if len(magic_bytes) < 4:
        raise DatasetFormatError(f"IDX file {name}: only {len(magic_bytes)} bytes, too short for the 4-byte "
                                 "magic number")
    magic = int.from_bytes(magic_bytes, "big")
    if expected_magic is not None and magic != expected_magic:
        raise DatasetFormatError(f"IDX file {name}: wrong magic number 0x{magic:08X}, expected 0x{expected_magic:08X}")
    zeros, type_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zeros != 0 or type_code not in IDX_TYPES or ndim == 0:
        raise DatasetFormatError(f"IDX file {name}: 0x{magic:08X} is not an IDX magic number")
    dims = _read_up_to(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise DatasetFormatError(f"IDX file {name}: truncated header ({4 + len(dims)} bytes, need {4 + 4 * ndim} "
                                 f"for {ndim} dimensions)")
    shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
    return IDX_TYPES[type_code], shape


def _data_size(dtype: np.dtype, shape: tuple[int, ...], name: str, compressed: int | None, max_bytes: int) -> int:
    """The bytes the header promises (exact Python integers: no overflow), refused when implausibly large."""
    size = math.prod(shape) * dtype.itemsize
    if size > max_bytes:
        raise DatasetFormatError(f"IDX file {name}: the header declares shape {shape}, {size:,} bytes of data, more "
                                 f"than the {max_bytes:,} bytes cnnkit reads from one IDX file; the file is corrupt "
                                 "or hostile")
    if compressed is not None and size > RATIO_CHECK_BYTES and size > compressed * MAX_GZIP_RATIO:
        raise DatasetFormatError(f"IDX file {name}: the header declares {size:,} bytes of data, {size // compressed:,}"
                                 f" times the {compressed:,}-byte gzip file (real IDX data compresses at most "
                                 f"{MAX_GZIP_RATIO}×); refusing a likely decompression bomb")
    return size


def _read_data(stream: BinaryIO, size: int, shape: tuple[int, ...], name: str) -> bytearray:
    """Exactly `size` bytes into one preallocated buffer; refuse fewer, and refuse any byte after them."""
    data = bytearray(size)
    view, got = memoryview(data), 0
    while got < size:
        n = stream.readinto(view[got: got + _CHUNK])
        if not n:
            raise DatasetFormatError(f"IDX file {name}: truncated: the header promises shape {shape} "
                                     f"({size} bytes of data) but only {got} bytes follow")
        got += n
    extra = len(_read_up_to(stream, _CHUNK))  # bounded: a bomb's trailing data is never inflated whole
    if extra:
        count = f"{extra}" if extra < _CHUNK else f"more than {_CHUNK - 1}"
        raise DatasetFormatError(f"IDX file {name}: {count} bytes of trailing garbage after the "
                                 f"{size} bytes of data promised by shape {shape}")
    return data


def _read_stream(stream: BinaryIO, name: str, expected_magic: int | None, compressed: int | None,
                 max_bytes: int) -> np.ndarray:
    dtype, shape = _read_header(stream, name, expected_magic)
    size = _data_size(dtype, shape, name, compressed, max_bytes)
    # the bytearray is writable and becomes the array without a second copy; astype only when not native uint8
    array = np.frombuffer(_read_data(stream, size, shape, name), dtype=dtype).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def parse_idx(buffer: bytes, name: str = "<buffer>", expected_magic: int | None = None,
              max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Decode a whole IDX buffer into a native-endian array; refuse bad magic, truncation and trailing bytes."""
    return _read_stream(io.BytesIO(buffer), name, expected_magic, None, max_bytes)


def read_idx(path: str | os.PathLike, expected_magic: int | None = None, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into an array; `expected_magic` pins the type and number of dims.

    Bounded: the header is read first, the size it promises is checked (at most `max_bytes`, and for gzip at most
    `MAX_GZIP_RATIO` times the compressed file), then exactly that many bytes are decompressed.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            return _read_stream(raw, str(path), expected_magic, None, max_bytes)
        try:
            with gzip.GzipFile(fileobj=raw) as stream:
                return _read_stream(stream, str(path), expected_magic, os.fstat(raw.fileno()).st_size, max_bytes)
        except (OSError, EOFError, zlib.error) as error:
            raise DatasetFormatError(f"{path}: corrupt or truncated gzip stream ({error})") from None


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
