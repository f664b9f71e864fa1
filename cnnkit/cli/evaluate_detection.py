"""`cnnkit eval` for a detection run: VOC mAP@0.5 and COCO mAP@[.5:.95], the per-class table and COCOeval's 12 lines."""

from __future__ import annotations

from typing import Any


def print_detection(result: Any, test_set: Any, classes: list[str], seconds: float) -> None:
    """Print a detection evaluation (`TaskEvaluation` whose details are a `DetectionEvaluator`)."""
    evaluator = result.details
    voc, coco = evaluator.voc(), evaluator.coco()
    print(
        f"VOC mAP@0.5: {voc['map']:.4f}   COCO mAP@[.5:.95]: {coco['map']:.4f}   "
        f"({len(test_set)} scenes detected and scored in {seconds:.1f} s)"
    )
    if getattr(test_set, "dropped", 0):
        print(
            f"note: {test_set.dropped} of the {test_set.num_objects} objects share their YOLO grid cell with a "
            "larger one, so YOLO v1 cannot find them (they still count as misses)"
        )
    print()
    print(evaluator.format_table(classes))
