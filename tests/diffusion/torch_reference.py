"""The diffusion U-Net written again in PyTorch, with the same parameter names as cnnkit's `DiffusionUNet`, so
that one state_dict fills both and their outputs and gradients can be compared (imported only with torch)."""

from __future__ import annotations

import math

import torch
from torch import nn


def timestep_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Ho et al.'s get_timestep_embedding in float64, then float32."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / (half - 1))
    angles = t.to(torch.float64)[:, None] * freqs[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).float()


class TimeEmbedding(nn.Module):
    def __init__(self, dim: int, emb_dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.linear1, self.act, self.linear2 = nn.Linear(dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.act(self.linear1(timestep_features(t, self.dim))))


class DoubleConv(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int, groups: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.emb_proj = nn.Linear(emb_dim, cout)
        self.norm1, self.act1 = nn.GroupNorm(groups, cout), nn.SiLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2, self.act2 = nn.GroupNorm(groups, cout), nn.SiLU()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x) + self.emb_proj(nn.functional.silu(emb))[:, :, None, None]
        return self.act2(self.norm2(self.conv2(self.act1(self.norm1(h)))))


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int, groups: int) -> None:
        super().__init__()
        self.body = DoubleConv(cin, cout, emb_dim, groups)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return self.body(x, emb) + self.shortcut(x)


class DiffusionUNet(nn.Module):
    def __init__(self, in_channels=1, base=8, mults=(1, 2), num_res_blocks=1, num_classes=None, groups=4) -> None:
        super().__init__()
        emb_dim = 4 * base
        self.time_embed = TimeEmbedding(base, emb_dim)
        self.class_embed = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.conv_in = nn.Conv2d(in_channels, base, 3, padding=1)
        widths = [base * m for m in mults]
        skips, ch = [base], base
        self.encoder = nn.ModuleList()
        for level, width in enumerate(widths):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks):
                blocks.append(ResidualBlock(ch, width, emb_dim, groups))
                ch = width
                skips.append(ch)
            self.encoder.append(blocks)
            if level < len(widths) - 1:
                skips.append(ch)
        self.middle = nn.ModuleList([ResidualBlock(ch, ch, emb_dim, groups) for _ in range(2)])
        self.decoder, self.upsample = nn.ModuleList(), nn.ModuleList()
        for level in reversed(range(len(widths))):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                blocks.append(ResidualBlock(ch + skips.pop(), widths[level], emb_dim, groups))
                ch = widths[level]
            self.decoder.append(blocks)
            if level > 0:
                self.upsample.append(nn.ConvTranspose2d(ch, ch, 2, stride=2))
        self.norm_out, self.act_out = nn.GroupNorm(groups, ch), nn.SiLU()
        self.conv_out = nn.Conv2d(ch, in_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time_embed(t)
        if self.class_embed is not None:
            emb = emb + self.class_embed(y)
        h = self.conv_in(x)
        kept = [h]
        for level, blocks in enumerate(self.encoder):
            for block in blocks:
                h = block(h, emb)
                kept.append(h)
            if level < len(self.encoder) - 1:
                h = nn.functional.max_pool2d(h, 2)
                kept.append(h)
        for block in self.middle:
            h = block(h, emb)
        for index, blocks in enumerate(self.decoder):
            for block in blocks:
                h = block(torch.cat([h, kept.pop()], dim=1), emb)
            if index < len(self.upsample):
                h = self.upsample[index](h)
        return self.conv_out(self.act_out(self.norm_out(h)))
