"""Training tasks: what differs between classifying whole images and labelling every pixel.

The trainer (`cnnkit.training.run`) is one loop; a `Task` supplies the data, the loss, the score it
tracks and the evaluation. `get_task("classify" | "segment" | "detect")` returns one.
"""

from __future__ import annotations

from cnnkit.training.tasks.base import Task, TaskEvaluation
from cnnkit.training.tasks.classification import CLASSIFY
from cnnkit.training.tasks.detection import DETECT
from cnnkit.training.tasks.generation import GENERATE
from cnnkit.training.tasks.segmentation import SEGMENT

TASKS = {task.name: task for task in (CLASSIFY, SEGMENT, GENERATE, DETECT)}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}")
    return TASKS[name]


__all__ = ["TASKS", "Task", "TaskEvaluation", "get_task"]
