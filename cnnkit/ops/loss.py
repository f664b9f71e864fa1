"""Losses (to be written)."""


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0):  # noqa: A002
    raise NotImplementedError


def nll_loss(input, target, weight=None, ignore_index=-100, reduction='mean'):  # noqa: A002
    raise NotImplementedError


def mse_loss(input, target, reduction='mean'):  # noqa: A002
    raise NotImplementedError


def l1_loss(input, target, reduction='mean'):  # noqa: A002
    raise NotImplementedError


def binary_cross_entropy_with_logits(input, target, weight=None, reduction='mean', pos_weight=None):  # noqa: A002
    raise NotImplementedError
