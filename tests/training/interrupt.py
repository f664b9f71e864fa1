"""Kill a training run during its second epoch, as a crash or Ctrl-C would, for the resume tests of every task."""

from __future__ import annotations

import pytest

from cnnkit.training import run
from cnnkit.training.run import RunConfig, train


def train_killed_in_epoch_two(config: RunConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run `train(config)` until epoch 2 starts, then die there; the checkpoint of epoch 1 stays behind."""
    real_epoch, calls = run.train_epoch, {"n": 0}

    def killed_in_epoch_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process dies during epoch 2
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(run, "train_epoch", killed_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False, log=lambda *_: None)
    monkeypatch.setattr(run, "train_epoch", real_epoch)
