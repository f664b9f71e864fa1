"""Padding: constant, reflect and replicate (to be written)."""


def pad(input, pad, mode='constant', value=0.0):  # noqa: A002
    raise NotImplementedError
