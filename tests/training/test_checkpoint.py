"""Checkpoints and safetensors files: round trips, atomic writes, refusal of wrong files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import cnnkit
from cnnkit.serialization import CheckpointError, atomic_write_bytes, load, load_with_metadata, save
from cnnkit.training.checkpoint import load_checkpoint, save_checkpoint


def test_save_and_load_round_trip(tmp_path):
    state = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(3, dtype=np.int64)}
    save(state, tmp_path / "a.safetensors", metadata={"note": "hi"})
    loaded = load(tmp_path / "a.safetensors")
    assert isinstance(loaded["w"], cnnkit.Tensor)
    np.testing.assert_array_equal(loaded["w"]._data, state["w"])
    assert loaded["n"].dtype == np.int64 and loaded["n"].shape == ()  # 0-d stays 0-d
    assert load_with_metadata(tmp_path / "a.safetensors")[1] == {"note": "hi"}


def test_checkpoint_round_trip_with_optimizer_state(tmp_path):
    model_state = {"fc.weight": np.ones((2, 2), np.float32), "bn.num_batches_tracked": np.array(5)}
    opt_state = {"state": {0: {"momentum_buffer": np.full((2, 2), 0.5, np.float32), "step": 7}},
                 "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0]}]}
    save_checkpoint(tmp_path / "c.safetensors", model_state, opt_state, {"epoch": 3, "history": [{"a": 1.5}]})
    ck = load_checkpoint(tmp_path / "c.safetensors")
    np.testing.assert_array_equal(ck.model_state["fc.weight"], model_state["fc.weight"])
    assert ck.model_state["bn.num_batches_tracked"] == 5
    np.testing.assert_array_equal(ck.optimizer_state["state"][0]["momentum_buffer"], 0.5)
    assert ck.optimizer_state["state"][0]["step"] == 7
    assert ck.optimizer_state["param_groups"][0]["lr"] == 0.1
    assert ck.meta["epoch"] == 3 and ck.meta["history"] == [{"a": 1.5}]
    assert json.loads((tmp_path / "c.json").read_text())["epoch"] == 3  # readable copy beside it


def test_non_safetensors_file_is_refused(tmp_path):
    bad = tmp_path / "model.pth"
    bad.write_bytes(b"\x80\x04\x95 this is a pickle, which cnnkit never loads")
    with pytest.raises(CheckpointError, match="model.pth is not a safetensors file"):
        load(bad)


def test_metadata_copy_is_pointed_to_its_checkpoint(tmp_path):
    save_checkpoint(tmp_path / "best.safetensors", {"w": np.zeros(2, np.float32)}, None, {"epoch": 1})
    with pytest.raises(CheckpointError, match="readable copy of a checkpoint's metadata; pass .*best.safetensors"):
        load_checkpoint(tmp_path / "best.json")


def test_written_files_get_ordinary_permissions(tmp_path):
    atomic_write_bytes(tmp_path / "f", b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o666 & ~mask


def test_plain_weights_are_not_a_training_checkpoint(tmp_path):
    save({"w": np.zeros(2, np.float32)}, tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match="not a cnnkit training checkpoint"):
        load_checkpoint(tmp_path / "w.safetensors")


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "x.bin"
    atomic_write_bytes(target, b"old")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]  # no temporary file left behind
