"""The trainer on a tiny data set in the real file format: learning, run folder, reproducibility, resume,
and stopping on a non-finite loss."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cnnkit
from cnnkit.training import loop, run
from cnnkit.training.checkpoint import load_checkpoint
from cnnkit.training.history import TIMING_COLUMNS
from cnnkit.training.run import RunConfig, train
from tests.training.interrupt import train_killed_in_epoch_two
from tests.training.tiny_data import write_tiny_fashion


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    # 360 images: the default validation split holds out a tenth, leaving 324 to train on
    return str(write_tiny_fashion(tmp_path_factory.mktemp("fashion"), n_train=360))


def _config(data_dir, out, **overrides) -> RunConfig:
    settings = dict(model="lenet5_relu", dataset="fashion-mnist", data_dir=data_dir, epochs=3, batch_size=32,
                    lr=0.05, out=str(out), eval_batch_size=50, augment="crop")
    settings.update(overrides)
    return RunConfig(**settings)


def _weights(run_dir, name="last.safetensors"):
    return load_checkpoint(run_dir / name).model_state


def test_training_learns_and_writes_the_run_folder(data_dir, tmp_path):
    result = train(_config(data_dir, tmp_path / "run"), progress=False, log=lambda *_: None)
    files = {p.name for p in result.run_dir.iterdir()}
    assert {"config.json", "history.json", "history.csv", "last.safetensors", "best.safetensors"} <= files
    history = json.loads((result.run_dir / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert result.eval_split == "val" and result.final_score >= 0.8  # 10 classes: chance is 0.1
    assert all(row["seconds"] > 0 and row["eval_seconds"] >= 0 for row in history)  # the run's wall time, in parts
    csv_lines = (result.run_dir / "history.csv").read_text().splitlines()
    assert csv_lines[0].startswith("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds")
    assert len(csv_lines) == 4
    meta = load_checkpoint(result.run_dir / "best.safetensors").meta
    assert meta["data"]["classes"][0] == "T-shirt/top" and meta["config"]["model"] == "lenet5_relu"


def test_same_seed_gives_the_same_history_and_weights(data_dir, tmp_path):
    a = train(_config(data_dir, tmp_path / "a", epochs=2), progress=False, log=lambda *_: None)
    b = train(_config(data_dir, tmp_path / "b", epochs=2), progress=False, log=lambda *_: None)
    strip = [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in a.history]
    assert strip == [{k: v for k, v in row.items() if k not in TIMING_COLUMNS}
                     for row in b.history]
    wa, wb = _weights(a.run_dir), _weights(b.run_dir)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    c = train(_config(data_dir, tmp_path / "c", epochs=2, seed=1), progress=False, log=lambda *_: None)
    assert not np.array_equal(_weights(c.run_dir)["features.0.weight"], wa["features.0.weight"])


def test_killed_run_resumes_to_exactly_the_same_weights(data_dir, tmp_path, monkeypatch):
    full = train(_config(data_dir, tmp_path / "full", model="fashion_vgg", epochs=3), progress=False,
                 log=lambda *_: None)

    config = _config(data_dir, tmp_path / "killed", model="fashion_vgg", epochs=3)
    train_killed_in_epoch_two(config, monkeypatch)
    assert load_checkpoint(tmp_path / "killed" / "last.safetensors").meta["epoch"] == 1
    resumed = train(config, resume=True, progress=False, log=lambda *_: None)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    expected, got = _weights(full.run_dir), _weights(resumed.run_dir)
    assert expected.keys() == got.keys()
    for key in expected:  # batch-norm running statistics and momentum buffers included
        assert np.array_equal(expected[key], got[key]), key


def test_existing_run_is_not_overwritten_and_resume_needs_a_checkpoint(data_dir, tmp_path):
    config = _config(data_dir, tmp_path / "r", epochs=1)
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train(config, resume=True, progress=False, log=lambda *_: None)
    train(config, progress=False, log=lambda *_: None)
    with pytest.raises(FileExistsError, match="--resume"):
        train(config, progress=False, log=lambda *_: None)


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(data_dir, tmp_path, monkeypatch):
    real_cross_entropy = cnnkit.nn.CrossEntropyLoss.forward
    state = {"epoch": 0}
    real_epoch = loop.train_epoch

    def count_epochs(*args, **kwargs):
        state["epoch"] = kwargs["epoch"]
        return real_epoch(*args, **kwargs)

    def poisoned(self, logits, target):
        loss = real_cross_entropy(self, logits, target)
        return loss * float("nan") if state["epoch"] == 2 else loss

    monkeypatch.setattr(run, "train_epoch", count_epochs)
    monkeypatch.setattr(cnnkit.nn.CrossEntropyLoss, "forward", poisoned)
    with pytest.raises(loop.TrainingDiverged, match="at epoch 2, step 1"):
        train(_config(data_dir, tmp_path / "nan"), progress=False, log=lambda *_: None)
    assert load_checkpoint(tmp_path / "nan" / "last.safetensors").meta["epoch"] == 1


def test_bad_config_is_refused_before_any_folder_is_made(data_dir, tmp_path):
    with pytest.raises(ValueError, match="--schedule must be one of none, cosine, step, onecycle, got 'triangle'"):
        RunConfig(schedule="triangle").validate()
    with pytest.raises(ValueError, match="^--epochs must be at least 1, got 0$"):
        RunConfig(epochs=0).validate()
    with pytest.raises(ValueError, match="unknown model 'nosuchnet'"):
        train(_config(data_dir, tmp_path / "bad", model="nosuchnet"), progress=False, log=lambda *_: None)
    assert not (tmp_path / "bad").exists()


def test_resume_keeps_the_runs_own_settings_and_says_so(data_dir, tmp_path):
    config = _config(data_dir, tmp_path / "r2", epochs=1)
    train(config, progress=False, log=lambda *_: None)
    messages = []
    changed = _config(data_dir, tmp_path / "r2", epochs=1, lr=0.5, batch_size=64)
    result = train(changed, resume=True, progress=False, log=messages.append)
    assert any("ignoring --batch-size, --lr" in m for m in messages)
    assert any("already complete (1 of 1 epochs)" in m for m in messages)
    assert len(result.history) == 1


def test_the_best_checkpoint_is_chosen_on_the_last_training_images_never_on_test(data_dir, tmp_path, monkeypatch):
    from cnnkit.training.tasks import classification

    seen = []
    real_evaluate = classification.evaluate_classifier

    def recording(model, loader, loss_fn):
        images = np.concatenate([np.asarray(x._data) for x, _ in loader])
        seen.append(images)
        return real_evaluate(model, loader, loss_fn)

    monkeypatch.setattr(classification, "evaluate_classifier", recording)
    result = train(_config(data_dir, tmp_path / "v", epochs=2, val_split=40), progress=False, log=lambda *_: None)
    train_set, held_out, _ = classification.load_data(RunConfig(data_dir=data_dir, val_split=40))
    assert len(train_set) == 320 and len(held_out) == 40
    full = cnnkit.data.FashionMNIST(root=data_dir, train=True)
    expected = (full.data[-40:].astype(np.float32) / 255 - 0.2860) / 0.3530  # the last 40, normalised
    assert len(seen) == 2 and np.allclose(seen[0][:, 0], expected, atol=1e-6)
    rows = result.history
    assert all("val_accuracy" in row and "test_accuracy" not in row for row in rows)
    best_epoch = max(rows, key=lambda row: row["val_accuracy"])["epoch"]  # the first of equals, as `>` keeps it
    assert load_checkpoint(result.run_dir / "best.safetensors").meta["epoch"] == best_epoch
    assert result.best_score == max(row["val_accuracy"] for row in rows)


def test_the_default_split_is_a_tenth_of_a_small_training_set(data_dir):
    from cnnkit.training.tasks.classification import load_data, val_count

    assert val_count(None, 60_000) == 5_000 and val_count(None, 360) == 36 and val_count(7, 360) == 7
    train_set, held_out, _ = load_data(RunConfig(data_dir=data_dir))
    assert (len(train_set), len(held_out)) == (324, 36)
    _, test_set, _ = load_data(RunConfig(data_dir=data_dir), split="test")
    assert len(test_set) == 100


def test_val_split_zero_trains_on_every_image_and_keeps_the_last_epoch(data_dir, tmp_path):
    messages = []
    result = train(_config(data_dir, tmp_path / "z", epochs=2, val_split=0), progress=False, log=messages.append)
    assert any(m.startswith("warning: no validation split") and "last epoch" in m for m in messages)
    assert all(not any(k.startswith(("val_", "test_")) for k in row) for row in result.history)
    meta = load_checkpoint(result.run_dir / "best.safetensors").meta
    assert meta["epoch"] == 2 and meta["best_score"] is None  # nothing was scored
    assert "Infinity" not in (result.run_dir / "best.json").read_text()
    assert np.array_equal(_weights(result.run_dir)["features.0.weight"],
                          _weights(result.run_dir, "best.safetensors")["features.0.weight"])


def test_a_val_split_that_leaves_nothing_to_train_on_is_refused(data_dir, tmp_path):
    with pytest.raises(ValueError, match="training set has 360 images; choose between 1 and 359"):
        train(_config(data_dir, tmp_path / "all", val_split=360), progress=False, log=lambda *_: None)
    with pytest.raises(ValueError, match="--val-split must be a count of images >= 0, and only for --task classify"):
        RunConfig(val_split=-1).validate()
    with pytest.raises(ValueError, match="--val-split must be"):
        RunConfig.for_task("segment", val_split=100).validate()
    assert not (tmp_path / "all").exists()


def test_a_run_folder_from_before_validation_resumes_on_every_training_image(data_dir, tmp_path):
    import json as json_module

    config = _config(data_dir, tmp_path / "old", epochs=1)
    train(config, progress=False, log=lambda *_: None)
    path = tmp_path / "old" / "config.json"
    stored = json_module.loads(path.read_text())
    del stored["val_split"]  # as written before classification held out a validation split
    path.write_text(json_module.dumps(stored))
    assert run.settings_for_resume(config, tmp_path / "old", lambda *_: None).val_split == 0
    stored["val_split"] = 40
    path.write_text(json_module.dumps(stored))
    assert run.settings_for_resume(config, tmp_path / "old", lambda *_: None).val_split == 40
