"""torchvision.transforms' classes, on PIL images, uint8 arrays and Tensors (see `functional` for the kinds).

Random transforms draw from cnnkit's global generator (`cnnkit.manual_seed` makes them repeatable; in DataLoader
workers it is seeded per worker, as torch's is), in torchvision's order: RandomCrop draws the top then the left
offset, RandomHorizontalFlip one uniform number, ColorJitter a permutation of its four adjustments then each
factor, RandomErasing (like RandomResizedCrop) up to ten tries of (area, log aspect ratio) then the position.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cnnkit.random import default_generator
from cnnkit.tensor import Tensor
from cnnkit.vision.transforms import functional as F
from cnnkit.vision.transforms.functional import InterpolationMode


def rng() -> np.random.Generator:
    return default_generator()


def uniform(low: float, high: float) -> float:
    return float(rng().uniform(low, high))


def randint(low: int, high: int) -> int:
    """An int in [low, high)."""
    return int(rng().integers(low, high))


class Compose:
    """Apply transforms one after the other."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        return "Compose(\n" + "".join(f"    {t}\n" for t in self.transforms) + ")"


class Lambda:
    """A user function as a transform."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return "Lambda()"


class ToTensor:
    """PIL image or (H, W[, C]) array → float32 Tensor (C, H, W) in [0, 1] (uint8 input is divided by 255)."""

    def __call__(self, pic: Any) -> Tensor:
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return "ToTensor()"


class PILToTensor:
    """PIL image → Tensor (C, H, W) of the image's dtype, unscaled."""

    def __call__(self, pic: Any) -> Tensor:
        return F.pil_to_tensor(pic)

    def __repr__(self) -> str:
        return "PILToTensor()"


class ToPILImage:
    """Tensor (C, H, W) or array (H, W[, C]) → PIL image."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Any) -> Any:
        return F.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        return f"ToPILImage(mode={self.mode})"


class Normalize:
    """(x − mean[c]) / std[c] per channel of a float Tensor image."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor: Any) -> Any:
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Resize:
    """Resize to (h, w), or the shorter edge to `size` keeping the aspect ratio (Pillow's filters)."""

    def __init__(self, size: int | Sequence[int], interpolation: Any = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True) -> None:
        self.size, self.interpolation, self.max_size, self.antialias = size, interpolation, max_size, antialias

    def __call__(self, img: Any) -> Any:
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return f"Resize(size={self.size}, interpolation={getattr(self.interpolation, 'value', self.interpolation)})"


class CenterCrop:
    """The centred (h, w) window (padded with zeros first when the image is smaller)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = F.size_pair(size, "CenterCrop")

    def __call__(self, img: Any) -> Any:
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class Pad:
    """Pad the borders: an int, (left/right, top/bottom) or (left, top, right, bottom)."""

    def __init__(self, padding: int | Sequence[int], fill: Any = 0, padding_mode: str = "constant") -> None:
        F.padding_ltrb(padding)
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"Pad: padding_mode should be constant, edge, reflect or symmetric, got {padding_mode!r}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img: Any) -> Any:
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


class RandomCrop:
    """A random (h, w) window, after optional padding (the classic CIFAR augmentation: RandomCrop(32, padding=4))."""

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: Any = 0, padding_mode: str = "constant") -> None:
        self.size = F.size_pair(size, "RandomCrop")
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(top, left, h, w) of a random window; no draw when the window is the whole image."""
        width, height = F.get_image_size(img)
        th, tw = output_size
        if height < th or width < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the input image size "
                             f"{(height, width)}")
        if width == tw and height == th:
            return 0, 0, height, width
        return randint(0, height - th + 1), randint(0, width - tw + 1), th, tw

    def __call__(self, img: Any) -> Any:
        array, kind, meta = F.unpack(img, "RandomCrop")  # one conversion in and one out: this runs per item
        if self.padding is not None:
            array = F.pad_array(array, kind, F.padding_ltrb(self.padding), self.fill, self.padding_mode)
        h_axis, w_axis = F.spatial_axes(kind, array)
        height, width = array.shape[h_axis], array.shape[w_axis]
        if self.pad_if_needed and (width < self.size[1] or height < self.size[0]):
            grow = (max(self.size[1] - width, 0), max(self.size[0] - height, 0))
            array = F.pad_array(array, kind, (*grow, *grow), self.fill, self.padding_mode)
        top, left, h, w = self.window(array, kind)
        return F.repack(F.crop_array(array, kind, top, left, h, w), kind, meta)

    def window(self, array: np.ndarray, kind: str) -> tuple[int, int, int, int]:
        """get_params on a pixel array already unpacked."""
        h_axis, w_axis = F.spatial_axes(kind, array)
        height, width = array.shape[h_axis], array.shape[w_axis]
        th, tw = self.size
        if height < th or width < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the input image size "
                             f"{(height, width)}")
        if width == tw and height == th:
            return 0, 0, height, width
        return randint(0, height - th + 1), randint(0, width - tw + 1), th, tw

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability p."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        return F.hflip(img) if rng().random() < self.p else img

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror top-bottom with probability p."""

    def __call__(self, img: Any) -> Any:
        return F.vflip(img) if rng().random() < self.p else img

    def __repr__(self) -> str:
        return f"RandomVerticalFlip(p={self.p})"


class RandomResizedCrop:
    """A random window of random area (scale) and aspect ratio (ratio), resized to `size`."""

    def __init__(self, size: int | Sequence[int], scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0), interpolation: Any = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> None:
        self.size = F.size_pair(size, "RandomResizedCrop")
        self.scale, self.ratio, self.interpolation, self.antialias = scale, ratio, interpolation, antialias

    @staticmethod
    def get_params(img: Any, scale: Sequence[float], ratio: Sequence[float]) -> tuple[int, int, int, int]:
        width, height = F.get_image_size(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * uniform(scale[0], scale[1])
            aspect = math.exp(uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return randint(0, height - h + 1), randint(0, width - w + 1), h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img: Any) -> Any:
        top, left, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, top, left, h, w, self.size, self.interpolation, self.antialias)

    def __repr__(self) -> str:
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


def jitter_range(name: str, value: Any, center: float = 1.0, bound: tuple[float, float] = (0, float("inf")),
                 clip_first_on_zero: bool = True) -> tuple[float, float] | None:
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"ColorJitter: if {name} is a single number, it must be non negative, got {value}")
        value = [center - float(value), center + float(value)]
        if clip_first_on_zero:
            value[0] = max(value[0], 0.0)
    elif not (isinstance(value, Sequence) and len(value) == 2):
        raise TypeError(f"ColorJitter: {name} should be a single number or a list/tuple of length 2, got {value!r}")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, got {value}")
    if value[0] == value[1] == center:
        return None
    return float(value[0]), float(value[1])


class ColorJitter:
    """Random brightness, contrast, saturation and hue changes, in a random order."""

    def __init__(self, brightness: Any = 0, contrast: Any = 0, saturation: Any = 0, hue: Any = 0) -> None:
        self.brightness = jitter_range("brightness", brightness)
        self.contrast = jitter_range("contrast", contrast)
        self.saturation = jitter_range("saturation", saturation)
        self.hue = jitter_range("hue", hue, center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    @staticmethod
    def get_params(brightness: Any, contrast: Any, saturation: Any, hue: Any) -> tuple:
        order = rng().permutation(4)
        factors = [None if r is None else uniform(r[0], r[1]) for r in (brightness, contrast, saturation, hue)]
        return (order, *factors)

    def __call__(self, img: Any) -> Any:
        order, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        for index in order:
            if index == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif index == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif index == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif index == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img

    def __repr__(self) -> str:
        return (f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation}, "
                f"hue={self.hue})")


class Grayscale:
    """To luma, with 1 or 3 output channels."""

    def __init__(self, num_output_channels: int = 1) -> None:
        self.num_output_channels = num_output_channels

    def __call__(self, img: Any) -> Any:
        return F.rgb_to_grayscale(img, self.num_output_channels)

    def __repr__(self) -> str:
        return f"Grayscale(num_output_channels={self.num_output_channels})"


class RandomGrayscale:
    """To luma (keeping the number of channels) with probability p."""

    def __init__(self, p: float = 0.1) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        channels = F.get_dimensions(img)[0]
        return F.rgb_to_grayscale(img, channels) if rng().random() < self.p else img


class RandomApply:
    """Apply all the transforms with probability p."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5) -> None:
        self.transforms, self.p = list(transforms), p

    def __call__(self, img: Any) -> Any:
        if self.p < rng().random():
            return img
        for t in self.transforms:
            img = t(img)
        return img


class RandomErasing:
    """With probability p, set a random rectangle of a Tensor image to `value` (a number, per-channel values, or
    "random" for normal noise); area fraction in `scale`, aspect ratio in `ratio`."""

    def __init__(self, p: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                 ratio: tuple[float, float] = (0.3, 3.3), value: Any = 0, inplace: bool = False) -> None:
        if not isinstance(value, numbers.Number | str | tuple | list):
            raise TypeError("RandomErasing: argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("RandomErasing: if value is str, it should be 'random'")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("RandomErasing: scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("RandomErasing: scale should be between 0 and 1")
        if p < 0 or p > 1:
            raise ValueError("RandomErasing: random erasing probability should be between 0 and 1")
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    @staticmethod
    def get_params(img: Tensor, scale: Sequence[float], ratio: Sequence[float],
                   value: Any = None) -> tuple[int, int, int, int, Any]:
        channels, img_h, img_w = img.shape[-3], img.shape[-2], img.shape[-1]
        area = img_h * img_w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * uniform(scale[0], scale[1])
            aspect = math.exp(uniform(log_ratio[0], log_ratio[1]))
            h = int(round(math.sqrt(erase_area * aspect)))
            w = int(round(math.sqrt(erase_area / aspect)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                v = rng().standard_normal((channels, h, w)).astype(img.dtype)
            else:
                v = np.asarray(value, dtype=img.dtype).reshape(-1, 1, 1)
            return randint(0, img_h - h + 1), randint(0, img_w - w + 1), h, w, v
        return 0, 0, img_h, img_w, img

    def __call__(self, img: Any) -> Any:
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomErasing: img should be a Tensor image (apply ToTensor first), "
                            f"got {type(img).__name__}")
        if rng().random() >= self.p:
            return img
        value: Any = None if self.value == "random" else self.value
        if isinstance(value, numbers.Number):
            value = [value]
        if value is not None and len(value) not in (1, img.shape[-3]):
            raise ValueError(f"RandomErasing: if value is a sequence, it should have either a single value or "
                             f"{img.shape[-3]} (number of input channels)")
        i, j, h, w, v = self.get_params(img, self.scale, self.ratio, value)
        if v is img:
            return img
        return F.erase(img, i, j, h, w, v, self.inplace)

    def __repr__(self) -> str:
        return f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value})"


__all__ = [
    "Compose", "Lambda", "ToTensor", "PILToTensor", "ToPILImage", "Normalize", "Resize", "CenterCrop", "Pad",
    "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomResizedCrop", "ColorJitter", "Grayscale",
    "RandomGrayscale", "RandomApply", "RandomErasing", "InterpolationMode",
]
