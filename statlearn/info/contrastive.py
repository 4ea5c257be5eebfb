"""Contrastive representation learning and its compressive form, C-SimCLR (chapter 9).

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

    loss = contrastive + β * residual information,

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

Log-densities are in nats; the losses and every information quantity are in **bits**.
"""

from __future__ import annotations

import math
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
        Images or flat inputs, pixels in [0, 1].
    sigma : float
        Standard deviation of the noise, ``>= 0``.
    clip : bool
        Clip the result to [0, 1] (stay in pixel space).
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md). Draws on ``x``'s device.

    Returns
    -------
    tensor of ``x``'s shape

    Raises
    ------
    ValueError
        If ``sigma < 0``.
    """
    x = as_tensor(x, name="x")
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
            If ``x`` has neither shape, or holds NaN or infinite values.
        """
        x = as_tensor(x, name="x")
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


def vmf_log_normalizer(kappa: float, dim: int) -> float:
    """log C_d(κ), the log-normaliser of the von Mises-Fisher density, in nats.

        vMF(z; μ, κ) = C_d(κ) exp(κ μᵀz),
        C_d(κ) = κ^(d/2 - 1) / ((2π)^(d/2) I_(d/2 - 1)(κ)),

    with I_v the modified Bessel function of the first kind (computed exponentially
    scaled, so that large κ does not overflow).

    Parameters
    ----------
    kappa : float
        The concentration, ``> 0``.
    dim : int
        The dimension d of the ambient space, ``>= 2`` (the sphere is S^(d-1)).

    Returns
    -------
    float
    """
    return _log_normalizer(*_check_kappa_dim(kappa, dim))


def _log_normalizer(kappa: float, dim: int) -> float:
    from scipy.special import ive

    v = dim / 2 - 1
    log_bessel = math.log(float(ive(v, kappa))) + kappa
    return v * math.log(kappa) - dim / 2 * math.log(2 * math.pi) - log_bessel


def vmf_mean_resultant_length(kappa: float, dim: int) -> float:
    """A_d(κ) = I_(d/2)(κ) / I_(d/2 - 1)(κ) = E[μᵀz] under vMF(μ, κ).

    Parameters
    ----------
    kappa : float
        The concentration, ``> 0``.
    dim : int
        The dimension d, ``>= 2``.

    Returns
    -------
    float in (0, 1)
    """
    from scipy.special import ive

    kappa, dim = _check_kappa_dim(kappa, dim)
    return float(ive(dim / 2, kappa) / ive(dim / 2 - 1, kappa))


def _unit(mu: Any, name: str = "mu") -> Tensor:
    t = as_tensor(mu, name=name, ndim=2)
    if t.shape[1] < 2:
        raise ValueError(f"{name} must have d >= 2 columns; got shape {tuple(t.shape)}")
    return F.normalize(t, dim=1)


def vmf_log_prob(z: Any, mu: Any, kappa: float) -> Tensor:
    """log vMF(z; μ, κ) = log C_d(κ) + κ μᵀz, in nats, row by row.

    Parameters
    ----------
    z : (N, d) tensor
        Points on the unit sphere.
    mu : (N, d) or (1, d) tensor
        Mean directions (normalised here to unit length).
    kappa : float
        The concentration, ``> 0``.

    Returns
    -------
    (N,) tensor
        Differentiable in ``z`` and ``mu``.

    Raises
    ------
    ValueError
        If the shapes disagree or ``kappa <= 0``.
    """
    z = as_tensor(z, name="z", ndim=2)
    mu = _unit(mu).to(z.device, z.dtype)
    if mu.shape[1] != z.shape[1] or mu.shape[0] not in (1, z.shape[0]):
        raise ValueError(
            f"mu must be (N, d) or (1, d) for z of shape {tuple(z.shape)}; got "
            f"{tuple(mu.shape)}"
        )
    kappa, _ = _check_kappa_dim(kappa, z.shape[1])
    return _vmf_log_prob(z, mu, kappa)


def _vmf_log_prob(z: Tensor, mu: Tensor, kappa: float) -> Tensor:
    """:func:`vmf_log_prob` for unit ``mu`` on ``z``'s device and a valid ``kappa``."""
    return _log_normalizer(kappa, z.shape[1]) + kappa * (mu * z).sum(dim=1)


def _wood_w(n: int, kappa: float, dim: int, g: torch.Generator, dtype) -> Tensor:
    """The component w = μᵀz of n vMF samples by Wood's (1994) rejection sampler,
    drawn on ``g``'s device."""
    dev = g.device
    d1 = dim - 1
    b = d1 / (2 * kappa + math.sqrt(4 * kappa**2 + d1**2))  # stable form
    x0 = (1 - b) / (1 + b)
    c = kappa * x0 + d1 * math.log(1 - x0**2)
    w = torch.empty(n, dtype=dtype, device=dev)
    todo = torch.arange(n, device=dev)
    while todo.numel():  # one host sync per round; most rows pass in the first
        k = todo.numel()
        # Beta(d1/2, d1/2) as a ratio of two chi-square(d1) draws
        a = torch.randn(k, d1, generator=g, dtype=dtype, device=dev).square().sum(1)
        a2 = torch.randn(k, d1, generator=g, dtype=dtype, device=dev).square().sum(1)
        beta = a / (a + a2)
        u = torch.rand(k, generator=g, dtype=dtype, device=dev)
        cand = (1 - (1 + b) * beta) / (1 - (1 - b) * beta)
        ok = kappa * cand + d1 * torch.log(1 - x0 * cand) - c >= torch.log(u)
        w[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return w


def vmf_sample(mu: Any, kappa: float, *, random_state: Any = None) -> Tensor:
    """One exact sample z ~ vMF(μ_i, κ) per row, reparameterised in ``mu``.

    Wood's algorithm draws w = μᵀz by rejection and a uniform direction v orthogonal to
    e_1, giving y = (w, sqrt(1 - w^2) v) ~ vMF(e_1, κ); a Householder reflection H(μ)
    that maps e_1 to μ turns it into z = H(μ) y ~ vMF(μ, κ). With κ fixed, y does not
    depend on any parameter, so z is a differentiable function of μ and independent
    noise: the pathwise (reparameterisation) gradient is exact and unbiased. (Learning
    κ as well would need a correction for the rejection step.)

    Parameters
    ----------
    mu : (N, d) tensor
        Mean directions (normalised here to unit length), d >= 2.
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
        If ``mu`` is not 2-D with d >= 2 or ``kappa <= 0``.
    """
    mu = _unit(mu)
    kappa = check_positive(kappa, "kappa")
    return _vmf_sample(mu, kappa, as_generator(random_state, device=mu.device))


def _vmf_sample(mu: Tensor, kappa: float, g: torch.Generator) -> Tensor:
    """:func:`vmf_sample` for unit rows ``mu`` and a generator on ``mu``'s device."""
    n, d = mu.shape
    dtype = torch.float32 if mu.device.type == "mps" else torch.float64
    w = _wood_w(n, kappa, d, g, dtype)
    v = torch.randn(n, d - 1, generator=g, dtype=dtype, device=mu.device)
    v = F.normalize(v, dim=1)
    y = torch.cat([w[:, None], torch.sqrt((1 - w**2).clamp_min(0))[:, None] * v], 1)
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
        Forward means (normalised here).
    kappa_e : float
        Forward concentration, ``> 0``.
    mu_b : (N, d) tensor
        Backward means (normalised here).
    kappa_b : float
        Backward concentration, ``> 0``.

    Returns
    -------
    (N,) tensor
    """
    mu_e, mu_b = _unit(mu_e, "mu_e"), _unit(mu_b, "mu_b")
    if mu_e.shape != mu_b.shape:
        raise ValueError(
            f"mu_e and mu_b must have the same shape; got {tuple(mu_e.shape)} and "
            f"{tuple(mu_b.shape)}"
        )
    d = mu_e.shape[1]
    a = vmf_mean_resultant_length(kappa_e, d)
    const = vmf_log_normalizer(kappa_e, d) - vmf_log_normalizer(kappa_b, d)
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
    return -log_softmax_at(s.masked_fill(eye, float("-inf")), positives).mean() / _LN2


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
        Samples of the forward encoder, one per row.
    mu_e : (N, d) tensor
        Forward means μ(x_i).
    mu_b : (N, d) tensor
        Backward means μ(x^(2)_i) of the paired views.
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
        If the shapes disagree or a concentration is not positive.
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
        return self.encoder(to_model(x, self, name="x"))

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
        return self._direction(to_model(x, self, name="x"))

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
    ``fit(..., random_state=...)`` repeats the run. The batch is checked once (finite
    values); the views and samples are drawn on its device.

    Parameters
    ----------
    model : nn.Module
        Maps ``(N, ...)`` inputs to ``(N, d)`` unit vectors, e.g.
        :class:`ContrastiveNet`.
    x : (B, ...) tensor
        A batch of images, B >= 1 (cast to the model's dtype and device).
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
        If ``beta < 0``, a concentration is not positive, or ``sample=False`` with
        ``beta > 0`` (the penalty needs the stochastic encoder).
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
    x = to_model(x, model, name="x")  # the one finiteness check
    g = as_generator(random_state, device=x.device)
    b = x.shape[0]
    if isinstance(augment, Augment):
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
