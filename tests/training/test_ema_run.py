"""`--ema`: a run that keeps a moving average of its weights validates it, keeps it as best, and resumes it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnkit.serialization import CheckpointError
from cnnkit.training.checkpoint import load_checkpoint
from cnnkit.training.restore import load_trained_model
from cnnkit.training.run import RunConfig, evaluation_loader, train
from cnnkit.training.tasks import get_task
from tests.training.interrupt import train_killed_in_epoch_two
from tests.training.tiny_data import write_tiny_fashion

DECAY = 0.9


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(write_tiny_fashion(tmp_path_factory.mktemp("fashion"), n_train=360))  # 324 train, 36 validation


def _config(data_dir, out, **overrides) -> RunConfig:
    settings = dict(model="lenet5_relu", dataset="fashion-mnist", data_dir=data_dir, epochs=2, batch_size=32,
                    lr=0.05, out=str(out), eval_batch_size=50, ema=DECAY)
    return RunConfig(**{**settings, **overrides})


def test_the_average_is_validated_and_kept_as_best(data_dir, tmp_path):
    config = _config(data_dir, tmp_path / "run")
    result = train(config, progress=False, log=lambda *_: None)
    last = load_checkpoint(result.run_dir / "last.safetensors")
    assert int(last.ema_state["num_updates"]) == 2 * 11  # 324 images in batches of 32: 11 steps an epoch
    best = load_checkpoint(result.run_dir / "best.safetensors")
    assert best.ema_state is None and best.optimizer_state is None
    average = {k[len("shadow."):]: v for k, v in last.ema_state.items() if k.startswith("shadow.")}
    assert average.keys() == last.model_state.keys() == best.model_state.keys()
    if best.meta["epoch"] == 2:  # the last epoch's average is the best checkpoint's weights, not the trained ones
        assert all(np.array_equal(best.model_state[k], average[k]) for k in average)
    assert not all(np.array_equal(last.model_state[k], average[k]) for k in average)

    task = get_task("classify")  # the history's validation loss is the kept weights' own
    _, val_set, _ = task.load_data(config)
    model, _, info = load_trained_model(result.run_dir / "best.safetensors")
    loss = task.evaluate(model, evaluation_loader(task, config, info, val_set, 50), task.build_loss(config)).loss
    assert loss == pytest.approx(result.history[best.meta["epoch"] - 1]["val_loss"], rel=1e-4)


def test_the_average_by_hand_after_one_step(tmp_path):
    # one step of 32 images: d_0 = min(0.9, 1/10) = 0.1, so the average is 0.1·θ_0 + 0.9·θ_1
    data = str(write_tiny_fashion(tmp_path / "fashion", n_train=32))
    one = train(_config(data, tmp_path / "one", epochs=1, val_split=0, schedule="none"), progress=False,
                log=lambda *_: None)
    # θ_0: the same run with a step too small to change a float32 weight
    start = train(_config(data, tmp_path / "zero", epochs=1, val_split=0, schedule="none", lr=1e-30),
                  progress=False, log=lambda *_: None)
    trained = load_checkpoint(one.run_dir / "last.safetensors")
    initial = load_checkpoint(start.run_dir / "last.safetensors")
    kept = load_checkpoint(one.run_dir / "best.safetensors").model_state
    for key, theta in trained.model_state.items():
        if key.endswith("weight"):
            np.testing.assert_allclose(kept[key], 0.1 * initial.model_state[key] + 0.9 * theta, rtol=1e-5,
                                       atol=1e-7)


def test_a_killed_run_resumes_to_the_same_average(data_dir, tmp_path, monkeypatch):
    full = train(_config(data_dir, tmp_path / "full", epochs=3), progress=False, log=lambda *_: None)
    config = _config(data_dir, tmp_path / "killed", epochs=3)
    train_killed_in_epoch_two(config, monkeypatch)
    resumed = train(config, resume=True, progress=False, log=lambda *_: None)
    expected = load_checkpoint(full.run_dir / "last.safetensors").ema_state
    got = load_checkpoint(resumed.run_dir / "last.safetensors").ema_state
    assert expected.keys() == got.keys() and int(got["num_updates"]) == 3 * 11
    assert all(np.array_equal(expected[k], got[k]) for k in expected)


def test_resuming_an_average_from_a_checkpoint_without_one_is_refused(data_dir, tmp_path):
    run_dir = tmp_path / "plain"
    train(_config(data_dir, run_dir, epochs=1, ema=0.0), progress=False, log=lambda *_: None)
    stored = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**stored, "ema": DECAY, "epochs": 2}))
    with pytest.raises(CheckpointError, match=r"last.safetensors: cannot resume from it: .*\(--ema\)"):
        train(_config(data_dir, run_dir, epochs=2), resume=True, progress=False, log=lambda *_: None)


@pytest.mark.parametrize(("task", "decay"), [("classify", 1.0), ("classify", -0.1), ("generate", 0.999)])
def test_a_decay_outside_its_range_or_for_diffusion_is_refused(task, decay):
    with pytest.raises(ValueError, match="--ema must be in \\[0, 1\\), and 0 for --task generate"):
        RunConfig.for_task(task, ema=decay).validate()


def test_the_option_sets_the_decay():
    from cnnkit.cli import build_parser
    from cnnkit.cli.train import config_from_args

    assert config_from_args(build_parser().parse_args(["train", "--ema", "0.999"])).ema == 0.999
    assert config_from_args(build_parser().parse_args(["train"])).ema == 0.0


def test_a_tasks_own_decay_is_its_default_and_the_option_overrides_it(monkeypatch):
    from cnnkit.cli import build_parser
    from cnnkit.cli.train import config_from_args
    from cnnkit.training.tasks import TASKS

    monkeypatch.setitem(TASKS["detect"].defaults, "ema", 0.99)
    parse = build_parser().parse_args
    assert config_from_args(parse(["train", "--task", "detect"])).ema == 0.99
    assert config_from_args(parse(["train", "--task", "detect", "--ema", "0"])).ema == 0.0
    assert config_from_args(parse(["train"])).ema == 0.0


def test_eval_average_scores_the_last_checkpoints_average(data_dir, tmp_path, capsys):
    from cnnkit.cli import main

    run = train(_config(data_dir, tmp_path / "run", val_split=0), progress=False, log=lambda *_: None)
    last = run.run_dir / "last.safetensors"
    model, _, _ = load_trained_model(last, average=True)
    shadow = load_checkpoint(last).ema_state
    assert all(np.array_equal(value.numpy(), shadow[f"shadow.{key}"]) for key, value in model.state_dict().items())

    def accuracy(*args: str) -> str:
        assert main(["eval", *args]) == 0
        text = capsys.readouterr().out
        return text[text.index("accuracy:"):text.index("\n", text.index("accuracy:"))]

    # without a validation split the last epoch is kept: best is the average, which --average reads from last
    assert accuracy(str(last), "--average") == accuracy(str(run.run_dir / "best.safetensors"))
    assert main(["eval", str(last), "--average"]) == 0 and "epoch 2, its moving average" in capsys.readouterr().out
    assert main(["eval", str(run.run_dir), "--average"]) == 2
    assert "best.safetensors: holds no moving average of the weights" in capsys.readouterr().err
