"""PyTorch weights into cnnkit: a torchvision-layout ResNet-18 state dict saved by PyTorch as safetensors loads
into `cnnkit.models.resnet18()` with no renaming and gives PyTorch's outputs; `cnnkit convert-weights`
turns .pth checkpoints into such files."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from safetensors.torch import save_file  # noqa: E402

import cnnkit  # noqa: E402
from cnnkit.cli import main  # noqa: E402
from tests.onnx.torchvision_resnet import ResNet18, trained_looking  # noqa: E402


def _cnnkit_outputs(model, x: np.ndarray) -> np.ndarray:
    model.eval()
    with cnnkit.no_grad():
        return model(cnnkit.tensor(x)).numpy()


@pytest.fixture(scope="module")
def torch_resnet():
    torch.manual_seed(0)
    return trained_looking(ResNet18())


def test_torchvision_resnet18_state_dict_loads_and_matches_pytorch(torch_resnet, tmp_path) -> None:
    path = tmp_path / "resnet18.safetensors"
    save_file(torch_resnet.state_dict(), str(path))
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = torch_resnet(torch.from_numpy(x)).numpy()
    model = cnnkit.models.resnet18()
    result = model.load_state_dict(cnnkit.load(path))
    assert not result.missing_keys and not result.unexpected_keys
    np.testing.assert_allclose(_cnnkit_outputs(model, x), expected, rtol=1e-4, atol=1e-4)
    assert int(model.bn1.num_batches_tracked.item()) == 123


@pytest.mark.parametrize("container", [None, "state_dict", "model"])
def test_convert_weights_writes_a_state_dict_that_loads(torch_resnet, tmp_path, capsys, container) -> None:
    state = torch_resnet.state_dict()
    if container == "model":  # DataParallel names inside a training checkpoint
        state = {f"module.{k}": v for k, v in state.items()}
    checkpoint = state if container is None else {container: state, "epoch": 3}
    source, target = tmp_path / "ckpt.pth", tmp_path / "weights.safetensors"
    torch.save(checkpoint, source)
    assert main(["convert-weights", str(source), str(target)]) == 0
    assert "wrote 122 tensors" in capsys.readouterr().out
    model = cnnkit.models.resnet18()
    model.load_state_dict(cnnkit.load(target))
    np.testing.assert_array_equal(model.fc.weight.numpy(), torch_resnet.fc.weight.detach().numpy())


def test_convert_weights_errors_are_one_line(tmp_path, capsys) -> None:
    assert main(["convert-weights", str(tmp_path / "missing.pth"), str(tmp_path / "w.safetensors")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    assert main(["convert-weights", str(junk), str(tmp_path / "w.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "junk.pth" in err and "not a PyTorch zip checkpoint" in err
    torch.save({"epoch": 3}, tmp_path / "meta.pth")
    assert main(["convert-weights", str(tmp_path / "meta.pth"), str(tmp_path / "w.safetensors")]) == 2
    assert "no tensors found (entries: epoch)" in capsys.readouterr().err
    torch.save([torch.zeros(2)], tmp_path / "list.pth")
    assert main(["convert-weights", str(tmp_path / "list.pth"), str(tmp_path / "w.safetensors")]) == 2
    assert "expected a state dict" in capsys.readouterr().err
    assert not (tmp_path / "w.safetensors").exists()


def test_convert_weights_needs_no_torch_and_refuses_a_bad_file_in_one_line(tmp_path, capsys, monkeypatch) -> None:
    source = tmp_path / "ckpt.pth"
    source.write_bytes(b"x")
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # `import torch` now raises ImportError
    assert main(["convert-weights", str(source), str(tmp_path / "w.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ckpt.pth" in err and "PyTorch" in err and "install" not in err
