"""The deep variational information bottleneck classifier (chapter 8).

Implements the deep VIB of Alemi, Fischer, Dillon and Murphy (2017): a stochastic
Gaussian encoder q_φ(z | x) = N(μ_φ(x), diag σ^2_φ(x)),
a decoder q_θ(y | z) on the sampled code, and the variational bound on the
information bottleneck (Tishby, Pereira and Bialek, 2000) written in the book's
rate-distortion form

    loss = E_(q_φ(z | x))[-log_2 q_θ(y | z)] + β KL (q_φ(z | x) ‖ N(0, I)) / ln 2,

averaged over a batch. The distortion bounds H(Y) - I(Z; Y) from above and the rate
bounds I(X; Z) from above, so the loss is a variational upper bound on the book's IB
Lagrangian H(Y | Z) + β I(X; Z). The rate is the VAE's rate term (chapter 3): the
encoder pieces (:class:`~statlearn.latent.vae.GaussianEncoder`,
:func:`~statlearn.latent.vae.reparameterize`, :func:`~statlearn.latent.vae.gaussian_kl`)
are the VAE's. Training uses one sample of z per example (the reparameterisation trick);
prediction averages the softmax over L samples. Rate and distortion are reported in
**bits**.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from statlearn._checks import (
    as_tensor,
    check_int,
    check_labels,
    check_positive,
    to_model,
)
from statlearn.latent.vae import GaussianEncoder, gaussian_kl, reparameterize

__all__ = ["VIB", "VIBLoss", "vib_loss", "log_mean_softmax"]

_LN2 = math.log(2.0)


def log_mean_softmax(logits: Any, dim: int = 0) -> Tensor:
    """The log of the softmax averaged over draws: log 1/L Σ_(l=1)^L softmax(f_l).

    The prediction of a stochastic classifier from L draws (the VIB's samples of z,
    randomized smoothing's noise, an attack's expectation over random input maps),
    computed stably with ``logsumexp``. Its softmax is the averaged prediction, so it
    can be used as logits. Shared by :class:`VIB`,
    :class:`statlearn.robust.smoothing.Smooth` and
    :class:`statlearn.robust.attacks.EOT`.

    Parameters
    ----------
    logits : (..., L, ..., C) array or tensor
        Logits of each draw; classes on the last axis. A tensor keeps its device and
        dtype; a NumPy array becomes a tensor (float64 stays float64).
    dim : int
        The axis of the L draws (not the last one).

    Returns
    -------
    tensor
        ``logits``'s shape without ``dim``: log-probabilities.
    """
    if not isinstance(logits, Tensor):
        logits = as_tensor(logits, name="logits")
    if logits.ndim < 2:
        raise ValueError(
            "logits must have a draws axis and a class axis; got shape "
            f"{tuple(logits.shape)}"
        )
    d = dim % logits.ndim
    if d == logits.ndim - 1:
        raise ValueError("dim must be the draws axis, not the last (class) axis")
    log_p = torch.log_softmax(logits, dim=-1)
    return torch.logsumexp(log_p, dim=d) - math.log(logits.shape[d])


class VIBLoss(NamedTuple):
    """The VIB objective's terms, batch means in bits (scalar tensors).

    Attributes
    ----------
    total : tensor
        ``distortion + beta * rate``: the quantity minimised.
    distortion : tensor
        Cross-entropy E_(q(z | x))[-log_2 q(y | z)] (one-sample estimate by default).
    rate : tensor
        KL(q(z | x) ‖ N(0, I)) in closed form, in bits.
    """

    total: Tensor
    distortion: Tensor
    rate: Tensor


class VIB(nn.Module):
    """Deep variational information bottleneck classifier (Alemi et al., 2017).

    ``x -> q(z | x) = N(mu(x), diag(exp(logvar(x))))`` (an MLP
    :class:`~statlearn.latent.vae.GaussianEncoder`), then ``z -> logits`` (the decoder;
    a linear softmax classifier by default, as in the paper).

    In training mode ``forward`` draws one z per example and returns its logits; in eval
    mode it returns the log of the softmax averaged over ``n_samples_eval`` draws, log
    1/L Σ_(l=1)^L softmax(f(z_l)), which are valid logits (their softmax is the averaged
    prediction). An attack on the model in eval mode therefore attacks the
    sample-averaged prediction, the same one the defender uses.

    Parameters
    ----------
    in_features : int
        The input size ``D`` after flattening (64 for 8x8 digits).
    num_classes : int
        The number of classes ``C``.
    latent_dim : int
        The dimension ``d`` of ``z``.
    hidden : sequence of int
        Hidden widths of the encoder MLP.
    decoder_hidden : sequence of int
        Hidden widths of the decoder MLP; ``()`` (default) is a linear decoder.
    beta : float
        The rate weight β ≥ 0 used by :meth:`loss` when none is passed.
    n_samples_eval : int
        The number L of samples averaged at prediction.

    Attributes
    ----------
    encoder : GaussianEncoder
        ``x -> (mu, logvar)``, each ``(N, d)``.
    decoder : nn.Module
        ``(M, d) -> (M, C)`` logits.

    Examples
    --------
    >>> from statlearn.training import fit
    >>> model = VIB(64, 10, latent_dim=16, beta=1e-2)  # doctest: +SKIP
    >>> history = fit(model, (x, y), objective=vib_loss)  # doctest: +SKIP
    >>> history["rate"][-1], history["distortion"][-1]  # bits  # doctest: +SKIP
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        latent_dim: int = 32,
        *,
        hidden: Sequence[int] = (256,),
        decoder_hidden: Sequence[int] = (),
        beta: float = 1e-3,
        n_samples_eval: int = 12,
    ) -> None:
        super().__init__()
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.num_classes = check_int(num_classes, "num_classes", minimum=2)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.beta = check_positive(beta, "beta", strict=False)
        self.n_samples_eval = check_int(n_samples_eval, "n_samples_eval", minimum=1)
        self.encoder = GaussianEncoder(
            self.in_features, self.latent_dim, hidden=tuple(hidden)
        )
        widths = [
            check_int(h, "decoder_hidden width", minimum=1) for h in decoder_hidden
        ]
        layers: list[nn.Module] = []
        prev = self.latent_dim
        for width in widths:
            layers += [nn.Linear(prev, width), nn.ReLU()]
            prev = width
        layers.append(nn.Linear(prev, self.num_classes))
        self.decoder = nn.Sequential(*layers)

    def _input(self, x: Tensor) -> Tensor:
        """``x`` at the model's dtype and device; NaN or infinite inputs are a
        ``ValueError`` (they would come out as NaN logits)."""
        x = to_model(x, self, name="x")
        if x.ndim < 2:
            raise ValueError(
                f"x must be a batch (N, ...) with {self.in_features} features per "
                f"sample; got shape {tuple(x.shape)}"
            )
        return x

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The encoder's parameters.

        Parameters
        ----------
        x : (N, ...) tensor with ``in_features`` values per sample

        Returns
        -------
        mu, logvar : (N, d) tensors
        """
        return self.encoder(self._input(x))

    def decode(self, z: Tensor) -> Tensor:
        """Logits of q(y | z) for codes of any leading shape.

        Parameters
        ----------
        z : (..., d) tensor

        Returns
        -------
        (..., C) tensor
        """
        lead = z.shape[:-1]
        return self.decoder(z.reshape(-1, z.shape[-1])).reshape(*lead, self.num_classes)

    def forward(self, x: Tensor, n_samples: int | None = None) -> Tensor:
        """Logits of the classifier.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Inputs with ``in_features`` values per sample.
        n_samples : int, optional
            Average the softmax over this many samples of z. By default one sample (raw
            logits) in training mode and ``n_samples_eval`` in eval mode.

        Returns
        -------
        (N, C) tensor
            In training mode without ``n_samples``: the logits of one sample. Otherwise
            log 1/L Σ_l softmax(f(z_l)), log-probabilities that
            act as logits.
        """
        mu, logvar = self.encode(x)
        if n_samples is None:
            if self.training:
                return self.decode(reparameterize(mu, logvar))
            n_samples = self.n_samples_eval
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        z = reparameterize(mu, logvar, n_samples)
        if n_samples == 1:
            z = z.unsqueeze(0)
        return log_mean_softmax(self.decode(z), dim=0)  # draws on axis 0: (L, N, C)

    def loss(
        self, x: Tensor, y: Tensor, *, beta: float | None = None, n_samples: int = 1
    ) -> VIBLoss:
        """The VIB objective ``distortion + beta * rate`` on a batch, in bits.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Inputs.
        y : (N,) int array or tensor
            Labels in ``[0, num_classes)``.
        beta : float, optional
            The rate weight; defaults to ``self.beta``.
        n_samples : int
            Samples of z per example for the distortion's Monte Carlo estimate (1 in
            training, as in the paper).

        Returns
        -------
        VIBLoss
            ``total``, ``distortion`` and ``rate`` (batch means, bits); differentiable.

        Raises
        ------
        ValueError
            If ``y`` does not hold one label in ``[0, num_classes)`` per input, or
            ``beta < 0``.
        """
        b = self.beta if beta is None else check_positive(beta, "beta", strict=False)
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        mu, logvar = self.encode(x)
        y = check_labels(y, self.num_classes, n=mu.shape[0], device=mu.device)
        z = reparameterize(mu, logvar, n_samples)
        if n_samples == 1:
            z = z.unsqueeze(0)
        logits = self.decode(z)  # (L, N, C)
        ce = F.cross_entropy(logits.reshape(-1, self.num_classes), y.repeat(n_samples))
        distortion = ce / _LN2
        rate = gaussian_kl(mu, logvar).mean() / _LN2
        return VIBLoss(total=distortion + b * rate, distortion=distortion, rate=rate)


def vib_loss(model: VIB, x: Tensor, y: Tensor, *, beta: float | None = None) -> VIBLoss:
    """The VIB objective as a function, for ``statlearn.training.fit(model, (x, y),
    objective=vib_loss)``.

    Parameters
    ----------
    model : VIB
        The model; its ``beta`` is used unless ``beta`` is given (bind it with
        ``functools.partial``).
    x : (N, ...) array or tensor
    y : (N,) int array or tensor
    beta : float, optional

    Returns
    -------
    VIBLoss
        ``total``, ``distortion`` and ``rate`` in bits.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`VIB`.
    """
    if not isinstance(model, VIB):
        raise TypeError(f"model must be a VIB; got {type(model).__name__}")
    return model.loss(x, y, beta=beta)
