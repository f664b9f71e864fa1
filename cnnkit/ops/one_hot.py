"""one_hot: class indices → int64 indicator vectors, out[..., k] = 1 if x[...] == k else 0 (no gradient)."""

from __future__ import annotations

import numpy as np

from cnnkit.tensor import Tensor


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 (*, num_classes); num_classes=-1 means max(tensor) + 1, as torch.nn.functional.one_hot."""
    x = tensor.numpy() if isinstance(tensor, Tensor) else np.asarray(tensor)
    if x.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor, got dtype {x.dtype}")
    if x.size and x.min() < 0:
        raise RuntimeError("one_hot: class values must be non-negative")
    if num_classes == -1:
        if x.size == 0:
            raise RuntimeError("one_hot: can not infer total number of classes from empty tensor")
        num_classes = int(x.max()) + 1
    elif x.size and x.max() >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes ({num_classes}), "
                           f"got {int(x.max())}")
    out = (x[..., None] == np.arange(num_classes)).astype(np.int64)
    return Tensor(out, dtype=np.int64)
