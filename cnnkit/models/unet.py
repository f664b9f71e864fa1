"""The U-Net (Ronneberger, Fischer & Brox 2015): an encoder–decoder that gives every pixel a class score.

    encoder.0            DoubleConv  in → c                  (full size)
    encoder.1 … depth    Down        max-pool 2×2, DoubleConv, widths 2c, 4c, … 2^depth·c (the last is the
                                     bottleneck, at size / 2^depth)
    decoder.0 … depth−1  Up          ×2 up halving the width, concatenate the encoder map of that size, DoubleConv
    classifier           Conv2d 1×1  c → num_classes

The output is (N, num_classes, H, W) logits for input (N, in_channels, H, W). Each DoubleConv is two 3×3
convs with batch norm and ReLU (blocks in `cnnkit.models.unet_blocks`, shared with the diffusion models).
Parameter names read `encoder.0.conv1.weight`, `encoder.2.norm2.running_mean`, `decoder.0.up.weight`,
`classifier.bias`.

Input size. With the default padding 1 every conv keeps the size, so H and W must be multiples of 2^depth
(each max-pool must see an even size for the decoder to come back to it). Any other size is refused with an
error naming the size and the nearest valid ones — not padded silently: the caller decides whether to resize,
crop or pad, and the labels stay aligned with what the network saw. `padding=0` gives the paper's unpadded
convs: the output is smaller than the input (a 572×572 tile gives 388×388 at depth 4), the encoder maps are
center-cropped before concatenation, and the valid sizes are those where every pooled map is even.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from cnnkit import nn
from cnnkit.models.unet_blocks import NORMS, UP_MODES, DoubleConv, Down, Up
from cnnkit.tensor import Tensor


class UNet(nn.Module):
    """U-Net of `depth` poolings, widths base_channels · 2^level (or `widths`, one per level from the full-size
    one to the bottleneck's); `forward(x, emb=None)` gives per-pixel logits.

    `norm` ("batch", "group", None), `act` ("relu", "silu"), `emb_dim` and `num_groups` go to every block:
    with `emb_dim`, forward needs a per-sample embedding of shape (N, emb_dim) (diffusion's time step).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 11,
        base_channels: int = 16,
        depth: int = 3,
        up: str = "transpose",
        norm: str | None = "batch",
        act: str = "relu",
        emb_dim: int | None = None,
        padding: int = 1,
        num_groups: int = 8,
        widths: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        _check_args(in_channels, num_classes, base_channels, depth, up, norm, padding)
        widths = level_widths(base_channels, depth, widths)
        self.in_channels, self.num_classes, self.base_channels = in_channels, num_classes, widths[0]
        self.depth, self.up_mode, self.padding, self.emb_dim = depth, up, padding, emb_dim
        self.widths = widths
        block = {"norm": norm, "act": act, "emb_dim": emb_dim, "padding": padding, "num_groups": num_groups}
        self.encoder = nn.ModuleList(
            [DoubleConv(in_channels, widths[0], **block)]
            + [Down(widths[i - 1], widths[i], **block) for i in range(1, depth + 1)]
        )
        self.decoder = nn.ModuleList(
            [Up(widths[i + 1], widths[i], widths[i], mode=up, **block) for i in reversed(range(depth))]
        )
        self.classifier = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def extra_repr(self) -> str:
        doubling = self.widths == level_widths(self.base_channels, self.depth, None)
        width = f"base_channels={self.base_channels}" if doubling else f"widths={self.widths}"
        return (
            f"in_channels={self.in_channels}, num_classes={self.num_classes}, "
            f"{width}, depth={self.depth}, up={self.up_mode!r}"
        )

    def forward(self, x: Tensor, emb: Tensor | None = None) -> Tensor:
        self._check_input(x)
        skips = []
        for block in self.encoder:
            x = block(x, emb)
            skips.append(x)
        skips.pop()  # the bottleneck's own output is x
        for block in self.decoder:
            x = block(x, skips.pop(), emb)
        return self.classifier(x)

    def output_size(self, size: int) -> int | None:
        """The output height (or width) for an input height (or width), or None if the size is not valid."""
        return output_size(size, self.depth, self.padding)

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise self._input_error(f"expected input of shape (N, {self.in_channels}, H, W), got {x.shape}")
        for axis, size in (("height", x.shape[2]), ("width", x.shape[3])):
            if output_size(size, self.depth, self.padding) is None:
                raise self._input_error(
                    f"input {axis} {size} is not valid: {size_rule(self.depth, self.padding)}; "
                    f"nearest valid {axis}s: {_nearest(size, self.depth, self.padding)}"
                )


def level_widths(base_channels: int, depth: int, widths: Sequence[int] | None) -> list[int]:
    """The channel width of each level, full size first: base_channels · 2^level unless `widths` are given
    (depth + 1 positive ints; widening only the small deep levels adds capacity where it costs least)."""
    if widths is None:
        return [base_channels * 2**level for level in range(depth + 1)]
    widths = list(widths)
    if len(widths) != depth + 1 or any(isinstance(w, bool) or not isinstance(w, int) or w < 2 for w in widths):
        raise ValueError(f"UNet: expected widths to be depth + 1 = {depth + 1} ints of at least 2, got {widths!r}")
    return widths


def output_size(size: int, depth: int, padding: int = 1) -> int | None:
    """Output size of a U-Net for an input size, or None when a max-pool would see an odd (or empty) map."""
    shrink = 4 * (1 - padding)  # two 3×3 convs lose 2 pixels each when unpadded
    for _ in range(depth):
        size -= shrink
        if size < 2 or size % 2:
            return None
        size //= 2
    size -= shrink  # the bottleneck's convs
    for _ in range(depth):
        if size < 1:
            return None
        size = 2 * size - shrink  # up ×2, then the convs
    return size if size >= 1 else None


def size_rule(depth: int, padding: int) -> str:
    """The valid-size rule in words, for error messages."""
    if padding == 1:
        return f"expected a multiple of 2**depth = {2**depth} (depth {depth}, padding 1)"
    return f"with unpadded convs (padding 0) every max-pool must see an even size (depth {depth})"


def _nearest(size: int, depth: int, padding: int) -> str:
    """The nearest valid sizes below and above `size` (valid sizes repeat every 2^depth, so the search is short)."""
    step = 2**depth
    below = next((s for s in range(size - 1, max(size - step - 1, 0), -1) if output_size(s, depth, padding)), None)
    above = next(s for s in itertools.count(size + 1) if output_size(s, depth, padding))
    return f"{below} or {above}" if below else str(above)


def _check_args(
    in_channels: int, num_classes: int, base_channels: int, depth: int, up: str, norm: str | None, padding: int
) -> None:
    for name, value in (
        ("in_channels", in_channels),
        ("num_classes", num_classes),
        ("base_channels", base_channels),
        ("depth", depth),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"UNet: expected {name} to be a positive int, got {value!r}")
    if up not in UP_MODES:
        raise ValueError(f"UNet: expected up to be one of {UP_MODES}, got {up!r}")
    if norm not in NORMS:
        raise ValueError(f"UNet: expected norm to be one of {NORMS}, got {norm!r}")
    if padding not in (0, 1):
        raise ValueError(f"UNet: expected padding 1 (same size) or 0 (the paper's unpadded convs), got {padding!r}")


def unet(
    in_channels: int = 1,
    num_classes: int = 11,
    base_channels: int = 16,
    depth: int = 3,
    up: str = "transpose",
    batch_norm: bool = True,
    *,
    padding: int = 1,
    widths: Sequence[int] | None = None,
) -> UNet:
    """The segmentation U-Net: two 3×3 conv + batch norm + ReLU per level, 2×2 max-pool down, ×2 up by a 2×2
    transposed conv (up="transpose") or bilinear upsampling + 3×3 conv (up="bilinear"), a 1×1 classifier.

    Defaults: 11 classes (background + Fashion-MNIST's 10) on 1-channel 64×64 scenes; H and W must be
    multiples of 2**depth (see the module docstring for padding=0). `widths` (depth + 1 ints, full size first)
    replaces the doubling widths, e.g. (8, 16, 64, 128, 128): narrow where the maps are large, wide where they
    are small.
    """
    norm = "batch" if batch_norm else None
    return UNet(in_channels, num_classes, base_channels, depth, up, norm, padding=padding, widths=widths)
