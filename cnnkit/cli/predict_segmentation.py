"""`cnnkit predict` for a segmentation checkpoint: a class per pixel, written as a mask PNG and an overlay.

For IMAGE.png it writes IMAGE.mask.png (a palette PNG whose pixel values are the class ids, shown in VOC's
colours) and IMAGE.overlay.png (the colours blended over the image) beside it, or into --out-dir, and
prints the share of the image that each predicted class covers. An image of another size is resized to
the training size for the network and its mask resized back (nearest neighbour) to the image's size.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def predict_masks(model: Any, info: Any, paths: list[str]) -> list[np.ndarray]:
    """The predicted class-id mask of each image file, at the image's own size."""
    from PIL import Image

    import cnnkit
    from cnnkit.training.restore import prepare_image

    masks = []
    for path in paths:
        batch = prepare_image(path, info)  # converted as in training: grey, training size, normalised
        with cnnkit.no_grad():
            mask = model(cnnkit.tensor(batch))._data[0].argmax(axis=0).astype(np.uint8)
        with Image.open(path) as image:
            size = image.size
        if size != (mask.shape[1], mask.shape[0]):
            mask = np.asarray(Image.fromarray(mask).resize(size, Image.NEAREST))
        masks.append(mask)
    return masks


def write_outputs(path: str, mask: np.ndarray, out_dir: str | None) -> tuple[Path, Path]:
    from PIL import Image

    from cnnkit.data.formats.images import save_index_png
    from cnnkit.data.formats.voc import voc_palette
    from cnnkit.viz.segmentation import overlay_mask

    source = Path(path)
    folder = Path(out_dir) if out_dir else source.parent
    folder.mkdir(parents=True, exist_ok=True)
    mask_path = save_index_png(folder / f"{source.stem}.mask.png", mask, voc_palette())
    with Image.open(source) as image:
        rgb = np.asarray(image.convert("RGB"))
    overlay_path = folder / f"{source.stem}.overlay.png"
    Image.fromarray(overlay_mask(rgb, mask)).save(overlay_path)
    return mask_path, overlay_path


def run_segmentation(model: Any, info: Any, paths: list[str], out_dir: str | None, as_json: bool) -> int:
    results = []
    for path, mask in zip(paths, predict_masks(model, info, paths), strict=True):
        mask_path, overlay_path = write_outputs(path, mask, out_dir)
        ids, counts = np.unique(mask, return_counts=True)
        shares = {info.classes[i]: round(float(c) / mask.size, 4) for i, c in zip(ids, counts, strict=True)}
        results.append({"image": path, "mask": str(mask_path), "overlay": str(overlay_path), "classes": shares})
    if as_json:
        print(json.dumps(results, indent=2, allow_nan=False))
        return 0
    for r in results:
        print(f"{r['image']} -> {r['mask']}, {r['overlay']}")
        for name, share in sorted(r["classes"].items(), key=lambda item: -item[1]):
            print(f"  {name:<14} {share:7.2%} of the pixels")
    return 0
