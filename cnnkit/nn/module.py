"""`Module`: the base class of every layer and model, with PyTorch's registration, traversal, state and hooks.

Assigning a `Parameter`, a `Module` or (after `register_buffer`) a Tensor as an attribute stores it in
`_parameters`, `_modules` or `_buffers`, in insertion order, exactly as `torch.nn.Module` does; traversal
(`named_parameters`, `named_modules`, ...), `state_dict`/`load_state_dict`, `train`/`eval`, hooks and
`repr` all walk those three dicts.

`state_dict()` returns an OrderedDict of name → detached cnnkit Tensor SHARING memory with the module's
parameter or buffer (as PyTorch's shares storage), so `{k: v.numpy() for k, v in sd.items()}` gives views;
copy them if you need a snapshot. `load_state_dict` accepts Tensors or NumPy arrays (anything `np.asarray`
understands, PyTorch tensors included) and copies values in, cast to each parameter's dtype.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from cnnkit.nn.parameter import Parameter
from cnnkit.tensor import Tensor

_hook_ids = itertools.count()


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(..., strict=False)` returns: the keys it could not fill and the keys it did not use."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


class RemovableHandle:
    """Returned by `register_forward_hook` and friends; `.remove()` (or leaving a `with` block) unregisters."""

    def __init__(self, hooks: dict[int, Callable]) -> None:
        self._hooks = hooks
        self.id = next(_hook_ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first (blank lines stay empty), as PyTorch's repr does for children."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    first, rest = lines[0], lines[1:]
    return first + "\n" + "\n".join((" " * spaces + line) if line.strip() else "" for line in rest)


def _check_name(kind: str, name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach"):  # e.g. a PyTorch tensor that requires grad: np.asarray refuses it otherwise
        value = value.detach()
    return np.asarray(value)


def _detached(t: Tensor) -> Tensor:
    """A graph-free Tensor sharing t's array and keeping its dtype (Tensor() would turn float64 into float32)."""
    return Tensor(t._data, dtype=t._data.dtype)


class Module:
    """Base class for all layers and models: subclass it, assign layers/Parameters in `__init__`, define `forward`."""

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent_buffers_set: set[str]
    _modules: dict[str, Module | None]
    _forward_hooks: dict[int, Callable]
    _forward_pre_hooks: dict[int, Callable]

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these dicts to exist already
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", OrderedDict())
        set_(self, "_buffers", OrderedDict())
        set_(self, "_non_persistent_buffers_set", set())
        set_(self, "_modules", OrderedDict())
        set_(self, "_forward_hooks", OrderedDict())
        set_(self, "_forward_pre_hooks", OrderedDict())

    # ----------------------------------------------------------------- forward and hooks
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{self._get_name()}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self._forward_pre_hooks and not self._forward_hooks:  # the common, fast path
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """`hook(module, args)` runs before forward; returning non-None replaces the positional args."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """`hook(module, args, output)` runs after forward; returning non-None replaces the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ----------------------------------------------------------------- registration
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(cnnkit.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A non-learnable state tensor (e.g. BatchNorm's running_mean); persistent buffers go into state_dict."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(cnnkit Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name("module", name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep=params)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(cnnkit.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep=self._modules)
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(cnnkit.nn.Module or None expected)")
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(cnnkit Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: dict) -> None:
        """Drop `name` from the instance dict and every registry but `keep` (re-assigning keeps its position)."""
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers and children live in the three dicts.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        keys = set(dir(type(self))) | set(self.__dict__)
        keys |= set(self._parameters) | set(self._buffers) | set(self._modules)
        return sorted(keys)

    def __setstate__(self, state: dict) -> None:  # pickling/deepcopy: restore the dicts without __setattr__
        self.__dict__.update(state)

    # ----------------------------------------------------------------- traversal
    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, named by their dotted path (`layer1.0.conv1`)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            child_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True) -> Iterator[tuple[str, Any]]:
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        seen: set[int] = set()
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(name, Parameter) pairs in registration order; a parameter shared by two layers is yielded once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def get_submodule(self, target: str) -> Module:
        """The descendant at a dotted path, e.g. `model.get_submodule('features.0')`."""
        module: Module = self
        if target == "":
            return module
        for part in target.split("."):
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{module._get_name()} has no attribute `{part}` (looking up '{target}')")
            module = child
        return module

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call fn on every child (recursively) and then on self, e.g. to re-initialise weights."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------------- modes and gradients
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {type(mode).__name__}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad._data[...] = 0

    # ----------------------------------------------------------------- dtype
    def _apply_dtype(self, dtype: np.dtype) -> Module:
        """Cast every floating parameter, gradient and buffer to dtype in place (integer buffers are kept)."""
        for module in self.modules():
            for tensor in itertools.chain(module._parameters.values(), module._buffers.values()):
                if tensor is None or tensor.dtype.kind != "f" or tensor.dtype == dtype:
                    continue
                tensor._data = tensor._data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad._data = tensor.grad._data.astype(dtype)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """`to(dtype)`, `to('cpu')`, `to(device, dtype)`, `to(tensor)` or `to(device=..., dtype=...)`.

        Casts floating state to dtype. The CPU is the only device: 'cpu' changes nothing, 'cuda' or 'mps' raise.
        """
        from cnnkit.device import parse_to_args

        dtype, _ = parse_to_args("to", args, kwargs)
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"to(): only floating dtypes are allowed for a module, got {dtype}")
        return self._apply_dtype(dtype)

    def cuda(self, device: Any = None) -> Module:
        from cnnkit.device import device as make_device

        make_device("cuda" if device is None else device)  # raises: there is no GPU here
        return self

    def float(self) -> Module:
        return self._apply_dtype(np.dtype(np.float32))

    def double(self) -> Module:
        return self._apply_dtype(np.dtype(np.float64))

    def cpu(self) -> Module:
        return self

    # ----------------------------------------------------------------- state
    def _local_state(self) -> Iterator[tuple[str, Tensor]]:
        """This module's own parameters and persistent buffers, the ones that go into state_dict."""
        for name, param in self._parameters.items():
            if param is not None:
                yield name, param
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                yield name, buf

    def _optional_state_keys(self) -> set[str]:
        """Local keys that may be absent from a loaded state_dict without counting as missing."""
        return set()

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Name → detached Tensor sharing memory with each parameter and persistent buffer (keep_vars: the originals).

        As in PyTorch, a parameter shared by two layers appears under both names.
        """
        if destination is None:
            destination = OrderedDict()
        for name, tensor in self._local_state():
            destination[prefix + name] = tensor if keep_vars else _detached(tensor)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into parameters and buffers; every problem is reported in one RuntimeError.

        Size mismatches always raise (as in PyTorch); missing and unexpected keys raise only when strict.
        Nothing is copied unless the whole load is valid, so a failed load leaves the module unchanged.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        targets: dict[str, Tensor] = {}
        optional: set[str] = set()
        for prefix, module in self.named_modules(remove_duplicate=False):
            dotted = prefix + "." if prefix else ""
            for name, tensor in module._local_state():
                targets[dotted + name] = tensor
            optional.update(dotted + name for name in module._optional_state_keys())
        values = {key: _as_array(value) for key, value in state_dict.items()}
        mismatched = [f"size mismatch for {key}: expected {tuple(tensor.shape)}, got {tuple(values[key].shape)}"
                      for key, tensor in targets.items() if key in values and values[key].shape != tensor.shape]
        missing = [key for key in targets if key not in values and key not in optional]
        unexpected = [key for key in values if key not in targets]
        problems = list(mismatched)
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise RuntimeError(f"Error loading state_dict for {self._get_name()}: " + "; ".join(problems))
        for key, tensor in targets.items():
            if key in values:
                tensor._data[...] = values[key].astype(tensor.dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    # ----------------------------------------------------------------- repr
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in repr (children are added below it)."""
        return ""

    def _describe(self) -> str:
        """One-line description used to name the layer in error messages, e.g. `Linear(in_features=4, ...)`."""
        return f"{self._get_name()}({self.extra_repr()})"

    def _input_error(self, message: str) -> ValueError:
        """A ValueError that starts by naming this layer, e.g. `Linear(...): expected input with ..., got ...`."""
        return ValueError(f"{self._describe()}: {message}")

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(module), 2) for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"
