r"""Randomized smoothing: certified L2 robustness (chapters 16 and 17).

Implements the smoothed classifier of Cohen, Rosenfeld and Kolter, *Certified
Adversarial Robustness via Randomized Smoothing* (ICML 2019), in the book's notation: a
base classifier ``h`` (a model mapping inputs in [0, 1] to logits, ``h(x) = argmax_c
f_c(x)``), Gaussian noise ``xi ~ N(0, sigma^2 I)`` and
the smoothed classifier

.. math::

    g(x) = \argmax_c \, P_\xi\big[h(x + \xi) = c\big].

``Smooth.predict`` returns ``g(x)`` or abstains (two-sided binomial test on the top two
counts); ``Smooth.certify`` returns ``g(x)`` with the certified radius ``R = sigma *
Phi^-1(pA_lower)``, where ``pA_lower`` is the one-sided Clopper-Pearson lower confidence
bound on the top class's probability, estimated from fresh samples after a separate
selection round. With probability at least ``1 - alpha`` a returned class is ``g(x)``
and ``g`` is constant on the L2 ball of radius ``R``.

``Smooth`` is also an ``nn.Module``: its ``forward`` is the *soft* smoothed classifier
of Salman et al. (NeurIPS 2019), the log of the softmax averaged over noise draws, a
differentiable surrogate that attacks use (expectation over transformation).
``noise_augmentation`` is the batch transform for ``statlearn.training.fit`` that trains
base classifiers under the same noise, and ``certified_accuracy`` turns certificates
into the usual certified-accuracy-against-radius curve.

Chapter 17 builds the certificate; chapter 16 trains a base classifier with
``noise_augmentation``, certifies it and attacks the smoothed classifier adaptively.

The sample sizes follow Cohen et al.'s algorithms and the book: ``n0`` noise draws
select the top class, ``n`` draws count the votes (``sample_counts``, ``predict``,
``certify``, ``max_radius``). Noise for many inputs and many samples is drawn in large
batches on the input's device, from one generator per call, and counted with
``bincount``; the only Python loop runs over noise batches.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from statlearn._checks import (
    as_generator,
    as_tensor,
    check_int,
    check_positive,
    check_probability,
    check_unit_interval,
    to_model,
)
from statlearn.functional import log_mean_softmax
from statlearn.nets import eval_mode

__all__ = [
    "ABSTAIN",
    "Smooth",
    "certified_accuracy",
    "lower_confidence_bound",
    "noise_augmentation",
    "binomial_pvalue",
]

ABSTAIN: int = -1
"""The class returned when the smoothed classifier abstains."""


# --------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------
def lower_confidence_bound(
    n_a: Tensor | np.ndarray | int, n: int, alpha: float
) -> np.ndarray:
    """One-sided Clopper-Pearson lower confidence bound on a binomial proportion.

    The bound ``pA_lower`` satisfies ``P(pA >= pA_lower) >= 1 - alpha`` when ``n_a``
    successes are observed in ``n`` independent trials of probability ``pA``: the
    ``alpha`` quantile of ``Beta(n_a, n - n_a + 1)`` (and 0 when ``n_a = 0``). It equals
    the lower end of the two-sided interval
    ``statsmodels.stats.proportion.proportion_confint(n_a, n, alpha=2 * alpha,
    method="beta")``.

    Parameters
    ----------
    n_a : int or (N,) array or tensor of int
        Counts of the top class, each in ``[0, n]``.
    n : int
        Number of trials (noise samples), ``n >= 1``.
    alpha : float
        Significance level in (0, 1).

    Returns
    -------
    (N,) float64 ndarray (0-d for a scalar ``n_a``)
        The lower bounds.
    """
    from scipy.stats import beta

    n = check_int(n, "n", minimum=1)
    alpha = check_probability(alpha, "alpha")
    n_a = _as_counts(n_a, "n_a")
    if np.any(n_a < 0) or np.any(n_a > n) or np.any(n_a != np.round(n_a)):
        raise ValueError(
            f"n_a must hold integer counts in [0, n={n}]; got values in "
            f"[{n_a.min()}, {n_a.max()}]"
        )
    safe = np.maximum(n_a, 1.0)  # Beta(0, .) is undefined; the bound is 0 there
    bound = beta.ppf(alpha, safe, n - safe + 1.0)
    return np.where(n_a > 0, bound, 0.0)


def _as_counts(value: Any, name: str) -> np.ndarray:
    """Counts (an int, or an array or tensor of them) as a float64 array; anything
    that is not a whole number is a ``TypeError`` or ``ValueError`` naming ``name``."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold integer counts; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must hold whole-number counts; got {value!r}")
    return arr


def binomial_pvalue(
    k: Tensor | np.ndarray | int, n: Tensor | np.ndarray | int
) -> np.ndarray:
    """Two-sided exact binomial test of ``p = 1/2``, vectorised.

    For ``p = 1/2`` the binomial distribution is symmetric, so the two-sided p-value is
    ``min(1, 2 * F(min(k, n - k)))`` with ``F`` the ``Binomial(n, 1/2)`` CDF. It equals
    ``scipy.stats.binomtest(k, n, p=0.5).pvalue`` (tested), for a whole array at once.

    Parameters
    ----------
    k : int or (N,) array or tensor of int
        Observed successes, ``0 <= k <= n``.
    n : int or (N,) array or tensor of int
        Trials, ``n >= 1``.

    Returns
    -------
    (N,) float64 ndarray
        The p-values.
    """
    from scipy.stats import binom

    k, n = _as_counts(k, "k"), _as_counts(n, "n")
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError(
            "binomial_pvalue needs 0 <= k <= n and n >= 1; got k in "
            f"[{k.min()}, {k.max()}] and n in [{n.min()}, {n.max()}]"
        )
    return np.minimum(1.0, 2.0 * binom.cdf(np.minimum(k, n - k), n, 0.5))


# --------------------------------------------------------------------------------------
# noise
# --------------------------------------------------------------------------------------
def _generator(random_state: Any, device: torch.device) -> torch.Generator | None:
    """``random_state`` as a generator on ``device``; ``None`` stays ``None``: torch's
    global generator there, which ``seed_everything`` and ``fit(random_state=...)``
    set."""
    return as_generator(random_state, device=device, none_is_global=True)


def _randn(
    shape: Sequence[int], like: Tensor, generator: torch.Generator | None
) -> Tensor:
    """Standard normal noise of ``shape`` on ``like``'s device and dtype, from
    ``generator`` (on that device; ``None``: torch's global generator there).
    """
    return torch.randn(
        tuple(shape), generator=generator, device=like.device, dtype=like.dtype
    )


def noise_augmentation(
    sigma: float, *, random_state: Any = None
) -> Callable[[nn.Module, Tensor, Tensor], tuple[Tensor, Tensor]]:
    """Gaussian noise augmentation, the batch transform that trains a base classifier
    for smoothing.

    Pass the result as ``transform=`` to ``statlearn.training.fit``: each training batch
    becomes ``(x + sigma * noise, y)`` with fresh standard normal noise, so the base
    classifier learns to classify the noisy inputs that the smoothed classifier feeds it
    (Cohen et al., 2019, Sec. 3.3).

    Parameters
    ----------
    sigma : float
        Noise standard deviation, > 0 (use the sigma you will certify with).
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        The noise; see statlearn's randomness rule (CONTRIBUTING.md). Draws on each
        batch's device. ``None`` (the default) draws every batch's noise from torch's
        global generator, so ``fit(..., random_state=...)`` repeats the run. Any other
        value becomes one generator here, which every batch continues (for batches on
        another device than the CPU, a generator there that it seeds at the first
        batch).

    Returns
    -------
    callable
        ``transform(model, x, y) -> (x + sigma * xi, y)`` for ``x : (B, ...)`` tensors.
    """
    sigma = check_positive(sigma, "sigma")
    # None, or the one generator of every batch (moved to the batches' device once)
    state = [as_generator(random_state, none_is_global=True)]

    def transform(model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        generator = _generator(state[0], x.device)
        state[0] = generator
        return x + sigma * _randn(x.shape, x, generator), y

    transform.sigma = sigma  # type: ignore[attr-defined]
    transform.__qualname__ = transform.__name__ = f"noise_augmentation(sigma={sigma:g})"
    return transform


# --------------------------------------------------------------------------------------
# the smoothed classifier
# --------------------------------------------------------------------------------------
class Smooth(nn.Module):
    """The Gaussian-smoothed classifier ``g`` of a base classifier (Cohen et al., 2019).

    Parameters
    ----------
    base_classifier : nn.Module
        Maps a batch of inputs in [0, 1], ``(B, D)`` or ``(B, C, H, W)``, to logits
        ``(B, num_classes)``.
    num_classes : int
        Number of classes ``C`` (>= 2).
    sigma : float
        Noise standard deviation ``sigma > 0``.
    num_noise : int, default 64
        Noise draws per input in :meth:`forward` (the soft, differentiable smoothed
        classifier).
    input_shape : sequence of int, optional
        The shape of one input, e.g. ``(64,)``, ``(8, 8)`` or ``(1, 8, 8)``. With it,
        ``x`` of exactly that shape is one input and ``x`` of shape ``(N,
        *input_shape)`` a batch, whatever the ranks.

    Notes
    -----
    Without ``input_shape``, one input is a 1-D vector ``(D,)``; a batch is ``(N, D)``
    or ``(N, C, H, W)``. A 3-D ``x`` could be one ``(C, H, W)`` image or a batch of
    ``N`` ``(H, W)`` images, so it needs ``input_shape`` (a ``ValueError`` says so). On
    one input ``predict`` returns an ``int`` and ``certify`` a pair ``(int, float)``; on
    a batch they return tensors. Inputs may be NumPy arrays or tensors of any floating
    dtype: they are cast to the base classifier's dtype and device, where the results
    are. The base classifier is run in eval mode and its mode is restored afterwards.
    """

    def __init__(
        self,
        base_classifier: nn.Module,
        num_classes: int,
        sigma: float,
        *,
        num_noise: int = 64,
        input_shape: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(base_classifier, nn.Module):
            raise TypeError(
                "base_classifier must be a torch.nn.Module mapping inputs to logits; "
                f"got {type(base_classifier).__name__}"
            )
        self.base_classifier = base_classifier
        self.num_classes = check_int(num_classes, "num_classes", minimum=2)
        self.sigma = check_positive(sigma, "sigma")
        self.num_noise = check_int(num_noise, "num_noise", minimum=1)
        if input_shape is not None:
            if isinstance(input_shape, (int, np.integer)):
                input_shape = (input_shape,)
            input_shape = tuple(
                check_int(d, "input_shape", minimum=1) for d in input_shape
            )
            if not input_shape:
                raise ValueError("input_shape must name at least one dimension")
        self.input_shape: tuple[int, ...] | None = input_shape

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, sigma={self.sigma:g}, "
            f"num_noise={self.num_noise}, input_shape={self.input_shape}"
        )

    # ---------------------------------------------------------------- helpers
    def _prepare(self, x: Tensor | np.ndarray) -> tuple[Tensor, bool]:
        """``x`` at the base classifier's dtype and device as an (N, ...) batch, and
        whether it was one input. The range check also rejects NaN and infinities."""
        x = to_model(x, self.base_classifier, allow_nonfinite=True).detach()
        shape = tuple(x.shape)
        if self.input_shape is not None:
            if shape == self.input_shape:
                single = True
            elif shape[1:] == self.input_shape:
                single = False
            else:
                raise ValueError(
                    f"x must be one input of shape {self.input_shape} or a batch of "
                    "shape "
                    f"(N, {', '.join(map(str, self.input_shape))}); got shape {shape}"
                )
        elif x.ndim == 3:
            raise ValueError(
                f"x of shape {shape} is ambiguous: one (C, H, W) image or a batch of "
                f"{shape[0]} (H, W) inputs; pass Smooth(..., input_shape=...) or give "
                "a batch an explicit channel axis, (N, C, H, W)"
            )
        elif x.ndim not in (1, 2, 4):
            raise ValueError(
                "x must be one input (D,), or a batch (N, D) or (N, C, H, W); "
                f"got shape {shape}"
            )
        else:
            single = x.ndim == 1
        check_unit_interval(x, "x")
        return (x.unsqueeze(0) if single else x), single

    def sample_counts(
        self,
        x: Tensor | np.ndarray,
        n: int,
        batch_size: int = 1000,
        *,
        random_state: Any = None,
    ) -> Tensor:
        """Class counts of the base classifier under ``n`` noise draws per input.

        Parameters
        ----------
        x : (D,) array or tensor, or a batch (N, D) or (N, C, H, W)
            Inputs in [0, 1] (see the class's ``input_shape`` for other shapes).
        n : int
            Noise samples per input, >= 1.
        batch_size : int, default 1000
            Noisy inputs per forward pass; the draws of several inputs share a batch.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            The noise; see statlearn's randomness rule (CONTRIBUTING.md). Draws on the
            base classifier's device (``None``: from torch's global generator there).

        Returns
        -------
        (N, num_classes) int64 tensor
            ``counts[i, c]`` = number of draws with ``h(x_i + xi) = c`` (N = 1 for one
            input).
        """
        x, _ = self._prepare(x)
        n = check_int(n, "n", minimum=1)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        generator = _generator(random_state, x.device)
        return self._counts(x, n, batch_size, generator)

    @torch.no_grad()
    def _counts(
        self, x: Tensor, n: int, batch_size: int, generator: torch.Generator | None
    ) -> Tensor:
        """``sample_counts`` on a checked (N, ...) batch, ``generator`` on x's
        device."""
        n_inputs, classes = x.shape[0], self.num_classes
        counts = torch.zeros(n_inputs * classes, dtype=torch.long, device=x.device)
        total = n_inputs * n
        with eval_mode(self.base_classifier):
            # a loop over noise batches, not samples
            for start in range(0, total, batch_size):
                stop = min(start + batch_size, total)
                # the inputs whose draws share this batch
                first, last = start // n, (stop - 1) // n
                noise = _randn((stop - start,) + tuple(x.shape[1:]), x, generator)
                if first == last:  # one input: broadcast it, no gather
                    owner = None
                    noisy = torch.add(x[first], noise, alpha=self.sigma)
                else:
                    # the input of each draw
                    owner = torch.arange(start, stop, device=x.device) // n - first
                    noisy = torch.add(
                        x.index_select(0, owner + first), noise, alpha=self.sigma
                    )
                logits = self.base_classifier(noisy)
                if logits.ndim != 2 or logits.shape[1] != classes:
                    raise ValueError(
                        f"base_classifier must return logits of shape (B, {classes}); "
                        f"got {tuple(logits.shape)}"
                    )
                votes = logits.argmax(1)
                local = votes if owner is None else owner * classes + votes
                span = (last - first + 1) * classes
                counts[first * classes : first * classes + span] += torch.bincount(
                    local, minlength=span
                )
        return counts.view(n_inputs, classes)

    # ---------------------------------------------------------------- public API
    def predict(
        self,
        x: Tensor | np.ndarray,
        n: int,
        alpha: float,
        batch_size: int = 1000,
        *,
        random_state: Any = None,
    ) -> int | Tensor:
        """Predict ``g(x)``, or abstain, from ``n`` noise samples (Cohen et al.,
        Algorithm PREDICT).

        The two largest counts ``n_A >= n_B`` enter a two-sided binomial test of ``p =
        1/2`` (``scipy.stats.binomtest``); the top class is returned when the p-value is
        at most ``alpha``, else ``ABSTAIN``. The probability of returning a class other
        than ``g(x)`` is at most ``alpha``.

        Parameters
        ----------
        x : (D,) array or tensor, or a batch (N, D) or (N, C, H, W)
            Inputs in [0, 1] (see the class's ``input_shape`` for other shapes).
        n : int
            Noise samples per input, >= 1.
        alpha : float
            Significance level in (0, 1).
        batch_size : int, default 1000
            Noisy inputs per forward pass.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            The noise; see statlearn's randomness rule (CONTRIBUTING.md). Draws on the
            base classifier's device (``None``: from torch's global generator there).

        Returns
        -------
        int, or (N,) int64 tensor
            The predicted class, or ``ABSTAIN`` (-1).
        """
        x, single = self._prepare(x)
        n = check_int(n, "n", minimum=1)
        alpha = check_probability(alpha, "alpha")
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        generator = _generator(random_state, x.device)
        counts = self._counts(x, n, batch_size, generator)
        top = counts.topk(2, dim=1)
        n_a, n_b = top.values[:, 0], top.values[:, 1]
        pvalue = torch.as_tensor(binomial_pvalue(n_a, n_a + n_b), device=x.device)
        prediction = torch.where(
            pvalue <= alpha, top.indices[:, 0], torch.full_like(n_a, ABSTAIN)
        )
        return int(prediction[0]) if single else prediction

    def certify(
        self,
        x: Tensor | np.ndarray,
        n0: int,
        n: int,
        alpha: float,
        batch_size: int = 1000,
        *,
        random_state: Any = None,
    ) -> tuple[int, float] | tuple[Tensor, Tensor]:
        """Certify ``g(x)`` with an L2 radius (Cohen et al., Algorithm CERTIFY).

        ``n0`` noise samples select the top class ``c_A``; ``n`` *fresh* samples count
        it, ``n_A`` times; ``pA_lower`` is the one-sided ``1 - alpha`` Clopper-Pearson
        lower bound on ``P(h(x + xi) = c_A)``. If ``pA_lower < 1/2`` the answer is
        ``ABSTAIN`` with radius 0; else ``(c_A, sigma * Phi^-1(pA_lower))``. With
        probability at least ``1 - alpha`` a returned class equals ``g(x')`` for every
        ``x'`` with ``||x' - x||_2 < radius``.

        Parameters
        ----------
        x : (D,) array or tensor, or a batch (N, D) or (N, C, H, W)
            Inputs in [0, 1] (see the class's ``input_shape`` for other shapes).
        n0 : int
            Selection samples per input, >= 1.
        n : int
            Estimation samples per input, >= 1.
        alpha : float
            Failure probability in (0, 1).
        batch_size : int, default 1000
            Noisy inputs per forward pass.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            The noise of both rounds (one generator: the estimation draws follow the
            selection draws); see statlearn's randomness rule (CONTRIBUTING.md). Draws
            on the base classifier's device (``None``: from torch's global generator
            there).

        Returns
        -------
        (int, float) for one input, or ((N,) int64 tensor, (N,) tensor) for a batch
            The certified class (or ``ABSTAIN``) and the radius (0 when abstaining), the
            radius in ``x``'s floating dtype.
        """
        x, single = self._prepare(x)
        n0 = check_int(n0, "n0", minimum=1)
        n = check_int(n, "n", minimum=1)
        alpha = check_probability(alpha, "alpha")
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        generator = _generator(random_state, x.device)
        selection = self._counts(x, n0, batch_size, generator)
        c_a = selection.argmax(1)
        estimation = self._counts(x, n, batch_size, generator)  # fresh draws
        n_a = estimation.gather(1, c_a[:, None]).squeeze(1)
        p_lower = torch.as_tensor(
            lower_confidence_bound(n_a, n, alpha), dtype=torch.float64
        )
        radius = self.sigma * torch.special.ndtri(p_lower)
        abstain = (p_lower < 0.5).to(x.device)
        radius = torch.where(
            abstain,
            torch.zeros((), dtype=torch.float64, device=x.device),
            radius.to(x.device),
        )
        prediction = torch.where(abstain, torch.full_like(c_a, ABSTAIN), c_a)
        if single:
            return int(prediction[0]), float(radius[0])
        dtype = x.dtype if x.dtype.is_floating_point else torch.get_default_dtype()
        return prediction, radius.to(dtype)

    def max_radius(self, n: int, alpha: float) -> float:
        """The largest radius ``certify`` can return with ``n`` samples at level
        ``alpha``.

        When all ``n`` draws vote for the top class, ``pA_lower = alpha^(1/n)`` and the
        radius is ``sigma * Phi^-1(alpha^(1/n))``: no input is certified beyond it,
        however robust.

        Parameters
        ----------
        n : int
            Estimation samples, >= 1.
        alpha : float
            Failure probability in (0, 1).

        Returns
        -------
        float
            The radius (0 when ``alpha^(1/n) <= 1/2``).
        """
        n = check_int(n, "n", minimum=1)
        alpha = check_probability(alpha, "alpha")
        p = float(lower_confidence_bound(n, n, alpha))
        return (
            self.sigma
            * float(torch.special.ndtri(torch.tensor(p, dtype=torch.float64)))
            if p >= 0.5
            else 0.0
        )

    def forward(self, x: Tensor, *, random_state: Any = None) -> Tensor:
        """The soft smoothed classifier: ``log E_xi[softmax(f(x + xi))]`` from
        ``num_noise`` draws.

        Differentiable in ``x`` (Salman et al., 2019); attacks on the smoothed
        classifier use it as the model (expectation over transformation), with fresh
        noise on every call.

        Parameters
        ----------
        x : (N, D) or (N, C, H, W) array or tensor
            A batch of inputs in [0, 1], cast to the base classifier's dtype and device.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            The noise; see statlearn's randomness rule (CONTRIBUTING.md). Draws on the
            base classifier's device (``None``: from torch's global generator there).

        Returns
        -------
        (N, num_classes) tensor
            Log-probabilities of the soft smoothed classifier (usable as logits).

        Raises
        ------
        ValueError
            If ``x`` has no batch axis or a value outside [0, 1] (the noise is
            calibrated to pixels).
        """
        # the range check reads the minimum and maximum, which also catch NaN
        x = to_model(x, self.base_classifier, min_ndim=2, allow_nonfinite=True)
        check_unit_interval(x, "x")
        generator = _generator(random_state, x.device)
        m = self.num_noise
        rep = x.repeat_interleave(m, dim=0)
        noisy = rep + self.sigma * _randn(rep.shape, rep, generator)
        logits = self.base_classifier(noisy)
        return log_mean_softmax(logits.view(x.shape[0], m, -1), dim=1)


# --------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------
def _as_classes(v: Tensor | np.ndarray, name: str, device: torch.device) -> Tensor:
    """A 1-D int64 tensor of class indices (``ABSTAIN`` allowed) on ``device``."""
    t = v if isinstance(v, Tensor) else torch.as_tensor(np.asarray(v))
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D (N,); got shape {tuple(t.shape)}")
    if t.dtype.is_floating_point:
        if not bool((t == t.round()).all()):
            raise ValueError(
                f"{name} must hold integer classes; got non-integer values"
            )
    elif t.dtype.is_complex or t.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer classes; got dtype {t.dtype}")
    return t.to(device=device, dtype=torch.long)


def certified_accuracy(
    radii: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    predictions: Tensor | np.ndarray,
    r_grid: Tensor | np.ndarray | Sequence[float],
) -> Tensor:
    """Certified accuracy at each radius: the fraction certified correct with radius >=
    r.

    Parameters
    ----------
    radii : (N,) tensor
        Certified radii from :meth:`Smooth.certify` (0 where it abstained).
    labels : (N,) int tensor
        True classes.
    predictions : (N,) int tensor
        Certified classes (``ABSTAIN`` counts as wrong).
    r_grid : (R,) tensor or sequence of float
        Radii at which to evaluate, >= 0.

    Returns
    -------
    (R,) float64 tensor
        ``mean_i [predictions_i == labels_i and radii_i >= r]`` for each ``r`` in
        ``r_grid``; non-increasing in ``r``.
    """
    radii = as_tensor(radii, name="radii", ndim=1, dtype=torch.float64)
    device = radii.device
    labels = _as_classes(labels, "labels", device)
    predictions = _as_classes(predictions, "predictions", device)
    r_grid = as_tensor(
        r_grid, name="r_grid", ndim=1, dtype=torch.float64, device=device
    )
    if not (radii.shape == labels.shape == predictions.shape):
        raise ValueError(
            "radii, labels and predictions must have the same length; got "
            f"{tuple(radii.shape)}, {tuple(labels.shape)} and "
            f"{tuple(predictions.shape)}"
        )
    if radii.numel() == 0:
        raise ValueError("certified_accuracy needs at least one input; got empty radii")
    if bool((radii < 0).any()) or bool((r_grid < 0).any()):
        raise ValueError("radii and r_grid must be >= 0")
    correct = (predictions == labels) & (predictions != ABSTAIN)
    hits = correct[None, :] & (radii[None, :] >= r_grid[:, None])
    return hits.to(torch.float64).mean(dim=1)
