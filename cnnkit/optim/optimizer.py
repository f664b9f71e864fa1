"""The `Optimizer` base class: parameter groups, per-parameter state, zero_grad and state_dict round trips.

Concrete optimisers (SGD, Adam, AdamW, RMSprop) subclass it and implement `_update_group`, which updates
each parameter of one group in place on `p._data` with vectorised NumPy. Nothing here records a graph: the
updates work on the raw arrays. Hyper-parameters are read from the group as Python floats at every step,
so a learning-rate scheduler can change them between steps and float32 parameters stay float32 (NumPy
keeps an array's dtype for Python scalars, but an `np.float64` scalar would silently upcast).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from cnnkit.autograd import enable_grad
from cnnkit.tensor import Tensor

StateDict = dict[str, Any]


class _RequiredParameter:
    """Marks a default that every parameter group must set itself (as `torch.optim.optimizer.required`)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def check_non_negative(optimizer: str, name: str, value: float) -> None:
    """Raise ValueError unless value >= 0 (the check PyTorch makes for lr, eps, momentum, weight_decay)."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise TypeError(f"{optimizer}: {name} must be a number, got {type(value).__name__}")
    if not value >= 0.0:  # `not >=` also rejects NaN
        raise ValueError(f"{optimizer}: invalid {name} {value} (expected {name} >= 0)")


def check_implementation(optimizer: str, foreach: bool | None = None, fused: bool | None = None,
                         capturable: bool = False, differentiable: bool = False) -> None:
    """PyTorch's implementation switches, accepted: `foreach` and `fused` choose among kernels that compute the
    same update (cnnkit has one, vectorised per tensor); `capturable` (CUDA graphs) and `differentiable` (a step
    that autograd records) have no CPU counterpart here and are refused rather than silently ignored."""
    for name, value in (("foreach", foreach), ("fused", fused)):
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"{optimizer}: {name} must be None or a bool, got {value!r}")
    if capturable:
        raise ValueError(f"{optimizer}: capturable=True is for CUDA graphs; cnnkit runs on the CPU, leave it False")
    if differentiable:
        raise NotImplementedError(f"{optimizer}: differentiable=True (an optimizer step autograd can differentiate "
                                  "through) is not supported; cnnkit's steps update the parameters outside the graph")


class Optimizer:
    """Base class of all optimisers: holds `param_groups` (list of dicts) and `state` (dict keyed by parameter)."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(f"{self._name}: params should be an iterable of Tensors or dicts, got a Tensor "
                            "(wrap it in a list)")
        if not isinstance(params, Iterable):
            raise TypeError(f"{self._name}: params should be an iterable of Tensors or dicts, "
                            f"got {type(params).__name__}")
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{self._name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # ----------------------------------------------------------------- groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a group: its own options override the optimiser's defaults (useful for fine-tuning)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name}: param_group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{self._name}: param_group must have a 'params' entry, got keys {sorted(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{self._name}: parameters must be an ordered collection (a list), not a set, so "
                            "their order (and state_dict indices) is the same from run to run")
        group = dict(param_group)
        group["params"] = list(params)
        self._extract_names(group)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{self._name}: can't optimize a non-leaf Tensor (one computed by an op)")
            if p.dtype.kind != "f":
                raise TypeError(f"{self._name}: can only optimize floating-point Tensors, got dtype {p.dtype}")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"{self._name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        self._check_options(group)
        ids = {id(p) for p in group["params"]}
        if len(ids) != len(group["params"]):
            raise ValueError(f"{self._name}: a parameter group contains the same parameter more than once")
        for other in self.param_groups:
            if any(id(p) in ids for p in other["params"]):
                raise ValueError(f"{self._name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _extract_names(self, group: dict[str, Any]) -> None:
        """Accept `model.named_parameters()`: (name, tensor) pairs become params plus a 'param_names' list."""
        named = [isinstance(p, tuple) for p in group["params"]]
        if not any(named):
            return
        if not all(named) or any(len(p) != 2 for p in group["params"]):
            raise ValueError(f"{self._name}: all params of a group should be (name, Tensor) pairs or none of them")
        group["param_names"] = [name for name, _ in group["params"]]
        group["params"] = [p for _, p in group["params"]]

    def _check_options(self, options: dict[str, Any]) -> None:
        """Validate one group's hyper-parameters (subclasses raise ValueError as PyTorch's constructors do)."""

    # ----------------------------------------------------------------- gradients and steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (set_to_none) or fill it with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.requires_grad = False
                    p.grad._data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns closure() (re-evaluated loss) if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{self._name} does not implement _update_group")

    def _params_with_grad(self, group: dict[str, Any]) -> Iterator[tuple[Tensor, np.ndarray]]:
        """(parameter, gradient array) for each parameter of the group whose `.grad` is set; others are skipped."""
        for p in group["params"]:
            if p.grad is None:
                continue
            grad = p.grad._data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
            if grad.shape != p.shape:
                raise ValueError(f"{self._name}: gradient of shape {grad.shape} does not match its parameter "
                                 f"of shape {p.shape}")
            if grad.dtype != p.dtype:
                raise TypeError(f"{self._name}: gradient of dtype {grad.dtype} does not match its parameter "
                                f"of dtype {p.dtype}")
            p._vc.value += 1  # the update writes p in place: a graph still holding p's old value must see it
            yield p, grad

    # ----------------------------------------------------------------- state_dict
    def state_dict(self) -> StateDict:
        """The optimiser's state as plain data, parameters referred to by their index across all groups.

        {"state": {index: {name: ndarray or number}}, "param_groups": [{option: value, ..., "params": [indices]}]}
        Arrays are copies, so the result is a snapshot that later steps do not change.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index_of[id(p)]: {k: _snapshot(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index_of and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Restore a `state_dict()`: same number of groups and of parameters per group, same shapes."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{self._name}.load_state_dict: expected a dict with 'state' and 'param_groups', "
                             f"got {got}")
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{self._name}.load_state_dict: loaded state dict has {len(saved_groups)} parameter "
                             f"groups, the optimizer has {len(self.param_groups)}")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{self._name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                                 f"parameters in the loaded state dict, {len(group['params'])} in the optimizer")
        param_of = {index: p for saved, group in zip(saved_groups, self.param_groups, strict=True)
                    for index, p in zip(saved["params"], group["params"], strict=True)}
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for index, values in state_dict["state"].items():
            if index not in param_of:
                raise ValueError(f"{self._name}.load_state_dict: state refers to parameter {index}, which no "
                                 f"parameter group lists (known: {sorted(param_of)})")
            p = param_of[index]
            state[p] = {k: self._restore_value(k, v, p, index) for k, v in values.items()}
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state = state
        self.param_groups = saved_groups
        self._after_load()

    def _restore_value(self, key: str, value: Any, p: Tensor, index: int) -> Any:
        """A fresh copy of one saved state value: arrays take the parameter's dtype and must match its shape."""
        if key == "step":  # a count, kept as a Python number
            return float(value.item() if hasattr(value, "item") else value)
        if isinstance(value, (np.ndarray, Tensor)):
            array = value._data if isinstance(value, Tensor) else value
            if array.shape != p.shape:
                raise ValueError(f"{self._name}.load_state_dict: state '{key}' of parameter {index} has shape "
                                 f"{array.shape}, expected the parameter's shape {p.shape}")
            return np.array(array, dtype=p.dtype, copy=True)
        return copy.deepcopy(value)

    # options that a state dict saved by an older PyTorch may lack, with the value PyTorch's __setstate__ gives them
    OPTIONS_OLD_STATE_DICTS_LACK: dict[str, Any] = {}

    def _after_load(self) -> None:
        """Fill the options missing from older state dicts (PyTorch's __setstate__); subclasses may add more."""
        for group in self.param_groups:
            for key, value in self.OPTIONS_OLD_STATE_DICTS_LACK.items():
                group.setdefault(key, value)

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)


def _snapshot(value: Any) -> Any:
    """A plain-data copy of a state value: arrays copied, numbers and others deep-copied."""
    if isinstance(value, Tensor):
        return value._data.copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    return copy.deepcopy(value)
