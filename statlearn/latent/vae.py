"""Variational autoencoders and autoencoders (chapters 3 and 5), and the Gaussian
encoder that chapters 8, 10, 11 and 12 reuse.

Amortised variational inference for a latent-variable model ``p(z) p_theta(x | z)`` with
a Gaussian encoder ``q_phi(z | x) = N(mu_phi(x), diag(exp(logvar_phi(x))))`` and a
standard normal prior ``p(z) = N(0, I)``. Implements

* chapter 3, "Variational autoencoders": the auto-encoding variational Bayes estimator
  of the evidence lower bound (ELBO) with the reparameterisation trick (Kingma and
  Welling, 2014; Rezende, Mohamed and Wierstra, 2014), split into its distortion and
  rate terms (Alemi et al., 2018), and the importance-weighted bound (IWAE) of Burda,
  Grosse and Salakhutdinov (2016), used as a held-out log-likelihood estimate;
* chapter 5, "Representation learning": the VAE's code beside the deterministic
  autoencoder and the denoising autoencoder (Vincent, Larochelle, Bengio and Manzagol,
  2008), built from the same MLP pieces: :class:`Autoencoder`,
  :func:`mlp_autoencoder`, :func:`corrupt`;
* the Gaussian encoder pieces (:class:`GaussianEncoder`, :func:`reparameterize`) that
  the deep variational information bottleneck (chapter 8), the privacy bottleneck
  (chapter 10), the Wyner common-information model (chapter 11) and the transfer
  entropy bottleneck (chapter 12) build on.

The closed-form KL divergence and the Gaussian log-density are
:func:`statlearn.functional.gaussian_kl` and
:func:`statlearn.functional.gaussian_log_prob`.

Randomness: every routine that draws takes ``random_state`` (statlearn's randomness
rule) and draws on the model's device; objectives draw with ``random_state=None`` by
default, so that ``statlearn.training.fit(random_state=...)`` repeats a whole run.

All log-likelihoods, ELBOs, distortions and rates returned here are in **nats** (natural
log); divide by ``ln 2`` for bits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from statlearn._checks import (
    as_generator,
    as_tensor,
    check_choice,
    check_int,
    check_positive,
    to_model,
)
from statlearn.functional import gaussian_kl, gaussian_log_prob
from statlearn.nets import mlp

__all__ = [
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


def _check_gaussian_params(mu: Any, logvar: Any) -> None:
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


def reparameterize(
    mu: Tensor,
    logvar: Tensor,
    n_samples: int = 1,
    *,
    random_state: Any = None,
) -> Tensor:
    r"""Draw ``z ~ N(mu, diag(exp(logvar)))`` as a differentiable function of ``mu`` and
    ``logvar``.

    The reparameterisation trick (Kingma and Welling, 2014): ``z = mu + exp(logvar / 2)
    * xi`` with noise ``xi ~ N(0, I)`` drawn independently of the parameters, so
    gradients flow through ``z``.

    Parameters
    ----------
    mu : (N, d) tensor
        Means.
    logvar : (N, d) tensor
        Log-variances (natural log).
    n_samples : int, default 1
        Number of draws per row.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        See statlearn's randomness rule (CONTRIBUTING.md). Draws on ``mu``'s device;
        ``None`` follows torch's global generator (``statlearn.seed_everything``, and
        ``fit(random_state=...)`` inside a training run).

    Returns
    -------
    z : (N, d) tensor when ``n_samples == 1``, else (n_samples, N, d) tensor
    """
    _check_gaussian_params(mu, logvar)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    generator = as_generator(random_state, device=mu.device)
    return _reparameterize(mu, logvar, n_samples, generator)


def _reparameterize(
    mu: Tensor, logvar: Tensor, n_samples: int, generator: torch.Generator
) -> Tensor:
    """:func:`reparameterize` on checked arguments, with a generator on ``mu``'s
    device."""
    shape = mu.shape if n_samples == 1 else (n_samples, *mu.shape)
    noise = torch.randn(shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * noise


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
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
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
        if x.shape[0] == 0:
            raise ValueError(f"x must not be empty; got shape {tuple(x.shape)}")
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
    latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
    out_features = check_int(out_features, "out_features", minimum=1)
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
    ``rate = KL(q(z | x) || p(z))``. A bound to maximise per sample, not an objective:
    :meth:`VAE.loss` turns it into the :class:`VAELoss` that ``fit`` minimises.
    """

    elbo: Tensor
    distortion: Tensor
    rate: Tensor
    units = "nats"


class VAELoss(NamedTuple):
    """Batch-mean training objective (scalars, **nats** per sample): ``total =
    distortion + beta * rate``.
    """

    total: Tensor
    distortion: Tensor
    rate: Tensor
    units = "nats"


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
        if not isinstance(encoder, nn.Module) or not isinstance(decoder, nn.Module):
            raise TypeError(
                "encoder and decoder must be torch.nn.Module instances; got "
                f"{type(encoder).__name__} and {type(decoder).__name__}"
            )
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
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
        """Validate ``x`` and move it to the model's device and dtype (one host sync
        for a Bernoulli decoder: binary values are finite)."""
        bernoulli = self.likelihood == "bernoulli"
        x = to_model(x, self, name="x", min_ndim=2, allow_nonfinite=bernoulli)
        if bernoulli and not bool(((x == 0) | (x == 1)).all()):
            if not bool(torch.isfinite(x).all()):
                raise ValueError("x must not contain NaN or infinite values")
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
        return gaussian_log_prob(x_flat, out, 2.0 * self.log_sigma.to(out.dtype))

    def _mean(self, out: Tensor) -> Tensor:
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    # -- public API
    # ----------------------------------------------------------------------------------

    def forward(self, x: Tensor, *, random_state: Any = None) -> ELBO:
        """Same as :meth:`elbo` with one sample.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Data (binary for a Bernoulli decoder), cast to the model's dtype and device.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws on the model's
            device.

        Returns
        -------
        ELBO
        """
        return self.elbo(x, random_state=random_state)

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
        z = to_model(z, self, name="z")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"z must be (M, latent_dim={self.latent_dim}); got shape "
                f"{tuple(z.shape)}"
            )
        return self._mean(self.decoder(z))

    def elbo(self, x: Tensor, n_samples: int = 1, *, random_state: Any = None) -> ELBO:
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
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws on the model's
            device.

        Returns
        -------
        ELBO
            ``(elbo, distortion, rate)``, each an (N,) tensor in nats.
        """
        x = self._prepare(x)
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        generator = as_generator(random_state, device=x.device)
        return self._elbo(x, n_samples, generator)

    def _elbo(self, x: Tensor, n_samples: int, generator: torch.Generator) -> ELBO:
        """:meth:`elbo` on checked arguments."""
        mu, logvar = self._encode(x)
        z = _reparameterize(mu, logvar, n_samples, generator)
        log_px = self._log_px_given_z(z, x.flatten(1))
        distortion = -(log_px if n_samples == 1 else log_px.mean(0))
        rate = gaussian_kl(mu, logvar)
        return ELBO(-(distortion + rate), distortion, rate)

    def loss(
        self,
        x: Tensor,
        *batch_rest: object,
        beta: float = 1.0,
        n_samples: int = 1,
        random_state: Any = None,
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
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws on the model's
            device. Leave it ``None`` inside ``fit``, so that
            ``fit(random_state=...)`` repeats the run.

        Returns
        -------
        VAELoss
            ``(total, distortion, rate)`` scalars, in nats.

        Raises
        ------
        ValueError
            If ``beta`` is negative, NaN or infinite (a negative rate weight rewards a
            larger rate).
        """
        beta = check_positive(beta, "beta", strict=False)
        x = self._prepare(x)
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        generator = as_generator(random_state, device=x.device)
        terms = self._elbo(x, n_samples, generator)
        distortion = terms.distortion.mean()
        rate = terms.rate.mean()
        return VAELoss(distortion + beta * rate, distortion, rate)

    def log_weights(
        self, x: Tensor, n_samples: int, *, random_state: Any = None
    ) -> Tensor:
        """Importance log-weights ``log p(x, z_i) - log q(z_i | x)`` for ``z_i ~ q(z |
        x)``.

        Parameters
        ----------
        x : (N, ...) array or tensor
        n_samples : int
            Number of importance samples ``k``.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws on the model's
            device.

        Returns
        -------
        (n_samples, N) tensor, in nats
        """
        x = self._prepare(x)
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        generator = as_generator(random_state, device=x.device)
        mu, logvar = self._encode(x)
        return self._log_weights(x.flatten(1), mu, logvar, n_samples, generator)

    def _log_weights(
        self,
        x_flat: Tensor,
        mu: Tensor,
        logvar: Tensor,
        n_samples: int,
        generator: torch.Generator,
    ) -> Tensor:
        """:meth:`log_weights` on checked arguments and the encoder's output."""
        z = _reparameterize(mu, logvar, n_samples, generator)
        z = z.reshape(n_samples, *mu.shape)
        log_px = self._log_px_given_z(z, x_flat)
        return log_px + gaussian_log_prob(z) - gaussian_log_prob(z, mu, logvar)

    def iwae(
        self,
        x: Tensor,
        n_samples: int = 64,
        *,
        chunk_size: int | None = None,
        random_state: Any = None,
    ) -> Tensor:
        r"""Importance-weighted lower bound on ``log p_theta(x)`` (Burda, Grosse and
        Salakhutdinov, 2016), in **nats**.

            L_k(x) = E[log 1/k Σ_(i=1)^k p_θ(x, z_i)/q_φ(z_i | x)], z_i ~ q_φ(z | x),

        estimated with one set of ``k = n_samples`` draws. ``L_1`` is the ELBO and
        ``L_k`` increases to ``log p(x)`` as ``k`` grows, so with large ``k`` it serves
        as a held-out log-likelihood.

        Parameters
        ----------
        x : (N, ...) array or tensor
        n_samples : int, default 64
            Number of importance samples ``k`` (>= 1).
        chunk_size : int, optional
            Draw the ``k`` samples this many at a time to bound memory (default: all at
            once).
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws on the model's
            device.

        Returns
        -------
        (N,) tensor, in nats
        """
        x = self._prepare(x)
        k = check_int(n_samples, "n_samples", minimum=1)
        step = (
            k if chunk_size is None else check_int(chunk_size, "chunk_size", minimum=1)
        )
        generator = as_generator(random_state, device=x.device)
        mu, logvar = self._encode(x)
        x_flat = x.flatten(1)
        parts = [
            self._log_weights(x_flat, mu, logvar, min(step, k - start), generator)
            for start in range(0, k, step)
        ]
        log_w = torch.cat(parts, dim=0)
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    @torch.no_grad()
    def sample(
        self, n_samples: int = 1, *, random_state: Any = None, mean: bool = True
    ) -> Tensor:
        """Generate data: ``z ~ N(0, I)``, then the mean of (or a draw from) ``p_theta(x
        | z)``.

        Parameters
        ----------
        n_samples : int, default 1
            Number of samples.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws on the model's
            device.
        mean : bool, default True
            Return the decoder's mean (pixel probabilities for Bernoulli); ``False``
            draws ``x``.

        Returns
        -------
        (n_samples, ...) tensor in the decoder's output shape
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        ref = self._reference()
        device = torch.device("cpu") if ref is None else ref.device
        dtype = torch.get_default_dtype() if ref is None else ref.dtype
        generator = as_generator(random_state, device=device)
        z = torch.randn(
            n_samples, self.latent_dim, generator=generator, device=device, dtype=dtype
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

    A squared error in the data's units, not a log-likelihood: its ``units`` say so.
    """

    total: Tensor
    distortion: Tensor
    units = "squared error"


def _check_corruption(noise: Any, corruption: Any) -> tuple[float, str]:
    corruption = check_choice(corruption, "corruption", _CORRUPTIONS)
    noise = check_positive(noise, "noise", strict=False)
    if corruption == "mask" and noise >= 1:
        raise ValueError(f"noise must be in [0, 1) for masking noise; got {noise}")
    return noise, corruption


def corrupt(
    x: Tensor,
    noise: float,
    *,
    corruption: str = "gaussian",
    random_state: Any = None,
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
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        See statlearn's randomness rule (CONTRIBUTING.md). Draws on ``x``'s device.

    Returns
    -------
    (N, ...) tensor
        Same shape, dtype and device as ``x``; not differentiable in ``noise``.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch tensor; got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating tensor; got dtype {x.dtype}")
    as_tensor(x, name="x", dtype=x.dtype, min_ndim=1)  # a batch, finite
    noise, corruption = _check_corruption(noise, corruption)
    if noise == 0:
        return x
    generator = as_generator(random_state, device=x.device)
    return _corrupt(x, noise, corruption, generator)


def _corrupt(
    x: Tensor, noise: float, corruption: str, generator: torch.Generator
) -> Tensor:
    """:func:`corrupt` on checked arguments with ``noise > 0``."""
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
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.in_features = (
            None
            if in_features is None
            else check_int(in_features, "in_features", minimum=1)
        )
        self.encoder = encoder
        self.decoder = decoder

    def _prepare(self, x: object) -> Tensor:
        x = to_model(x, self, name="x", min_ndim=2)
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
        random_state: Any = None,
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
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). The corruption's draws,
            on the model's device. Leave it ``None`` inside ``fit``, so that
            ``fit(random_state=...)`` repeats the run.

        Returns
        -------
        AELoss
            ``(total, distortion)``: ``distortion`` is ``||x - g(f(x~))||^2`` summed
            over features and averaged over the batch.
        """
        noise, corruption = _check_corruption(noise, corruption)
        x = self._prepare(x)
        x_tilde = x
        if noise > 0:
            generator = as_generator(random_state, device=x.device)
            x_tilde = _corrupt(x, noise, corruption, generator)
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
    in_features = check_int(in_features, "in_features", minimum=1)
    latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
    encoder = mlp(in_features, latent_dim, hidden=tuple(hidden), activation=activation)
    decoder = mlp_decoder(
        latent_dim,
        in_features,
        tuple(hidden)[::-1],
        activation=activation,
        out_shape=out_shape,
    )
    return Autoencoder(encoder, decoder, latent_dim=latent_dim, in_features=in_features)
