"""`cnnkit.summary.summary`: rows (names, types, output shapes, parameters, MACs), totals, the table text,
batch scaling, shared modules, mode restoration and errors; LeNet-5 and AlexNet checked against hand counts."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import models, nn
from cnnkit.summary import Row, Summary, layer_macs, summary

# LeNet-5 by hand: MACs = output elements × (in_channels · kH · kW) for convs, outputs × inputs for FC
LENET_ROWS = [
    ("features.0", "Conv2d", (1, 6, 28, 28), 6 * (25 + 1), 6 * 28 * 28 * 25),  # 117,600
    ("features.1", "Tanh", (1, 6, 28, 28), 0, 0),
    ("features.2", "AvgPool2d", (1, 6, 14, 14), 0, 0),
    ("features.3", "Conv2d", (1, 16, 10, 10), 16 * (6 * 25 + 1), 16 * 10 * 10 * 6 * 25),  # 240,000
    ("features.4", "Tanh", (1, 16, 10, 10), 0, 0),
    ("features.5", "AvgPool2d", (1, 16, 5, 5), 0, 0),
    ("features.6", "Conv2d", (1, 120, 1, 1), 120 * (16 * 25 + 1), 120 * 16 * 25),  # 48,000
    ("features.7", "Tanh", (1, 120, 1, 1), 0, 0),
    ("flatten", "Flatten", (1, 120), 0, 0),
    ("classifier.0", "Linear", (1, 84), 84 * 121, 84 * 120),
    ("classifier.1", "Tanh", (1, 84), 0, 0),
    ("classifier.2", "Linear", (1, 10), 10 * 85, 10 * 84),
]
LENET_MACS = 117_600 + 240_000 + 48_000 + 10_080 + 840  # 416,520


def test_lenet5_rows_and_totals():
    s = summary(models.lenet5(), (1, 28, 28))
    assert isinstance(s, Summary)
    assert [tuple(r) for r in s.rows] == LENET_ROWS
    assert all(isinstance(r, Row) for r in s.rows)
    assert s.total_params == s.trainable_params == 61_706
    assert s.non_trainable_params == 0
    assert s.total_macs == LENET_MACS == 416_520
    assert s.total_flops == 2 * LENET_MACS
    assert s.input_shape == (1, 1, 28, 28)
    assert s.param_bytes == 61_706 * 4


def test_lenet5_table_text():
    text = str(summary(models.lenet5(), (1, 28, 28)))
    lines = text.splitlines()
    conv1 = next(line for line in lines if line.startswith("features.0 "))
    assert conv1.split() == ["features.0", "Conv2d", "[1,", "6,", "28,", "28]", "156", "117,600"]
    tanh = next(line for line in lines if line.startswith("features.1 "))
    assert tanh.split()[-2:] == ["--", "--"]
    assert "[1, 10]" in next(line for line in lines if line.startswith("classifier.2 "))
    tail = "\n".join(lines[-9:])  # the totals close the table
    assert "Total params: 61,706" in tail
    assert "Trainable params: 61,706" in tail
    assert "Non-trainable params: 0" in tail
    assert "Total mult-adds (M): 0.42" in tail
    assert lines[-1].startswith("=")


def test_batch_size_scales_shapes_and_macs_not_params():
    s = summary(models.lenet5(), (1, 28, 28), batch_size=3)
    assert s.rows[0].output_shape == (3, 6, 28, 28)
    assert s.total_macs == 3 * LENET_MACS
    assert s.total_params == 61_706
    assert s.input_shape == (3, 1, 28, 28)


def test_alexnet_small_input_rows():
    # torchvision AlexNet on 67×67: conv1 (67 + 4 − 11)/4 + 1 = 16, pools 16 → 7 → 3 → 1, adaptive pool → 6×6
    s = summary(models.alexnet(lrn=False, num_classes=10), (3, 67, 67))
    convs = [r for r in s.rows if r.layer_type == "Conv2d"]
    assert [r.output_shape for r in convs] == [(1, 64, 16, 16), (1, 192, 7, 7), (1, 384, 3, 3), (1, 256, 3, 3),
                                               (1, 256, 3, 3)]
    assert [r.macs for r in convs] == [64 * 256 * 3 * 121, 192 * 49 * 64 * 25, 384 * 9 * 192 * 9,
                                       256 * 9 * 384 * 9, 256 * 9 * 256 * 9]
    pool = next(r for r in s.rows if r.name == "avgpool")
    assert pool.output_shape == (1, 256, 6, 6)
    fcs = [r.macs for r in s.rows if r.layer_type == "Linear"]
    assert fcs == [9216 * 4096, 4096 * 4096, 4096 * 10]
    assert s.total_params == 61_100_840 - 990 * 4097


@pytest.mark.slow
def test_alexnet_224_total_macs_and_the_lecture_table():
    # The lectures' complexity comparison: torchvision AlexNet at 224×224 against LeNet-5 at 28×28.
    alex = summary(models.alexnet(lrn=False), (3, 224, 224))
    conv = [(64, 55, 3 * 11 * 11), (192, 27, 64 * 5 * 5), (384, 13, 192 * 9), (256, 13, 384 * 9), (256, 13, 256 * 9)]
    by_hand = sum(c * hw * hw * k for c, hw, k in conv) + 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    assert by_hand == 714_188_480
    assert alex.total_macs == by_hand
    assert alex.total_params == 61_100_840
    lenet = summary(models.lenet5(), (1, 28, 28))
    assert alex.total_macs / lenet.total_macs == pytest.approx(1715, rel=1e-3)
    assert alex.total_params / lenet.total_params == pytest.approx(990, rel=1e-3)
    # in AlexNet the convolutions hold 4 % of the parameters but 92 % of the arithmetic
    conv_rows = [r for r in alex.rows if r.layer_type == "Conv2d"]
    assert sum(r.num_params for r in conv_rows) / alex.total_params == pytest.approx(0.0404, abs=1e-3)
    assert sum(r.macs for r in conv_rows) / alex.total_macs == pytest.approx(0.918, abs=1e-3)


def test_resnet20_counts_projection_shortcuts_and_batch_norm():
    s = summary(models.resnet20(), (3, 32, 32))
    assert s.total_params == 272_474
    assert sum(r.num_params for r in s.rows) == s.total_params
    shortcut = next(r for r in s.rows if r.name == "layer2.0.downsample.0")
    assert shortcut.output_shape == (1, 32, 16, 16) and shortcut.macs == 32 * 16 * 16 * 16
    bn = next(r for r in s.rows if r.name == "bn1")
    assert bn.num_params == 32 and bn.macs == 0
    assert s.rows[-1] == Row("fc", "Linear", (1, 10), 650, 640)
    assert sum(1 for r in s.rows if r.name == "layer1.0.relu") == 2  # called twice per block: two rows


def test_conv_transpose_and_grouped_conv_macs():
    model = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, groups=2), nn.ConvTranspose2d(8, 6, 3, stride=2, groups=2))
    s = summary(model, (4, 5, 5))
    assert s.rows[0].macs == 8 * 5 * 5 * (4 // 2) * 9  # output elements × in/groups × kH × kW
    assert s.rows[1].output_shape == (1, 6, 11, 11)
    assert s.rows[1].macs == 8 * 5 * 5 * (6 // 2) * 9  # input elements × out/groups × kH × kW
    assert layer_macs(nn.ReLU(), (1, 4), (1, 4)) == 0


class Shared(nn.Module):
    """One Linear used twice, and a parameter owned by a module that also has children."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.scale = nn.Parameter(cnnkit.ones(4))

    def forward(self, x):
        return self.fc(self.fc(x)) * self.scale


def test_shared_modules_count_once():
    s = summary(Shared(), (4,))
    assert [(r.name, r.num_params) for r in s.rows] == [("fc", 20), ("fc", 0), ("", 4)]
    assert [r.macs for r in s.rows] == [16, 16, 0]
    assert s.total_params == 24
    assert any(line.startswith("(model) ") and line.split()[1] == "Shared" for line in str(s).splitlines())


def test_frozen_parameters_are_not_trainable():
    model = models.lenet5()
    for p in model.features.parameters():
        p.requires_grad_(False)
    s = summary(model, (1, 28, 28))
    assert s.trainable_params == 10_164 + 850
    assert s.non_trainable_params == 156 + 2_416 + 48_120


def test_summary_restores_modes_and_leaves_state_alone():
    model = models.resnet20().train()
    model.layer1.eval()
    before = {k: v._data.copy() for k, v in model.state_dict().items()}
    first = summary(model, (3, 32, 32))
    second = summary(model, (3, 32, 32))
    assert first.rows == second.rows  # the first call's hooks were removed
    assert model.training and not model.layer1.training and model.layer2.training
    assert all(np.array_equal(v._data, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_dropout_model_is_deterministic_under_summary():
    model = models.alexnet_small()
    assert summary(model, (1, 28, 28)).total_params == 776_330
    assert model.training


@pytest.mark.parametrize(("shape", "match"), [
    ((0, 28, 28), r"summary: expected input_shape of positive ints.*\(0, 28, 28\)"),
    ((1, -2, 28), r"summary: expected input_shape of positive ints"),
    ((), r"summary: expected input_shape"),
])
def test_bad_input_shape(shape, match):
    with pytest.raises(ValueError, match=match):
        summary(models.lenet5(), shape)


def test_bad_arguments():
    with pytest.raises(TypeError, match="summary: expected input_shape as a sequence of ints"):
        summary(models.lenet5(), "1x28x28")
    with pytest.raises(TypeError, match="summary: expected an nn.Module, got str"):
        summary("lenet5", (1, 28, 28))
    with pytest.raises(ValueError, match="summary: expected a positive integer batch_size, got 0"):
        summary(models.lenet5(), (1, 28, 28), batch_size=0)


class BrokenHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))  # 4·6·6 = 144 features, not 10


def test_forward_failure_names_the_model_shape_and_last_layer():
    expected = (r"summary: the forward pass of BrokenHead on zeros of shape \(1, 3, 8, 8\) failed "
                r"\(last layer completed: conv\): Linear.*last dimension 10.*\(1, 144\)")
    with pytest.raises(RuntimeError, match=expected):
        summary(BrokenHead(), (3, 8, 8))
    model = models.lenet5()
    with pytest.raises(RuntimeError, match=r"LeNet5 on zeros of shape \(1, 1, 32, 32\).*expected input of shape"):
        summary(model, (1, 32, 32))
    assert summary(model, (1, 28, 28)).total_params == 61_706  # no hook left behind by the failure
