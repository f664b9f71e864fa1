"""`cnnkit.diffusion`: denoising diffusion (DDPM, DDIM) on the repository's U-Net blocks.

schedule (β schedules and derived constants), noising (q(x_t | x_0)), embeddings (time and class), blocks and
model (`DiffusionUNet`), ema (`EMA`), gaussian (`GaussianDiffusion`, the zoo's `diffusion_unet`), loss (the
ε-objective with label dropout), samplers (DDPM, DDIM), guidance (classifier-free), generate (images from a
model), pictures (grids, trajectories), quality (the table of `cnnkit eval`).
"""

from cnnkit.diffusion.gaussian import GaussianDiffusion, diffusion_unet
from cnnkit.diffusion.generate import generate
from cnnkit.diffusion.model import DiffusionUNet
from cnnkit.diffusion.samplers import ddim_sample, ddpm_sample
from cnnkit.diffusion.schedule import NoiseSchedule, make_schedule
from cnnkit.optim.ema import EMA

__all__ = [
    "EMA",
    "DiffusionUNet",
    "GaussianDiffusion",
    "NoiseSchedule",
    "ddim_sample",
    "ddpm_sample",
    "diffusion_unet",
    "generate",
    "make_schedule",
]
