"""Pooling: max, average and adaptive pooling over strided taps (to be written)."""


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):  # noqa: A002
    raise NotImplementedError


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,  # noqa: A002
               divisor_override=None):
    raise NotImplementedError


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    raise NotImplementedError


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    raise NotImplementedError
