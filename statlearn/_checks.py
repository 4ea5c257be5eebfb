"""Input validation shared by every statlearn module.

Bad user input raises ``ValueError`` (or ``TypeError``) saying what was expected and
what came, so that every module words its errors the same way.

Two helpers carry the package's array and device rules:

- :func:`check_device` turns a ``device=`` argument into a ``torch.device``, or raises a
  clear ``ValueError`` when it names no device or one this machine does not have
  (``statlearn.device`` uses it too);
- :func:`to_model` is the boundary of every neural routine: NumPy arrays, Python lists
  and tensors of any floating dtype (float64 from scikit-learn, say) become one tensor
  in the model's dtype and on the model's device, so that computation follows the model,
  as in PyTorch.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

__all__ = [
    "as_tensor",
    "check_device",
    "model_dtype_device",
    "to_model",
    "as_float",
    "check_positive",
    "check_unit_interval",
    "check_probability",
    "check_labels",
    "as_labels",
    "check_int",
    "check_choice",
    "as_generator",
    "accepts_keyword",
    "seeded",
    "RandomStateError",
]

_NDIM_HINT = {
    1: "1-D",
    2: "2-D (n_samples, n_features)",
    3: "3-D",
    4: "4-D (N, C, H, W)",
}


def all_finite(t: torch.Tensor) -> bool:
    """Whether every entry of ``t`` is finite (no NaN, no inf).

    One min/max pass over a floating tensor (NaN propagates through both, and an
    infinity is one of them) instead of a boolean copy of ``t`` and a second pass:
    several times faster on large inputs, the same single host read on a device.
    """
    if not (t.dtype.is_floating_point or t.dtype.is_complex) or t.numel() == 0:
        return True
    if t.dtype.is_complex:
        return bool(torch.isfinite(t).all())
    lo, hi = torch.aminmax(t)
    # 0 when both are finite, NaN otherwise (inf * 0 is NaN); no overflow
    return bool(torch.isfinite(lo * 0.0 + hi * 0.0))


def as_tensor(
    X: Any,
    *,
    name: str = "X",
    ndim: int | Iterable[int] | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    allow_nonfinite: bool = False,
    min_ndim: int | None = None,
) -> torch.Tensor:
    """Convert array-like input to a floating tensor and check its rank and values.

    Parameters
    ----------
    X : array-like or torch.Tensor
        The input. A tensor keeps its device unless ``device`` is given.
    name : str
        The argument's name, used in error messages.
    ndim : int or iterable of int, optional
        The accepted number(s) of dimensions.
    dtype : torch.dtype, optional
        The floating dtype to return. By default float64 input stays float64 and
        everything else becomes float32.
    device : torch.device or str, optional
        Move the result to this device.
    allow_nonfinite : bool
        Accept NaN and infinite values.
    min_ndim : int, optional
        The least number of dimensions (2 for a batch ``(N, ...)`` of examples).

    Returns
    -------
    torch.Tensor

    Raises
    ------
    TypeError
        If ``X`` cannot be converted to a numeric tensor.
    ValueError
        If ``X`` has the wrong number of dimensions, is empty, or holds NaN or infinite
        values.
    """
    if isinstance(X, torch.Tensor):
        t = X
    else:
        try:
            arr = np.asarray(X)
        except Exception as exc:  # pragma: no cover - numpy's own errors vary
            raise TypeError(
                f"{name} must be array-like; got {type(X).__name__}"
            ) from exc
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
        ):
            raise TypeError(
                f"{name} must be numeric; got an array of dtype {arr.dtype}"
            )
        # np.ascontiguousarray would turn a 0-d array into shape (1,); keep scalars 0-d
        t = torch.from_numpy(np.ascontiguousarray(arr) if arr.ndim else arr.copy())
    if device is not None:
        device = check_device(device)
    if dtype is None:
        dtype = torch.float64 if t.dtype == torch.float64 else torch.float32
    elif not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype; got {dtype}")
    t = t.to(device=device if device is not None else t.device, dtype=dtype)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.ndim not in allowed:
            want = " or ".join(_NDIM_HINT.get(k, f"{k}-D") for k in allowed)
            raise ValueError(f"{name} must be {want}; got shape {tuple(t.shape)}")
    if min_ndim is not None and t.ndim < min_ndim:
        what = "a batch (N, ...)" if min_ndim == 2 else f"at least {min_ndim}-D"
        raise ValueError(
            f"{name} must be {what} with at least {min_ndim} dimensions; got shape "
            f"{tuple(t.shape)}"
        )
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty; got shape {tuple(t.shape)}")
    if not allow_nonfinite and not all_finite(t):
        raise ValueError(f"{name} must not contain NaN or infinite values")
    return t


def mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def check_device(device: Any, name: str = "device") -> torch.device:
    """Return ``device`` as a ``torch.device`` that exists on this machine.

    Parameters
    ----------
    device : str or torch.device
        A device such as ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"``.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If ``device`` names no torch device, or a device this machine does not have
        (PyTorch itself would raise an ``AssertionError`` or a ``RuntimeError`` deep
        inside the first allocation).
    """
    if isinstance(device, torch.device):
        dev = device
    else:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"{name} must name a torch device such as 'cpu' or 'cuda'; got "
                f"{device!r}"
            ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{name} asks for {str(device)!r} but CUDA is not available on this "
                "machine; use 'cpu'"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"{name} asks for {str(device)!r} but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    elif dev.type == "mps" and not mps_available():
        raise ValueError(
            f"{name} asks for {str(device)!r} but MPS is not available on this "
            "machine; use 'cpu'"
        )
    elif dev.type not in ("cpu", "cuda", "mps", "meta", _privateuse1_name()):
        raise ValueError(f"{name} must be 'cpu', 'cuda' or 'mps'; got {str(device)!r}")
    return dev


def _privateuse1_name() -> str:
    """The name an out-of-tree backend (PyTorch's PrivateUse1 key) registered, e.g. a
    vendor's accelerator or the test suite's simulated device; "privateuseone" if
    none did."""
    getter = getattr(torch._C, "_get_privateuse1_backend_name", None)
    return getter() if getter is not None else "privateuseone"


def model_dtype_device(model: Any) -> tuple[torch.dtype | None, torch.device | None]:
    """The dtype and device of a model's first floating parameter (else buffer).

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    (torch.dtype or None, torch.device or None)
        ``(None, None)`` for a model without floating parameters or buffers
        (``nn.Identity()``, say).
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    for tensors in (model.parameters(), model.buffers()):
        for t in tensors:
            if t.dtype.is_floating_point:
                return t.dtype, t.device
    return None, None


def to_model(
    x: Any,
    model: Any,
    *,
    name: str = "x",
    ndim: int | Iterable[int] | None = None,
    allow_nonfinite: bool = False,
    min_ndim: int | None = None,
) -> torch.Tensor:
    """The boundary of every neural routine: ``x`` as a tensor in the model's dtype and
    on its device.

    NumPy arrays, lists and tensors of any numeric dtype are accepted; the result has
    the dtype and device of the model's parameters (see :func:`model_dtype_device`), so
    a float64 array from scikit-learn meets a float32 network as float32. For a model
    without parameters, a tensor keeps its device and float64 stays float64 (everything
    else becomes float32), as in :func:`as_tensor`.

    Parameters
    ----------
    x : array-like or torch.Tensor
        The input.
    model : torch.nn.Module
        The model that will consume ``x``.
    name : str
        The argument's name, used in error messages.
    ndim : int or iterable of int, optional
        The accepted number(s) of dimensions.
    allow_nonfinite : bool
        Accept NaN and infinite values.
    min_ndim : int, optional
        The least number of dimensions (2 for a batch ``(N, ...)`` of examples).

    Returns
    -------
    torch.Tensor
        A tensor already in the model's dtype and on its device is returned as it is (no
        copy).

    Raises
    ------
    TypeError
        If ``x`` is not numeric or ``model`` is not a module.
    ValueError
        If ``x`` has the wrong number of dimensions, is empty, or holds NaN or infinite
        values.
    """
    dtype, device = model_dtype_device(model)
    return as_tensor(
        x,
        name=name,
        ndim=ndim,
        dtype=dtype,
        device=device,
        allow_nonfinite=allow_nonfinite,
        min_ndim=min_ndim,
    )


def as_float(value: Any, name: str) -> float:
    """``value`` as a finite Python float: a number or a one-element tensor.

    Parameters
    ----------
    value : float, int or one-element tensor
        The value.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a number or has more than one element.
    ValueError
        If ``value`` is NaN or infinite.
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(
                f"{name} must be a number; got a tensor of shape {tuple(value.shape)}"
            )
        value = value.item()
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a number; got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    return value


def check_positive(value: Any, name: str, *, strict: bool = True) -> float:
    """Return ``value`` as a float, requiring ``value > 0`` (``>= 0`` when
    ``strict=False``).

    Parameters
    ----------
    value : int, float or one-element tensor
        The number to check; NaN and infinities are rejected.
    name : str
        The argument's name, used in error messages.
    strict : bool
        Require ``value > 0`` (else ``value >= 0``).
    """
    v = as_float(value, name)
    if (strict and v <= 0) or (not strict and v < 0):
        raise ValueError(f"{name} must be {'> 0' if strict else '>= 0'}; got {v}")
    return v


def check_probability(value: Any, name: str, *, open_interval: bool = True) -> float:
    """Return ``value`` as a float in (0, 1) (or [0, 1] when ``open_interval=False``).

    Parameters
    ----------
    value : int, float or one-element tensor
        The number to check.
    name : str
        The argument's name, used in error messages.
    open_interval : bool
        Exclude the end points 0 and 1.
    """
    v = as_float(value, name)
    if (open_interval and not 0 < v < 1) or (not open_interval and not 0 <= v <= 1):
        raise ValueError(
            f"{name} must be in {'(0, 1)' if open_interval else '[0, 1]'}; got {v}"
        )
    return v


def check_unit_interval(
    x: torch.Tensor, name: str = "x", *, atol: float = 1e-6
) -> torch.Tensor:
    """Require every value of ``x`` to lie in [0, 1] (pixels), up to ``atol``; return
    ``x``.

    Parameters
    ----------
    x : tensor
        The values to check.
    name : str
        The argument's name, used in error messages.
    atol : float
        Tolerance at both ends of the interval.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    lo, hi = float(x.detach().min()), float(x.detach().max())
    if not (lo >= -atol and hi <= 1 + atol):
        raise ValueError(
            f"{name} must lie in [0, 1] (pixel space); got values in [{lo:.4g}, "
            f"{hi:.4g}]"
        )
    return x


def check_labels(
    y: Any,
    num_classes: int,
    name: str = "y",
    *,
    n: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return ``y`` as a 1-D int64 tensor of class indices in ``[0, num_classes)``.

    Parameters
    ----------
    y : array-like or torch.Tensor
        Class labels.
    num_classes : int
        The number of classes.
    name : str
        The argument's name, used in error messages.
    n : int, optional
        The number of labels expected (the batch size).
    device : torch.device or str, optional
        Move the labels to this device (after the checks).

    Returns
    -------
    (N,) int64 tensor
    """
    t = y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        if t.dtype.is_floating_point and bool((t == t.round()).all()):
            t = t.long()
        else:
            raise ValueError(
                f"{name} must hold integer class labels; got dtype {t.dtype}"
            )
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,); got shape {tuple(t.shape)}")
    if n is not None and t.shape[0] != n:
        raise ValueError(
            f"{name} must have {n} labels, one per input; got {t.shape[0]}"
        )
    t = t.long()
    if t.numel():
        low, high = (int(v) for v in torch.stack(torch.aminmax(t)).tolist())  # one read
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"{name} must hold labels in [0, {num_classes}); got values in "
                f"[{low}, {high}]"
            )
    return t if device is None else t.to(device)


def as_labels(y: Any, name: str = "y", *, n: int | None = None) -> torch.Tensor:
    """Return ``y`` as a 1-D int64 tensor of class indices >= 0, the number of classes
    not known in advance (``check_labels`` checks against a known one).

    Parameters
    ----------
    y : array-like or torch.Tensor
        Class labels: integers, or floats with integer values (``1.0``); NaN, ``1.5``
        and negative values are refused.
    name : str
        The argument's name, used in error messages.
    n : int, optional
        The number of labels expected (the batch size).

    Returns
    -------
    (N,) int64 tensor
        On ``y``'s device (the CPU for arrays and lists).

    Raises
    ------
    TypeError
        If ``y`` is not numeric.
    ValueError
        If ``y`` is not 1-D and non-empty, has the wrong length, or holds a value that
        is not a class index.
    """
    if isinstance(y, torch.Tensor):
        t = y.detach()
    else:
        arr = np.asarray(y)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
        ):
            raise TypeError(
                f"{name} must hold integer class labels; got an array of dtype "
                f"{arr.dtype}"
            )
        t = torch.from_numpy(np.array(arr))
    if t.dtype == torch.bool or t.dtype.is_complex:
        raise ValueError(f"{name} must hold integer class labels; got dtype {t.dtype}")
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,); got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    if n is not None and t.shape[0] != n:
        raise ValueError(
            f"{name} must have {n} labels, one per input; got {t.shape[0]}"
        )
    if t.dtype.is_floating_point:
        if not all_finite(t):
            raise ValueError(f"{name} must hold integer class labels; got NaN or inf")
        if not bool((t == t.round()).all()):
            raise ValueError(
                f"{name} must hold integer class labels; got non-integer values such "
                f"as {float(t[t != t.round()][0])}"
            )
    t = t.long()
    if int(t.min()) < 0:
        raise ValueError(
            f"{name} must hold class labels >= 0; got the value {int(t.min())}"
        )
    return t


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, requiring ``value >= minimum`` when given.

    Parameters
    ----------
    value : int, NumPy integer or one-element integer tensor
        The number to check (bool and float are rejected).
    name : str
        The argument's name, used in error messages.
    minimum : int, optional
        The smallest value accepted.
    """
    if (
        isinstance(value, torch.Tensor)
        and value.numel() == 1
        and not value.dtype.is_floating_point
    ):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``.

    Parameters
    ----------
    value : str
        The choice to check.
    name : str
        The argument's name, used in error messages.
    choices : iterable of str
        The accepted values.
    """
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}"
        )
    return value


class RandomStateError(TypeError, ValueError):
    """A ``random_state`` of the wrong kind: a ``TypeError`` by statlearn's rule and a
    ``ValueError`` as scikit-learn's ``check_random_state`` raises it (as NumPy's
    ``AxisError`` is both a ``ValueError`` and an ``IndexError``)."""


def as_generator(
    random_state: Any,
    name: str = "random_state",
    *,
    device: torch.device | str | None = None,
    none_is_global: bool = False,
) -> torch.Generator | None:
    """The one randomness rule: a ``torch.Generator`` from any ``random_state``.

    Every statlearn routine that draws random numbers takes ``random_state`` and turns
    it into a generator here.

    Parameters
    ----------
    random_state : None, int, np.random.RandomState or Generator, or torch.Generator
        ``None`` seeds a new generator from torch's global CPU generator (so
        ``statlearn.seed_everything`` controls it, and so does
        ``fit(random_state=...)``, which forks that generator for the run); an int
        in [0, 2**63) seeds a new generator; a NumPy ``RandomState`` or
        ``Generator`` is advanced by one draw, which seeds the new generator
        (fitting twice with one instance gives two different starts, as in
        scikit-learn); a ``torch.Generator`` on ``device`` is
        returned as it is (its state advances as the routine draws), and one on
        another device is advanced by one draw that seeds a new generator on
        ``device``.
    name : str
        The argument's name, used in error messages.
    device : torch.device or str, optional
        Where the generator must live (the device the routine draws on). Default: the
        CPU. Routines that draw on the CPU and move the numbers give the same results
        for a seed on every device; their docstrings say so.
    none_is_global : bool
        With ``random_state=None``, return ``None``: the routine then draws from
        torch's own default generator on its device (what ``torch.randn(...)`` uses),
        which ``seed_everything`` and ``fit(random_state=...)`` set too. For routines
        that draw in every step of a loop (attacks' random starts, the noise of
        randomized smoothing), so that no generator is made per call.

    Returns
    -------
    torch.Generator or None

    Raises
    ------
    RandomStateError
        A ``TypeError`` and ``ValueError``, if ``random_state`` is none of the above.
    """
    if random_state is None and none_is_global:
        return None
    dev = torch.device("cpu") if device is None else torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    if isinstance(random_state, torch.Generator):
        if _same_device(random_state.device, dev):
            return random_state
        seed = int(
            torch.randint(
                0, 2**62, (1,), generator=random_state, device=random_state.device
            ).item()
        )
    elif random_state is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    elif isinstance(random_state, np.random.RandomState):
        seed = int(random_state.randint(0, 2**31 - 1))
    elif isinstance(random_state, np.random.Generator):
        seed = int(random_state.integers(0, 2**63 - 1))
    elif isinstance(random_state, (int, np.integer)) and not isinstance(
        random_state, bool
    ):
        seed = check_int(random_state, name, minimum=0)
        if seed >= 2**63:
            raise ValueError(f"{name} must be below 2**63; got {seed}")
    else:
        raise RandomStateError(
            f"{name} must be an int, None, a torch.Generator or a NumPy "
            f"RandomState/Generator; {random_state!r} cannot be used to seed one"
        )
    return torch.Generator(device=dev).manual_seed(seed)


def accepts_keyword(fn: Any, name: str) -> bool:
    """Whether a callable (a function, a ``functools.partial`` of one, any callable)
    takes a keyword argument ``name``; ``False`` where no signature can be read.

    Parameters
    ----------
    fn : callable
        The callable.
    name : str
        The keyword's name.

    Returns
    -------
    bool
    """
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins and some C callables have none
        return False


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.type != "cuda":
        return True
    ia = a.index if a.index is not None else torch.cuda.current_device()
    ib = b.index if b.index is not None else torch.cuda.current_device()
    return ia == ib


@contextlib.contextmanager
def seeded(random_state: Any, name: str = "random_state") -> Iterator[None]:
    """Run a block under torch's global generators seeded from ``random_state``.

    The block's draws from torch's default generators (``torch.randn``, dropout, the
    ``random_state=None`` of every statlearn routine) repeat for a given seed, on the
    CPU and on every CUDA device; the caller's global random state is restored on exit.
    With ``random_state=None`` nothing is forked: the block follows the global state
    (``statlearn.seed_everything``).

    Parameters
    ----------
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        As in :func:`as_generator`.
    name : str
        The argument's name, used in error messages.
    """
    if random_state is None:
        yield
        return
    g = as_generator(random_state, name)
    seed = int(torch.randint(0, 2**62, (1,), generator=g).item())
    devices = (
        list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    )
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
