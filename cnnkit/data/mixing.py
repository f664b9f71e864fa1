"""Batch mixing for classification: MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019), as torchvision's v2.

Both take a batch (images (B, C, H, W) float, labels (B,) class indices) and return the mixed images and soft
labels (B, num_classes) float, the targets that `cross_entropy` takes as class probabilities. Each image is mixed
with its neighbour in the batch (the batch rolled by one, so image b takes image b − 1), by one λ ~ Beta(α, α)
drawn for the whole batch:

    MixUp:   x' = λ·x + (1 − λ)·x_rolled,                         y' = λ·onehot(y) + (1 − λ)·onehot(y_rolled)
    CutMix:  x' = x with a box pasted from x_rolled,              y' as MixUp's, with λ = 1 − box area / (H·W)

CutMix's box is centred at a uniform pixel (cx, cy) with half-sizes ⌊½·√(1 − λ)·W⌋ and ⌊½·√(1 − λ)·H⌋, clipped
to the image, so the λ of the labels is recomputed from the clipped box's area. `MixUpOrCutMix` picks one of the
two per batch, each with probability ½ (torchvision's reference recipe: `RandomChoice([MixUp, CutMix])`).

Draws (from the transform's own generator when given `seed=`, else cnnkit's global one): MixUp, λ; CutMix, λ, then
cx = `rng.integers(0, W)`, then cy = `rng.integers(0, H)`; MixUpOrCutMix, `rng.random() < 0.5` (MixUp) first.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from cnnkit.data.transforms import Seeded, as_batch, describe


class _Mixing(Seeded):
    def __init__(self, *, alpha: float = 1.0, num_classes: int, seed: int | None = None) -> None:
        super().__init__(seed)
        name = type(self).__name__
        if not isinstance(alpha, numbers.Real) or not 0 < alpha < np.inf:
            raise ValueError(f"{name}: alpha must be a positive finite number, got {alpha!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
            raise ValueError(f"{name}: num_classes must be a positive integer, got {num_classes!r}")
        self.alpha = float(alpha)
        self.num_classes = int(num_classes)

    def __call__(self, images: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
        batch, single = as_batch(images, type(self).__name__)
        if single:
            raise ValueError(f"{type(self).__name__}: expected a batch (B, C, H, W) to mix, got one image of shape "
                             f"{batch.shape[1:]}")
        targets = self.one_hot(labels, batch)
        lam = float(self.rng.beta(self.alpha, self.alpha))
        return self.mix(batch, targets, lam)

    def one_hot(self, labels: Any, batch: np.ndarray) -> np.ndarray:
        """The labels as (B, num_classes) probabilities of the images' dtype; indices out of range are refused."""
        labels = np.asarray(labels)
        name = type(self).__name__
        if labels.shape != (len(batch),) or labels.dtype.kind not in "iu":
            raise ValueError(f"{name}: expected integer class labels of shape ({len(batch)},), got dtype "
                             f"{labels.dtype} and shape {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"{name}: labels must be in [0, {self.num_classes}), got {labels.min()}..{labels.max()}")
        targets = np.zeros((len(batch), self.num_classes), dtype=batch.dtype)
        targets[np.arange(len(batch)), labels] = 1
        return targets

    def mix(self, batch: np.ndarray, targets: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return describe(self)


def mix_targets(targets: np.ndarray, lam: float) -> np.ndarray:
    """λ·targets + (1 − λ)·targets rolled by one along the batch."""
    out = np.roll(targets, 1, axis=0)
    out *= 1 - lam
    out += lam * targets
    return out


class MixUp(_Mixing):
    """Each image blended with its batch neighbour: x' = λ·x + (1 − λ)·x_rolled, labels likewise, λ ~ Beta(α, α)."""

    def mix(self, batch: np.ndarray, targets: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
        images = np.roll(batch, 1, axis=0)
        images *= batch.dtype.type(1 - lam)
        images += batch.dtype.type(lam) * batch
        return images, mix_targets(targets, lam)


class CutMix(_Mixing):
    """Each image with a box of its batch neighbour pasted in; labels weighted by the areas kept and pasted."""

    def box(self, lam: float, height: int, width: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the pasted box, clipped to the image."""
        cx, cy = int(self.rng.integers(0, width)), int(self.rng.integers(0, height))
        side = 0.5 * np.sqrt(1 - lam)
        half_w, half_h = int(side * width), int(side * height)
        return max(cy - half_h, 0), max(cx - half_w, 0), min(cy + half_h, height), min(cx + half_w, width)

    def mix(self, batch: np.ndarray, targets: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
        height, width = batch.shape[2:]
        top, left, bottom, right = self.box(lam, height, width)
        images = batch.copy()
        images[:, :, top:bottom, left:right] = np.roll(batch[:, :, top:bottom, left:right], 1, axis=0)
        kept = 1 - (bottom - top) * (right - left) / (height * width)
        return images, mix_targets(targets, kept)


class MixUpOrCutMix(Seeded):
    """MixUp or CutMix, one of them chosen per batch with probability ½ each; `None` for an α leaves that one out
    (then the other is applied to every batch)."""

    def __init__(self, *, mixup_alpha: float | None = 1.0, cutmix_alpha: float | None = 1.0, num_classes: int,
                 seed: int | None = None) -> None:
        super().__init__(seed)
        if mixup_alpha is None and cutmix_alpha is None:
            raise ValueError("MixUpOrCutMix: give mixup_alpha, cutmix_alpha or both")
        self.mixup = None if mixup_alpha is None else MixUp(alpha=mixup_alpha, num_classes=num_classes)
        self.cutmix = None if cutmix_alpha is None else CutMix(alpha=cutmix_alpha, num_classes=num_classes)
        # the two share this one's generator, so `seed=` makes the whole choice-and-mix sequence repeatable
        for mixer in (self.mixup, self.cutmix):
            if mixer is not None:
                mixer._generator = self._generator

    def __call__(self, images: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
        if self.mixup is None or self.cutmix is None:
            return (self.mixup or self.cutmix)(images, labels)
        return (self.mixup if self.rng.random() < 0.5 else self.cutmix)(images, labels)

    def __repr__(self) -> str:
        return f"MixUpOrCutMix(mixup={self.mixup!r}, cutmix={self.cutmix!r})"
