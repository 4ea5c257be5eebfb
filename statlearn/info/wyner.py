r"""The variational Wyner model: a common latent for a pair of views (chapter 11).

Implements a variational-autoencoder form of the variational Wyner model of Ryu, Choi,
Kim, El-Khamy and Lee ("Learning with succinct common representation based on Wyner's
common information", arXiv 1905.10945; earlier "Wyner VAE"). A pair ``(x, y)`` is
generated from a common latent ``w`` and two local latents ``u`` (of ``x``) and ``v``
(of ``y``), all standard normal a priori:

.. math::

    p(w)\, p(u)\, p(v)\, p_\theta(x \mid w, u)\, p_\theta(y \mid w, v),

so that ``x`` and ``y`` are independent given ``w`` (Wyner's condition X - W - Y). The
encoders are ``q_φ(w | x, y)``, ``q_φ(u | x, w)`` and ``q_φ(v | y, w)``; a fourth,
``q_φ(w | x)``, is fitted in the same steps to a stop-gradient copy of
``q_φ(w | x, y)``, so that ``y`` can be generated from ``x`` alone. Decoders are
Gaussians with a learned mean (an MLP) and a learned per-feature variance.

The loss, in **bits** (every term is its natural-log value divided by ln 2) and
averaged over a batch, is

.. math::

    \text{distortion} + \text{local rate} + \beta \cdot \text{common rate}
    + \text{conditional fit},

with distortion ``E[-log_2 p(x | w, u) - log_2 p(y | w, v)]``, local rate
``KL(q(u | x, w) ‖ N(0, I)) + KL(q(v | y, w) ‖ N(0, I))``, common rate
``KL(q(w | x, y) ‖ N(0, I))`` (an upper bound on ``I(X, Y; W)`` under the encoder, the
term through which Wyner's common information ``C(X; Y) = min I(X, Y; W)`` regularises
the model) and conditional fit ``KL(sg q(w | x, y) ‖ q(w | x))``, whose gradient reaches
only ``q(w | x)``. At ``β = 1`` the first three terms are the negative ELBO of the
generative model above. The paper's weight on its common-information regulariser is λ;
the book writes β. An optional linear warm-up scales the three rates from 0 to their
full weight over the first ``warmup_steps`` training steps.

Randomness follows statlearn's rule (CONTRIBUTING.md): the loss draws its latent
samples on the data's device with ``random_state=None`` by default, so that
``statlearn.training.fit(random_state=...)`` repeats a run; the samplers draw on the
CPU, so a seed gives the same samples on every device.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import torch
from torch import Tensor, nn

from statlearn._checks import as_generator, check_int, check_positive, to_model
from statlearn.functional import gaussian_kl, gaussian_kl_between, gaussian_log_prob
from statlearn.latent.vae import GaussianEncoder, reparameterize
from statlearn.nets import mlp

__all__ = [
    "rotated_mixture_pairs",
    "WynerLoss",
    "WynerModel",
    "wyner_loss",
]

_LN2 = math.log(2.0)


def rotated_mixture_pairs(
    n_samples: int,
    *,
    n_components: int = 4,
    radius: float = 2.0,
    sd: float = 0.3,
    random_state: Any = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Pairs ``(x, y)`` that share one discrete factor: chapter 11's toy data.

    A component ``k`` is drawn uniformly from ``n_components``; ``x`` is Gaussian around
    the point at angle ``2πk / K`` on a circle of ``radius``, and ``y`` independently
    around the next point, at angle ``2π(k + 1) / K`` (for K = 4, the 90-degree rotation
    of ``x``'s component). Given ``k`` the two are independent, so ``k`` is a common
    variable and ``C(X; Y) <= H(k) = log_2 K`` bits.

    Parameters
    ----------
    n_samples : int
        Number of pairs, >= 1.
    n_components : int
        Number ``K`` of components, >= 2.
    radius : float
        Radius of the circle of component means, > 0.
    sd : float
        Standard deviation of each coordinate around its mean, > 0.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md); ``None`` follows
        ``statlearn.seed_everything``. Draws on the CPU.

    Returns
    -------
    x, y : (n_samples, 2) float32 tensors
    k : (n_samples,) int64 tensor
        The component of ``x`` (``y``'s is ``(k + 1) % K``).
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_components = check_int(n_components, "n_components", minimum=2)
    radius = check_positive(radius, "radius")
    sd = check_positive(sd, "sd")
    g = as_generator(random_state)
    k = torch.randint(0, n_components, (n_samples,), generator=g)
    angles = 2 * math.pi * torch.arange(n_components) / n_components
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    x = means[k] + sd * torch.randn(n_samples, 2, generator=g)
    y = means[(k + 1) % n_components] + sd * torch.randn(n_samples, 2, generator=g)
    return x, y, k


class WynerLoss(NamedTuple):
    """The variational Wyner objective's terms, batch means in bits (scalar tensors).

    Attributes
    ----------
    total : tensor
        ``distortion + weight * (local_rate + beta * common_rate) + conditional``.
    distortion : tensor
        E[-log_2 p(x | w, u) - log_2 p(y | w, v)] (one sample of each latent).
    common_rate : tensor
        KL(q(w | x, y) ‖ N(0, I)), closed form: an upper bound on I(X, Y; W).
    local_rate : tensor
        KL(q(u | x, w) ‖ N(0, I)) + KL(q(v | y, w) ‖ N(0, I)), closed form.
    conditional : tensor
        KL(q(w | x, y) ‖ q(w | x)) with q(w | x, y) detached: fits q(w | x) only.
    weight : tensor
        The warm-up factor in [0, 1] applied to the rates (1 without warm-up); a
        number, not an amount of information.
    """

    total: Tensor
    distortion: Tensor
    common_rate: Tensor
    local_rate: Tensor
    conditional: Tensor
    weight: Tensor
    units = "bits"


class WynerModel(nn.Module):
    """Variational Wyner model for a pair of continuous views (Ryu et al.).

    Parameters
    ----------
    in1_features : int
        Dimension of the first view ``x`` (two inputs are named as in
        ``torch.nn.Bilinear``).
    in2_features : int
        Dimension of the second view ``y``.
    common_dim : int
        Dimension of the common latent ``w``.
    local_dim : int
        Dimension of each local latent ``u`` and ``v``.
    hidden : sequence of int
        Hidden widths of every encoder and decoder MLP.
    beta : float
        The weight β >= 0 of the common rate, used when :meth:`loss` gets none.
    warmup_steps : int
        Training steps over which the rates' weight rises linearly from 0 to 1; 0 (the
        default) means no warm-up. A step is one call of :meth:`loss` in training mode
        with gradients enabled (one minibatch of ``statlearn.training.fit``).

    Attributes
    ----------
    encoder_w : GaussianEncoder
        ``(x, y) -> q(w | x, y)``.
    encoder_w_x : GaussianEncoder
        ``x -> q(w | x)``, for generating ``y`` from ``x``.
    encoder_u, encoder_v : GaussianEncoder
        ``(x, w) -> q(u | x, w)`` and ``(y, w) -> q(v | y, w)``.
    decoder_x, decoder_y : nn.Sequential
        ``(w, u) ->`` mean of ``x`` and ``(w, v) ->`` mean of ``y``.
    logvar_x, logvar_y : nn.Parameter
        The decoders' per-feature log-variances (natural log).
    steps_ : tensor
        Training steps taken so far (drives the warm-up).
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        common_dim: int = 2,
        local_dim: int = 2,
        *,
        hidden: Sequence[int] = (64, 64),
        beta: float = 1.0,
        warmup_steps: int = 0,
    ) -> None:
        super().__init__()
        self.in1_features = check_int(in1_features, "in1_features", minimum=1)
        self.in2_features = check_int(in2_features, "in2_features", minimum=1)
        self.common_dim = check_int(common_dim, "common_dim", minimum=1)
        self.local_dim = check_int(local_dim, "local_dim", minimum=1)
        self.beta = check_positive(beta, "beta", strict=False)
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", minimum=0)
        hidden = tuple(check_int(h, "hidden width", minimum=1) for h in hidden)
        dx, dy, dw, dl = (
            self.in1_features,
            self.in2_features,
            self.common_dim,
            local_dim,
        )
        self.encoder_w = GaussianEncoder(dx + dy, dw, hidden)
        self.encoder_w_x = GaussianEncoder(dx, dw, hidden)
        self.encoder_u = GaussianEncoder(dx + dw, dl, hidden)
        self.encoder_v = GaussianEncoder(dy + dw, dl, hidden)
        self.decoder_x = mlp(dw + dl, dx, hidden)
        self.decoder_y = mlp(dw + dl, dy, hidden)
        self.logvar_x = nn.Parameter(torch.zeros(dx))
        self.logvar_y = nn.Parameter(torch.zeros(dy))
        self.register_buffer("steps_", torch.zeros((), dtype=torch.long))

    # ---------------------------------------------------------------- inputs
    def _x(self, x: object) -> Tensor:
        x = to_model(x, self, name="x", ndim=2)
        if x.shape[1] != self.in1_features:
            raise ValueError(
                f"x must be (N, in1_features={self.in1_features}); got shape "
                f"{tuple(x.shape)}"
            )
        return x

    def _pair(self, x: object, y: object) -> tuple[Tensor, Tensor]:
        x = to_model(x, self, name="x", ndim=2)
        y = to_model(y, self, name="y", ndim=2)
        if x.shape[1] != self.in1_features or y.shape[1] != self.in2_features:
            raise ValueError(
                f"x and y must be (N, {self.in1_features}) and (N, "
                f"{self.in2_features}) (in1_features, in2_features); got "
                f"{tuple(x.shape)} and {tuple(y.shape)}"
            )
        if x.shape[0] != y.shape[0]:
            raise ValueError(
                f"x and y must hold the same number of pairs; got {x.shape[0]} and "
                f"{y.shape[0]}"
            )
        return x, y

    def _warmup_weight(self, like: Tensor) -> Tensor:
        """The rates' weight min(1, steps / warmup_steps), computed on the model's
        device (no host synchronisation per step)."""
        if self.warmup_steps == 0:
            return torch.ones((), dtype=like.dtype, device=like.device)
        ratio = self.steps_.to(like.dtype) / self.warmup_steps
        return ratio.clamp(max=1.0).to(like.device)

    # ---------------------------------------------------------------- pieces
    def encode_common(self, x: object, y: object) -> tuple[Tensor, Tensor]:
        """Parameters of q(w | x, y).

        Parameters
        ----------
        x : (N, in1_features) array or tensor
        y : (N, in2_features) array or tensor

        Returns
        -------
        mu, logvar : (N, common_dim) tensors
        """
        x, y = self._pair(x, y)
        return self.encoder_w(torch.cat([x, y], dim=1))

    def loss(
        self,
        x: object,
        y: object,
        *,
        beta: float | None = None,
        random_state: Any = None,
        check_input: bool = True,
    ) -> WynerLoss:
        """The objective on a batch of pairs, in bits (one sample of each latent).

        Parameters
        ----------
        x : (N, in1_features) array or tensor
        y : (N, in2_features) array or tensor
        beta : float, optional
            The common rate's weight; defaults to ``self.beta``.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). The samples of ``w``,
            ``u`` and ``v`` are drawn, in that order, on the model's device; ``None``
            follows torch's global generator (``statlearn.seed_everything``, or
            ``fit(random_state=...)`` during training).
        check_input : bool
            Check the arrays (finite, shapes); ``fit``, which checked its data once,
            passes ``False`` so that no training step reads the device.

        Returns
        -------
        WynerLoss
            Batch means in bits; differentiable. In training mode with gradients
            enabled the call also advances the warm-up counter ``steps_``.

        Raises
        ------
        ValueError
            If ``x`` and ``y`` are not 2-D with the model's feature counts and one
            ``y`` per ``x``, or ``beta < 0``.
        """
        b = self.beta if beta is None else check_positive(beta, "beta", strict=False)
        if check_input:
            x, y = self._pair(x, y)
        g = as_generator(random_state, device=x.device)
        weight = self._warmup_weight(x)
        if self.training and torch.is_grad_enabled():
            self.steps_ += 1
        mu_w, logvar_w = self.encoder_w(torch.cat([x, y], dim=1))
        w = reparameterize(mu_w, logvar_w, random_state=g)
        mu_u, logvar_u = self.encoder_u(torch.cat([x, w], dim=1))
        mu_v, logvar_v = self.encoder_v(torch.cat([y, w], dim=1))
        u = reparameterize(mu_u, logvar_u, random_state=g)
        v = reparameterize(mu_v, logvar_v, random_state=g)
        mean_x = self.decoder_x(torch.cat([w, u], dim=1))
        mean_y = self.decoder_y(torch.cat([w, v], dim=1))
        log_p = gaussian_log_prob(x, mean_x, self.logvar_x) + gaussian_log_prob(
            y, mean_y, self.logvar_y
        )
        distortion = -log_p.mean() / _LN2
        common = gaussian_kl(mu_w, logvar_w).mean() / _LN2
        local = (gaussian_kl(mu_u, logvar_u) + gaussian_kl(mu_v, logvar_v)).mean()
        local = local / _LN2
        mu_c, logvar_c = self.encoder_w_x(x)
        conditional = gaussian_kl_between(
            mu_w.detach(), logvar_w.detach(), mu_c, logvar_c
        ).mean()
        conditional = conditional / _LN2
        total = distortion + weight * (local + b * common) + conditional
        return WynerLoss(
            total=total,
            distortion=distortion,
            common_rate=common,
            local_rate=local,
            conditional=conditional,
            weight=weight,
        )

    def _decode(
        self, w: Tensor, local: Tensor, which: str, noise: bool, g: torch.Generator
    ) -> Tensor:
        decoder, logvar = (
            (self.decoder_x, self.logvar_x)
            if which == "x"
            else (self.decoder_y, self.logvar_y)
        )
        mean = decoder(torch.cat([w, local], dim=1))
        if not noise:
            return mean
        xi = torch.randn(mean.shape, generator=g).to(mean)
        return mean + torch.exp(0.5 * logvar) * xi

    def _standard_normal(self, n: int, d: int, g: torch.Generator) -> Tensor:
        p = self.logvar_x
        return torch.randn(n, d, generator=g).to(device=p.device, dtype=p.dtype)

    @torch.no_grad()
    def sample(
        self,
        n_samples: int = 1,
        *,
        random_state: Any = None,
        noise: bool = True,
    ) -> tuple[Tensor, Tensor]:
        """Joint samples: ``w, u, v ~ N(0, I)``, then ``x ~ p(x | w, u)`` and
        ``y ~ p(y | w, v)``.

        Parameters
        ----------
        n_samples : int
            Number of pairs, >= 1.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md); ``None`` follows
            ``statlearn.seed_everything``. Draws on the CPU and moves the numbers to
            the model, so a seed gives the same pairs on every device.
        noise : bool
            Add the decoders' Gaussian noise (True) or return their means.

        Returns
        -------
        x : (n_samples, in1_features) tensor
        y : (n_samples, in2_features) tensor
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        g = as_generator(random_state)
        w = self._standard_normal(n_samples, self.common_dim, g)
        u = self._standard_normal(n_samples, self.local_dim, g)
        v = self._standard_normal(n_samples, self.local_dim, g)
        return self._decode(w, u, "x", noise, g), self._decode(w, v, "y", noise, g)

    @torch.no_grad()
    def sample_y_given_x(
        self,
        x: object,
        *,
        random_state: Any = None,
        noise: bool = True,
    ) -> Tensor:
        """Conditional samples: ``w ~ q(w | x)``, ``v ~ N(0, I)``, ``y ~ p(y | w, v)``.

        Parameters
        ----------
        x : (N, in1_features) array or tensor
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md); ``None`` follows
            ``statlearn.seed_everything``. Draws on the CPU, so a seed gives the same
            samples on every device.
        noise : bool
            Add the decoder's Gaussian noise (True) or return its mean.

        Returns
        -------
        (N, in2_features) tensor
            One ``y`` per row of ``x``.

        Raises
        ------
        ValueError
            If ``x`` is not ``(N, in1_features)``.
        """
        x = self._x(x)
        g = as_generator(random_state)
        mu, logvar = self.encoder_w_x(x)
        xi = self._standard_normal(x.shape[0], self.common_dim, g)
        w = mu + torch.exp(0.5 * logvar) * xi
        v = self._standard_normal(x.shape[0], self.local_dim, g)
        return self._decode(w, v, "y", noise, g)


def wyner_loss(
    model: WynerModel,
    x: Tensor,
    y: Tensor,
    *,
    beta: float | None = None,
    random_state: Any = None,
    check_input: bool = True,
) -> WynerLoss:
    """The variational Wyner objective as a function, for
    ``statlearn.training.fit(model, (x, y), objective=wyner_loss)``.

    Parameters
    ----------
    model : WynerModel
        The model; its ``beta`` is used unless ``beta`` is given.
    x : (N, in1_features) array or tensor
    y : (N, in2_features) array or tensor
    beta : float, optional
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See :meth:`WynerModel.loss`; ``None`` (the default inside ``fit``) lets
        ``fit(random_state=...)`` repeat a run.
    check_input : bool
        Check the arrays (finite, shapes); ``fit``, which checked its data once,
        passes ``False`` so that no training step reads the device.

    Returns
    -------
    WynerLoss
        The terms, in bits.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`WynerModel`.
    """
    if not isinstance(model, WynerModel):
        raise TypeError(f"model must be a WynerModel; got {type(model).__name__}")
    return model.loss(
        x, y, beta=beta, random_state=random_state, check_input=check_input
    )
