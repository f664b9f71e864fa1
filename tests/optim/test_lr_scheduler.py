"""Learning-rate schedulers: every scheduler's lr sequence (and OneCycleLR's momentum/beta1) against
PyTorch's over many steps, state_dict round trips, hand-checked values and argument errors.

The schedulers compute Python floats with the same formulas in the same order as torch, so the sequences
are compared for exact equality.
"""

from __future__ import annotations

import json
import math
import pickle
import warnings

import numpy as np
import pytest

import cnnkit
from cnnkit import optim
from cnnkit.optim import lr_scheduler
from tests.gradcheck import requires_torch


def _decay(epoch):
    return 0.95**epoch


def _warmup(epoch):
    return min(1.0, (epoch + 1) / 4)


# (id, optimiser kind, factory(module, optimizer) -> scheduler, number of steps)
SCHEDULERS = [
    ("lambda", "sgd", lambda m, o: m.LambdaLR(o, _decay), 30),
    ("lambda-per-group", "sgd", lambda m, o: m.LambdaLR(o, [_decay, _warmup]), 30),
    ("step", "sgd", lambda m, o: m.StepLR(o, step_size=3, gamma=0.5), 40),
    ("step-every-epoch", "adam", lambda m, o: m.StepLR(o, 1), 12),
    ("multistep", "sgd", lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9, 14], gamma=0.3), 20),
    ("constant", "sgd", lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4), 10),
    ("linear-default", "sgd", lambda m, o: m.LinearLR(o), 12),
    ("linear-down", "adam", lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=10), 15),
    ("linear-partial", "sgd", lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=7), 12),
    ("exponential", "sgd", lambda m, o: m.ExponentialLR(o, gamma=0.9), 25),
    ("cosine-T1", "sgd", lambda m, o: m.CosineAnnealingLR(o, T_max=1), 4),
    ("cosine-T5", "sgd", lambda m, o: m.CosineAnnealingLR(o, T_max=5), 16),
    ("cosine-T10-eta", "adam", lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=1e-3), 31),
    ("cosine-T7-eta", "sgd", lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01), 22),
    ("onecycle", "sgd", lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=30), 30),
    ("onecycle-per-group", "sgd",
     lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=25, pct_start=0.4, base_momentum=[0.8, 0.7],
                               max_momentum=[0.9, 0.95]), 25),
    ("onecycle-three-phase-linear", "sgd",
     lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=40, anneal_strategy="linear", three_phase=True,
                               div_factor=10.0, final_div_factor=100.0), 40),
    ("onecycle-epochs-adam", "adam",
     lambda m, o: m.OneCycleLR(o, max_lr=0.01, epochs=3, steps_per_epoch=7, pct_start=0.25), 21),
    ("onecycle-no-momentum", "sgd",
     lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=20, cycle_momentum=False), 20),
    ("onecycle-rmsprop-three-phase", "rmsprop",
     lambda m, o: m.OneCycleLR(o, max_lr=0.05, total_steps=33, three_phase=True), 33),
    ("sequential-warmup-cosine", "sgd",
     lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, 20)],
                                 milestones=[5]), 40),
    ("sequential-three", "adam",
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.5, total_iters=10), m.ExponentialLR(o, 0.8),
                                     m.StepLR(o, 2, gamma=0.5)], milestones=[3, 8]), 20),
    ("sequential-lambda-multistep", "sgd",
     lambda m, o: m.SequentialLR(o, [m.LambdaLR(o, _warmup), m.MultiStepLR(o, [3, 6])], milestones=[4]), 15),
]
IDS = [case[0] for case in SCHEDULERS]


def _optimizer(module, kind: str, params):
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}]
    if kind == "sgd":
        return module.SGD(groups, lr=0.1, momentum=0.9)
    if kind == "adam":
        return module.Adam(groups, lr=0.1)
    return module.RMSprop(groups, lr=0.1, momentum=0.5)


def _cnnkit_optimizer(kind: str):
    return _optimizer(optim, kind, [cnnkit.tensor(np.ones(2), requires_grad=True) for _ in range(2)])


def _snapshot(optimizer, scheduler):
    """(lrs the scheduler reports, lrs in the groups, momentum or beta1 of each group, last_epoch)."""
    momenta = [g["betas"][0] if "betas" in g else g.get("momentum") for g in optimizer.param_groups]
    return (list(scheduler.get_last_lr()), [g["lr"] for g in optimizer.param_groups], momenta, scheduler.last_epoch)


def _run(optimizer, scheduler, steps: int):
    history = [_snapshot(optimizer, scheduler)]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        history.append(_snapshot(optimizer, scheduler))
    return history


@requires_torch
@pytest.mark.parametrize("case", SCHEDULERS, ids=IDS)
def test_lr_sequence_matches_torch(case):
    import torch

    _, kind, factory, steps = case
    ck_opt = _cnnkit_optimizer(kind)
    th_opt = _optimizer(torch.optim, kind, [torch.ones(2, requires_grad=True) for _ in range(2)])
    ck_history = _run(ck_opt, factory(lr_scheduler, ck_opt), steps)
    th_history = _run(th_opt, factory(torch.optim.lr_scheduler, th_opt), steps)
    for epoch, (ck, th) in enumerate(zip(ck_history, th_history, strict=True)):
        assert ck == th, f"epoch {epoch}: cnnkit {ck} vs torch {th}"
    assert [g["initial_lr"] for g in ck_opt.param_groups] == [g["initial_lr"] for g in th_opt.param_groups]


@pytest.mark.parametrize("case", SCHEDULERS, ids=IDS)
def test_state_dict_round_trip_continues_identically(case):
    _, kind, factory, steps = case
    full_opt = _cnnkit_optimizer(kind)
    full = _run(full_opt, factory(lr_scheduler, full_opt), steps)

    cut = steps // 2
    first_opt = _cnnkit_optimizer(kind)
    first_sched = factory(lr_scheduler, first_opt)
    _run(first_opt, first_sched, cut)
    saved_opt = pickle.loads(pickle.dumps(first_opt.state_dict()))  # plain data, as from a checkpoint file
    saved_sched = json.loads(json.dumps(first_sched.state_dict()))  # checkpoints keep it in JSON metadata
    assert "optimizer" not in saved_sched

    resumed_opt = _cnnkit_optimizer(kind)
    resumed_sched = factory(lr_scheduler, resumed_opt)  # PyTorch's order: scheduler, optimizer state, scheduler state
    resumed_opt.load_state_dict(saved_opt)
    resumed_sched.load_state_dict(saved_sched)
    assert _run(resumed_opt, resumed_sched, steps - cut) == full[cut:]


def test_state_dict_is_a_snapshot():
    opt = _cnnkit_optimizer("sgd")
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    saved = sched.state_dict()
    opt.step()
    sched.step()
    assert saved["last_epoch"] == 0 and saved["_last_lr"] == [0.1, 0.05]
    assert sched.last_epoch == 1 and sched.get_last_lr() == [0.05, 0.025]


def test_load_state_dict_checks_the_number_of_groups():
    sched = lr_scheduler.StepLR(_cnnkit_optimizer("sgd"), step_size=2)
    one_group = optim.SGD([cnnkit.tensor(np.ones(2), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="StepLR.load_state_dict: state has 1 base learning rates, the optimizer "
                                         "has 2 parameter groups"):
        sched.load_state_dict(lr_scheduler.StepLR(one_group, step_size=2).state_dict())


def test_lambda_state_dict_keeps_callable_objects_state_but_not_functions():
    class Scale:
        def __init__(self, factor):
            self.factor = factor

        def __call__(self, epoch):
            return self.factor**epoch

    opt = _cnnkit_optimizer("sgd")
    sched = lr_scheduler.LambdaLR(opt, [Scale(0.5), _decay])
    saved = sched.state_dict()
    assert saved["lr_lambdas"] == [{"factor": 0.5}, None]
    other = lr_scheduler.LambdaLR(_cnnkit_optimizer("sgd"), [Scale(0.9), _decay])
    other.load_state_dict(saved)
    assert other.lr_lambdas[0].factor == 0.5


# ----------------------------------------------------------------- values by hand (no torch needed)
def test_construction_sets_initial_lr_and_performs_the_step_zero_update():
    opt = _cnnkit_optimizer("sgd")
    sched = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert sched.last_epoch == 0 and sched.get_last_lr() == [0.05, 0.025]
    opt.step()
    sched.step()
    opt.step()
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.1, 0.05], rel=1e-15)


def test_step_lr_by_hand():
    opt = _cnnkit_optimizer("sgd")
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    lrs = [h[0][0] for h in _run(opt, sched, 6)]
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], rel=1e-15)


@pytest.mark.parametrize("t_max,eta_min", [(5, 0.0), (12, 0.002), (3, 0.05)])
def test_cosine_recursion_follows_the_closed_form_over_three_periods(t_max, eta_min):
    opt = _cnnkit_optimizer("sgd")
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
    history = _run(opt, sched, 3 * t_max)
    for epoch, (lrs, *_) in enumerate(history):
        expected = eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * epoch / t_max)) / 2
        assert lrs[0] == pytest.approx(expected, rel=1e-9, abs=1e-12), epoch


def test_one_cycle_shape_by_hand():
    opt = _cnnkit_optimizer("sgd")
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=20, pct_start=0.25)
    history = _run(opt, sched, 20)
    lrs = [h[0][0] for h in history]
    momenta = [h[2][0] for h in history]
    assert lrs[0] == pytest.approx(1.0 / 25) and momenta[0] == pytest.approx(0.95)
    assert lrs[4] == pytest.approx(1.0) and momenta[4] == pytest.approx(0.85)  # peak at pct_start·total − 1
    assert lrs[19] == pytest.approx(1.0 / 25 / 1e4)  # the last scheduled step reaches min_lr
    assert all(a <= b for a, b in zip(lrs[:5], lrs[1:5], strict=False))
    assert all(a >= b for a, b in zip(lrs[4:20], lrs[5:20], strict=False))
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 21 times; the specified number of total steps "
                                         "is 20"):
        sched.step()


def test_sequential_warmup_then_cosine_by_hand():
    opt = _cnnkit_optimizer("sgd")
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=4)
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    sched = lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[4])
    lrs = [h[0][0] for h in _run(opt, sched, 14)]
    assert lrs[:5] == pytest.approx([0.01, 0.0325, 0.055, 0.0775, 0.1], rel=1e-12)
    assert lrs[4:] == pytest.approx([0.05 * (1 + math.cos(math.pi * t / 10)) for t in range(11)], rel=1e-9, abs=1e-15)


def test_scheduler_drives_the_optimiser_learning_rate():
    p = cnnkit.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = cnnkit.tensor([1.0])
        opt.step()
        sched.step()
    np.testing.assert_allclose(p._data, [1.0 - 1.0 - 0.5 - 0.25])


def test_warns_when_stepped_before_the_optimiser():
    opt = _cnnkit_optimizer("sgd")
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = _cnnkit_optimizer("sgd")
    sched2 = lr_scheduler.StepLR(opt2, step_size=2)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


# ----------------------------------------------------------------- bad input
class _PlainOptimizer(optim.Optimizer):
    """An optimiser without momentum or betas (OneCycleLR cannot cycle its momentum)."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})

    def _update_group(self, group):
        pass


INVALID = [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError, "StepLR: expected a positive integer step_size"),
    (lambda o: lr_scheduler.MultiStepLR(o, [2.5]), ValueError, "MultiStepLR: milestones must be integers"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "LinearLR: starting multiplicative factor"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError, "LinearLR: ending multiplicative factor"),
    (lambda o: lr_scheduler.ConstantLR(o, factor=2), ValueError, "ConstantLR: constant multiplicative factor"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), ValueError, "CosineAnnealingLR: expected a positive T_max"),
    (lambda o: lr_scheduler.LambdaLR(o, [_decay]), ValueError, "LambdaLR: expected 2 lr_lambdas"),
    (lambda o: lr_scheduler.LambdaLR(o, 0.5), TypeError, "LambdaLR: lr_lambda must be callable"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), ValueError, "you must define either total_steps OR"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError, "positive integer total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-1), ValueError,
     "positive integer steps_per_epoch"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), ValueError,
     "expected float between 0 and 1 pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear'"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10), ValueError,
     "max_lr must have one value per parameter group: expected 2, got 3"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], milestones=[3]), ValueError,
     "expects one milestone fewer than schedulers"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(_cnnkit_optimizer("sgd"), 2),
                                             lr_scheduler.StepLR(o, 2)], milestones=[3]), ValueError,
     "expects all schedulers to belong to the same optimizer"),
    (lambda o: lr_scheduler.StepLR("sgd", 2), TypeError, "StepLR: str is not an Optimizer"),
    (lambda o: lr_scheduler.StepLR(o, 2, last_epoch=4), KeyError, "param 'initial_lr' is not specified"),
]


@pytest.mark.parametrize("make,error,message", INVALID)
def test_invalid_arguments_raise(make, error, message):
    with pytest.raises(error, match=message):
        make(_cnnkit_optimizer("sgd"))


def test_one_cycle_momentum_needs_an_optimiser_with_momentum():
    opt = _PlainOptimizer([cnnkit.tensor(np.ones(2), requires_grad=True)])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, cycle_momentum=False)
    assert sched.get_last_lr() == [pytest.approx(0.004)]
