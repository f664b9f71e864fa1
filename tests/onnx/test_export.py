"""cnnkit.onnx.export on the functional ops a forward method uses, at several opsets, against onnxruntime;
its errors (unknown ops, data-dependent reads, bad arguments), and that tracing leaves nothing patched."""

from __future__ import annotations

import numpy as np
import pytest

from tests.onnx.onnx_cases import onnxruntime_outputs

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
import cnnkit  # noqa: E402
import cnnkit.nn.functional as F  # noqa: E402
import cnnkit.onnx  # noqa: E402
import cnnkit.ops.shape  # noqa: E402
from cnnkit import nn  # noqa: E402
from cnnkit.tensor import Tensor  # noqa: E402


class Everything(nn.Module):
    """One forward through most functional ops a CNN's forward method calls."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding="same")
        self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.norm = nn.GroupNorm(2, 4)
        self.layer_norm = nn.LayerNorm(6)
        self.fc = nn.Linear(6, 5)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = F.leaky_relu(self.conv(x), 0.2)
        h = self.norm(self.up(h))  # (N, 4, 16, 16)
        a = F.interpolate(h, scale_factor=0.5, mode="nearest")
        b = F.interpolate(h, size=(8, 8), mode="bilinear", align_corners=False)
        c = F.interpolate(h, size=(8, 8), mode="bilinear", align_corners=True)
        d = F.interpolate(a, scale_factor=2, mode="nearest-exact")[:, :, ::2, 1::2]
        h = cnnkit.cat([a * 2.0 - b, 1.0 - c / 3.0, d**2, cnnkit.maximum(a, b)], dim=1)  # (N, 16, 8, 8)
        h = F.pad(h, (1, 2, 0, 1), mode="reflect") + F.pad(h, (1, 2, 0, 1), mode="replicate")
        h = F.pad(F.gelu(h), (0, 1, 1, 0), value=0.5)[..., 1:, :-1]  # (N, 16, 11, 11)
        h = F.adaptive_avg_pool2d(F.silu(h), (3, 6))  # unequal bins: a matrix product
        seq = h.flatten(1, 2).permute(0, 2, 1)  # (N, 6, 48)
        seq = self.layer_norm(seq.transpose(1, 2))  # (N, 48, 6)
        seq = F.elu(self.fc(seq)).clamp(-0.5, 2.0)  # (N, 48, 5)
        pooled = seq.mean(dim=1) + seq.sum(dim=1, keepdim=True).squeeze(1) * 0.01
        logits = F.hardtanh(pooled.unsqueeze(1).expand(-1, 3, -1).reshape(-1, 15), -2.0, 2.0)
        picked = cnnkit.stack([logits[:, 0], logits[:, -1].abs().exp(), logits[:, 4].sigmoid().tanh()], dim=1)
        return F.log_softmax(logits, dim=1), F.softmax(picked @ cnnkit.ones(3, 2), dim=0) + F.gelu(
            picked[:, :2], "tanh"
        )


@pytest.mark.parametrize("opset", [11, 13, 17, 20])
def test_functional_ops_match_onnxruntime_at_any_batch(opset: int, tmp_path) -> None:
    cnnkit.manual_seed(0)
    model = Everything()
    x = cnnkit.randn(2, 3, 8, 8)
    path = tmp_path / "everything.onnx"
    proto = cnnkit.onnx.export(
        model, x, path, opset_version=opset, output_names=["logp", "mix"], dynamic_axes={"input": [0], "logp": [0]}
    )
    assert proto.opset_import[0].version == opset
    for batch in (2, 3):
        xb = cnnkit.randn(batch, 3, 8, 8)
        with cnnkit.no_grad():
            expected = [t.numpy() for t in model(xb)]
        got = onnxruntime_outputs(proto, [xb.numpy()])
        if batch == 2:  # "mix" normalises over the batch: its graph is traced at batch 2 only
            np.testing.assert_allclose(got[1], expected[1], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-4, atol=1e-5)
    imported = cnnkit.onnx.load(path)
    with cnnkit.no_grad():
        again = imported(x)
    np.testing.assert_allclose(again[0].numpy(), model(x)[0].numpy(), rtol=1e-5, atol=1e-6)


def test_gelu_is_an_op_from_opset_20_and_its_formula_before(tmp_path) -> None:
    model = nn.Sequential(nn.GELU())
    x = cnnkit.randn(2, 3)
    old = cnnkit.onnx.export(model, x, tmp_path / "old.onnx", opset_version=17)
    new = cnnkit.onnx.export(model, x, tmp_path / "new.onnx", opset_version=20)
    assert "Erf" in {n.op_type for n in old.graph.node} and "Gelu" not in {n.op_type for n in old.graph.node}
    assert [n.op_type for n in new.graph.node] == ["Gelu"]
    for proto in (old, new):
        np.testing.assert_allclose(onnxruntime_outputs(proto, [x.numpy()])[0], F.gelu(x).numpy(), atol=1e-6)


def test_names_nodes_after_modules_and_weights_after_the_state_dict(tmp_path) -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    proto = cnnkit.onnx.export(model, cnnkit.randn(1, 1, 4, 4), tmp_path / "m.onnx", input_names=["image"])
    assert [(n.name, n.op_type) for n in proto.graph.node] == [
        ("0/Conv", "Conv"),
        ("1/Relu", "Relu"),
        ("2/Flatten", "Flatten"),
        ("3/Gemm", "Gemm"),
    ]
    assert {t.name for t in proto.graph.initializer} == {"0.weight", "0.bias", "3.weight", "3.bias"}
    assert [i.name for i in proto.graph.input] == ["image"] and [o.name for o in proto.graph.output] == ["output"]


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 2, 3), Spread())

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class Spread(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.var(dim=1)


class Decides(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * 2 if (x.sum() > 0).item() else x


def test_unsupported_op_names_the_op_and_the_module(tmp_path) -> None:
    with pytest.raises(cnnkit.onnx.ExportError, match=r"the op 'Var' in module 'body.1' \(Spread\)"):
        cnnkit.onnx.export(Unsupported(), cnnkit.randn(1, 1, 5, 5), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_data_dependent_decision_is_refused(tmp_path) -> None:
    with pytest.raises(cnnkit.onnx.ExportError, match=r"module '\(model\)' \(Decides\) reads the values"):
        cnnkit.onnx.export(Decides(), cnnkit.randn(2, 3), tmp_path / "x.onnx")


def test_inexpressible_arguments_are_refused(tmp_path) -> None:
    model = nn.Sequential(nn.AdaptiveMaxPool2d((3, 3)))
    with pytest.raises(cnnkit.onnx.ExportError, match=r"adaptive_max_pool2d in module '0' .*unequal bins"):
        cnnkit.onnx.export(model, cnnkit.randn(1, 1, 5, 5), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="opset_version between 11 and"):
        cnnkit.onnx.export(nn.ReLU(), cnnkit.randn(2), tmp_path / "x.onnx", opset_version=9)
    with pytest.raises(ValueError, match="dynamic_axes names 'x'"):
        cnnkit.onnx.export(nn.ReLU(), cnnkit.randn(2), tmp_path / "x.onnx", dynamic_axes={"x": [0]})


def test_tracing_puts_everything_back(tmp_path) -> None:
    originals = (cnnkit.ops.shape.cat, cnnkit.cat, F.relu, Tensor.__gt__, Tensor.item)
    model = nn.Sequential(nn.BatchNorm2d(2), nn.Dropout(0.5))
    model.train()
    with pytest.raises(cnnkit.onnx.ExportError):
        cnnkit.onnx.export(Decides(), cnnkit.randn(2, 3), tmp_path / "x.onnx")
    cnnkit.onnx.export(model, cnnkit.randn(2, 2, 3, 3), tmp_path / "bn.onnx")
    assert (cnnkit.ops.shape.cat, cnnkit.cat, F.relu, Tensor.__gt__, Tensor.item) == originals
    assert model.training and model[0].training  # modes restored
    assert int(model[0].num_batches_tracked.item()) == 0  # traced in eval mode: no statistics updated
    assert (cnnkit.randn(3) > 0).dtype == np.bool_
