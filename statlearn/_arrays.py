"""Array in, same array out: the boundary between the caller's arrays and torch.

statlearn's classical estimators (:mod:`statlearn.latent.mixture`,
:mod:`statlearn.latent.hmm`) compute in torch but answer in the caller's array type, as
scikit-learn's array-API support does:

- NumPy arrays and lists in give NumPy arrays out (fitted attributes included), computed
  on the CPU unless ``device=`` says otherwise;
- a torch tensor in gives tensors out, on the tensor's own device.

:func:`to_torch` converts an input and records what came in; :func:`from_torch` converts
results back by that record.

Dtypes: float64 stays float64 and float32 stays float32. Integer and boolean input
becomes a float: float64 for NumPy arrays and lists (scikit-learn's rule for integer
data, so that counts and pixel values in 0..255 are represented exactly),
``torch.get_default_dtype()`` (float32 unless changed) for integer and boolean tensors
(torch's own promotion rule). ``dtype=`` overrides both.

Tensors that carry gradients (a network's output) are detached: a classical estimator
never builds an autograd graph, and nothing it stores or returns has a ``grad_fn``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

from statlearn._checks import check_device

__all__ = ["Namespace", "to_torch", "from_torch"]


class Namespace(NamedTuple):
    """What came in at the boundary, so that results can go back out in the same form.

    Attributes
    ----------
    kind : {"numpy", "torch"}
        ``"numpy"`` for NumPy arrays, lists and other array-likes; ``"torch"`` for
        tensors.
    device : torch.device
        For tensors, the input's device (results return there); for NumPy input, the
        CPU.
    dtype : torch.dtype
        The floating dtype the input was converted to.
    """

    kind: str
    device: torch.device
    dtype: torch.dtype

    @property
    def is_numpy(self) -> bool:
        """Whether results go back as NumPy arrays."""
        return self.kind == "numpy"


def _float_dtype(dtype: torch.dtype | None, name: str) -> torch.dtype | None:
    if dtype is not None and (
        not isinstance(dtype, torch.dtype) or not dtype.is_floating_point
    ):
        raise TypeError(
            f"dtype must be a floating torch dtype such as torch.float64; got {dtype!r}"
        )
    return dtype


def to_torch(
    X: Any,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    name: str = "X",
) -> tuple[torch.Tensor, Namespace]:
    """Convert an input to a detached floating tensor and record what came in.

    Parameters
    ----------
    X : array-like or torch.Tensor
        A NumPy array, a (nested) list, anything with ``__array__``, or a torch tensor.
        Tensors keep their device unless ``device`` is given; gradients are cut
        (``detach``).
    dtype : torch.dtype, optional
        The floating dtype to compute in. By default float64 and float32 are kept,
        integer and boolean NumPy input becomes float64 and integer and boolean tensors
        become ``torch.get_default_dtype()``; other floats (float16, bfloat16) become
        float32.
    device : torch.device or str, optional
        Where to compute. By default the CPU for NumPy input and the tensor's device for
        tensors.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    X : torch.Tensor
        Detached, floating, on the chosen device. A C-contiguous, writeable NumPy array
        of the target dtype on the CPU is shared, not copied.
    ns : Namespace
        What came in; give it to :func:`from_torch` to return results in the same form.

    Raises
    ------
    TypeError
        If ``X`` is a sparse matrix, holds strings or objects, or ``dtype`` is not a
        floating dtype.
    ValueError
        If ``X`` holds complex numbers.
    """
    dtype = _float_dtype(dtype, name)
    if device is not None:
        device = check_device(
            device
        )  # a clear ValueError for a device this machine lacks
    if isinstance(X, torch.Tensor):
        t = X.detach()
        if t.is_sparse or t.layout != torch.strided:
            raise TypeError(
                f"{name} must be a dense tensor; got layout {t.layout}. "
                f"Use {name}.to_dense()"
            )
        if t.is_complex():
            raise ValueError(f"{name} must be real; complex data is not supported")
        if dtype is None:
            dtype = (
                t.dtype
                if t.dtype in (torch.float32, torch.float64)
                else (
                    torch.float32
                    if t.dtype.is_floating_point
                    else torch.get_default_dtype()
                )
            )
        source = t.device
        t = t.to(device=device if device is not None else t.device, dtype=dtype)
        return t, Namespace("torch", source, dtype)
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{name} must be a dense array; got a sparse matrix ({type(X).__name__}). "
            f"Use {name}.toarray()"
        )
    try:
        arr = np.asarray(X)
    except Exception as exc:
        raise TypeError(f"{name} must be array-like; got {type(X).__name__}") from exc
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real; complex data is not supported")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric; got an array of dtype {arr.dtype}")
    if dtype is None:
        dtype = (
            torch.float32 if arr.dtype in (np.float32, np.float16) else torch.float64
        )
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    if dtype in (torch.float32, torch.float64):
        # one conversion in NumPy; a copy only when the layout, dtype or writeability
        # requires it
        arr = (
            np.ascontiguousarray(arr, dtype=np_dtype)
            if arr.ndim
            else np.asarray(arr, dtype=np_dtype)
        )
        if not arr.flags.writeable:
            arr = arr.copy()
        t = torch.from_numpy(arr)
    else:
        t = torch.from_numpy(np.array(arr, dtype=np.float64)).to(dtype)
    if device is not None:
        t = t.to(device)
    return t, Namespace("numpy", torch.device("cpu"), dtype)


def from_torch(result: Any, ns: Namespace) -> Any:
    """Return ``result`` in the form the input came in.

    Parameters
    ----------
    result : torch.Tensor, tuple, NamedTuple, list, dict or any other value
        Tensors, also inside (named) tuples, lists and dict values, are converted; other
        values (floats, ints, strings, None) are returned unchanged.
    ns : Namespace
        The record :func:`to_torch` returned for the input.

    Returns
    -------
    The same structure with every tensor as a NumPy array when NumPy came in, or as a
    detached tensor on the input's device when a tensor came in.
    """
    if isinstance(result, torch.Tensor):
        result = result.detach()
        if ns.kind == "numpy":
            return result.cpu().numpy()
        return result.to(ns.device)
    if isinstance(result, tuple) and hasattr(result, "_fields"):  # NamedTuple
        return type(result)(*(from_torch(r, ns) for r in result))
    if isinstance(result, (tuple, list)):
        return type(result)(from_torch(r, ns) for r in result)
    if isinstance(result, dict):
        return {k: from_torch(v, ns) for k, v in result.items()}
    return result
