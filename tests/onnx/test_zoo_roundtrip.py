"""Every zoo model through ONNX and back: export with a dynamic batch axis, onnx.checker, onnxruntime within
1e-4 of cnnkit (at the traced batch size and another one), re-import into cnnkit with the same outputs, and
one fine-tuning step on the imported model (every parameter gets a gradient, the loss goes down).

BatchNorm layers get random running statistics first, so eval-mode batch norm is not the identity.
The YOLO detector (cnnkit/detection/yolo.py) is included when that module exists.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tests.onnx.onnx_cases import onnxruntime_outputs

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
import cnnkit  # noqa: E402
import cnnkit.onnx  # noqa: E402
from cnnkit import nn, optim  # noqa: E402
from cnnkit.models import get_model  # noqa: E402

# (name, builder kwargs, input shape without batch)
ZOO = [
    pytest.param("lenet5", {}, (1, 28, 28), id="lenet5"),
    pytest.param("lenet5_relu", {}, (1, 28, 28), id="lenet5_relu"),
    pytest.param("alexnet_small", {}, (1, 28, 28), id="alexnet_small"),
    pytest.param("resnet20", {}, (3, 32, 32), id="resnet20"),
    pytest.param("unet", {}, (1, 64, 64), id="unet"),
    pytest.param("fashion_vgg", {}, (1, 28, 28), id="fashion_vgg"),
    pytest.param("resnet18", {"num_classes": 10}, (3, 64, 64), id="resnet18", marks=pytest.mark.slow),
    pytest.param("alexnet", {"num_classes": 10}, (3, 224, 224), id="alexnet", marks=pytest.mark.slow),
    pytest.param("vgg11_bn", {"num_classes": 10}, (3, 32, 32), id="vgg11_bn", marks=pytest.mark.slow),
]


def _randomise_batch_norm(model: nn.Module, rng: np.random.Generator) -> None:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean._data[:] = rng.uniform(-0.5, 0.5, m.num_features)
            m.running_var._data[:] = rng.uniform(0.5, 1.5, m.num_features)
            m.weight._data[:] = rng.uniform(0.5, 1.5, m.num_features)
            m.bias._data[:] = rng.uniform(-0.2, 0.2, m.num_features)


def _outputs(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with cnnkit.no_grad():
        return model(cnnkit.tensor(x)).numpy()


def _round_trip(model: nn.Module, shape: tuple[int, ...], tmp_path) -> None:
    rng = np.random.default_rng(0)
    _randomise_batch_norm(model, rng)
    model.eval()
    x2 = rng.standard_normal((2, *shape)).astype(np.float32)
    x3 = rng.standard_normal((3, *shape)).astype(np.float32)
    path = tmp_path / "model.onnx"
    cnnkit.onnx.export(model, cnnkit.tensor(x2), path, dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    expected2, expected3 = _outputs(model, x2), _outputs(model, x3)
    for x, expected in ((x2, expected2), (x3, expected3)):
        got = onnxruntime_outputs(proto, [x])[0]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(expected).max()))
    imported = cnnkit.onnx.load(path)
    np.testing.assert_allclose(_outputs(imported, x3), expected3, rtol=1e-5, atol=1e-5)
    _fine_tune_step(imported, x2)


def _fine_tune_step(imported: nn.Module, x: np.ndarray) -> None:
    """One SGD step on the imported graph: every parameter gets a finite gradient and the loss goes down."""
    params = list(imported.parameters())
    assert params, "the imported model should hold its weights as Parameters"
    target = cnnkit.tensor(np.zeros_like(_outputs(imported, x)))

    def loss() -> cnnkit.Tensor:
        out = imported(cnnkit.tensor(x))
        return ((out - target) ** 2).mean()

    imported.eval()  # eval: batch norm keeps the running statistics, so the two losses compare the same function
    before = loss()
    imported.zero_grad()
    before.backward()
    missing = [name for name, p in imported.named_parameters() if p.grad is None]
    assert not missing, f"no gradient reached {missing[:5]}"
    assert all(np.isfinite(p.grad.numpy()).all() for p in params)
    # a step a tenth of the way to the linearised zero of the loss: lr = 0.1·loss / |∇loss|²
    squared = sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in params)
    optim.SGD(params, lr=0.1 * before.item() / squared).step()
    with cnnkit.no_grad():
        after = loss()
    assert after.item() < before.item()


@pytest.mark.parametrize(("name", "kwargs", "shape"), ZOO)
def test_zoo_model_round_trip(name: str, kwargs: dict, shape: tuple[int, ...], tmp_path) -> None:
    cnnkit.manual_seed(0)
    _round_trip(get_model(name, **kwargs), shape, tmp_path)


@pytest.mark.skipif(
    importlib.util.find_spec("cnnkit.detection.yolo") is None,
    reason="the YOLO detector (cnnkit/detection/yolo.py) is not in this checkout",
)
def test_yolo_detector_round_trip(tmp_path) -> None:
    yolo = importlib.import_module("cnnkit.detection.yolo")
    cnnkit.manual_seed(0)
    _round_trip(yolo.yolo_v1(), (1, 64, 64), tmp_path)
