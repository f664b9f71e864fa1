"""`DiffusionUNet`: the noise predictor ε_θ(x_t, t, y) of DDPM (Ho et al. 2020), built from the repository's
U-Net blocks (`DoubleConv` with GroupNorm and SiLU, inside `ResidualBlock`s).

Layout (Ho et al.'s, without attention), widths w_l = base_channels · channel_mults[l]:

    emb        TimeEmbedding(t) [+ ClassEmbedding(y)]      (N, 4·base_channels), into every residual block
    conv_in    3×3 conv in_channels → base_channels
    encoder.l  num_res_blocks ResidualBlocks → w_l, then 2×2 max-pool (not after the last level)
    middle     two ResidualBlocks at the lowest resolution
    decoder.l  num_res_blocks + 1 ResidualBlocks, each fed [h, the matching encoder output] (concatenated
               channels), then a 2×2 stride-2 transposed conv doubling the size (not after level 0)
    out        GroupNorm → SiLU → 3×3 conv → in_channels (zero-initialised: training starts from ε̂ = 0)

Every encoder output (conv_in's, each block's, each pool's) is kept and used once by the decoder, in reverse.
At 28×28 with base 32, mults (1, 2, 2) and one block per level: 28 → 14 → 7, 956,801 parameters
(958,209 with 10 classes). H and W must be multiples of 2^(levels − 1).
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnkit import nn
from cnnkit.diffusion.blocks import ResidualBlock
from cnnkit.diffusion.embeddings import ClassEmbedding, TimeEmbedding, as_steps
from cnnkit.nn import init
from cnnkit.ops.shape import cat
from cnnkit.tensor import Tensor


class DiffusionUNet(nn.Module):
    """ε-prediction U-Net; `forward(x, t, y=None)` → ε̂ of x's shape. With num_classes, y (N,) selects the class
    (None or −1: no label); without, the network is unconditional and refuses labels."""

    def __init__(
        self,
        in_channels: int = 1,
        base_channels: int = 32,
        channel_mults: Sequence[int] = (1, 2, 2),
        num_res_blocks: int = 1,
        num_classes: int | None = None,
        num_groups: int = 8,
    ) -> None:
        super().__init__()
        _check_args(in_channels, base_channels, channel_mults, num_res_blocks, num_classes, num_groups)
        self.in_channels, self.base_channels, self.num_classes = in_channels, base_channels, num_classes
        self.channel_mults, self.num_res_blocks = tuple(channel_mults), num_res_blocks
        emb_dim = 4 * base_channels
        self.time_embed = TimeEmbedding(base_channels, emb_dim)
        self.class_embed = ClassEmbedding(num_classes, emb_dim) if num_classes else None
        self.conv_in = nn.Conv2d(in_channels, base_channels, 3, padding=1)
        widths = [base_channels * m for m in channel_mults]
        skips, ch = [base_channels], base_channels
        self.encoder = nn.ModuleList()
        for level, width in enumerate(widths):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks):
                blocks.append(ResidualBlock(ch, width, emb_dim, num_groups))
                ch = width
                skips.append(ch)
            self.encoder.append(blocks)
            if level < len(widths) - 1:
                skips.append(ch)  # the pooled map
        self.pool = nn.MaxPool2d(2)
        self.middle = nn.ModuleList([ResidualBlock(ch, ch, emb_dim, num_groups) for _ in range(2)])
        self.decoder = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for level in reversed(range(len(widths))):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                blocks.append(ResidualBlock(ch + skips.pop(), widths[level], emb_dim, num_groups))
                ch = widths[level]
            self.decoder.append(blocks)
            if level > 0:
                self.upsample.append(nn.ConvTranspose2d(ch, ch, 2, stride=2))
        self.norm_out = nn.GroupNorm(num_groups, ch)
        self.act_out = nn.SiLU()
        self.conv_out = nn.Conv2d(ch, in_channels, 3, padding=1)
        init.zeros_(self.conv_out.weight)
        init.zeros_(self.conv_out.bias)

    @property
    def null_label(self) -> int | None:
        """The label index meaning "no label" (num_classes), or None for an unconditional network."""
        return self.class_embed.null_label if self.class_embed is not None else None

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, base_channels={self.base_channels}, "
            f"channel_mults={self.channel_mults}, num_res_blocks={self.num_res_blocks}, "
            f"num_classes={self.num_classes}"
        )

    def embedding(self, t: object, y: object, batch: int) -> Tensor:
        """The per-sample embedding of time steps t and labels y that every residual block receives."""
        emb = self.time_embed(as_steps(t, batch))
        if self.class_embed is not None:
            return emb + self.class_embed(y, batch)
        if y is not None:
            raise self._input_error("got class labels, but this network was built without num_classes")
        return emb

    def forward(self, x: Tensor, t: object, y: object = None) -> Tensor:
        self._check_input(x)
        emb = self.embedding(t, y, x.shape[0])
        h = self.conv_in(x)
        kept = [h]
        for level, blocks in enumerate(self.encoder):
            for block in blocks:
                h = block(h, emb)
                kept.append(h)
            if level < len(self.encoder) - 1:
                h = self.pool(h)
                kept.append(h)
        for block in self.middle:
            h = block(h, emb)
        for index, blocks in enumerate(self.decoder):
            for block in blocks:
                h = block(cat([h, kept.pop()], dim=1), emb)
            if index < len(self.upsample):
                h = self.upsample[index](h)
        return self.conv_out(self.act_out(self.norm_out(h)))

    def _check_input(self, x: Tensor) -> None:
        step = 2 ** (len(self.channel_mults) - 1)
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2] % step or x.shape[3] % step:
            raise self._input_error(
                f"expected input of shape (N, {self.in_channels}, H, W) with H and W multiples "
                f"of {step} ({len(self.channel_mults)} levels), got {x.shape}"
            )


def _check_args(
    in_channels: int,
    base_channels: int,
    channel_mults: Sequence[int],
    num_res_blocks: int,
    num_classes: int | None,
    num_groups: int,
) -> None:
    def positive(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    for name, value in (
        ("in_channels", in_channels),
        ("base_channels", base_channels),
        ("num_res_blocks", num_res_blocks),
        ("num_groups", num_groups),
    ):
        if not positive(value):
            raise ValueError(f"DiffusionUNet: expected {name} to be a positive int, got {value!r}")
    if not channel_mults or not all(positive(m) for m in channel_mults):
        raise ValueError(f"DiffusionUNet: expected channel_mults to be positive ints, got {channel_mults!r}")
    if num_classes is not None and not positive(num_classes):
        raise ValueError(f"DiffusionUNet: expected num_classes to be None or a positive int, got {num_classes!r}")
    if base_channels % 2:
        raise ValueError(f"DiffusionUNet: base_channels is the sinusoid's size and must be even, got {base_channels}")
    bad = [base_channels * m for m in channel_mults if (base_channels * m) % num_groups]
    if bad:
        raise ValueError(f"DiffusionUNet: num_groups {num_groups} must divide every width, not {bad}")
