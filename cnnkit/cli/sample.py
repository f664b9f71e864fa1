"""`cnnkit generate CHECKPOINT` (also `cnnkit sample`): images from a trained diffusion model (a `--task generate`
run), as a PNG grid.

One row per class when the model is class-conditional (or n samples of one `--class`), DDIM with S steps
and η, or DDPM over all T steps, classifier-free guidance w, the EMA weights; the same seed gives the same
images. `--trajectory STRIP.png` also draws x_T … x_0 of a few samples.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

MAX_SAMPLES = 10_000  # one grid: 100 × 100 images (a 2,800-pixel square at 28 × 28)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "generate",
        aliases=["sample"],
        help="generate images with a trained diffusion model",
        description="Generate images with a diffusion model trained by `cnnkit train --task "
        "generate`, written as a PNG grid (one row per class unless --class or "
        "--unconditional).",
    )
    p.add_argument("checkpoint", metavar="RUN_OR_CHECKPOINT")
    p.add_argument("--n", type=int, default=64,
                   help="number of samples (default 64); one row per class for a conditional model: n // classes "
                        "per row, at least one (64 → 60 for 10 classes)")
    p.add_argument("--steps", type=int, default=50, help="DDIM steps (DDPM always takes all T)")
    p.add_argument("--sampler", default="ddim", choices=["ddim", "ddpm"], help="sampler (default ddim)")
    p.add_argument("--eta", type=float, default=1.0,
                   help="DDIM's stochasticity: 0 deterministic, 1 like DDPM (default 1: measured level with DDPM-1000 "
                        "where η = 0 was 46 %% worse; see the README)")
    p.add_argument(
        "--guidance",
        type=float,
        default=None,
        help="classifier-free guidance weight w (default 2 for class-conditional samples)",
    )
    p.add_argument(
        "--class",
        dest="class_name",
        default=None,
        metavar="NAME_OR_ID",
        help="sample only this class (a name such as Sneaker, or its index)",
    )
    p.add_argument("--unconditional", action="store_true", help="sample without labels (the ∅ label)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise; the same seed gives the same images")
    p.add_argument("--online", action="store_true",
                   help="use the online weights instead of their EMA (a training checkpoint only: an --ema-only "
                        "export, such as a shipped model, has no online weights)")
    p.add_argument("--cols", type=int, default=8, help="grid columns when not one row per class")
    p.add_argument("--out", default="samples.png", help="the grid PNG to write")
    p.add_argument(
        "--trajectory",
        default=None,
        metavar="STRIP.png",
        help="also write the denoising trajectory of the first samples (one per row)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar (it shows only on a terminal anyway)")
    p.set_defaults(run=run)


def load_generator(path: str):
    """(GaussianDiffusion in eval mode, checkpoint metadata, DataInfo) of a generation run or checkpoint."""
    from cnnkit.training.checkpoint import load_checkpoint
    from cnnkit.training.restore import load_trained_model, resolve_checkpoint

    kind = load_checkpoint(resolve_checkpoint(path)).meta.get("kind")
    if kind != "generation":
        raise ValueError(
            f"{path} holds a {kind} model, not a diffusion model: train one with cnnkit train --task generate"
        )
    return load_trained_model(path)


def class_index(name: str, classes: list[str]) -> int:
    """A class given by name (case-insensitive) or by index."""
    lowered = [c.lower() for c in classes]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    if name.isdigit() and int(name) < len(classes):
        return int(name)
    raise ValueError(f"unknown class {name!r}; classes: {', '.join(f'{i} {c}' for i, c in enumerate(classes))}")


def plan(args: argparse.Namespace, model, classes: list[str]):
    """(labels or None, guidance, grid columns, row labels) from the options."""
    import numpy as np

    conditional = model.num_classes is not None and not args.unconditional
    if args.class_name is not None and not conditional:
        raise ValueError("--class needs a class-conditional model and no --unconditional")
    if args.guidance is not None and (not conditional or not 0 <= args.guidance < math.inf):
        raise ValueError(f"--guidance needs class-conditional samples and a finite weight >= 0, got {args.guidance}")
    if not 0 <= args.eta < math.inf:
        raise ValueError(f"--eta must be a finite number >= 0, got {args.eta}")
    if args.n < 1 or args.cols < 1:
        raise ValueError(f"--n and --cols must be positive, got {args.n} and {args.cols}")
    if args.steps < 1:
        raise ValueError(f"--steps must be positive, got {args.steps}")
    if args.n > MAX_SAMPLES:  # all samples are held at once and drawn in one grid
        raise ValueError(f"--n {args.n} is more than the {MAX_SAMPLES:,} samples one grid holds; run several "
                         "times with different --seed and --out")
    guidance = 2.0 if args.guidance is None else args.guidance
    if not conditional:
        return None, 0.0, args.cols, None
    if args.class_name is not None:
        return np.full(args.n, class_index(args.class_name, classes)), guidance, args.cols, None
    per_class = max(1, args.n // len(classes))
    return np.repeat(np.arange(len(classes)), per_class), guidance, per_class, classes


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cnnkit.diffusion.generate import generate
    from cnnkit.diffusion.pictures import save_sample_grid, save_trajectory
    from cnnkit.training.export import is_ema_only

    model, meta, info = load_generator(args.checkpoint)
    if args.online and is_ema_only(meta):
        raise ValueError(f"--online: {args.checkpoint} is an --ema-only export and holds only the averaged weights; "
                         "use a run folder or its checkpoint")
    labels, guidance, cols, row_labels = plan(args, model, list(info.classes))
    n = len(labels) if labels is not None else args.n
    start = time.perf_counter()
    result = generate(
        model,
        n,
        labels=labels,
        guidance=guidance,
        sampler=args.sampler,
        steps=args.steps,
        eta=args.eta,
        seed=args.seed,
        use_ema=not args.online,
        trajectory=10 if args.trajectory else 0,
        progress=not args.quiet and sys.stderr.isatty(),
        image_shape=tuple(info.input_shape),
    )
    if not np.isfinite(result.images).all():
        raise ValueError(f"the samples of {args.checkpoint} are not finite numbers (NaN or infinity); nothing was "
                         f"written to {args.out}")
    how = f"DDIM-{args.steps}, η {args.eta:g}" if args.sampler == "ddim" else f"DDPM-{model.schedule.timesteps}"
    how += f", guidance {guidance:g}" if labels is not None else ", unconditional"
    if args.class_name is not None:
        how += f", class {info.classes[int(labels[0])]}"
    how += f", {'online' if args.online else 'EMA'} weights, seed {args.seed}"
    title = f"{meta['config']['model']} epoch {meta['epoch']}: {how}"
    save_sample_grid(result.images, args.out, cols=cols, row_labels=row_labels, title=title)
    print(f"wrote {args.out}: {n} samples ({how}) in {time.perf_counter() - start:.1f} s")
    if args.trajectory:
        save_trajectory(result.trajectory, args.trajectory, samples=min(n, 6), title=f"x_T … x_0: {how}")
        print(f"wrote {args.trajectory}: the denoising trajectory of {min(n, 6)} samples")
    return 0
