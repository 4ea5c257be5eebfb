r"""Privacy as a bottleneck: complexity, leakage and utility (chapter 10).

Implements a small deep variational CLUB (complexity-leakage-utility bottleneck) in the
spirit of Razeghi, Calmon, Gunduz and Voloshynovskiy, "Bottlenecks CLUB: unifying
information-theoretic trade-offs among complexity, leakage, and utility" (IEEE TIFS,
2023). A stochastic encoder q_φ(z | x) releases a representation Z of X that should
keep the utility I(Y; Z) (the paper's U is the book's Y), leak little about a sensitive
attribute S, I(S; Z), and cost little, I(X; Z). The objective minimised is, in bits,

.. math::

    \text{loss} = \Dist + \beta \Rate + \beta_S L,

with the distortion D = E[-log_2 p_θ(y | z)] (utility decoder), the complexity or rate
R = E[KL(q_φ(z | x) ‖ r(z))] with r(z) = N(0, I), and a leakage term L of one of two
kinds:

* ``leakage="adversary"``: L = -E[-log_2 a_ψ(s | z)], minus the cross-entropy of an
  adversary a_ψ that is trained in alternation with the encoder (several adversary
  steps per encoder step, :func:`fit_dvclub`). H(S) + L estimates I(S; Z) from below.
* ``leakage="decoder"``: the non-adversarial bound I(S; Z) = I(X; Z) - I(X; Z | S)
  <= R + E[-log_2 p_θ(x | z, s)] - H(X | S), with a Gaussian decoder of x given z and
  s (``conditional=False`` feeds it z alone: the ablation that shows why s is given).

The name says "DV" on purpose: this CLUB is not the contrastive log-ratio upper bound
on mutual information, :func:`statlearn.info.estimators.club` (chapter 6).

:func:`leakage` measures what a released representation reveals: the test accuracy of
a fresh classifier of S trained on it (early-stopped on a validation split), beside the
floor that the utility variable alone gives.

:class:`DVCLUB` is a :class:`~statlearn.info.vib.StochasticClassifier`, the base of the
deep VIB of chapter 8: the same Gaussian encoder (the VAE's), utility decoder and
sample-averaged prediction, with a leakage model added. Every term is in **bits**.
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
    as_labels,
    as_tensor,
    check_choice,
    check_int,
    check_labels,
    check_positive,
    check_probability,
    seeded,
    to_model,
)
from statlearn.functional import gaussian_log_prob
from statlearn.info.vib import StochasticClassifier
from statlearn.latent.vae import reparameterize
from statlearn.nets import eval_mode, mlp
from statlearn.training import History

__all__ = ["DVCLUB", "DVCLUBLoss", "fit_dvclub", "Leakage", "leakage"]

_LN2 = math.log(2.0)
_LEAKAGES = ("adversary", "decoder")


class DVCLUBLoss(NamedTuple):
    """The DVCLUB objective's terms: batch means in bits (scalar tensors).

    Attributes
    ----------
    total : tensor
        ``distortion + beta * rate + beta_s * leakage``: the quantity the encoder and
        the decoders minimise.
    distortion : tensor
        Utility cross-entropy E[-log_2 p_θ(y | z)] (one sample of z per example).
    rate : tensor
        Complexity KL(q_φ(z | x) ‖ N(0, I)) in closed form.
    leakage : tensor
        ``leakage="adversary"``: minus the adversary's cross-entropy,
        -E[-log_2 a_ψ(s | z)] (I(S; Z) - H(S) for an optimal adversary).
        ``leakage="decoder"``: ``rate + reconstruction``, the upper bound on
        I(S; Z) + H(X | S).
    reconstruction : tensor
        ``leakage="decoder"``: E[-log_2 p_θ(x | z, s)] (a Gaussian density, so it may
        be negative); ``leakage="adversary"``: zero.
    """

    total: Tensor
    distortion: Tensor
    rate: Tensor
    leakage: Tensor
    reconstruction: Tensor
    units = "bits"


class DVCLUB(StochasticClassifier):
    """A deep variational complexity-leakage-utility bottleneck (supervised).

    A :class:`~statlearn.info.vib.StochasticClassifier`, as the deep VIB is: ``x ->
    q_φ(z | x) = N(mu(x), diag(exp(logvar(x))))`` (the VAE's
    :class:`~statlearn.latent.vae.GaussianEncoder`) and a utility decoder ``z ->
    logits`` of p_θ(y | z); plus one leakage model: an adversary ``z -> logits`` of
    a_ψ(s | z) (``leakage="adversary"``) or a Gaussian decoder p_θ(x | z, s) with fixed
    standard deviation ``sigma_x`` (``leakage="decoder"``). Train with
    :func:`fit_dvclub`.

    In training mode ``forward`` returns the utility logits of one sample of z; in eval
    mode the log of the softmax averaged over ``n_samples_eval`` samples, so
    :func:`statlearn.training.accuracy` scores the averaged prediction; ``n_samples``
    sets the number of draws (``n_samples=1`` for
    :class:`statlearn.robust.attacks.EOT`).

    Parameters
    ----------
    in_features : int
        The input size ``D`` after flattening (64 for 8x8 digits).
    num_classes : int
        The number ``C`` of utility classes (values of Y), >= 2.
    latent_dim : int
        The dimension ``d`` of z.
    num_sensitive : int
        The number of values of the sensitive attribute S, >= 2.
    hidden : sequence of int
        Hidden widths of the encoder MLP.
    decoder_hidden : sequence of int
        Hidden widths of the utility decoder; ``()`` (default) is linear.
    adversary_hidden : sequence of int
        Hidden widths of the adversary (``leakage="adversary"``).
    x_decoder_hidden : sequence of int
        Hidden widths of the decoder of x (``leakage="decoder"``).
    beta : float
        The complexity (rate) weight β, >= 0.
    beta_s : float
        The leakage weight β_S, >= 0.
    leakage : {"adversary", "decoder"}
        How leakage is penalised (see the module's docstring).
    conditional : bool
        ``leakage="decoder"`` only: give the decoder of x the sensitive attribute (the
        bound); ``False`` decodes x from z alone (an ablation, not a leakage bound).
    sigma_x : float
        Standard deviation of the Gaussian decoder of x, > 0.
    n_samples_eval : int
        Samples of z averaged by ``forward`` in eval mode.

    Attributes
    ----------
    encoder : GaussianEncoder
    decoder : nn.Module
        ``(M, d) -> (M, C)`` utility logits.
    adversary : nn.Module or None
        ``(M, d) -> (M, num_sensitive)`` logits.
    x_decoder : nn.Module or None
        ``(M, d [+ num_sensitive]) -> (M, D)`` means of p_θ(x | z, s).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        latent_dim: int = 32,
        *,
        num_sensitive: int = 2,
        hidden: Sequence[int] = (256, 256),
        decoder_hidden: Sequence[int] = (),
        adversary_hidden: Sequence[int] = (128,),
        x_decoder_hidden: Sequence[int] = (256,),
        beta: float = 0.0,
        beta_s: float = 0.0,
        leakage: str = "adversary",
        conditional: bool = True,
        sigma_x: float = 0.1,
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
        self.num_sensitive = check_int(num_sensitive, "num_sensitive", minimum=2)
        self.beta = check_positive(beta, "beta", strict=False)
        self.beta_s = check_positive(beta_s, "beta_s", strict=False)
        self.leakage = check_choice(leakage, "leakage", _LEAKAGES)
        self.conditional = bool(conditional)
        self.sigma_x = check_positive(sigma_x, "sigma_x")
        self.adversary: nn.Module | None = None
        self.x_decoder: nn.Module | None = None
        if self.leakage == "adversary":
            self.adversary = mlp(
                self.latent_dim, self.num_sensitive, tuple(adversary_hidden)
            )
        else:
            extra = self.num_sensitive if self.conditional else 0
            self.x_decoder = mlp(
                self.latent_dim + extra, self.in_features, tuple(x_decoder_hidden)
            )

    def main_parameters(self) -> list[nn.Parameter]:
        """The parameters of the encoder and the decoders (all but the adversary's).

        Returns
        -------
        list of nn.Parameter
        """
        skip = set() if self.adversary is None else set(self.adversary.parameters())
        return [p for p in self.parameters() if p not in skip]

    @torch.no_grad()
    def release(
        self, x: Any, *, mean: bool = False, random_state: Any = None
    ) -> Tensor:
        """The representation that is released: one sample z ~ q_φ(z | x), or its mean.

        Parameters
        ----------
        x : (N, ...) array or tensor
        mean : bool
            Release mu(x) instead of a sample.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            The source of the noise; see statlearn's randomness rule (CONTRIBUTING.md).
            Draws on the CPU and moves the noise to the model's device, so that a seed
            releases the same z on every device.

        Returns
        -------
        (N, d) tensor
            Detached, on the model's device.
        """
        with eval_mode(self):
            mu, logvar = self.encode(x)
        if mean:
            return mu
        g = as_generator(random_state)
        xi = torch.randn(mu.shape, generator=g).to(mu.device, mu.dtype)
        return mu + torch.exp(0.5 * logvar) * xi

    def loss(
        self,
        x: Any,
        y: Any,
        s: Any,
        *,
        beta: float | None = None,
        beta_s: float | None = None,
        random_state: Any = None,
    ) -> DVCLUBLoss:
        """The encoder's objective on a batch, in bits (the adversary held fixed).

        Parameters
        ----------
        x : (N, ...) array or tensor
            Inputs.
        y : (N,) int array or tensor
            Utility labels in ``[0, num_classes)``.
        s : (N,) int array or tensor
            Sensitive labels in ``[0, num_sensitive)``.
        beta, beta_s : float, optional
            Override the model's weights (>= 0).
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            The source of the sample of z; see statlearn's randomness rule
            (CONTRIBUTING.md). Draws on the model's device; ``None`` follows torch's
            global generator (``statlearn.seed_everything``).

        Returns
        -------
        DVCLUBLoss
            Differentiable batch means.

        Raises
        ------
        ValueError
            If a label is out of range or missing, or a weight is negative.
        """
        b = self.beta if beta is None else check_positive(beta, "beta", strict=False)
        bs = (
            self.beta_s
            if beta_s is None
            else check_positive(beta_s, "beta_s", strict=False)
        )
        x = self._input(x)
        n = x.shape[0]
        y = check_labels(y, self.num_classes, "y", n=n, device=x.device)
        s = check_labels(s, self.num_sensitive, "s", n=n, device=x.device)
        return self._loss(x, y, s, b, bs, random_state)

    def _loss(
        self, x: Tensor, y: Tensor, s: Tensor, b: float, bs: float, random_state: Any
    ) -> DVCLUBLoss:
        """:meth:`loss` on validated tensors (the core :func:`fit_dvclub` calls)."""
        mu, logvar = self.encoder(x)
        z = self._draw(mu, logvar, 1, random_state)  # (1, N, d): one z per example
        distortion, rate = self._distortion_rate(mu, logvar, z, y)
        z = z[0]
        if self.leakage == "adversary":
            leak = -F.cross_entropy(self.adversary(z), s) / _LN2
            recon = rate.new_zeros(())
        else:
            inp = z
            if self.conditional:
                inp = torch.cat([z, F.one_hot(s, self.num_sensitive).to(z.dtype)], 1)
            log_p = gaussian_log_prob(
                x.flatten(1), self.x_decoder(inp), 2.0 * math.log(self.sigma_x)
            )
            recon = -log_p.mean() / _LN2
            leak = rate + recon
        total = distortion + b * rate + bs * leak
        return DVCLUBLoss(total, distortion, rate, leak, recon)

    def adversary_cross_entropy(
        self, x: Any, s: Any, *, random_state: Any = None
    ) -> Tensor:
        """The adversary's cross-entropy E[-log_2 a_ψ(s | z)] on fresh samples of z.

        The encoder is not differentiated (z is detached): this is the adversary's own
        objective, minimised over ψ in the inner steps of :func:`fit_dvclub`.

        Parameters
        ----------
        x : (N, ...) array or tensor
        s : (N,) int array or tensor
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            The source of the samples of z; see statlearn's randomness rule
            (CONTRIBUTING.md). Draws on the model's device.

        Returns
        -------
        scalar tensor (bits)

        Raises
        ------
        ValueError
            If the model has no adversary or ``s`` is out of range.
        """
        if self.adversary is None:
            raise ValueError(
                "adversary_cross_entropy needs leakage='adversary'; this model has "
                f"leakage={self.leakage!r}"
            )
        with torch.no_grad():
            mu, logvar = self.encode(x)
            z = reparameterize(mu, logvar, random_state=random_state)
        s = check_labels(s, self.num_sensitive, "s", n=z.shape[0], device=z.device)
        return F.cross_entropy(self.adversary(z), s) / _LN2


def _dataset(data: Any, name: str, model: DVCLUB) -> tuple[Tensor, Tensor, Tensor]:
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise ValueError(f"{name} must be a tuple (x, y, s); got {type(data).__name__}")
    x = to_model(data[0], model, name=f"{name}[0] (x)", min_ndim=2)
    n = x.shape[0]
    y = check_labels(data[1], model.num_classes, f"{name}[1] (y)", n=n)
    s = check_labels(data[2], model.num_sensitive, f"{name}[2] (s)", n=n)
    return x, y.to(x.device), s.to(x.device)


def fit_dvclub(
    model: DVCLUB,
    train: tuple[Any, Any, Any],
    *,
    epochs: int = 60,
    batch_size: int = 128,
    lr: float = 1e-3,
    adversary_steps: int = 5,
    adversary_lr: float | None = None,
    quiet: bool = True,
    random_state: Any = None,
) -> History:
    """Train a :class:`DVCLUB` by alternating updates; return the per-epoch history.

    Each minibatch gets ``adversary_steps`` Adam steps of the adversary on its
    cross-entropy (:meth:`DVCLUB.adversary_cross_entropy`, fresh samples of z, encoder
    fixed), then one Adam step of the encoder and decoders on :meth:`DVCLUB.loss`
    (adversary fixed). With ``leakage="decoder"`` there is no adversary and no inner
    step. This is a loop of its own because :func:`statlearn.training.fit` minimises one
    objective with one optimiser, and the adversary maximises what the encoder
    minimises.

    Parameters
    ----------
    model : DVCLUB
        The model; trained where its parameters are.
    train : tuple (x, y, s)
        Inputs ``(N, ...)``, utility labels ``(N,)`` and sensitive labels ``(N,)``.
    epochs : int
        Passes over the data, >= 1.
    batch_size : int
        Samples per step, >= 1.
    lr : float
        Learning rate of the encoder and decoders, > 0.
    adversary_lr : float, optional
        Learning rate of the adversary; default ``lr``.
    adversary_steps : int
        Adversary steps per encoder step, >= 1.
    quiet : bool
        Hide the progress bar.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        See statlearn's randomness rule (CONTRIBUTING.md). Resolved once into one
        generator on the model's device that draws the whole run (the shuffling and
        every sample of z, the adversary's and the encoder's), so one value repeats a
        run; ``None`` follows ``statlearn.seed_everything``. The model's initialisation
        is the caller's.

    Returns
    -------
    History
        Per-epoch means of ``loss`` (the total), ``distortion``, ``rate``,
        ``leakage``, ``reconstruction`` and, with an adversary, ``adversary`` (its
        cross-entropy after its inner steps); ``history.units`` is ``"bits"``. The
        model is left in eval mode.

    Raises
    ------
    ValueError
        If the data disagree in length, a label is out of range, or a
        hyperparameter is out of range.
    FloatingPointError
        If the loss becomes NaN or infinite.
    """
    from tqdm.auto import tqdm

    if not isinstance(model, DVCLUB):
        raise TypeError(f"model must be a DVCLUB; got {type(model).__name__}")
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    adversary_steps = check_int(adversary_steps, "adversary_steps", minimum=1)
    adversary_lr = (
        lr if adversary_lr is None else check_positive(adversary_lr, "adversary_lr")
    )
    x, y, s = _dataset(train, "train", model)
    n = x.shape[0]
    opt = torch.optim.Adam(model.main_parameters(), lr=lr)
    opt_adv = None
    if model.adversary is not None:
        opt_adv = torch.optim.Adam(model.adversary.parameters(), lr=adversary_lr)
    history = History()
    history.units = DVCLUBLoss.units
    names = ("loss",) + DVCLUBLoss._fields[1:]
    g = as_generator(random_state, device=x.device)
    for _ in tqdm(range(epochs), disable=quiet, desc="DVCLUB", leave=False):
        model.train()
        # the terms are summed on the device and read once per epoch: no host sync
        # in a training step
        sums = torch.zeros(len(names), dtype=torch.float64, device=x.device)
        adv_sum = torch.zeros((), dtype=torch.float64, device=x.device)
        perm = torch.randperm(n, generator=g, device=x.device)
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            xb, yb, sb = x[idx], y[idx], s[idx]
            m = xb.shape[0]
            if opt_adv is not None:
                with torch.no_grad():
                    mu, logvar = model.encoder(xb)
                for _ in range(adversary_steps):
                    z = reparameterize(mu, logvar, random_state=g)
                    adv = F.cross_entropy(model.adversary(z), sb) / _LN2
                    opt_adv.zero_grad(set_to_none=True)
                    adv.backward()
                    opt_adv.step()
                adv_sum += adv.detach().double() * m
            out = model._loss(xb, yb, sb, model.beta, model.beta_s, g)
            opt.zero_grad(set_to_none=True)
            out.total.backward()
            opt.step()
            if opt_adv is not None:
                # the encoder step also sent gradients into the adversary: drop them
                opt_adv.zero_grad(set_to_none=True)
            sums += torch.stack([t.detach().double() for t in out]) * m
        values = torch.cat([sums, adv_sum[None]]).tolist()  # one read per epoch
        if not math.isfinite(values[0]):
            raise FloatingPointError(
                f"the DVCLUB loss became {values[0] / n} in epoch "
                f"{len(history.get('loss', [])) + 1}; lower lr or beta_s"
            )
        for key, value in zip(names, values):
            history.setdefault(key, []).append(value / n)
        if opt_adv is not None:
            history.setdefault("adversary", []).append(values[-1] / n)
    model.eval()
    return history


class Leakage(NamedTuple):
    """What a released representation reveals about S (accuracies in [0, 1]).

    Attributes
    ----------
    accuracy : float
        Test accuracy of a fresh classifier of S trained on the representation.
    floor : float
        Test accuracy of the best guess of S from the utility label Y alone (the
        majority value of S within each value of Y); NaN when no Y was given.
    chance : float
        Test accuracy of always guessing the most frequent value of S.
    epochs : int
        Epochs the classifier trained before early stopping picked its best one.
    """

    accuracy: float
    floor: float
    chance: float
    epochs: int


def _split(n: int, fraction: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    perm = torch.randperm(n, generator=g)
    k = max(1, int(round(fraction * n)))
    if k >= n:
        raise ValueError(f"a split of {fraction} leaves no training rows out of {n}")
    return perm[k:], perm[:k]


def leakage(
    z: Any,
    s: Any,
    *,
    z_test: Any = None,
    s_test: Any = None,
    y: Any = None,
    y_test: Any = None,
    hidden: Sequence[int] = (128,),
    val_fraction: float = 0.25,
    test_fraction: float = 0.25,
    max_epochs: int = 200,
    patience: int = 20,
    lr: float = 3e-3,
    batch_size: int = 128,
    random_state: Any = None,
) -> Leakage:
    """How well a fresh classifier recovers S from a released representation.

    An MLP (``hidden``; ``()`` for logistic regression) is trained with Adam on the
    standardised representation, on all but a validation split of ``(z, s)``; the
    epoch with the lowest validation cross-entropy is kept (early stopping after
    ``patience`` epochs without improvement). Its accuracy is measured on ``(z_test,
    s_test)``, or, when those are not given, on a test split held out of ``(z, s)``
    first. With utility labels ``y`` (and ``y_test``), the floor is reported beside it:
    the accuracy of predicting S from Y alone, which no representation that keeps Y
    can go below.

    Parameters
    ----------
    z : (N, d) array or tensor
        The released representation of the attacker's labelled data (any device).
    s : (N,) int array or tensor
        Its sensitive labels.
    z_test : (M, d) array or tensor, optional
        The representation the accuracy is measured on.
    s_test : (M,) int array or tensor, optional
        Its sensitive labels (given with ``z_test``).
    y : (N,) int array or tensor, optional
        Utility labels of ``z``, for the floor.
    y_test : (M,) int array or tensor, optional
        Utility labels of ``z_test`` (needed with ``y`` when ``z_test`` is given).
    hidden : sequence of int
        Hidden widths of the classifier.
    val_fraction : float
        Fraction of the training rows used for early stopping, in (0, 1).
    test_fraction : float
        Fraction of ``(z, s)`` held out for the test when ``z_test`` is None, in
        (0, 1).
    max_epochs : int
        Most epochs of training, >= 1.
    patience : int
        Epochs without a lower validation loss before stopping, >= 1.
    lr : float
        Adam's learning rate, > 0.
    batch_size : int
        Rows per step, >= 1.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        The source of the splits, the initialisation and the shuffling; see
        statlearn's randomness rule (CONTRIBUTING.md). Draws on the CPU, where the
        probe runs.

    Returns
    -------
    Leakage
        ``accuracy``, ``floor``, ``chance`` and ``epochs``.

    Raises
    ------
    ValueError
        If ``z`` is not 2-d, the lengths differ, ``z_test`` and ``s_test`` are not given
        together, the test representation has another width, S has fewer than two
        values, or a hyperparameter is out of range.
    """
    g = as_generator(random_state)
    z = as_tensor(z, name="z", ndim=2).detach().cpu().float()
    s = as_labels(s, "s", n=z.shape[0]).cpu()
    if int(s.unique().numel()) < 2:
        raise ValueError("s must hold at least two sensitive values")
    if (z_test is None) != (s_test is None):
        raise ValueError("z_test and s_test must be given together")
    val_fraction = check_probability(val_fraction, "val_fraction")
    test_fraction = check_probability(test_fraction, "test_fraction")
    max_epochs = check_int(max_epochs, "max_epochs", minimum=1)
    patience = check_int(patience, "patience", minimum=1)
    lr = check_positive(lr, "lr")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if y is not None:
        y = as_labels(y, "y", n=z.shape[0]).cpu()
    if z_test is None:
        rest, test = _split(z.shape[0], test_fraction, g)
        zt, st = z[test], s[test]
        yt = None if y is None else y[test]
        z, s = z[rest], s[rest]
        y = None if y is None else y[rest]
    else:
        zt = as_tensor(z_test, name="z_test", ndim=2).detach().cpu().float()
        if zt.shape[1] != z.shape[1]:
            raise ValueError(
                f"z_test must have the width of z ({z.shape[1]}); got {zt.shape[1]}"
            )
        st = as_labels(s_test, "s_test", n=len(zt)).cpu()
        yt = None
        if y is not None:
            if y_test is None:
                raise ValueError("y_test must be given with y when z_test is given")
            yt = as_labels(y_test, "y_test", n=len(zt)).cpu()
    n_s = max(int(s.max()), int(st.max())) + 1
    chance = float((st == torch.bincount(s, minlength=n_s).argmax()).float().mean())
    floor = float("nan")
    if y is not None:
        n_y = max(int(y.max()), int(yt.max())) + 1
        counts = torch.zeros(n_y, n_s).index_put_(
            (y, s), torch.ones(len(y)), accumulate=True
        )
        rule = counts.argmax(1)  # the most frequent S for each Y (unseen Y: S = 0)
        floor = float((rule[yt] == st).float().mean())

    fit_idx, val_idx = _split(z.shape[0], val_fraction, g)
    mean, std = z[fit_idx].mean(0), z[fit_idx].std(0).clamp_min(1e-6)
    zf, sf = (z[fit_idx] - mean) / std, s[fit_idx]
    zv, sv = (z[val_idx] - mean) / std, s[val_idx]
    zt = (zt - mean) / std
    with seeded(g):  # the initialisation, from the same one generator
        net = mlp(z.shape[1], n_s, tuple(hidden))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    best, best_state, best_epoch, waited = math.inf, None, 0, 0
    for epoch in range(1, max_epochs + 1):
        net.train()
        perm = torch.randperm(len(zf), generator=g)
        for start in range(0, len(zf), batch_size):
            idx = perm[start : start + batch_size]
            loss = F.cross_entropy(net(zf[idx]), sf[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val = F.cross_entropy(net(zv), sv).item()
        if val < best - 1e-6:
            best, best_epoch, waited = val, epoch, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    assert best_state is not None
    net.load_state_dict(best_state)
    with torch.no_grad():
        acc = float((net(zt).argmax(1) == st).float().mean())
    return Leakage(acc, floor, chance, best_epoch)
