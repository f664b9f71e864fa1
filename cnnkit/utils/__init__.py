"""`cnnkit.utils`: PyTorch's `torch.utils` counterparts; `cnnkit.utils.data` holds the dataset and loader API."""

from cnnkit.utils import data

__all__ = ["data"]
