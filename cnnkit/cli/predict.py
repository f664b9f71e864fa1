"""`cnnkit predict CHECKPOINT IMAGE...`: the top-k classes of each image with their probabilities.

A segmentation checkpoint writes a mask and an overlay per image instead (`predict_segmentation`); a detection
checkpoint prints each image's boxes and writes the image with them drawn (`predict_detection`).
"""

from __future__ import annotations

import argparse
import json

from cnnkit.cli.evaluate import add_tta_option, with_tta


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="classify image files with a trained model (or label their pixels, or box "
                                       "their objects)",
                       description="Classify image files, or with a segmentation model label every pixel, or with "
                                   "a detector box the objects. Each image is converted as the model's training "
                                   "data was: to grey or RGB, resized (stretched) to the training size, scaled "
                                   "to [0, 1] and normalised with the training set's mean and std.")
    p.add_argument("checkpoint", metavar="RUN_OR_CHECKPOINT")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--top-k", type=int, default=3, help="how many classes to show per image (at least 1)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_tta_option(p)
    p.add_argument("--out-dir", default=None, help="segmentation models: where to write NAME.mask.png and "
                                                   "NAME.overlay.png; detectors: NAME.boxes.png, NAME being the "
                                                   "image's file name without its extension (default: beside "
                                                   "each image)")
    p.add_argument("--explain", action="store_true",
                   help="classifiers: also write IMAGE.cam.png (the whole file name, e.g. shoe.png.cam.png), the "
                        "image with the predicted class's Grad-CAM over it (in --out-dir if given)")
    p.add_argument("--cam-layer", default=None, metavar="NAME",
                   help="with --explain: the layer whose output Grad-CAM weighs (default: the last one giving "
                        "feature maps, e.g. the last ReLU)")
    p.add_argument("--score-threshold", type=float, default=0.3,
                   help="detectors: show boxes scoring at least this (default 0.3)")
    p.add_argument("--iou-threshold", type=float, default=0.5,
                   help="detectors: per-class NMS drops a box overlapping a better one by more than this IoU "
                        "(default 0.5)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import cnnkit
    from cnnkit.training.restore import load_trained_model, prepare_image

    if args.top_k < 1:
        raise ValueError(f"--top-k must be at least 1, got {args.top_k}")
    model, meta, info = load_trained_model(args.checkpoint)
    model = with_tta(model, args.tta, meta.get("kind", "classification"), meta["config"].get("augment", "none"))
    if meta.get("kind") == "segmentation":
        from cnnkit.cli.predict_segmentation import run_segmentation

        return run_segmentation(model, info, args.images, args.out_dir, args.json)
    if meta.get("kind") == "detection":
        from cnnkit.cli.predict_detection import run_detection

        return run_detection(model, info, args.images, args.out_dir, args.json, args.score_threshold,
                             args.iou_threshold)
    if meta.get("kind") == "generation":
        raise ValueError(f"{args.checkpoint} is a diffusion model: it makes images rather than labelling them; "
                         "use cnnkit generate")
    k = min(args.top_k, len(info.classes))
    batch = np.concatenate([prepare_image(path, info) for path in args.images])
    with cnnkit.no_grad():
        logits = model(cnnkit.tensor(batch))._data
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = z / z.sum(axis=1, keepdims=True)
    bad = [path for path, row in zip(args.images, probs, strict=True) if not np.isfinite(row).all()]
    if bad:
        raise ValueError(f"{args.checkpoint} gives non-finite scores (NaN or infinity) for {', '.join(bad)}; "
                         "nothing to report")
    results = []
    for path, p in zip(args.images, probs, strict=True):
        order = np.argsort(-p)[:k]
        results.append({"image": path, "top": [{"class": info.classes[i], "index": int(i),
                                                "probability": round(float(p[i]), 6)} for i in order]})
    if args.explain:
        for r, image in zip(results, batch, strict=True):
            r["explanation"] = str(_explain(model, image, r["image"], info.classes, args.out_dir, args.cam_layer))
    if args.json:
        print(json.dumps(results, indent=2, allow_nan=False))
        return 0
    for r in results:
        print(r["image"])
        for rank, t in enumerate(r["top"], start=1):
            print(f"  {rank:>2}. {t['class']:<14} {t['probability']:.4f}")
        if "explanation" in r:
            print(f"  Grad-CAM: {r['explanation']}")
    return 0


def _explain(model, image, path: str, classes: list[str], out_dir: str | None, layer: str | None):
    """Write IMAGE.cam.png: the image with the predicted class's Grad-CAM over it."""
    from pathlib import Path

    from cnnkit.viz.explain import grad_cam
    from cnnkit.viz.explain_figure import plot_explanation

    source = Path(path)
    folder = Path(out_dir) if out_dir else source.parent
    cam = grad_cam(model, layer, image)
    return plot_explanation(image, cam, classes, folder / f"{source.name}.cam.png",
                            f"{source.name}: {classes[cam.target]} {cam.probability:.1%}\nGrad-CAM at {cam.layer}")
