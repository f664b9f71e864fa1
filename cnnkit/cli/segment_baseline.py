"""`cnnkit segment-baseline CLASSIFIER_RUN`: the classical segmentation baseline on the Fashion-MNIST scenes.

Threshold each scene, label its connected components, classify each with a trained Fashion-MNIST classifier
(`cnnkit.segmentation`), paint its pixels with that class, and print the same scores as `cnnkit eval` prints
for a segmentation run: pixel accuracy, mean IoU and the per-class IoU table.
"""

from __future__ import annotations

import argparse
import time

from cnnkit.cli.train import ShowDefaults

CONNECTIVITY = {4: 1, 8: 2}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "segment-baseline",
        help="score the threshold + components + classifier baseline on the Fashion-MNIST scenes",
        description="The classical baseline of semantic segmentation: threshold each Fashion-MNIST scene, "
        "label its connected components (holes filled, tiny ones dropped), classify each component with a "
        "trained Fashion-MNIST classifier and paint it with that class; prints pixel accuracy, mean IoU and "
        "the per-class IoU table on a split of the scenes, as `cnnkit eval` does for a U-Net.",
        formatter_class=ShowDefaults,
    )
    p.add_argument(
        "classifier",
        metavar="CLASSIFIER_RUN",
        nargs="?",
        default=None,
        help="run folder or checkpoint of a Fashion-MNIST classifier (e.g. runs/lenet5-fashion-mnist)",
    )
    p.add_argument("--clutter", action="store_true", help="scenes on textured backgrounds")
    p.add_argument("--split", default="test", choices=["train", "val", "test"], help="which scenes")
    p.add_argument("--threshold", default="otsu", help="'otsu' (per image) or a grey level 0-255 (pixels above it)")
    p.add_argument("--min-size", type=int, default=20, help="components smaller than this many pixels are dropped")
    p.add_argument("--connectivity", type=int, default=4, choices=[4, 8], help="pixel neighbours of a component")
    p.add_argument("--no-fill-holes", action="store_true", help="keep holes inside components")
    p.add_argument(
        "--no-mirror",
        action="store_true",
        help="classify each crop as it is only (default: average it with its mirror image)",
    )
    p.add_argument(
        "--oracle",
        action="store_true",
        help="name each component by its most common true class instead of a classifier: the "
        "ceiling of threshold + components (CLASSIFIER_RUN is then not needed)",
    )
    p.add_argument("--num-scenes", type=int, default=None, help="only the first N scenes of the split")
    p.add_argument("--seed", type=int, default=0, help="the scene generator's seed")
    p.add_argument("--data-dir", default=None, help="where Fashion-MNIST is and the scene cache goes")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cnnkit.data.scenes import FashionScenes
    from cnnkit.segmentation import BaselineSettings, RunClassifier, TruthClassifier, evaluate
    from cnnkit.segmentation.threshold import parse_threshold

    if args.classifier is None and not args.oracle:
        raise ValueError("give CLASSIFIER_RUN (a Fashion-MNIST classifier's run folder or checkpoint) or --oracle")
    if args.classifier is not None and args.oracle:
        raise ValueError("give either CLASSIFIER_RUN or --oracle, not both")
    settings = BaselineSettings(
        threshold=parse_threshold(args.threshold),
        min_size=args.min_size,
        fill_holes=not args.no_fill_holes,
        connectivity=CONNECTIVITY[args.connectivity],
    )
    settings.check()
    classes = list(FashionScenes.classes)
    classify = None if args.oracle else RunClassifier(args.classifier, classes[1:], mirror=not args.no_mirror)
    start = time.perf_counter()
    scenes = FashionScenes(
        root=args.data_dir, split=args.split, clutter=args.clutter, seed=args.seed, num_scenes=args.num_scenes
    )
    classify = classify or TruthClassifier(scenes.masks)
    confusion = evaluate(scenes.images, scenes.masks, classify, len(classes), settings)
    print(f"baseline: {describe(args, classify)}")
    print(
        f"on fashion-scenes {args.split} split ({len(scenes)} scenes, {'clutter' if args.clutter else 'plain'}, "
        f"seed {args.seed}; {time.perf_counter() - start:.1f} s)"
    )
    print(f"pixel accuracy: {confusion.pixel_accuracy():.4f}")
    print(f"mean IoU: {confusion.mean_iou():.4f}  (over the classes present in truth or prediction)\n")
    print(confusion.format_table(classes))
    return 0


def describe(args: argparse.Namespace, classify) -> str:
    """One line naming the settings: threshold, holes, component size and neighbours, the classifier."""
    holes = "holes kept" if args.no_fill_holes else "holes filled"
    named = (
        "the true classes (oracle)"
        if args.oracle
        else (f"{classify.name} from {args.classifier}{'' if args.no_mirror else ' (averaged with mirrored crops)'}")
    )
    return (f"threshold {args.threshold}, {holes}, {args.connectivity}-connected components of at least "
            f"{args.min_size} px, named by {named}")  # fmt: skip
