"""`cnnkit eval RUN` for a diffusion run: the quality table (FID against baselines, label agreement per class,
class coverage, copy check) in the features of a Fashion-MNIST classifier (the shipped `fashion_vgg` weights,
or `--features CHECKPOINT`). Generated samples are kept chunk by chunk in eval-samples/ beside the checkpoint
or in `--sample-dir` (`cnnkit.diffusion.sample_store`); `--parts` measures some of the sample sets only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnkit.diffusion.quality import PARTS


def add_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("diffusion runs")
    g.add_argument("--samples", type=int, default=5000, help="images per compared set (default 5000)")
    g.add_argument("--steps", type=int, default=50, help="DDIM steps of the samples (default 50)")
    g.add_argument("--eta", type=float, default=1.0,
                   help="DDIM's η for the DDIM sample sets (0: deterministic; 1: as stochastic as DDPM, the default, "
                        "which measured the better FID)")
    g.add_argument("--guidance", type=float, default=2.0, help="guidance weight of the conditional samples")
    g.add_argument("--seed", type=int, default=0, help="seed of the samples and baselines")
    g.add_argument(
        "--features",
        default=None,
        metavar="CHECKPOINT",
        help="classifier checkpoint whose penultimate layer gives the features (default: the shipped "
        "fashion_vgg weights)",
    )
    g.add_argument(
        "--ddpm-check",
        type=int,
        default=0,
        metavar="N",
        help="also compare DDIM with DDPM-1000 on N unconditional samples each (slow: 1000 steps)",
    )
    g.add_argument(
        "--parts",
        default=None,
        help=f"sample sets to generate and measure, comma-separated (default {','.join(PARTS)}); two "
        "evaluations run side by side on two cores share the work (each claims the chunks it makes), then "
        "one more prints the whole table from the stored samples",
    )
    g.add_argument(
        "--sample-dir",
        default=None,
        metavar="DIR",
        help="where to keep the generated chunks (default: eval-samples/ beside the checkpoint; for a model file "
        "shipped inside the cnnkit package, ./eval-samples/<file name> in the current folder)",
    )
    g.add_argument(
        "--no-sample-store",
        action="store_true",
        help="do not keep the generated samples in RUN/eval-samples (by default each chunk, 500 images of "
        "DDIM-50, is kept there, so a killed evaluation resumes and a repeated one reads them back)",
    )


def sample_dir(checkpoint: str, given: str | None) -> Path:
    """Where the sample chunks are kept: `given`, else eval-samples/ beside the checkpoint, except that a file
    inside the installed package (a shipped model) is not written beside: that may be site-packages."""
    import cnnkit
    from cnnkit.training.restore import resolve_checkpoint

    if given is not None:
        return Path(given)
    path = resolve_checkpoint(checkpoint).resolve()
    package = Path(cnnkit.__file__).resolve().parent
    if path.is_relative_to(package):
        return Path("eval-samples") / path.stem
    return path.parent / "eval-samples"


def chosen_parts(given: str | None, ddpm_check: int, conditional: bool) -> list[str]:
    """The sample sets to measure: all of them by default; named ones must be measurable, not skipped in silence."""
    if given is None:
        return list(PARTS)
    parts = [part.strip() for part in given.split(",") if part.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"--parts: unknown {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if "ddpm-check" in parts and ddpm_check < 1:
        raise ValueError("--parts ddpm-check needs --ddpm-check N (the number of images of each sampler)")
    if "conditional" in parts and not conditional:
        raise ValueError("--parts conditional needs a class-conditional model; this one is unconditional")
    return parts


def run_generation(args: argparse.Namespace, model, meta: dict, info) -> int:
    import numpy as np

    from cnnkit.data.loader import gather_arrays
    from cnnkit.diffusion.quality import format_quality, measure_quality
    from cnnkit.metrics.generative import load_feature_model
    from cnnkit.training.datasets import data_dir_for_run, load_classification_data

    parts = chosen_parts(args.parts, args.ddpm_check, model.num_classes is not None)
    features = load_feature_model(args.features)
    if features.classes is not None and list(features.classes) != list(info.classes):
        raise ValueError(f"the feature classifier's classes {features.classes} differ from the run's {info.classes}")
    config = meta["config"]
    train, test, _ = load_classification_data(
        config["dataset"], data_dir_for_run(args.data_dir, config.get("data_dir"), config["dataset"]))
    train_images, train_labels = gather_arrays(train, np.arange(len(train)))
    test_images, _ = gather_arrays(test, np.arange(len(test)))
    if not 2 <= args.samples <= len(train_images):
        raise ValueError(f"--samples must lie between 2 and {len(train_images)}, got {args.samples}")
    print(
        f"model {config['model']} (checkpoint of epoch {meta['epoch']}) on {info.dataset}: {args.samples} samples "
        f"per set, reference = {len(test_images)} test images"
    )
    report = measure_quality(
        model,
        features,
        (train_images, train_labels),
        test_images,
        len(info.classes),
        n=args.samples,
        steps=args.steps,
        eta=args.eta,
        guidance=args.guidance,
        seed=args.seed,
        ddpm_check=args.ddpm_check,
        store=None if args.no_sample_store else sample_dir(args.checkpoint, args.sample_dir),
        parts=parts,
        progress=sys.stderr.isatty(),
        log=print,
    )
    print()
    print(format_quality(report, list(info.classes)))
    return 0
