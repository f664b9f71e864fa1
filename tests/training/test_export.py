"""`cnnkit export`: a run's weights without its training state; an EMA-only export samples the same images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnkit.cli import main
from cnnkit.models import lenet5
from cnnkit.training.checkpoint import load_checkpoint, save_checkpoint
from cnnkit.training.export import export_checkpoint
from cnnkit.training.restore import load_trained_model
from tests.cli.test_sample_cli import classifier_checkpoint, pixels
from tests.training.tiny_generation import train_tiny_generator


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_tiny_generator(tmp_path_factory.mktemp("export"), epochs=1)


def test_ema_only_export_halves_the_file_and_samples_the_same_images(run_dir, tmp_path, capsys) -> None:
    target = tmp_path / "ema.safetensors"
    assert main(["export", str(run_dir), str(target), "--ema-only"]) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    best = load_checkpoint(run_dir / "best.safetensors")
    exported = load_checkpoint(target)
    assert exported.optimizer_state is None
    assert not any(name.startswith("net.") for name in exported.model_state)
    assert set(exported.model_state) == {name for name in best.model_state if not name.startswith("net.")}
    assert target.stat().st_size < 0.6 * (run_dir / "best.safetensors").stat().st_size
    meta = json.loads(target.with_suffix(".json").read_text())
    assert meta["exported"] == {"from": f"{run_dir.name}/best.safetensors", "ema_only": True}
    assert meta["config"] == best.meta["config"] and meta["history"] == best.meta["history"]
    assert "scheduler" not in meta and "optimizer" not in meta

    model, _, _ = load_trained_model(target)  # net.* come back as the averaged weights
    state = model.state_dict()
    for name, value in best.model_state.items():
        expected = best.model_state["ema.shadow." + name[4:]] if name.startswith("net.") else value
        np.testing.assert_array_equal(state[name]._data, expected, err_msg=name)

    grids = []
    for source in (run_dir, target):
        out = tmp_path / f"grid-{len(grids)}.png"
        assert main(["generate", str(source), "--n", "10", "--steps", "3", "--out", str(out)]) == 0
        grids.append(pixels(out))
    np.testing.assert_array_equal(grids[0], grids[1])


def test_a_classifier_exports_whole_and_predicts_the_same(tmp_path) -> None:
    source = classifier_checkpoint(tmp_path / "lenet.safetensors")
    state = lenet5().state_dict()
    save_checkpoint(source, state, {"state": {}, "param_groups": []}, {**load_checkpoint(source).meta,
                                                                        "scheduler": {"last_epoch": 3}})
    target = tmp_path / "out" / "lenet.safetensors"
    target.parent.mkdir()
    export_checkpoint(source, target)
    exported = load_checkpoint(target)
    assert exported.optimizer_state is None and "scheduler" not in exported.meta
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    original, _, _ = load_trained_model(source)
    again, _, _ = load_trained_model(target)
    from cnnkit.tensor import Tensor

    np.testing.assert_array_equal(again(Tensor(x))._data, original(Tensor(x))._data)
    with pytest.raises(ValueError, match="ema.shadow"):
        export_checkpoint(source, tmp_path / "ema.safetensors", ema_only=True)


@pytest.mark.parametrize(
    ("target", "message"),
    [("weights.pt", "to end in .safetensors"), ("best.safetensors", "the checkpoint being exported")],
)
def test_export_errors_are_one_line(run_dir, tmp_path, capsys, target, message) -> None:
    path = run_dir / target if target == "best.safetensors" else tmp_path / target
    assert main(["export", str(run_dir), str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
