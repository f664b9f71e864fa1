"""The U-Net's building blocks: `DoubleConv`, `Down`, `Up` (and `UpsampleConv`, `center_crop`).

One family for the whole repository: segmentation builds them with batch norm and ReLU; a diffusion model
builds the same blocks with `norm="group"`, `act="silu"` and `emb_dim` set, and passes a per-sample
embedding (e.g. of the time step) to every block's `forward(x, emb)`.

    DoubleConv:  conv1 3×3 → (+ emb_proj(act(emb)) per channel) → norm1 → act1 → conv2 3×3 → norm2 → act2
    Down:        MaxPool2d(2) → DoubleConv
    Up:          up (ConvTranspose2d 2×2/2, or bilinear ×2 then conv 3×3) halving the channels →
                 concatenate [center-cropped skip, upsampled] along the channels → DoubleConv

The embedding is added right after the first convolution, before its normalisation, through the block's
own Linear (act(emb) first, as in Ho et al.'s DDPM code); a block built without `emb_dim` has no projection
and refuses an embedding. Convolutions followed by a norm have no bias (the norm's shift replaces it).
`padding=1` keeps the size through each conv ("same"); `padding=0` is Ronneberger et al.'s unpadded ("valid")
conv, which loses 2 pixels per conv, so the skip maps are larger than the upsampled ones and are
center-cropped before concatenation.
"""

from __future__ import annotations

import cnnkit.nn.functional as F
from cnnkit import nn
from cnnkit.ops.shape import cat
from cnnkit.tensor import Tensor

NORMS = ("batch", "group", None)
ACTIVATIONS = ("relu", "silu")
UP_MODES = ("transpose", "bilinear")


def make_norm(kind: str | None, channels: int, num_groups: int = 8) -> nn.Module:
    """BatchNorm2d, GroupNorm(num_groups) or Identity for norm kind "batch", "group" or None."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        if channels % num_groups:
            raise ValueError(
                f"GroupNorm: {channels} channels cannot be split into {num_groups} groups; "
                "pick num_groups dividing every block's width"
            )
        return nn.GroupNorm(num_groups, channels)
    if kind is None:
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; expected one of {NORMS}")


def make_activation(kind: str) -> nn.Module:
    """ReLU or SiLU."""
    if kind == "relu":
        return nn.ReLU()
    if kind == "silu":
        return nn.SiLU()
    raise ValueError(f"unknown activation {kind!r}; expected one of {ACTIVATIONS}")


def center_crop(x: Tensor, height: int, width: int) -> Tensor:
    """The central height × width window of (N, C, H, W) x; the extra row/column of an odd margin is cut at the
    bottom/right (top = ⌊(H − height)/2⌋), as Ronneberger et al.'s even margins never need."""
    h, w = x.shape[2], x.shape[3]
    if (h, w) == (height, width):
        return x
    if h < height or w < width:
        raise ValueError(f"center_crop: cannot crop a {h}×{w} map to the larger {height}×{width}")
    top, left = (h - height) // 2, (w - width) // 2
    return x[:, :, top : top + height, left : left + width]


class DoubleConv(nn.Module):
    """Two 3×3 convolutions, each followed by a norm and an activation; `forward(x, emb=None)`.

    With `emb_dim`, a Linear `emb_proj` maps act(emb) of shape (N, emb_dim) to one value per channel, added
    after `conv1` (before `norm1`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        mid_channels: int | None = None,
        norm: str | None = "batch",
        act: str = "relu",
        emb_dim: int | None = None,
        padding: int = 1,
        num_groups: int = 8,
    ) -> None:
        super().__init__()
        mid = out_channels if mid_channels is None else mid_channels
        self.in_channels, self.out_channels, self.emb_dim, self.act_kind = in_channels, out_channels, emb_dim, act
        self.conv1 = nn.Conv2d(in_channels, mid, 3, padding=padding, bias=norm is None)
        self.emb_proj = nn.Linear(emb_dim, mid) if emb_dim else None
        self.norm1 = make_norm(norm, mid, num_groups)
        self.act1 = make_activation(act)
        self.conv2 = nn.Conv2d(mid, out_channels, 3, padding=padding, bias=norm is None)
        self.norm2 = make_norm(norm, out_channels, num_groups)
        self.act2 = make_activation(act)

    def extra_repr(self) -> str:
        emb = f", emb_dim={self.emb_dim}" if self.emb_dim else ""
        return f"{self.in_channels}, {self.out_channels}{emb}"

    def forward(self, x: Tensor, emb: Tensor | None = None) -> Tensor:
        h = self.conv1(x)
        if self.emb_proj is not None:
            h = h + self._embedding(emb, x.shape[0])
        elif emb is not None:
            raise self._input_error("got an embedding, but this block was built without emb_dim")
        h = self.act1(self.norm1(h))
        return self.act2(self.norm2(self.conv2(h)))

    def _embedding(self, emb: Tensor | None, batch: int) -> Tensor:
        """emb_proj(act(emb)) as (N, C, 1, 1), to broadcast over the positions."""
        if emb is None or emb.ndim != 2 or emb.shape != (batch, self.emb_dim):
            got = "none" if emb is None else f"shape {emb.shape}"
            raise self._input_error(f"expected an embedding of shape ({batch}, {self.emb_dim}), got {got}")
        e = F.silu(emb) if self.act_kind == "silu" else F.relu(emb)
        e = self.emb_proj(e)
        return e.reshape(batch, e.shape[1], 1, 1)


class Down(DoubleConv):
    """MaxPool2d(2) (halving the size), then a DoubleConv: one step down the encoder."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__(in_channels, out_channels, **kwargs)
        self.pool = nn.MaxPool2d(2)
        self._modules.move_to_end("pool", last=False)  # repr and state_dict list the layers in the order they run

    def forward(self, x: Tensor, emb: Tensor | None = None) -> Tensor:
        return super().forward(self.pool(x), emb)


class UpsampleConv(nn.Module):
    """Bilinear ×2 upsampling (align_corners=False) then a 3×3 conv with padding 1: resize-convolution, the
    checkerboard-free alternative to a transposed conv (Odena, Dumoulin & Olah 2016)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.upsample(x))


class Up(DoubleConv):
    """One step up the decoder: `up` doubles the size and halves the channels (in_channels → in_channels // 2),
    the skip map is center-cropped to that size and put first, and a DoubleConv mixes the two.

    `forward(x, skip, emb=None)`; mode "transpose" is ConvTranspose2d(2, stride 2), "bilinear" an UpsampleConv.
    """

    def __init__(
        self, in_channels: int, skip_channels: int, out_channels: int, *, mode: str = "transpose", **kwargs
    ) -> None:
        if mode not in UP_MODES:
            raise ValueError(f"Up: unknown mode {mode!r}; expected one of {UP_MODES}")
        if in_channels < 2:
            raise ValueError(f"Up: in_channels must be at least 2 (the upsampling halves it), got {in_channels}")
        half = in_channels // 2
        super().__init__(half + skip_channels, out_channels, **kwargs)
        self.mode = mode
        self.up = (
            nn.ConvTranspose2d(in_channels, half, 2, stride=2)
            if mode == "transpose"
            else UpsampleConv(in_channels, half)
        )
        self._modules.move_to_end("up", last=False)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", mode={self.mode!r}"

    def forward(self, x: Tensor, skip: Tensor, emb: Tensor | None = None) -> Tensor:  # type: ignore[override]
        x = self.up(x)
        skip = center_crop(skip, x.shape[2], x.shape[3])
        return super().forward(cat([skip, x], dim=1), emb)
