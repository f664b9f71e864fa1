"""Gradient flow: the recorded norms and activation statistics are the step's own, taken every N steps without an
extra pass, and a run keeps them in history.json (not in history.csv)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.training.gradient_flow import GradientFlow, steps_between_records


def model() -> nn.Module:
    cnnkit.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2), nn.ReLU())


def train_steps(net: nn.Module, flow: GradientFlow, steps: int, seen: list) -> None:
    optimizer = cnnkit.optim.SGD(net.parameters(), lr=0.1)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = cnnkit.tensor(rng.standard_normal((4, 1, 4, 4)).astype(np.float32))
        out = net(x)
        optimizer.zero_grad()
        out.sum().backward()
        grads = {name: p.grad._data.copy() for name, p in net.named_parameters()}
        optimizer.step()
        seen.append((x._data, grads, {name: p._data.copy() for name, p in net.named_parameters()}))
        flow.after_step()


def test_every_nth_step_is_recorded_with_that_steps_norms_and_statistics() -> None:
    net = model()
    flow, seen = GradientFlow(net, every=2), []
    train_steps(net, flow, 5, seen)
    records = flow.take()
    assert [r["step"] for r in records] == [1, 3, 5] and flow.take() == []
    for record in records:
        x, grads, weights = seen[record["step"] - 1]
        assert list(record["layers"]) == ["0", "3"]
        for layer in ("0", "3"):
            g = np.sqrt(sum(np.square(grads[f"{layer}.{k}"]).sum() for k in ("weight", "bias")))
            w = np.sqrt(sum(np.square(weights[f"{layer}.{k}"]).sum() for k in ("weight", "bias")))
            stats = record["layers"][layer]
            assert stats["grad_norm"] == pytest.approx(g, rel=1e-5)
            assert stats["weight_norm"] == pytest.approx(w, rel=1e-5)
            assert stats["ratio"] == pytest.approx(g / w, rel=1e-5)
        assert list(record["activations"]) == ["0", "1", "3", "4"]
        assert "zeros" in record["activations"]["1"] and "zeros" not in record["activations"]["0"]
    # the first record's activations, recomputed from its input and the weights before that step
    x, _, _ = seen[0]
    check = model()
    with cnnkit.no_grad():
        relu = np.maximum(check[0](cnnkit.tensor(x))._data, 0)
    stats = records[0]["activations"]["1"]
    assert stats["mean"] == pytest.approx(relu.mean(), rel=1e-5)
    assert stats["std"] == pytest.approx(relu.std(), rel=1e-4)
    assert stats["zeros"] == pytest.approx((relu == 0).mean(), rel=1e-6)


def test_a_module_called_twice_counts_both_calls_and_evaluation_is_not_counted() -> None:
    relu = nn.ReLU()
    net = nn.Sequential(nn.Linear(3, 3), relu, relu)
    flow = GradientFlow(net, every=1)
    net.eval()
    net(cnnkit.tensor(np.ones((2, 3), np.float32)))
    net.train()
    out = net(cnnkit.tensor(np.array([[1.0, -1.0, 2.0]], np.float32)))
    out.sum().backward()
    flow.after_step()
    [record] = flow.take()
    h = np.maximum(out._data, 0)
    values = np.concatenate([h, h]).ravel()  # both calls of the same ReLU
    assert record["activations"]["1"]["mean"] == pytest.approx(values.mean(), rel=1e-5)


def test_recording_adds_no_forward_and_removes_its_hooks() -> None:
    net = model()
    calls = []
    net[0].register_forward_hook(lambda *a: calls.append(1))
    flow = GradientFlow(net, every=1)
    train_steps(net, flow, 3, [])
    assert len(calls) == 3 and len(flow.take()) == 3
    flow.remove()
    assert all(not m._forward_hooks for m in (net[1], net[3], net[4]))


def test_steps_between_records() -> None:
    assert [steps_between_records(n) for n in (1, 9, 10, 469)] == [1, 1, 1, 46]
    with pytest.raises(ValueError, match="every must be at least 1"):
        GradientFlow(model(), every=0)


def test_a_run_keeps_the_records_in_history_json(tmp_path) -> None:
    from cnnkit.training.run import RunConfig, train
    from tests.training.tiny_data import write_tiny_fashion

    data_dir = write_tiny_fashion(tmp_path / "fashion")
    out = tmp_path / "run"
    config = RunConfig(model="lenet5_relu", dataset="fashion-mnist", data_dir=str(data_dir), epochs=2,
                       batch_size=64, out=str(out))
    train(config, progress=False, log=lambda *_: None)
    history = json.loads((out / "history.json").read_text())
    steps = [[r["step"] for r in row["gradient_flow"]] for row in history]
    per_epoch = len(steps[0])
    assert steps[0][0] == 1 and steps[1][0] > steps[0][-1] and per_epoch >= 2
    record = history[-1]["gradient_flow"][-1]
    assert list(record["layers"]) == ["features.0", "features.3", "features.6", "classifier.0", "classifier.2"]
    assert all(v["grad_norm"] > 0 and v["weight_norm"] > 0 for v in record["layers"].values())
    assert 0 < record["activations"]["features.1"]["zeros"] < 1
    assert "gradient_flow" not in (out / "history.csv").read_text()
