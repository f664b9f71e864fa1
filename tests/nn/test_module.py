"""The Module system: registration, names, shared parameters, state_dict, train/eval, hooks, repr, containers."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import cnnkit
import cnnkit.nn as nn
from tests.gradcheck import requires_torch


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.Tanh()
        self.scale = nn.Parameter(cnnkit.ones(4))
        self.register_buffer("count", cnnkit.zeros(1))
        self.register_buffer("scratch", cnnkit.zeros(2), persistent=False)
        self.fc2 = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)) * self.scale)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Tanh(), nn.Linear(3, 3)))
        self.block = Block()
        self.head = nn.Linear(2, 1)

    def forward(self, x):
        return self.head(self.block(self.features(x)))


# ----------------------------------------------------------------- registration and traversal
def test_parameters_registered_in_insertion_order_with_dotted_names():
    names = [name for name, _ in Net().named_parameters()]
    assert names == ["features.0.weight", "features.0.bias", "features.1.1.weight", "features.1.1.bias",
                     "block.scale", "block.fc1.weight", "block.fc1.bias", "block.fc2.weight", "block.fc2.bias",
                     "head.weight", "head.bias"]


def test_named_modules_of_nested_sequentials():
    net = Net()
    names = [name for name, _ in net.named_modules()]
    assert names == ["", "features", "features.0", "features.1", "features.1.0", "features.1.1", "block",
                     "block.fc1", "block.act", "block.fc2", "head"]
    assert dict(net.named_modules())["features.1.1"] is net.features[1][1]
    assert [name for name, _ in net.named_children()] == ["features", "block", "head"]
    assert len(list(net.modules())) == 11
    assert net.get_submodule("features.1.1") is net.features[1][1]
    with pytest.raises(AttributeError, match="no attribute `nope`"):
        net.get_submodule("features.nope")


def test_named_parameters_prefix_and_non_recursive():
    block = Block()
    assert [n for n, _ in block.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in block.named_parameters(prefix="b")][:2] == ["b.scale", "b.fc1.weight"]
    assert [n for n, _ in block.named_buffers()] == ["count", "scratch"]
    assert len(list(block.buffers())) == 2


def test_shared_parameters_and_modules_are_yielded_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]
    # tied weight in two different layers
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    tied = nn.Sequential(a, b)
    assert [n for n, _ in tied.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    # state_dict lists a tied parameter under both names, as PyTorch
    assert list(tied.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    # gradients from both uses accumulate into the one parameter
    x = cnnkit.randn(5, 2)
    model(x).sum().backward()
    assert shared.weight.grad is not None and shared.weight.grad.shape == (2, 2)


def test_setattr_rules():
    block = Block()
    assert "fc1" in block._modules and "fc1" not in block.__dict__
    assert "scale" in block._parameters and "count" in block._buffers
    block.fc1 = None  # a registered child may be set to None
    assert block._modules["fc1"] is None and [n for n, _ in block.named_children()] == ["act", "fc2"]
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter 'scale'"):
        block.scale = 3
    with pytest.raises(TypeError, match="cannot assign 'str' as child module 'fc2'"):
        block.fc2 = "nope"
    with pytest.raises(TypeError, match="as buffer 'count'"):
        block.count = np.zeros(1)
    block.count = cnnkit.ones(1)  # buffers accept new tensors
    assert block.count._data[0] == 1.0
    with pytest.raises(KeyError, match=r'contain "\."'):
        block.register_buffer("a.b", cnnkit.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        block.register_parameter("forward", None)
    with pytest.raises(TypeError, match="cnnkit.nn.Parameter or None required"):
        block.register_parameter("w", cnnkit.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'Tanh' as parameter 'scale'"):
        block.scale = nn.Tanh()
    # a Parameter assigned to a child's name replaces the child
    block.fc2 = nn.Parameter(cnnkit.zeros(1))
    assert "fc2" not in block._modules and "fc2" in block._parameters


def test_delattr_dir_and_missing_attribute():
    block = Block()
    assert {"fc1", "scale", "count", "forward"} <= set(dir(block))
    del block.fc1
    del block.scale
    del block.count
    assert "fc1" not in block._modules and "scale" not in block._parameters and "count" not in block._buffers
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'fc1'"):
        _ = block.fc1


def test_assigning_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cnnkit.zeros(1))

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Broken()


def test_missing_forward():
    with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required "forward"'):
        nn.Module()(1)


# ----------------------------------------------------------------- state_dict
def test_state_dict_keys_share_memory_and_round_trip():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["features.0.weight", "features.0.bias", "features.1.1.weight", "features.1.1.bias",
                        "block.scale", "block.count", "block.fc1.weight", "block.fc1.bias", "block.fc2.weight",
                        "block.fc2.bias", "head.weight", "head.bias"]  # non-persistent 'scratch' left out
    assert isinstance(sd, OrderedDict)
    assert all(type(v) is cnnkit.Tensor and not v.requires_grad for v in sd.values())
    assert np.shares_memory(sd["head.weight"].numpy(), net.head.weight._data)
    snapshot = {k: v.numpy().copy() for k, v in sd.items()}
    other = Net()
    result = other.load_state_dict(snapshot)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), snapshot[key])
    x = cnnkit.randn(4, 3)
    np.testing.assert_array_equal(net(x)._data, other(x)._data)
    # values are copied in, not aliased
    snapshot["head.bias"][...] = 123.0
    assert other.head.bias._data[0] != 123.0
    # keep_vars returns the live Parameters
    assert net.state_dict(keep_vars=True)["head.weight"] is net.head.weight


def test_load_state_dict_accepts_tensors_and_casts_dtype():
    model = nn.Linear(2, 3)
    model.load_state_dict({"weight": cnnkit.ones(3, 2), "bias": np.arange(3, dtype=np.float64)})
    assert model.bias.dtype == np.float32 and model.weight.dtype == np.float32
    np.testing.assert_array_equal(model.bias._data, [0, 1, 2])
    np.testing.assert_array_equal(model.weight._data, np.ones((3, 2)))


def test_load_state_dict_one_error_names_every_problem_and_changes_nothing():
    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.fc = nn.Linear(4, 2)

    model = LeNet()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    bad = {"conv1.weight": np.zeros((6, 3, 5, 5)), "conv1.bias": np.zeros(6), "fc.weight": np.zeros((2, 4)),
           "fc.extra": np.zeros(1), "head.weight": np.zeros(1)}
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(bad)
    message = str(info.value)
    assert message == ("Error loading state_dict for LeNet: size mismatch for conv1.weight: expected (6, 1, 5, 5), "
                       "got (6, 3, 5, 5); missing keys: fc.bias; unexpected keys: fc.extra, head.weight")
    for key, value in model.state_dict().items():  # a failed load leaves the model untouched
        np.testing.assert_array_equal(value.numpy(), before[key])
    # strict=False still refuses wrong shapes (as PyTorch) ...
    with pytest.raises(RuntimeError, match=r"size mismatch for conv1.weight: expected \(6, 1, 5, 5\)"):
        model.load_state_dict(bad, strict=False)
    # ... and otherwise loads what matches and reports the rest
    del bad["conv1.weight"]
    result = model.load_state_dict(bad, strict=False)
    assert result == (["conv1.weight", "fc.bias"], ["fc.extra", "head.weight"])
    assert result.missing_keys == ["conv1.weight", "fc.bias"] and result.unexpected_keys == ["fc.extra", "head.weight"]
    np.testing.assert_array_equal(model.fc.weight._data, np.zeros((2, 4)))
    with pytest.raises(TypeError, match="dict-like"):
        model.load_state_dict([1, 2])


def test_batchnorm_state_dict_has_num_batches_tracked_and_may_omit_it():
    bn = nn.BatchNorm2d(3)
    sd = bn.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert sd["num_batches_tracked"].dtype == np.int64 and sd["num_batches_tracked"].shape == ()
    del sd["num_batches_tracked"]
    assert bn.load_state_dict({k: v.numpy() for k, v in sd.items()}) == ([], [])
    sd_full = {"weight": np.ones(3), "bias": np.zeros(3), "running_mean": np.zeros(3), "running_var": np.ones(3),
               "num_batches_tracked": np.array(7)}
    bn.load_state_dict(sd_full)
    assert int(bn.num_batches_tracked._data) == 7 and bn.num_batches_tracked.dtype == np.int64


# ----------------------------------------------------------------- modes, grads, dtype
def test_train_eval_propagate_to_every_descendant():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.block.train(False)
    assert net.training and not net.block.fc1.training and net.features[1][0].training
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")


def test_zero_grad_requires_grad_and_apply():
    net = Net()
    net(cnnkit.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad._data.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen[-1] == "Net" and seen[0] == "Linear" and len(seen) == 11  # children first, then self


def test_to_double_casts_floating_state_only():
    bn = nn.BatchNorm1d(2)
    model = nn.Sequential(nn.Linear(2, 2), bn)
    weight = model[0].weight
    assert model.to(np.float64) is model
    assert model[0].weight is weight and weight.dtype == np.float64  # same Parameter object, new dtype
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    model.float()
    assert weight.dtype == np.float32
    assert model.to("cpu") is model and model.cpu() is model
    model.double()
    assert weight.dtype == np.float64
    with pytest.raises(ValueError, match="CPU only"):
        model.to("cuda")


def test_deepcopy_keeps_parameters_and_independence():
    net = Net()
    clone = copy.deepcopy(net)
    assert isinstance(clone.head.weight, nn.Parameter) and clone.head.weight.requires_grad
    assert clone.head.weight._data is not net.head.weight._data
    np.testing.assert_array_equal(clone.head.weight._data, net.head.weight._data)
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in net.named_parameters()]


# ----------------------------------------------------------------- hooks
def test_forward_hooks_and_removal():
    layer = nn.Linear(2, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: calls.append(("pre", args[0].shape)))
    post = layer.register_forward_hook(lambda m, args, out: calls.append(("post", out.shape)))
    x = cnnkit.randn(3, 2)
    layer(x)
    assert calls == [("pre", (3, 2)), ("post", (3, 2))]
    pre.remove()
    post.remove()
    layer(x)
    assert len(calls) == 2
    # a pre-hook may replace the input, a forward hook the output
    with layer.register_forward_pre_hook(lambda m, args: args[0] * 0):
        out = layer(x)
    np.testing.assert_allclose(out._data, np.broadcast_to(layer.bias._data, (3, 2)))
    handle = layer.register_forward_hook(lambda m, args, out: out * 2)
    np.testing.assert_allclose(layer(x)._data, 2 * (x._data @ layer.weight._data.T + layer.bias._data), rtol=1e-6)
    handle.remove()
    handle.remove()  # removing twice is harmless
    np.testing.assert_allclose(layer(x)._data, x._data @ layer.weight._data.T + layer.bias._data, rtol=1e-6)


def test_hooks_capture_intermediate_activations():
    net = Net()
    captured = {}
    for name, module in net.named_modules():
        if isinstance(module, nn.Linear):
            module.register_forward_hook(lambda m, a, out, name=name: captured.update({name: out.shape}))
    net(cnnkit.randn(5, 3))
    assert captured == {"features.0": (5, 3), "features.1.1": (5, 3), "block.fc1": (5, 4), "block.fc2": (5, 2),
                        "head": (5, 1)}


# ----------------------------------------------------------------- containers
def test_sequential_indexing_slicing_append_delete():
    layers = [nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 3), nn.Sigmoid()]
    seq = nn.Sequential(*layers)
    assert len(seq) == 4 and seq[0] is layers[0] and seq[-1] is layers[3]
    assert list(seq) == layers
    head = seq[1:3]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:3]
    assert list(head._modules) == ["1", "2"]  # slicing keeps the names, as PyTorch
    with pytest.raises(IndexError, match="out of range"):
        seq[4]
    assert seq.append(nn.Identity()) is seq and len(seq) == 5
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2", "3"] and seq[1] is layers[2]
    seq[0] = nn.ReLU()
    assert isinstance(seq[0], nn.ReLU)
    named = nn.Sequential(OrderedDict([("conv", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_parameters()] == ["conv.weight", "conv.bias"]
    assert named.act is named[1]
    x = cnnkit.randn(3, 2)
    np.testing.assert_allclose(named(x)._data, np.tanh(x._data @ named.conv.weight._data.T + named.conv.bias._data),
                               rtol=1e-5)


def test_modulelist_and_moduledict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and [n for n, _ in ml.named_parameters()][-1] == "2.bias"
    ml.append(nn.Tanh())
    ml.extend([nn.ReLU()])
    ml.insert(0, nn.Sigmoid())
    assert [type(m).__name__ for m in ml] == ["Sigmoid", "Linear", "Linear", "Linear", "Tanh", "ReLU"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert isinstance(ml[0], nn.Linear) and list(ml._modules) == [str(i) for i in range(5)]
    with pytest.raises(NotImplementedError):
        ml(cnnkit.zeros(1))
    md = nn.ModuleDict({"enc": nn.Linear(2, 2), "act": nn.Tanh()})
    md["dec"] = nn.Linear(2, 1)
    assert list(md) == ["enc", "act", "dec"] and "enc" in md and len(md) == 3
    assert [n for n, _ in md.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    assert isinstance(md.pop("act"), nn.Tanh) and list(md.keys()) == ["enc", "dec"]


# ----------------------------------------------------------------- repr
def test_parameter_repr_and_sharing():
    t = cnnkit.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]") and "requires_grad=True" in repr(p)
    assert p._data is t._data and p.requires_grad and p.is_leaf
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter(cnnkit.tensor([1.0], dtype=np.float64)).dtype == np.float64


def _small_cnn(nn_module):
    m = nn_module
    return m.Sequential(OrderedDict([
        ("features", m.Sequential(
            m.Conv2d(1, 6, 5), m.BatchNorm2d(6), m.ReLU(inplace=True), m.MaxPool2d(2),
            m.Conv2d(6, 16, 3, stride=2, padding=1, bias=False), m.Tanh(), m.AvgPool2d(2),
            m.Dropout2d(0.1))),
        ("pool", m.AdaptiveAvgPool2d((1, 1))),
        ("flatten", m.Flatten()),
        ("blocks", m.ModuleList([m.Linear(16, 16), m.Linear(16, 16), m.GELU(), m.LeakyReLU(0.2)])),
        ("heads", m.ModuleDict({"cls": m.Linear(16, 10), "aux": m.Sequential()})),
        ("norms", m.Sequential(m.LayerNorm(10), m.GroupNorm(2, 4), m.BatchNorm1d(10, momentum=None),
                               m.LocalResponseNorm(2))),
        ("misc", m.Sequential(m.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1), m.Upsample(scale_factor=2),
                              m.ZeroPad2d((1, 2, 0, 0)), m.ReflectionPad2d(1), m.ReplicationPad2d(2), m.Identity(),
                              m.Unflatten(1, (2, 5)), m.Softmax(dim=1), m.LogSoftmax(dim=-1), m.SiLU(), m.ELU(),
                              m.ReLU6(), m.Sigmoid(), m.Dropout(0.3))),
        ("losses", m.ModuleList([m.CrossEntropyLoss(), m.MSELoss(), m.BCEWithLogitsLoss(), m.NLLLoss(), m.L1Loss(),
                                 m.SmoothL1Loss(), m.BCELoss()])),
    ]))


@requires_torch
def test_repr_matches_pytorch_text():
    torch = pytest.importorskip("torch")
    ours, theirs = repr(_small_cnn(nn)), repr(_small_cnn(torch.nn))
    assert ours == theirs, f"\n{ours}\n---\n{theirs}"
    assert "(0-1): 2 x Linear(in_features=16, out_features=16, bias=True)" in ours


@requires_torch
@pytest.mark.parametrize("build", [
    lambda m: m.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2, bias=False, padding_mode="reflect"),
    lambda m: m.Conv2d(4, 8, 3, padding="same", groups=2),
    lambda m: m.Conv2d(4, 8, 3, padding="valid"),
    lambda m: m.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=1),
    lambda m: m.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True), lambda m: m.MaxPool2d((2, 3)),
    lambda m: m.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False, divisor_override=2),
    lambda m: m.AdaptiveAvgPool2d((None, 3)), lambda m: m.AdaptiveMaxPool2d(2, return_indices=True),
    lambda m: m.BatchNorm2d(4, eps=1e-3, momentum=None, affine=False, track_running_stats=False),
    lambda m: m.BatchNorm2d(4, bias=False), lambda m: m.LayerNorm([2, 3], bias=False, elementwise_affine=True),
    lambda m: m.GroupNorm(2, 4, affine=False), lambda m: m.LeakyReLU(0.2, True), lambda m: m.ELU(0.5, True),
    lambda m: m.GELU("tanh"), lambda m: m.Hardtanh(-2.0, 2.0), lambda m: m.Softplus(2.0, 10.0),
    lambda m: m.Upsample(size=(4, 4), mode="bilinear", align_corners=False), lambda m: m.Upsample(scale_factor=(2, 3)),
    lambda m: m.ConstantPad2d(2, 3.5), lambda m: m.CrossEntropyLoss(label_smoothing=0.1, reduction="sum"),
    lambda m: m.Linear(3, 4, bias=False), lambda m: m.Flatten(0, 2), lambda m: m.SiLU(inplace=True),
])
def test_layer_reprs_match_pytorch(build):
    torch = pytest.importorskip("torch")
    assert repr(build(nn)) == repr(build(torch.nn))
