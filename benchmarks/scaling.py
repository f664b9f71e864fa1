"""Batch scaling: the LeNet-5 and ResNet-20 training steps at batch 32, 64, 128 and 256.

The cost of a step should be linear in the batch: the report divides each median step time by the batch
(time per image) and gives (time per image at 256) / (time per image at 32), which should stay ≤ 1.1
(`report.scaling_rows` computes it). A ratio well above 1 means something costs more than linearly,
e.g. buffers that outgrow the cache or a Python loop over the batch. PyTorch is timed alongside, interleaved,
for reference. The steps are `workloads_models.model_case`, so the same sameness check runs first.
"""

from __future__ import annotations

from benchmarks.report import Target
from benchmarks.workload import Workload
from benchmarks.workloads_models import model_case

MODELS = ("lenet5", "resnet20")
BATCHES = (32, 64, 128, 256)
SCALING_TARGET = Target("<=", 1.1)
QUICK = {("lenet5", 32), ("lenet5", 256)}


def workloads() -> list[Workload]:
    return [Workload(f"scaling {name} train b{batch}", "scaling", _builder(name, batch), None,
                     (name, batch) in QUICK, {"model": name, "batch": batch})
            for name in MODELS for batch in BATCHES]


def _builder(name: str, batch: int):
    return lambda torch: model_case(name, batch, True, torch)
