"""receptive_field: hand-computed stacks (LeNet-5, VGG-16's geometry, AlexNet's first layers), and a gradient
check that a unit's input gradient is zero exactly outside its computed box."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.models import get_model
from cnnkit.receptive_field import ReceptiveField, receptive_field


def test_lenet5_layers_by_hand():
    model = get_model("lenet5")
    # C1 5×5 pad 2: 5, jump 1, start −2; S2 2/2: 6, jump 2; C3 5×5: 6 + 4·2 = 14; S4: 14 + 2 = 16, jump 4;
    # C5 5×5: 16 + 4·4 = 32 — the whole padded 32×32 image of the paper.
    expected = {
        "features.0": (5, 1),
        "features.1": (5, 1),
        "features.2": (6, 2),
        "features.3": (14, 2),
        "features.5": (16, 4),
        "features.6": (32, 4),
        "features": (32, 4),
    }
    for layer, (size, jump) in expected.items():
        field = receptive_field(model, layer)
        assert field == ReceptiveField(layer, (size, size), (jump, jump), (-2, -2)), layer
    assert receptive_field(model, "features.6").box(0, 0) == (-2, -2, 30, 30)


def test_vgg16_geometry_gives_the_published_212_pixels():
    layers: list[nn.Module] = []
    for convs in (2, 2, 3, 3, 3):  # VGG-16: 3×3 convs (padding 1) then a 2×2 max-pool, per block
        layers += [nn.Conv2d(1, 1, 3, padding=1) for _ in range(convs)] + [nn.MaxPool2d(2)]
    model = nn.Sequential(*layers)
    assert receptive_field(model, "16") == ReceptiveField("16", (196, 196), (16, 16), (-90, -90))  # conv5_3
    pool5 = receptive_field(model, "17")
    assert pool5.size == (212, 212) and pool5.jump == (32, 32) and pool5.stride == (32, 32)


def test_strides_dilation_padding_layers_and_rectangles():
    model = nn.Sequential(
        nn.ZeroPad2d((1, 0, 3, 0)),
        nn.Conv2d(1, 2, (3, 5), stride=(2, 1)),
        nn.ReLU(),
        nn.Conv2d(2, 2, 3, dilation=2, padding="same"),
        nn.AvgPool2d(2, padding=1),
    )
    # rows: pad top 3 → start −3; 3/2 → size 3, jump 2; dilated 3 (effective 5), padding 2·jump 2: size 3 + 4·2 = 11,
    # start −3 − 4 = −7; pool 2 pad 1: size 11 + 2 = 13, start −7 − 2 = −9, jump 4.
    # cols: pad left 1 → −1; 5/1 → 5, jump 1; effective 5 pad 2: 9, start −3; pool: 10, start −4, jump 2.
    assert receptive_field(model, "4") == ReceptiveField("4", (13, 10), (4, 2), (-9, -4))
    assert receptive_field(model, "4").box(2, 3) == (-1, 2, 12, 12)


def test_unknown_layer_lists_the_valid_names_and_flatten_is_refused():
    model = get_model("lenet5")
    with pytest.raises(ValueError, match=r"has no layer 'conv9'; its layers are: 'features', 'features.0'"):
        receptive_field(model, "conv9")
    with pytest.raises(ValueError, match=r"layer 'flatten' \(Flatten\) .* no box-shaped receptive field"):
        receptive_field(model, "classifier.0")


def _input_gradient(model: nn.Module, layer: str, x: np.ndarray, channel: int, row: int, col: int) -> np.ndarray:
    """∂ activation[0, channel, row, col] of `layer` / ∂ input, through a forward hook."""
    captured = {}
    dict(model.named_modules())[layer].register_forward_hook(lambda m, a, out: captured.update(out=out))
    inp = cnnkit.tensor(x, requires_grad=True)
    model(inp)
    captured["out"][0, channel, row, col].backward()
    return inp.grad.numpy()[0, 0]


def _assert_gradient_fills_box(grad: np.ndarray, field: ReceptiveField, row: int, col: int, full: bool) -> None:
    """Zero outside the box (clipped to the image); with `full`, non-zero on every pixel inside, edges included."""
    top, left, bottom, right = field.box(row, col)
    h, w = grad.shape
    inside = np.zeros_like(grad, dtype=bool)
    inside[max(top, 0) : min(bottom, h), max(left, 0) : min(right, w)] = True
    assert np.all(grad[~inside] == 0), "a pixel outside the computed receptive field changes the unit"
    if full:  # the field is not larger than needed: its edge pixels matter too
        box = grad[max(top, 0) : min(bottom, h), max(left, 0) : min(right, w)]
        assert np.all(box != 0), "a pixel inside the field has no effect on the unit"


# (5, 5)'s field reaches past the right edge of an intermediate map (into a later layer's zero padding), so
# its rightmost in-image pixels rightly have no effect: only the outside is checked there.
@pytest.mark.parametrize("row, col, full", [(0, 0, True), (2, 3, True), (7, 2, True), (5, 5, False)])
def test_gradient_is_zero_exactly_outside_the_field(row, col, full):
    cnnkit.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Conv2d(3, 4, (5, 3), stride=(1, 2), padding=(2, 0)),
        nn.Tanh(),
        nn.Conv2d(4, 2, 3, padding=1),
    )
    x = np.random.default_rng(0).standard_normal((1, 1, 24, 28)).astype(np.float32)
    field = receptive_field(model, "5")
    assert field == ReceptiveField("5", (16, 16), (2, 4), (-7, -5))
    _assert_gradient_fills_box(_input_gradient(model, "5", x, 1, row, col), field, row, col, full)


def test_gradient_with_max_pooling_and_dilation_stays_inside_the_field():
    cnnkit.manual_seed(4)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.Conv2d(4, 4, 3, dilation=2),
        nn.LeakyReLU(0.1),
    )
    x = np.random.default_rng(1).standard_normal((1, 1, 30, 30)).astype(np.float32)
    field = receptive_field(model, "4")
    assert field == ReceptiveField("4", (13, 13), (2, 2), (-1, -1))
    grad = _input_gradient(model, "4", x, 2, 4, 3)
    top, left, bottom, right = field.box(4, 3)
    outside = np.ones_like(grad, dtype=bool)
    outside[top:bottom, left:right] = False
    assert np.all(grad[outside] == 0) and np.count_nonzero(grad) > 0
