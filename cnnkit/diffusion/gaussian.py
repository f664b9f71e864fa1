"""`GaussianDiffusion`: what a diffusion run trains and its checkpoint stores — the ε-network, the EMA of its
weights, the noise schedule and the label-dropout rate — and `diffusion_unet`, its builder in the model zoo.

`forward(x, t, y)` is the network's ε̂ with the current (online) weights; `denoiser()` gives the EMA copy,
which the samplers use. `state_dict()` holds `net.*`, `ema.shadow.*` and `ema.num_updates`; the schedule is
rebuilt from the builder's arguments (stored with the run as model_args).
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnkit import nn
from cnnkit.diffusion.model import DiffusionUNet
from cnnkit.diffusion.schedule import make_schedule
from cnnkit.optim.ema import EMA
from cnnkit.tensor import Tensor


class GaussianDiffusion(nn.Module):
    """A DiffusionUNet with its EMA, a noise schedule of `timesteps` steps and label dropout `p_uncond`."""

    def __init__(
        self,
        net: DiffusionUNet,
        schedule: str = "linear",
        timesteps: int = 1000,
        ema_decay: float = 0.999,
        p_uncond: float = 0.1,
    ) -> None:
        super().__init__()
        if not 0.0 <= p_uncond < 1.0:
            raise ValueError(f"GaussianDiffusion: expected p_uncond in [0, 1), got {p_uncond!r}")
        self.net = net
        self.ema = EMA(net, ema_decay)
        self.schedule = make_schedule(schedule, timesteps)
        self.p_uncond = float(p_uncond)

    def extra_repr(self) -> str:
        return f"schedule={self.schedule.name!r}, timesteps={self.schedule.timesteps}, p_uncond={self.p_uncond}"

    @property
    def num_classes(self) -> int | None:
        return self.net.num_classes

    def denoiser(self, use_ema: bool = True) -> DiffusionUNet:
        """The network that samples: the EMA copy (default) or the online weights."""
        return self.ema.shadow if use_ema else self.net

    def forward(self, x: Tensor, t: object = 0, y: object = None) -> Tensor:
        """ε̂(x, t, y) of the online network (t defaults to step 0, which lets `summary` run the model)."""
        return self.net(x, t, y)


def diffusion_unet(
    *,
    num_classes: int | None = 10,
    in_channels: int = 1,
    base_channels: int = 32,
    channel_mults: Sequence[int] = (1, 2, 2),
    num_res_blocks: int = 1,
    num_groups: int = 8,
    conditional: bool = True,
    schedule: str = "linear",
    timesteps: int = 1000,
    ema_decay: float = 0.999,
    p_uncond: float = 0.1,
) -> GaussianDiffusion:
    """The zoo's diffusion model: a DiffusionUNet (class-conditional unless conditional=False) in a
    GaussianDiffusion. Defaults: 28×28 grey images, widths 32/64/64, one residual block per level, linear
    β schedule over 1000 steps, EMA decay 0.999, labels dropped with p = 0.1 for classifier-free guidance."""
    net = DiffusionUNet(
        in_channels,
        base_channels,
        tuple(channel_mults),
        num_res_blocks,
        num_classes if conditional else None,
        num_groups,
    )
    return GaussianDiffusion(net, schedule, timesteps, ema_decay, p_uncond)
