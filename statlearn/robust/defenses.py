"""Defenses against adversarial examples (chapters 13, 14, 15, 16, 19 and 20).

- :func:`adversarial_transform`: adversarial training as a batch transform for
  :func:`statlearn.training.fit`, mixing adversarial examples (FGSM as in Goodfellow,
  Shlens and Szegedy, 2015; PGD as in Madry et al., 2018) with clean ones by a weight.
  Chapter 13 trains with FGSM, chapters 19 and 20 with PGD.
- Defensive distillation (Papernot et al., 2016): :func:`tempered_cross_entropy` (the
  objective for hard or soft labels at temperature τ), :func:`soft_labels` and
  :func:`defensive_distillation`, which trains a teacher and a student at τ and deploys
  the student at τ = 1. Carlini and Wagner (2016, 2017) show why it only seems to work:
  chapter 14, and chapter 16 with the logit-margin loss.
- Feature squeezing (Xu, Evans and Qi, 2018; chapter 15): the squeezers
  :func:`bit_depth` and :func:`median_filter`, and the detector
  :class:`FeatureSqueezing`, which flags an input when the model's softmax moves too
  much under squeezing. Chapter 16 breaks it with an adaptive attack (Tramer et al.,
  2020).
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from statlearn._checks import (
    accepts_keyword,
    as_tensor,
    check_choice,
    check_int,
    check_labels,
    check_positive,
    check_probability,
    check_unit_interval,
    to_model,
)
from statlearn.nets import eval_mode

__all__ = [
    "adversarial_transform",
    "TemperedLoss",
    "tempered_cross_entropy",
    "soft_labels",
    "Distillation",
    "defensive_distillation",
    "bit_depth",
    "median_filter",
    "FeatureSqueezing",
]

Attack = Callable[[nn.Module, Tensor, Tensor], Tensor]
Transform = Callable[
    [nn.Module, Tensor, Optional[Tensor]], "tuple[Tensor, Optional[Tensor]]"
]


# --------------------------------------------------------------------------------------
# adversarial training
# --------------------------------------------------------------------------------------
def adversarial_transform(attack: Attack, *, weight: float = 0.5) -> Transform:
    """Adversarial training as a batch transform: ``fit(model, (x, y), transform=...)``.

    In each training batch a fraction ``weight`` of the rows is replaced by the
    adversarial examples ``attack`` makes from them against the current model; the other
    rows stay clean. Training then
    minimises, in expectation over the shuffled batches,

        (1 - w) ℓ(f(x), y) + w ℓ(f(x'), y),

    the mixed objective of Goodfellow et al. (their α = 1 - w, 0.5 by default);
    ``weight=1`` is the saddle-point training of Madry et al. Replacing rows rather than
    concatenating keeps the batch size (and so the learning-rate scale) unchanged,
    attacks only the rows it replaces, and works with any ``weight`` under the default
    cross-entropy objective. The number of adversarial rows is ``round(weight * N)``;
    since ``fit`` shuffles every epoch, taking the first rows is a random choice.

    ``fit`` hands the transform tensors already in the model's dtype and on its device.
    An attack with a ``check_input`` parameter (statlearn's ``fgsm``, ``pgd`` and
    ``cw_l2``, and ``functools.partial`` objects made from them) checks the first batch
    (pixels in [0, 1], valid labels) and is then called with ``check_input=False``: no
    input checks, and no host synchronisation for them, at the later training steps.
    A random start draws with the attack's ``random_state``, ``None`` by default,
    which ``fit(..., random_state=...)`` makes repeatable.

    Parameters
    ----------
    attack : callable
        ``attack(model, x, y) -> x_adv``, e.g. ``functools.partial(fgsm, eps=0.1)`` or
        ``functools.partial(pgd, eps=0.1, steps=7)``. It runs in eval mode; ``fit``
        switches the model back to training mode afterwards.
    weight : float
        Fraction of each batch made adversarial, in [0, 1].

    Returns
    -------
    callable
        ``transform(model, x, y) -> (x_mixed, y)`` for ``x : (B, ...)`` and ``y :
        (B,)`` tensors as ``fit`` passes them, with ``x_mixed`` detached and of
        ``x``'s shape.
    """
    if not callable(attack):
        raise TypeError(
            "attack must be a callable (model, x, y) -> x_adv; got "
            f"{type(attack).__name__}"
        )
    weight = check_probability(weight, "weight", open_interval=False)
    # the keywords of the next call: the first batch is checked, later ones trusted
    options = [{}]
    trusted = {"check_input": False} if accepts_keyword(attack, "check_input") else {}

    def transform(
        model: nn.Module, x: Tensor, y: Optional[Tensor]
    ) -> tuple[Tensor, Optional[Tensor]]:
        if y is None:
            raise ValueError(
                "adversarial training needs labelled batches (x, y); got y=None"
            )
        k = int(round(weight * x.shape[0]))
        if k == 0:
            return x, y
        x_adv = attack(model, x[:k], y[:k], **options[0]).detach()
        options[0] = trusted
        if k == x.shape[0]:
            return x_adv, y
        return torch.cat([x_adv, x[k:]]), y

    transform.attack = attack  # type: ignore[attr-defined]
    transform.weight = weight  # type: ignore[attr-defined]
    return transform


class TemperedLoss(NamedTuple):
    """Terms of :func:`tempered_cross_entropy`: the minimised loss (nats) and the
    batch accuracy (against the arg-max of soft labels)."""

    total: Tensor
    accuracy: Tensor
    units = "nats"


def tempered_cross_entropy(
    temperature: float,
) -> Callable[[nn.Module, Tensor, Tensor], TemperedLoss]:
    """The objective of training at temperature τ, for hard or soft labels.

        ℓ_τ(x, q) = -Σ_c q_c log softmax(f(x) / τ)_c

    where q is the one-hot label (integer ``y``) or a soft label (the teacher's
    softmax(f_teacher(x) / τ)). No τ^2 factor: with Adam
    the loss scale hardly matters, and Papernot et al. use the plain loss.

    Parameters
    ----------
    temperature : float
        τ > 0.

    Returns
    -------
    callable
        ``objective(model, x, y)`` for :func:`statlearn.training.fit`, with ``y`` a
        ``(N,)`` int tensor or an ``(N, C)`` float tensor of probabilities; returns a
        :class:`TemperedLoss`.
    """
    temperature = check_positive(temperature, "temperature")

    def objective(model: nn.Module, x: Tensor, y: Tensor) -> TemperedLoss:
        logits = model(x)
        log_p = F.log_softmax(logits / temperature, dim=1)
        if y.is_floating_point():
            if y.shape != logits.shape:
                raise ValueError(
                    f"soft labels must have the logits' shape {tuple(logits.shape)}; "
                    f"got {tuple(y.shape)}"
                )
            total = -(y * log_p).sum(dim=1).mean()
            hard = y.argmax(dim=1)
        else:
            total = F.nll_loss(log_p, y)
            hard = y
        acc = (logits.detach().argmax(dim=1) == hard).float().mean()
        return TemperedLoss(total, acc)

    objective.temperature = temperature  # type: ignore[attr-defined]
    return objective


@torch.no_grad()
def soft_labels(
    model: nn.Module, x: Tensor, *, temperature: float, batch_size: int = 1024
) -> Tensor:
    """The model's class probabilities at temperature τ: softmax(f(x)/τ).

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits ``(N, C)``; evaluated in eval mode, its mode restored.
    x : (N, ...) array or tensor
        Inputs, cast to the model's dtype and device.
    temperature : float
        τ > 0.
    batch_size : int
        Rows per forward pass, >= 1.

    Returns
    -------
    (N, C) tensor
        Rows sum to one.
    """
    from statlearn.training import predict_logits

    temperature = check_positive(temperature, "temperature")
    return F.softmax(
        predict_logits(model, x, batch_size=batch_size) / temperature, dim=1
    )


class Distillation(NamedTuple):
    """What :func:`defensive_distillation` returns: the two networks and their training
    histories.

    The student is deployed as it is, at τ = 1 (its raw logits)."""

    teacher: nn.Module
    student: nn.Module
    teacher_history: Any
    student_history: Any


def defensive_distillation(
    teacher: nn.Module,
    student: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    temperature: float = 100.0,
    epochs: int = 30,
    teacher_epochs: Optional[int] = None,
    **fit_kwargs: Any,
) -> Distillation:
    """Defensive distillation (Papernot et al., 2016).

    1. Train ``teacher`` on the hard labels at temperature τ
       (``tempered_cross_entropy``).
    2. Label the training set with its soft labels softmax(f_teacher(x)/τ).
    3. Train ``student`` (usually the same architecture, freshly initialised) on the
       soft labels at τ.
    4. Deploy the student at τ = 1: its logits are used as they are, so they are about
       τ times larger than those of a network trained at τ = 1, the softmax
       saturates and the input gradients of the cross-entropy vanish (often exactly, in
       float32).

    Parameters
    ----------
    teacher, student : nn.Module
        Untrained classifiers mapping ``x`` to logits ``(N, C)``; trained in place.
    x : (N, ...) array or tensor
        Training inputs in [0, 1].
    y : (N,) int array or tensor
        Training labels.
    temperature : float
        τ > 0 (Papernot et al. use up to 100).
    epochs : int
        Epochs of the student's training (and of the teacher's unless ``teacher_epochs``
        is given).
    teacher_epochs : int, optional
    **fit_kwargs
        Passed to both :func:`statlearn.training.fit` calls (``lr``, ``batch_size``,
        ``random_state``, ``quiet``...).

    Returns
    -------
    Distillation
        ``(teacher, student, teacher_history, student_history)``.
    """
    from statlearn.training import fit, predict_logits

    temperature = check_positive(temperature, "temperature")
    x = to_model(x, teacher, min_ndim=2)
    check_unit_interval(x, name="x")
    num_classes = predict_logits(teacher, x[:1]).shape[1]
    y = check_labels(y, num_classes, n=x.shape[0], device=x.device)
    for key in ("objective", "transform"):
        if key in fit_kwargs:
            raise TypeError(
                f"defensive_distillation sets fit's {key!r} itself; do not pass it"
            )
    objective = tempered_cross_entropy(temperature)
    teacher_history = fit(
        teacher,
        (x, y),
        objective=objective,
        epochs=epochs if teacher_epochs is None else teacher_epochs,
        **fit_kwargs,
    )
    q = soft_labels(teacher, x, temperature=temperature).to(x.device)
    student_history = fit(
        student, (x, q), objective=objective, epochs=epochs, **fit_kwargs
    )
    return Distillation(teacher, student, teacher_history, student_history)


# --------------------------------------------------------------------------------------
# feature squeezing
# --------------------------------------------------------------------------------------
_MEDIAN_MODES = ("reflect", "nearest", "mirror", "wrap")


def bit_depth(x: Any, bits: int) -> Tensor:
    """Reduce the colour depth of pixels in [0, 1] to ``bits`` bits (Xu et al., 2018).

        x' = round(x (2^b - 1)) / (2^b - 1)

    Each pixel is rounded to the nearest of the 2^b levels 0, 1/(2^b - 1), ..., 1
    (ties to even, as NumPy's ``rint``). The map is idempotent, keeps [0, 1], and with
    ``bits=8`` it is the identity on 8-bit data (multiples of 1/255). Its gradient is
    zero almost everywhere: an attack differentiates through it only with a stand-in
    such as BPDA (chapter 16).

    Parameters
    ----------
    x : (N, ...) array or tensor
        Pixels in [0, 1], any shape; float64 stays float64, other dtypes become float32.
    bits : int
        The colour depth b, from 1 to 8.

    Returns
    -------
    tensor
        ``x``'s shape, dtype and device.
    """
    bits = check_int(bits, "bits")
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be an int from 1 to 8; got {bits}")
    x = as_tensor(x, name="x")
    check_unit_interval(x, name="x")
    levels = 2**bits - 1
    return torch.round(x * levels) / levels


def _border_index(n: int, before: int, after: int, mode: str, device) -> Tensor:
    """Indices into an axis of length n for the padded positions -before .. n-1+after,
    with scipy.ndimage's border modes."""
    i = torch.arange(-before, n + after, device=device)
    if mode == "nearest":
        return i.clamp(0, n - 1)
    if mode == "wrap":
        return i.remainder(n)
    if mode == "reflect":  # d c b a | a b c d | d c b a: period 2n
        j = i.remainder(2 * n)
        return torch.where(j >= n, 2 * n - 1 - j, j)
    # mirror: d c b | a b c d | c b a, period 2n - 2
    if n == 1:
        return torch.zeros_like(i)
    j = i.remainder(2 * n - 2)
    return torch.where(j >= n, 2 * n - 2 - j, j)


def _check_image_shape(image_shape: Any) -> tuple[int, ...]:
    """``image_shape`` as a tuple of 2 or 3 positive ints (floats and strings are
    refused, not truncated)."""
    wanted = "image_shape must be (C, H, W) or (H, W) of positive ints"
    if isinstance(image_shape, torch.Tensor):
        image_shape = image_shape.tolist()
    if not isinstance(image_shape, (tuple, list, np.ndarray, torch.Size)):
        raise TypeError(f"{wanted}; got {type(image_shape).__name__} {image_shape!r}")
    dims = list(image_shape)
    if not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims
    ):
        raise TypeError(f"{wanted}; got {image_shape!r}")
    if len(dims) not in (2, 3) or min(dims) < 1:
        raise ValueError(f"{wanted}; got {image_shape!r}")
    return tuple(int(d) for d in dims)


def median_filter(
    x: Any,
    size: "int | tuple[int, int]" = 2,
    *,
    image_shape: Optional[tuple[int, ...]] = None,
    mode: str = "reflect",
) -> Tensor:
    """Median smoothing of each channel of each image over a sliding window (Xu et
    al., 2018).

    Every output pixel is the median of the ``size`` window of its channel. The window
    and its alignment are those of ``scipy.ndimage.median_filter`` with ``origin=0``:
    along an axis of window length k, the output at position i takes the inputs
    i - k // 2, ..., i + k - 1 - k // 2, so a 2x2 window covers the pixel, its upper
    and left neighbours and the upper-left one. For an even number of values the median
    is the upper of the two middle ones (the value of rank k_h k_w // 2 from 0), as in
    scipy, which Xu et al.'s code uses. Outside the image, pixels follow scipy's border
    ``mode``. The median passes the gradient to the pixel it selects, so the filter is
    differentiable almost everywhere.

    Parameters
    ----------
    x : (N, C, H, W) array or tensor, or (N, ...) with ``image_shape``
        Images. Flat inputs such as ``(N, 64)`` digits need ``image_shape``; the result
        then has ``x``'s shape again.
    size : int or (int, int)
        The window's height and width (one int for a square window), each >= 1; 2 is
        the paper's 2x2 window.
    image_shape : tuple of int, optional
        ``(C, H, W)`` or ``(H, W)`` of one image, for inputs that are not
        ``(N, C, H, W)``; each row of ``x`` must hold that many values.
    mode : {'reflect', 'nearest', 'mirror', 'wrap'}
        The border mode, with scipy's meaning: 'reflect' (scipy's default) repeats the
        edge pixel and continues backwards (d c b a | a b c d), 'mirror' reflects about
        the edge pixel (d c b | a b c d), 'nearest' repeats the edge pixel, 'wrap' wraps
        around.

    Returns
    -------
    tensor
        ``x``'s shape, dtype and device.

    Raises
    ------
    TypeError
        If ``size`` or ``image_shape`` holds something other than ints (a float such
        as 8.9 is refused, not truncated; so is a string).
    ValueError
        If ``x`` is not (N, C, H, W) without ``image_shape``, its rows do not hold
        ``prod(image_shape)`` values, a size is below 1 or ``mode`` is unknown.
    """
    sizes = (size, size) if not isinstance(size, (tuple, list)) else tuple(size)
    if len(sizes) != 2:
        raise ValueError(f"size must be an int or a pair (height, width); got {size!r}")
    kh, kw = (check_int(s, "size") for s in sizes)
    if kh < 1 or kw < 1:
        raise ValueError(f"size must be >= 1 in each direction; got {size!r}")
    mode = check_choice(mode, "mode", _MEDIAN_MODES)
    x = as_tensor(x, name="x")
    shape = x.shape
    if image_shape is None:
        if x.ndim != 4:
            raise ValueError(
                "x must be 4-D (N, C, H, W), or give image_shape for flat inputs; "
                f"got shape {tuple(shape)}"
            )
        images = x
    else:
        image_shape = _check_image_shape(image_shape)
        if len(image_shape) == 2:
            image_shape = (1,) + image_shape
        per_image = image_shape[0] * image_shape[1] * image_shape[2]
        if x.ndim < 2 or x[0].numel() != per_image:
            raise ValueError(
                f"each row of x must hold prod(image_shape) = {per_image} values; got "
                f"shape {tuple(shape)}"
            )
        images = x.reshape((shape[0],) + image_shape)
    height, width = images.shape[2], images.shape[3]
    rows = _border_index(height, kh // 2, kh - 1 - kh // 2, mode, x.device)
    cols = _border_index(width, kw // 2, kw - 1 - kw // 2, mode, x.device)
    padded = images[:, :, rows][:, :, :, cols]
    windows = padded.unfold(2, kh, 1).unfold(3, kw, 1).flatten(-2)
    median = windows.kthvalue(kh * kw // 2 + 1, dim=-1).values
    return median.reshape(shape)


class FeatureSqueezing:
    """The feature-squeezing detector of Xu, Evans and Qi (2018).

    A squeezer s maps an input to a coarser one (fewer colour bits, a median filter).
    The detector compares the model's softmax p(x) = softmax(f(x)) on the input with
    that on each squeezed input and scores the input by the largest L1 distance,

        score(x) = max_s || p(x) - p(s(x)) ||_1,

    which lies in [0, 2]. It is calibrated on held-out clean inputs (never the training
    set, on which the model is more confident than on new data) and flags an input as
    adversarial when its score exceeds the threshold.

    The score is differentiable in ``x`` wherever the squeezers are (a median filter
    is, a bit-depth reduction is not); wrapping a squeezer in a straight-through
    stand-in (BPDA, chapter 16) lets an attack put the detector in its loss.

    Parameters
    ----------
    model : nn.Module
        Maps inputs in [0, 1] to logits ``(N, C)``; evaluated in eval mode, its mode
        restored afterwards.
    squeezers : sequence of callables
        Each maps a batch ``x`` to a squeezed batch of the same shape, e.g.
        ``functools.partial(bit_depth, bits=2)`` or ``functools.partial(median_filter,
        size=2, image_shape=(1, 8, 8))``.

    Attributes
    ----------
    threshold_ : float
        The detection threshold, set by :meth:`calibrate` (``inf`` when too few
        calibration inputs were given for the target rate: n < 1 / fpr - 1).
    fpr_ : float
        The false-positive rate the threshold was calibrated for.
    n_calibration_ : int
        The number of clean inputs it was calibrated on.
    """

    def __init__(self, model: nn.Module, squeezers: Any) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model must be a torch.nn.Module; got {type(model).__name__}"
            )
        if callable(squeezers):
            raise TypeError(
                "squeezers must be a sequence of callables; wrap a single squeezer "
                "in a list"
            )
        squeezers = list(squeezers)
        if not squeezers:
            raise ValueError("squeezers must hold at least one callable; got none")
        for s in squeezers:
            if not callable(s):
                raise TypeError(
                    f"every squeezer must be callable x -> x'; got {type(s).__name__}"
                )
        self.model = model
        self.squeezers = squeezers

    def __repr__(self) -> str:
        return (
            f"FeatureSqueezing({type(self.model).__name__}, "
            f"{len(self.squeezers)} squeezer(s))"
        )

    def distances(self, x: Any) -> Tensor:
        """The L1 distance between the softmax on ``x`` and on each squeezed ``x``.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Inputs in [0, 1], cast to the model's dtype and device.

        Returns
        -------
        (N, S) tensor
            Column s is || p(x) - p(s(x)) ||_1 for the s-th squeezer; differentiable in
            ``x`` where the squeezers are.

        Raises
        ------
        ValueError
            If ``x`` is not a batch of pixels in [0, 1] (whatever the squeezers), or a
            squeezer changes its shape.
        """
        return self._distances(x, "x")

    def _distances(self, x: Any, name: str) -> Tensor:
        x = to_model(x, self.model, name=name, min_ndim=2)
        # the squeezers assume pixels: bit_depth refuses others, a median filter would
        # not, and the model's softmax on them means nothing
        check_unit_interval(x, name=name)
        with eval_mode(self.model):
            p = F.softmax(self.model(x), dim=1)
            columns = []
            for squeeze in self.squeezers:
                x_s = squeeze(x)
                if not isinstance(x_s, Tensor) or x_s.shape != x.shape:
                    raise ValueError(
                        "a squeezer must return a tensor of x's shape "
                        f"{tuple(x.shape)}; got "
                        f"{tuple(x_s.shape) if isinstance(x_s, Tensor) else type(x_s)}"
                    )
                p_s = F.softmax(self.model(x_s.to(x.dtype)), dim=1)
                columns.append((p - p_s).abs().sum(dim=1))
        return torch.stack(columns, dim=1)

    def score(self, x: Any) -> Tensor:
        """The detection score max_s || p(x) - p(s(x)) ||_1 of each input.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Inputs in [0, 1], cast to the model's dtype and device.

        Returns
        -------
        (N,) tensor
            Scores in [0, 2] on the model's device; differentiable in ``x`` where the
            squeezers are (not detached).
        """
        return self.distances(x).amax(dim=1)

    def calibrate(self, x_clean: Any, fpr: float = 0.05) -> "FeatureSqueezing":
        """Set ``threshold_`` so that a new clean input is flagged with probability at
        most ``fpr``.

        With the n clean scores sorted, s_(1) <= ... <= s_(n), the threshold is the
        conformal rank s_(k) with k = ceil((1 - fpr) (n + 1)), and +inf (nothing is
        flagged) when k > n. If the n calibration inputs and a new clean input are
        exchangeable (independent draws from one distribution), the new score
        exceeds s_(k) with probability at most (n - k + 1) / (n + 1) <= fpr, with
        equality for continuous scores; the plain quantile k = ceil((1 - fpr) n)
        would exceed ``fpr``. Use clean inputs that the model was not trained on.

        Parameters
        ----------
        x_clean : (n, ...) array or tensor
            Held-out clean inputs in [0, 1].
        fpr : float
            The target false-positive rate, in (0, 1).

        Returns
        -------
        FeatureSqueezing
            ``self``, with ``threshold_``, ``fpr_`` and ``n_calibration_`` set.
        """
        fpr = check_probability(fpr, "fpr")
        with torch.no_grad():
            scores = self._distances(x_clean, "x_clean").amax(dim=1)
        n = scores.shape[0]
        k = max(math.ceil((1 - fpr) * (n + 1) - 1e-9), 1)  # the conformal rank
        self.threshold_ = float(scores.kthvalue(k).values) if k <= n else math.inf
        self.fpr_ = fpr
        self.n_calibration_ = n
        return self

    def detect(self, x: Any) -> Tensor:
        """Flag inputs whose score exceeds the calibrated threshold.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Inputs in [0, 1].

        Returns
        -------
        (N,) bool tensor
            True where ``score(x) > threshold_`` (flagged as adversarial).
        """
        if not hasattr(self, "threshold_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "this FeatureSqueezing detector is not calibrated yet; call "
                "calibrate(x_clean, fpr) on held-out clean inputs first"
            )
        with torch.no_grad():
            return self.score(x) > self.threshold_
