"""The model zoo: parameter counts, output shapes, the registry, input checks, initialisation, and agreement
with PyTorch re-implementations of torchvision's architectures (state_dict keys, outputs and gradients).

Forward passes on 224×224 AlexNet / VGG / ResNet-50 are marked slow; the default run builds the big models
only to count their parameters.
"""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import models, nn
from tests.gradcheck import requires_torch


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def torch_weights(th_model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in th_model.state_dict().items()}


# --------------------------------------------------------------------------- parameter counts
# Building a 138 M-parameter VGG costs seconds (drawing its random weights), so each large model is built once
# per module and shared by the tests that need it.
_BUILT: dict[tuple, nn.Module] = {}


def built(name: str, **kwargs) -> nn.Module:
    key = (name, tuple(sorted(kwargs.items())))
    if key not in _BUILT:
        _BUILT[key] = models.get_model(name, **kwargs)
    return _BUILT[key]


@pytest.fixture(scope="module", autouse=True)
def _free_built_models():
    yield
    _BUILT.clear()


PARAMETER_COUNTS = [
    ("lenet5", {}, 61_706),
    ("lenet5_relu", {}, 61_706),
    ("alexnet", {"lrn": False}, 61_100_840),
    ("alexnet", {}, 62_378_344),
    pytest.param("vgg11", {}, 132_863_336, marks=pytest.mark.slow),  # each VGG takes seconds to initialise
    ("vgg16", {}, 138_357_544),
    pytest.param("vgg16", {"batch_norm": True}, 138_365_992, marks=pytest.mark.slow),
    ("vgg11_bn", {"num_classes": 10}, 132_868_840 - 990 * (4096 + 1)),  # fc 4096 → 10, not 1000
    ("resnet18", {}, 11_689_512),
    ("resnet34", {}, 21_797_672),
    ("resnet50", {}, 25_557_032),
    ("resnet20", {}, 272_474),
]


@pytest.mark.parametrize(("name", "kwargs", "expected"), PARAMETER_COUNTS)
def test_parameter_count(name, kwargs, expected):
    assert count(built(name, **kwargs)) == expected


@pytest.mark.parametrize("info", [i for i in models.list_models() if i.num_params < 1e7], ids=lambda i: i.name)
def test_registry_counts_match_small_models(info):
    assert count(info.builder()) == info.num_params


@pytest.mark.slow
@pytest.mark.parametrize("info", [i for i in models.list_models() if i.num_params >= 1e7], ids=lambda i: i.name)
def test_registry_counts_match_large_models(info):
    assert count(info.builder()) == info.num_params


def test_alexnet_small_and_fashion_vgg_sizes():
    from cnnkit.summary import summary

    assert 300_000 <= count(models.alexnet_small()) <= 2_000_000
    assert count(models.fashion_vgg()) <= 2_000_000
    # fashion_vgg's cost per image, by hand: convs 1→32 at 28², 32→64 and 64→64 at 14², 64→128 and 128→128 at 7², FC
    macs = (32 * 784 * 9 + 64 * 196 * 32 * 9 + 64 * 196 * 64 * 9 + 128 * 49 * 64 * 9 + 128 * 49 * 128 * 9
            + 256 * 1152 + 10 * 256)
    assert summary(models.fashion_vgg(), (1, 28, 28)).total_macs == macs == 22_199_296


def test_fashion_vgg_width_scales_every_conv_block():
    # width w: convs 1→w, w→2w, 2w→2w, 2w→4w, 4w→4w (each with bias and a BatchNorm of 2 parameters per channel),
    # then FC 4w·9 → 256 → 10
    for w in (8, 64):
        convs = [(1, w), (w, 2 * w), (2 * w, 2 * w), (2 * w, 4 * w), (4 * w, 4 * w)]
        expected = sum(c * f * 9 + f + 2 * f for c, f in convs) + 4 * w * 9 * 256 + 256 + 256 * 10 + 10
        assert count(models.fashion_vgg(width=w)) == expected
    assert count(models.fashion_vgg(width=32)) == count(models.fashion_vgg()) == 575_754
    assert count(models.fashion_vgg(width=64)) == 1_701_642
    with pytest.raises(ValueError, match="fashion_vgg: width must be a positive number of channels, got 0"):
        models.fashion_vgg(width=0)
    assert 0.26e6 < count(models.resnet20()) < 0.28e6


def test_num_classes_and_in_channels_change_the_first_and_last_layers():
    m = models.lenet5(num_classes=7, in_channels=3)
    assert m.features[0].weight.shape == (6, 3, 5, 5)
    assert m.classifier[-1].weight.shape == (7, 84)
    r = models.resnet18(num_classes=5, in_channels=1)
    assert r.conv1.weight.shape == (64, 1, 7, 7) and r.fc.weight.shape == (5, 512)
    a = models.alexnet_small(num_classes=3, in_channels=2)
    assert a.features[0].weight.shape == (32, 2, 5, 5) and a.classifier[6].weight.shape == (3, 512)
    f = models.fashion_vgg(num_classes=4, in_channels=3)
    assert f.features[0].weight.shape == (32, 3, 3, 3) and f.classifier[-1].weight.shape == (4, 256)


# --------------------------------------------------------------------------- output shapes
SMALL_FORWARDS = [
    ("lenet5", {}, (1, 28, 28)),
    ("lenet5_relu", {"num_classes": 4}, (1, 28, 28)),
    ("alexnet_small", {}, (1, 28, 28)),
    ("alexnet_small", {"in_channels": 3}, (3, 32, 32)),
    ("fashion_vgg", {}, (1, 28, 28)),
    ("resnet20", {}, (3, 32, 32)),
    ("resnet32", {"num_classes": 100}, (3, 32, 32)),
    ("resnet56", {}, (3, 32, 32)),
    ("resnet18", {"num_classes": 10}, (3, 64, 64)),
]


@pytest.mark.parametrize(("name", "kwargs", "shape"), SMALL_FORWARDS)
def test_output_shape(name, kwargs, shape):
    model = models.get_model(name, **kwargs).eval()
    x = cnnkit.tensor(np.random.default_rng(0).standard_normal((2,) + shape).astype(np.float32))
    with cnnkit.no_grad():
        y = model(x)
    assert y.shape == (2, kwargs.get("num_classes", 10))
    assert y.dtype == np.float32
    assert np.all(np.isfinite(y._data))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alexnet", "vgg16", "resnet50"])
def test_output_shape_imagenet(name):
    model = models.get_model(name).eval()
    with cnnkit.no_grad():
        y = model(cnnkit.zeros(1, 3, 224, 224))
    assert y.shape == (1, 1000)


def test_alexnet_paper_feature_shapes():
    # 224 → conv 11/4 pad 2 → 55 → pool → 27 → conv5 → 27 → pool → 13 → three convs → 13 → pool → 6
    features = built("alexnet").features
    convs = [m for m in features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 256, 384, 384, 256]
    lrns = [i for i, m in enumerate(features) if isinstance(m, nn.LocalResponseNorm)]
    assert lrns == [2, 6]  # after the ReLUs of conv1 and conv2, before the pools
    lrn = features[2]
    assert (lrn.size, lrn.beta, lrn.k) == (5, 0.75, 2.0)
    assert lrn.alpha == pytest.approx(5e-4)  # the paper's α = 1e-4 on a plain sum is PyTorch's alpha/size


def test_vgg_block_layers():
    block = models.vgg_block(3, 8, 3, batch_norm=True)
    kinds = [type(m).__name__ for m in block]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU"] * 3 + ["MaxPool2d"]
    assert [m.in_channels for m in block if isinstance(m, nn.Conv2d)] == [3, 8, 8]
    assert all(m.kernel_size in (3, (3, 3)) and m.padding in (1, (1, 1)) for m in block if isinstance(m, nn.Conv2d))
    x = cnnkit.zeros(1, 3, 8, 8)
    with cnnkit.no_grad():
        assert nn.Sequential(*block).eval()(x).shape == (1, 8, 4, 4)
    assert [type(m).__name__ for m in models.vgg_block(4, 4, 1)] == ["Conv2d", "ReLU", "MaxPool2d"]


# --------------------------------------------------------------------------- registry and errors
def test_list_models_entries():
    entries = {info.name: info for info in models.list_models()}
    assert entries["lenet5"].input_shape == (1, 28, 28)
    assert entries["resnet20"].input_shape == (3, 32, 32)
    assert entries["alexnet"].input_shape == (3, 224, 224)
    assert entries["fashion_vgg"].input_shape == (1, 28, 28)
    expected = {"lenet5", "lenet5_relu", "alexnet", "alexnet_small", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn",
                "vgg16_bn", "resnet18", "resnet34", "resnet50", "resnet20", "resnet32", "resnet56", "fashion_vgg"}
    assert expected <= set(entries)
    for info in entries.values():
        assert info.description and "\n" not in info.description
        assert len(info.input_shape) == 3 and info.num_params > 0
    table = models.format_models()
    assert "resnet20" in table and "272,474" in table and "3×32×32" in table


def test_get_model_passes_kwargs():
    model = models.get_model("resnet20", num_classes=3)
    assert model.fc.weight.shape == (3, 64)
    assert isinstance(models.get_model("LeNet5".lower()), models.LeNet5)


def test_get_model_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown model 'resnet1000'.*lenet5.*resnet18"):
        models.get_model("resnet1000")


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_get_model_rejects_bad_num_classes(bad):
    with pytest.raises(ValueError, match="num_classes"):
        models.get_model("lenet5", num_classes=bad)


def test_lenet_rejects_wrong_input_size():
    with pytest.raises(ValueError, match=r"LeNet5.*\(N, 1, 28, 28\).*\(2, 1, 32, 32\)"):
        models.lenet5()(cnnkit.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"LeNet5.*\(N, 1, 28, 28\).*\(2, 3, 28, 28\)"):
        models.lenet5()(cnnkit.zeros(2, 3, 28, 28))


def test_lenet_rejects_unknown_activation_or_pool():
    with pytest.raises(ValueError, match=r"LeNet5: activation must be one of \['relu', 'tanh'\], got 'swish'"):
        models.LeNet5(activation="swish")
    with pytest.raises(ValueError, match=r"LeNet5: pool must be one of \['avg', 'max'\], got 'median'"):
        models.LeNet5(pool="median")


def test_resnet_rejects_wrong_channels():
    with pytest.raises(ValueError, match=r"(?i)conv2d.*expected input.*\(1, 1, 32, 32\)"):
        models.resnet20()(cnnkit.zeros(1, 1, 32, 32))


# --------------------------------------------------------------------------- initialisation
def test_resnet_init_is_torchvisions():
    model = models.resnet18()
    w = model.layer3[0].conv2.weight._data  # (256, 256, 3, 3): fan_out = 256 · 9
    assert w.dtype == np.float32
    assert w.std() == pytest.approx(np.sqrt(2 / (256 * 9)), rel=0.02)
    assert abs(w.mean()) < 1e-3
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert np.all(m.weight._data == 1) and np.all(m.bias._data == 0)
    bound = 1 / np.sqrt(512)  # the fc keeps PyTorch's default U(±1/√fan_in)
    assert np.abs(model.fc.weight._data).max() <= bound and model.fc.weight._data.std() > bound / 3


def test_vgg_init_is_torchvisions():
    model = models.fashion_vgg()  # the VGG class initialises every VGG the same way
    fc = model.classifier[0].weight._data  # (256, 1152)
    assert fc.std() == pytest.approx(0.01, rel=0.02)
    assert np.all(model.classifier[0].bias._data == 0)
    conv = model.features[7].weight._data  # (64, 64, 3, 3): fan_out = 64 · 9
    assert conv.shape == (64, 64, 3, 3)
    assert conv.std() == pytest.approx(np.sqrt(2 / (64 * 9)), rel=0.02)
    assert np.all(model.features[7].bias._data == 0)
    assert np.all(model.features[1].weight._data == 1) and np.all(model.features[1].bias._data == 0)


def test_manual_seed_makes_models_repeatable():
    cnnkit.manual_seed(3)
    a = models.resnet20()
    cnnkit.manual_seed(3)
    b = models.resnet20()
    assert all(np.array_equal(p._data, q._data) for p, q in zip(a.parameters(), b.parameters(), strict=True))


# --------------------------------------------------------------------------- PyTorch re-implementations
def torch_resnet(block: str, layers, num_classes=1000, in_channels=3, cifar=False):
    """torchvision.models.resnet (and the CIFAR variant with option-B shortcuts) written out in torch.nn."""
    import torch
    from torch import nn as tnn

    def conv3x3(i, o, s=1):
        return tnn.Conv2d(i, o, 3, stride=s, padding=1, bias=False)

    def conv1x1(i, o, s=1):
        return tnn.Conv2d(i, o, 1, stride=s, bias=False)

    class BasicBlock(tnn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(inplanes, planes, stride)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2 = conv3x3(planes, planes)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            return self.relu(out + identity)

    class Bottleneck(tnn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv1x1(inplanes, planes)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.conv2 = conv3x3(planes, planes, stride)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.conv3 = conv1x1(planes, planes * 4)
            self.bn3 = tnn.BatchNorm2d(planes * 4)
            self.relu = tnn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            return self.relu(out + identity)

    Block = BasicBlock if block == "basic" else Bottleneck

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.inplanes = 16 if cifar else 64
            if cifar:
                self.conv1 = conv3x3(in_channels, 16)
            else:
                self.conv1 = tnn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = tnn.BatchNorm2d(self.inplanes)
            self.relu = tnn.ReLU(inplace=True)
            widths = (16, 32, 64) if cifar else (64, 128, 256, 512)
            if not cifar:
                self.maxpool = tnn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            for i, (w, n) in enumerate(zip(widths, layers, strict=True)):
                setattr(self, f"layer{i + 1}", self._make_layer(w, n, 1 if i == 0 else 2))
            self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
            self.fc = tnn.Linear(widths[-1] * Block.expansion, num_classes)
            self.n_stages = len(widths)

        def _make_layer(self, planes, blocks, stride):
            downsample = None
            if stride != 1 or self.inplanes != planes * Block.expansion:
                downsample = tnn.Sequential(conv1x1(self.inplanes, planes * Block.expansion, stride),
                                            tnn.BatchNorm2d(planes * Block.expansion))
            layers_ = [Block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * Block.expansion
            layers_ += [Block(self.inplanes, planes) for _ in range(1, blocks)]
            return tnn.Sequential(*layers_)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            if not cifar:
                x = self.maxpool(x)
            for i in range(self.n_stages):
                x = getattr(self, f"layer{i + 1}")(x)
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return Net()


def torch_alexnet(num_classes=1000):
    """torchvision.models.alexnet written out in torch.nn."""
    import torch
    from torch import nn as tnn

    class AlexNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), tnn.ReLU(inplace=True),
                tnn.MaxPool2d(kernel_size=3, stride=2),
                tnn.Conv2d(64, 192, kernel_size=5, padding=2), tnn.ReLU(inplace=True),
                tnn.MaxPool2d(kernel_size=3, stride=2),
                tnn.Conv2d(192, 384, kernel_size=3, padding=1), tnn.ReLU(inplace=True),
                tnn.Conv2d(384, 256, kernel_size=3, padding=1), tnn.ReLU(inplace=True),
                tnn.Conv2d(256, 256, kernel_size=3, padding=1), tnn.ReLU(inplace=True),
                tnn.MaxPool2d(kernel_size=3, stride=2),
            )
            self.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
            self.classifier = tnn.Sequential(
                tnn.Dropout(p=0.5), tnn.Linear(256 * 6 * 6, 4096), tnn.ReLU(inplace=True),
                tnn.Dropout(p=0.5), tnn.Linear(4096, 4096), tnn.ReLU(inplace=True),
                tnn.Linear(4096, num_classes),
            )

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return AlexNet()


def torch_vgg(cfg, batch_norm, num_classes=1000):
    """torchvision.models.vgg (make_layers + VGG) written out in torch.nn."""
    import torch
    from torch import nn as tnn

    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers += [tnn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            layers += [tnn.Conv2d(c, v, kernel_size=3, padding=1)]
            layers += [tnn.BatchNorm2d(v), tnn.ReLU(inplace=True)] if batch_norm else [tnn.ReLU(inplace=True)]
            c = v

    class VGG(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(*layers)
            self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
            self.classifier = tnn.Sequential(
                tnn.Linear(512 * 7 * 7, 4096), tnn.ReLU(True), tnn.Dropout(p=0.5),
                tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Dropout(p=0.5),
                tnn.Linear(4096, num_classes),
            )

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return VGG()


def torch_lenet5():
    from torch import nn as tnn

    class LeNet5(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(1, 6, 5, padding=2), tnn.Tanh(), tnn.AvgPool2d(2, 2),
                tnn.Conv2d(6, 16, 5), tnn.Tanh(), tnn.AvgPool2d(2, 2),
                tnn.Conv2d(16, 120, 5), tnn.Tanh(),
            )
            self.flatten = tnn.Flatten()
            self.classifier = tnn.Sequential(tnn.Linear(120, 84), tnn.Tanh(), tnn.Linear(84, 10))

        def forward(self, x):
            return self.classifier(self.flatten(self.features(x)))

    return LeNet5()


VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


def randomise_batch_norm(th_model, seed=0) -> None:
    """Non-trivial BN weights and running statistics, so eval-mode outputs test that they are used."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in th_model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1 + 0.2 * torch.randn(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
                m.num_batches_tracked.fill_(7)


def assert_same_keys_and_shapes(ck_model, th_model) -> None:
    ck = {k: tuple(v.shape) for k, v in ck_model.state_dict().items()}
    th = {k: tuple(v.shape) for k, v in th_model.state_dict().items()}
    assert list(ck) == list(th)
    assert ck == th
    ck_params = [k for k, _ in ck_model.named_parameters()]
    th_params = [k for k, _ in th_model.named_parameters()]
    assert ck_params == th_params


def assert_close(actual, expected, what: str, rtol=1e-4) -> None:
    # relative to the array's scale: float32 sums over thousands of terms agree to ~1e-6 of their magnitude
    atol = 1e-5 * max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


@requires_torch
def test_resnet18_matches_torchvision_layout_and_outputs():
    import torch

    torch.manual_seed(0)
    th = torch_resnet("basic", (2, 2, 2, 2)).eval()
    randomise_batch_norm(th)
    ck = built("resnet18").eval()
    assert_same_keys_and_shapes(ck, th)
    result = ck.load_state_dict(torch_weights(th))
    assert not result.missing_keys and not result.unexpected_keys
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = th(torch.from_numpy(x)).numpy()
    with cnnkit.no_grad():
        actual = ck(cnnkit.tensor(x))._data
    assert_close(actual, expected, "resnet18 eval output")


@requires_torch
@pytest.mark.parametrize(("name", "block", "layers"), [("resnet34", "basic", (3, 4, 6, 3)),
                                                       ("resnet50", "bottleneck", (3, 4, 6, 3))])
def test_deeper_resnets_have_torchvision_keys(name, block, layers):
    assert_same_keys_and_shapes(built(name), torch_resnet(block, layers))


@requires_torch
def test_alexnet_matches_torchvision_layout_and_outputs():
    import torch

    torch.manual_seed(0)
    th = torch_alexnet().eval()
    ck = built("alexnet", lrn=False).eval()
    assert_same_keys_and_shapes(ck, th)
    ck.load_state_dict(torch_weights(th))
    # 67×67 gives 1×1 features, which the adaptive pool spreads to 6×6: every layer is exercised cheaply
    x = np.random.default_rng(1).standard_normal((2, 3, 67, 67)).astype(np.float32)
    with torch.no_grad():
        expected = th(torch.from_numpy(x)).numpy()
    with cnnkit.no_grad():
        actual = ck(cnnkit.tensor(x))._data
    assert_close(actual, expected, "alexnet eval output")


@requires_torch
def test_alexnet_paper_variant_matches_torch_with_lrn():
    import torch
    from torch import nn as tnn

    ck = built("alexnet").eval()
    th_features = []
    for m in ck.features:
        kind = type(m).__name__
        if kind == "Conv2d":
            th_features.append(tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding))
        elif kind == "LocalResponseNorm":
            th_features.append(tnn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0))
        elif kind == "ReLU":
            th_features.append(tnn.ReLU())
        else:
            th_features.append(tnn.MaxPool2d(3, 2))
    th = torch_alexnet().eval()
    th.features = tnn.Sequential(*th_features)
    th.classifier[1] = tnn.Linear(9216, 4096)
    assert_same_keys_and_shapes(ck, th)
    ck.load_state_dict(torch_weights(th))
    x = 10 * np.random.default_rng(6).standard_normal((1, 3, 67, 67)).astype(np.float32)  # large: LRN matters
    with torch.no_grad():
        expected = th(torch.from_numpy(x)).numpy()
    with cnnkit.no_grad():
        actual = ck(cnnkit.tensor(x))._data
    assert_close(actual, expected, "alexnet (LRN) eval output")


@requires_torch
def test_vgg11_bn_matches_torchvision_layout_and_outputs():
    import torch

    torch.manual_seed(0)
    th = torch_vgg(VGG11, batch_norm=True, num_classes=10).eval()
    randomise_batch_norm(th)
    ck = built("vgg11_bn", num_classes=10).eval()
    assert_same_keys_and_shapes(ck, th)
    ck.load_state_dict(torch_weights(th))
    x = np.random.default_rng(2).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = th(torch.from_numpy(x)).numpy()
    with cnnkit.no_grad():
        actual = ck(cnnkit.tensor(x))._data
    assert_close(actual, expected, "vgg11_bn eval output")


@requires_torch
def test_vgg16_has_torchvision_keys():
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    assert_same_keys_and_shapes(built("vgg16"), torch_vgg(cfg, batch_norm=False))


def forward_backward_both(ck_model, th_model, x: np.ndarray, seed: int = 0):
    """Run both models on x, back-propagate the same random projection, return outputs and gradients."""
    import torch

    projection = np.random.default_rng(seed).standard_normal((x.shape[0], 10)).astype(np.float32)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    th_out = th_model(xt)
    (th_out * torch.from_numpy(projection)).sum().backward()
    xc = cnnkit.tensor(x, requires_grad=True)
    ck_out = ck_model(xc)
    (ck_out * cnnkit.tensor(projection)).sum().backward()
    assert ck_out.shape == tuple(th_out.shape)
    assert_close(ck_out._data, th_out.detach().numpy(), "forward")
    assert_close(xc.grad._data, xt.grad.numpy(), "input gradient")
    th_params = dict(th_model.named_parameters())
    for name, p in ck_model.named_parameters():
        assert p.grad is not None, f"no gradient for {name}"
        assert p.grad.dtype == np.float32
        assert_close(p.grad._data, th_params[name].grad.numpy(), f"gradient of {name}")


@requires_torch
def test_lenet5_forward_and_gradients_match_torch():
    import torch

    torch.manual_seed(0)
    th = torch_lenet5()
    ck = models.lenet5()
    assert_same_keys_and_shapes(ck, th)
    ck.load_state_dict(torch_weights(th))
    x = np.random.default_rng(3).standard_normal((4, 1, 28, 28)).astype(np.float32)
    forward_backward_both(ck, th, x)


@requires_torch
def test_resnet20_forward_and_gradients_match_torch_in_training_mode():
    import torch

    torch.manual_seed(0)
    th = torch_resnet("basic", (3, 3, 3), num_classes=10, cifar=True).train()
    randomise_batch_norm(th)
    ck = models.resnet20().train()
    assert_same_keys_and_shapes(ck, th)
    ck.load_state_dict(torch_weights(th))
    # Not seed 4: with it one input to a ReLU (layer3.1, after bn1) is 1.7e-6, inside float32 rounding, so the two
    # frameworks' masks can disagree there and one channel's gradient differs by 40 % (NumPy 2.4.6, torch 2.13).
    x = np.random.default_rng(5).standard_normal((3, 3, 32, 32)).astype(np.float32)
    forward_backward_both(ck, th, x)
    # training mode used batch statistics and updated the running ones identically
    th_state = th.state_dict()
    for key, value in ck.state_dict().items():
        if "running" in key:
            assert_close(value._data, th_state[key].numpy(), key)


@requires_torch
def test_fashion_vgg_gradients_match_torch():
    import torch
    from torch import nn as tnn

    torch.manual_seed(0)
    ck = models.fashion_vgg().train()
    th_layers = []
    for m in ck.features:  # the same layer list rebuilt in torch, to check the forward wiring and gradients
        kind = type(m).__name__
        if kind == "Conv2d":
            th_layers.append(tnn.Conv2d(m.in_channels, m.out_channels, 3, padding=1))
        elif kind == "BatchNorm2d":
            th_layers.append(tnn.BatchNorm2d(m.num_features))
        elif kind == "ReLU":
            th_layers.append(tnn.ReLU())
        else:
            th_layers.append(tnn.MaxPool2d(2, 2))

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(*th_layers)
            self.avgpool = tnn.AdaptiveAvgPool2d((3, 3))
            self.classifier = tnn.Sequential(tnn.Linear(1152, 256), tnn.ReLU(), tnn.Dropout(0.5), tnn.Linear(256, 10))

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    th = Net().train()
    th.classifier[2].p = 0.0  # dropout masks cannot match across frameworks
    ck.classifier[2].p = 0.0
    assert_same_keys_and_shapes(ck, th)
    ck.load_state_dict(torch_weights(th))
    x = np.random.default_rng(5).standard_normal((4, 1, 28, 28)).astype(np.float32)
    forward_backward_both(ck, th, x)
