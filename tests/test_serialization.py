"""cnnkit.save / cnnkit.load of checkpoints (nested containers in safetensors, structure in the JSON header),
and cnnkit.load of files written by torch.save, through the allow-list unpickler."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile

import numpy as np
import pytest

import cnnkit
from cnnkit import nn, optim
from cnnkit.serialization import OBJECT_KEY, CheckpointError
from tests.gradcheck import requires_torch


def small_model() -> nn.Module:
    cnnkit.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(18, 3))


def trained_optimizer(model: nn.Module) -> optim.Optimizer:
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(cnnkit.randn(4, 1, 5, 5)).sum().backward()
    opt.step()
    return opt


def test_checkpoint_round_trip_keeps_every_value_and_type(tmp_path):
    model = small_model()
    opt = trained_optimizer(model)
    checkpoint = {"epoch": 7, "best_acc": 0.91, "arch": "small", "model": model.state_dict(),
                  "optimizer": opt.state_dict(), "history": [0.5, 0.25, None], "shape": (3, 4),
                  "nan": float("nan"), "flags": {"amp": False}}
    cnnkit.save(checkpoint, tmp_path / "ck.pt")
    back = cnnkit.load(tmp_path / "ck.pt")
    assert back["epoch"] == 7 and isinstance(back["epoch"], int)
    assert back["best_acc"] == 0.91 and back["arch"] == "small" and back["history"] == [0.5, 0.25, None]
    assert back["shape"] == (3, 4) and math.isnan(back["nan"]) and back["flags"] == {"amp": False}
    for name, value in model.state_dict().items():
        assert isinstance(back["model"][name], cnnkit.Tensor)
        assert back["model"][name].dtype == value.dtype
        np.testing.assert_array_equal(back["model"][name].numpy(), value.numpy())
    state = back["optimizer"]["state"]
    assert sorted(state) == sorted(opt.state_dict()["state"])  # int keys stay ints
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    np.testing.assert_array_equal(state[0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    fresh = small_model()
    fresh.load_state_dict(back["model"])
    other = optim.Adam(fresh.parameters(), lr=0.01)
    other.load_state_dict(back["optimizer"])
    assert other.state_dict()["state"][0]["step"] == 1


def test_checkpoint_file_is_safetensors_with_the_structure_in_its_header(tmp_path):
    from safetensors.numpy import load_file

    model = small_model()
    cnnkit.save({"model": model.state_dict(), "epoch": 2}, tmp_path / "ck.pt")
    arrays = load_file(tmp_path / "ck.pt")
    assert "model.0.weight" in arrays and "model.1.running_var" in arrays
    raw = (tmp_path / "ck.pt").read_bytes()
    header = json.loads(raw[8: 8 + int.from_bytes(raw[:8], "little")])
    assert json.loads(header["__metadata__"][OBJECT_KEY])["@"] == "dict"


def test_a_state_dict_is_a_plain_safetensors_file_and_file_objects_work(tmp_path):
    from safetensors.numpy import load_file

    model = small_model()
    cnnkit.save(model.state_dict(), tmp_path / "w.pt")
    assert set(load_file(tmp_path / "w.pt")) == set(model.state_dict())
    buffer = io.BytesIO()
    cnnkit.save({"w": model.state_dict(), "step": 3}, buffer)
    buffer.seek(0)
    assert cnnkit.load(buffer, map_location="cpu", weights_only=True)["step"] == 3


def test_objects_that_need_pickle_are_refused_by_path(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store a object at cfg\.fn"):
        cnnkit.save({"cfg": {"fn": object()}}, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


# ----------------------------------------------------------------- PyTorch's files
@requires_torch
@pytest.mark.torch
def test_torch_save_checkpoint_is_read_without_unpickling_anything_else(tmp_path):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(18, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(4, 1, 5, 5)).sum().backward()
    opt.step()
    torch.save({"model_state_dict": net.state_dict(), "optimizer_state_dict": opt.state_dict(), "epoch": 4,
                "strided": torch.arange(20.0).reshape(4, 5)[:, 1:4].t(),
                "half": torch.ones(3, dtype=torch.bfloat16) / 3,
                "labels": torch.tensor([1, 2], dtype=torch.int64), "mask": torch.tensor([True, False])},
               tmp_path / "torch.pth")
    back = cnnkit.load(tmp_path / "torch.pth")
    assert back["epoch"] == 4
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(back["model_state_dict"][name].numpy(), value.numpy())
        assert back["model_state_dict"][name].dtype == value.numpy().dtype
    np.testing.assert_array_equal(back["strided"].numpy(), torch.arange(20.0).reshape(4, 5)[:, 1:4].t().numpy())
    np.testing.assert_array_equal(back["half"].numpy(), (torch.ones(3, dtype=torch.bfloat16) / 3).float().numpy())
    assert back["labels"].dtype == np.int64 and back["mask"].numpy().tolist() == [True, False]
    buffer = back["optimizer_state_dict"]["state"][0]["momentum_buffer"]
    np.testing.assert_array_equal(buffer.numpy(), opt.state_dict()["state"][0]["momentum_buffer"].numpy())
    model = small_model()
    model.load_state_dict(back["model_state_dict"])  # same architecture, PyTorch's names
    x = np.random.default_rng(0).standard_normal((2, 1, 5, 5)).astype(np.float32)
    net.eval()
    model.eval()
    np.testing.assert_allclose(model(cnnkit.tensor(x)).numpy(), net(torch.from_numpy(x)).detach().numpy(), atol=1e-6)


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def zip_with_pickle(path, payload: bytes, extra: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
        for name, data in (extra or {}).items():
            z.writestr(f"archive/{name}", data)


def test_hostile_pickle_is_refused_by_name_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    zip_with_pickle(tmp_path / "evil.pt", pickle.dumps({"w": Exploit()}, protocol=2))
    with pytest.raises(CheckpointError, match=r"evil.pt: refused to load (posix|os)\.system"):
        cnnkit.load(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()


@requires_torch
@pytest.mark.torch
def test_storage_that_does_not_add_up_is_refused(tmp_path):
    import torch

    torch.save({"w": torch.ones(4)}, tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as z:
        entries = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(tmp_path / "bad.pt", "w") as z:
        for name, data in entries.items():
            z.writestr(name, data[:8] if name.endswith("/data/0") else data)
    with pytest.raises(CheckpointError, match="should hold 4 values of float32 .16 bytes., it holds 8 bytes"):
        cnnkit.load(tmp_path / "bad.pt")


@requires_torch
@pytest.mark.torch
def test_legacy_torch_format_is_refused_clearly(tmp_path):
    import torch

    torch.save({"w": torch.ones(2)}, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="old.pt is not a safetensors file .nor a PyTorch zip checkpoint"):
        cnnkit.load(tmp_path / "old.pt")
