"""Checkpoints and run folders on --resume: corrupt metadata, weights-only files, corrupt config.json, NaN
weights and outputs, a NaN loss in the first epoch, bfloat16 PyTorch weights."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import save_file

import cnnkit
from cnnkit.cli import main
from cnnkit.training.checkpoint import load_checkpoint, save_checkpoint
from tests.hostile.helpers import one_line_refusal, refused, run_cli


def _train(data_dir, out, *more):
    return ["train", "--model", "lenet5_relu", "--data-dir", data_dir, "--epochs", "2", "--batch-size", "32",
            "--out", out, "--quiet", *more]


@pytest.fixture
def run_copy(classifier_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(classifier_run, copy)
    return copy


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(np.full((28, 28), 90, np.uint8)).save(path)
    return path


# ------------------------------------------------------------------------------------------------ metadata
@pytest.mark.parametrize("metadata, what", [("{not json", "not valid JSON"), ("[1, 2]", "not an object"),
                                            ('"text"', "not an object")])
def test_metadata_that_is_not_a_json_object_is_named(tmp_path, capsys, image, metadata, what):
    path = tmp_path / "odd.safetensors"
    save_file({"model.w": np.zeros(3, np.float32)}, str(path), metadata={"cnnkit": metadata})
    refused(["predict", path, image], capsys, str(path), what)
    refused(["eval", path], capsys, str(path), what)


def test_metadata_without_data_or_config_is_named(tmp_path, capsys, image, run_copy):
    checkpoint = load_checkpoint(run_copy / "best.safetensors")
    del checkpoint.meta["data"]
    save_checkpoint(tmp_path / "partial.safetensors", checkpoint.model_state, None, checkpoint.meta)
    refused(["predict", tmp_path / "partial.safetensors", image], capsys, "partial.safetensors", "'data'")


# ------------------------------------------------------------------------------------------------ resume
def test_a_weights_only_file_over_last_is_refused_on_resume_and_nothing_is_lost(tiny_fashion, run_copy, capsys):
    cnnkit.save(load_checkpoint(run_copy / "last.safetensors").model_state, run_copy / "last.safetensors")
    before = {p.name: p.read_bytes() for p in run_copy.iterdir() if p.is_file()}
    refused(_train(tiny_fashion, run_copy, "--resume"), capsys, str(run_copy / "last.safetensors"),
            "not a cnnkit training checkpoint")
    assert {p.name: p.read_bytes() for p in run_copy.iterdir() if p.is_file()} == before


def test_best_copied_over_last_is_refused_on_resume_for_lack_of_optimiser_state(tiny_fashion, run_copy, capsys):
    shutil.copy(run_copy / "best.safetensors", run_copy / "last.safetensors")
    checkpoint = load_checkpoint(run_copy / "last.safetensors")
    save_checkpoint(run_copy / "last.safetensors", checkpoint.model_state, None, checkpoint.meta)
    refused(_train(tiny_fashion, run_copy, "--resume"), capsys, str(run_copy / "last.safetensors"),
            "no optimiser state")


def test_metadata_lacking_the_epoch_is_refused_on_resume(tiny_fashion, run_copy, capsys):
    checkpoint = load_checkpoint(run_copy / "last.safetensors")
    del checkpoint.meta["epoch"]
    save_checkpoint(run_copy / "last.safetensors", checkpoint.model_state, checkpoint.optimizer_state,
                    checkpoint.meta)
    refused(_train(tiny_fashion, run_copy, "--resume"), capsys, str(run_copy / "last.safetensors"), "'epoch'")


@pytest.mark.parametrize("text, what", [('{"task": "classify", ', "not valid JSON"), ("[]", "not a JSON object"),
                                        ('{"task": "classify", "colour": "red"}', "unknown settings colour")])
def test_a_corrupt_config_json_is_refused_on_resume_naming_it(tiny_fashion, run_copy, capsys, text, what):
    (run_copy / "config.json").write_text(text)
    last = (run_copy / "last.safetensors").read_bytes()
    refused(_train(tiny_fashion, run_copy, "--resume"), capsys, str(run_copy / "config.json"), what)
    assert (run_copy / "last.safetensors").read_bytes() == last


def test_a_missing_config_json_is_refused_on_resume_naming_it(tiny_fashion, run_copy, capsys):
    (run_copy / "config.json").unlink()
    refused(_train(tiny_fashion, run_copy, "--resume"), capsys, str(run_copy / "config.json"), "missing")


# ------------------------------------------------------------------------------------------------ non-finite
def _altered(run_dir, target, value):
    checkpoint = load_checkpoint(run_dir / "best.safetensors")
    name = next(k for k, v in checkpoint.model_state.items() if v.dtype.kind == "f" and k.endswith("weight"))
    checkpoint.model_state[name] = checkpoint.model_state[name].copy()
    checkpoint.model_state[name].flat[0] = value
    save_checkpoint(target, checkpoint.model_state, None, checkpoint.meta)
    return name


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_predict_refuses_non_finite_weights_naming_the_tensor(run_copy, tmp_path, capsys, image, value):
    name = _altered(run_copy, tmp_path / "bad.safetensors", value)
    refused(["predict", tmp_path / "bad.safetensors", image, "--json"], capsys, "bad.safetensors", name,
            "non-finite")
    assert capsys.readouterr().out == ""


def test_predict_refuses_non_finite_outputs_and_json_never_holds_nan(run_copy, tmp_path, capsys, image):
    checkpoint = load_checkpoint(run_copy / "best.safetensors")
    state = {k: (v * np.float32(1e30) if v.dtype.kind == "f" else v) for k, v in checkpoint.model_state.items()}
    save_checkpoint(tmp_path / "huge.safetensors", state, None, checkpoint.meta)  # finite weights, inf logits
    refused(["predict", tmp_path / "huge.safetensors", image, "--json"], capsys, str(image), "non-finite")
    assert main(["predict", str(run_copy), str(image), "--json"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text and json.loads(text)[0]["top"]


def test_generate_refuses_nan_weights(generator_run, tmp_path, capsys):
    checkpoint = load_checkpoint(generator_run / "last.safetensors")
    name = next(k for k, v in checkpoint.model_state.items() if v.dtype.kind == "f")
    checkpoint.model_state[name] = np.full_like(checkpoint.model_state[name], np.nan)
    save_checkpoint(tmp_path / "nan.safetensors", checkpoint.model_state, None, checkpoint.meta)
    refused(["generate", tmp_path / "nan.safetensors", "--out", tmp_path / "g.png", "--quiet"], capsys,
            "nan.safetensors", "non-finite")
    assert not (tmp_path / "g.png").exists()


def test_a_nan_loss_in_the_first_epoch_claims_no_checkpoint(tiny_fashion, tmp_path):
    result = run_cli(_train(tiny_fashion, tmp_path / "run", "--lr", "1e30", "--schedule", "none"))
    line = one_line_refusal(result, "epoch 1", "no checkpoint was written")  # no NumPy warnings before it
    assert "last good checkpoint" not in line
    assert not (tmp_path / "run" / "last.safetensors").exists()


# ------------------------------------------------------------------------------------------------ PyTorch files
@pytest.mark.torch
def test_convert_weights_widens_bfloat16_to_float32_saying_so(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    weights = torch.randn(4, 3, dtype=torch.float32).to(torch.bfloat16)
    torch.save({"conv.weight": weights, "conv.bias": torch.zeros(4)}, tmp_path / "w.pth")
    assert main(["convert-weights", str(tmp_path / "w.pth"), str(tmp_path / "w.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "converted 1 bfloat16 tensors to float32" in out and "conv.weight" in out
    loaded = cnnkit.load(tmp_path / "w.safetensors")
    assert loaded["conv.weight"]._data.dtype == np.float32
    np.testing.assert_array_equal(loaded["conv.weight"]._data, weights.float().numpy())


def test_a_nan_loss_in_a_later_epoch_names_the_kept_checkpoint():
    from cnnkit import nn, optim
    from cnnkit.training.loop import TrainingDiverged, train_epoch

    model = nn.Linear(2, 2)
    batches = [(cnnkit.tensor(np.ones((2, 2), np.float32)), cnnkit.tensor(np.zeros(2, np.int64)))]
    with pytest.raises(TrainingDiverged, match=r"epoch 3, step 1; .*the last good checkpoint \(epoch 2\) was kept"):
        train_epoch(model, batches, optim.SGD(model.parameters(), lr=0.1), lambda out, y: out.sum() * float("nan"),
                    epoch=3, progress=False)
