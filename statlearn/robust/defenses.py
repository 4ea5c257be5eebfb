"""Defenses against adversarial examples (chapters 13 and 14).

- :func:`adversarial_transform`: adversarial training as a batch transform for
  :func:`statlearn.training.fit`, mixing adversarial examples (FGSM as in Goodfellow,
  Shlens and Szegedy, 2015; PGD as in Madry et al., 2018) with clean ones by a weight.
- Defensive distillation (Papernot et al., 2016): :func:`tempered_cross_entropy` (the
  objective for hard or soft labels at temperature τ), :func:`soft_labels` and
  :func:`defensive_distillation`, which trains a teacher and a student at τ and deploys
  the student at τ = 1. Carlini and Wagner (2016, 2017) show why it only seems to work:
  chapter 14.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from statlearn import _checks

__all__ = [
    "adversarial_transform",
    "TemperedLoss",
    "tempered_cross_entropy",
    "soft_labels",
    "Distillation",
    "defensive_distillation",
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
        ``transform(model, x, y) -> (x_mixed, y)`` with ``x_mixed`` detached and of
        ``x``'s shape.
    """
    if not callable(attack):
        raise TypeError(
            "attack must be a callable (model, x, y) -> x_adv; got "
            f"{type(attack).__name__}"
        )
    weight = _checks.check_probability(weight, "weight", open_interval=False)

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
        x_adv = attack(model, x[:k], y[:k]).detach()
        if k == x.shape[0]:
            return x_adv, y
        return torch.cat([x_adv, x[k:]]), y

    transform.attack = attack  # type: ignore[attr-defined]
    transform.weight = weight  # type: ignore[attr-defined]
    return transform


# --------------------------------------------------------------------------------------
# defensive distillation
# --------------------------------------------------------------------------------------
class TemperedLoss(NamedTuple):
    """Terms of :func:`tempered_cross_entropy`: the minimised loss and the batch
    accuracy (against the arg-max of soft labels)."""

    total: Tensor
    accuracy: Tensor


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
    temperature = _checks.check_positive(temperature, "temperature")

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

    temperature = _checks.check_positive(temperature, "temperature")
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
        ``seed``, ``quiet``...).

    Returns
    -------
    Distillation
        ``(teacher, student, teacher_history, student_history)``.
    """
    from statlearn.training import fit, predict_logits

    temperature = _checks.check_positive(temperature, "temperature")
    x = _checks.to_model(x, teacher)
    if x.ndim < 2:
        raise ValueError(f"x must be a batch (N, ...); got shape {tuple(x.shape)}")
    _checks.check_unit_interval(x, name="x")
    num_classes = predict_logits(teacher, x[:1]).shape[1]
    y = _checks.check_labels(y, num_classes, n=x.shape[0], device=x.device)
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
