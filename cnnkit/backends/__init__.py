"""`cnnkit.backends`: PyTorch's backend switches, accepted and ignored on the CPU (`cudnn`, `mps`)."""

from cnnkit.backends import cudnn, mps

__all__ = ["cudnn", "mps"]
