"""Robust and non-robust features (chapter 19).

Implements the two dataset constructions of Ilyas, Santurkar, Tsipras, Engstrom, Tran
and Madry (2019), "Adversarial examples are not bugs, they are features":

- :func:`relabel_adversarially` builds the non-robust datasets D_rand and D_det: each
  training input is pushed by a targeted l2 PGD attack towards a target class t (drawn
  uniformly at random, or t = (y + 1) mod C), and the successful adversarial example is
  relabelled t. To a person the example still shows its old class; only the model's
  non-robust features point to t.
- :func:`invert_representation` builds the robust dataset D_R (with an adversarially
  trained model) and its non-robust counterpart D_NR (with a standard model): starting
  from an unrelated image, gradient steps move the input until a hidden layer's
  representation matches the representation of a target image.

Both work on any model that maps inputs in [0, 1] to logits, batched and on the model's
device; hidden layers are read through :class:`statlearn.nets.ActivationRecorder`.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from statlearn._checks import (
    as_generator,
    check_choice,
    check_int,
    check_labels,
    check_positive,
    check_unit_interval,
    to_model,
)
from statlearn.functional import rows_norm
from statlearn.nets import ActivationRecorder, eval_mode, record_activations
from statlearn.robust.attacks import pgd

__all__ = ["relabel_adversarially", "invert_representation"]

_MODES = ("rand", "det")


def _check_model(model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    return model


def _check_batch(x: Any, model: nn.Module, name: str) -> Tensor:
    """``x`` at the model's dtype and device, (N, ...) with values in [0, 1] (the range
    check reads the minimum and maximum, which also catch NaN and infinities)."""
    x = to_model(x, model, name=name, min_ndim=2, allow_nonfinite=True).detach()
    check_unit_interval(x, name=name)
    return x


def relabel_adversarially(
    model: nn.Module,
    x: Any,
    y: Any,
    eps: float,
    mode: str = "rand",
    *,
    steps: int = 100,
    step_size: Optional[float] = None,
    random_state: Any = None,
    batch_size: int = 1024,
    return_index: bool = False,
) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor]:
    """The non-robust datasets D_rand and D_det of Ilyas et al. (2019).

    For each row a target class t is chosen, uniformly at random among the C classes
    (``mode="rand"``, so that t carries no information about y) or as t = (y + 1) mod C
    (``mode="det"``, so that the robust features of x point to t - 1, not to t). A
    targeted l2 PGD attack without random start then moves x inside the ball
    ||x' - x||_2 <= eps (and the box [0, 1]^D) towards t:

        x' = argmin_{||x' - x||_2 <= eps} loss(f(x'), t)   (approximately),

    and only the rows the model then classifies as t are kept, relabelled t.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits ``(N, C)``; a standard (not adversarially trained) model in
        the paper's experiment. Its train/eval mode is restored.
    x : (N, ...) array or tensor
        Inputs in [0, 1], cast to the model's dtype and device; not modified.
    y : (N,) int array or tensor
        The true labels, in {0, ..., C - 1}.
    eps : float
        The l2 budget, >= 0.
    mode : {"rand", "det"}
        How the targets are chosen: uniformly at random, or ``(y + 1) % C``.
    steps : int
        PGD steps, >= 1.
    step_size : float, optional
        PGD step length in l2; default ``2.5 * eps / steps``.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        The random targets (``mode="rand"`` only); see statlearn's randomness rule
        (CONTRIBUTING.md). Draws on the CPU, so that a seed gives the same targets on
        every device.
    batch_size : int
        Rows attacked at once, >= 1.
    return_index : bool
        Also return which rows of ``x`` were kept.

    Returns
    -------
    x_adv : (M, ...) tensor
        The successful adversarial examples (M <= N rows, in the order of ``x``),
        detached, on the model's device, each within ``eps`` of its input in l2 and in
        [0, 1].
    target : (M,) int64 tensor
        Their new labels: the class each one is pushed to, and is classified as.
    index : (M,) int64 tensor
        Only with ``return_index=True``: the rows of ``x`` they come from, increasing,
        so that ``x_adv[i]`` is the attacked ``x[index[i]]`` and ``y[index]`` their
        old labels.

    Raises
    ------
    ValueError
        If ``mode`` is unknown, ``eps`` < 0, ``steps`` or ``batch_size`` < 1, ``x`` is
        not a batch in [0, 1], or ``y`` does not hold one label in {0, ..., C - 1} per
        row.
    """
    model = _check_model(model)
    mode = check_choice(mode, "mode", _MODES)
    eps = check_positive(eps, "eps", strict=False)
    steps = check_int(steps, "steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if not isinstance(return_index, bool):
        raise TypeError(
            f"return_index must be a bool; got {type(return_index).__name__}"
        )
    x = _check_batch(x, model, "x")
    with eval_mode(model):
        with torch.no_grad():
            num_classes = model(x[:1]).shape[1]
        y = check_labels(y, num_classes, name="y", n=x.shape[0], device=x.device)
        if mode == "rand":
            gen = as_generator(random_state)
            target = torch.randint(0, num_classes, (x.shape[0],), generator=gen)
            target = target.to(x.device)
        else:
            target = (y + 1) % num_classes
        kept_x, kept_t, kept_i = [], [], []
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size]
            tb = target[start : start + batch_size]
            # x and the targets are checked above: pgd skips its own input checks
            x_adv = pgd(
                model,
                xb,
                tb,
                eps=eps,
                steps=steps,
                step_size=step_size,
                norm="l2",
                targeted=True,
                random_start=False,
                check_input=False,
            )
            with torch.no_grad():
                success = model(x_adv).argmax(dim=1) == tb
            kept_x.append(x_adv[success])
            kept_t.append(tb[success])
            kept_i.append(start + torch.nonzero(success).flatten())
    out = (torch.cat(kept_x).detach(), torch.cat(kept_t))
    return (*out, torch.cat(kept_i)) if return_index else out


def invert_representation(
    model: nn.Module,
    x_target: Any,
    x_start: Any,
    layer: str,
    steps: int = 200,
    *,
    step_size: float = 0.1,
    batch_size: int = 1024,
) -> Tensor:
    """Inputs whose representation at ``layer`` matches that of ``x_target``.

    With g(x) the output of ``layer`` (a name from ``model.named_modules()``), each row
    solves, from x^(0) = ``x_start``,

        min_{x in [0, 1]^D} ||g(x) - g(x_target)||_2

    by normalised gradient descent, the steepest descent of the l2 geometry:

        x^(k+1) = clip_[0, 1](x^(k) - step_size * grad / ||grad||_2),

    where grad is the gradient of the row's distance with respect to its input. A
    constant step ends by hopping around the minimum, so each row's iterate of
    smallest distance is returned: the distance never exceeds the one at the start.
    With an adversarially trained model the result shows the robust features of
    ``x_target`` (Ilyas et al.'s D_R); with a standard model, mostly ``x_start`` with
    invisible changes (D_NR).

    Parameters
    ----------
    model : nn.Module
        The network whose representation is matched; its parameters receive no
        gradient and its train/eval mode is restored.
    x_target : (N, ...) array or tensor
        Inputs in [0, 1] whose representations are the targets.
    x_start : (N, ...) array or tensor
        Starting inputs in [0, 1], of the same shape (a different image, or noise).
    layer : str
        The name of a submodule of ``model``, as in ``model.named_modules()`` (e.g.
        ``"4"`` for the last ReLU of ``mlp(64, 10, hidden=(128, 128))``).
    steps : int
        Gradient steps, >= 1.
    step_size : float
        The l2 length of each step, > 0.
    batch_size : int
        Rows optimised at once, >= 1.

    Returns
    -------
    x : (N, ...) tensor
        Detached, in [0, 1], on the model's device and in its dtype.

    Raises
    ------
    ValueError
        If ``layer`` is not a submodule of ``model``, the two inputs differ in shape or
        are not batches in [0, 1], or ``steps``, ``step_size`` or ``batch_size`` is out
        of range.
    """
    model = _check_model(model)
    x_target = _check_batch(x_target, model, "x_target")
    x_start = _check_batch(x_start, model, "x_start")
    if x_target.shape != x_start.shape:
        raise ValueError(
            "x_target and x_start must have the same shape; got "
            f"{tuple(x_target.shape)} and {tuple(x_start.shape)}"
        )
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a str; got {type(layer).__name__}")
    steps = check_int(steps, "steps", minimum=1)
    step_size = check_positive(step_size, "step_size")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    z_target = record_activations(model, x_target, [layer], batch_size=batch_size)[
        layer
    ]
    tiny = torch.finfo(x_start.dtype).tiny
    parts = []
    with eval_mode(model):
        with (
            torch.enable_grad(),
            ActivationRecorder(model, [layer], detach=False) as rec,
        ):
            for start in range(0, x_start.shape[0], batch_size):
                zb = z_target[start : start + batch_size].flatten(1)
                x = x_start[start : start + batch_size].clone()
                best = x.clone()
                best_dist = torch.full(
                    (x.shape[0],), float("inf"), device=x.device, dtype=x.dtype
                )
                for k in range(steps + 1):
                    x.requires_grad_(True)
                    model(x)
                    # squared distance: the same direction as the distance's gradient,
                    # and defined where the distance is zero
                    sq = (rec.outputs[layer].flatten(1) - zb).pow(2).sum(dim=1)
                    with torch.no_grad():
                        improved = sq < best_dist
                        best_dist = torch.where(improved, sq, best_dist)
                        rows = improved.reshape((-1,) + (1,) * (x.ndim - 1))
                        best = torch.where(rows, x, best)
                    if k == steps:
                        break
                    (grad,) = torch.autograd.grad(sq.sum(), x)
                    with torch.no_grad():
                        direction = grad / rows_norm(grad).clamp_min(tiny)
                        x = (x - step_size * direction).clamp_(0.0, 1.0)
                parts.append(best.detach())
    return torch.cat(parts)
