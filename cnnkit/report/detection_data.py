"""Everything a report shows about a detection run, loaded once: settings, history, the best model, and its
detections on the test scenes scored as `cnnkit eval` scores them.

The model and the scenes are found as `cnnkit eval` finds them: the run's best checkpoint (else its last), or
an exported weights file's (`run_data.open_run`), its stored config (with `data_dir` replaced when given), the
test split of its scenes and the task's evaluation (`tasks.detection.evaluate`: the detector on every scene, YOLO
at score ≥ 0.01, propose-classify at its own 0.05, into a `DetectionEvaluator`). `max_scenes` scores only the
first scenes of the split: the page of a propose-classify run, whose detector crops and classifies ~400
proposals a scene, can use a subset. The evaluator keeps every scene's detections, so the figures draw them
without a second pass.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnkit.detection.dataset import DetectionArrays
from cnnkit.metrics.detection import DetectionEvaluator
from cnnkit.report.run_data import RunFolder, open_run


@dataclass
class DetectionRun(RunFolder):
    scenes: DetectionArrays  # the scored test scenes (the first `len(scenes)` of the split)
    split_size: int  # scenes in the whole test split
    evaluator: DetectionEvaluator  # one entry per scored scene, image_id = its index
    seconds: float  # detecting and scoring the scenes

    def target(self, index: int) -> dict[str, np.ndarray]:
        return {"boxes": self.scenes.boxes[index], "labels": self.scenes.labels[index]}

    def prediction(self, index: int) -> dict[str, np.ndarray]:
        """The detections scored for scene `index` (boxes, scores, labels)."""
        image = self.evaluator.images[index]
        return {"boxes": image.pred_boxes, "scores": image.pred_scores, "labels": image.pred_labels}


def load_detection_run(
    run_dir: str | os.PathLike, data_dir: str | None = None, max_scenes: int | None = None, batch_size: int = 100
) -> DetectionRun:
    """Load a detection run folder or exported weights file and score its model on the test scenes (the first
    max_scenes)."""
    from cnnkit.training.datasets import data_dir_for_run
    from cnnkit.training.run import RunConfig, evaluation_loader
    from cnnkit.training.tasks import get_task
    from cnnkit.training.tasks.detection import detection_arrays

    run = open_run(run_dir)
    run_config = RunConfig.from_stored(dict(run.meta["config"]), f"{run.run_dir} (its checkpoint's config)")
    run_config.data_dir = data_dir_for_run(data_dir, run_config.data_dir, run_config.dataset)
    task = get_task(run_config.task)
    test_set = detection_arrays(run_config, "test")  # what task.load_data(split="test") holds out, without train
    scenes = first_scenes(test_set, len(test_set) if max_scenes is None else max_scenes, run_config)
    started = time.perf_counter()
    result = task.evaluate(run.model, evaluation_loader(task, run_config, run.info, scenes, batch_size), None)
    seconds = time.perf_counter() - started
    return DetectionRun(**vars(run), scenes=scenes, split_size=len(test_set), evaluator=result.details,
                        seconds=seconds)


def first_scenes(scenes: DetectionArrays, count: int, config: Any) -> DetectionArrays:
    """The first `count` scenes (all when count ≥ their number), with YOLO's count of unencodable objects
    recounted among them."""
    from cnnkit.detection.yolo import encode_targets
    from cnnkit.training.tasks.detection import IMAGE_SIZE, model_name

    if count >= len(scenes):
        return scenes
    boxes, labels = scenes.boxes[:count], scenes.labels[:count]
    dropped = 0
    if model_name(config) == "yolo":
        grid = config.model_args.get("grid", 8)
        _, dropped = encode_targets(boxes, labels, len(scenes.classes), grid, IMAGE_SIZE)
    return dataclasses.replace(
        scenes,
        images=scenes.images[:count],
        boxes=boxes,
        labels=labels,
        encoded=scenes.encoded[:count],
        dropped=dropped,
        source=f"the first {count} of {scenes.source}",
    )
