"""The transfer entropy bottleneck for two streams (chapter 12).

Implements the transfer entropy bottleneck (TEB) of Kalajdzievski, Mao,
Fortier-Poisson, Lajoie and Richards (TMLR 2023) for a source stream X_t and a target
stream Y_t. The next target value is predicted from the target's own past and a
stochastic code z of the source's past:

    q_φ(z | x_(<=t), y_(<=t))      the encoder (it sees both pasts),
    r(z | y_(<=t))               the conditional prior (target past only),
    p_θ(y_(t+1) | z, y_(<=t))      a Gaussian predictor with learned variance,

    loss = E[-log p_θ(y_(t+1) | z, y_(<=t))] + β KL(q_φ(z | x, y) ‖ r(z | y)).

What the numbers bound (nats throughout):

* the rate, E[KL(q(z | x_(<=t), y_(<=t)) ‖ r(z | y_(<=t)))], is an upper bound on
  I(X_(<=t); Z | Y_(<=t)), the information the code carries about the source beyond the
  target's past. It is *not* the transfer entropy: a closed bottleneck has rate ~0 while
  the true transfer entropy can be large;
* the gain in held-out log-likelihood through the code, E[log p(y_(t+1) | z, y_(<=t))],
  over a target-only predictor estimates the transfer entropy that the model captures.
  When the target-only model is Bayes-optimal it is a lower bound on
  I(Y_(t+1); Z | Y_(<=t)), which is at most both the rate and the true transfer entropy
  TE_(X->Y) = I(Y_(t+1); X_(<=t) | Y_(<=t)) (any model's cross-entropy is at least the
  true conditional entropy).

Pasts are fixed windows of the last ``history`` values.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import torch
from torch import Tensor, nn

from statlearn._checks import as_generator, check_int, check_positive, to_model
from statlearn.latent.vae import GaussianEncoder, gaussian_kl_between, reparameterize
from statlearn.nets import mlp

__all__ = [
    "linear_gaussian_streams",
    "linear_gaussian_transfer_entropy",
    "GaussianPredictor",
    "predictor_loss",
    "TEB",
    "TEBLoss",
    "teb_loss",
    "log_likelihood_gain",
]

_LOG_2PI = math.log(2.0 * math.pi)


def linear_gaussian_transfer_entropy(c: float, *, noise_sd: float = 0.5) -> float:
    """True transfer entropy of :func:`linear_gaussian_streams`, in nats.

    For y_(t+1) = a y_t + c x_t + s ξ_t with x_t, ξ_t iid N(0, 1), the target's past
    leaves variance c^2 + s^2 unexplained and both pasts leave s^2, so

        TE_(X->Y) = 1/2 ln(1 + c^2 / s^2)

    (independent of ``a``).

    Parameters
    ----------
    c : float
        The coupling from source to target.
    noise_sd : float
        The standard deviation s > 0 of the target's own noise.

    Returns
    -------
    float
        The transfer entropy in nats.
    """
    s = check_positive(noise_sd, "noise_sd")
    c = float(c)
    if not math.isfinite(c):
        raise ValueError(f"c must be finite; got {c}")
    return 0.5 * math.log1p(c * c / (s * s))


def linear_gaussian_streams(
    n: int,
    *,
    c: float = 1.0,
    a: float = 0.8,
    noise_sd: float = 0.5,
    history: int = 3,
    burn_in: int = 100,
    random_state: int | torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Windows of a linear Gaussian source-target system: chapter 12's data.

    Simulates y_(t+1) = a y_t + c x_t + s ξ_t with x_t, ξ_t iid N(0, 1) for one long
    run and cuts it into ``n`` consecutive windows.

    Parameters
    ----------
    n : int
        Number of windows (prediction targets), >= 1.
    c : float
        Coupling from the source to the target (0: no transfer).
    a : float
        The target's own autoregressive coefficient, |a| < 1.
    noise_sd : float
        The standard deviation s > 0 of the target's noise.
    history : int
        Length H >= 1 of each past window.
    burn_in : int
        Steps discarded at the start, >= 0.
    random_state : int, torch.Generator or None
        Seed or generator (``None`` follows ``statlearn.seed_everything``).

    Returns
    -------
    x_past : (n, H) tensor
        x_(t-H+1), ..., x_t (the last column is x_t).
    y_past : (n, H) tensor
        y_(t-H+1), ..., y_t.
    y_next : (n, 1) tensor
        y_(t+1).
    """
    n = check_int(n, "n", minimum=1)
    history = check_int(history, "history", minimum=1)
    burn_in = check_int(burn_in, "burn_in", minimum=0)
    s = check_positive(noise_sd, "noise_sd")
    a, c = float(a), float(c)
    if not abs(a) < 1:
        raise ValueError(f"a must satisfy |a| < 1 (a stationary target); got {a}")
    if not math.isfinite(c):
        raise ValueError(f"c must be finite; got {c}")
    g = as_generator(random_state)
    length = burn_in + history + n
    x = torch.randn(length, generator=g, dtype=torch.float64)
    xi = torch.randn(length, generator=g, dtype=torch.float64)
    y = torch.zeros(length, dtype=torch.float64)
    for t in range(length - 1):  # a loop over time steps
        y[t + 1] = a * y[t] + c * x[t] + s * xi[t]
    x, y = x[burn_in:].float(), y[burn_in:].float()
    x_past = x.unfold(0, history, 1)[:n]
    y_past = y.unfold(0, history, 1)[:n]
    y_next = y[history : history + n].unsqueeze(1)
    return x_past, y_past, y_next


def _gaussian_nll(y: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """-log N(y; mean, diag exp(logvar)) summed over the last dimension (nats)."""
    return 0.5 * ((y - mean).square() * torch.exp(-logvar) + logvar + _LOG_2PI).sum(-1)


class GaussianPredictor(nn.Module):
    """``p(y | inputs) = N(mlp(inputs), diag exp(logvar))`` with a learned variance.

    The target-only baseline of chapter 12 (inputs: the target's past) and the TEB's
    predictor (inputs: the code and the target's past).

    Parameters
    ----------
    in_features : int
        Number of inputs.
    out_features : int
        Dimension of ``y``.
    hidden : sequence of int
        Hidden widths of the mean's MLP.

    Attributes
    ----------
    net : nn.Sequential
        ``(N, in_features) -> (N, out_features)`` means.
    logvar : nn.Parameter
        ``(out_features,)`` log-variances.
    """

    def __init__(
        self, in_features: int, out_features: int = 1, hidden: Sequence[int] = (32,)
    ) -> None:
        super().__init__()
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        self.net = mlp(self.in_features, self.out_features, tuple(hidden))
        self.logvar = nn.Parameter(torch.zeros(self.out_features))

    def forward(self, inputs: Tensor) -> Tensor:
        """The predictive mean.

        Parameters
        ----------
        inputs : (N, in_features) array or tensor

        Returns
        -------
        (N, out_features) tensor
        """
        inputs = to_model(inputs, self, name="inputs", ndim=2)
        if inputs.shape[1] != self.in_features:
            raise ValueError(
                f"inputs must be (N, {self.in_features}); got {tuple(inputs.shape)}"
            )
        return self.net(inputs)

    def nll(self, inputs: Tensor, y: Tensor) -> Tensor:
        """Per-example negative log-likelihood, in nats.

        Parameters
        ----------
        inputs : (N, in_features) array or tensor
        y : (N, out_features) array or tensor

        Returns
        -------
        (N,) tensor
        """
        mean = self(inputs)
        y = to_model(y, self, name="y", ndim=2)
        if y.shape != mean.shape:
            raise ValueError(
                f"y must be {tuple(mean.shape)} (one row per input); got "
                f"{tuple(y.shape)}"
            )
        return _gaussian_nll(y, mean, self.logvar)


def predictor_loss(model: GaussianPredictor, inputs: Tensor, y: Tensor) -> Tensor:
    """Mean negative log-likelihood (nats), for ``fit(model, (inputs, y),
    objective=predictor_loss)``.

    Parameters
    ----------
    model : GaussianPredictor
    inputs : (N, in_features) array or tensor
    y : (N, out_features) array or tensor

    Returns
    -------
    scalar tensor

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`GaussianPredictor`.
    """
    if not isinstance(model, GaussianPredictor):
        raise TypeError(
            f"model must be a GaussianPredictor; got {type(model).__name__}"
        )
    return model.nll(inputs, y).mean()


class TEBLoss(NamedTuple):
    """The TEB objective's terms, batch means in nats (scalar tensors).

    Attributes
    ----------
    total : tensor
        ``distortion + beta * rate``.
    distortion : tensor
        E[-log p(y_(t+1) | z, y_(<=t))] with one sample of z per example.
    rate : tensor
        KL(q(z | x_(<=t), y_(<=t)) ‖ r(z | y_(<=t))), closed form: an upper bound on
        I(X_(<=t); Z | Y_(<=t)).
    """

    total: Tensor
    distortion: Tensor
    rate: Tensor


class TEB(nn.Module):
    """Transfer entropy bottleneck for a source and a target stream.

    Parameters
    ----------
    source_features : int
        Length of the source's past window (times its dimension, flattened).
    target_features : int
        Length of the target's past window (flattened).
    out_features : int
        Dimension of the predicted y_(t+1).
    latent_dim : int
        Dimension d of the code z.
    hidden : sequence of int
        Hidden widths of the encoder, the conditional prior and the predictor.
    beta : float
        The rate weight β >= 0 used when :meth:`loss` gets none.

    Attributes
    ----------
    encoder : GaussianEncoder
        ``(x_past, y_past) -> q(z | x_past, y_past)``.
    prior : GaussianEncoder
        ``y_past -> r(z | y_past)``.
    predictor : GaussianPredictor
        ``(z, y_past) -> p(y_next | z, y_past)``.
    """

    def __init__(
        self,
        source_features: int,
        target_features: int,
        out_features: int = 1,
        latent_dim: int = 2,
        *,
        hidden: Sequence[int] = (32, 32),
        beta: float = 0.1,
    ) -> None:
        super().__init__()
        self.source_features = check_int(source_features, "source_features", minimum=1)
        self.target_features = check_int(target_features, "target_features", minimum=1)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.beta = check_positive(beta, "beta", strict=False)
        hidden = tuple(check_int(h, "hidden width", minimum=1) for h in hidden)
        ds, dt, d = self.source_features, self.target_features, self.latent_dim
        self.encoder = GaussianEncoder(ds + dt, d, hidden)
        self.prior = GaussianEncoder(dt, d, hidden)
        self.predictor = GaussianPredictor(d + dt, out_features, hidden)

    def _inputs(self, x_past: object, y_past: object) -> tuple[Tensor, Tensor]:
        x_past = to_model(x_past, self, name="x_past", ndim=2)
        y_past = to_model(y_past, self, name="y_past", ndim=2)
        if x_past.shape[1] != self.source_features:
            raise ValueError(
                f"x_past must be (N, {self.source_features}); got {tuple(x_past.shape)}"
            )
        if y_past.shape[1] != self.target_features:
            raise ValueError(
                f"y_past must be (N, {self.target_features}); got {tuple(y_past.shape)}"
            )
        if x_past.shape[0] != y_past.shape[0]:
            raise ValueError(
                "x_past and y_past must have one row per time step each; got "
                f"{x_past.shape[0]} and {y_past.shape[0]} rows"
            )
        return x_past, y_past

    def encode(self, x_past: object, y_past: object) -> tuple[Tensor, Tensor]:
        """Parameters of q(z | x_past, y_past).

        Parameters
        ----------
        x_past : (N, source_features) array or tensor
        y_past : (N, target_features) array or tensor

        Returns
        -------
        mu, logvar : (N, latent_dim) tensors
        """
        x_past, y_past = self._inputs(x_past, y_past)
        return self.encoder(torch.cat([x_past, y_past], dim=1))

    def loss(
        self,
        x_past: object,
        y_past: object,
        y_next: object,
        *,
        beta: float | None = None,
    ) -> TEBLoss:
        """The objective ``distortion + beta * rate`` on a batch, in nats.

        Parameters
        ----------
        x_past : (N, source_features) array or tensor
        y_past : (N, target_features) array or tensor
        y_next : (N, out_features) array or tensor
        beta : float, optional
            The rate weight; defaults to ``self.beta``.

        Returns
        -------
        TEBLoss
            ``total``, ``distortion`` and ``rate`` (batch means, nats).

        Raises
        ------
        ValueError
            If the arrays do not match the model's sizes or each other, or
            ``beta < 0``.
        """
        b = self.beta if beta is None else check_positive(beta, "beta", strict=False)
        x_past, y_past = self._inputs(x_past, y_past)
        mu, logvar = self.encoder(torch.cat([x_past, y_past], dim=1))
        mu_r, logvar_r = self.prior(y_past)
        z = reparameterize(mu, logvar)
        nll = self.predictor.nll(torch.cat([z, y_past], dim=1), y_next)
        distortion = nll.mean()
        rate = gaussian_kl_between(mu, logvar, mu_r, logvar_r).mean()
        return TEBLoss(total=distortion + b * rate, distortion=distortion, rate=rate)

    @torch.no_grad()
    def log_likelihood(
        self,
        x_past: object,
        y_past: object,
        y_next: object,
        *,
        n_samples: int = 32,
        random_state: int | torch.Generator | None = None,
    ) -> Tensor:
        """Per-example log-likelihood through the code.

        E_(q(z | x, y))[log p(y_next | z, y_past)], averaged over L samples of z (minus
        the distortion, per example). Its mean exceeds a Bayes-optimal target-only
        log-likelihood by at most I(Y_(t+1); Z | Y_(<=t)), which is at most both the
        rate and the transfer entropy.

        Parameters
        ----------
        x_past, y_past, y_next : arrays or tensors as in :meth:`loss`
        n_samples : int
            L >= 1.
        random_state : int, torch.Generator or None
            Seed or generator for the samples (drawn on the CPU).

        Returns
        -------
        (N,) tensor
            In nats.
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        x_past, y_past = self._inputs(x_past, y_past)
        mu, logvar = self.encoder(torch.cat([x_past, y_past], dim=1))
        g = as_generator(random_state)
        xi = torch.randn((n_samples, *mu.shape), generator=g).to(mu)
        z = mu + torch.exp(0.5 * logvar) * xi  # (L, N, d)
        y_rep = y_past.expand(n_samples, *y_past.shape)
        inputs = torch.cat([z, y_rep], dim=-1).reshape(
            -1, z.shape[-1] + y_past.shape[1]
        )
        y_next_rep = to_model(y_next, self, name="y_next", ndim=2).repeat(n_samples, 1)
        nll = self.predictor.nll(inputs, y_next_rep).reshape(n_samples, -1)
        return -nll.mean(dim=0)


def teb_loss(
    model: TEB,
    x_past: Tensor,
    y_past: Tensor,
    y_next: Tensor,
    *,
    beta: float | None = None,
) -> TEBLoss:
    """The TEB objective as a function, for ``statlearn.training.fit(model, (x_past,
    y_past, y_next), objective=teb_loss)``.

    Parameters
    ----------
    model : TEB
    x_past : (N, source_features) array or tensor
    y_past : (N, target_features) array or tensor
    y_next : (N, out_features) array or tensor
    beta : float, optional
        Defaults to ``model.beta``.

    Returns
    -------
    TEBLoss
        In nats.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`TEB`.
    """
    if not isinstance(model, TEB):
        raise TypeError(f"model must be a TEB; got {type(model).__name__}")
    return model.loss(x_past, y_past, y_next, beta=beta)


def log_likelihood_gain(
    model: TEB,
    baseline: GaussianPredictor,
    x_past: object,
    y_past: object,
    y_next: object,
    *,
    n_samples: int = 32,
    random_state: int | torch.Generator | None = None,
) -> float:
    """Mean held-out log-likelihood through the TEB's code minus that of a target-only
    predictor.

    An estimate of the transfer entropy the TEB captures, in nats. When ``baseline`` is
    Bayes-optimal it is (in expectation) a lower bound on I(Y_(t+1); Z | Y_(<=t)), hence
    on both the rate and the true TE_(X->Y); a poor baseline inflates it.

    Parameters
    ----------
    model : TEB
    baseline : GaussianPredictor
        A predictor of ``y_next`` from ``y_past`` alone.
    x_past, y_past, y_next : arrays or tensors
        Held-out windows, as in :meth:`TEB.loss`.
    n_samples : int
        Samples of z for :meth:`TEB.log_likelihood`.
    random_state : int, torch.Generator or None
        Seed or generator for those samples.

    Returns
    -------
    float
        Nats per time step.

    Raises
    ------
    TypeError
        If ``model`` is not a TEB or ``baseline`` not a GaussianPredictor.
    """
    if not isinstance(model, TEB):
        raise TypeError(f"model must be a TEB; got {type(model).__name__}")
    if not isinstance(baseline, GaussianPredictor):
        raise TypeError(
            f"baseline must be a GaussianPredictor; got {type(baseline).__name__}"
        )
    ll = model.log_likelihood(
        x_past, y_past, y_next, n_samples=n_samples, random_state=random_state
    )
    with torch.no_grad():
        ll_base = -baseline.nll(y_past, y_next)
    return float(ll.mean().item() - ll_base.mean().item())
