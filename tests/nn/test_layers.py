"""Every layer against PyTorch with the same weights: forward, input gradient, every parameter gradient and buffers;
shapes, parameter names, train/eval behaviour, state_dict import from PyTorch, and the layers' error messages."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
import cnnkit.nn as nn
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

RTOL, ATOL = 1e-4, 1e-5


def _torch():
    return pytest.importorskip("torch")


def _copy_weights(ck_layer: nn.Module, th_layer) -> None:
    """Load PyTorch's state (parameters and buffers) into the cnnkit layer, as a user would."""
    ck_layer.load_state_dict({k: v.detach().numpy() for k, v in th_layer.state_dict().items()})


def compare_layer(ck_layer: nn.Module, th_layer, x: np.ndarray, train: bool = True, seed: int = 0) -> None:
    """Same weights, same input: same output, input gradient, parameter gradients (by name) and buffers."""
    torch = _torch()
    assert [n for n, _ in ck_layer.named_parameters()] == [n for n, _ in th_layer.named_parameters()]
    assert list(ck_layer.state_dict()) == list(th_layer.state_dict())
    for (name, p), (_, q) in zip(ck_layer.state_dict().items(), th_layer.state_dict().items(), strict=True):
        assert p.shape == tuple(q.shape), name
    _copy_weights(ck_layer, th_layer)
    ck_layer.train(train)
    th_layer.train(train)
    xc = cnnkit.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yc, yt = ck_layer(xc), th_layer(xt)
    if isinstance(yt, tuple):  # return_indices
        np.testing.assert_array_equal(yc[1].numpy(), yt[1].numpy())
        yc, yt = yc[0], yt[0]
    assert yc.shape == tuple(yt.shape) and yc.dtype == np.float32
    np.testing.assert_allclose(yc._data, yt.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg="forward")
    projection = np.random.default_rng(seed).standard_normal(yc.shape).astype(np.float32)
    (yc * cnnkit.tensor(projection)).sum().backward()
    (yt * torch.tensor(projection)).sum().backward()
    np.testing.assert_allclose(xc.grad._data, xt.grad.numpy(), rtol=RTOL, atol=ATOL, err_msg="input gradient")
    th_params = dict(th_layer.named_parameters())
    for name, p in ck_layer.named_parameters():
        np.testing.assert_allclose(p.grad._data, th_params[name].grad.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"gradient of {name}")
    th_buffers = dict(th_layer.named_buffers())
    for name, b in ck_layer.named_buffers():
        np.testing.assert_allclose(b._data, th_buffers[name].numpy(), rtol=RTOL, atol=ATOL, err_msg=f"buffer {name}")
        assert b.dtype == np.dtype(str(th_buffers[name].dtype).replace("torch.", "")), name


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _randomise(th_layer, seed=0):
    """Non-trivial affine parameters (PyTorch's norms start at 1 and 0)."""
    torch = _torch()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in th_layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5 + 1.0)
    return th_layer


# ----------------------------------------------------------------- convolution and linear
CONV_CASES = [
    (dict(in_channels=3, out_channels=4, kernel_size=3), (2, 3, 7, 7)),
    (dict(in_channels=2, out_channels=4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
     (2, 2, 8, 7)),
    (dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, bias=False, padding=1), (2, 4, 5, 6)),
    (dict(in_channels=3, out_channels=3, kernel_size=3, groups=3, stride=2), (1, 3, 7, 7)),  # depthwise
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding="same", dilation=2), (2, 2, 6, 5)),
    (dict(in_channels=2, out_channels=3, kernel_size=4, padding="same"), (2, 2, 6, 5)),  # asymmetric 'same'
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid"), (2, 2, 5, 5)),
    (dict(in_channels=2, out_channels=3, kernel_size=3), (2, 6, 6)),  # unbatched
]


@requires_torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # PyTorch's own note
@pytest.mark.parametrize("kwargs,shape", CONV_CASES)
def test_conv2d_vs_torch(kwargs, shape):
    torch = _torch()
    compare_layer(nn.Conv2d(**kwargs), torch.nn.Conv2d(**kwargs), _x(*shape))


@requires_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding,kernel_size", [((1, 2), 3), ("same", (3, 4)), (1, (3, 3))])
def test_conv2d_padding_modes_vs_torch(mode, padding, kernel_size):
    torch = _torch()
    kwargs = dict(in_channels=2, out_channels=3, kernel_size=kernel_size, padding=padding, padding_mode=mode)
    shape = (2, 2, 5, 6) if padding != 1 else (2, 5, 6)  # and once unbatched
    compare_layer(nn.Conv2d(**kwargs), torch.nn.Conv2d(**kwargs), _x(*shape))


CONV_T_CASES = [
    (dict(in_channels=3, out_channels=2, kernel_size=3), (2, 3, 4, 4)),
    (dict(in_channels=2, out_channels=4, kernel_size=3, stride=2, padding=1, output_padding=1), (2, 2, 4, 3)),
    (dict(in_channels=4, out_channels=2, kernel_size=(2, 3), stride=(2, 1), groups=2, bias=False, dilation=(1, 2)),
     (1, 4, 3, 3)),
]


@requires_torch
@pytest.mark.parametrize("kwargs,shape", CONV_T_CASES)
def test_conv_transpose2d_vs_torch(kwargs, shape):
    torch = _torch()
    compare_layer(nn.ConvTranspose2d(**kwargs), torch.nn.ConvTranspose2d(**kwargs), _x(*shape))


@requires_torch
def test_conv_transpose2d_output_size_vs_torch():
    torch = _torch()
    ck, th = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    _copy_weights(ck, th)
    x = _x(1, 2, 4, 4)
    for size in [(7, 7), (8, 8), (7, 8)]:
        out = ck(cnnkit.tensor(x), output_size=size)
        expected = th(torch.tensor(x), output_size=size).detach().numpy()
        assert out.shape[-2:] == size
        np.testing.assert_allclose(out._data, expected, rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(2, 3, .*requested an output size of \(9, 9\)"):
        ck(cnnkit.tensor(x), output_size=(9, 9))


@requires_torch
@pytest.mark.parametrize("shape,bias", [((5, 6), True), ((2, 3, 6), True), ((6,), False)])
def test_linear_vs_torch(shape, bias):
    torch = _torch()
    compare_layer(nn.Linear(6, 4, bias=bias), torch.nn.Linear(6, 4, bias=bias), _x(*shape))


# ----------------------------------------------------------------- pooling
POOL_CASES = [
    ("MaxPool2d", dict(kernel_size=2), (2, 3, 6, 6)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1), (2, 2, 7, 6)),
    ("MaxPool2d", dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1), ceil_mode=True), (1, 2, 7, 8)),
    ("MaxPool2d", dict(kernel_size=2, return_indices=True), (2, 2, 5, 4)),
    ("MaxPool2d", dict(kernel_size=2), (3, 6, 6)),
    ("AvgPool2d", dict(kernel_size=2), (2, 3, 6, 6)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), (2, 2, 7, 6)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (1, 2, 8, 8)),
    ("AvgPool2d", dict(kernel_size=(2, 3), divisor_override=4), (1, 2, 6, 6)),
    ("AdaptiveAvgPool2d", dict(output_size=(1, 1)), (2, 3, 5, 7)),
    ("AdaptiveAvgPool2d", dict(output_size=(3, None)), (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", dict(output_size=4), (3, 7, 9)),
    ("AdaptiveMaxPool2d", dict(output_size=(2, 3)), (2, 3, 5, 7)),
    ("AdaptiveMaxPool2d", dict(output_size=2, return_indices=True), (2, 2, 5, 5)),
]


@requires_torch
@pytest.mark.parametrize("name,kwargs,shape", POOL_CASES)
def test_pooling_vs_torch(name, kwargs, shape):
    torch = _torch()
    compare_layer(getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs), _x(*shape))


@requires_torch
def test_max_pool_ties_after_relu_send_gradient_to_first_max():
    torch = _torch()
    x = np.maximum(_x(2, 3, 6, 6), 0)  # many all-zero windows: ties
    compare_layer(nn.MaxPool2d(2), torch.nn.MaxPool2d(2), x)


# ----------------------------------------------------------------- normalisation
@requires_torch
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name,kwargs,shape", [
    ("BatchNorm2d", dict(num_features=3), (4, 3, 5, 5)),
    ("BatchNorm2d", dict(num_features=3, momentum=0.3, eps=1e-3), (2, 3, 4, 4)),
    ("BatchNorm2d", dict(num_features=3, affine=False), (2, 3, 4, 4)),
    ("BatchNorm1d", dict(num_features=4), (6, 4)),
    ("BatchNorm1d", dict(num_features=4), (3, 4, 5)),
])
def test_batchnorm_vs_torch(name, kwargs, shape, train):
    torch = _torch()
    th = _randomise(getattr(torch.nn, name)(**kwargs))
    if not train:  # give the running statistics non-trivial values first
        with torch.no_grad():
            th.running_mean.copy_(torch.randn(th.num_features))
            th.running_var.copy_(torch.rand(th.num_features) + 0.5)
    compare_layer(getattr(nn, name)(**kwargs), th, _x(*shape), train=train)


@requires_torch
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_over_several_steps_match_torch(momentum):
    torch = _torch()
    ck, th = nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3, momentum=momentum)
    for step in range(4):
        x = _x(4, 3, 3, 3, seed=step) * (step + 1) + step
        ck(cnnkit.tensor(x))
        th(torch.tensor(x))
    assert int(ck.num_batches_tracked._data) == 4 and ck.num_batches_tracked.dtype == np.int64
    np.testing.assert_allclose(ck.running_mean._data, th.running_mean.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ck.running_var._data, th.running_var.numpy(), rtol=RTOL, atol=ATOL)
    ck.eval()
    th.eval()
    x = _x(2, 3, 3, 3, seed=9)
    np.testing.assert_allclose(ck(cnnkit.tensor(x))._data, th(torch.tensor(x)).detach().numpy(), rtol=RTOL, atol=ATOL)
    assert int(ck.num_batches_tracked._data) == 4  # eval does not count


@requires_torch
def test_batchnorm_on_an_empty_batch_matches_torch():
    torch = _torch()
    ck, th = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    out = ck(cnnkit.zeros(0, 3, 2, 2))
    assert out.shape == tuple(th(torch.zeros(0, 3, 2, 2)).shape) == (0, 3, 2, 2)
    assert int(ck.num_batches_tracked._data) == int(th.num_batches_tracked) == 1
    np.testing.assert_array_equal(ck.running_mean._data, th.running_mean.numpy())


@requires_torch
def test_batchnorm_without_running_stats_uses_batch_stats_in_eval():
    torch = _torch()
    ck, th = nn.BatchNorm2d(3, track_running_stats=False), torch.nn.BatchNorm2d(3, track_running_stats=False)
    assert ck.running_mean is None and list(ck.state_dict()) == ["weight", "bias"]
    compare_layer(ck, th, _x(2, 3, 4, 4), train=False)


@requires_torch
@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("GroupNorm", (2, 4), {}, (2, 4, 3, 3)),
    ("GroupNorm", (3, 6), dict(eps=1e-3, affine=False), (2, 6, 5)),
    ("GroupNorm", (2, 4), dict(bias=False), (3, 4, 2, 2)),
    ("LayerNorm", (6,), {}, (3, 6)),
    ("LayerNorm", ([3, 4],), dict(bias=False), (2, 5, 3, 4)),
    ("LayerNorm", ((4, 3, 3),), dict(elementwise_affine=False), (2, 4, 3, 3)),
    ("LocalResponseNorm", (3,), {}, (2, 5, 3, 3)),
    ("LocalResponseNorm", (2,), dict(alpha=0.1, beta=0.5, k=2.0), (2, 4, 3, 3)),
])
def test_other_norms_vs_torch(name, args, kwargs, shape):
    torch = _torch()
    compare_layer(getattr(nn, name)(*args, **kwargs), _randomise(getattr(torch.nn, name)(*args, **kwargs)),
                  _x(*shape))


# ----------------------------------------------------------------- activations, shape layers
ACTIVATIONS = [
    ("ReLU", {}), ("ReLU6", {}), ("LeakyReLU", {}),
    ("LeakyReLU", dict(negative_slope=0.2)), ("ELU", {}), ("ELU", dict(alpha=0.5)), ("Tanh", {}), ("Sigmoid", {}),
    ("GELU", {}),
    ("GELU", dict(approximate="tanh")), ("SiLU", {}), ("Softmax", dict(dim=1)), ("Softmax", dict(dim=-1)),
    ("LogSoftmax", dict(dim=1)), ("Hardtanh", dict(min_val=-0.5, max_val=2.0)), ("Softplus", dict(beta=2.0)),
]


@requires_torch
@pytest.mark.parametrize("name,kwargs", ACTIVATIONS)
def test_activations_vs_torch(name, kwargs):
    torch = _torch()
    x = _x(3, 4, 5) * 4  # wide range: both sides of every kink, and above ReLU6's 6
    compare_layer(getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs), x)


@requires_torch
@pytest.mark.parametrize("name,args,shape", [
    ("Flatten", (), (2, 3, 4, 5)), ("Flatten", (0, 2), (2, 3, 4, 5)), ("Flatten", (2,), (2, 3, 4, 5)),
    ("Unflatten", (1, (3, 4)), (2, 12, 5)), ("Unflatten", (-1, (2, -1)), (2, 3, 6)), ("Identity", (7, "x"), (2, 3)),
])
def test_shape_layers_vs_torch(name, args, shape):
    torch = _torch()
    compare_layer(getattr(nn, name)(*args), getattr(torch.nn, name)(*args), _x(*shape))


@requires_torch
@pytest.mark.parametrize("name,kwargs,shape", [
    ("Upsample", dict(scale_factor=2), (2, 3, 4, 5)),
    ("Upsample", dict(size=(7, 9)), (2, 3, 4, 5)),
    ("Upsample", dict(scale_factor=2, mode="bilinear"), (1, 2, 4, 5)),
    ("Upsample", dict(size=(6, 7), mode="bilinear", align_corners=True), (1, 2, 4, 5)),
    ("ZeroPad2d", dict(padding=1), (2, 3, 4, 5)),
    ("ZeroPad2d", dict(padding=(1, 2, 0, 3)), (2, 3, 4, 5)),
    ("ConstantPad2d", dict(padding=(2, 0, 1, 1), value=1.5), (2, 3, 4, 5)),
    ("ReflectionPad2d", dict(padding=2), (2, 3, 4, 5)),
    ("ReflectionPad2d", dict(padding=(1, 3, 2, 0)), (3, 4, 5)),
    ("ReplicationPad2d", dict(padding=(2, 1, 0, 3)), (2, 3, 4, 5)),
])
def test_resample_and_pad_layers_vs_torch(name, kwargs, shape):
    torch = _torch()
    compare_layer(getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs), _x(*shape))


# ----------------------------------------------------------------- dropout
@requires_torch
@pytest.mark.parametrize("name", ["Dropout", "Dropout2d"])
def test_dropout_is_identity_in_eval(name):
    torch = _torch()
    compare_layer(getattr(nn, name)(0.4), getattr(torch.nn, name)(0.4), _x(2, 3, 4, 4), train=False)


def test_dropout_in_training_zeroes_a_fraction_p_and_rescales():
    cnnkit.manual_seed(0)
    layer = nn.Dropout(0.3)
    x = cnnkit.ones(200, 500, requires_grad=True)
    y = layer(x)
    kept = y._data != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y._data[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()  # gradient: the same mask and scale
    np.testing.assert_allclose(x.grad._data, kept / 0.7, rtol=1e-6)
    layer.eval()
    assert np.array_equal(layer(x)._data, x._data)
    assert np.array_equal(nn.Dropout(0.0)(x)._data, x._data)
    assert not nn.Dropout(1.0)(x)._data.any()


def test_dropout2d_zeroes_whole_channels():
    cnnkit.manual_seed(1)
    y = nn.Dropout2d(0.5)(cnnkit.ones(40, 50, 3, 3))._data
    per_channel = y.reshape(40, 50, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))  # all or nothing, scaled by 2
    assert abs((per_channel[..., 0] == 0).mean() - 0.5) < 0.05


# ----------------------------------------------------------------- losses
LOGITS = _x(6, 5, seed=3)
LABELS = np.array([0, 4, 2, 2, 1, 3], dtype=np.int64)


@requires_torch
@pytest.mark.parametrize("kwargs", [
    {}, dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=2), dict(label_smoothing=0.2),
    dict(weight=np.array([1.0, 2.0, 0.5, 1.5, 3.0], dtype=np.float32)),
    dict(weight=np.array([1.0, 2.0, 0.5, 1.5, 3.0], dtype=np.float32), ignore_index=4, label_smoothing=0.1),
])
def test_cross_entropy_and_nll_losses_vs_torch(kwargs):
    torch = _torch()
    th_kwargs = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    compare_with_torch(lambda x, t: nn.CrossEntropyLoss(**kwargs)(x, t),
                       lambda x, t: torch.nn.CrossEntropyLoss(**th_kwargs)(x, t), LOGITS, LABELS)
    nll_kwargs = {k: v for k, v in kwargs.items() if k != "label_smoothing"}
    nll_th = {k: v for k, v in th_kwargs.items() if k != "label_smoothing"}
    log_probs = LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True))
    compare_with_torch(lambda x, t: nn.NLLLoss(**nll_kwargs)(x, t), lambda x, t: torch.nn.NLLLoss(**nll_th)(x, t),
                       log_probs.astype(np.float32), LABELS)


@requires_torch
def test_cross_entropy_spatial_and_probability_targets_vs_torch():
    torch = _torch()
    x = _x(2, 4, 3, 3)
    t = np.random.default_rng(0).integers(0, 4, (2, 3, 3))
    compare_with_torch(lambda a, b: nn.CrossEntropyLoss()(a, b), lambda a, b: torch.nn.CrossEntropyLoss()(a, b), x, t)
    probs = np.random.default_rng(1).dirichlet(np.ones(5), size=6).astype(np.float32)
    compare_with_torch(lambda a, b: nn.CrossEntropyLoss(label_smoothing=0.1)(a, b),
                       lambda a, b: torch.nn.CrossEntropyLoss(label_smoothing=0.1)(a, b), LOGITS, probs,
                       grad_inputs=[0])


@requires_torch
@pytest.mark.parametrize("name,kwargs", [
    ("MSELoss", {}), ("MSELoss", dict(reduction="sum")), ("L1Loss", {}), ("L1Loss", dict(reduction="none")),
    ("SmoothL1Loss", {}), ("SmoothL1Loss", dict(beta=0.5, reduction="sum")),
])
def test_regression_losses_vs_torch(name, kwargs):
    torch = _torch()
    x, y = _x(4, 3, seed=1), _x(4, 3, seed=2)
    compare_with_torch(lambda a, b: getattr(nn, name)(**kwargs)(a, b),
                       lambda a, b: getattr(torch.nn, name)(**kwargs)(a, b), x, y)


@requires_torch
@pytest.mark.parametrize("kwargs", [{}, dict(reduction="sum"), dict(weight=np.array([1.0, 0.5, 2.0], np.float32)),
                                    dict(pos_weight=np.array([2.0, 1.0, 0.3], np.float32))])
def test_binary_losses_vs_torch(kwargs):
    torch = _torch()
    th_kwargs = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    logits = _x(4, 3, seed=4) * 3
    targets = (np.random.default_rng(5).random((4, 3)) > 0.5).astype(np.float32)
    compare_with_torch(lambda a, b: nn.BCEWithLogitsLoss(**kwargs)(a, b),
                       lambda a, b: torch.nn.BCEWithLogitsLoss(**th_kwargs)(a, b), logits, targets, grad_inputs=[0])
    if "pos_weight" in kwargs:
        return
    probs = (1 / (1 + np.exp(-logits))).astype(np.float32)
    compare_with_torch(lambda a, b: nn.BCELoss(**kwargs)(a, b), lambda a, b: torch.nn.BCELoss(**th_kwargs)(a, b),
                       probs, targets, grad_inputs=[0])


def test_loss_weights_are_buffers_and_legacy_flags_map_to_reduction():
    loss = nn.CrossEntropyLoss(weight=np.ones(3))
    assert list(loss.state_dict()) == ["weight"] and loss.weight.dtype == np.float32
    assert list(nn.BCEWithLogitsLoss(pos_weight=cnnkit.ones(3)).state_dict()) == ["pos_weight"]
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.MSELoss(reduce=False).reduction == "none"
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        nn.L1Loss(reduction="avg")


# ----------------------------------------------------------------- finite differences (no PyTorch needed)
@pytest.mark.parametrize("build,shape", [
    (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 5, 5)),
    (lambda: nn.Conv2d(2, 4, (2, 3), padding="same", groups=2, padding_mode="reflect"), (1, 2, 4, 4)),
    (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=1), (1, 2, 3, 3)),
    (lambda: nn.Linear(5, 3), (4, 5)),
    (lambda: nn.BatchNorm2d(3), (3, 3, 2, 2)),
    (lambda: nn.BatchNorm1d(3, affine=True), (5, 3)),
    (lambda: nn.GroupNorm(2, 4), (2, 4, 3)),
    (lambda: nn.LayerNorm((2, 3)), (2, 2, 3)),
])
def test_layer_gradients_match_finite_differences(build, shape):
    """Input and every parameter gradient of the layer, in float64, against central differences."""
    layer = build().double()
    names = [name for name, _ in layer.named_parameters()]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape)] + [p._data + 0.1 * rng.standard_normal(p.shape) for p in layer.parameters()]

    def run(x, *params):
        for name, p in zip(names, params, strict=True):
            layer._parameters[name] = p  # route the gradient to check_gradients' own tensors
        return layer(x)

    check_gradients(run, *arrays)


# ----------------------------------------------------------------- shapes, names and modes
def test_parameter_names_shapes_and_defaults():
    conv = nn.Conv2d(4, 8, (3, 5), groups=2)
    assert conv.weight.shape == (8, 2, 3, 5) and conv.bias.shape == (8,)
    assert conv.weight.dtype == np.float32 and isinstance(conv.weight, nn.Parameter)
    convt = nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert convt.weight.shape == (4, 3, 3, 3) and convt.bias.shape == (6,)
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    lin = nn.Linear(3, 5)
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"] and lin.weight.shape == (5, 3)
    bn = nn.BatchNorm2d(4)
    np.testing.assert_array_equal(bn.weight._data, np.ones(4))
    np.testing.assert_array_equal(bn.bias._data, np.zeros(4))
    np.testing.assert_array_equal(bn.running_var._data, np.ones(4))
    assert not bn.running_mean._data.any() and bn.num_batches_tracked._data.dtype == np.int64
    assert nn.BatchNorm1d(3, affine=False).weight is None
    assert nn.LayerNorm((2, 3)).weight.shape == (2, 3)
    assert nn.GroupNorm(2, 4).bias.shape == (4,)
    assert nn.MaxPool2d(3).stride == 3 and nn.AvgPool2d(2, 1).stride == 1


def _float64_model_and_output():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(3, 2)).double()
    x = cnnkit.tensor(np.random.default_rng(0).standard_normal((2, 2, 4, 4)), dtype=np.float64, requires_grad=True)
    return model, x, model(x)


def test_layers_keep_float64():
    model, _, out = _float64_model_and_output()
    assert out.dtype == np.float64
    assert all(t.dtype == np.float64 for t in model.state_dict().values() if t.dtype.kind == "f")


def test_float64_gradients_stay_float64():
    model, x, out = _float64_model_and_output()
    out.sum().backward()
    assert x.grad.dtype == np.float64 and all(p.grad.dtype == np.float64 for p in model.parameters())


def test_sequential_forward_on_float32_keeps_float32():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8, 3))
    out = model(cnnkit.randn(4, 1, 6, 6))
    assert out.shape == (4, 3) and out.dtype == np.float32


# ----------------------------------------------------------------- importing a PyTorch model
def _torch_stack(m):
    return m.Sequential(
        m.Conv2d(1, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(), m.MaxPool2d(2),
        m.Conv2d(4, 8, 3, stride=2, bias=False), m.BatchNorm2d(8), m.Tanh(), m.AvgPool2d(2, ceil_mode=True),
        m.Dropout(0.5), m.Flatten(), m.Linear(8, 16), m.ReLU(), m.Dropout(0.2), m.Linear(16, 3))


@requires_torch
def test_pytorch_state_dict_loads_and_gives_the_same_outputs():
    torch = _torch()
    torch.manual_seed(0)
    th = _torch_stack(torch.nn)
    th.train()
    with torch.no_grad():  # give the BatchNorm running statistics real values
        for _ in range(3):
            th(torch.randn(8, 1, 8, 8) * 2 + 1)
    th.eval()
    ck = _torch_stack(nn)
    result = ck.load_state_dict({k: v.detach().numpy() for k, v in th.state_dict().items()})
    assert result == ([], [])
    assert int(ck[1].num_batches_tracked._data) == 3
    ck.eval()
    x = _x(5, 1, 8, 8, seed=7)
    np.testing.assert_allclose(ck(cnnkit.tensor(x))._data, th(torch.tensor(x)).detach().numpy(), rtol=RTOL, atol=ATOL)
    # the raw tensors (requiring grad) load too
    ck2 = _torch_stack(nn).eval()
    ck2.load_state_dict(th.state_dict(keep_vars=True))
    np.testing.assert_allclose(ck2(cnnkit.tensor(x))._data, th(torch.tensor(x)).detach().numpy(), rtol=RTOL,
                               atol=ATOL)


# ----------------------------------------------------------------- error messages name the layer
@pytest.mark.parametrize("layer,x,message", [
    (nn.Conv2d(3, 16, 3), cnnkit.zeros(8, 1, 28, 28),
     r"^Conv2d\(3, 16, kernel_size=\(3, 3\), stride=\(1, 1\)\): expected input of shape \(N, 3, H, W\), "
     r"got \(8, 1, 28, 28\)$"),
    (nn.Conv2d(3, 16, 3), cnnkit.zeros(8, 3, 28), r"expected input of shape \(N, 3, H, W\), got \(8, 3, 28\)"),
    (nn.Conv2d(1, 2, 5, padding=1), cnnkit.zeros(1, 1, 2, 9), r"^Conv2d\(1, 2, .*kernel \(5, 5\).* larger than the "
                                                               r"padded input \(4, 11\)"),
    (nn.ConvTranspose2d(4, 2, 3), cnnkit.zeros(1, 2, 5, 5), r"^ConvTranspose2d\(4, 2, .*\(N, 4, H, W\), got"),
    (nn.Linear(400, 120), cnnkit.zeros(8, 256),
     r"^Linear\(in_features=400, out_features=120, bias=True\): expected input with last dimension 400, "
     r"got shape \(8, 256\)$"),
    (nn.BatchNorm2d(16), cnnkit.zeros(8, 6, 5, 5),
     r"^BatchNorm2d\(16, eps=1e-05, .*\): expected input of shape \(N, 16, H, W\), got \(8, 6, 5, 5\)$"),
    (nn.BatchNorm2d(16), cnnkit.zeros(8, 16), r"expected input of shape \(N, 16, H, W\), got \(8, 16\)"),
    (nn.BatchNorm1d(4), cnnkit.zeros(8, 4, 2, 2), r"^BatchNorm1d\(4, .*\(N, 4\) or \(N, 4, L\), got \(8, 4, 2, 2\)"),
    (nn.BatchNorm1d(4), cnnkit.zeros(1, 4), r"more than 1 value per channel when training, got input \(1, 4\)"),
    (nn.GroupNorm(2, 4), cnnkit.zeros(2, 6, 3), r"^GroupNorm\(2, 4, .*\(N, 4, \*\), got \(2, 6, 3\)"),
    (nn.LayerNorm(5), cnnkit.zeros(2, 4), r"^LayerNorm\(\(5,\), .*\(\*, 5\), got \(2, 4\)"),
    (nn.LocalResponseNorm(2), cnnkit.zeros(2, 4), r"^LocalResponseNorm\(2, .*3 or more dimensions, got \(2, 4\)"),
    (nn.MaxPool2d(2), cnnkit.zeros(4, 4), r"^MaxPool2d\(kernel_size=2, .*\(N, C, H, W\) or \(C, H, W\), got \(4, 4\)"),
    (nn.MaxPool2d(3), cnnkit.zeros(1, 1, 2, 2), r"^MaxPool2d\(.*at least \(3, 3\) pixels .* got input shape"),
    (nn.AvgPool2d(4, padding=1), cnnkit.zeros(1, 1, 1, 5), r"^AvgPool2d\(.*at least \(4, 4\) pixels"),
    (nn.AdaptiveAvgPool2d(1), cnnkit.zeros(5), r"^AdaptiveAvgPool2d\(output_size=1\): expected input of shape"),
    (nn.Dropout2d(), cnnkit.zeros(4, 4), r"^Dropout2d\(p=0.5, inplace=False\): expected input of shape"),
    (nn.Flatten(), cnnkit.zeros(4), r"^Flatten\(start_dim=1, end_dim=-1\): expected input with dimensions 1 and -1"),
    (nn.Unflatten(1, (3, 4)), cnnkit.zeros(2, 10), r"^Unflatten\(.*into \(3, 4\), got shape \(2, 10\)"),
    (nn.Upsample(scale_factor=2), cnnkit.zeros(2, 3), r"^Upsample\(scale_factor=2.0, mode='nearest'\): expected"),
    (nn.ReflectionPad2d(3), cnnkit.zeros(1, 1, 3, 5), r"^ReflectionPad2d\(\(3, 3, 3, 3\)\): expected each padding"),
    (nn.Softmax(dim=2), cnnkit.zeros(2, 3), r"^Softmax\(dim=2\): expected input with dimension 2, got shape \(2, 3\)"),
])
def test_layer_errors_name_the_layer(layer, x, message):
    with pytest.raises(ValueError, match=message):
        layer(x)


@pytest.mark.parametrize("loss,args,message", [
    (nn.CrossEntropyLoss(), (cnnkit.zeros(4, 3), cnnkit.tensor([0, 1, 3, 2])),
     r"^CrossEntropyLoss\(\): expected class indices in \[0, 2\] \(or ignore_index=-100\), got 3$"),
    (nn.CrossEntropyLoss(), (cnnkit.zeros(4, 3), cnnkit.tensor([0, -1, 2, 2])), r"in \[0, 2\] .* got -1$"),
    (nn.CrossEntropyLoss(), (cnnkit.zeros(4, 3), cnnkit.tensor([0, 1, 2])),
     r"expected target of class indices of shape \(4,\) or class probabilities of shape \(4, 3\) for input "
     r"\(4, 3\), got \(3,\)"),
    (nn.CrossEntropyLoss(), (cnnkit.zeros(4, 3), cnnkit.tensor([0.0, 1, 2, 2])), r"expected integer class indices"),
    (nn.CrossEntropyLoss(weight=np.ones(4)), (cnnkit.zeros(4, 3), cnnkit.tensor([0, 1, 2, 2])),
     r"expected a weight of shape \(3,\) for 3 classes, got \(4,\)"),
    (nn.NLLLoss(), (cnnkit.zeros(2, 3, 4), cnnkit.tensor([[0, 1, 2, 5], [0, 0, 0, 0]])), r"^NLLLoss\(\): .* got 5$"),
    (nn.MSELoss(), (cnnkit.zeros(4, 1), cnnkit.zeros(4)),
     r"^MSELoss\(\): expected target of the input's shape \(4, 1\), got \(4,\)$"),
    (nn.BCEWithLogitsLoss(), (cnnkit.zeros(3), cnnkit.zeros(3, 1)), r"^BCEWithLogitsLoss\(\): expected target"),
])
def test_loss_errors_name_the_loss(loss, args, message):
    with pytest.raises(ValueError, match=message):
        loss(*args)


def test_ignore_index_targets_are_not_range_errors():
    loss = nn.CrossEntropyLoss(ignore_index=-1)
    loss._check_class_input(cnnkit.zeros(3, 2), cnnkit.tensor([0, -1, 1]), -1, allow_probabilities=True)


@pytest.mark.parametrize("build,message", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), "in_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 3, 3, groups=2), "out_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 4, 3, padding="full"), "invalid padding string 'full'"),
    (lambda: nn.Conv2d(4, 4, 3, padding="same", stride=2), "not supported for strided convolutions"),
    (lambda: nn.Conv2d(4, 4, 3, padding_mode="mirror"), "padding_mode must be one of"),
    (lambda: nn.ConvTranspose2d(4, 4, 3, stride=2, output_padding=2), "output_padding must be smaller"),
    (lambda: nn.GroupNorm(3, 4), "num_channels must be divisible by num_groups"),
    (lambda: nn.Dropout(1.5), "between 0 and 1, but got 1.5"),
    (lambda: nn.Softmax(), r"Softmax: dim is required"),
    (lambda: nn.GELU("fast"), "approximate must be 'none' or 'tanh'"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=2.0), "label_smoothing must be between"),
])
def test_constructor_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()
