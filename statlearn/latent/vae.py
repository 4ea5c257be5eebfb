"""Variational autoencoders (chapter 3, "Variational autoencoders").

Amortised variational inference for a latent-variable model ``p(z) p_theta(x | z)`` with
a Gaussian encoder ``q_phi(z | x) = N(mu_phi(x), diag(exp(logvar_phi(x))))`` and a
standard normal prior ``p(z) = N(0, I)``. Implements

* the auto-encoding variational Bayes estimator of the evidence lower bound (ELBO) with
  the reparameterisation trick (Kingma and Welling, 2014; Rezende, Mohamed and Wierstra,
  2014), split into its distortion and rate terms (Alemi et al., 2018);
* the importance-weighted bound (IWAE) of Burda, Grosse and Salakhutdinov (2016), used
  as a held-out log-likelihood estimate;
* beside the VAE, the deterministic autoencoder and the denoising autoencoder (Vincent,
  Larochelle, Bengio and Manzagol, 2008) of chapter 5, "Representation learning", built
  from the same MLP pieces: :class:`Autoencoder`, :func:`mlp_autoencoder`,
  :func:`corrupt`.

The Gaussian encoder pieces (:func:`gaussian_kl`, :func:`reparameterize`,
:class:`GaussianEncoder`) are shared with the deep variational information bottleneck of
Part II.

All log-likelihoods, ELBOs, distortions and rates returned here are in **nats** (natural
log); divide by ``ln 2`` for bits.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = [
    "gaussian_kl",
    "gaussian_kl_between",
    "reparameterize",
    "GaussianEncoder",
    "mlp_decoder",
    "mlp_vae",
    "ELBO",
    "VAELoss",
    "VAE",
    "AELoss",
    "Autoencoder",
    "corrupt",
    "mlp_autoencoder",
]

_LIKELIHOODS = ("bernoulli", "gaussian")


def _check_int(value: object, name: str, minimum: int) -> int:
    """Validate an integer hyperparameter (uniform messages via statlearn._checks)."""
    from statlearn._checks import check_int

    return check_int(value, name, minimum=minimum)


def _check_gaussian_params(mu: Tensor, logvar: Tensor) -> None:
    if not isinstance(mu, Tensor) or not isinstance(logvar, Tensor):
        raise TypeError(
            f"mu and logvar must be torch tensors; got {type(mu).__name__} and "
            f"{type(logvar).__name__}"
        )
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape (N, d); got {tuple(mu.shape)} and "
            f"{tuple(logvar.shape)}"
        )
    if mu.ndim < 1:
        raise ValueError(
            "mu must have at least one dimension (the latent dimension d); got shape "
            f"{tuple(mu.shape)}"
        )


# --------------------------------------------------------------------------------------
# Gaussian encoder pieces
# --------------------------------------------------------------------------------------


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    r"""KL divergence of a diagonal Gaussian from the standard normal, in closed form.

        KL (N(μ, diag(e^(log σ^2))) ‖ N(0, I)) = 1/2 Σ_(j=1)^d (μ_j^2 + σ_j^2 - 1 - log
        σ_j^2).

    Parameters
    ----------
    mu : (N, d) tensor
        Means of the encoder distributions.
    logvar : (N, d) tensor
        Log-variances (natural log) of the encoder distributions.

    Returns
    -------
    (N,) tensor
        The KL divergence of each row, in **nats**, summed over the ``d`` latent
        dimensions (for a single ``(d,)`` input, a scalar). Differentiable in ``mu`` and
        ``logvar``.
    """
    _check_gaussian_params(mu, logvar)
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def gaussian_kl_between(
    mu_q: Tensor, logvar_q: Tensor, mu_p: Tensor, logvar_p: Tensor
) -> Tensor:
    """KL divergence between two diagonal Gaussians, in closed form (nats).

        KL(N(μ_q, diag σ_q^2) ‖ N(μ_p, diag σ_p^2))
            = 1/2 Σ_j (log σ_p^2 / σ_q^2 + (σ_q^2 + (μ_q - μ_p)^2) / σ_p^2 - 1).

    Parameters
    ----------
    mu_q, logvar_q : (..., d) tensors
        Mean and natural-log variance of the first distribution.
    mu_p, logvar_p : (..., d) tensors
        Mean and natural-log variance of the second; broadcast against the first.

    Returns
    -------
    (...) tensor
        The divergence of each row, summed over the last dimension, in nats.

    Raises
    ------
    ValueError
        If the four tensors do not broadcast to one shape, or are 0-dimensional.
    """
    tensors = (mu_q, logvar_q, mu_p, logvar_p)
    if not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("mu_q, logvar_q, mu_p and logvar_p must be torch tensors")
    try:
        shape = torch.broadcast_shapes(*(t.shape for t in tensors))
    except RuntimeError as exc:
        raise ValueError(
            "mu_q, logvar_q, mu_p and logvar_p must broadcast to one shape; got "
            f"{[tuple(t.shape) for t in tensors]}"
        ) from exc
    if len(shape) == 0:
        raise ValueError("the Gaussians' parameters must have a last dimension d")
    ratio = torch.exp(logvar_q - logvar_p)
    gap = (mu_q - mu_p).square() * torch.exp(-logvar_p)
    return 0.5 * (ratio + gap - 1.0 - (logvar_q - logvar_p)).sum(-1)


def reparameterize(
    mu: Tensor,
    logvar: Tensor,
    n_samples: int = 1,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Draw ``z ~ N(mu, diag(exp(logvar)))`` as a differentiable function of ``mu`` and
    ``logvar``.

    The reparameterisation trick (Kingma and Welling, 2014): ``z = mu + exp(logvar / 2)
    * eps`` with ``eps ~ N(0, I)`` drawn independently of the parameters, so gradients
    flow through ``z``.

    Parameters
    ----------
    mu : (N, d) tensor
        Means.
    logvar : (N, d) tensor
        Log-variances.
    n_samples : int, default 1
        Number of draws per row.
    generator : torch.Generator, optional
        Random generator on ``mu``'s device, for reproducible draws.

    Returns
    -------
    z : (N, d) tensor when ``n_samples == 1``, else (n_samples, N, d) tensor
    """
    _check_gaussian_params(mu, logvar)
    n_samples = _check_int(n_samples, "n_samples", 1)
    shape = mu.shape if n_samples == 1 else (n_samples, *mu.shape)
    eps = torch.randn(shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def _gaussian_log_prob(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension (broadcasts)."""
    return -0.5 * (
        ((z - mu).square() * torch.exp(-logvar)) + logvar + math.log(2 * math.pi)
    ).sum(-1)


def _standard_normal_log_prob(z: Tensor) -> Tensor:
    return -0.5 * (z.square() + math.log(2 * math.pi)).sum(-1)


class GaussianEncoder(nn.Module):
    r"""MLP encoder ``x -> (mu, logvar)`` of a diagonal Gaussian ``q_phi(z | x)``.

    Parameters
    ----------
    in_features : int
        Number of input features ``D`` (inputs of any shape ``(N, ...)`` are flattened
        to ``(N, D)``).
    latent_dim : int
        Latent dimension ``d`` (>= 1).
    hidden : sequence of int, default (256,)
        Hidden layer widths of the MLP (empty for a linear encoder).
    activation : str, default "relu"
        Hidden activation, as in :func:`statlearn.nets.mlp`.

    Notes
    -----
    ``forward(x)`` returns ``(mu, logvar)``, each of shape ``(N, latent_dim)``;
    ``logvar`` is the natural log of the variance.
    """

    def __init__(
        self,
        in_features: int,
        latent_dim: int,
        hidden: Sequence[int] = (256,),
        *,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        from statlearn.nets import mlp

        self.in_features = _check_int(in_features, "in_features", 1)
        self.latent_dim = _check_int(latent_dim, "latent_dim", 1)
        self.net = mlp(
            self.in_features,
            2 * self.latent_dim,
            hidden=tuple(hidden),
            activation=activation,
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Encode ``x``.

        Parameters
        ----------
        x : (N, ...) tensor with ``in_features`` values per sample

        Returns
        -------
        mu, logvar : (N, latent_dim) tensors
        """
        x = x.flatten(1) if x.ndim > 1 else x.unsqueeze(0)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have {self.in_features} features per sample; got shape "
                f"{tuple(x.shape)}"
            )
        out = self.net(x)
        mu, logvar = out.chunk(2, dim=-1)
        return mu, logvar


def mlp_decoder(
    latent_dim: int,
    out_features: int,
    hidden: Sequence[int] = (256,),
    *,
    activation: str = "relu",
    out_shape: Sequence[int] | None = None,
) -> nn.Sequential:
    """MLP decoder ``z -> `` parameters of ``p_theta(x | z)``.

    The output is the Bernoulli logits or the Gaussian mean of each of the
    ``out_features`` values (which one is decided by :class:`VAE`'s ``likelihood``).

    Parameters
    ----------
    latent_dim : int
        Latent dimension ``d`` (>= 1).
    out_features : int
        Number of data features ``D``.
    hidden : sequence of int, default (256,)
        Hidden layer widths.
    activation : str, default "relu"
        Hidden activation, as in :func:`statlearn.nets.mlp`.
    out_shape : sequence of int, optional
        Per-sample output shape, e.g. ``(1, 8, 8)``; its product must equal
        ``out_features``. Default: flat ``(out_features,)``.

    Returns
    -------
    nn.Sequential
        Maps ``(M, d)`` to ``(M, out_features)`` (or ``(M, *out_shape)``).
    """
    from statlearn.nets import mlp

    latent_dim = _check_int(latent_dim, "latent_dim", 1)
    out_features = _check_int(out_features, "out_features", 1)
    net = mlp(latent_dim, out_features, hidden=tuple(hidden), activation=activation)
    if out_shape is not None:
        out_shape = tuple(int(s) for s in out_shape)
        if math.prod(out_shape) != out_features:
            raise ValueError(
                f"out_shape must have out_features={out_features} elements; got "
                f"{out_shape}"
            )
        net.append(nn.Unflatten(1, out_shape))
    return net


# --------------------------------------------------------------------------------------
# The VAE
# --------------------------------------------------------------------------------------


class ELBO(NamedTuple):
    """Per-sample terms of the evidence lower bound, all (N,) tensors in **nats**.

    ``elbo = -(distortion + rate)``; ``distortion = -E_q[log p(x | z)]``;
    ``rate = KL(q(z | x) || p(z))``.
    """

    elbo: Tensor
    distortion: Tensor
    rate: Tensor


class VAELoss(NamedTuple):
    """Batch-mean training objective (scalars, **nats** per sample): ``total =
    distortion + beta * rate``.
    """

    total: Tensor
    distortion: Tensor
    rate: Tensor


class VAE(nn.Module):
    r"""Variational autoencoder with a standard normal prior.

    Parameters
    ----------
    encoder : nn.Module
        Maps ``x`` of shape ``(N, ...)`` to ``(mu, logvar)``, each ``(N, latent_dim)``
        (e.g. :class:`GaussianEncoder`).
    decoder : nn.Module
        Maps ``z`` of shape ``(M, latent_dim)`` to ``(M, ...)`` with ``D`` values per
        sample: Bernoulli logits (``likelihood="bernoulli"``) or Gaussian means
        (``"gaussian"``) (e.g. :func:`mlp_decoder`).
    latent_dim : int
        Latent dimension ``d`` (>= 1).
    likelihood : {"bernoulli", "gaussian"}, default "bernoulli"
        The decoder distribution ``p_theta(x | z)``. Bernoulli data must be binary (0 or
        1).
    sigma : float, optional
        Gaussian likelihood only: the observation standard deviation (fixed). Default
        ``None`` learns one shared ``sigma`` (stored as ``log_sigma``).

    Notes
    -----
    Everything is in nats. Train with :func:`statlearn.training.fit`::

        fit(vae, x_train, objective=VAE.loss)  # beta = 1: the ELBO
        fit(vae, x_train, objective=functools.partial(VAE.loss, beta=4.0))
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        *,
        latent_dim: int,
        likelihood: str = "bernoulli",
        sigma: float | None = None,
    ) -> None:
        super().__init__()
        from statlearn._checks import check_choice, check_positive

        if not isinstance(encoder, nn.Module) or not isinstance(decoder, nn.Module):
            raise TypeError(
                "encoder and decoder must be torch.nn.Module instances; got "
                f"{type(encoder).__name__} and {type(decoder).__name__}"
            )
        self.latent_dim = _check_int(latent_dim, "latent_dim", 1)
        self.likelihood = check_choice(likelihood, "likelihood", _LIKELIHOODS)
        self.encoder = encoder
        self.decoder = decoder
        if self.likelihood == "gaussian":
            if sigma is None:
                self.log_sigma = nn.Parameter(torch.zeros(()))
            else:
                sigma = check_positive(sigma, "sigma")
                # float64 so that a model moved to float64 keeps sigma exact; cast where
                # used
                self.register_buffer(
                    "log_sigma", torch.tensor(math.log(sigma), dtype=torch.float64)
                )
        elif sigma is not None:
            raise ValueError(
                "sigma is only used with likelihood='gaussian'; got "
                f"likelihood={likelihood!r}"
            )

    # -- helpers
    # ----------------------------------------------------------------------------------

    def _reference(self) -> Tensor | None:
        for t in self.parameters():
            return t
        for t in self.buffers():
            return t
        return None

    def _prepare(self, x: object) -> Tensor:
        """Validate ``x`` and move it to the model's device and dtype."""
        from statlearn._checks import to_model

        x = to_model(x, self, name="x")
        if x.ndim < 2:
            raise ValueError(
                f"x must be at least 2-D (n_samples, ...); got shape {tuple(x.shape)}"
            )
        if self.likelihood == "bernoulli" and not bool(((x == 0) | (x == 1)).all()):
            raise ValueError(
                "x must be binary (values 0 or 1) for likelihood='bernoulli'; got "
                "values in "
                f"[{x.min().item():.3g}, {x.max().item():.3g}] that are not all 0 or 1 "
                "(binarise the data, e.g. statlearn.data.digits(binarize=True))"
            )
        return x

    def _encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.encoder(x)
        if (
            mu.ndim != 2
            or mu.shape != (x.shape[0], self.latent_dim)
            or logvar.shape != mu.shape
        ):
            raise ValueError(
                "the encoder must return (mu, logvar) of shape (N, latent_dim) = "
                f"({x.shape[0]}, "
                f"{self.latent_dim}); got {tuple(mu.shape)} and {tuple(logvar.shape)}"
            )
        return mu, logvar

    def _log_px_given_z(self, z: Tensor, x_flat: Tensor) -> Tensor:
        """log p(x | z) for z (..., N, d) and x_flat (N, D); returns (..., N)."""
        lead = z.shape[:-1]
        out = self.decoder(z.reshape(-1, self.latent_dim)).reshape(*lead, -1)
        if out.shape[-1] != x_flat.shape[-1]:
            raise ValueError(
                f"the decoder must return {x_flat.shape[-1]} values per sample (the "
                "data's size); "
                f"got {out.shape[-1]}"
            )
        if self.likelihood == "bernoulli":
            # log Bern(x; sigmoid(l)) = x l - softplus(l)
            return (x_flat * out - F.softplus(out)).sum(-1)
        log_sigma = self.log_sigma.to(out.dtype)
        return (
            -0.5 * ((x_flat - out) * torch.exp(-log_sigma)).square()
            - log_sigma
            - 0.5 * math.log(2 * math.pi)
        ).sum(-1)

    def _mean(self, out: Tensor) -> Tensor:
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    # -- public API
    # ----------------------------------------------------------------------------------

    def forward(self, x: Tensor) -> ELBO:
        """Same as :meth:`elbo` with one sample.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Data (binary for a Bernoulli decoder), cast to the model's dtype and device.

        Returns
        -------
        ELBO
        """
        return self.elbo(x)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Parameters of ``q_phi(z | x)``.

        Parameters
        ----------
        x : (N, ...) array or tensor

        Returns
        -------
        mu, logvar : (N, latent_dim) tensors
        """
        return self._encode(self._prepare(x))

    def decode(self, z: Tensor) -> Tensor:
        """Mean of ``p_theta(x | z)`` (pixel probabilities for a Bernoulli decoder).

        Parameters
        ----------
        z : (M, latent_dim) tensor

        Returns
        -------
        (M, ...) tensor in the decoder's output shape
        """
        from statlearn._checks import to_model

        z = to_model(z, self, name="z")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"z must be (M, latent_dim={self.latent_dim}); got shape "
                f"{tuple(z.shape)}"
            )
        return self._mean(self.decoder(z))

    def elbo(
        self, x: Tensor, n_samples: int = 1, *, generator: torch.Generator | None = None
    ) -> ELBO:
        r"""Per-sample evidence lower bound and its two terms, in **nats**.

        ``distortion`` is the Monte-Carlo estimate of ``-E_q[log p_theta(x | z)]`` with
        ``n_samples`` reparameterised draws; ``rate = KL(q_phi(z | x) || N(0, I))`` in
        closed form; ``elbo = -(distortion + rate)``. Differentiable in encoder and
        decoder parameters.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Data (binary for a Bernoulli decoder).
        n_samples : int, default 1
            Draws of ``z`` per sample.
        generator : torch.Generator, optional

        Returns
        -------
        ELBO
            ``(elbo, distortion, rate)``, each an (N,) tensor in nats.
        """
        x = self._prepare(x)
        n_samples = _check_int(n_samples, "n_samples", 1)
        mu, logvar = self._encode(x)
        z = reparameterize(mu, logvar, n_samples, generator=generator)
        log_px = self._log_px_given_z(z, x.flatten(1))
        distortion = -(log_px if n_samples == 1 else log_px.mean(0))
        rate = gaussian_kl(mu, logvar)
        return ELBO(-(distortion + rate), distortion, rate)

    def loss(
        self, x: Tensor, *batch_rest: object, beta: float = 1.0, n_samples: int = 1
    ) -> VAELoss:
        """Batch-mean objective ``distortion + beta * rate`` (nats per sample), for
        :func:`statlearn.training.fit`.

        Parameters
        ----------
        x : (N, ...) array or tensor
        *batch_rest
            Ignored (e.g. labels, when ``fit`` is given ``(X, y)``), so
            ``objective=VAE.loss`` works.
        beta : float, default 1.0
            Rate weight, finite and >= 0; ``beta = 1`` is the negative ELBO.
        n_samples : int, default 1
            Draws of ``z`` per sample for the distortion's Monte Carlo estimate.

        Returns
        -------
        VAELoss
            ``(total, distortion, rate)`` scalars.

        Raises
        ------
        ValueError
            If ``beta`` is negative, NaN or infinite (a negative rate weight rewards a
            larger rate).
        """
        from statlearn._checks import check_positive

        beta = check_positive(beta, "beta", strict=False)
        terms = self.elbo(x, n_samples)
        distortion = terms.distortion.mean()
        rate = terms.rate.mean()
        return VAELoss(distortion + beta * rate, distortion, rate)

    def log_weights(
        self, x: Tensor, k: int, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Importance log-weights ``log p(x, z_i) - log q(z_i | x)`` for ``z_i ~ q(z |
        x)``.

        Parameters
        ----------
        x : (N, ...) array or tensor
        k : int
            Number of importance samples.
        generator : torch.Generator, optional

        Returns
        -------
        (k, N) tensor, in nats
        """
        x = self._prepare(x)
        k = _check_int(k, "k", 1)
        mu, logvar = self._encode(x)
        z = reparameterize(mu, logvar, k, generator=generator).reshape(k, *mu.shape)
        log_px = self._log_px_given_z(z, x.flatten(1))
        return log_px + _standard_normal_log_prob(z) - _gaussian_log_prob(z, mu, logvar)

    def iwae(
        self,
        x: Tensor,
        k: int = 64,
        *,
        chunk_size: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        r"""Importance-weighted lower bound on ``log p_theta(x)`` (Burda, Grosse and
        Salakhutdinov, 2016), in **nats**.

            L_k(x) = E[log 1/k Σ_(i=1)^k p_θ(x, z_i)/q_φ(z_i | x)], z_i ~ q_φ(z | x),

        estimated with one set of ``k`` draws. ``L_1`` is the ELBO and ``L_k`` increases
        to ``log p(x)`` as ``k`` grows, so with large ``k`` it serves as a held-out
        log-likelihood.

        Parameters
        ----------
        x : (N, ...) array or tensor
        k : int, default 64
            Number of importance samples (>= 1).
        chunk_size : int, optional
            Draw the ``k`` samples this many at a time to bound memory (default: all at
            once).
        generator : torch.Generator, optional

        Returns
        -------
        (N,) tensor, in nats
        """
        k = _check_int(k, "k", 1)
        step = k if chunk_size is None else _check_int(chunk_size, "chunk_size", 1)
        parts = [
            self.log_weights(x, min(step, k - start), generator=generator)
            for start in range(0, k, step)
        ]
        log_w = torch.cat(parts, dim=0)
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    @torch.no_grad()
    def sample(
        self, n: int, *, mean: bool = True, generator: torch.Generator | None = None
    ) -> Tensor:
        """Generate data: ``z ~ N(0, I)``, then the mean of (or a draw from) ``p_theta(x
        | z)``.

        Parameters
        ----------
        n : int
            Number of samples.
        mean : bool, default True
            Return the decoder's mean (pixel probabilities for Bernoulli); ``False``
            draws ``x``.
        generator : torch.Generator, optional

        Returns
        -------
        (n, ...) tensor in the decoder's output shape
        """
        n = _check_int(n, "n", 1)
        ref = self._reference()
        device = None if ref is None else ref.device
        dtype = None if ref is None else ref.dtype
        z = torch.randn(
            n, self.latent_dim, generator=generator, device=device, dtype=dtype
        )
        m = self._mean(self.decoder(z))
        if mean:
            return m
        if self.likelihood == "bernoulli":
            return torch.bernoulli(m, generator=generator)
        noise = torch.randn(
            m.shape, generator=generator, device=m.device, dtype=m.dtype
        )
        return m + torch.exp(self.log_sigma.to(m.dtype)) * noise

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decoder mean at the encoder mean: ``E[x | z = mu_phi(x)]``.

        Parameters
        ----------
        x : (N, ...) array or tensor

        Returns
        -------
        (N, ...) tensor in the decoder's output shape
        """
        mu, _ = self.encode(x)
        return self._mean(self.decoder(mu))


def mlp_vae(
    in_features: int,
    latent_dim: int,
    hidden: Sequence[int] = (256,),
    *,
    likelihood: str = "bernoulli",
    activation: str = "relu",
    out_shape: Sequence[int] | None = None,
    sigma: float | None = None,
) -> VAE:
    """A :class:`VAE` with a :class:`GaussianEncoder` and an :func:`mlp_decoder` of
    mirrored widths.

    Parameters
    ----------
    in_features : int
        Data features ``D``.
    latent_dim : int
        Latent dimension ``d`` (>= 1).
    hidden : sequence of int, default (256,)
        Encoder hidden widths; the decoder uses them reversed.
    likelihood : {"bernoulli", "gaussian"}, default "bernoulli"
    activation : str, default "relu"
    out_shape : sequence of int, optional
        Decoder per-sample output shape (e.g. ``(1, 8, 8)``).
    sigma : float, optional
        Gaussian likelihood's fixed standard deviation (default: learned).

    Returns
    -------
    VAE
    """
    encoder = GaussianEncoder(in_features, latent_dim, hidden, activation=activation)
    decoder = mlp_decoder(
        latent_dim,
        in_features,
        tuple(hidden)[::-1],
        activation=activation,
        out_shape=out_shape,
    )
    return VAE(
        encoder, decoder, latent_dim=latent_dim, likelihood=likelihood, sigma=sigma
    )


# --------------------------------------------------------------------------------------
# Deterministic and denoising autoencoders (chapter 5)
# --------------------------------------------------------------------------------------

_CORRUPTIONS = ("gaussian", "mask")


class AELoss(NamedTuple):
    """Batch-mean autoencoder objective (scalars): ``total = distortion``, the squared
    reconstruction error of the clean input, summed over features.
    """

    total: Tensor
    distortion: Tensor


def corrupt(
    x: Tensor,
    noise: float,
    *,
    corruption: str = "gaussian",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Corrupt ``x`` for a denoising autoencoder: draw ``x~ ~ C(x~ | x)``.

    Parameters
    ----------
    x : (N, ...) tensor
        Clean inputs.
    noise : float
        The corruption level, >= 0: the standard deviation of the added noise
        (``"gaussian"``), or the probability that a value is set to zero (``"mask"``,
        in [0, 1)). ``noise = 0`` returns ``x`` unchanged.
    corruption : {"gaussian", "mask"}, default "gaussian"
        Additive Gaussian noise ``x + noise * xi`` with ``xi ~ N(0, I)``, or masking
        noise (each value independently zeroed with probability ``noise``).
    generator : torch.Generator, optional
        Random generator on ``x``'s device; default: torch's global one.

    Returns
    -------
    (N, ...) tensor
        Same shape, dtype and device as ``x``; not differentiable in ``noise``.
    """
    from statlearn._checks import check_choice, check_positive

    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch tensor; got {type(x).__name__}")
    corruption = check_choice(corruption, "corruption", _CORRUPTIONS)
    noise = check_positive(noise, "noise", strict=False)
    if corruption == "mask" and noise >= 1:
        raise ValueError(f"noise must be in [0, 1) for masking noise; got {noise}")
    if noise == 0:
        return x
    if corruption == "gaussian":
        xi = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + noise * xi
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= noise
    return x * keep.to(x.dtype)


class Autoencoder(nn.Module):
    r"""Deterministic autoencoder ``z = f_phi(x)``, ``x^ = g_theta(z)``.

    Trained by :meth:`loss` to minimise the squared reconstruction error; with
    ``noise > 0`` the encoder sees a corrupted ``x~ ~ q(x~ | x)`` and the decoder must
    restore the clean ``x``: the denoising autoencoder. Compared with :class:`VAE`,
    the code is a point (no encoder variance) and there is no rate term.

    Parameters
    ----------
    encoder : nn.Module
        Maps ``x`` of shape ``(N, ...)`` to codes ``(N, latent_dim)`` (e.g.
        :func:`statlearn.nets.mlp`).
    decoder : nn.Module
        Maps ``z`` of shape ``(M, latent_dim)`` to reconstructions with the data's
        ``D`` values per sample (e.g. :func:`mlp_decoder`).
    latent_dim : int
        Code dimension ``d`` (>= 1).
    in_features : int, optional
        Number of values ``D`` per input sample; when given, inputs of another size are
        a ``ValueError`` before they reach the encoder.

    Notes
    -----
    Train with :func:`statlearn.training.fit`::

        fit(ae, x_train, objective=Autoencoder.loss)
        fit(dae, x_train, objective=functools.partial(Autoencoder.loss, noise=0.3))
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        *,
        latent_dim: int,
        in_features: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module) or not isinstance(decoder, nn.Module):
            raise TypeError(
                "encoder and decoder must be torch.nn.Module instances; got "
                f"{type(encoder).__name__} and {type(decoder).__name__}"
            )
        self.latent_dim = _check_int(latent_dim, "latent_dim", 1)
        self.in_features = (
            None if in_features is None else _check_int(in_features, "in_features", 1)
        )
        self.encoder = encoder
        self.decoder = decoder

    def _prepare(self, x: object) -> Tensor:
        from statlearn._checks import to_model

        x = to_model(x, self, name="x")
        if x.ndim < 2:
            raise ValueError(
                f"x must be at least 2-D (n_samples, ...); got shape {tuple(x.shape)}"
            )
        if self.in_features is not None and x[0].numel() != self.in_features:
            raise ValueError(
                f"x must have {self.in_features} features per sample; got shape "
                f"{tuple(x.shape)}"
            )
        return x

    def _encode(self, x: Tensor) -> Tensor:
        z = self.encoder(x)
        if z.ndim != 2 or z.shape != (x.shape[0], self.latent_dim):
            raise ValueError(
                "the encoder must return codes of shape (N, latent_dim) = "
                f"({x.shape[0]}, {self.latent_dim}); got {tuple(z.shape)}"
            )
        return z

    def _decode(self, z: Tensor, x: Tensor) -> Tensor:
        out = self.decoder(z)
        if out.shape[0] != x.shape[0] or out[0].numel() != x[0].numel():
            raise ValueError(
                f"the decoder must return {x[0].numel()} values per sample (the data's "
                f"size); got output of shape {tuple(out.shape)}"
            )
        return out.reshape(x.shape)

    def encode(self, x: Tensor) -> Tensor:
        """The code ``z = f_phi(x)`` of clean inputs.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Cast to the model's dtype and device.

        Returns
        -------
        (N, latent_dim) tensor
        """
        return self._encode(self._prepare(x))

    def forward(self, x: Tensor) -> Tensor:
        """The reconstruction ``g_theta(f_phi(x))``.

        Parameters
        ----------
        x : (N, ...) array or tensor

        Returns
        -------
        (N, ...) tensor of ``x``'s shape
        """
        x = self._prepare(x)
        return self._decode(self._encode(x), x)

    def loss(
        self,
        x: Tensor,
        *batch_rest: object,
        noise: float = 0.0,
        corruption: str = "gaussian",
        generator: torch.Generator | None = None,
    ) -> AELoss:
        """Batch-mean squared error of reconstructing the clean ``x`` (from a corrupted
        one when ``noise > 0``), for :func:`statlearn.training.fit`.

        Parameters
        ----------
        x : (N, ...) array or tensor
        *batch_rest
            Ignored (e.g. labels), so ``objective=Autoencoder.loss`` works.
        noise : float, default 0.0
            Corruption level, as in :func:`corrupt`; 0 is the plain autoencoder.
        corruption : {"gaussian", "mask"}, default "gaussian"
            The corruption, as in :func:`corrupt`.
        generator : torch.Generator, optional
            For the corruption's random draws.

        Returns
        -------
        AELoss
            ``(total, distortion)``: ``distortion`` is ``||x - g(f(x~))||^2`` summed
            over features and averaged over the batch.
        """
        x = self._prepare(x)
        x_tilde = corrupt(x, noise, corruption=corruption, generator=generator)
        recon = self._decode(self._encode(x_tilde), x)
        distortion = (recon - x).flatten(1).square().sum(-1).mean()
        return AELoss(distortion, distortion)


def mlp_autoencoder(
    in_features: int,
    latent_dim: int,
    hidden: Sequence[int] = (256,),
    *,
    activation: str = "relu",
    out_shape: Sequence[int] | None = None,
) -> Autoencoder:
    """An :class:`Autoencoder` with an MLP encoder and an :func:`mlp_decoder` of
    mirrored widths (the deterministic twin of :func:`mlp_vae`).

    Parameters
    ----------
    in_features : int
        Data features ``D``.
    latent_dim : int
        Code dimension ``d`` (>= 1).
    hidden : sequence of int, default (256,)
        Encoder hidden widths; the decoder uses them reversed.
    activation : str, default "relu"
        Hidden activation, as in :func:`statlearn.nets.mlp`.
    out_shape : sequence of int, optional
        Decoder per-sample output shape (e.g. ``(1, 8, 8)``).

    Returns
    -------
    Autoencoder
        Its encoder's output layer is linear, so codes are unbounded real vectors.
    """
    from statlearn.nets import mlp

    in_features = _check_int(in_features, "in_features", 1)
    latent_dim = _check_int(latent_dim, "latent_dim", 1)
    encoder = mlp(in_features, latent_dim, hidden=tuple(hidden), activation=activation)
    decoder = mlp_decoder(
        latent_dim,
        in_features,
        tuple(hidden)[::-1],
        activation=activation,
        out_shape=out_shape,
    )
    return Autoencoder(encoder, decoder, latent_dim=latent_dim, in_features=in_features)
