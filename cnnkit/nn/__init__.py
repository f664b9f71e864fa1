"""`cnnkit.nn`: layers as modules (to be filled in) and the functional API."""

from cnnkit.nn import functional

__all__ = ["functional"]
