r"""Robust generalization in the Gaussian model, in closed form (chapter 18).

The data model of Schmidt, Santurkar, Tsipras, Talwar and Madry, *Adversarially Robust
Generalization Requires More Data* (NeurIPS 2018): a label ``y`` uniform on {-1, +1}
and an input

.. math::

    x \sim \N(y\, \theta, \sigma^2 I) \quad \text{in } \R^D.

A linear classifier ``sign(w . x)`` errs on ``(x, y)`` when ``y w . x <= 0``. Since
``y w . x ~ N(w . theta, sigma^2 ||w||_2^2)``, its standard error is

.. math::

    \Phi\Big(-\frac{w^\top \theta}{\sigma \lVert w \rVert_2}\Big).

An adversary with budget ``eps`` in an l_p norm lowers ``y w . x`` by at most
``eps ||w||_q`` (q the dual exponent: ||w||_1 against l_inf, ||w||_2 against l_2),
attained at ``delta = -y eps sign(w)`` for l_inf, so the robust error is

.. math::

    \Phi\Big(\frac{\epsilon \lVert w \rVert_q - w^\top \theta}
    {\sigma \lVert w \rVert_2}\Big).

The averaging learner ``w = (1/n) sum_i y_i x_i`` is distributed exactly as
``theta + (sigma / sqrt(n)) g`` with ``g ~ N(0, I)``, so a sweep over n and D samples
``w`` from that sufficient statistic instead of drawing n points. Everything is batched
over draws of ``w``; ``samples_needed`` reuses one draw of ``g`` for every n it tries
(common random numbers), which makes its answer monotone in ``eps`` and in the target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from statlearn._checks import (
    as_generator,
    as_tensor,
    check_choice,
    check_device,
    check_int,
    check_positive,
    check_probability,
)

__all__ = [
    "sample_gaussian_model",
    "averaging_learner",
    "sample_averaging_learner",
    "linear_standard_error",
    "linear_robust_error",
    "samples_needed",
]

_DUAL = {"linf": 1.0, "l2": 2.0}


def _check_theta(theta: Any, device: Any = None) -> Tensor:
    """``theta`` as a finite 1-d float64 tensor with at least one entry."""
    t = as_tensor(theta, name="theta")  # rejects NaN and infinities
    if t.ndim != 1 or t.shape[0] < 1:
        raise ValueError(
            f"theta must be a (D,) vector with D >= 1; got {tuple(t.shape)}"
        )
    t = t.to(torch.float64)
    return t if device is None else t.to(check_device(device))


def _check_sigma(sigma: Any) -> float:
    return check_positive(sigma, "sigma")


def _check_eps(eps: Any) -> float:
    return check_positive(eps, "eps", strict=False)


def _check_norm(norm: str) -> str:
    return check_choice(norm, "norm", _DUAL)


def sample_gaussian_model(
    n: int,
    theta: Any,
    sigma: float,
    *,
    random_state: Any = None,
) -> tuple[Tensor, Tensor]:
    """Draw ``n`` labelled points from the Gaussian model.

    Parameters
    ----------
    n : int
        Number of points, >= 1.
    theta : (D,) array or tensor
        The class mean theta* (the book's chapter 18 uses the all-ones vector).
    sigma : float
        The noise standard deviation, > 0.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        The draw; see statlearn's randomness rule (CONTRIBUTING.md). Draws on the CPU
        and moves the result to ``theta``'s device, so that a seed gives the same data
        on every device.

    Returns
    -------
    x : (n, D) float64 tensor
        ``y theta + sigma xi`` with ``xi ~ N(0, I)``, on ``theta``'s device.
    y : (n,) int64 tensor
        Labels in {-1, +1}, each with probability 1/2.

    Raises
    ------
    ValueError
        If ``n < 1``, ``theta`` is not a non-empty finite vector or ``sigma <= 0``.
    """
    n = check_int(n, "n", minimum=1)
    theta = _check_theta(theta)
    sigma = _check_sigma(sigma)
    gen = as_generator(random_state)
    y = 2 * torch.randint(0, 2, (n,), generator=gen) - 1
    xi = torch.randn(n, theta.shape[0], generator=gen, dtype=torch.float64)
    x = y[:, None].to(torch.float64) * theta.cpu() + sigma * xi
    return x.to(theta.device), y.to(theta.device)


def averaging_learner(x: Any, y: Any) -> Tensor:
    """The averaging learner ``w = (1/n) sum_i y_i x_i``.

    Parameters
    ----------
    x : (n, D) array or tensor
        Inputs.
    y : (n,) array or tensor
        Labels in {-1, +1}.

    Returns
    -------
    (D,) tensor
        The weight vector, in ``x``'s floating dtype and on its device.

    Raises
    ------
    ValueError
        If the shapes disagree or a label is not -1 or +1.
    """
    x = as_tensor(x, name="x")
    y = as_tensor(y, name="y", device=x.device)
    if x.ndim != 2 or y.ndim != 1 or y.shape[0] != x.shape[0] or x.shape[0] < 1:
        raise ValueError(
            f"x must be (n, D) and y (n,) with n >= 1; got {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )
    if not bool(((y == 1) | (y == -1)).all()):
        raise ValueError("labels y must be -1 or +1")
    return (y.to(x.dtype)[:, None] * x).mean(dim=0)


def sample_averaging_learner(
    n: int,
    theta: Any,
    sigma: float,
    *,
    draws: int = 1,
    random_state: Any = None,
) -> Tensor:
    """Draws of the averaging learner trained on ``n`` points, from its sufficient
    statistic: ``w = theta + (sigma / sqrt(n)) g`` with ``g ~ N(0, I)``.

    This has exactly the distribution of :func:`averaging_learner` applied to ``n``
    points of :func:`sample_gaussian_model`, at the cost of one Gaussian vector per draw
    whatever ``n`` is.

    Parameters
    ----------
    n : int
        Training-set size, >= 1.
    theta : (D,) array or tensor
        The class mean theta*.
    sigma : float
        The noise standard deviation, > 0.
    draws : int
        Independent training sets, >= 1.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        The draw; see statlearn's randomness rule (CONTRIBUTING.md). Draws on the CPU
        and moves the result to ``theta``'s device, so that a seed gives the same
        weights on every device.

    Returns
    -------
    (draws, D) float64 tensor
        One weight vector per row, on ``theta``'s device.

    Raises
    ------
    ValueError
        If ``n < 1``, ``draws < 1``, ``theta`` is not a non-empty finite vector or
        ``sigma <= 0``.
    """
    n = check_int(n, "n", minimum=1)
    draws = check_int(draws, "draws", minimum=1)
    theta = _check_theta(theta)
    sigma = _check_sigma(sigma)
    gen = as_generator(random_state)
    g = torch.randn(draws, theta.shape[0], generator=gen, dtype=torch.float64)
    return theta + (sigma / math.sqrt(n)) * g.to(theta.device)


def _normal_cdf(t: Tensor) -> Tensor:
    return 0.5 * torch.erfc(-t / math.sqrt(2.0))


def _check_w(w: Any, theta: Tensor) -> Tensor:
    w = as_tensor(w, name="w", device=theta.device).to(torch.float64)
    if w.ndim < 1 or w.shape[-1] != theta.shape[0]:
        raise ValueError(
            f"w must be (..., D) with D = {theta.shape[0]}; got {tuple(w.shape)}"
        )
    scale = w.abs().amax(dim=-1, keepdim=True)
    if bool((scale == 0).any()):
        raise ValueError("w must not be the zero vector")
    # the errors depend on the direction of w only: dividing each row by its largest
    # entry keeps its norms and w . theta away from underflow and overflow
    # (1e-170 * ones squared is 0 in float64, 1e160 * ones squared is inf)
    return w / scale


def linear_standard_error(w: Any, theta: Any, sigma: float) -> Tensor:
    """The exact standard error of ``sign(w . x)`` in the Gaussian model:
    ``Phi(-w . theta / (sigma ||w||_2))``.

    Parameters
    ----------
    w : (..., D) array or tensor
        One weight vector per leading index (e.g. one per draw).
    theta : (D,) array or tensor
        The class mean theta*.
    sigma : float
        The noise standard deviation, > 0.

    Returns
    -------
    (...) float64 tensor
        The probability of misclassifying a fresh point, per weight vector.

    Raises
    ------
    ValueError
        If the shapes disagree, ``w`` has a zero row or ``sigma <= 0``.
    """
    return linear_robust_error(w, theta, sigma, 0.0)


def linear_robust_error(
    w: Any, theta: Any, sigma: float, eps: float, norm: str = "linf"
) -> Tensor:
    """The exact robust error of ``sign(w . x)`` against perturbations with
    ``||delta|| <= eps`` in the ``norm`` ball:
    ``Phi((eps ||w||_q - w . theta) / (sigma ||w||_2))``, ``q`` the dual exponent.

    The worst perturbation is ``-y eps sign(w)`` for ``linf`` (it lowers the margin
    ``y w . x`` by ``eps ||w||_1``) and ``-y eps w / ||w||_2`` for ``l2`` (by
    ``eps ||w||_2``). At ``eps = 0`` this is the standard error.

    Parameters
    ----------
    w : (..., D) array or tensor
        One weight vector per leading index.
    theta : (D,) array or tensor
        The class mean theta*.
    sigma : float
        The noise standard deviation, > 0.
    eps : float
        The budget, >= 0.
    norm : {"linf", "l2"}
        The threat model.

    Returns
    -------
    (...) float64 tensor
        The probability that some perturbation in the ball flips a fresh point's
        prediction away from its label, per weight vector.

    Raises
    ------
    ValueError
        If the shapes disagree, ``w`` has a zero row, ``sigma <= 0``, ``eps < 0`` or
        ``norm`` is unknown.
    """
    theta = _check_theta(theta)
    w = _check_w(w, theta)
    sigma = _check_sigma(sigma)
    eps = _check_eps(eps)
    q = _DUAL[_check_norm(norm)]
    l2 = torch.linalg.vector_norm(w, ord=2, dim=-1)
    shift = eps * torch.linalg.vector_norm(w, ord=q, dim=-1) if eps > 0 else 0.0
    return _normal_cdf((shift - w @ theta) / (sigma * l2))


def _as_list(value: Any, k: int, name: str) -> list[float]:
    """A scalar broadcast to ``k`` entries, or a sequence of ``k`` entries."""
    if isinstance(value, str):
        raise TypeError(f"{name} must be a number or a sequence; got str {value!r}")
    if isinstance(value, (Sequence, np.ndarray, Tensor)):
        values = list(value.tolist() if isinstance(value, Tensor) else value)
        if len(values) != k:
            raise ValueError(
                f"{name} must have one entry per dimension ({k}); got {len(values)}"
            )
        return values
    return [value] * k


def samples_needed(
    dim: int | Sequence[int],
    sigma: float | Sequence[float],
    eps: float,
    target: float,
    robust: bool = True,
    *,
    norm: str = "linf",
    draws: int = 100,
    n_max: int = 2**24,
    random_state: Any = None,
    device: Any = None,
) -> int | np.ndarray:
    """The smallest training-set size at which the averaging learner's mean error
    (over ``draws`` training sets) reaches ``target``, with theta* the all-ones vector.

    For each dimension D, one matrix ``g`` of standard normals is drawn and reused for
    every n tried (common random numbers): ``w_n = theta + (sigma / sqrt(n)) g``. The
    search doubles n until the mean error is at most ``target``, then bisects, which
    finds the smallest such n when the mean error falls with n (as it does in
    expectation). Because every n and every call with the same ``random_state`` sees
    the same ``g``, the answer is monotone in ``eps`` and in ``target``.

    Parameters
    ----------
    dim : int or sequence of int
        The input dimension D (>= 1), or several.
    sigma : float or sequence of float
        The noise standard deviation (> 0), or one per dimension.
    eps : float
        The budget, >= 0 (ignored when ``robust=False``).
    target : float
        The error to reach, in (0, 1).
    robust : bool
        Count the robust error (``True``) or the standard error.
    norm : {"linf", "l2"}
        The threat model of the robust error.
    draws : int
        Training sets averaged over, >= 1.
    n_max : int
        The largest n tried, >= 1.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        The matrices ``g``; see statlearn's randomness rule (CONTRIBUTING.md). Draws on
        the CPU and moves them to ``device``, so that a seed gives the same answer on
        every device. Pass the same int to calls that must share ``g`` (comparisons
        across ``eps`` or ``target``).
    device : str, torch.device or None
        Where to compute; the CPU by default.

    Returns
    -------
    int or (len(dim),) int ndarray
        The sample size per dimension: an int when ``dim`` is an int, else a NumPy
        array, whatever ``device`` is. A sample size is a count, not a computed
        quantity, so it is returned as Python and NumPy integers (a chapter plots it
        or prints it), unlike the errors above, which are tensors on ``theta``'s
        device.

    Raises
    ------
    TypeError
        If ``dim`` is neither an int nor a sequence of ints (a float such as 10.0
        included), or a setting has the wrong type.
    ValueError
        If an argument is out of range, or the target cannot be reached with ``n_max``
        samples (for example below the error of theta* itself, the limit as n grows:
        ``Phi(sqrt(D) (eps - 1) / sigma)`` for l_inf with all-ones theta*).
    """
    scalar = isinstance(dim, (int, np.integer)) and not isinstance(dim, bool)
    if not scalar and not isinstance(dim, (Sequence, np.ndarray, Tensor)):
        raise TypeError(
            f"dim must be an int or a sequence of ints; got {type(dim).__name__}"
        )
    if isinstance(dim, Tensor):
        dim = dim.tolist()
    dims = [check_int(d, "dim", minimum=1) for d in ([dim] if scalar else dim)]
    if not dims:
        raise ValueError("dim must hold at least one dimension; got none")
    sigmas = [_check_sigma(s) for s in _as_list(sigma, len(dims), "sigma")]
    eps = _check_eps(eps) if robust else 0.0
    target = check_probability(target, "target")
    norm = _check_norm(norm)
    draws = check_int(draws, "draws", minimum=1)
    n_max = check_int(n_max, "n_max", minimum=1)
    dev = check_device(device) if device is not None else torch.device("cpu")
    gen = as_generator(random_state)
    out = []
    for d, s in zip(dims, sigmas):
        theta = torch.ones(d, dtype=torch.float64, device=dev)
        g = torch.randn(draws, d, generator=gen, dtype=torch.float64).to(dev)

        def error(n: int, theta: Tensor = theta, g: Tensor = g, s: float = s) -> float:
            w = theta + (s / math.sqrt(n)) * g
            return linear_robust_error(w, theta, s, eps, norm).mean().item()

        if error(n_max) > target:
            raise ValueError(
                f"the mean error at D = {d} stays above {target} up to n_max = {n_max} "
                f"(it tends to {error(2**62):.3g} as n grows)"
            )
        hi = 1
        while hi < n_max and error(hi) > target:
            hi *= 2
        lo = hi // 2  # error(lo) > target, or lo = 0
        hi = min(hi, n_max)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if error(mid) > target:
                lo = mid
            else:
                hi = mid
        out.append(hi)
    return out[0] if scalar else np.asarray(out, dtype=np.int64)
