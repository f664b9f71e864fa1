"""Optimisers: SGD, Adam, AdamW, RMSprop step by step against PyTorch, hand-computed first steps, parameter
groups, state_dict round trips, dtypes, zero_grad and argument errors.

Tolerance against torch: rtol 1e-5 plus atol 1e-6. Torch's CPU kernels fuse `p + α·g` into one FMA while
NumPy rounds the product first, so a parameter can differ by a few float32 ulps of the values it passed
through (measured: at most 5e-7 absolute after 20 steps); the atol covers parameters that wander near 0.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import cnnkit
from cnnkit import optim
from tests.gradcheck import requires_torch

SHAPES = [(3, 4), (5,), (2, 3, 2), ()]
RTOL, ATOL = 1e-5, 1e-6

CONFIGS = {
    "SGD": [
        {"lr": 0.1},
        {"lr": 0.05, "momentum": 0.9},
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.3},
        {"lr": 0.05, "momentum": 0.8, "nesterov": True},
        {"lr": 0.1, "weight_decay": 0.1},
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.05, "maximize": True},
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01, "maximize": True},
        {},
    ],
    "Adam": [
        {"lr": 0.01},
        {"lr": 0.01, "amsgrad": True},
        {"lr": 0.02, "betas": (0.3, 0.9), "eps": 1e-6},
        {"lr": 0.01, "weight_decay": 0.1},
        {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True, "maximize": True},
        {},
    ],
    "AdamW": [
        {"lr": 0.01},
        {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True},
        {"lr": 0.02, "betas": (0.5, 0.99), "maximize": True},
        {},
    ],
    "RMSprop": [
        {"lr": 0.01},
        {"lr": 0.01, "centered": True},
        {"lr": 0.01, "momentum": 0.9},
        {"lr": 0.01, "alpha": 0.3, "centered": True, "momentum": 0.5},
        {"lr": 0.005, "weight_decay": 0.1, "maximize": True, "eps": 1e-4},
        {},
    ],
}
CASES = [(name, config) for name, configs in CONFIGS.items() for config in configs]


def _case_id(case):
    name, config = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in config.items())


def _arrays(seed: int, steps: int, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]
    return init, grads


def _set_grads(params, grads, make):
    for p, g in zip(params, grads, strict=True):
        p.grad = None if g is None else make(g)


def _run_against_torch(name, ck_groups, th_groups, ck_params, th_params, grads, config):
    import torch

    ck_opt = getattr(optim, name)(ck_groups, **config)
    th_opt = getattr(torch.optim, name)(th_groups, foreach=False, **config)
    for step, step_grads in enumerate(grads):
        _set_grads(ck_params, step_grads, cnnkit.tensor)
        _set_grads(th_params, step_grads, torch.tensor)
        ck_opt.step()
        th_opt.step()
        for i, (p, q) in enumerate(zip(ck_params, th_params, strict=True)):
            assert p._data.dtype == np.float32
            np.testing.assert_allclose(p._data, q.detach().numpy(), rtol=RTOL, atol=ATOL,
                                       err_msg=f"{name} {config}: parameter {i} after step {step + 1}")
    return ck_opt, th_opt


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_torch_step_by_step(case):
    import torch

    name, config = case
    init, grads = _arrays(seed=len(str(case)), steps=15)
    ck_params = [cnnkit.tensor(a, requires_grad=True) for a in init]
    th_params = [torch.tensor(a, requires_grad=True) for a in init]
    ck_opt, th_opt = _run_against_torch(name, ck_params, th_params, ck_params, th_params, grads, config)
    # the optimiser state agrees too (same keys, same buffers)
    th_state = th_opt.state_dict()["state"]
    ck_state = ck_opt.state_dict()["state"]
    assert ck_state.keys() == th_state.keys()
    for index, values in th_state.items():
        assert ck_state[index].keys() == values.keys()
        for key, value in values.items():
            np.testing.assert_allclose(ck_state[index][key], value.numpy(), rtol=RTOL, atol=ATOL,
                                       err_msg=f"state {key} of parameter {index}")


@requires_torch
@pytest.mark.parametrize("name", list(CONFIGS))
def test_parameter_groups_and_missing_grads_match_torch(name):
    """Groups with their own lr (and other options); parameters without a gradient are skipped."""
    import torch

    init, grads = _arrays(seed=7, steps=12)
    rng = np.random.default_rng(3)
    for step_grads in grads:  # each parameter misses its gradient on some steps
        for i in range(len(step_grads)):
            if rng.random() < 0.3:
                step_grads[i] = None
    grads[0][1] = grads[1][1] = None  # parameter 1 first gets a gradient (and its state) at step 3
    extra = {"SGD": {"momentum": 0.5}, "Adam": {"amsgrad": True}, "AdamW": {"weight_decay": 0.5},
             "RMSprop": {"centered": True}}[name]

    def groups(params):
        return [{"params": params[:2], "lr": 0.03, **extra}, {"params": params[2:]}]

    ck_params = [cnnkit.tensor(a, requires_grad=True) for a in init]
    th_params = [torch.tensor(a, requires_grad=True) for a in init]
    ck_opt, _ = _run_against_torch(name, groups(ck_params), groups(th_params), ck_params, th_params, grads,
                                   {"lr": 0.01})
    assert [g["lr"] for g in ck_opt.param_groups] == [0.03, 0.01]


@requires_torch
def test_parameter_that_never_gets_a_gradient_is_untouched_and_has_no_state():
    init, grads = _arrays(seed=11, steps=3, shapes=[(4,), (3,)])
    params = [cnnkit.tensor(a, requires_grad=True) for a in init]
    opt = optim.Adam(params, lr=0.1)
    for step_grads in grads:
        _set_grads(params, [step_grads[0], None], cnnkit.tensor)
        opt.step()
    np.testing.assert_array_equal(params[1]._data, init[1])
    assert not np.allclose(params[0]._data, init[0])
    assert list(opt.state_dict()["state"]) == [0]


# ----------------------------------------------------------------- hand-computed updates (no torch needed)
def test_sgd_first_momentum_buffer_is_the_gradient_not_damped():
    p = cnnkit.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)
    p.grad = cnnkit.tensor([1.0])
    opt.step()  # b = g = 1 → θ = 1 − 0.1·1
    np.testing.assert_allclose(p._data, [0.9], rtol=1e-6)
    opt.step()  # b = 0.9·1 + 0.5·1 = 1.4 → θ = 0.9 − 0.14
    np.testing.assert_allclose(p._data, [0.76], rtol=1e-6)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [1.4], rtol=1e-6)


def test_sgd_nesterov_and_weight_decay_by_hand():
    p = cnnkit.tensor([2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.25)
    p.grad = cnnkit.tensor([1.0])
    opt.step()  # g = 1 + 0.25·2 = 1.5; b = 1.5; g + μb = 2.25 → θ = 2 − 0.225
    np.testing.assert_allclose(p._data, [1.775], rtol=1e-6)


def test_adam_first_step_moves_each_weight_by_lr_against_the_gradient_sign():
    # m̂ = g, v̂ = g² after one step, so θ ← θ − γ·g / (|g| + ε)
    p = cnnkit.tensor([1.0, -2.0, 0.5], requires_grad=True)
    opt = optim.Adam([p], lr=0.01)
    p.grad = cnnkit.tensor([3.0, -0.5, 1e-3])
    opt.step()
    np.testing.assert_allclose(p._data, [0.99, -1.99, 0.49], rtol=1e-5)
    assert opt.state[p]["step"] == 1


def test_adamw_decays_weights_independently_of_the_gradient():
    p = cnnkit.tensor([1.0, -1.0], requires_grad=True)
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = cnnkit.tensor([0.0, 0.0])  # zero gradient: only the decay θ(1 − γλ) acts
    opt.step()
    np.testing.assert_allclose(p._data, [0.95, -0.95], rtol=1e-6)


def test_rmsprop_first_step_by_hand():
    p = cnnkit.tensor([1.0], requires_grad=True)
    opt = optim.RMSprop([p], lr=0.01, alpha=0.9, eps=0.0)
    p.grad = cnnkit.tensor([2.0])
    opt.step()  # v = 0.1·4 = 0.4 → θ = 1 − 0.01·2/√0.4
    np.testing.assert_allclose(p._data, [1 - 0.02 / np.sqrt(0.4)], rtol=1e-6)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_optimisers_minimise_a_quadratic(name):
    target = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    p = cnnkit.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    opt = getattr(optim, name)([p], lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        ((p - cnnkit.tensor(target)) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(p._data, target, atol=0.1 if name == "SGD" else 0.15)


# ----------------------------------------------------------------- state_dict
def _plain(value) -> bool:
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (np.ndarray, int, float, bool, str))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_state_dict_round_trip_continues_identically(case):
    name, config = case
    init, grads = _arrays(seed=5, steps=12)

    def make(arrays):
        params = [cnnkit.tensor(a, requires_grad=True) for a in arrays]
        return params, getattr(optim, name)([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}], **config)

    full_params, full_opt = make(init)
    half_params, half_opt = make(init)
    for step, step_grads in enumerate(grads):
        _set_grads(full_params, step_grads, cnnkit.tensor)
        full_opt.step()
        if step < 5:
            _set_grads(half_params, step_grads, cnnkit.tensor)
            half_opt.step()
    saved = pickle.loads(pickle.dumps(half_opt.state_dict()))  # as it would come back from a file
    assert _plain(saved)
    saved["param_groups"] = json.loads(json.dumps(saved["param_groups"]))  # checkpoints keep them as JSON
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2, 3]]
    stateless = name == "SGD" and not config.get("momentum")  # plain SGD keeps no state, as in torch
    assert sorted(saved["state"]) == ([] if stateless else [0, 1, 2, 3])

    resumed_params, resumed_opt = make([p._data for p in half_params])
    resumed_opt.load_state_dict(saved)
    assert resumed_opt.param_groups[1]["lr"] == 0.02
    for step_grads in grads[5:]:
        _set_grads(resumed_params, step_grads, cnnkit.tensor)
        resumed_opt.step()
    for p, q in zip(resumed_params, full_params, strict=True):
        np.testing.assert_array_equal(p._data, q._data)


def test_state_dict_is_a_snapshot_and_loading_copies():
    p = cnnkit.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = cnnkit.tensor(np.ones(3, dtype=np.float32))
    opt.step()
    saved = opt.state_dict()
    buffer = saved["state"][0]["momentum_buffer"].copy()
    opt.step()  # changes the live buffer, not the snapshot
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], buffer)
    opt.load_state_dict(saved)
    saved["state"][0]["momentum_buffer"][...] = 100  # nor does the loaded state alias the dict
    np.testing.assert_array_equal(opt.state[p]["momentum_buffer"], buffer)


@requires_torch
def test_state_dict_layout_matches_torch():
    import torch

    init, grads = _arrays(seed=2, steps=2, shapes=[(2,), (3,), (4,)])
    ck = [cnnkit.tensor(a, requires_grad=True) for a in init]
    th = [torch.tensor(a, requires_grad=True) for a in init]
    ck_opt = optim.Adam([{"params": ck[:1]}, {"params": ck[1:], "lr": 0.1}], amsgrad=True)
    th_opt = torch.optim.Adam([{"params": th[:1]}, {"params": th[1:], "lr": 0.1}], amsgrad=True)
    for opt, params, make in ((ck_opt, ck, cnnkit.tensor), (th_opt, th, torch.tensor)):
        _set_grads(params, [grads[0][0], None, grads[0][2]], make)
        opt.step()
    ck_sd, th_sd = ck_opt.state_dict(), th_opt.state_dict()
    assert list(ck_sd["state"]) == list(th_sd["state"]) == [0, 2]
    assert ck_sd["state"][0]["step"] == float(th_sd["state"][0]["step"]) == 1.0
    for ck_group, th_group in zip(ck_sd["param_groups"], th_sd["param_groups"], strict=True):
        assert ck_group["params"] == th_group["params"]
        for key, value in ck_group.items():
            assert th_group[key] == value, key


def test_load_state_dict_validates_groups_parameters_and_shapes():
    params = [cnnkit.tensor(np.zeros(s, dtype=np.float32), requires_grad=True) for s in [(2,), (3,)]]
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = cnnkit.tensor(np.ones(p.shape, dtype=np.float32))
    opt.step()
    saved = opt.state_dict()

    two_groups = optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="SGD.load_state_dict: loaded state dict has 1 parameter groups, "
                                         "the optimizer has 2"):
        two_groups.load_state_dict(saved)
    one_param = optim.SGD(params[:1], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="parameter group 0 has 2 parameters in the loaded state dict, 1 in"):
        one_param.load_state_dict(saved)
    swapped = optim.SGD(params[::-1], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"state 'momentum_buffer' of parameter 0 has shape \(2,\), expected "
                                         r"the parameter's shape \(3,\)"):
        swapped.load_state_dict(saved)
    bad_index = {"state": {5: {"momentum_buffer": np.zeros(2)}}, "param_groups": saved["param_groups"]}
    with pytest.raises(ValueError, match="state refers to parameter 5"):
        opt.load_state_dict(bad_index)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


# ----------------------------------------------------------------- dtypes, graph, zero_grad
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_float32_stays_float32_and_float64_stays_float64(case):
    name, config = case
    for dtype in (np.float32, np.float64):
        p = cnnkit.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=dtype, requires_grad=True)
        opt = getattr(optim, name)([p], **config)
        for _ in range(2):
            p.grad = cnnkit.tensor(np.full((2, 3), 0.5), dtype=dtype)
            opt.step()
        assert p._data.dtype == dtype
        for key, value in opt.state[p].items():
            if isinstance(value, np.ndarray):
                assert value.dtype == dtype, key


def test_hyper_parameters_given_as_numpy_float64_do_not_upcast():
    p = cnnkit.tensor(np.ones(4, dtype=np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=np.float64(0.1), betas=(np.float64(0.9), np.float64(0.99)), eps=np.float64(1e-8))
    p.grad = cnnkit.tensor(np.ones(4, dtype=np.float32))
    opt.step()
    assert p._data.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))


def test_step_updates_in_place_without_recording_a_graph():
    p = cnnkit.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    array = p._data
    opt = optim.SGD([p], lr=0.5)
    (p * 2.0).sum().backward()
    opt.step()
    assert p._data is array and p.is_leaf and p.grad_fn is None
    np.testing.assert_allclose(p._data, 0.0)


def test_step_does_not_modify_the_gradient():
    for name, configs in CONFIGS.items():
        for config in configs:
            p = cnnkit.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
            opt = getattr(optim, name)([p], **config)
            grad = np.array([0.5, -1.0, 2.0], dtype=np.float32)
            for _ in range(2):
                p.grad = cnnkit.tensor(grad)
                opt.step()
                np.testing.assert_array_equal(p.grad._data, grad, err_msg=f"{name} {config}")


def test_closure_is_evaluated_and_its_loss_returned():
    p = cnnkit.tensor([3.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 9.0
    np.testing.assert_allclose(p._data, [1.5])  # 3 − 0.25·6


def test_zero_grad_sets_to_none_or_zeros_in_place():
    p = cnnkit.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = cnnkit.tensor(np.ones(3, dtype=np.float32))
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad
    np.testing.assert_array_equal(p.grad._data, 0.0)
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # no gradient: nothing happens
    np.testing.assert_array_equal(p._data, 1.0)


def test_add_param_group_uses_defaults_for_missing_options():
    a, b = (cnnkit.tensor(np.ones(2, dtype=np.float32), requires_grad=True) for _ in range(2))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["params"] == [b]
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    assert "Parameter Group 1" in repr(opt) and "lr: 0.01" in repr(opt)


def test_named_parameters_are_accepted_and_their_names_kept():
    w, b = (cnnkit.tensor(np.ones(2, dtype=np.float32), requires_grad=True) for _ in range(2))
    opt = optim.SGD([("weight", w), ("bias", b)], lr=0.1)
    assert opt.param_groups[0]["params"] == [w, b]
    saved = opt.state_dict()
    assert saved["param_groups"][0]["param_names"] == ["weight", "bias"]
    assert saved["param_groups"][0]["params"] == [0, 1]
    opt.load_state_dict(saved)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="SGD: all params of a group should be \\(name, Tensor\\) pairs or none"):
        optim.SGD([("weight", w), b], lr=0.1)


# ----------------------------------------------------------------- bad input
INVALID = [
    ("SGD", {"lr": -0.1}, "invalid lr"),
    ("SGD", {"momentum": -0.5}, "invalid momentum"),
    ("SGD", {"weight_decay": -1e-4}, "invalid weight_decay"),
    ("SGD", {"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Nesterov momentum requires"),
    ("Adam", {"lr": -1.0}, "invalid lr"),
    ("Adam", {"eps": -1e-8}, "invalid eps"),
    ("Adam", {"betas": (1.0, 0.999)}, "invalid beta parameter at index 0"),
    ("Adam", {"betas": (0.9, -0.1)}, "invalid beta parameter at index 1"),
    ("Adam", {"weight_decay": -0.1}, "invalid weight_decay"),
    ("AdamW", {"betas": (0.9, 1.5)}, "invalid beta parameter at index 1"),
    ("AdamW", {"lr": -1e-3}, "invalid lr"),
    ("RMSprop", {"lr": -0.01}, "invalid lr"),
    ("RMSprop", {"alpha": -0.9}, "invalid alpha"),
    ("RMSprop", {"eps": -1.0}, "invalid eps"),
    ("RMSprop", {"momentum": -0.9}, "invalid momentum"),
    ("RMSprop", {"weight_decay": -0.9}, "invalid weight_decay"),
]


@pytest.mark.parametrize("name,kwargs,message", INVALID)
def test_invalid_hyper_parameters_raise_value_error(name, kwargs, message):
    p = cnnkit.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match=f"{name}: {message}"):
        getattr(optim, name)([p], **kwargs)


@requires_torch
@pytest.mark.parametrize("name,kwargs,message", INVALID)
def test_torch_rejects_the_same_hyper_parameters(name, kwargs, message):
    import torch

    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **kwargs)


def test_invalid_option_in_a_parameter_group_raises():
    p = cnnkit.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="SGD: invalid lr -1"):
        optim.SGD([{"params": [p], "lr": -1}], lr=0.1)


def test_bad_params_raise_clear_errors():
    p = cnnkit.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="SGD: optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="params should be an iterable of Tensors or dicts, got a Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="Adam: can only optimize Tensors, but one of the params is ndarray"):
        optim.Adam([np.ones(2)])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2.0], lr=0.1)
    with pytest.raises(ValueError, match="same parameter more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="RMSprop: lr must be a number, got str"):
        optim.RMSprop([p], lr="0.1")


def test_gradient_of_the_wrong_shape_or_dtype_raises():
    p = cnnkit.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    opt = optim.Adam([p])
    p.grad = cnnkit.tensor(np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match=r"Adam: gradient of shape \(3,\) does not match its parameter of shape "
                                         r"\(2, 3\)"):
        opt.step()
    p.grad = cnnkit.tensor(np.ones((2, 3), dtype=np.float32), dtype=np.float64)
    with pytest.raises(TypeError, match="Adam: gradient of dtype float64 does not match its parameter of dtype "
                                        "float32"):
        opt.step()
