"""The diffusion U-Net's residual block: the repository's `DoubleConv` (with GroupNorm, SiLU and the embedding
added after its first conv) plus a shortcut, so each block learns a change of its input.

    out = DoubleConv(x, emb) + shortcut(x),   shortcut = 1×1 conv when the width changes, else identity
"""

from __future__ import annotations

from cnnkit import nn
from cnnkit.models.unet_blocks import DoubleConv
from cnnkit.tensor import Tensor


class ResidualBlock(nn.Module):
    """DoubleConv(in → out, norm="group", act="silu", emb_dim) + shortcut; `forward(x, emb)` keeps H × W."""

    def __init__(self, in_channels: int, out_channels: int, emb_dim: int, num_groups: int = 8) -> None:
        super().__init__()
        self.body = DoubleConv(
            in_channels, out_channels, norm="group", act="silu", emb_dim=emb_dim, num_groups=num_groups
        )
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        return self.body(x, emb) + self.shortcut(x)
