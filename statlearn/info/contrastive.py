r"""Contrastive representation learning and its compressive form, C-SimCLR (chapter 9).

SimCLR (Chen, Kornblith, Norouzi and Hinton, 2020) trains an encoder so that two
random augmentations x^(1), x^(2) of one image land close together on the unit sphere
and far from the other images of the batch: the NT-Xent loss :func:`simclr_nt_xent`,
an InfoNCE bound (chapter 6, :func:`statlearn.info.estimators.infonce`) with the
2B - 1 other views of a batch as candidates.

C-SimCLR (Lee, Arnab, Guadarrama, Canny and Fischer, 2021) adds the conditional
entropy bottleneck (CEB) of Fischer (2020): a stochastic forward encoder
e(z | x^(1)) = vMF(z; μ(x^(1)), κ_e) and a backward encoder
b(z | x^(2)) = vMF(z; μ(x^(2)), κ_b), von Mises-Fisher distributions on the sphere with
fixed concentrations and one mean network μ (the book writes q_φ for e and r for b).
The loss is

.. math::

    \text{loss} = \text{contrastive} + \beta \cdot \text{residual information},

where the contrastive term is the NT-Xent of a sample z ~ e(z | x) against the
backward means with temperature 1/κ_b, and the residual information
E[log e(z | x^(1)) - log b(z | x^(2))] (:func:`residual_information`) is the CEB's
variational upper bound on I(X^(1); Z | X^(2)). A learned κ would need the gradient
correction of Davidson et al. (2018); with fixed κ none is needed. Samples are exact
(Wood's rejection algorithm, :func:`vmf_sample`) and reparameterised through a
Householder reflection.

One mechanism makes the two views: the loss :func:`csimclr_loss` draws both views of
the batch itself with an :class:`Augment` (random pixel shifts, erasing, Gaussian
noise), so plain :func:`statlearn.training.fit` trains with it on unlabelled images,
``fit(model, x, objective=functools.partial(csimclr_loss, augment=aug, beta=0.1))``;
the views and the samples are drawn on the batch's device, and
``fit(..., random_state=...)`` repeats a run.

The von Mises-Fisher normaliser log C_d(κ) and mean resultant length A_d(κ) are
computed in log space at any dimension and concentration (a power series for small κ,
Debye's uniform asymptotic expansion for large orders, Hankel's expansion for large κ,
SciPy's scaled Bessel functions in between): accurate to about 1e-14 relative for
d up to 4096 and κ from 1e-6 to 1e12, where the plain Bessel functions underflow or
overflow.

Inputs: images are pixels in [0, 1] (:class:`Augment`, :func:`gaussian_noise` and
:func:`csimclr_loss` reject other values rather than clip them), points z lie on the
unit sphere, and mean directions are nonzero (normalised here). NumPy in gives
tensors out: every function that takes arrays accepts NumPy arrays, lists or tensors
and returns tensors; the functions of κ and d alone (:func:`vmf_log_normalizer`,
:func:`vmf_mean_resultant_length`) return Python floats.

Log-densities are in nats; the losses and every information quantity are in **bits**.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any, NamedTuple, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from statlearn._checks import (
    as_generator,
    as_tensor,
    check_int,
    check_positive,
    check_probability,
    to_model,
)
from statlearn.functional import log_softmax_at

__all__ = [
    "random_shift",
    "random_erase",
    "gaussian_noise",
    "Augment",
    "vmf_log_normalizer",
    "vmf_mean_resultant_length",
    "vmf_log_prob",
    "vmf_sample",
    "vmf_kl",
    "nt_xent",
    "simclr_nt_xent",
    "residual_information",
    "ContrastiveNet",
    "ContrastiveLoss",
    "csimclr_loss",
]

_LN2 = math.log(2.0)

# --------------------------------------------------------------------------------------
# Augmentations of small images
# --------------------------------------------------------------------------------------


def _images(x: Any, name: str = "x") -> Tensor:
    return as_tensor(x, name=name, ndim=4)


_PIXEL_ATOL = 1e-6  # as statlearn._checks.check_unit_interval


def _value_range(x: Tensor) -> Tensor:
    """``[min, max]`` of ``x`` as a float32 tensor on its device (no host read yet);
    NaN or infinite when any value is."""
    return torch.stack(torch.aminmax(x.detach())).float()


def _check_range(lo: float, hi: float, name: str, *, pixels: bool = True) -> None:
    """Raise unless ``[lo, hi]`` (from :func:`_value_range`) is finite and, for
    ``pixels``, inside [0, 1]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} must not contain NaN or infinite values")
    if pixels and not (lo >= -_PIXEL_ATOL and hi <= 1 + _PIXEL_ATOL):
        raise ValueError(
            f"{name} must lie in [0, 1] (pixel space; scale the images first); got "
            f"values in [{lo:.4g}, {hi:.4g}]"
        )


def _pixels(x: Any, name: str = "x") -> Tensor:
    """``x`` as a batch ``(N, ...)`` of pixels in [0, 1]: one host read checks range
    and finiteness."""
    x = as_tensor(x, name=name, allow_nonfinite=True, min_ndim=2)
    _check_range(*_value_range(x).tolist(), name)
    return x


def random_shift(x: Any, max_shift: int = 1, *, random_state: Any = None) -> Tensor:
    """Shift each image by a random whole number of pixels, filling with zeros.

    The shifts along rows and columns are drawn independently and uniformly from
    ``{-max_shift, ..., max_shift}`` for each image.

    Parameters
    ----------
    x : (N, C, H, W) array or tensor
        Images (background 0, as for the digits).
    max_shift : int
        The largest shift in pixels, ``>= 0``.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md). Draws on ``x``'s device.

    Returns
    -------
    (N, C, H, W) tensor
        On ``x``'s device, in its dtype.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D or ``max_shift < 0``.
    """
    x = _images(x)
    m = check_int(max_shift, "max_shift", minimum=0)
    return _shift(x, m, as_generator(random_state, device=x.device))


def _shift(x: Tensor, m: int, g: torch.Generator) -> Tensor:
    if m == 0:
        return x.clone()
    n, _, h, w = x.shape
    shifts = torch.randint(-m, m + 1, (n, 2), generator=g, device=x.device)
    padded = F.pad(x, (m, m, m, m))
    rows = torch.arange(h, device=x.device)[None, :] + m - shifts[:, :1]  # (N, H)
    cols = torch.arange(w, device=x.device)[None, :] + m - shifts[:, 1:]  # (N, W)
    idx = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def random_erase(
    x: Any, size: int = 3, p: float = 0.5, *, random_state: Any = None
) -> Tensor:
    """Set a random ``size x size`` square of each image to zero with probability
    ``p``.

    The square lies wholly inside the image, at a position drawn uniformly; all channels
    are erased.

    Parameters
    ----------
    x : (N, C, H, W) array or tensor
        Images.
    size : int
        Side of the square, ``1 <= size <= min(H, W)``.
    p : float
        Probability that an image is erased, in [0, 1].
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md). Draws on ``x``'s device.

    Returns
    -------
    (N, C, H, W) tensor

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, ``size`` does not fit the image or ``p`` is outside [0, 1].
    """
    x = _images(x)
    _, _, h, w = x.shape
    size = check_int(size, "size", minimum=1)
    if size > min(h, w):
        raise ValueError(f"size must be <= min(H, W) = {min(h, w)}; got {size}")
    p = check_probability(p, "p", open_interval=False)
    return _erase(x, size, p, as_generator(random_state, device=x.device))


def _erase(x: Tensor, size: int, p: float, g: torch.Generator) -> Tensor:
    n, _, h, w = x.shape
    dev = x.device
    apply = torch.rand(n, generator=g, device=dev) < p
    top = torch.randint(0, h - size + 1, (n,), generator=g, device=dev)
    left = torch.randint(0, w - size + 1, (n,), generator=g, device=dev)
    r = torch.arange(h, device=dev)[None, :]
    c = torch.arange(w, device=dev)[None, :]
    in_rows = (r >= top[:, None]) & (r < top[:, None] + size)  # (N, H)
    in_cols = (c >= left[:, None]) & (c < left[:, None] + size)  # (N, W)
    mask = in_rows[:, :, None] & in_cols[:, None, :] & apply[:, None, None]
    return x.masked_fill(mask[:, None, :, :], 0.0)


def gaussian_noise(
    x: Any, sigma: float = 0.1, *, clip: bool = True, random_state: Any = None
) -> Tensor:
    """Add Gaussian noise ``sigma * xi``, ``xi ~ N(0, I)``, to every pixel.

    Parameters
    ----------
    x : (N, ...) array or tensor
        Images or flat inputs, pixels in [0, 1] (any finite values with
        ``clip=False``).
    sigma : float
        Standard deviation of the noise, ``>= 0``.
    clip : bool
        Clip the result to [0, 1] (stay in pixel space); ``x`` must then be pixels.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md). Draws on ``x``'s device.

    Returns
    -------
    tensor of ``x``'s shape

    Raises
    ------
    ValueError
        If ``x`` is not a batch (at least 2-D), ``sigma < 0``, ``x`` holds NaN or
        infinite values, or ``clip`` is true and ``x`` has values outside [0, 1]
        (clipping would change them silently).
    """
    x = _pixels(x) if clip else as_tensor(x, name="x", min_ndim=2)
    sigma = check_positive(sigma, "sigma", strict=False)
    return _noise(x, sigma, bool(clip), as_generator(random_state, device=x.device))


def _noise(x: Tensor, sigma: float, clip: bool, g: torch.Generator) -> Tensor:
    xi = torch.randn(x.shape, generator=g, dtype=x.dtype, device=x.device)
    out = x + sigma * xi
    return out.clamp(0.0, 1.0) if clip else out


class Augment:
    """A random augmentation a ~ A of a batch of small images: shift, erase, add noise.

    Applied in that order, each image independently. Flat inputs ``(N, C*H*W)`` are
    reshaped to ``image_shape`` and returned flat again, so the digits can stay
    ``(N, 64)`` vectors.

    Parameters
    ----------
    max_shift : int
        Largest pixel shift (:func:`random_shift`); 0 disables it.
    erase_size : int
        Side of the erased square (:func:`random_erase`).
    erase_p : float
        Probability of erasing; 0 disables it.
    noise_sigma : float
        Standard deviation of the Gaussian noise (:func:`gaussian_noise`); 0 disables
        it.
    image_shape : tuple of int
        ``(C, H, W)`` of flat inputs.

    Examples
    --------
    >>> aug = Augment(max_shift=1, erase_size=3, erase_p=0.5, noise_sigma=0.1)
    >>> g = torch.Generator().manual_seed(0)  # doctest: +SKIP
    >>> x1, x2 = aug(x, random_state=g), aug(x, random_state=g)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        max_shift: int = 1,
        erase_size: int = 3,
        erase_p: float = 0.5,
        noise_sigma: float = 0.1,
        image_shape: Sequence[int] = (1, 8, 8),
    ) -> None:
        self.max_shift = check_int(max_shift, "max_shift", minimum=0)
        self.erase_size = check_int(erase_size, "erase_size", minimum=1)
        self.erase_p = check_probability(erase_p, "erase_p", open_interval=False)
        self.noise_sigma = check_positive(noise_sigma, "noise_sigma", strict=False)
        shape = tuple(check_int(k, "image_shape entry", minimum=1) for k in image_shape)
        if len(shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W); got {tuple(image_shape)}")
        self.image_shape = shape

    def __repr__(self) -> str:
        return (
            f"Augment(max_shift={self.max_shift}, erase_size={self.erase_size}, "
            f"erase_p={self.erase_p}, noise_sigma={self.noise_sigma}, "
            f"image_shape={self.image_shape})"
        )

    def __call__(self, x: Any, *, random_state: Any = None) -> Tensor:
        """One random view of each image.

        Parameters
        ----------
        x : (N, C, H, W) or (N, C*H*W) array or tensor
            Pixels in [0, 1].
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws on ``x``'s device;
            one generator serves the shift, the erasing and the noise.

        Returns
        -------
        tensor of ``x``'s shape

        Raises
        ------
        ValueError
            If ``x`` has neither shape, holds NaN or infinite values, or has values
            outside [0, 1].
        """
        x = _pixels(x)
        return self._view(x, as_generator(random_state, device=x.device))

    def _view(self, x: Tensor, g: torch.Generator) -> Tensor:
        """One view of a validated batch, drawn from ``g`` (on ``x``'s device)."""
        flat = x.ndim == 2
        if flat:
            size = math.prod(self.image_shape)
            if x.shape[1] != size:
                raise ValueError(
                    f"flat x must have C*H*W = {size} features for image_shape "
                    f"{self.image_shape}; got shape {tuple(x.shape)}"
                )
            x = x.reshape(-1, *self.image_shape)
        elif x.ndim != 4:
            raise ValueError(
                f"x must be (N, C, H, W) or (N, C*H*W); got shape {tuple(x.shape)}"
            )
        if self.max_shift > 0:
            x = _shift(x, self.max_shift, g)
        if self.erase_p > 0:
            size = self.erase_size
            if size > min(x.shape[2], x.shape[3]):
                raise ValueError(
                    f"erase_size must be <= min(H, W) = {min(x.shape[2:])}; got {size}"
                )
            x = _erase(x, size, self.erase_p, g)
        if self.noise_sigma > 0:
            x = _noise(x, self.noise_sigma, True, g)
        return x.reshape(x.shape[0], -1) if flat else x


# --------------------------------------------------------------------------------------
# The von Mises-Fisher distribution on the unit sphere S^(d-1) in R^d
# --------------------------------------------------------------------------------------


def _check_kappa_dim(kappa: Any, dim: Any) -> tuple[float, int]:
    return check_positive(kappa, "kappa"), check_int(dim, "dim", minimum=2)


# Modified Bessel functions I_nu(kappa) in log space. Each region uses a method that is
# accurate to about 1e-14 there (checked against mpmath for d <= 4096, 1e-6 <= kappa
# <= 1e12 in tests/test_vmf.py):
# - kappa^2 / 4 <= nu + 1: the power series, all terms positive, at most ~20 of them;
# - nu >= _NU_DEBYE: Debye's uniform asymptotic expansion (DLMF 10.41.3), which holds
#   for every kappa, with _DEBYE_TERMS terms (error below 1e-14 relative);
# - small nu, kappa >= _KAPPA_HANKEL: Hankel's large-argument expansion (DLMF 10.40.1);
# - small nu in between: SciPy's exponentially scaled ive, which neither underflows nor
#   overflows there.
_NU_DEBYE = 20.0
_DEBYE_TERMS = 10
_KAPPA_HANKEL = 1e6


def _debye_polynomials(n: int) -> tuple[tuple[float, ...], ...]:
    """Coefficients (in powers of p) of Debye's polynomials U_0, ..., U_n, from
    U_(k+1)(p) = p^2 (1 - p^2) U_k'(p) / 2 + 1/8 ∫_0^p (1 - 5t^2) U_k(t) dt
    (DLMF 10.41.10), in exact fractions."""
    polys = [[Fraction(1)]]
    for _ in range(n):
        u = polys[-1]
        new = [Fraction(0)] * (len(u) + 3)
        for i, c in enumerate(u):
            new[i + 1] += i * c / 2 + c / (8 * (i + 1))
            new[i + 3] -= i * c / 2 + 5 * c / (8 * (i + 3))
        polys.append(new)
    return tuple(tuple(float(c) for c in p) for p in polys)


_DEBYE_U = _debye_polynomials(_DEBYE_TERMS)


def _power_series(nu: float, q: float) -> float:
    """sum_k q^k / (k! (nu + 1)_k), so that I_nu(κ) = (κ/2)^nu / Γ(nu + 1) times it at
    q = κ²/4; for q <= nu + 1 the k-th term is at most 1/k!."""
    total = term = 1.0
    k = 0
    while term > 1e-17 * total:
        k += 1
        term *= q / (k * (nu + k))
        total += term
    return total


def _debye_sum(nu: float, p: float) -> float:
    """sum_k U_k(p) / nu^k, the correction factor of Debye's expansion."""
    total = 0.0
    for coeffs in reversed(_DEBYE_U):
        u = 0.0
        for c in reversed(coeffs):
            u = u * p + c
        total = total / nu + u
    return total


def _hankel_sum(nu: float, kappa: float) -> float:
    """sum_k (-1)^k a_k(nu) / κ^k, with I_nu(κ) ~ e^κ / sqrt(2πκ) times it."""
    mu = 4 * nu * nu
    total = term = 1.0
    for k in range(1, 40):
        term *= ((2 * k - 1) ** 2 - mu) / (8 * k * kappa)
        total += term
        if abs(term) <= 1e-17 * abs(total):
            break
    return total


@lru_cache(maxsize=1024)
def _log_kappa_power_over_bessel(nu: float, kappa: float) -> float:
    """log(κ^nu / I_nu(κ)), the part of log C_d(κ) that depends on κ, without
    cancellation."""
    if kappa * kappa / 4 <= nu + 1:
        series = _power_series(nu, kappa * kappa / 4)
        return nu * math.log(2.0) + math.lgamma(nu + 1) - math.log(series)
    if nu >= _NU_DEBYE:
        # I_nu(κ) ~ e^(r + nu log(κ / (nu + r))) / sqrt(2π r) * sum U_k(nu/r) / nu^k
        r = math.hypot(nu, kappa)
        return (
            nu * math.log(nu + r)
            - r
            + 0.5 * math.log(2 * math.pi * r)
            - math.log(_debye_sum(nu, nu / r))
        )
    if kappa >= _KAPPA_HANKEL:
        return (
            nu * math.log(kappa)
            - kappa
            + 0.5 * math.log(2 * math.pi * kappa)
            - math.log(_hankel_sum(nu, kappa))
        )
    from scipy.special import ive

    return nu * math.log(kappa) - kappa - math.log(float(ive(nu, kappa)))


@lru_cache(maxsize=1024)
def _bessel_ratio(nu: float, kappa: float) -> float:
    """I_(nu+1)(κ) / I_nu(κ), computed as a ratio (never from two large logs)."""
    q = kappa * kappa / 4
    if q <= nu + 1:
        return kappa / (2 * (nu + 1)) * _power_series(nu + 1, q) / _power_series(nu, q)
    if nu >= _NU_DEBYE:
        # the difference of the two Debye exponents, each term written without
        # cancellation (r1 - r0 and log(κ / (nu + 1 + r1)) are tiny for large κ)
        r0, r1 = math.hypot(nu, kappa), math.hypot(nu + 1, kappa)
        dr = (2 * nu + 1) / (r0 + r1)  # r1 - r0
        log_k = -math.log1p((nu + 1 + (nu + 1) ** 2 / (r1 + kappa)) / kappa)
        corr = _debye_sum(nu + 1, (nu + 1) / r1) / _debye_sum(nu, nu / r0)
        return math.exp(
            dr
            + log_k
            - nu * math.log1p((1 + dr) / (nu + r0))
            - 0.5 * math.log1p(dr / r0)
            + math.log(corr)
        )
    if kappa >= _KAPPA_HANKEL:
        return _hankel_sum(nu + 1, kappa) / _hankel_sum(nu, kappa)
    from scipy.special import ive

    return float(ive(nu + 1, kappa) / ive(nu, kappa))


def vmf_log_normalizer(kappa: float, dim: int) -> float:
    """log C_d(κ), the log-normaliser of the von Mises-Fisher density, in nats.

        vMF(z; μ, κ) = C_d(κ) exp(κ μᵀz),
        C_d(κ) = κ^(d/2 - 1) / ((2π)^(d/2) I_(d/2 - 1)(κ)),

    with I_v the modified Bessel function of the first kind, computed in log space so
    that it neither underflows (large d, small κ) nor overflows (large κ).

    Parameters
    ----------
    kappa : float
        The concentration, ``> 0``.
    dim : int
        The dimension d of the ambient space, ``>= 2`` (the sphere is S^(d-1)).

    Returns
    -------
    float
        Accurate to about 1e-14 relative for d up to 4096 and κ from 1e-6 to 1e12.

    Raises
    ------
    ValueError
        If ``kappa <= 0`` or ``dim < 2``.
    """
    return _log_normalizer(*_check_kappa_dim(kappa, dim))


def _log_normalizer(kappa: float, dim: int) -> float:
    nu = dim / 2 - 1
    return _log_kappa_power_over_bessel(nu, kappa) - dim / 2 * math.log(2 * math.pi)


def vmf_mean_resultant_length(kappa: float, dim: int) -> float:
    """A_d(κ) = I_(d/2)(κ) / I_(d/2 - 1)(κ) = E[μᵀz] under vMF(μ, κ).

    Computed as a ratio (a power series, Debye's or Hankel's expansion, or SciPy's
    scaled Bessel functions, by region), so that it stays accurate where the Bessel
    functions themselves underflow or overflow.

    Parameters
    ----------
    kappa : float
        The concentration, ``> 0``.
    dim : int
        The dimension d, ``>= 2``.

    Returns
    -------
    float in (0, 1)
        About κ/d for small κ and 1 - (d - 1)/(2κ) for large κ; accurate to about
        1e-14 relative for d up to 4096 and κ from 1e-6 to 1e12.

    Raises
    ------
    ValueError
        If ``kappa <= 0`` or ``dim < 2``.
    """
    kappa, dim = _check_kappa_dim(kappa, dim)
    return _bessel_ratio(dim / 2 - 1, kappa)


def _sphere_atol(dtype: torch.dtype) -> float:
    """How far from 1 a row norm may be for a point "on the unit sphere": 1e-6 in
    float64 (which admits float32 unit vectors cast up), 1e-4 in float32, 1e-2 in
    16-bit floats."""
    return {torch.float64: 1e-6, torch.float32: 1e-4}.get(dtype, 1e-2)


def _unit(mu: Any, name: str = "mu") -> Tensor:
    """Validated (N, d) mean directions with nonzero rows, normalised to unit length."""
    t = as_tensor(mu, name=name, ndim=2)
    if t.shape[1] < 2:
        raise ValueError(f"{name} must have d >= 2 columns; got shape {tuple(t.shape)}")
    scale = t.abs().amax(dim=1, keepdim=True)  # first to 1, so tiny rows stay exact
    if not float(scale.detach().min()) > 0:
        row = int(torch.nonzero(scale[:, 0] == 0)[0, 0])
        raise ValueError(
            f"{name} must hold mean directions, rows of nonzero length; row {row} is "
            "zero"
        )
    t = t / scale
    return t / torch.linalg.vector_norm(t, dim=1, keepdim=True)


def _check_on_sphere(z: Tensor, name: str = "z") -> None:
    """Raise unless every row of ``z`` has norm 1 (within :func:`_sphere_atol`)."""
    shortest, longest = _value_range(torch.linalg.vector_norm(z, dim=1)).tolist()
    tol = _sphere_atol(z.dtype)
    if not (abs(shortest - 1) <= tol and abs(longest - 1) <= tol):
        raise ValueError(
            f"{name} must lie on the unit sphere (rows of norm 1 within {tol:g} in "
            f"{z.dtype}; normalise it, e.g. torch.nn.functional.normalize(z, dim=1)); "
            f"got row norms in [{shortest:.6g}, {longest:.6g}]"
        )


def vmf_log_prob(z: Any, mu: Any, kappa: float) -> Tensor:
    """log vMF(z; μ, κ) = log C_d(κ) + κ μᵀz, in nats, row by row.

    Parameters
    ----------
    z : (N, d) tensor
        Points on the unit sphere: each row of norm 1, within 1e-4 in float32 and 1e-6
        in float64 (the density is zero off the sphere, so other points are an error).
    mu : (N, d) or (1, d) tensor
        Mean directions, rows of nonzero length (normalised here to unit length).
    kappa : float
        The concentration, ``> 0``.

    Returns
    -------
    (N,) tensor
        In ``z``'s dtype; differentiable in ``z`` and ``mu``.

    Raises
    ------
    ValueError
        If the shapes disagree, ``z`` is off the unit sphere, a row of ``mu`` is zero
        or ``kappa <= 0``.
    """
    z = as_tensor(z, name="z", ndim=2)
    mu = _unit(mu).to(z.device, z.dtype)
    if mu.shape[1] != z.shape[1] or mu.shape[0] not in (1, z.shape[0]):
        raise ValueError(
            f"mu must be (N, d) or (1, d) for z of shape {tuple(z.shape)}; got "
            f"{tuple(mu.shape)}"
        )
    kappa, _ = _check_kappa_dim(kappa, z.shape[1])
    _check_on_sphere(z)
    return _vmf_log_prob(z, mu, kappa)


def _vmf_log_prob(z: Tensor, mu: Tensor, kappa: float) -> Tensor:
    """:func:`vmf_log_prob` for unit ``mu`` on ``z``'s device and a valid ``kappa``."""
    return _log_normalizer(kappa, z.shape[1]) + kappa * (mu * z).sum(dim=1)


def _wood_w(
    n: int, kappa: float, dim: int, g: torch.Generator, dtype
) -> tuple[Tensor, Tensor]:
    """The component w = μᵀz of n vMF samples by Wood's (1994) rejection sampler, and
    sqrt(1 - w^2), drawn on ``g``'s device.

    Wood's quantities x0 = (1 - b)/(1 + b), 1 - x0^2, 1 - x0 w and 1 - w^2 all cancel
    catastrophically when κ is large (x0 and w round to 1); they are written here in
    terms of b and the Beta draw, without subtraction of nearly equal numbers:
    with D = 1 - (1 - b) β,

        w - x0 = 2b (1 - 2β) / ((1 + b) D),   1 - x0 w = 2b / ((1 + b) D),
        1 - w^2 = 4b β (1 - β) / D^2,

    so Wood's test κ w + (d - 1) log(1 - x0 w) - c >= log u, with
    c = κ x0 + (d - 1) log(1 - x0^2), reads
    κ (w - x0) + (d - 1) (log1p(b) - log 2 - log D) >= log u.
    """
    dev = g.device
    d1 = dim - 1
    b = d1 / (2 * kappa + math.hypot(2 * kappa, d1))  # stable form
    scale = 2 * kappa * b / (1 + b)  # κ (w - x0) = scale (1 - 2β) / D
    shift = d1 * (math.log1p(b) - math.log(2.0))
    w = torch.empty(n, dtype=dtype, device=dev)
    s = torch.empty(n, dtype=dtype, device=dev)
    todo = torch.arange(n, device=dev)
    while todo.numel():  # one host sync per round; most rows pass in the first
        k = todo.numel()
        # Beta(d1/2, d1/2) as a ratio of two chi-square(d1) draws
        a = torch.randn(k, d1, generator=g, dtype=dtype, device=dev).square().sum(1)
        a2 = torch.randn(k, d1, generator=g, dtype=dtype, device=dev).square().sum(1)
        beta, beta_c = a / (a + a2), a2 / (a + a2)  # β and 1 - β
        u = torch.rand(k, generator=g, dtype=dtype, device=dev)
        den = 1 - (1 - b) * beta
        cand = (1 - (1 + b) * beta) / den
        ok = scale * (beta_c - beta) / den + shift - d1 * torch.log(den) >= torch.log(u)
        w[todo[ok]] = cand[ok]
        s[todo[ok]] = (2 * torch.sqrt(b * beta * beta_c) / den)[ok]
        todo = todo[~ok]
    return w, s


def vmf_sample(mu: Any, kappa: float, *, random_state: Any = None) -> Tensor:
    """One exact sample z ~ vMF(μ_i, κ) per row, reparameterised in ``mu``.

    Wood's algorithm draws w = μᵀz by rejection and a uniform direction v orthogonal to
    e_1, giving y = (w, sqrt(1 - w^2) v) ~ vMF(e_1, κ); a Householder reflection H(μ)
    that maps e_1 to μ turns it into z = H(μ) y ~ vMF(μ, κ). With κ fixed, y does not
    depend on any parameter, so z is a differentiable function of μ and independent
    noise: the pathwise (reparameterisation) gradient is exact and unbiased. (Learning
    κ as well would need a correction for the rejection step.) The sampler stays exact
    at any κ: its quantities near 1 are computed without cancellation.

    Parameters
    ----------
    mu : (N, d) tensor
        Mean directions, rows of nonzero length (normalised here to unit length),
        d >= 2.
    kappa : float
        The concentration, ``> 0``, the same for every row.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md). Draws on ``mu``'s device
        (in float64, float32 on MPS).

    Returns
    -------
    (N, d) tensor
        Unit vectors on ``mu``'s device and in its dtype; differentiable in ``mu``.

    Raises
    ------
    ValueError
        If ``mu`` is not 2-D with d >= 2, a row of ``mu`` is zero, or ``kappa <= 0``.
    """
    mu = _unit(mu)
    kappa = check_positive(kappa, "kappa")
    return _vmf_sample(mu, kappa, as_generator(random_state, device=mu.device))


def _vmf_sample(mu: Tensor, kappa: float, g: torch.Generator) -> Tensor:
    """:func:`vmf_sample` for unit rows ``mu`` and a generator on ``mu``'s device."""
    n, d = mu.shape
    dtype = torch.float32 if mu.device.type == "mps" else torch.float64
    w, s = _wood_w(n, kappa, d, g, dtype)
    v = torch.randn(n, d - 1, generator=g, dtype=dtype, device=mu.device)
    v = F.normalize(v, dim=1)
    y = torch.cat([w[:, None], s[:, None] * v], 1)
    y = y.to(mu.dtype)
    e1 = torch.zeros_like(mu)
    e1[:, 0] = 1.0
    u = e1 - mu
    uu = (u * u).sum(1, keepdim=True)
    reflected = y - 2 * u * (u * y).sum(1, keepdim=True) / uu.clamp_min(1e-12)
    return torch.where(uu > 1e-12, reflected, y)


def vmf_kl(mu_e: Any, kappa_e: float, mu_b: Any, kappa_b: float) -> Tensor:
    """KL(vMF(μ_e, κ_e) ‖ vMF(μ_b, κ_b)) in closed form, in bits, row by row.

        KL = log C_d(κ_e) - log C_d(κ_b) + A_d(κ_e) (κ_e - κ_b μ_bᵀμ_e)   (nats),

    the exact value of the residual information E[log e(z | x) - log b(z | x^(2))] for
    one pair of means. Its minimum over μ_b, at μ_b = μ_e, is the floor that no
    encoder can go below when κ_e ≠ κ_b.

    Parameters
    ----------
    mu_e : (N, d) tensor
        Forward means, rows of nonzero length (normalised here).
    kappa_e : float
        Forward concentration, ``> 0``.
    mu_b : (N, d) tensor
        Backward means, rows of nonzero length (normalised here).
    kappa_b : float
        Backward concentration, ``> 0``.

    Returns
    -------
    (N,) tensor
        In ``mu_e``'s dtype; differentiable in ``mu_e`` and ``mu_b``.

    Raises
    ------
    ValueError
        If the shapes disagree, a row of ``mu_e`` or ``mu_b`` is zero, or a
        concentration is not positive.
    """
    mu_e, mu_b = _unit(mu_e, "mu_e"), _unit(mu_b, "mu_b")
    if mu_e.shape != mu_b.shape:
        raise ValueError(
            f"mu_e and mu_b must have the same shape; got {tuple(mu_e.shape)} and "
            f"{tuple(mu_b.shape)}"
        )
    kappa_e = check_positive(kappa_e, "kappa_e")
    kappa_b = check_positive(kappa_b, "kappa_b")
    d = mu_e.shape[1]
    a = _bessel_ratio(d / 2 - 1, kappa_e)
    const = _log_normalizer(kappa_e, d) - _log_normalizer(kappa_b, d)
    cos = (mu_e * mu_b.to(mu_e.device, mu_e.dtype)).sum(1)
    return (const + a * (kappa_e - kappa_b * cos)) / _LN2


# --------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------


def nt_xent(scores: Any) -> Tensor:
    """SimCLR's NT-Xent loss on the score matrix of 2B views, in bits.

    Rows and columns are the views ``[x^(1)_1, ..., x^(1)_B, x^(2)_1, ..., x^(2)_B]``.
    Each view i is an anchor whose positive is the other view of its image (column
    ``i + B`` or ``i - B``) and whose negatives are the 2B - 2 other views; its own
    column (self-similarity) is masked. The loss is the mean over the 2B anchors of
    -log_2 softmax at the positive: the InfoNCE of chapter 6 with 2B - 1 candidates
    (the same core, :func:`statlearn.functional.log_softmax_at`).

    Parameters
    ----------
    scores : (2B, 2B) tensor
        ``scores[i, j]`` scores view ``j`` for anchor ``i`` (e.g. a cosine similarity
        divided by the temperature).

    Returns
    -------
    () tensor
        Differentiable in ``scores``.

    Raises
    ------
    ValueError
        If ``scores`` is not square with an even size >= 2.
    """
    s = as_tensor(scores, name="scores", ndim=2)
    n = s.shape[0]
    if s.shape[1] != n or n < 2 or n % 2:
        raise ValueError(
            "scores must be a square (2B, 2B) matrix of two views of B >= 1 images; "
            f"got shape {tuple(s.shape)}"
        )
    return _nt_xent(s)


def _nt_xent(s: Tensor) -> Tensor:
    """:func:`nt_xent` of a validated ``(2B, 2B)`` score matrix."""
    n = s.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=s.device)
    positives = (torch.arange(n, device=s.device) + n // 2) % n
    scores = s.masked_fill(eye, float("-inf"))
    return -log_softmax_at(scores, positives, check_input=False).mean() / _LN2


def simclr_nt_xent(z1: Any, z2: Any, temperature: float = 0.1) -> Tensor:
    """The NT-Xent loss of SimCLR for two views, in bits (a building block; the
    objective for :func:`statlearn.training.fit` is :func:`csimclr_loss` with
    ``sample=False``).

    Rows are normalised to the unit sphere, scored by cosine similarity over the
    temperature τ, ``s_ij = z_iᵀz_j / τ``, for all 2B views, and passed to
    :func:`nt_xent`.

    Parameters
    ----------
    z1 : (B, d) tensor
        Embeddings of the first views.
    z2 : (B, d) tensor
        Embeddings of the second views (row i is the same image as row i of ``z1``).
    temperature : float
        τ > 0.

    Returns
    -------
    () tensor
        Differentiable in ``z1`` and ``z2``.

    Raises
    ------
    ValueError
        If ``z1`` and ``z2`` differ in shape or ``temperature <= 0``.
    """
    z1 = as_tensor(z1, name="z1", ndim=2)
    z2 = as_tensor(z2, name="z2", ndim=2)
    if z1.shape != z2.shape:
        raise ValueError(
            f"z1 and z2 must have the same shape (B, d); got {tuple(z1.shape)} and "
            f"{tuple(z2.shape)}"
        )
    tau = check_positive(temperature, "temperature")
    z = F.normalize(torch.cat([z1, z2.to(z1.device, z1.dtype)]), dim=1)
    return _nt_xent(z @ z.T / tau)


def residual_information(
    z: Any, mu_e: Any, mu_b: Any, kappa_e: float, kappa_b: float
) -> Tensor:
    """Monte Carlo estimate of the residual information, in bits.

    With z_i ~ e(z | x_i) = vMF(μ_e,i, κ_e) and b(z | x^(2)_i) = vMF(μ_b,i, κ_b), the
    estimate of E[log e(z | x) - log b(z | x^(2))] is
    1/N Σ_i [log e(z_i | x_i) - log b(z_i | x^(2)_i)] / ln 2. Its expectation is the
    KL of :func:`vmf_kl`, a variational upper bound on I(X; Z | X^(2)). Two identical
    encoders give exactly zero.

    Parameters
    ----------
    z : (N, d) tensor
        Samples of the forward encoder, one per row, on the unit sphere (as in
        :func:`vmf_log_prob`).
    mu_e : (N, d) tensor
        Forward means μ(x_i), rows of nonzero length (normalised here).
    mu_b : (N, d) tensor
        Backward means μ(x^(2)_i) of the paired views (normalised here).
    kappa_e : float
        Forward concentration, ``> 0``.
    kappa_b : float
        Backward concentration, ``> 0``.

    Returns
    -------
    () tensor
        Differentiable in ``z``, ``mu_e`` and ``mu_b``.

    Raises
    ------
    ValueError
        If the shapes disagree, ``z`` is off the unit sphere, a mean is zero or a
        concentration is not positive.
    """
    z = as_tensor(z, name="z", ndim=2)
    mu_e = _unit(mu_e, "mu_e").to(z.device, z.dtype)
    mu_b = _unit(mu_b, "mu_b").to(z.device, z.dtype)
    if mu_b.shape != z.shape:
        raise ValueError(
            f"mu_b must have z's shape {tuple(z.shape)}; got {tuple(mu_b.shape)}"
        )
    if mu_e.shape[1] != z.shape[1] or mu_e.shape[0] not in (1, z.shape[0]):
        raise ValueError(
            f"mu_e must be (N, d) or (1, d) for z of shape {tuple(z.shape)}; got "
            f"{tuple(mu_e.shape)}"
        )
    kappa_e = check_positive(kappa_e, "kappa_e")
    kappa_b = check_positive(kappa_b, "kappa_b")
    _check_on_sphere(z)
    return _residual(z, mu_e, mu_b, kappa_e, kappa_b)


def _residual(
    z: Tensor, mu_e: Tensor, mu_b: Tensor, kappa_e: float, kappa_b: float
) -> Tensor:
    """:func:`residual_information` for validated unit means."""
    log_e = _vmf_log_prob(z, mu_e, kappa_e)
    log_b = _vmf_log_prob(z, mu_b, kappa_b)
    return (log_e - log_b).mean() / _LN2


class ContrastiveNet(nn.Module):
    """The encoder f and projection head g of SimCLR, with unit-norm outputs.

    ``represent(x)`` is the representation h = f(x) (the input of a linear probe);
    ``forward(x)`` is the mean direction μ(x) = g(h) / ‖g(h)‖ on the unit sphere
    S^(d-1), shared by the forward and backward encoders of C-SimCLR.

    Parameters
    ----------
    in_features : int
        Input size after flattening (64 for the 8x8 digits).
    hidden : sequence of int
        Hidden widths of the encoder f.
    rep_dim : int
        Size of the representation h.
    head_hidden : sequence of int
        Hidden widths of the head g (which starts with a ReLU on h).
    latent_dim : int
        d, the size of z; the sphere is S^(d-1). At least 2.
    """

    def __init__(
        self,
        in_features: int,
        *,
        hidden: Sequence[int] = (256,),
        rep_dim: int = 128,
        head_hidden: Sequence[int] = (128,),
        latent_dim: int = 16,
    ) -> None:
        from statlearn.nets import mlp

        super().__init__()
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.rep_dim = check_int(rep_dim, "rep_dim", minimum=1)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=2)
        self.encoder = mlp(self.in_features, self.rep_dim, tuple(hidden))
        self.head = nn.Sequential(
            nn.ReLU(), mlp(self.rep_dim, self.latent_dim, tuple(head_hidden))
        )

    def represent(self, x: Any) -> Tensor:
        """The representation h = f(x).

        Parameters
        ----------
        x : (N, in_features) or (N, C, H, W) array or tensor

        Returns
        -------
        (N, rep_dim) tensor
        """
        return self.encoder(to_model(x, self, name="x", min_ndim=2))

    def forward(self, x: Any) -> Tensor:
        """The mean direction μ(x) on the unit sphere.

        Parameters
        ----------
        x : (N, in_features) or (N, C, H, W) array or tensor

        Returns
        -------
        (N, latent_dim) tensor
            Unit rows.
        """
        return self._direction(to_model(x, self, name="x", min_ndim=2))

    def _direction(self, x: Tensor) -> Tensor:
        """μ(x) for a validated batch on the model's device and dtype."""
        return F.normalize(self.head(self.encoder(x)), dim=1)


class ContrastiveLoss(NamedTuple):
    """One batch of (C-)SimCLR, in bits: ``total = contrastive + beta * residual``.

    Attributes
    ----------
    total : tensor
        The quantity minimised.
    contrastive : tensor
        The NT-Xent term.
    residual : tensor
        The residual information (measured, not trained, when ``beta = 0``).
    """

    total: Tensor
    contrastive: Tensor
    residual: Tensor
    units = "bits"


def csimclr_loss(
    model: nn.Module,
    x: Any,
    *,
    augment: Augment,
    beta: float = 0.0,
    kappa_e: float = 256.0,
    kappa_b: float = 10.0,
    sample: bool = True,
    random_state: Any = None,
) -> ContrastiveLoss:
    """The C-SimCLR loss of a batch, drawing its two views itself; SimCLR with
    ``sample=False``.

    Two views x^(1), x^(2) of the B images come from ``augment``; μ = ``model`` maps
    all 2B views to the sphere. With ``sample=True`` each view's code is a sample
    z ~ e(z | x) = vMF(μ(x), κ_e) (:func:`vmf_sample`); with ``sample=False`` it is
    μ(x) itself (plain SimCLR). Then

    * ``contrastive`` = NT-Xent (:func:`nt_xent`) of the scores κ_b μ(x_j)ᵀ z_i:
      log b(z_i | x_j) up to a constant, so that b(z | x^(2)) is the critic and the
      temperature is τ = 1/κ_b;
    * ``residual`` = :func:`residual_information` of z_i against its own view's
      forward mean and the other view's backward mean, averaged over both directions
      (with ``sample=False`` a sample is still drawn to measure it);
    * ``total`` = ``contrastive + beta * residual``.

    Use with :func:`statlearn.training.fit` on unlabelled images through
    ``functools.partial(csimclr_loss, augment=..., beta=...)``; with the default
    ``random_state=None`` the draws follow torch's global generator, so
    ``fit(..., random_state=...)`` repeats the run. The views and samples are drawn on
    the batch's device. One host read per call checks the batch (finite, and pixels in
    [0, 1] for an :class:`Augment`) and the model's output (unit rows), after the
    forward pass, so that a GPU waits only once.

    Parameters
    ----------
    model : nn.Module
        Maps ``(N, ...)`` inputs to ``(N, d)`` unit vectors (rows of norm 1 within 1e-4
        in float32, 1e-6 in float64), e.g. :class:`ContrastiveNet`; the contrastive
        temperature 1/κ_b holds only on the sphere.
    x : (B, ...) tensor
        A batch of images, B >= 1 (cast to the model's dtype and device); pixels in
        [0, 1] when ``augment`` is an :class:`Augment`, finite values for a callable.
    augment : Augment or callable
        Draws one random view of a batch: an :class:`Augment`, or any callable
        ``augment(x, random_state=g)`` that draws from the torch generator ``g``.
    beta : float
        Weight of the residual information, ``>= 0``.
    kappa_e : float
        Concentration of the forward encoder, ``> 0``.
    kappa_b : float
        Concentration of the backward encoder (1 / temperature), ``> 0``.
    sample : bool
        Contrast samples z ~ e(z | x) (C-SimCLR) or the means μ(x) (SimCLR).
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md). The source of the views and
        the samples, drawn on the model's device from one generator.

    Returns
    -------
    ContrastiveLoss
        ``total``, ``contrastive`` and ``residual``, in bits.

    Raises
    ------
    ValueError
        If ``beta < 0``, a concentration is not positive, ``sample=False`` with
        ``beta > 0`` (the penalty needs the stochastic encoder), ``x`` holds NaN or
        infinite values or (with an :class:`Augment`) values outside [0, 1], or the
        model's output rows are not unit vectors.
    TypeError
        If ``augment`` is not callable.
    FloatingPointError
        If the model's output holds NaN or infinite values for a finite batch (the
        training diverged).
    """
    if not callable(augment):
        raise TypeError(f"augment must be callable; got {type(augment).__name__}")
    beta = check_positive(beta, "beta", strict=False)
    kappa_e = check_positive(kappa_e, "kappa_e")
    kappa_b = check_positive(kappa_b, "kappa_b")
    if not sample and beta > 0:
        raise ValueError(
            f"beta > 0 needs the stochastic encoder (sample=True); got beta={beta}"
        )
    x = to_model(x, model, name="x", allow_nonfinite=True, min_ndim=2)
    x_range = _value_range(x)  # read below, with the model's output
    g = as_generator(random_state, device=x.device)
    b = x.shape[0]
    pixels = isinstance(augment, Augment)
    if pixels:
        views = torch.cat([augment._view(x, g), augment._view(x, g)])
    else:
        views = torch.cat([augment(x, random_state=g), augment(x, random_state=g)])
    if isinstance(model, ContrastiveNet):
        mu = model._direction(views)  # (2B, d); the views need no second check
    else:
        mu = model(views)
    if mu.ndim != 2 or mu.shape[0] != 2 * b or mu.shape[1] < 2:
        raise ValueError(
            f"the model must map 2B = {2 * b} views to (2B, d) with d >= 2; got "
            f"{tuple(mu.shape)}"
        )
    norm_range = _value_range(torch.linalg.vector_norm(mu.detach(), dim=1))
    # the one host read: the batch's range and the model's row norms together
    lo, hi, shortest, longest = torch.cat([x_range, norm_range]).tolist()
    _check_range(lo, hi, "x", pixels=pixels)
    if not (math.isfinite(shortest) and math.isfinite(longest)):
        raise FloatingPointError(
            "the model's output holds NaN or infinite values for a finite batch; "
            "lower lr or check the model"
        )
    tol = _sphere_atol(mu.dtype)
    if not (abs(shortest - 1) <= tol and abs(longest - 1) <= tol):
        raise ValueError(
            "the model must map each input to the unit sphere (rows of norm 1 within "
            f"{tol:g} in {mu.dtype}), e.g. ContrastiveNet, whose forward normalises; "
            f"got row norms in [{shortest:.6g}, {longest:.6g}]"
        )
    unit = F.normalize(mu, dim=1)
    z = _vmf_sample(unit, kappa_e, g)
    code = z if sample else mu
    contrastive = _nt_xent(kappa_b * code @ mu.T)
    partner = torch.cat([unit[b:], unit[:b]])  # the other view's (backward) mean
    if beta > 0:
        residual = _residual(z, unit, partner, kappa_e, kappa_b)
        return ContrastiveLoss(contrastive + beta * residual, contrastive, residual)
    with torch.no_grad():  # measured, not trained
        residual = _residual(z, unit, partner, kappa_e, kappa_b)
    return ContrastiveLoss(contrastive, contrastive, residual)
