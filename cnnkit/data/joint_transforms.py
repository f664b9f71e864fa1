"""Joint transforms for dense tasks: an image and its mask and boxes are cropped, flipped and scaled together.

Each transform is called as `image, target = t(image, target)` with a float image (C, H, W) and a target that is
either a label mask (H, W) or a dict with any of: "mask" (H, W) label mask, "masks" (n, H, W) instance masks,
"boxes" (n, 4) xyxy in pixel edges (see `cnnkit.data.boxes`), and per-object arrays "labels",
"difficult", "iscrowd", "area" (n,). Other keys pass through untouched. Masks are resampled nearest-neighbour,
so they only ever hold values they had; images bilinearly (half-pixel centres, as `cnnkit.data.resample`).
Boxes move with the pixels: flipped as x → W − x, shifted by padding; when the target carries instance masks,
a crop or a resize recomputes each box as the tight box of its transformed mask (so boxes stay the tight boxes
of the visible pixels), else a crop shifts and clips the boxes and a resize scales them by the size ratios.
An object left empty (no mask pixel, or a box of zero width or height) is dropped with its per-object entries.
Padding fills the image with `fill` and label masks with 255 ("ignore"). Random transforms draw from their own
generator when given `seed=`, else from cnnkit's global one; each names its draws.
Datasets take these as `transforms=` (torchvision's name for a joint transform); `ImageOnly` wraps an
image-only transform (e.g. `transforms.Normalize`) for use inside a joint `Compose`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cnnkit.data.boxes import tight_boxes
from cnnkit.data.resample import resize_bilinear, resize_nearest
from cnnkit.data.transforms import Seeded, describe

IGNORE_INDEX = 255
PER_OBJECT = ("boxes", "labels", "masks", "difficult", "iscrowd", "area")


# ----------------------------------------------------------------------------------------------- target plumbing
def unpack(target: Any) -> tuple[dict[str, Any], bool]:
    """(target as a dict, whether it was a bare mask array)."""
    if isinstance(target, dict):
        return dict(target), False
    return {"mask": np.asarray(target)}, True


def repack(target: dict[str, Any], bare: bool) -> Any:
    return target["mask"] if bare else target


def check_image(image: Any, name: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"{name}: expected an image (C, H, W), got shape {image.shape}")
    return image


def check_sizes(image: np.ndarray, target: dict[str, Any], name: str) -> None:
    """Refuse a mask whose size differs from the image's: they could not stay aligned."""
    for key in ("mask", "masks"):
        if key in target and np.shape(target[key])[-2:] != image.shape[-2:]:
            raise ValueError(
                f"{name}: target {key!r} is {np.shape(target[key])[-2:]} but the image is "
                f"{image.shape[-2:]}; they must be the same size"
            )


def keep_objects(target: dict[str, Any], keep: np.ndarray) -> None:
    """Drop the objects where keep is False from every per-object array, in place."""
    for key in PER_OBJECT:
        if key in target:
            target[key] = np.asarray(target[key])[keep]


def refit_to_masks(target: dict[str, Any]) -> None:
    """Boxes (and area) from the instance masks after a crop or resize; objects whose mask emptied are dropped."""
    masks = np.asarray(target["masks"])
    if "boxes" in target:
        target["boxes"] = tight_boxes(masks.astype(bool))
    if "area" in target:
        target["area"] = masks.astype(bool).sum(axis=(-2, -1)).astype(np.float32)
    keep_objects(target, masks.reshape(len(masks), -1).any(axis=1))


def apply_to_sample(
    image: Any, target: Any, transform: Callable | None, target_transform: Callable | None, transforms: Callable | None
) -> tuple[Any, Any]:
    """torchvision's rule for datasets: `transform` on the image, `target_transform` on the target, `transforms`
    on both (a dataset refuses to be given `transforms` together with one of the others)."""
    if transform is not None:
        image = transform(image)
    if target_transform is not None:
        target = target_transform(target)
    if transforms is not None:
        image, target = transforms(image, target)
    return image, target


def check_transform_args(name: str, transform: Any, target_transform: Any, transforms: Any) -> None:
    if transforms is not None and (transform is not None or target_transform is not None):
        raise ValueError(f"{name}: pass either transforms= (joint) or transform= / target_transform=, not both")


# ----------------------------------------------------------------------------------------------- base classes
class JointTransform:
    """Base: `__call__(image, target)` checks the input and hands `apply` the image and the target as a dict."""

    def __call__(self, image: Any, target: Any) -> tuple[np.ndarray, Any]:
        name = type(self).__name__
        image = check_image(image, name)
        fields, bare = unpack(target)
        check_sizes(image, fields, name)
        image, fields = self.apply(image, fields)
        return image, repack(fields, bare)

    def apply(self, image: np.ndarray, target: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return describe(self)


class RandomJointTransform(Seeded, JointTransform):
    """A joint transform with randomness (`self.rng`: its own generator when seeded, else cnnkit's global one)."""


class Compose:
    """Apply joint transforms in order: `image, target = t(image, target)` for each."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Any, target: Any) -> tuple[Any, Any]:
        for transform in self.transforms:
            image, target = transform(image, target)
        return image, target

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ImageOnly:
    """Apply an image-only transform (e.g. Normalize) inside a joint pipeline; the target passes unchanged."""

    def __init__(self, transform: Callable) -> None:
        self.transform = transform

    def __call__(self, image: Any, target: Any) -> tuple[Any, Any]:
        return self.transform(image), target

    def __repr__(self) -> str:
        return f"ImageOnly({self.transform!r})"


# ----------------------------------------------------------------------------------------------- geometry kernels
def flip(image: np.ndarray, target: dict[str, Any], axis: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Mirror left-right (axis "x": x → W − x) or top-bottom (axis "y")."""
    h, w = image.shape[-2:]
    last = -1 if axis == "x" else -2
    image = np.flip(image, axis=last).copy()
    for key in ("mask", "masks"):
        if key in target:
            target[key] = np.flip(np.asarray(target[key]), axis=last).copy()
    if "boxes" in target:
        boxes = np.asarray(target["boxes"]).copy()
        lo, hi, extent = (0, 2, w) if axis == "x" else (1, 3, h)
        boxes[:, [lo, hi]] = extent - boxes[:, [hi, lo]]
        target["boxes"] = boxes
    return image, target


def resize(image: np.ndarray, target: dict[str, Any], size: tuple[int, int]) -> tuple[np.ndarray, dict[str, Any]]:
    """Resize to size (h, w): the image bilinear, masks nearest, boxes (and area) by the size ratios."""
    h, w = image.shape[-2:]
    if (h, w) == tuple(size):
        return image, target
    out = resize_bilinear(image, size).astype(image.dtype, copy=False)
    for key in ("mask", "masks"):
        if key in target:
            target[key] = resize_nearest(np.asarray(target[key]), size)
    sy, sx = size[0] / h, size[1] / w
    if "masks" in target:
        refit_to_masks(target)
        return out, target
    if "boxes" in target:
        target["boxes"] = (np.asarray(target["boxes"]) * np.array([sx, sy, sx, sy])).astype(np.float32)
    if "area" in target:
        target["area"] = (np.asarray(target["area"]) * (sx * sy)).astype(np.float32)
    return out, target


def pad(
    image: np.ndarray, target: dict[str, Any], ltrb: tuple[int, int, int, int], fill: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """Grow the canvas by (left, top, right, bottom): image filled with `fill`, label mask with 255, boxes shifted."""
    left, top, right, bottom = ltrb
    if not any(ltrb):
        return image, target
    c, h, w = image.shape
    out = np.full((c, h + top + bottom, w + left + right), fill, dtype=image.dtype)
    out[:, top : top + h, left : left + w] = image
    if "mask" in target:
        mask = np.asarray(target["mask"])
        grown = np.full((h + top + bottom, w + left + right), IGNORE_INDEX, dtype=mask.dtype)
        grown[top : top + h, left : left + w] = mask
        target["mask"] = grown
    if "masks" in target:
        masks = np.asarray(target["masks"])
        grown = np.zeros(masks.shape[:-2] + out.shape[-2:], dtype=masks.dtype)
        grown[..., top : top + h, left : left + w] = masks
        target["masks"] = grown
    if "boxes" in target:
        target["boxes"] = (np.asarray(target["boxes"]) + np.array([left, top, left, top])).astype(np.float32)
    return out, target


def crop(
    image: np.ndarray, target: dict[str, Any], top: int, left: int, h: int, w: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """The window rows top..top+h, columns left..left+w; boxes shifted, clipped, dropped when empty."""
    image = image[:, top : top + h, left : left + w].copy()
    for key in ("mask", "masks"):
        if key in target:
            target[key] = np.asarray(target[key])[..., top : top + h, left : left + w].copy()
    if "masks" in target:
        refit_to_masks(target)
    elif "boxes" in target:
        boxes = np.asarray(target["boxes"], dtype=np.float32) - np.array([left, top, left, top], dtype=np.float32)
        boxes = np.clip(boxes, 0, np.array([w, h, w, h], dtype=np.float32))
        target["boxes"] = boxes
        if "area" in target:
            target["area"] = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).astype(np.float32)
        keep_objects(target, (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))
    return image, target


def size_pair(size: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        size = (int(size), int(size))
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"{name}: size must be a positive int or a pair (h, w), got {size!r}")
    return size  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------- transforms
class RandomHorizontalFlip(RandomJointTransform):
    """Mirror image, masks and boxes left-right with probability p. Draws: `rng.random() < p`."""

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__(seed)
        self.p = p

    def apply(self, image: np.ndarray, target: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        return flip(image, target, "x") if self.rng.random() < self.p else (image, target)


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror image, masks and boxes top-bottom with probability p. Draws: `rng.random() < p`."""

    def apply(self, image: np.ndarray, target: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        return flip(image, target, "y") if self.rng.random() < self.p else (image, target)


class Resize(JointTransform):
    """Resize to size (h, w); an int sets the shorter edge, keeping the aspect ratio (torchvision's rule)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = int(size) if isinstance(size, numbers.Integral) else size_pair(size, "Resize")

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        if not isinstance(self.size, int):
            return self.size
        return (self.size, int(self.size * w / h)) if h <= w else (int(self.size * h / w), self.size)

    def apply(self, image: np.ndarray, target: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        return resize(image, target, self.output_size(*image.shape[-2:]))


class RandomScale(RandomJointTransform):
    """Resize by a factor f drawn from U(scale): (H, W) → (round(f·H), round(f·W)). Draws: `rng.uniform(*scale)`."""

    def __init__(self, scale: Sequence[float] = (0.5, 2.0), seed: int | None = None) -> None:
        super().__init__(seed)
        low, high = (float(s) for s in scale)
        if not 0 < low <= high:
            raise ValueError(f"RandomScale: scale must be (low, high) with 0 < low <= high, got {scale!r}")
        self.scale = (low, high)

    def apply(self, image: np.ndarray, target: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        f = self.rng.uniform(*self.scale)
        h, w = image.shape[-2:]
        return resize(image, target, (max(1, round(f * h)), max(1, round(f * w))))


class RandomCrop(RandomJointTransform):
    """A random (h, w) window of image, masks and boxes, after growing a too-small input when `pad_if_needed`.

    Draws: top = `rng.integers(0, H − h + 1)`, then left = `rng.integers(0, W − w + 1)`.
    """

    def __init__(
        self, size: int | Sequence[int], pad_if_needed: bool = False, fill: float = 0, seed: int | None = None
    ) -> None:
        super().__init__(seed)
        self.size = size_pair(size, "RandomCrop")
        self.pad_if_needed = pad_if_needed
        self.fill = fill

    def apply(self, image: np.ndarray, target: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        h, w = self.size
        if self.pad_if_needed:  # as torchvision and cnnkit's RandomCrop: grow both sides by the shortfall
            dh, dw = max(h - image.shape[1], 0), max(w - image.shape[2], 0)
            image, target = pad(image, target, (dw, dh, dw, dh), self.fill)
        H, W = image.shape[-2:]
        if h > H or w > W:
            raise ValueError(
                f"RandomCrop: crop size {(h, w)} is larger than the input ({H}, {W}); "
                f"use pad_if_needed=True or a smaller size"
            )
        top = int(self.rng.integers(0, H - h + 1))
        left = int(self.rng.integers(0, W - w + 1))
        return crop(image, target, top, left, h, w)
