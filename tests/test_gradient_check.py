"""cnnkit.gradcheck: it passes right gradients (functions, layers, every zoo model) and catches a planted wrong one."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.gradient_check import GradcheckError, check_function, check_module, format_table, zoo_inputs, zoo_model
from cnnkit.models import get_model, list_models
from cnnkit.models.resnet import CifarResNet
from cnnkit.ops.threads import get_num_threads
from cnnkit.tensor import Tensor, record


def scaled_tanh(x: Tensor, w: Tensor, planted_bug: bool = False) -> Tensor:
    """y = tanh(w · x) with w broadcast over channels; the planted bug drops the factor x in dy/dw."""
    z = w._data.reshape(1, -1, 1, 1) * x._data
    y = np.tanh(z)

    def backward(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dz = g * (1 - y * y)
        dw = dz if planted_bug else dz * x._data
        return dz * w._data.reshape(1, -1, 1, 1), dw.sum(axis=(0, 2, 3))

    return record(y, (x, w), backward, "ScaledTanh")


class ScaledTanh(nn.Module):
    def __init__(self, channels: int, planted_bug: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(cnnkit.rand(channels) + 0.5)
        self.planted_bug = planted_bug

    def forward(self, x: Tensor) -> Tensor:
        return scaled_tanh(x, self.weight, self.planted_bug)


def small_net(planted_bug: bool = False) -> nn.Module:
    cnnkit.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), ScaledTanh(3, planted_bug), nn.Flatten(), nn.Linear(48, 4))


def batch(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def test_functions_with_right_gradients_pass() -> None:
    x, w = batch((2, 3, 5, 5)), batch((4, 3, 3, 3), 1)
    assert cnnkit.gradcheck(lambda a, b: cnnkit.nn.functional.conv2d(a, b, padding=1), (x, w)) is True
    assert cnnkit.gradcheck(cnnkit.sigmoid, cnnkit.tensor(x)) is True


def test_a_planted_wrong_backward_is_caught_in_a_function() -> None:
    x, w = batch((2, 3, 4, 4)), np.array([0.7, 1.2, 0.9])
    assert cnnkit.gradcheck(scaled_tanh, (x, w)) is True
    with pytest.raises(GradcheckError, match=r"gradient of input 1 \(3,\) is wrong at index \(\d,\)"):
        cnnkit.gradcheck(lambda a, b: scaled_tanh(a, b, planted_bug=True), (x, w))
    assert cnnkit.gradcheck(lambda a, b: scaled_tanh(a, b, planted_bug=True), (x, w), raise_exception=False) is False


def test_a_planted_wrong_backward_in_a_custom_layer_is_caught_and_named() -> None:
    x = batch((2, 1, 4, 4))
    assert cnnkit.gradcheck(small_net(), x)
    rows = check_module(small_net(planted_bug=True), x)
    verdict = {r.name: r.passed for r in rows}
    assert verdict == {"(input)": True, "0.weight": True, "0.bias": True, "1.weight": False, "3.weight": True,
                       "3.bias": True}
    bad = rows[3]
    assert bad.max_rel_error > 0.1 and not np.isclose(bad.analytic, bad.numeric, rtol=1e-2)
    line = next(line for line in format_table(rows).splitlines() if line.startswith("1 "))
    assert line.split()[:3] == ["1", "weight", "3"] and "FAIL at (" in line
    with pytest.raises(GradcheckError, match=r"gradient of 1\.weight \(3,\) is wrong at index"):
        cnnkit.gradcheck(small_net(planted_bug=True), x)


def test_the_model_is_checked_on_a_float64_copy_and_left_as_it_was() -> None:
    model = small_net()
    before = {k: v._data.copy() for k, v in model.state_dict().items()}
    check_module(model, batch((2, 1, 4, 4)))
    for k, v in model.state_dict().items():
        assert v.dtype == np.float32 and np.array_equal(v._data, before[k]), k
        assert model.training


def test_layer_restricts_the_check_to_one_layer_and_an_unknown_layer_is_named() -> None:
    rows = check_module(small_net(planted_bug=True), batch((2, 1, 4, 4)), layer="3")
    assert [r.name for r in rows] == ["3.weight", "3.bias"] and all(r.passed for r in rows)
    with pytest.raises(ValueError, match="no parameterised layer named 'fc'; the layers are 0, 1, 3"):
        check_module(small_net(), batch((2, 1, 4, 4)), layer="fc")


def test_large_tensors_are_sampled_including_their_largest_gradient() -> None:
    rows = check_module(small_net(), batch((2, 1, 4, 4)), max_coords=5)
    assert {r.name: r.checked for r in rows} == {"(input)": 5, "0.weight": 5, "0.bias": 3, "1.weight": 3,
                                                 "3.weight": 5, "3.bias": 4}


def test_dropout_and_batch_norm_are_deterministic_in_training_mode() -> None:
    cnnkit.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5), nn.Flatten(),
                          nn.Linear(16, 3))
    state = cnnkit.get_rng_state()
    assert all(r.passed for r in check_module(model, batch((3, 1, 4, 4))))
    assert all(r.passed for r in check_module(model, batch((3, 1, 4, 4)), train=False))
    assert cnnkit.get_rng_state() == state  # the caller's generator is left where it was


def test_float32_outputs_are_refused() -> None:
    with pytest.raises(ValueError, match="float64"):
        cnnkit.gradcheck(lambda x: x.float() * 2, batch((3,)))


def test_lenet5_passes() -> None:
    cnnkit.manual_seed(0)
    assert cnnkit.gradcheck(get_model("lenet5"), batch((2, 1, 28, 28)), max_coords=6)


def test_a_tiny_resnet_passes() -> None:
    cnnkit.manual_seed(0)
    assert cnnkit.gradcheck(CifarResNet(1, num_classes=4, in_channels=3), batch((2, 3, 8, 8)), max_coords=4)


def test_a_kink_within_the_step_is_measured_again_with_smaller_steps() -> None:
    # relu at 3e-7: the ±1e-6 step crosses 0 and measures (1.3e-6 − 0) / 2e-6 = 0.65, the ±1e-7 step does not
    x = np.array([3e-7, 0.5, -0.5])
    row = check_function(nn.functional.relu, x)[0]
    assert row.passed and row.refined == 1 and row.max_rel_error < 1e-6
    # a wrong backward is wrong at every step size: a gradient of 1.1 where relu's is 1 still fails
    def wrong_relu(t: Tensor) -> Tensor:
        return record(np.maximum(t._data, 0), (t,), lambda g: (g * (t._data > 0) * 1.1,), "WrongRelu")

    row = check_function(wrong_relu, x)[0]
    assert not row.passed and row.refined == 0 and row.max_rel_error == pytest.approx(1 / 11, rel=1e-3)


def test_the_check_runs_on_one_thread_and_restores_the_setting() -> None:
    seen = []

    def probe(t: Tensor) -> Tensor:
        seen.append(get_num_threads())
        return t * 2

    before = get_num_threads()
    assert cnnkit.gradcheck(probe, batch((3,)))
    assert set(seen) == {1} and get_num_threads() == before
    seen.clear()
    assert cnnkit.gradcheck(probe, batch((3,)), threads=None) and set(seen) == {before}


def test_zoo_inputs_are_small_and_a_noise_predictor_gets_time_steps_and_labels() -> None:
    assert zoo_inputs("vgg16")[0] == (3, 32, 32) and zoo_inputs("resnet56")[0] == (3, 8, 8)
    shape, inputs = zoo_inputs("lenet5", batch_size=3)
    assert shape == (1, 28, 28) and len(inputs) == 1 and inputs[0].shape == (3, 1, 28, 28)
    assert inputs[0].dtype == np.float64
    shape, (x, t, y) = zoo_inputs("diffusion_unet", shape=(1, 8, 8))
    assert x.shape == (2, 1, 8, 8) and t.shape == (2,) and 0 <= t.min() and t.max() < 1000 and y[-1] == -1
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        zoo_inputs("vgg")


def test_a_gradient_that_is_exactly_zero_is_shown_as_such() -> None:
    model = small_net()
    model[3].weight._data[...] = 0  # nothing reaches the layers before the classifier
    rows = check_module(model, batch((2, 1, 4, 4)))
    assert {r.name for r in rows if r.zero} == {"(input)", "0.weight", "0.bias", "1.weight"}
    assert all(r.passed for r in rows)
    line = next(line for line in format_table(rows).splitlines() if line.startswith("1 "))
    assert line.split() == ["1", "weight", "3", "0.00e+00", "3", "pass", "(gradient", "0)"]


def test_a_zoo_model_is_checked_away_from_an_all_zero_weight() -> None:
    cnnkit.manual_seed(0)
    plain = dict(get_model("diffusion_unet").named_parameters())
    assert not plain["net.conv_out.weight"]._data.any()  # DDPM's zero-initialised output layer
    checked = dict(zoo_model("diffusion_unet").named_parameters())
    weight = checked["net.conv_out.weight"]._data
    assert weight.std() == pytest.approx(1 / np.sqrt(32 * 9), rel=0.2)
    assert all(np.array_equal(p._data, checked[n]._data) for n, p in plain.items() if n != "net.conv_out.weight")


@pytest.mark.slow
@pytest.mark.parametrize("name", [info.name for info in list_models()])
def test_every_zoo_model_passes(name: str) -> None:
    _, inputs = zoo_inputs(name)
    model = zoo_model(name)
    rows = check_module(model, inputs, max_coords=3)
    assert all(r.passed for r in rows), format_table(rows)
    assert len(rows) == 1 + len(list(model.parameters()))
    assert not [r.name for r in rows if r.zero]  # each check compared non-zero gradients


@pytest.mark.slow
def test_resnet20_at_32x32_passes_where_a_step_crosses_a_relu_kink() -> None:
    # layer1.0.bn1.bias[14]: at ε = 1e-6 and 1e-7 a pre-ReLU value crosses 0 (relative error 1.1e-2 and
    # 1.7e-3), at 1e-8 the difference agrees to 4e-6; the analytic gradient equals PyTorch's to 1e-14
    cnnkit.manual_seed(0)
    model = get_model("resnet20")
    rows = check_module(model, batch((2, 3, 32, 32)), layer="layer1.0.bn1", max_coords=16)
    assert all(r.passed for r in rows), format_table(rows)
    assert [r.checked for r in rows] == [16, 16] and rows[1].refined >= 1
