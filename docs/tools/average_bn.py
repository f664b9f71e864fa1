"""What recomputed batch-norm statistics do for a run's weights: each checkpoint scored before and after `update_bn`.

    python docs/tools/average_bn.py RUN [BATCHES]

For a run trained with `--ema`, scores three models on the validation split and on the test split: the best
checkpoint (the average, as the run chose it), the last epoch's trained weights and the last epoch's average;
then recomputes each one's batch-norm statistics with `cnnkit.optim.swa_utils.update_bn` over BATCHES (default 200)
batches of 32 training items, drawn at random with seed 0 and prepared as for evaluation (no augmentation), and
scores it again. The test figures are for reporting only; nothing is chosen on them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.getcwd())  # the working tree's cnnkit, not an installed one

from cnnkit.data import Subset  # noqa: E402
from cnnkit.optim.swa_utils import update_bn  # noqa: E402
from cnnkit.training.restore import load_trained_model  # noqa: E402
from cnnkit.training.run import evaluation_loader, read_config  # noqa: E402
from cnnkit.training.tasks import get_task  # noqa: E402

BATCH = 32


def scores(task, model, loaders) -> str:
    """The task's score on each split, as 'val/test'."""
    return "/".join(f"{task.evaluate(model, loader, None).score:.4f}" for loader in loaders)


def main(run: Path, batches: int) -> None:
    config = read_config(run / "config.json")
    task = get_task(config.task)
    train, val, info = task.load_data(config, "val")
    test = task.load_data(config, "test")[1]
    loaders = [evaluation_loader(task, config, info, split, 100) for split in (val, test)]
    pick = np.sort(np.random.default_rng(0).choice(len(train), size=min(batches * BATCH, len(train)), replace=False))
    statistics = evaluation_loader(task, config, info, Subset(train, pick), BATCH)
    for label, name, average in (("best (average)", "best.safetensors", False),
                                 ("last, trained weights", "last.safetensors", False),
                                 ("last, average", "last.safetensors", True)):
        model = load_trained_model(run / name, average=average)[0]
        before = scores(task, model, loaders)
        update_bn(statistics, model)
        model.eval()
        print(f"{label}: val/test {before}; after update_bn over {len(pick)} training items "
              f"{scores(task, model, loaders)}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else 200)
