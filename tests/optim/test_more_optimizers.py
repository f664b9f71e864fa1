"""Adadelta, Adagrad, NAdam and RAdam step by step against torch.optim (same parameters, same gradients, same
state), ReduceLROnPlateau against torch's on the same metric sequences, and PyTorch's implementation switches
(foreach, fused, capturable, differentiable) accepted or refused as documented. Tolerances as test_optimizers."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import optim
from tests.gradcheck import requires_torch
from tests.optim.test_optimizers import ATOL, RTOL, _arrays, _run_against_torch

CONFIGS = {
    "Adadelta": [{}, {"lr": 0.5, "rho": 0.5, "eps": 1e-4}, {"weight_decay": 0.1, "maximize": True}],
    "Adagrad": [{}, {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.3},
                {"lr": 0.05, "weight_decay": 0.1, "eps": 1e-6, "maximize": True}],
    "NAdam": [{}, {"lr": 0.01, "momentum_decay": 0.01, "betas": (0.8, 0.99)},
              {"lr": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
                                                  "maximize": True}],
    "RAdam": [{}, {"lr": 0.01, "betas": (0.5, 0.9)}, {"lr": 0.01, "weight_decay": 0.1},
              {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}],
}
CASES = [(name, config) for name, configs in CONFIGS.items() for config in configs]


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0] + "-" + ",".join(f"{k}={v}" for k, v in c[1].items()))
def test_matches_torch_step_by_step(case):
    import torch

    name, config = case
    init, grads = _arrays(seed=len(str(case)), steps=15)
    ck_params = [cnnkit.tensor(a, requires_grad=True) for a in init]
    th_params = [torch.tensor(a, requires_grad=True) for a in init]
    ck_opt, th_opt = _run_against_torch(name, ck_params, th_params, ck_params, th_params, grads, config)
    th_state, ck_state = th_opt.state_dict()["state"], ck_opt.state_dict()["state"]
    assert ck_state.keys() == th_state.keys()
    for index, values in th_state.items():
        assert ck_state[index].keys() == values.keys()
        for key, value in values.items():
            np.testing.assert_allclose(ck_state[index][key], value.numpy(), rtol=RTOL, atol=ATOL,
                                       err_msg=f"state {key} of parameter {index}")


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("name", list(CONFIGS))
def test_state_dict_round_trip_continues_identically(name):
    init, grads = _arrays(seed=5, steps=8)
    a = [cnnkit.tensor(x, requires_grad=True) for x in init]
    opt = getattr(optim, name)(a, lr=0.05)
    for step_grads in grads[:4]:
        for p, g in zip(a, step_grads, strict=True):
            p.grad = cnnkit.tensor(g)
        opt.step()
    b = [cnnkit.tensor(p.numpy().copy(), requires_grad=True) for p in a]
    other = getattr(optim, name)(b, lr=0.05)
    other.load_state_dict(opt.state_dict())
    for step_grads in grads[4:]:
        for p, q, g in zip(a, b, step_grads, strict=True):
            p.grad, q.grad = cnnkit.tensor(g), cnnkit.tensor(g)
        opt.step()
        other.step()
    for p, q in zip(a, b, strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_implementation_switches():
    p = [cnnkit.tensor(np.ones(3, np.float32), requires_grad=True)]
    for cls in (optim.SGD, optim.Adam, optim.AdamW, optim.Adagrad):
        cls(p, lr=0.1, foreach=True, fused=False)
    for cls in (optim.RMSprop, optim.Adadelta, optim.NAdam, optim.RAdam):
        cls(p, lr=0.1, foreach=False, maximize=True)
    with pytest.raises(ValueError, match="capturable=True is for CUDA graphs"):
        optim.Adam(p, capturable=True)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        optim.SGD(p, lr=0.1, differentiable=True)
    with pytest.raises(ValueError, match="invalid rho"):
        optim.Adadelta(p, rho=1.5)


PLATEAU_CONFIGS = [
    {},
    {"mode": "max", "factor": 0.5, "patience": 1},
    {"patience": 2, "cooldown": 2, "threshold": 0.1, "threshold_mode": "abs"},
    {"patience": 0, "min_lr": [0.02, 0.001], "factor": 0.3},
    {"patience": 1, "eps": 0.05, "factor": 0.9},
]


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("config", PLATEAU_CONFIGS, ids=str)
def test_reduce_lr_on_plateau_matches_torch(config):
    import torch

    metrics = np.random.default_rng(0).standard_normal(40).cumsum().tolist() + [5.0] * 15
    ck_opt = optim.SGD([{"params": [cnnkit.tensor([1.0], requires_grad=True)], "lr": 0.1},
                        {"params": [cnnkit.tensor([1.0], requires_grad=True)], "lr": 0.05}])
    th_opt = torch.optim.SGD([{"params": [torch.ones(1, requires_grad=True)], "lr": 0.1},
                              {"params": [torch.ones(1, requires_grad=True)], "lr": 0.05}])
    ours = optim.lr_scheduler.ReduceLROnPlateau(ck_opt, **config)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(th_opt, **config)
    for m in metrics:
        ours.step(cnnkit.tensor(m) if m > 0 else m)
        theirs.step(m)
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert [g["lr"] for g in ck_opt.param_groups] == [g["lr"] for g in th_opt.param_groups]
    assert ours.num_bad_epochs == theirs.num_bad_epochs and ours.best == theirs.best
    restored = optim.lr_scheduler.ReduceLROnPlateau(ck_opt)
    restored.load_state_dict(ours.state_dict())
    assert restored.best == ours.best and restored.patience == ours.patience


def test_reduce_lr_on_plateau_refuses_bad_arguments():
    opt = optim.SGD([cnnkit.tensor([1.0], requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="factor should be < 1.0"):
        optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        optim.lr_scheduler.ReduceLROnPlateau(opt, mode="avg")


@pytest.mark.parametrize("name, lacking", [
    ("Adam", {"amsgrad": False, "maximize": False, "decoupled_weight_decay": False}),
    ("AdamW", {"amsgrad": False, "maximize": False}), ("Adadelta", {"maximize": False}),
    ("Adagrad", {"maximize": False}), ("NAdam", {"maximize": False, "decoupled_weight_decay": False}),
    ("RAdam", {"maximize": False, "decoupled_weight_decay": False}),
])
def test_a_state_dict_from_an_older_pytorch_gets_the_options_it_lacks(name: str, lacking: dict) -> None:
    param = cnnkit.ones(3, requires_grad=True)
    saved = getattr(optim, name)([param], lr=0.5).state_dict()
    for key in lacking:
        del saved["param_groups"][0][key]  # as PyTorch wrote it before the option existed
    restored = getattr(optim, name)([param], lr=0.5)
    restored.param_groups[0].update({key: not value for key, value in lacking.items()})  # must be overwritten
    restored.load_state_dict(saved)
    group = restored.param_groups[0]
    assert {key: group[key] for key in lacking} == lacking and group["lr"] == 0.5
    if name == "AdamW":
        assert group["decoupled_weight_decay"] is True  # AdamW is Adam with it, whatever the file says
