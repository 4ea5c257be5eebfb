r"""The transfer entropy bottleneck for two streams (chapter 12).

Implements the transfer entropy bottleneck (TEB) of Kalajdzievski, Mao,
Fortier-Poisson, Lajoie and Richards (TMLR 2023) for a source stream X_t and a target
stream Y_t. The next target value is predicted from the target's own past and a
stochastic code z of the source's past:

    q_φ(z | x_(<=t), y_(<=t))      the encoder (it sees both pasts),
    r(z | y_(<=t))               the conditional prior (target past only),
    p_θ(y_(t+1) | z, y_(<=t))      a Gaussian predictor with learned variance,

.. math::

    \text{loss} = \E\big[-\log_2 p_\theta(y_{t+1} \mid z, y_{\le t})\big]
    + \beta\, \KL\big(q_\phi(z \mid x, y) \,\|\, r(z \mid y)\big).

What the numbers bound (bits throughout: each natural-log value divided by ln 2;
only the log-densities :meth:`GaussianPredictor.log_prob` and
:meth:`TEB.log_likelihood` are in nats, as their names say):

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

Pasts are fixed windows of the last ``history`` values. Randomness follows statlearn's
rule (CONTRIBUTING.md): the loss draws its code samples on the data's device with
``random_state=None`` by default, so that ``statlearn.training.fit(random_state=...)``
repeats a run; the data and the held-out log-likelihood draw on the CPU.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import torch
from torch import Tensor, nn

from statlearn._checks import (
    as_float,
    as_generator,
    check_int,
    check_positive,
    to_model,
)
from statlearn.functional import gaussian_kl_between, gaussian_log_prob
from statlearn.latent.vae import GaussianEncoder, reparameterize
from statlearn.nets import mlp

__all__ = [
    "linear_gaussian_streams",
    "linear_gaussian_transfer_entropy",
    "GaussianPredictor",
    "PredictorLoss",
    "predictor_loss",
    "TEB",
    "TEBLoss",
    "teb_loss",
    "log_likelihood_gain",
]

_LN2 = math.log(2.0)


def linear_gaussian_transfer_entropy(c: float, *, noise_sd: float = 0.5) -> float:
    """True transfer entropy of :func:`linear_gaussian_streams`, in bits.

    For y_(t+1) = a y_t + c x_t + s ξ_t with x_t, ξ_t iid N(0, 1), the target's past
    leaves variance c^2 + s^2 unexplained and both pasts leave s^2, so

        TE_(X->Y) = 1/2 log_2(1 + c^2 / s^2) bits

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
        The transfer entropy in bits.
    """
    s = check_positive(noise_sd, "noise_sd")
    c = as_float(c, "c")
    return 0.5 * math.log1p(c * c / (s * s)) / _LN2


def linear_gaussian_streams(
    n_samples: int,
    *,
    c: float = 1.0,
    a: float = 0.8,
    noise_sd: float = 0.5,
    history: int = 3,
    burn_in: int = 100,
    random_state: Any = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Windows of a linear Gaussian source-target system: chapter 12's data.

    Simulates y_(t+1) = a y_t + c x_t + s ξ_t with x_t, ξ_t iid N(0, 1) for one long
    run and cuts it into ``n_samples`` consecutive windows.

    Parameters
    ----------
    n_samples : int
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
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md); ``None`` follows
        ``statlearn.seed_everything``. Draws on the CPU.

    Returns
    -------
    x_past : (n_samples, H) tensor
        x_(t-H+1), ..., x_t (the last column is x_t).
    y_past : (n_samples, H) tensor
        y_(t-H+1), ..., y_t.
    y_next : (n_samples, 1) tensor
        y_(t+1).
    """
    n = check_int(n_samples, "n_samples", minimum=1)
    history = check_int(history, "history", minimum=1)
    burn_in = check_int(burn_in, "burn_in", minimum=0)
    s = check_positive(noise_sd, "noise_sd")
    a, c = as_float(a, "a"), as_float(c, "c")
    if not abs(a) < 1:
        raise ValueError(f"a must satisfy |a| < 1 (a stationary target); got {a}")
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
        ``(out_features,)`` log-variances (natural log).
    """

    def __init__(
        self, in_features: int, out_features: int = 1, hidden: Sequence[int] = (32,)
    ) -> None:
        super().__init__()
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        self.net = mlp(self.in_features, self.out_features, tuple(hidden))
        self.logvar = nn.Parameter(torch.zeros(self.out_features))

    def _inputs(self, inputs: object) -> Tensor:
        inputs = to_model(inputs, self, name="inputs", ndim=2)
        if inputs.shape[1] != self.in_features:
            raise ValueError(
                f"inputs must be (N, in_features={self.in_features}); got "
                f"{tuple(inputs.shape)}"
            )
        return inputs

    def _targets(self, y: object, n: int, name: str = "y") -> Tensor:
        y = to_model(y, self, name=name, ndim=2)
        if tuple(y.shape) != (n, self.out_features):
            raise ValueError(
                f"{name} must be ({n}, {self.out_features}) (one row per input); got "
                f"{tuple(y.shape)}"
            )
        return y

    def forward(self, inputs: Tensor) -> Tensor:
        """The predictive mean.

        Parameters
        ----------
        inputs : (N, in_features) array or tensor

        Returns
        -------
        (N, out_features) tensor
        """
        return self.net(self._inputs(inputs))

    def _log_prob(self, inputs: Tensor, y: Tensor) -> Tensor:
        """:meth:`log_prob` on checked tensors (nats)."""
        return gaussian_log_prob(y, self.net(inputs), self.logvar)

    def log_prob(self, inputs: Tensor, y: Tensor) -> Tensor:
        """Per-example log-likelihood log p(y | inputs), in nats.

        Parameters
        ----------
        inputs : (N, in_features) array or tensor
        y : (N, out_features) array or tensor

        Returns
        -------
        (N,) tensor
            Natural-log densities (divide by ln 2 for bits).
        """
        inputs = self._inputs(inputs)
        return self._log_prob(inputs, self._targets(y, inputs.shape[0]))


class PredictorLoss(NamedTuple):
    """The target-only predictor's objective, a batch mean in bits (scalar tensors).

    Attributes
    ----------
    total : tensor
        The loss minimised, equal to ``distortion``.
    distortion : tensor
        E[-log_2 p(y | inputs)], comparable with :class:`TEBLoss`'s distortion.
    """

    total: Tensor
    distortion: Tensor
    units = "bits"


def predictor_loss(
    model: GaussianPredictor, inputs: Tensor, y: Tensor
) -> PredictorLoss:
    """Mean negative log-likelihood in bits, for ``fit(model, (inputs, y),
    objective=predictor_loss)``.

    Parameters
    ----------
    model : GaussianPredictor
    inputs : (N, in_features) array or tensor
    y : (N, out_features) array or tensor

    Returns
    -------
    PredictorLoss
        ``total`` and ``distortion`` (the same number, bits).

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`GaussianPredictor`.
    """
    if not isinstance(model, GaussianPredictor):
        raise TypeError(
            f"model must be a GaussianPredictor; got {type(model).__name__}"
        )
    distortion = -model.log_prob(inputs, y).mean() / _LN2
    return PredictorLoss(total=distortion, distortion=distortion)


class TEBLoss(NamedTuple):
    """The TEB objective's terms, batch means in bits (scalar tensors).

    Attributes
    ----------
    total : tensor
        ``distortion + beta * rate``.
    distortion : tensor
        E[-log_2 p(y_(t+1) | z, y_(<=t))] with one sample of z per example.
    rate : tensor
        KL(q(z | x_(<=t), y_(<=t)) ‖ r(z | y_(<=t))), closed form: an upper bound on
        I(X_(<=t); Z | Y_(<=t)).
    """

    total: Tensor
    distortion: Tensor
    rate: Tensor
    units = "bits"


class TEB(nn.Module):
    """Transfer entropy bottleneck for a source and a target stream.

    Parameters
    ----------
    in1_features : int
        Length of the source's past window ``x_past`` (times its dimension,
        flattened); two inputs are named as in ``torch.nn.Bilinear``.
    in2_features : int
        Length of the target's past window ``y_past`` (flattened).
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
        in1_features: int,
        in2_features: int,
        out_features: int = 1,
        latent_dim: int = 2,
        *,
        hidden: Sequence[int] = (32, 32),
        beta: float = 0.1,
    ) -> None:
        super().__init__()
        self.in1_features = check_int(in1_features, "in1_features", minimum=1)
        self.in2_features = check_int(in2_features, "in2_features", minimum=1)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.beta = check_positive(beta, "beta", strict=False)
        hidden = tuple(check_int(h, "hidden width", minimum=1) for h in hidden)
        ds, dt, d = self.in1_features, self.in2_features, self.latent_dim
        self.encoder = GaussianEncoder(ds + dt, d, hidden)
        self.prior = GaussianEncoder(dt, d, hidden)
        self.predictor = GaussianPredictor(d + dt, out_features, hidden)

    def _inputs(
        self, x_past: object, y_past: object, y_next: object = None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        x_past = to_model(x_past, self, name="x_past", ndim=2)
        y_past = to_model(y_past, self, name="y_past", ndim=2)
        if x_past.shape[1] != self.in1_features:
            raise ValueError(
                f"x_past must be (N, in1_features={self.in1_features}); got "
                f"{tuple(x_past.shape)}"
            )
        if y_past.shape[1] != self.in2_features:
            raise ValueError(
                f"y_past must be (N, in2_features={self.in2_features}); got "
                f"{tuple(y_past.shape)}"
            )
        if x_past.shape[0] != y_past.shape[0]:
            raise ValueError(
                "x_past and y_past must have one row per time step each; got "
                f"{x_past.shape[0]} and {y_past.shape[0]} rows"
            )
        if y_next is not None:
            y_next = self.predictor._targets(y_next, x_past.shape[0], "y_next")
        return x_past, y_past, y_next

    def encode(self, x_past: object, y_past: object) -> tuple[Tensor, Tensor]:
        """Parameters of q(z | x_past, y_past).

        Parameters
        ----------
        x_past : (N, in1_features) array or tensor
        y_past : (N, in2_features) array or tensor

        Returns
        -------
        mu, logvar : (N, latent_dim) tensors
        """
        x_past, y_past, _ = self._inputs(x_past, y_past)
        return self.encoder(torch.cat([x_past, y_past], dim=1))

    def loss(
        self,
        x_past: object,
        y_past: object,
        y_next: object,
        *,
        beta: float | None = None,
        random_state: Any = None,
        check_input: bool = True,
    ) -> TEBLoss:
        """The objective ``distortion + beta * rate`` on a batch, in bits.

        Parameters
        ----------
        x_past : (N, in1_features) array or tensor
        y_past : (N, in2_features) array or tensor
        y_next : (N, out_features) array or tensor
        beta : float, optional
            The rate weight; defaults to ``self.beta``.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). The sample of z is drawn
            on the model's device; ``None`` follows torch's global generator
            (``statlearn.seed_everything``, or ``fit(random_state=...)`` during
            training).
        check_input : bool
            Check the arrays (finite, shapes); ``fit``, which checked its data once,
            passes ``False`` so that no training step reads the device.

        Returns
        -------
        TEBLoss
            ``total``, ``distortion`` and ``rate`` (batch means, bits).

        Raises
        ------
        ValueError
            If the arrays do not match the model's sizes or each other, or
            ``beta < 0``.
        """
        b = self.beta if beta is None else check_positive(beta, "beta", strict=False)
        if check_input:
            x_past, y_past, y_next = self._inputs(x_past, y_past, y_next)
        g = as_generator(random_state, device=x_past.device)
        mu, logvar = self.encoder(torch.cat([x_past, y_past], dim=1))
        mu_r, logvar_r = self.prior(y_past)
        z = reparameterize(mu, logvar, random_state=g)
        log_p = self.predictor._log_prob(torch.cat([z, y_past], dim=1), y_next)
        distortion = -log_p.mean() / _LN2
        rate = gaussian_kl_between(mu, logvar, mu_r, logvar_r).mean() / _LN2
        return TEBLoss(total=distortion + b * rate, distortion=distortion, rate=rate)

    def _log_likelihood(
        self,
        x_past: Tensor,
        y_past: Tensor,
        y_next: Tensor,
        n_samples: int,
        g: torch.Generator,
    ) -> Tensor:
        """:meth:`log_likelihood` on checked tensors, with a CPU generator."""
        mu, logvar = self.encoder(torch.cat([x_past, y_past], dim=1))
        xi = torch.randn((n_samples, *mu.shape), generator=g).to(mu)
        z = mu + torch.exp(0.5 * logvar) * xi  # (L, N, d)
        y_rep = y_past.expand(n_samples, *y_past.shape)
        inputs = torch.cat([z, y_rep], dim=-1).reshape(
            -1, z.shape[-1] + y_past.shape[1]
        )
        log_p = self.predictor._log_prob(inputs, y_next.repeat(n_samples, 1))
        return log_p.reshape(n_samples, -1).mean(dim=0)

    @torch.no_grad()
    def log_likelihood(
        self,
        x_past: object,
        y_past: object,
        y_next: object,
        *,
        n_samples: int = 32,
        random_state: Any = None,
    ) -> Tensor:
        """Per-example log-likelihood through the code, in nats.

        E_(q(z | x, y))[log p(y_next | z, y_past)], averaged over L samples of z (minus
        the distortion, per example, in nats). Its mean exceeds a Bayes-optimal
        target-only log-likelihood by at most I(Y_(t+1); Z | Y_(<=t)), which is at most
        both the rate and the transfer entropy.

        Parameters
        ----------
        x_past, y_past, y_next : arrays or tensors as in :meth:`loss`
        n_samples : int
            L >= 1.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). The samples are drawn on
            the CPU and moved to the model, so a seed gives the same value on every
            device.

        Returns
        -------
        (N,) tensor
            Natural-log likelihoods (divide by ln 2 for bits).
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        x_past, y_past, y_next = self._inputs(x_past, y_past, y_next)
        g = as_generator(random_state)
        return self._log_likelihood(x_past, y_past, y_next, n_samples, g)


def teb_loss(
    model: TEB,
    x_past: Tensor,
    y_past: Tensor,
    y_next: Tensor,
    *,
    beta: float | None = None,
    random_state: Any = None,
    check_input: bool = True,
) -> TEBLoss:
    """The TEB objective as a function, for ``statlearn.training.fit(model, (x_past,
    y_past, y_next), objective=teb_loss)``.

    Parameters
    ----------
    model : TEB
    x_past : (N, in1_features) array or tensor
    y_past : (N, in2_features) array or tensor
    y_next : (N, out_features) array or tensor
    beta : float, optional
        Defaults to ``model.beta``.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See :meth:`TEB.loss`; ``None`` (the default inside ``fit``) lets
        ``fit(random_state=...)`` repeat a run.
    check_input : bool
        Check the arrays (finite, shapes); ``fit``, which checked its data once,
        passes ``False`` so that no training step reads the device.

    Returns
    -------
    TEBLoss
        In bits.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`TEB`.
    """
    if not isinstance(model, TEB):
        raise TypeError(f"model must be a TEB; got {type(model).__name__}")
    return model.loss(
        x_past,
        y_past,
        y_next,
        beta=beta,
        random_state=random_state,
        check_input=check_input,
    )


@torch.no_grad()
def log_likelihood_gain(
    model: TEB,
    baseline: GaussianPredictor,
    x_past: object,
    y_past: object,
    y_next: object,
    *,
    n_samples: int = 32,
    random_state: Any = None,
) -> float:
    """Mean held-out log-likelihood through the TEB's code minus that of a target-only
    predictor, in bits.

    An estimate of the transfer entropy the TEB captures. When ``baseline`` is
    Bayes-optimal it is (in expectation) a lower bound on I(Y_(t+1); Z | Y_(<=t)), hence
    on both the rate and the true TE_(X->Y); a poor baseline inflates it.

    Parameters
    ----------
    model : TEB
    baseline : GaussianPredictor
        A predictor of ``y_next`` from ``y_past`` alone, on the TEB's device and dtype.
    x_past, y_past, y_next : arrays or tensors
        Held-out windows, as in :meth:`TEB.loss`.
    n_samples : int
        Samples of z for :meth:`TEB.log_likelihood`.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md); the samples of z are drawn
        on the CPU.

    Returns
    -------
    float
        Bits per time step.

    Raises
    ------
    TypeError
        If ``model`` is not a TEB or ``baseline`` not a GaussianPredictor.
    ValueError
        If ``baseline`` does not take the target's past as its input.
    """
    if not isinstance(model, TEB):
        raise TypeError(f"model must be a TEB; got {type(model).__name__}")
    if not isinstance(baseline, GaussianPredictor):
        raise TypeError(
            f"baseline must be a GaussianPredictor; got {type(baseline).__name__}"
        )
    sizes = (model.in2_features, model.predictor.out_features)
    if (baseline.in_features, baseline.out_features) != sizes:
        raise ValueError(
            "baseline must predict y_next from the target's past alone: "
            f"(in_features, out_features) = {sizes}; got "
            f"{(baseline.in_features, baseline.out_features)}"
        )
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    x_past, y_past, y_next = model._inputs(x_past, y_past, y_next)
    g = as_generator(random_state)
    ll = model._log_likelihood(x_past, y_past, y_next, n_samples, g)
    ll_base = baseline._log_prob(y_past.to(baseline.logvar), y_next.to(baseline.logvar))
    return (float(ll.mean()) - float(ll_base.mean())) / _LN2
