"""torchvision.transforms.functional: the deterministic image operations, on PIL images, uint8 arrays and Tensors.

Three kinds of image, each returned as the kind it came in:
- a PIL image, worked on as its (H, W[, C]) pixel array and rebuilt in its mode (colour ops use Pillow's own
  ImageEnhance / HSV, as torchvision's PIL path does);
- a NumPy array (H, W[, C]) (uint8 as Pillow would give it), treated like a PIL image;
- a cnnkit Tensor (…, C, H, W) (float in [0, 1] after ToTensor, or uint8), as torchvision's tensor path.
Geometry works on the two spatial axes of whichever layout the image has: (0, 1) for PIL / arrays, (−2, −1) for
Tensors. Pads take torchvision's order: an int, (left/right, top/bottom) or (left, top, right, bottom).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

from cnnkit.tensor import Tensor


class InterpolationMode(Enum):
    """torchvision's interpolation names; Pillow resamples with the filter of the same name."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def pil_filter(interpolation: Any) -> int:
    """Pillow's resampling constant for an InterpolationMode (or a Pillow constant passed as it is)."""
    from PIL import Image

    if isinstance(interpolation, int):
        return interpolation
    names = {"nearest": Image.NEAREST, "nearest-exact": Image.NEAREST, "bilinear": Image.BILINEAR,
             "bicubic": Image.BICUBIC, "box": Image.BOX, "hamming": Image.HAMMING, "lanczos": Image.LANCZOS}
    value = interpolation.value if isinstance(interpolation, InterpolationMode) else str(interpolation)
    if value not in names:
        raise ValueError(f"resize: unknown interpolation {interpolation!r}")
    return names[value]


# ----------------------------------------------------------------- the three kinds of image
def is_pil(img: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return False
    return isinstance(img, Image.Image)


def unpack(img: Any, op: str) -> tuple[np.ndarray, str, Any]:
    """(pixel array, kind, what repack needs): kind is "pil", "array" or "tensor"."""
    if is_pil(img):
        if img.mode not in ("L", "RGB", "RGBA", "I", "F", "I;16"):
            img = img.convert("RGB" if img.mode not in ("1", "LA") else "L")
        return np.asarray(img), "pil", img.mode
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(f"{op}: expected a Tensor image (…, C, H, W), got shape {img.shape}")
        return img.numpy(), "tensor", None
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"{op}: expected an array image (H, W) or (H, W, C), got shape {img.shape}")
        return img, "array", None
    raise TypeError(f"{op}: img should be a PIL Image, a NumPy array (H, W[, C]) or a cnnkit Tensor, "
                    f"got {type(img).__name__}")


def repack(array: np.ndarray, kind: str, meta: Any) -> Any:
    if kind == "pil":
        from PIL import Image

        return Image.fromarray(np.ascontiguousarray(array), mode=meta if meta in ("I", "F") else None)
    if kind == "tensor":
        return Tensor(np.ascontiguousarray(array), dtype=array.dtype)
    return array


def spatial_axes(kind: str, array: np.ndarray) -> tuple[int, int]:
    return (0, 1) if kind != "tensor" else (array.ndim - 2, array.ndim - 1)


def get_image_size(img: Any) -> list[int]:
    """[width, height], as torchvision's get_image_size."""
    array, kind, _ = unpack(img, "get_image_size")
    h_axis, w_axis = spatial_axes(kind, array)
    return [array.shape[w_axis], array.shape[h_axis]]


def get_dimensions(img: Any) -> list[int]:
    """[channels, height, width]."""
    array, kind, _ = unpack(img, "get_dimensions")
    h_axis, w_axis = spatial_axes(kind, array)
    channels = (array.shape[-3] if array.ndim >= 3 else 1) if kind == "tensor" else (
        array.shape[2] if array.ndim == 3 else 1)
    return [channels, array.shape[h_axis], array.shape[w_axis]]


# ----------------------------------------------------------------- conversion
def to_tensor(pic: Any) -> Tensor:
    """PIL image or (H, W[, C]) array → Tensor (C, H, W); uint8 is scaled to float32 in [0, 1], as torchvision."""
    if is_pil(pic):
        array = np.asarray(pic)
        if pic.mode == "1":
            array = 255 * array.astype(np.uint8)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_tensor: pic should be 2- or 3-dimensional, got {pic.ndim} dimensions")
        array = pic
    else:
        raise TypeError(f"to_tensor: pic should be a PIL Image or ndarray, got {type(pic).__name__}")
    if array.ndim == 2:
        array = array[:, :, None]
    chw = np.ascontiguousarray(array.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        out = chw.astype(np.float32)
        out /= 255  # img.float().div(255), as torchvision
        return Tensor(out)
    return Tensor(chw, dtype=chw.dtype)


def pil_to_tensor(pic: Any) -> Tensor:
    """PIL image → Tensor (C, H, W) of its own dtype (uint8 stays uint8)."""
    if not is_pil(pic):
        raise TypeError(f"pil_to_tensor: pic should be a PIL Image, got {type(pic).__name__}")
    array = np.asarray(pic)
    array = array[:, :, None] if array.ndim == 2 else array
    chw = np.ascontiguousarray(array.transpose(2, 0, 1))
    return Tensor(chw, dtype=chw.dtype)


def to_pil_image(pic: Any, mode: str | None = None) -> Any:
    """Tensor (C, H, W) or array (H, W[, C]) → PIL image; floats in [0, 1] are scaled to 0..255 (mul(255).byte())."""
    from PIL import Image

    if isinstance(pic, Tensor):
        array = pic.numpy()
        if array.ndim == 2:
            array = array[None]
        if array.ndim != 3:
            raise ValueError(f"to_pil_image: expected a (C, H, W) Tensor, got shape {pic.shape}")
        array = array.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        array = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"to_pil_image: pic should be a Tensor or an ndarray, got {type(pic).__name__}")
    if array.dtype.kind == "f" and mode != "F":
        array = (array * 255).astype(np.uint8)  # torchvision: pic.mul(255).byte(), truncating
    if array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(array), mode=mode)


def normalize(tensor: Any, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Any:
    """(x − mean[c]) / std[c] per channel of a float Tensor (…, C, H, W)."""
    if not isinstance(tensor, Tensor | np.ndarray):
        raise TypeError(f"normalize: img should be a Tensor image, got {type(tensor).__name__}")
    array = tensor.numpy() if isinstance(tensor, Tensor) else tensor
    if array.dtype.kind != "f":
        raise TypeError(f"normalize: input tensor should be a float tensor, got {array.dtype}")
    if array.ndim < 3:
        raise ValueError(f"normalize: expected tensor to be a tensor image of size (…, C, H, W), got {array.shape}")
    mean_a = np.asarray(mean, dtype=array.dtype).reshape(-1, 1, 1)
    std_a = np.asarray(std, dtype=array.dtype).reshape(-1, 1, 1)
    if np.any(std_a == 0):
        raise ValueError(f"normalize: std evaluated to zero after conversion to {array.dtype}, leading to division by "
                         f"zero")
    if inplace:
        array -= mean_a
        array /= std_a
        return tensor
    out = (array - mean_a) / std_a
    return Tensor(out, dtype=out.dtype) if isinstance(tensor, Tensor) else out


# ----------------------------------------------------------------- geometry
def padding_ltrb(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding[0], padding[0], padding[0], padding[0]
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return padding[0], padding[1], padding[2], padding[3]
    raise ValueError(f"pad: padding must be an int or a 1-, 2- or 4-element sequence, got {padding}")


def pad(img: Any, padding: int | Sequence[int], fill: Any = 0, padding_mode: str = "constant") -> Any:
    """Pad the two spatial dims; fill in the image's own scale (0..255 for PIL, 0..1 for float Tensors)."""
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"pad: padding mode should be constant, edge, reflect or symmetric, got {padding_mode!r}")
    array, kind, meta = unpack(img, "pad")
    return repack(pad_array(array, kind, padding_ltrb(padding), fill, padding_mode), kind, meta)


def pad_array(array: np.ndarray, kind: str, ltrb: tuple[int, int, int, int], fill: Any = 0,
              padding_mode: str = "constant") -> np.ndarray:
    """`pad` on the pixel array of an image of the given kind (negative pads crop, as torchvision's)."""
    left, top, right, bottom = ltrb
    if min(ltrb) < 0:
        h_axis, w_axis = spatial_axes(kind, array)
        h, w = array.shape[h_axis], array.shape[w_axis]
        array = slice_spatial(array, kind, -min(top, 0), h + min(bottom, 0), -min(left, 0), w + min(right, 0))
        left, top, right, bottom = (max(p, 0) for p in ltrb)
    h_axis, w_axis = spatial_axes(kind, array)
    if padding_mode != "constant":
        widths = [(0, 0)] * array.ndim
        widths[h_axis], widths[w_axis] = (top, bottom), (left, right)
        return np.pad(array, widths, mode=padding_mode)
    shape = list(array.shape)
    shape[h_axis] += top + bottom
    shape[w_axis] += left + right
    out = np.empty(shape, dtype=array.dtype)
    channel_axis = None if array.ndim < 3 else (2 if kind != "tensor" else array.ndim - 3)
    if isinstance(fill, Sequence) and not isinstance(fill, str) and len(fill) > 1 and channel_axis is not None:
        out[...] = np.asarray(fill, dtype=array.dtype).reshape([-1 if i == channel_axis else 1
                                                                 for i in range(array.ndim)])
    else:
        out[...] = fill[0] if isinstance(fill, Sequence) else fill
    index = [slice(None)] * array.ndim
    index[h_axis] = slice(top, top + array.shape[h_axis])
    index[w_axis] = slice(left, left + array.shape[w_axis])
    out[tuple(index)] = array  # one allocation and one copy: np.pad is several times slower per small image
    return out


def slice_spatial(array: np.ndarray, kind: str, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    h_axis, w_axis = spatial_axes(kind, array)
    index = [slice(None)] * array.ndim
    index[h_axis], index[w_axis] = slice(top, bottom), slice(left, right)
    return array[tuple(index)]


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The (height, width) window at (top, left); parts outside the image are zero-padded, as torchvision."""
    array, kind, meta = unpack(img, "crop")
    return repack(crop_array(array, kind, top, left, height, width), kind, meta)


def crop_array(array: np.ndarray, kind: str, top: int, left: int, height: int, width: int) -> np.ndarray:
    h_axis, w_axis = spatial_axes(kind, array)
    h, w = array.shape[h_axis], array.shape[w_axis]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        array = pad_array(array, kind, (max(-left, 0), max(-top, 0), max(right - w, 0), max(bottom - h, 0)))
        top, left = max(top, 0), max(left, 0)
    return slice_spatial(array, kind, top, top + height, left, left + width).copy()


def size_pair(size: int | Sequence[int], op: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    size = list(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"{op}: size should be an int or a sequence of one or two ints, got {size}")
    return int(size[0]), int(size[1])


def center_crop(img: Any, output_size: int | Sequence[int]) -> Any:
    """The centred (h, w) window, padding first when the image is smaller (torchvision's rounding)."""
    crop_h, crop_w = size_pair(output_size, "center_crop")
    width, height = get_image_size(img)
    if crop_w > width or crop_h > height:
        extra_w, extra_h = max(crop_w - width, 0), max(crop_h - height, 0)
        pads = [extra_w // 2, extra_h // 2, (extra_w + 1) // 2, (extra_h + 1) // 2]
        img = pad(img, pads)
        width, height = get_image_size(img)
        if crop_w == width and crop_h == height:
            return img
    top = int(round((height - crop_h) / 2.0))
    left = int(round((width - crop_w) / 2.0))
    return crop(img, top, left, crop_h, crop_w)


def flip(img: Any, horizontal: bool) -> Any:
    array, kind, meta = unpack(img, "hflip" if horizontal else "vflip")
    h_axis, w_axis = spatial_axes(kind, array)
    return repack(np.flip(array, axis=w_axis if horizontal else h_axis).copy(), kind, meta)


def hflip(img: Any) -> Any:
    return flip(img, True)


def vflip(img: Any) -> Any:
    return flip(img, False)


def resized_size(height: int, width: int, size: int | Sequence[int], max_size: int | None) -> tuple[int, int]:
    """torchvision's output size: an int resizes the shorter edge (the longer one truncated to keep the ratio)."""
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    size = int(size[0] if isinstance(size, Sequence) else size)
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    if max_size is not None:
        if max_size <= size:
            raise ValueError(f"resize: max_size = {max_size} must be strictly greater than the requested size {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    return new_h, new_w


def resize(img: Any, size: int | Sequence[int], interpolation: Any = InterpolationMode.BILINEAR,
           max_size: int | None = None, antialias: bool | None = True) -> Any:
    """Resize with Pillow's filter (as torchvision's PIL path); Tensors go plane by plane through float images."""
    from PIL import Image

    array, kind, meta = unpack(img, "resize")
    h_axis, w_axis = spatial_axes(kind, array)
    new_h, new_w = resized_size(array.shape[h_axis], array.shape[w_axis], size, max_size)
    resample = pil_filter(interpolation)
    if kind == "pil":
        return img.resize((new_w, new_h), resample) if is_pil(img) else repack(array, kind, meta)
    if kind == "array":
        return np.asarray(Image.fromarray(np.ascontiguousarray(array)).resize((new_w, new_h), resample))
    planes = array.reshape(-1, *array.shape[-2:]).astype(np.float32, copy=False)
    out = np.stack([np.asarray(Image.fromarray(p, mode="F").resize((new_w, new_h), resample)) for p in planes])
    out = out.reshape(*array.shape[:-2], new_h, new_w)
    if array.dtype == np.uint8:
        out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    return Tensor(out.astype(array.dtype, copy=False), dtype=array.dtype)


def resized_crop(img: Any, top: int, left: int, height: int, width: int, size: int | Sequence[int],
                 interpolation: Any = InterpolationMode.BILINEAR, antialias: bool | None = True) -> Any:
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


# ----------------------------------------------------------------- colour
def float_image(array: np.ndarray) -> tuple[np.ndarray, np.dtype]:
    """(float32 image in [0, 1], the dtype to return to)."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255, array.dtype
    return array, array.dtype


def back_to(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.uint8:
        return np.clip(np.round(array * 255), 0, 255).astype(np.uint8)
    return array.astype(dtype, copy=False)


def gray_of(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of (…, 3, H, W): 0.2989 R + 0.587 G + 0.114 B, keeping the channel axis."""
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    return (0.2989 * r + 0.587 * g + 0.114 * b)[..., None, :, :].astype(rgb.dtype)


def blend(a: np.ndarray, b: np.ndarray, ratio: float) -> np.ndarray:
    return np.clip(ratio * a + (1.0 - ratio) * b, 0.0, 1.0).astype(a.dtype)


def tensor_color(img: Any, op: str, fn: Any) -> Any:
    """Apply fn to a float (…, C, H, W) view of a Tensor image (uint8 Tensors round-trip through [0, 1])."""
    array, dtype = float_image(img.numpy())
    return Tensor(back_to(fn(array), dtype), dtype=dtype)


def pil_of(img: Any) -> tuple[Any, bool]:
    """(PIL image, whether img was an array) for the PIL colour path."""
    from PIL import Image

    if is_pil(img):
        return img, False
    return Image.fromarray(np.ascontiguousarray(img)), True


def enhance(img: Any, kind: str, factor: float) -> Any:
    from PIL import ImageEnhance

    pil, was_array = pil_of(img)
    out = getattr(ImageEnhance, kind)(pil).enhance(factor)
    return np.asarray(out) if was_array else out


def check_factor(name: str, factor: float) -> None:
    if factor < 0:
        raise ValueError(f"adjust_{name}: {name}_factor ({factor}) is not non-negative")


def adjust_brightness(img: Any, brightness_factor: float) -> Any:
    check_factor("brightness", brightness_factor)
    if isinstance(img, Tensor):
        return tensor_color(img, "adjust_brightness", lambda x: blend(x, np.zeros_like(x), brightness_factor))
    return enhance(img, "Brightness", brightness_factor)


def adjust_contrast(img: Any, contrast_factor: float) -> Any:
    check_factor("contrast", contrast_factor)
    if isinstance(img, Tensor):
        def fn(x: np.ndarray) -> np.ndarray:
            gray = gray_of(x) if x.shape[-3] == 3 else x
            mean = gray.mean(axis=(-3, -2, -1), keepdims=True)
            return blend(x, np.broadcast_to(mean, x.shape), contrast_factor)

        return tensor_color(img, "adjust_contrast", fn)
    return enhance(img, "Contrast", contrast_factor)


def adjust_saturation(img: Any, saturation_factor: float) -> Any:
    check_factor("saturation", saturation_factor)
    if isinstance(img, Tensor):
        if img.ndim < 3 or img.shape[-3] == 1:
            return img  # a grayscale image has no saturation
        return tensor_color(img, "adjust_saturation", lambda x: blend(x, np.broadcast_to(gray_of(x), x.shape),
                                                                      saturation_factor))
    return enhance(img, "Color", saturation_factor)


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """(…, 3, H, W) in [0, 1] → HSV with h in [0, 1), as torchvision's _rgb2hsv."""
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    maxc, minc = rgb.max(axis=-3), rgb.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_divisor = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return np.stack((h, s, maxc), axis=-3)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """The inverse of rgb_to_hsv (torchvision's _hsv2rgb)."""
    h, s, v = hsv[..., 0, :, :], hsv[..., 1, :, :], hsv[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.empty_like(hsv)
    for c in range(3):
        out[..., c, :, :] = np.select([i == k for k in range(6)], [choice[c] for choice in choices])
    return out


def adjust_hue(img: Any, hue_factor: float) -> Any:
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5]")
    if isinstance(img, Tensor):
        if img.ndim < 3 or img.shape[-3] == 1:
            return img

        def fn(x: np.ndarray) -> np.ndarray:
            hsv = rgb_to_hsv(x)
            hsv[..., 0, :, :] = np.fmod(hsv[..., 0, :, :] + hue_factor, 1.0)
            hsv[..., 0, :, :] = np.where(hsv[..., 0, :, :] < 0, hsv[..., 0, :, :] + 1.0, hsv[..., 0, :, :])
            return hsv_to_rgb(hsv).astype(x.dtype)

        return tensor_color(img, "adjust_hue", fn)
    from PIL import Image

    pil, was_array = pil_of(img)
    if pil.mode in ("L", "1", "I", "F"):
        return img
    h, s, v = pil.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    np_h += np.array(np.int32(hue_factor * 255)).astype(np.uint8)  # wraps around, as torchvision's PIL path
    out = Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert(pil.mode)
    return np.asarray(out) if was_array else out


def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """Luma; PIL images through Pillow's convert('L'), Tensors as 0.2989 R + 0.587 G + 0.114 B."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels should be either 1 or 3, got {num_output_channels}")
    if isinstance(img, Tensor):
        if img.shape[-3] == 1:
            gray = img.numpy()
        else:
            array, dtype = float_image(img.numpy())
            gray = back_to(gray_of(array), dtype)
        if num_output_channels == 3:
            gray = np.repeat(gray, 3, axis=-3)
        return Tensor(np.ascontiguousarray(gray), dtype=gray.dtype)
    from PIL import Image

    pil, was_array = pil_of(img)
    out = pil.convert("L")
    if num_output_channels == 3:
        out = Image.merge("RGB", (out, out, out))
    return np.asarray(out) if was_array else out


to_grayscale = rgb_to_grayscale


def erase(img: Tensor, i: int, j: int, h: int, w: int, v: Any, inplace: bool = False) -> Tensor:
    """Tensor image with the (h, w) window at (i, j) set to v (a number or a (C, h, w) array)."""
    if not isinstance(img, Tensor):
        raise TypeError(f"erase: img should be a Tensor image, got {type(img).__name__}")
    array = img.numpy() if inplace else img.numpy().copy()
    value = v.numpy() if isinstance(v, Tensor) else v
    array[..., i:i + h, j:j + w] = value
    return img if inplace else Tensor(array, dtype=array.dtype)


__all__ = [
    "InterpolationMode", "to_tensor", "pil_to_tensor", "to_pil_image", "normalize", "pad", "crop", "center_crop",
    "hflip", "vflip", "resize", "resized_crop", "adjust_brightness", "adjust_contrast", "adjust_saturation",
    "adjust_hue", "rgb_to_grayscale", "to_grayscale", "erase", "get_image_size", "get_dimensions",
]
