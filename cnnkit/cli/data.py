"""`cnnkit data scenes`: write the Fashion-MNIST scenes as a Pascal VOC, COCO or YOLO folder."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from cnnkit.cli.train import ShowDefaults

FORMATS = ("voc", "coco", "yolo")
SPLIT_CHOICES = ("train", "val", "test", "all")
STALE_FOLDERS = {  # where a split's scene files go, per format (relative to --out; {split} filled in)
    "voc": ("JPEGImages", "Annotations", "SegmentationClass", "SegmentationObject"),
    "coco": ("{split}",),
    "yolo": ("images/{split}", "labels/{split}"),
}
WHERE = {
    "voc": "JPEGImages/, SegmentationClass/, SegmentationObject/, Annotations/, ImageSets/{Main,Segmentation}/",
    "coco": "<split>/ images and annotations/instances_<split>.json",
    "yolo": "images/<split>/, labels/<split>/ and data.yaml",
}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "data",
        help="make data sets (Fashion-MNIST scenes in VOC, COCO or YOLO format)",
        description="Make data sets on disk.",
    )
    inner = p.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    inner.required = True
    s = inner.add_parser(
        "scenes",
        help="write Fashion-MNIST scenes (64×64, 1–4 items, masks and boxes) in a standard format",
        description="Write the Fashion-MNIST scenes (generated once and cached, then read from the cache) as a "
        "Pascal VOC, COCO instances or YOLO txt folder, which VOCSegmentation / VOCDetection, "
        "CocoDetection and YoloDetection read back. Files are named <split>_<index>; a split written again "
        "first loses the files an earlier run wrote for it (no other file is touched).",
        formatter_class=ShowDefaults,
    )
    s.add_argument("--out", required=True, help="folder to write into (created if missing)")
    s.add_argument("--format", required=True, choices=FORMATS, help="the folder layout")
    s.add_argument("--split", default="all", choices=SPLIT_CHOICES, help="which split(s) to write")
    s.add_argument("--count", type=int, default=None, help="write only the first N scenes of each split")
    s.add_argument("--clutter", action="store_true", help="textured backgrounds instead of black")
    s.add_argument("--seed", type=int, default=0, help="the generator's seed")
    s.add_argument("--no-ignore-border", action="store_true", help="no 255 band along object borders in the masks")
    s.add_argument(
        "--image-format",
        default=None,
        choices=["jpg", "png"],
        help="image files (default: jpg at quality 95 for voc, lossless png for coco and yolo)",
    )
    s.add_argument("--data-dir", default=None, help="where Fashion-MNIST is and the scene cache goes")
    s.set_defaults(run=run_scenes)


def remove_stale(out: Path, fmt: str, split: str) -> int:
    """Delete scene files an earlier run wrote for split (named <split>_<6 digits>.<ext>), so that a shorter or
    other-format rewrite leaves none behind for a reader to pick up; other files are never touched."""
    pattern = re.compile(rf"{re.escape(split)}_\d{{6}}\.(png|jpg|xml|txt)")
    removed = 0
    for folder in STALE_FOLDERS[fmt]:
        folder_path = out / folder.format(split=split)
        if folder_path.is_dir():
            for path in folder_path.iterdir():
                if path.is_file() and pattern.fullmatch(path.name):
                    path.unlink()
                    removed += 1
    return removed


def run_scenes(args: argparse.Namespace) -> int:
    from cnnkit.data.formats import WRITERS
    from cnnkit.data.scenes import CLASSES, SPLITS, FashionScenes

    if args.count is not None and args.count < 1:
        raise ValueError(f"--count must be at least 1, got {args.count}")
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} exists and is not a folder")
    image_format = args.image_format or ("jpg" if args.format == "voc" else "png")
    for split in SPLITS if args.split == "all" else (args.split,):
        data = FashionScenes(
            args.data_dir,
            split=split,
            clutter=args.clutter,
            ignore_border=not args.no_ignore_border,
            seed=args.seed,
            num_scenes=args.count,
        )
        remove_stale(out, args.format, split)
        records = (data.annotated(i) for i in range(len(data)))
        WRITERS[args.format](out, records, split, CLASSES, image_format=image_format)
        objects = int(data.scenes.offsets[-1])
        print(f"{split}: {len(data)} scenes, {objects} objects -> {out} ({WHERE[args.format]})")
    return 0
