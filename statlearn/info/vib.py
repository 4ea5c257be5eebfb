r"""The deep variational information bottleneck classifier (chapters 8, 10 and 16).

Implements the deep VIB of Alemi, Fischer, Dillon and Murphy (2017): a stochastic
Gaussian encoder q_φ(z | x) = N(μ_φ(x), diag σ^2_φ(x)),
a decoder q_θ(y | z) on the sampled code, and the variational bound on the
information bottleneck (Tishby, Pereira and Bialek, 2000) written in the book's
rate-distortion form

.. math::

    \text{loss} = \E_{q_\phi(z \mid x)}\big[-\log_2 q_\theta(y \mid z)\big]
    + \beta\, \KL\big(q_\phi(z \mid x) \,\|\, \N(0, I)\big) / \ln 2,

averaged over a batch. The distortion bounds H(Y) - I(Z; Y) from above and the rate
bounds I(X; Z) from above, so the loss is a variational upper bound on the book's IB
Lagrangian H(Y | Z) + β I(X; Z). The rate is the VAE's rate term (chapter 3): the
encoder pieces (:class:`~statlearn.latent.vae.GaussianEncoder`,
:func:`~statlearn.latent.vae.reparameterize`) are the VAE's and the closed-form KL is
:func:`statlearn.functional.gaussian_kl`. Training uses one sample of z per example
(the reparameterisation trick); prediction averages the softmax over L samples
(:func:`statlearn.functional.log_mean_softmax`). Rate and distortion are reported in
**bits**.

:class:`StochasticClassifier` holds what every such model shares (the encoder, the
utility decoder, the sample-averaged prediction): the VIB of chapter 8 and the
privacy bottleneck :class:`~statlearn.info.privacy.DVCLUB` of chapter 10 are built on
it, and chapter 16 attacks the VIB's averaged prediction with EOT
(:class:`statlearn.robust.attacks.EOT` with ``model_kwargs={"n_samples": 1}``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from statlearn._checks import check_int, check_labels, check_positive, to_model
from statlearn.functional import gaussian_kl, log_mean_softmax
from statlearn.latent.vae import GaussianEncoder, reparameterize

__all__ = ["StochasticClassifier", "VIB", "VIBLoss", "vib_loss"]

_LN2 = math.log(2.0)


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
    units = "bits"


class StochasticClassifier(nn.Module):
    """A classifier with a stochastic Gaussian code: ``x -> z ~ q(z | x) -> logits``.

    ``x -> q(z | x) = N(mu(x), diag(exp(logvar(x))))`` (an MLP
    :class:`~statlearn.latent.vae.GaussianEncoder`), then ``z -> logits`` (the utility
    decoder; linear by default). The shared base of :class:`VIB` (chapter 8) and
    :class:`~statlearn.info.privacy.DVCLUB` (chapter 10), which differ only in their
    objectives.

    In training mode ``forward`` draws one z per example and returns its logits; in eval
    mode it returns the log of the softmax averaged over ``n_samples_eval`` draws, log
    1/L Σ_(l=1)^L softmax(f(z_l)), which are valid logits (their softmax is the averaged
    prediction). An attack on the model in eval mode therefore attacks the
    sample-averaged prediction, the same one the defender uses; ``n_samples=1`` gives
    one draw per row, as :class:`statlearn.robust.attacks.EOT` needs.

    Parameters
    ----------
    in_features : int
        The input size ``D`` after flattening (64 for 8x8 digits).
    num_classes : int
        The number of classes ``C``, >= 2.
    latent_dim : int
        The dimension ``d`` of ``z``.
    hidden : sequence of int
        Hidden widths of the encoder MLP.
    decoder_hidden : sequence of int
        Hidden widths of the decoder MLP; ``()`` (default) is a linear decoder.
    n_samples_eval : int
        The number L of samples averaged at prediction.

    Attributes
    ----------
    encoder : GaussianEncoder
        ``x -> (mu, logvar)``, each ``(N, d)``.
    decoder : nn.Module
        ``(M, d) -> (M, C)`` logits.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        latent_dim: int = 32,
        *,
        hidden: Sequence[int] = (256,),
        decoder_hidden: Sequence[int] = (),
        n_samples_eval: int = 12,
    ) -> None:
        from statlearn.nets import mlp

        super().__init__()
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.num_classes = check_int(num_classes, "num_classes", minimum=2)
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.n_samples_eval = check_int(n_samples_eval, "n_samples_eval", minimum=1)
        self.encoder = GaussianEncoder(
            self.in_features, self.latent_dim, hidden=tuple(hidden)
        )
        self.decoder = mlp(self.latent_dim, self.num_classes, tuple(decoder_hidden))

    def _input(self, x: Any) -> Tensor:
        """``x`` at the model's dtype and device, a batch ``(N, ...)``; NaN or infinite
        inputs are a ``ValueError`` (they would come out as NaN logits)."""
        return to_model(x, self, name="x", min_ndim=2)

    def encode(self, x: Any) -> tuple[Tensor, Tensor]:
        """The encoder's parameters.

        Parameters
        ----------
        x : (N, ...) array or tensor with ``in_features`` values per sample

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

        Raises
        ------
        ValueError
            If ``z``'s last axis is not the code's size d.
        """
        if not isinstance(z, Tensor) or z.ndim == 0 or z.shape[-1] != self.latent_dim:
            shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(
                f"z must be a tensor of codes (..., {self.latent_dim}); got {shape}"
            )
        lead = z.shape[:-1]
        return self.decoder(z.reshape(-1, z.shape[-1])).reshape(*lead, self.num_classes)

    def forward(
        self, x: Any, n_samples: int | None = None, *, random_state: Any = None
    ) -> Tensor:
        """Logits of the classifier.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Inputs with ``in_features`` values per sample.
        n_samples : int, optional
            Average the softmax over this many samples of z. By default one sample (raw
            logits) in training mode and ``n_samples_eval`` in eval mode.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            The source of the samples of z; see statlearn's randomness rule
            (CONTRIBUTING.md). Draws on the model's device; ``None`` follows torch's
            global generator (``statlearn.seed_everything``, and
            ``fit(random_state=...)`` during training).

        Returns
        -------
        (N, C) tensor
            In training mode without ``n_samples``: the logits of one sample. Otherwise
            log 1/L Σ_l softmax(f(z_l)), log-probabilities that act as logits.
        """
        mu, logvar = self.encode(x)
        if n_samples is None:
            if self.training:
                return self.decode(
                    reparameterize(mu, logvar, random_state=random_state)
                )
            n_samples = self.n_samples_eval
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        logits = self.decode(self._draw(mu, logvar, n_samples, random_state))
        return log_mean_softmax(logits, dim=0)

    def _draw(
        self, mu: Tensor, logvar: Tensor, n_samples: int, random_state: Any
    ) -> Tensor:
        """``n_samples`` reparameterised draws of z per row, ``(L, N, d)``, on ``mu``'s
        device."""
        z = reparameterize(mu, logvar, n_samples, random_state=random_state)
        return z if n_samples > 1 else z.unsqueeze(0)

    def _distortion_rate(
        self, mu: Tensor, logvar: Tensor, z: Tensor, y: Tensor
    ) -> tuple[Tensor, Tensor]:
        """The utility distortion E[-log_2 q(y | z)] (Monte Carlo over the L draws
        ``z`` of shape ``(L, N, d)``) and the rate KL(q(z | x) ‖ N(0, I)), in bits:
        batch means, for validated labels ``y``."""
        logits = self.decode(z)  # (L, N, C)
        ce = F.cross_entropy(logits.reshape(-1, self.num_classes), y.repeat(z.shape[0]))
        return ce / _LN2, gaussian_kl(mu, logvar).mean() / _LN2


class VIB(StochasticClassifier):
    """Deep variational information bottleneck classifier (Alemi et al., 2017).

    A :class:`StochasticClassifier` (``x -> q(z | x) -> z -> logits``, the decoder a
    linear softmax classifier by default, as in the paper) trained on the VIB objective
    :meth:`loss` (:func:`vib_loss` for :func:`statlearn.training.fit`).

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
        super().__init__(
            in_features,
            num_classes,
            latent_dim,
            hidden=hidden,
            decoder_hidden=decoder_hidden,
            n_samples_eval=n_samples_eval,
        )
        self.beta = check_positive(beta, "beta", strict=False)

    def loss(
        self,
        x: Any,
        y: Any,
        *,
        beta: float | None = None,
        n_samples: int = 1,
        random_state: Any = None,
        check_input: bool = True,
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
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            The source of the samples of z; see statlearn's randomness rule
            (CONTRIBUTING.md). Draws on the model's device; ``None`` follows torch's
            global generator (``statlearn.seed_everything``, and
            ``fit(random_state=...)`` during training).
        check_input : bool
            Check ``x`` (finite) and ``y`` (labels in range). ``fit``, which checked
            its data once, passes ``False`` so that no step reads the device.

        Returns
        -------
        VIBLoss
            ``total``, ``distortion`` and ``rate`` (batch means, bits); differentiable.

        Raises
        ------
        ValueError
            If ``x`` is not a finite batch, ``y`` does not hold one label in
            ``[0, num_classes)`` per input, or ``beta < 0``.
        """
        b = self.beta if beta is None else check_positive(beta, "beta", strict=False)
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        if check_input:
            mu, logvar = self.encode(x)
            y = check_labels(y, self.num_classes, n=mu.shape[0], device=mu.device)
        else:
            mu, logvar = self.encoder(x)
            y = y.to(device=mu.device, dtype=torch.long)
        z = self._draw(mu, logvar, n_samples, random_state)
        distortion, rate = self._distortion_rate(mu, logvar, z, y)
        return VIBLoss(total=distortion + b * rate, distortion=distortion, rate=rate)


def vib_loss(
    model: VIB,
    x: Any,
    y: Any,
    *,
    beta: float | None = None,
    random_state: Any = None,
    check_input: bool = True,
) -> VIBLoss:
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
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        The source of the sample of z; see statlearn's randomness rule
        (CONTRIBUTING.md). Draws on the model's device; keep the default ``None`` inside
        ``fit``, whose ``random_state`` then repeats the run.
    check_input : bool
        Check ``x`` and ``y``; ``fit`` passes ``False`` (it checked its data once).

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
    return model.loss(
        x, y, beta=beta, random_state=random_state, check_input=check_input
    )
