"""Resampling: interpolate (nearest, bilinear) (to be written)."""


def interpolate(input, size=None, scale_factor=None, mode='nearest', align_corners=None):  # noqa: A002
    raise NotImplementedError
