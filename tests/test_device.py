"""Devices as a CPU-only PyTorch build has them: `cnnkit.device`, `.to(...)`, factories' `device=`, the queries."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn


def test_the_cpu_device():
    cpu = cnnkit.device("cpu")
    assert cpu.type == "cpu" and cpu.index is None and str(cpu) == "cpu" and repr(cpu) == "device(type='cpu')"
    assert cnnkit.device("cpu:0") == cnnkit.device("cpu", 0) != cpu
    assert cnnkit.device(cpu) == cpu and hash(cnnkit.device("cpu")) == hash(cpu)
    x = cnnkit.ones(2)
    assert x.device == cpu and not x.is_cuda and x.is_cpu


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps", 0])
def test_any_other_device_raises_one_clear_error(name):
    with pytest.raises(RuntimeError, match="cnnkit runs on the CPU only.*cnnkit.distributed"):
        cnnkit.device(name)
    with pytest.raises(RuntimeError, match="CPU only"):
        cnnkit.zeros(2, device=name)
    with pytest.raises(RuntimeError, match="CPU only"):
        cnnkit.ones(2).to(name)
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.Linear(2, 2).to(name)


def test_gpu_entry_points_raise():
    with pytest.raises(RuntimeError, match="CPU only"):
        cnnkit.ones(2).cuda()
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.Linear(2, 2).cuda()
    with pytest.raises(RuntimeError, match="CPU only"):
        cnnkit.cuda.current_device()


def test_the_queries_scripts_make():
    assert cnnkit.cuda.is_available() is False and cnnkit.cuda.device_count() == 0
    cnnkit.cuda.manual_seed(0)
    cnnkit.cuda.manual_seed_all(0)
    cnnkit.cuda.synchronize()
    cnnkit.cuda.empty_cache()
    assert cnnkit.accelerator.is_available() is False and cnnkit.accelerator.current_accelerator() is None
    assert cnnkit.backends.mps.is_available() is False and cnnkit.backends.cudnn.is_available() is False
    cnnkit.backends.cudnn.benchmark = True
    cnnkit.backends.cudnn.deterministic = True
    assert cnnkit.backends.cudnn.benchmark is True
    cnnkit.backends.cudnn.benchmark = False
    cnnkit.backends.cudnn.deterministic = False
    device = cnnkit.device("cuda" if cnnkit.cuda.is_available() else "cpu")  # the usual idiom
    assert device.type == "cpu"


def test_to_in_each_of_pytorchs_forms():
    x = cnnkit.ones(2, 3)
    cpu = cnnkit.device("cpu")
    assert x.to("cpu") is x and x.to(cpu) is x and x.to(device="cpu") is x and x.cpu() is x
    assert x.to(cnnkit.float64).dtype == np.float64
    assert x.to("cpu", cnnkit.float64).dtype == np.float64
    assert x.to(cpu, dtype=cnnkit.int64).dtype == np.int64
    assert x.to(device=cpu, dtype=cnnkit.float64, non_blocking=True).dtype == np.float64
    assert x.to(cnnkit.zeros(1, dtype=cnnkit.float64)).dtype == np.float64
    assert x.to("float64").dtype == np.float64
    copied = x.to("cpu", copy=True)
    assert copied is not x and np.array_equal(copied.numpy(), x.numpy())
    assert x.to(cpu, cnnkit.float32, False, True) is not x  # non_blocking, copy positionally
    w = cnnkit.ones(2, requires_grad=True)
    (w.to(cnnkit.float64) * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3, 3])


@pytest.mark.parametrize("factory", [
    lambda d: cnnkit.zeros(2, 3, device=d), lambda d: cnnkit.ones(2, device=d), lambda d: cnnkit.empty(2, device=d),
    lambda d: cnnkit.full((2,), 1.5, device=d), lambda d: cnnkit.arange(4, device=d),
    lambda d: cnnkit.linspace(0, 1, 5, device=d), lambda d: cnnkit.eye(3, device=d),
    lambda d: cnnkit.rand(2, device=d), lambda d: cnnkit.randn(2, device=d),
    lambda d: cnnkit.randint(0, 5, (3,), device=d),
    lambda d: cnnkit.randperm(4, device=d), lambda d: cnnkit.tensor([1.0], device=d),
    lambda d: cnnkit.zeros_like(cnnkit.ones(2), device=d), lambda d: cnnkit.ones_like(cnnkit.ones(2), device=d),
])
def test_every_factory_takes_a_device(factory):
    assert factory("cpu").device == cnnkit.device("cpu")
    assert factory(cnnkit.device("cpu")).device.type == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        factory("cuda")


def test_module_to_a_device_and_dtype():
    model = nn.Linear(2, 2)
    assert model.to("cpu") is model and model.to(cnnkit.device("cpu")) is model
    model.to("cpu", cnnkit.float64)
    assert model.weight.dtype == np.float64
    model.to(device="cpu", dtype=cnnkit.float32)
    assert model.weight.dtype == np.float32
