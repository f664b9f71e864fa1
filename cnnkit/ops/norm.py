"""Normalisation: batch, group, layer and local response norm (to be written)."""


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):  # noqa: A002
    raise NotImplementedError


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    raise NotImplementedError


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    raise NotImplementedError


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):  # noqa: A002
    raise NotImplementedError
