"""Activations, softmax and dropout (to be written)."""


def relu(input):  # noqa: A002
    raise NotImplementedError


def leaky_relu(input, negative_slope=0.01):  # noqa: A002
    raise NotImplementedError


def gelu(input, approximate='none'):  # noqa: A002
    raise NotImplementedError


def silu(input):  # noqa: A002
    raise NotImplementedError


def softmax(input, dim):  # noqa: A002
    raise NotImplementedError


def log_softmax(input, dim):  # noqa: A002
    raise NotImplementedError


def dropout(input, p=0.5, training=True):  # noqa: A002
    raise NotImplementedError


def dropout2d(input, p=0.5, training=True):  # noqa: A002
    raise NotImplementedError
