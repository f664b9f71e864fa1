"""The vanishing-gradient demo: its networks (same widths, the stated layers and init), the gradient measurement,
the table, the figure and the command, end to end on the tiny data set."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import cnnkit
from cnnkit import nn
from cnnkit.cli import main
from cnnkit.demo.gradients import GradientsResult, gradient_norms, plain_cnn, weight_layers
from cnnkit.demo.shift import count_parameters
from tests.training.tiny_data import write_tiny_fashion


@pytest.mark.parametrize("depth", [8, 20, 32])
def test_each_kind_has_depth_weight_layers_and_the_same_parameters(depth: int) -> None:
    counts = set()
    for kind in ("sigmoid", "relu", "residual"):
        model = plain_cnn(depth, kind)
        assert len(weight_layers(model)) == depth
        counts.add(count_parameters(model))
        assert model(cnnkit.randn(2, 1, 28, 28)).shape == (2, 10)
    # stem 1·9·16 + 16, (depth − 2) convs 16·9·16 + 16, classifier 16·7·7·10 + 10
    assert counts == {160 + (depth - 2) * 2320 + 7850}


def test_a_residual_pair_adds_its_input() -> None:
    cnnkit.manual_seed(0)
    model = plain_cnn(8, "residual")
    pair = model[3]
    x = cnnkit.randn(2, 16, 7, 7)
    with cnnkit.no_grad():
        expected = np.maximum(x._data + pair.conv2(nn.functional.relu(pair.conv1(x))).data, 0)
        np.testing.assert_allclose(pair(x)._data, expected, rtol=1e-6)
    # Fixup: a branch's He-initialised weights are scaled by B^(-1/2), B = 3 pairs
    std = float(pair.conv1.weight._data.std())
    assert std == pytest.approx(np.sqrt(2 / (16 * 9)) / np.sqrt(3), rel=0.1)
    with pytest.raises(ValueError, match="even for residual"):
        plain_cnn(9, "residual")
    with pytest.raises(ValueError, match="kind must be one of sigmoid, relu, residual"):
        plain_cnn(8, "tanh")


def test_sigmoid_gradients_vanish_with_depth_and_relu_ones_do_not() -> None:
    rng = np.random.default_rng(0)
    images = cnnkit.tensor(rng.standard_normal((32, 1, 28, 28)).astype(np.float32))
    labels = cnnkit.tensor(rng.integers(0, 10, 32))
    ratio = {}
    for kind in ("sigmoid", "relu", "residual"):
        cnnkit.manual_seed(0)
        model = plain_cnn(20, kind)
        norms = gradient_norms(model, images, labels)
        assert len(norms) == 20 and all(p.grad is None for p in model.parameters())
        ratio[kind] = norms[0] / norms[-1]
    assert ratio["sigmoid"] < 1e-8  # 18 sigmoids: each derivative ≤ 1/4
    assert ratio["relu"] > 1e-3 and ratio["residual"] > 1e-3


def test_the_table() -> None:
    result = GradientsResult({"relu-8": np.array([0.5, 2.0])}, {"relu-8": 0.75}, {"relu-8": 3.25})
    assert result.table().splitlines()[1].split() == ["relu", "8", "5.00e-01", "2.00e+00", "2.50e-01", "0.7500",
                                                      "3.2"]


def test_demo_gradients_prints_the_table_and_plots_it(tmp_path, capsys) -> None:
    data = write_tiny_fashion(tmp_path / "fashion")
    figure = tmp_path / "gradients.png"
    assert main(["demo", "gradients", "--data-dir", str(data), "--depths", "4", "6", "--train-size", "64",
                 "--test-size", "40", "--out", str(figure)]) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines() if line.split()[:1] in (["sigmoid"], ["relu"], ["residual"])
            and len(line.split()) == 7]
    assert [(r[0], r[1]) for r in rows] == [(k, d) for d in ("4", "6") for k in ("sigmoid", "relu", "residual")]
    assert all(0 <= float(r[5]) <= 1 for r in rows)
    with Image.open(figure) as image:
        assert image.size == (1200, 420) and np.asarray(image.convert("L"), dtype=np.float64).var() > 0


def test_demo_gradients_refuses_an_odd_depth(capsys) -> None:
    assert main(["demo", "gradients", "--depths", "7", "--train-size", "1"]) == 2
    assert "even for residual" in capsys.readouterr().err


def test_no_value_label_of_the_bars_is_hidden_by_the_legend() -> None:
    from cnnkit.viz.gradient_demo import draw_gradient_demo

    # the accuracies of the docs' run: the 32-layer residual net's 0.80 sat under the legend's upper-right corner
    accuracy = {"sigmoid-8": 0.1015, "relu-8": 0.6555, "residual-8": 0.7770, "sigmoid-20": 0.1015, "relu-20": 0.5895,
                "residual-20": 0.7575, "sigmoid-32": 0.1015, "relu-32": 0.2505, "residual-32": 0.7995}
    norms = {name: np.geomspace(1e-3, 1, int(name.rsplit("-", 1)[1])) for name in accuracy}
    fig = draw_gradient_demo(norms, accuracy, "title")
    renderer = fig.canvas.get_renderer()
    fig.draw_without_rendering()
    bars_ax = fig.axes[1]
    legend = bars_ax.get_legend().get_window_extent(renderer)
    labels = [t for t in bars_ax.texts if t.get_text() in {f"{v:.2f}" for v in accuracy.values()}]
    assert len(labels) == 9 and "0.80" in [t.get_text() for t in labels]
    for text in labels:
        box = text.get_window_extent(renderer)
        assert not legend.overlaps(box), text.get_text()
        assert bars_ax.bbox.contains(box.x0, box.y1), text.get_text()  # inside the axes, not cut off at the top
    assert "chance" in [t.get_text() for t in bars_ax.get_legend().get_texts()]
