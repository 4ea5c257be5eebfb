"""A simulated accelerator for the test suite: CUDA's device rules on a CPU machine.

Tensors on the simulated device ``sim`` are wrapper subclasses that report
``device == sim:0`` and hold real CPU values; a ``TorchDispatchMode`` applies CUDA's
rules to every aten op and counts what costs time on a real GPU:

- an op that mixes a ``sim`` tensor with a CPU tensor of dimension > 0 raises (0-d CPU
  tensors pass, as CUDA lets CPU scalars through);
- a factory op or a random draw for ``sim`` with a CPU ``torch.Generator`` raises, and
  so does a ``sim`` generator drawing CPU tensors;
- ``.numpy()`` and ``__array__`` of a ``sim`` tensor raise (matplotlib and NumPy need
  ``.cpu()`` first, as on CUDA);
- host synchronisations (``.item()``, ``bool()``, ``.tolist()``, a copy to the CPU)
  and host-to-device copies are counted in :attr:`SimulatedDevice.counts`.

The backend is PyTorch's PrivateUse1 key renamed to ``sim``; ``torch.Generator`` is
replaced, while the simulation runs, by a subclass that accepts ``device="sim"`` (a
CPU generator marked as the device's). Use::

    with SimulatedDevice() as sim:
        model = model.to(sim.device)
        ...
        sim.counts["sync"]
"""

from __future__ import annotations

import collections
import contextlib
import functools
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

_NAME = "sim"


def _setup_backend() -> torch.device:
    if torch._C._get_privateuse1_backend_name() != _NAME:
        from torch.utils.backend_registration import (
            _setup_privateuseone_for_python_backend,
        )

        _setup_privateuseone_for_python_backend(_NAME)
    return torch.device(_NAME, 0)


# at import, before any backward pass: autograd sizes its per-device queues once, at
# the first backward, from the backends registered then
SIM = _setup_backend()


class DeviceMismatch(RuntimeError):
    """An op that CUDA would refuse: tensors or a generator on two devices."""


_REAL_GENERATOR = torch.Generator


class SimGenerator(_REAL_GENERATOR):
    """``torch.Generator`` while the simulation runs: ``device="sim"`` gives a CPU
    generator marked as the simulated device's."""

    def __new__(cls, device: Any = "cpu") -> SimGenerator:
        dev = torch.device(device) if not isinstance(device, torch.device) else device
        on_sim = dev.type == _NAME
        g = super().__new__(cls, "cpu" if on_sim else device)
        g._on_sim = on_sim
        return g

    def __init__(self, device: Any = "cpu") -> None:  # the C type takes the device
        pass

    @property
    def device(self) -> torch.device:  # type: ignore[override]
        return torch.device(_NAME, 0) if self._on_sim else super().device


def _gen_on_sim(g: Any) -> bool:
    return bool(getattr(g, "_on_sim", False))


def _list_indices(index: Any) -> Any:
    if isinstance(index, list):
        return torch.as_tensor(index)
    if isinstance(index, tuple):
        return tuple(torch.as_tensor(i) if isinstance(i, list) else i for i in index)
    return index


class SimTensor(torch.Tensor):
    """A tensor on the simulated device: reports ``sim:0``, holds a CPU tensor."""

    elem: torch.Tensor

    @staticmethod
    def __new__(cls, elem: torch.Tensor, sim: SimulatedDevice) -> SimTensor:
        t = torch.Tensor._make_wrapper_subclass(
            cls,
            elem.shape,
            strides=elem.stride(),
            storage_offset=elem.storage_offset(),
            dtype=elem.dtype,
            layout=elem.layout,
            device=sim.device,
            requires_grad=elem.requires_grad,
        )
        t.elem = elem
        t.sim = sim
        return t

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        return f"SimTensor({self.elem!r})"

    def numpy(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"can't convert {self.device} device type tensor to numpy. Use "
            "Tensor.cpu() to copy the tensor to host memory first."
        )

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return self.numpy()

    def __format__(self, format_spec: str) -> str:
        # torch.Tensor.__format__ formats a 0-d tensor as its value only for the base
        # class: do the same here (a host sync, as on CUDA)
        if self.dim() == 0:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    # a list in an index becomes an index tensor in C++, below the dispatch mode: make
    # it a CPU tensor here, which indexing accepts on CUDA too
    def __getitem__(self, index: Any) -> Any:
        return torch.Tensor.__getitem__(self, _list_indices(index))

    def __setitem__(self, index: Any, value: Any) -> None:
        torch.Tensor.__setitem__(self, _list_indices(index), value)

    def tolist(self) -> Any:
        self.sim.counts["sync"] += 1
        return self.elem.tolist()

    __torch_function__ = torch._C._disabled_torch_function_impl

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        # every op on a SimTensor reaches the mode first; this runs only outside it
        raise RuntimeError(
            f"a simulated-device tensor was used outside its SimulatedDevice ({func})"
        )


_TRANSFERS = {torch.ops.aten._to_copy.default, torch.ops.aten.to.device}
# ops whose index tensors may be on the CPU beside a device tensor (moved by CUDA)
_INDEXING = {
    torch.ops.aten.index.Tensor,
    torch.ops.aten.index_put.default,
    torch.ops.aten.index_put_.default,
    torch.ops.aten._index_put_impl_.default,
}
_SYNCS = {
    torch.ops.aten._local_scalar_dense.default,
    torch.ops.aten.is_nonzero.default,
    torch.ops.aten.equal.default,
}


# the random routines whose generator is checked against the device they draw on
# (in Python, where the generator is still the object the caller made)
_RANDOM_FUNCTIONS = (
    "randn",
    "rand",
    "randint",
    "randperm",
    "multinomial",
    "bernoulli",
    "normal",
    "poisson",
    "randn_like",
    "rand_like",
    "randint_like",
)
_RANDOM_METHODS = (
    "normal_",
    "uniform_",
    "bernoulli_",
    "random_",
    "exponential_",
    "cauchy_",
    "log_normal_",
    "geometric_",
    "multinomial",
    "bernoulli",
)


def _check_generator(fn: Any, sim: SimulatedDevice) -> Any:
    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        g = kwargs.get("generator")
        if g is not None and isinstance(out, torch.Tensor):
            on_sim = out.device.type == _NAME
            if _gen_on_sim(g) != on_sim:
                raise DeviceMismatch(
                    f"torch.{fn.__name__}: a generator on {g.device} cannot draw "
                    f"tensors on {out.device}"
                )
            sim.counts["draws"] += 1
        return out

    return checked


def _construct_on_cpu(fn: Any, sim: SimulatedDevice) -> Any:
    """``torch.tensor`` and ``torch.as_tensor`` build their result in C++ without the
    dispatcher's Python key: for the simulated device, build on the CPU, then copy."""

    @functools.wraps(fn)
    def construct(data: Any, *args: Any, **kwargs: Any) -> Any:
        device = kwargs.get("device")
        if device is not None and torch.device(device).type == _NAME:
            kwargs["device"] = "cpu"
            if isinstance(data, SimTensor):
                return fn(data, *args, **{**kwargs, "device": sim.device})
            return fn(data, *args, **kwargs).to(sim.device)
        return fn(data, *args, **kwargs)

    return construct


class _Counts(collections.Counter):
    """``SimulatedDevice.counts``: a Counter that, when its device traces syncs,
    records where each ``sync`` came from."""

    def __init__(self, sim: SimulatedDevice) -> None:
        super().__init__()
        self._sim = sim

    def __setitem__(self, key: str, value: int) -> None:
        if key == "sync" and self._sim.trace_syncs and value > self.get(key, 0):
            self._sim.sync_sites[_caller()] += 1
        super().__setitem__(key, value)


def _caller() -> str:
    import traceback

    frames = [f for f in traceback.extract_stack() if "statlearn" in f.filename]
    if not frames:
        return "?"
    f = frames[-1]
    return f"{f.filename.rsplit('statlearn/', 1)[-1]}:{f.lineno}"


class SimulatedDevice(TorchDispatchMode):
    """The simulated accelerator (a context manager): see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.device = _setup_backend()
        self.counts: _Counts = _Counts(self)
        # where each host sync came from (file:line of the innermost statlearn frame),
        # for finding them: set ``trace_syncs = True`` before the code under test
        self.trace_syncs = False
        self.sync_sites: collections.Counter[str] = collections.Counter()
        self._stack = contextlib.ExitStack()

    # -- entering and leaving --------------------------------------------------
    def __enter__(self) -> SimulatedDevice:
        torch.Generator = SimGenerator  # type: ignore[misc]
        self._stack.callback(setattr, torch, "Generator", _REAL_GENERATOR)
        for name in ("tensor", "as_tensor"):
            original = getattr(torch, name)
            setattr(torch, name, _construct_on_cpu(original, self))
            self._stack.callback(setattr, torch, name, original)
        for name in _RANDOM_FUNCTIONS:
            original = getattr(torch, name)
            setattr(torch, name, _check_generator(original, self))
            self._stack.callback(setattr, torch, name, original)
        for name in _RANDOM_METHODS:
            original = getattr(torch.Tensor, name)
            setattr(torch.Tensor, name, _check_generator(original, self))
            self._stack.callback(setattr, torch.Tensor, name, original)
        super().__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        self._stack.close()

    # -- helpers -----------------------------------------------------------------
    def _is_sim_device(self, dev: Any) -> bool:
        return dev is not None and torch.device(dev).type == _NAME

    def wrap(self, t: Any) -> Any:
        if isinstance(t, torch.Tensor) and not isinstance(t, SimTensor):
            return SimTensor(t, self)
        return t

    def tensor(self, data: Any, **kwargs: Any) -> SimTensor:
        """A tensor on the simulated device (``torch.tensor(data, device=sim)``)."""
        self.counts["h2d"] += 1
        return SimTensor(torch.as_tensor(data, **kwargs), self)

    # -- the rules -----------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        flat, _ = tree_flatten((args, kwargs))
        sims = [t for t in flat if isinstance(t, SimTensor)]
        cpus = [
            t
            for t in flat
            if isinstance(t, torch.Tensor)
            and not isinstance(t, SimTensor)
            and t.device.type == "cpu"
        ]
        target = kwargs.get("device")
        to_sim = self._is_sim_device(target)
        to_cpu = target is not None and torch.device(target).type == "cpu"

        unwrap = lambda t: t.elem if isinstance(t, SimTensor) else t  # noqa: E731
        u_args = tree_map(unwrap, args)
        u_kwargs = tree_map(unwrap, kwargs)
        if to_sim:
            u_kwargs["device"] = torch.device("cpu")

        # transfers: sim -> cpu is a device-to-host copy (a sync), cpu -> sim a copy in
        if func in _TRANSFERS and (to_sim or to_cpu):
            if to_cpu and sims:
                self.counts["sync"] += 1
                self.counts["d2h"] += 1
                return func(*u_args, **u_kwargs)
            if to_sim and not sims:
                self.counts["h2d"] += 1
                return self.wrap(func(*u_args, **u_kwargs))
        if func is torch.ops.aten.copy_.default and len(args) >= 2:
            dst, src = args[0], args[1]
            if isinstance(dst, SimTensor) != isinstance(src, SimTensor):
                self.counts["h2d" if isinstance(dst, SimTensor) else "d2h"] += 1
                if not isinstance(dst, SimTensor):
                    self.counts["sync"] += 1
                func(*u_args, **u_kwargs)
                return dst
        on_sim = bool(sims) or to_sim
        if on_sim:
            big_cpu = [t for t in cpus if t.dim() > 0]
            if func in _INDEXING:  # CPU indices are copied to the device
                indices = tree_flatten(args[1])[0]
                moved = [t for t in big_cpu if any(t is i for i in indices)]
                self.counts["h2d"] += len(moved)
                big_cpu = [t for t in big_cpu if not any(t is m for m in moved)]
            if big_cpu:
                raise DeviceMismatch(
                    f"{func}: expected all tensors to be on the same device, but found "
                    f"at least two devices, {self.device} and cpu (a CPU tensor of "
                    f"shape {tuple(big_cpu[0].shape)})"
                )
        if sims and func in _SYNCS:
            self.counts["sync"] += 1
        out = func(*u_args, **u_kwargs)
        if not on_sim:
            return out
        if func is torch.ops.aten._local_scalar_dense.default:
            return out
        return tree_map(self.wrap, out)
