"""The API that real scripts hit, against PyTorch: the *_like constructors, as_tensor, the device queries,
memory formats, and the mixed-precision names (autocast, GradScaler) that change nothing on the CPU."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import cnnkit
from cnnkit import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _pair(shape=(2, 3), dtype=np.float32):
    array = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    return cnnkit.from_numpy(array), torch.from_numpy(array.copy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_full_and_empty_like_match_pytorch(dtype):
    ours, theirs = _pair(dtype=dtype)
    full, expected = cnnkit.full_like(ours, 7), torch.full_like(theirs, 7)
    assert full.dtype == expected.numpy().dtype and np.array_equal(full.numpy(), expected.numpy())
    assert cnnkit.full_like(ours, 2.5, dtype=cnnkit.float64).numpy().dtype == np.float64
    empty = cnnkit.empty_like(ours, requires_grad=dtype != np.int64)
    assert empty.shape == (2, 3) and empty.dtype == torch.empty_like(theirs).numpy().dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_like_shape_dtype_and_distribution(dtype):
    ours, theirs = _pair((400, 500), dtype)
    cnnkit.manual_seed(0)
    normal, uniform = cnnkit.randn_like(ours), cnnkit.rand_like(ours, requires_grad=True)
    assert normal.dtype == torch.randn_like(theirs).numpy().dtype == uniform.dtype
    assert normal.shape == uniform.shape == (400, 500) and uniform.requires_grad
    assert abs(normal.numpy().mean()) < 0.01 and abs(normal.numpy().std() - 1) < 0.01
    assert uniform.numpy().min() >= 0 and uniform.numpy().max() < 1 and abs(uniform.numpy().mean() - 0.5) < 0.01
    with pytest.raises(TypeError, match="floating dtype"):
        cnnkit.randn_like(cnnkit.zeros(2, dtype=cnnkit.int64))


def test_randint_like_follows_pytorch_signature():
    ours, theirs = _pair((50, 40))
    high_only, low_high = cnnkit.randint_like(ours, 5), cnnkit.randint_like(ours, 3, 6)
    assert high_only.dtype == torch.randint_like(theirs, 5).numpy().dtype == np.float32
    assert set(np.unique(high_only.numpy())) == {0, 1, 2, 3, 4}
    assert set(np.unique(low_high.numpy())) == {3, 4, 5}
    assert cnnkit.randint_like(ours, 5, dtype=cnnkit.int64).dtype == torch.randint_like(
        theirs, 5, dtype=torch.int64).numpy().dtype


def test_as_tensor_shares_memory_when_pytorch_does():
    array = np.zeros(3, np.float32)
    ours, theirs = cnnkit.as_tensor(array), torch.as_tensor(array)
    array[0] = 5
    assert ours.numpy()[0] == theirs.numpy()[0] == 5
    copied = cnnkit.as_tensor(array, dtype=cnnkit.float64)
    array[1] = 9
    assert copied.dtype == np.float64 and copied.numpy()[1] == 0
    t = cnnkit.ones(2)
    assert cnnkit.as_tensor(t) is t
    assert np.array_equal(cnnkit.as_tensor([1.5, 2]).numpy(), torch.as_tensor([1.5, 2]).numpy())
    assert cnnkit.as_tensor([1, 2]).dtype == torch.as_tensor([1, 2]).numpy().dtype == np.int64
    with pytest.raises(RuntimeError, match="CPU only"):
        cnnkit.as_tensor(array, device="cuda")


def test_device_queries_match_a_cpu_tensor_in_pytorch():
    ours, theirs = _pair()
    assert (ours.is_cpu, ours.is_cuda, ours.is_xpu, ours.is_mps) == \
        (theirs.is_cpu, theirs.is_cuda, theirs.is_xpu, theirs.is_mps) == (True, False, False, False)


@pytest.mark.parametrize("name", ["channels_last", "contiguous_format", "preserve_format"])
def test_memory_formats_change_no_value(name):
    x = cnnkit.randn(2, 3, 4, 5, requires_grad=True)
    fmt = getattr(cnnkit, name)
    assert repr(fmt) == repr(getattr(torch, name)) == f"torch.{name}"
    for y in (x.to(memory_format=fmt), x.to("cpu", cnnkit.float32, memory_format=fmt),
              x.contiguous(memory_format=fmt) if name != "preserve_format" else x):
        assert y.shape == x.shape and np.array_equal(y.numpy(), x.detach().numpy())
    y = x.to(memory_format=fmt)
    (y * 2).sum().backward()
    assert np.array_equal(x.grad.numpy(), np.full(x.shape, 2, np.float32))
    model = nn.Conv2d(3, 2, 3)
    before = model.weight.detach().numpy().copy()
    assert model.to(memory_format=fmt) is model and np.array_equal(model.weight.detach().numpy(), before)


def test_a_wrong_memory_format_raises():
    with pytest.raises(TypeError, match="memory_format"):
        cnnkit.ones(2).to(memory_format="channels_last")
    with pytest.raises(TypeError, match="memory_format"):
        cnnkit.ones(2).contiguous(memory_format=1)
    with pytest.raises(TypeError, match="memory_format"):
        nn.Linear(2, 2).to(memory_format="nhwc")


@pytest.mark.parametrize("make", [lambda: cnnkit.autocast("cpu"), lambda: cnnkit.amp.autocast("cuda"),
                                  lambda: cnnkit.amp.autocast("cpu", dtype=cnnkit.float16),
                                  lambda: cnnkit.cuda.amp.autocast()])
def test_autocast_keeps_float32_as_context_and_decorator(make):
    model = nn.Linear(4, 3)
    x = cnnkit.randn(2, 4)
    expected = model(x).numpy()
    with make():
        out = model(x)
    assert out.dtype == np.float32 and np.array_equal(out.numpy(), expected)

    @make()
    def forward(inputs):
        return model(inputs)

    assert forward.__name__ == "forward" and np.array_equal(forward(x).numpy(), expected)


def test_autocast_signature_follows_pytorch():
    with pytest.raises(TypeError, match="device_type"):
        cnnkit.autocast(0)
    ctx = cnnkit.autocast(device_type="cpu", dtype=cnnkit.float16, enabled=False, cache_enabled=None)
    assert ctx.device == torch.autocast(device_type="cpu", enabled=False).device == "cpu"


def _torch_disabled_scaler():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "CUDA is not available. Disabling."
        return torch.amp.GradScaler("cuda")


@pytest.mark.parametrize("make", [lambda: cnnkit.amp.GradScaler(), lambda: cnnkit.amp.GradScaler("cpu"),
                                  lambda: cnnkit.cuda.amp.GradScaler(enabled=False),
                                  lambda: cnnkit.cuda.amp.GradScaler(init_scale=1024.0)])
def test_grad_scaler_is_pytorchs_disabled_scaler(make):
    scaler, theirs = make(), _torch_disabled_scaler()
    assert scaler.is_enabled() == theirs.is_enabled() is False
    assert scaler.get_scale() == theirs.get_scale() == 1.0
    assert scaler.state_dict() == theirs.state_dict() == {}
    cnnkit.manual_seed(0)
    model = nn.Linear(3, 1)
    plain = nn.Linear(3, 1)
    plain.load_state_dict(model.state_dict())
    x = cnnkit.randn(5, 3)
    for net, use_scaler in ((model, True), (plain, False)):
        optimizer = cnnkit.optim.SGD(net.parameters(), lr=0.1)
        loss = (net(x) ** 2).mean()
        if use_scaler:
            assert scaler.scale(loss) is loss
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
    assert np.array_equal(model.weight.detach().numpy(), plain.weight.detach().numpy())
    assert not np.array_equal(model.weight.detach().numpy(), nn.Linear(3, 1).weight.detach().numpy())
    scaler.load_state_dict(scaler.state_dict())
    assert scaler.get_scale() == 1.0


def test_grad_scaler_signatures_follow_pytorch():
    import inspect

    for ours, theirs in ((cnnkit.amp.GradScaler, torch.amp.GradScaler),
                         (cnnkit.cuda.amp.GradScaler, torch.cuda.amp.GradScaler)):
        ours_params = inspect.signature(ours).parameters
        theirs_params = inspect.signature(theirs).parameters
        assert list(ours_params) == list(theirs_params)
        assert [p.default for p in ours_params.values()] == [p.default for p in theirs_params.values()]
