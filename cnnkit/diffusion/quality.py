"""The quality table of a trained diffusion model: its samples against baselines, in a classifier's features.

All sets have the same size n and are compared with the same reference, the real test images:
    FID of real training images (the floor), per-class mean images, a per-class Gaussian in 40 PCA
    dimensions, uniform noise (the ceiling), unconditional samples, and class-conditional samples with
    guidance w (labels balanced over the classes);
    label agreement of the conditional samples (overall and per class); class coverage of the
    unconditional ones; the copy check of both (share of samples nearer to a training image than the 1st
    percentile of the test images' own nearest-training-image distances).
Samples come from `sample_set`, in chunks (500 images of DDIM-50, 25 of DDPM-1000); with a `store` folder each
chunk is kept there, so that an evaluation killed after hours resumes where it stopped (`cnnkit eval` keeps them
in RUN/eval-samples).
Optionally, DDIM against DDPM-1000 on `ddpm_check` unconditional samples each (FID is biased in N, so those
two are compared with each other and with real training images of the same number).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from cnnkit.diffusion.gaussian import GaussianDiffusion
from cnnkit.diffusion.generate import balanced_labels
from cnnkit.diffusion.sample_store import chunk_size, sample_set
from cnnkit.metrics import baselines
from cnnkit.metrics.copy_check import CopyCheck, copy_check, nearest_distances
from cnnkit.metrics.generative import FeatureExtractor, GaussianStats, class_coverage, fid, label_agreement

PARTS = ("unconditional", "conditional", "ddpm-check")


@dataclass
class QualityReport:
    """Every number of the table; `format_quality` renders it."""

    n: int
    settings: str
    fid: dict[str, float] = field(default_factory=dict)
    agreement: float | None = None
    agreement_per_class: np.ndarray | None = None
    coverage: np.ndarray | None = None
    copies: dict[str, CopyCheck] = field(default_factory=dict)
    ddpm_check: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def measure_quality(
    model: GaussianDiffusion,
    features: FeatureExtractor,
    train: tuple[np.ndarray, np.ndarray],
    test: np.ndarray,
    num_classes: int,
    *,
    n: int = 5000,
    steps: int = 50,
    eta: float = 0.0,
    guidance: float = 2.0,
    seed: int = 0,
    ddpm_check: int = 0,
    store: str | Path | None = None,
    parts: Collection[str] = PARTS,
    progress: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> QualityReport:
    """Measure the table for `model`; train = (images, labels) and test images are (N, C, H, W) in [0, 1].

    `parts` picks the sample sets to generate and measure (the baselines are always measured): two processes
    given different parts and the same `store` fill it side by side, and a last run reads every set back."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"measure_quality: unknown parts {sorted(unknown)}; expected some of {', '.join(PARTS)}")
    train_images, train_labels = train
    shape = tuple(train_images.shape[1:])
    rng = np.random.default_rng(seed)
    settings = f"DDIM-{steps}, η = {eta:g}, EMA weights, seed {seed}, guidance {guidance:g} when conditional"
    report = QualityReport(n, settings)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        report.seconds[name] = round(time.perf_counter() - clock, 1)
        log(f"  {name}: {report.seconds[name]:.1f} s")
        clock = time.perf_counter()

    samples = partial(sample_set, model, eta=eta, image_shape=shape, store=store, progress=progress, log=log)
    reference = GaussianStats.of(features(test)[0])
    test_distances = nearest_distances(test, train_images)
    lap("reference features and test images' nearest-training distances")
    sets = {
        "real training images": baselines.real_images(train_images, train_labels, n, rng)[0],
        "per-class mean images": baselines.class_mean_images(train_images, train_labels, n, num_classes)[0],
        "per-class Gaussian, 40 PCA dims": baselines.pca_gaussian_images(
            train_images, train_labels, n, num_classes, rng
        )[0],
        "uniform noise": baselines.noise_images(n, shape, num_classes, rng)[0],
    }
    for name, images in sets.items():
        report.fid[name] = fid(features(images)[0], reference)
    lap("baselines")
    if "unconditional" in parts:
        unconditional = samples(n, steps=steps, seed=seed, name="unconditional")
        feats, logits = features(unconditional)
        report.fid["samples, unconditional"] = fid(feats, reference)
        report.coverage = class_coverage(logits, num_classes)
        report.copies["unconditional"] = copy_check(unconditional, train_images, test, test_distances=test_distances)
        lap("unconditional samples")
    if "conditional" in parts and model.num_classes is not None:
        labels = balanced_labels(n, model.num_classes)
        conditional = samples(n, labels=labels, guidance=guidance, steps=steps, seed=seed + 1, name="conditional")
        feats, logits = features(conditional)
        report.fid[f"samples, conditional w = {guidance:g}"] = fid(feats, reference)
        report.agreement, report.agreement_per_class = label_agreement(logits, labels, num_classes)
        report.copies[f"conditional w = {guidance:g}"] = copy_check(
            conditional, train_images, test, test_distances=test_distances
        )
        lap("conditional samples")
    if ddpm_check and "ddpm-check" in parts:
        report.ddpm_check = _ddpm_check(samples, model, features, reference, train_images, ddpm_check, steps, eta, seed,
                                         rng)
        lap("DDIM vs DDPM")
    return report


def _ddpm_check(samples, model, features, reference, train_images, m, steps, eta, seed, rng) -> dict[str, float]:
    real = train_images[rng.choice(len(train_images), m, replace=False)]
    chunk = chunk_size("ddpm", steps, model.schedule.timesteps)  # DDPM's chunks for both: the same starting noise
    ddim = samples(m, steps=steps, seed=seed + 2, chunk=chunk, name="DDIM check")
    ddpm = samples(m, sampler="ddpm", seed=seed + 2, chunk=chunk, name="DDPM check")
    return {
        f"real training images ({m})": fid(features(real)[0], reference),
        f"DDIM-{steps}{f' η {eta:g}' if eta else ''} ({m})": fid(features(ddim)[0], reference),
        f"DDPM-{model.schedule.timesteps} ({m})": fid(features(ddpm)[0], reference),
    }


def format_quality(report: QualityReport, classes: list[str]) -> str:
    """The report as text tables."""
    lines = [
        f"FID against the test images, in the classifier's penultimate features ({report.n} images per set; "
        f"{report.settings}):",
        "",
    ]
    lines += [f"  {name:<36} {value:10.2f}" for name, value in report.fid.items()]
    if report.agreement is not None:
        lines += ["", f"label agreement of the conditional samples: {report.agreement:.4f}", ""]
        lines += [f"  {name:<16} {share:.4f}" for name, share in zip(classes, report.agreement_per_class, strict=True)]
    if report.coverage is not None:
        lines += ["", "class coverage of the unconditional samples (share predicted as each class):", ""]
        lines += [f"  {name:<16} {share:.4f}" for name, share in zip(classes, report.coverage, strict=True)]
    if report.copies:
        check = next(iter(report.copies.values()))
        lines += [
            "",
            f"copy check: share of samples nearer to a training image than {check.threshold:.3f} (the "
            f"{check.percentile:g}st percentile of the test images' own nearest-training distances):",
            "",
        ]
        lines += [f"  {name:<36} {c.share_below:.4f}" for name, c in report.copies.items()]
    if report.ddpm_check:
        lines += ["", "DDIM against DDPM (unconditional, FID against the test images):", ""]
        lines += [f"  {name:<36} {value:10.2f}" for name, value in report.ddpm_check.items()]
    return "\n".join(lines)
