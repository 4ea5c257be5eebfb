"""Adversarial attacks in pixel space (chapters 8, 13, 14, 15, 16, 17, 19 and 20).

Implements the fast gradient sign method (FGSM) of Goodfellow, Shlens and Szegedy
(2015), projected gradient descent (PGD) in the l-infinity and l2 balls of Kurakin,
Goodfellow and Bengio (2017) and Madry et al. (2018), and the Carlini-Wagner l2 attack
of Carlini and Wagner (2017), plus :func:`robust_accuracy`, the accuracy of a model on
the examples an attack returns.

For adaptive attacks on defenses (chapter 16; Athalye, Carlini and Wagner, 2018;
Tramer, Carlini, Brendel and Madry, 2020): :func:`bpda`, backward-pass differentiable
approximation of a non-differentiable input map, :class:`EOT`, expectation over
transformation for randomized inputs maps and stochastic models, :func:`margin_loss`,
and the ``success_fn`` of :func:`pgd`, which decides which restart to keep.

The chapters that use them: 8 (FGSM against the variational information bottleneck),
13 (FGSM, PGD and adversarial training), 14 (Carlini-Wagner against defensive
distillation), 15 (the attacks a feature-squeezing detector must catch), 16 (adaptive
attacks), 17 (PGD against the smoothed classifier), 19 (targeted l2 PGD, robust
accuracy) and 20 (PGD training in the information plane).

Every attack is a function ``attack(model, x, y, *, eps, ...) -> x_adv`` on a model that
maps inputs in [0, 1]^D to logits (normalisation lives inside the model). Every attack

- accepts NumPy arrays and tensors of any floating dtype, cast once to the model's dtype
  and device, never mutates ``x``, and returns a detached tensor on the model's device
  and in its dtype;
- checks its input once, at entry: ``x`` is a batch in [0, 1] (one read of its minimum
  and maximum, which also rejects NaN and infinities) and ``y`` holds one class per row
  (checked against the logits of the first forward pass). ``check_input=False`` skips
  these checks for callers that made them already: :func:`robust_accuracy`,
  ``relabel_adversarially`` and adversarial training in ``statlearn.training.fit``
  pass it for every batch after checking the whole data set once;
- runs the model in eval mode and restores every module's ``training`` flag afterwards;
- differentiates with respect to the input only (``torch.autograd.grad``), so no
  ``.grad`` is left on the model's parameters;
- stays in the threat model: ‖ x' - x ‖ ≤ ε and x' ∈ [0, 1]^D;
- treats each row independently, so the result for a row does not depend on the batch it
  is in.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from statlearn._checks import (
    accepts_keyword,
    as_generator,
    as_tensor,
    check_choice,
    check_int,
    check_labels,
    check_positive,
    check_unit_interval,
    to_model,
)
from statlearn.functional import log_mean_softmax, rows_norm
from statlearn.nets import eval_mode

__all__ = [
    "fgsm",
    "pgd",
    "cw_l2",
    "cw_l2_details",
    "CWResult",
    "robust_accuracy",
    "margin_loss",
    "bpda",
    "EOT",
]

LossFn = Callable[[Tensor, Tensor], Tensor]
SuccessFn = Callable[[Tensor, Tensor], Tensor]
Attack = Callable[..., Tensor]
Budget = Union[float, Tensor]

_NORMS = ("linf", "l2")


# --------------------------------------------------------------------------------------
# validation, at the public entry points only
# --------------------------------------------------------------------------------------
def _check_model(model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    return model


def _check_input(x: Any, model: nn.Module) -> Tensor:
    """x at the model's dtype and device, a batch (N, ...) with all values in [0, 1].

    The range check reads the minimum and the maximum, which are NaN or infinite when
    any value is, so it is also the finiteness check: two host reads in all.
    """
    # an input that requires grad stays out of the attack's graph
    x = to_model(x, model, min_ndim=2, allow_nonfinite=True).detach()
    check_unit_interval(x, name="x")
    return x


def _check_targets(y: Any, x: Tensor) -> Tensor:
    """y as a (N,) int64 tensor on x's device (its range is checked against the logits
    later).
    """
    t = y if isinstance(y, Tensor) else torch.as_tensor(y)
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        if not (t.dtype.is_floating_point and bool((t == t.round()).all())):
            raise ValueError(f"y must hold integer class labels; got dtype {t.dtype}")
    if t.ndim != 1 or t.shape[0] != x.shape[0]:
        raise ValueError(
            f"y must have shape (N,) = ({x.shape[0]},) to match x; got shape "
            f"{tuple(t.shape)}"
        )
    return t.to(device=x.device, dtype=torch.long)


def _check_label_range(y: Tensor, logits: Tensor) -> None:
    """Labels must index the model's C logits (checked on the first forward pass, which
    is free).
    """
    if logits.ndim != 2 or logits.shape[0] != y.shape[0]:
        raise ValueError(
            f"the model must return logits of shape (N, C) = ({y.shape[0]}, C); got "
            f"{tuple(logits.shape)}"
        )
    check_labels(y, logits.shape[1], name="y")


def _check_budget(value: Budget, x: Tensor, name: str = "eps") -> Budget:
    """A budget >= 0: a float, or an (N,) tensor on x's device and in its dtype."""
    if isinstance(value, Tensor):
        if value.ndim == 0:
            value = value.reshape(1).expand(x.shape[0])
        if value.ndim != 1 or value.shape[0] != x.shape[0]:
            raise ValueError(
                f"{name} must be a float or a (N,) = ({x.shape[0]},) tensor; got shape "
                f"{tuple(value.shape)}"
            )
        value = value.detach().to(device=x.device, dtype=x.dtype)
        # one host read: NaN fails both comparisons and infinity the second
        top = torch.finfo(x.dtype).max
        if not bool(((value >= 0) & (value <= top)).all()):
            raise ValueError(
                f"{name} must be finite and >= 0; got values in "
                f"[{value.min().item():g}, {value.max().item():g}]"
            )
        return value
    # TypeError for non-numbers, ValueError for NaN, infinities and negatives
    return check_positive(value, name, strict=False)


def _as_dtype(value: float, dtype: torch.dtype) -> float:
    """A Python float rounded to ``dtype``, as a tensor of that dtype would hold it."""
    return float(torch.tensor(value, dtype=dtype))


def _rows(value: Budget, x: Tensor) -> Tensor:
    """A validated budget as an (N, 1, ..., 1) tensor that broadcasts against x."""
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    if isinstance(value, Tensor):
        return value.reshape(shape)
    return torch.full(shape, value, device=x.device, dtype=x.dtype)


# --------------------------------------------------------------------------------------
# pieces of the cores (no checks)
# --------------------------------------------------------------------------------------
def _cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(logits, y, reduction="none")


def _input_grad(
    model: nn.Module, x_adv: Tensor, y: Tensor, loss_fn: LossFn, check_logits: bool
) -> tuple[Tensor, Tensor]:
    """Per-sample losses at x_adv and the gradient of their sum with respect to x_adv
    only. ``check_logits``: check the labels against the logits (a public entry's
    first pass).
    """
    x_adv = x_adv.detach().requires_grad_(True)
    logits = model(x_adv)
    if check_logits:
        _check_label_range(y, logits)
    loss = loss_fn(logits, y)
    if loss.ndim != 1 or loss.shape[0] != x_adv.shape[0]:
        raise ValueError(
            "loss_fn must return per-sample losses of shape (N,); got shape "
            f"{tuple(loss.shape)}"
        )
    (grad,) = torch.autograd.grad(loss.sum(), x_adv)
    return loss.detach(), grad


def _check_success(success: Tensor, x: Tensor) -> Tensor:
    """A success rule's answer as an (N,) bool tensor on x's device."""
    if not isinstance(success, Tensor):
        success = torch.as_tensor(success)
    if success.dtype != torch.bool or success.shape != (x.shape[0],):
        raise ValueError(
            f"success_fn must return an (N,) = ({x.shape[0]},) bool tensor; got "
            f"dtype {success.dtype} and shape {tuple(success.shape)}"
        )
    return success.to(x.device)


# --------------------------------------------------------------------------------------
# FGSM and PGD
# --------------------------------------------------------------------------------------
def fgsm(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: Budget,
    targeted: bool = False,
    check_input: bool = True,
) -> Tensor:
    """Fast gradient sign method (Goodfellow, Shlens and Szegedy, 2015).

        x' = Π_([0, 1]^D)(x + ε sign ∇_x ℓ(f(x), y))

    (with a minus sign when ``targeted``: a step towards the target class ``y``).

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits ``(N, C)`` (log-probabilities work too: cross-entropy is
        unchanged).
    x : (N, ...) array or tensor
        Inputs in [0, 1], cast to the model's dtype and device; not modified.
    y : (N,) int array or tensor
        True labels, or target labels when ``targeted``.
    eps : float or (N,) tensor
        The l-infinity budget, >= 0 (per sample when a tensor).
    targeted : bool
        Decrease the loss of ``y`` instead of increasing it.
    check_input : bool
        Check ``x`` and ``y`` (see the module's docstring). ``False`` trusts them to be
        checked already: ``x`` a tensor in the model's dtype and on its device with
        values in [0, 1], ``y`` an integer tensor of valid classes.

    Returns
    -------
    x_adv : (N, ...) tensor
        Detached adversarial examples with ``|x_adv - x| <= eps`` and values in [0, 1].
    """
    _check_model(model)
    if check_input:
        x = _check_input(x, model)
        y = _check_targets(y, x)
    else:
        y = torch.as_tensor(y, dtype=torch.long, device=x.device)
    eps = _check_budget(eps, x)
    return _fgsm(model, x, y, eps, targeted, check_logits=check_input)


def _fgsm(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: Budget,
    targeted: bool,
    check_logits: bool,
) -> Tensor:
    """FGSM on checked inputs."""
    sign = -1.0 if targeted else 1.0
    with eval_mode(model), torch.enable_grad():
        _, grad = _input_grad(model, x, y, _cross_entropy, check_logits)
    step = sign * _rows(eps, x)
    return (x + step * grad.sign()).clamp_(0.0, 1.0).detach()


def _random_start(
    x: Tensor, eps_b: Tensor, norm: str, generator: Optional[torch.Generator]
) -> Tensor:
    """A random point of the eps-ball around each x, drawn once and shared by the rows.

    One draw of shape ``x.shape[1:]``, on x's device, is scaled by each row's budget.
    Each row's start is uniform in its ball, and a row's adversarial example is the same
    whether it is attacked alone or in a batch.
    """
    shape = (1,) + tuple(x.shape[1:])
    if norm == "linf":
        u = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)
        delta = (2.0 * u - 1.0) * eps_b
    else:
        g = torch.randn(shape, generator=generator, device=x.device, dtype=x.dtype)
        r = torch.rand((1,), generator=generator, device=x.device, dtype=x.dtype)
        dim = g[0].numel()
        direction = g / rows_norm(g).clamp_min(torch.finfo(x.dtype).tiny)
        delta = direction * r.pow(1.0 / dim) * eps_b
    return (x + delta).clamp(0.0, 1.0)


def _project(x_adv: Tensor, x: Tensor, eps_b: Tensor, norm: str) -> Tensor:
    """Projection onto the eps-ball around x intersected with the box [0, 1]^D."""
    if norm == "linf":
        x_adv = torch.maximum(torch.minimum(x_adv, x + eps_b), x - eps_b)
    else:
        delta = x_adv - x
        scale = (eps_b / rows_norm(delta).clamp_min(torch.finfo(x.dtype).tiny)).clamp(
            max=1.0
        )
        x_adv = x + delta * scale
    # clipping to the box moves every coordinate towards x (x is in the box), so it
    # keeps the ball
    return x_adv.clamp_(0.0, 1.0)


def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: Budget,
    steps: int,
    step_size: Optional[Budget] = None,
    norm: str = "linf",
    random_start: bool = True,
    restarts: int = 1,
    targeted: bool = False,
    loss_fn: Optional[LossFn] = None,
    success_fn: Optional[SuccessFn] = None,
    random_state: Any = None,
    check_input: bool = True,
) -> Tensor:
    """Projected gradient descent on the loss (Kurakin, Goodfellow and Bengio, 2017;
    Madry et al., 2018).

    Each step moves along the steepest-ascent direction of the ball's norm (the
    gradient's sign for ``"linf"``, the normalised gradient for ``"l2"``) and projects
    back onto the ball and the box:

        x^(t+1) = Π(x^(t) + α s(∇_x ℓ(f(x^(t)), y)))

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits ``(N, C)``.
    x : (N, ...) array or tensor
        Inputs in [0, 1], cast to the model's dtype and device; not modified.
    y : (N,) int array or tensor
        True labels, or target labels when ``targeted``.
    eps : float or (N,) tensor
        Radius of the ball, >= 0 (per sample when a tensor).
    steps : int
        Number of gradient steps, >= 1 (with none, ``pgd`` would return its starting
        point, not an attack).
    step_size : float or (N,) tensor, optional
        Step length α; default ``2.5 * eps / steps`` (Madry et al.).
    norm : {"linf", "l2"}
        The threat model's norm.
    random_start : bool
        Start from a uniform random point of the ball (one draw per restart, shared by
        the rows and scaled by each row's ``eps``, so results do not depend on batching)
        instead of from ``x``.
    restarts : int
        Independent runs, >= 1; per row the best is kept (a successful example first,
        then the larger loss, or the smaller loss when ``targeted``).
    targeted : bool
        Decrease the loss of ``y`` instead of increasing it.
    loss_fn : callable, optional
        ``loss_fn(logits, y) -> (N,)`` per-sample losses; default cross-entropy.
    success_fn : callable, optional
        ``success_fn(x_adv, y) -> (N,)`` bool: which rows of a finished restart count
        as successful, for choosing among ``restarts``. Default: the model's
        prediction ``argmax f(x_adv)`` differs from ``y`` (equals ``y`` when
        ``targeted``). An attack on a detector-guarded classifier passes the rule
        "misclassified and not detected". Called without gradients, and only when
        ``restarts > 1``.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        The random starts; see statlearn's randomness rule (CONTRIBUTING.md). Draws on
        the model's device: ``None`` from torch's global generator there, a generator
        on another device seeds one there. Unused without ``random_start``.
    check_input : bool
        Check ``x`` and ``y`` (see the module's docstring). ``False`` trusts them to be
        checked already: ``x`` a tensor in the model's dtype and on its device with
        values in [0, 1], ``y`` an integer tensor of valid classes.

    Returns
    -------
    x_adv : (N, ...) tensor
        Detached adversarial examples within ``eps`` of ``x`` in ``norm`` and in [0, 1].
    """
    _check_model(model)
    if check_input:
        x = _check_input(x, model)
        y = _check_targets(y, x)
    else:
        y = torch.as_tensor(y, dtype=torch.long, device=x.device)
    eps = _check_budget(eps, x)
    steps = check_int(steps, "steps", minimum=1)
    restarts = check_int(restarts, "restarts", minimum=1)
    norm = check_choice(norm, "norm", _NORMS)
    if step_size is None:
        if isinstance(eps, Tensor):
            step_size = eps * (2.5 / steps)
        else:  # computed in x's dtype, as for a tensor budget
            step_size = float(torch.tensor(eps, dtype=x.dtype) * (2.5 / steps))
    else:
        step_size = _check_budget(step_size, x, name="step_size")
        if not isinstance(step_size, Tensor):
            step_size = _as_dtype(step_size, x.dtype)
    if loss_fn is None:
        loss_fn = _cross_entropy
    elif not callable(loss_fn):
        raise TypeError(
            "loss_fn must be callable (logits, y) -> (N,) losses; got "
            f"{type(loss_fn).__name__}"
        )
    elif accepts_keyword(loss_fn, "check_input"):
        # y is checked above: a loss that can skip its own label check (a host
        # synchronisation) does so in every step, as fit's objectives do
        loss_fn = functools.partial(loss_fn, check_input=False)
    if success_fn is not None and not callable(success_fn):
        raise TypeError(
            "success_fn must be callable (x_adv, y) -> (N,) bool; got "
            f"{type(success_fn).__name__}"
        )
    # None: torch's own generator on x's device, which seed_everything and
    # fit(random_state=...) set, so no draw moves to another device
    generator = as_generator(random_state, device=x.device, none_is_global=True)
    return _pgd(
        model,
        x,
        y,
        eps,
        step_size,
        steps=steps,
        norm=norm,
        random_start=random_start,
        restarts=restarts,
        targeted=targeted,
        loss_fn=loss_fn,
        success_fn=success_fn,
        generator=generator,
        check_logits=check_input,
    )


def _pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: Budget,
    step_size: Budget,
    *,
    steps: int,
    norm: str,
    random_start: bool,
    restarts: int,
    targeted: bool,
    loss_fn: LossFn,
    success_fn: Optional[SuccessFn],
    generator: Optional[torch.Generator],
    check_logits: bool,
) -> Tensor:
    """PGD on checked inputs and options; ``generator`` on x's device (``None``:
    torch's global generator there)."""
    sign = -1.0 if targeted else 1.0
    tiny = torch.finfo(x.dtype).tiny
    eps_b = _rows(eps, x)
    # one budget for all rows: a scalar step saves a broadcast
    step = sign * (_rows(step_size, x) if isinstance(step_size, Tensor) else step_size)
    if norm == "linf":
        # the l-infinity ball intersected with the box is itself a box: [lo, hi],
        # computed once
        lo, hi = (x - eps_b).clamp(0.0, 1.0), (x + eps_b).clamp(0.0, 1.0)

    best = best_loss = best_success = None
    first = check_logits
    with eval_mode(model), torch.enable_grad():
        for _ in range(restarts):
            x_adv = (
                _random_start(x, eps_b, norm, generator) if random_start else x.clone()
            )
            for _ in range(steps):
                _, grad = _input_grad(model, x_adv, y, loss_fn, first)
                first = False
                if norm == "linf":
                    # x_adv is this function's own tensor (a clone or a fresh random
                    # start): update in place
                    if isinstance(step, Tensor):
                        x_adv.addcmul_(step, grad.sign_())
                    else:
                        x_adv.add_(grad.sign_(), alpha=step)
                    x_adv.clamp_(lo, hi)
                else:
                    direction = grad / rows_norm(grad).clamp_min(tiny)
                    x_adv = _project(x_adv + step * direction, x, eps_b, norm)
            if restarts == 1:
                best = x_adv
                break
            with torch.no_grad():
                logits = model(x_adv)
                loss = loss_fn(logits, y)
                if success_fn is None:
                    pred = logits.argmax(dim=1)
                    success = pred == y if targeted else pred != y
                else:
                    success = _check_success(success_fn(x_adv, y), x_adv)
            if best is None:
                best, best_loss, best_success = x_adv, loss, success
                continue
            better = (success & ~best_success) | (
                (success == best_success) & (sign * loss > sign * best_loss)
            )
            rows = better.reshape((-1,) + (1,) * (x.ndim - 1))
            best = torch.where(rows, x_adv, best)
            best_loss = torch.where(better, loss, best_loss)
            best_success = best_success | success
    return best.detach()


# --------------------------------------------------------------------------------------
# Carlini-Wagner l2
# --------------------------------------------------------------------------------------
def _margin(logits: Tensor, y: Tensor, targeted: bool) -> Tensor:
    """How far each row is from success: max_{i != y} Z_i - Z_y (untargeted) or Z_y -
    max_{i != y} Z_i.
    """
    z_y = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.masked_fill(
        F.one_hot(y, logits.shape[1]).bool(), float("-inf")
    ).amax(dim=1)
    return z_y - others if targeted else others - z_y


def margin_loss(logits: Tensor, y: Tensor, *, check_input: bool = True) -> Tensor:
    """The logit-margin loss ``-Delta_y = max_{c != y} f_c - f_y``, per row.

    The "simplest loss that works" of adaptive attacks: pass it as ``pgd``'s
    ``loss_fn``. Unlike the cross-entropy it does not saturate when the softmax does
    (a distilled network's huge logits), and it is positive exactly on misclassified
    rows.

    Parameters
    ----------
    logits : (N, C) tensor
        The classifier's logits ``f(x)``.
    y : (N,) int array or tensor
        The true classes; moved to ``logits``' device.
    check_input : bool
        Check ``logits`` and ``y`` (the labels' range is one host read). ``pgd``,
        which checked its labels once, passes ``False`` in every step.

    Returns
    -------
    (N,) tensor
        ``max_{c != y} f_c(x) - f_y(x)``; differentiable in ``logits``.

    Raises
    ------
    TypeError
        If ``logits`` is not a floating tensor.
    ValueError
        If ``logits`` is not (N, C) with C >= 2, or ``y`` is not one integer label
        in {0, ..., C - 1} per row.
    """
    if not check_input:
        return _margin(logits, y, targeted=False)
    if not isinstance(logits, Tensor) or not logits.dtype.is_floating_point:
        got = logits.dtype if isinstance(logits, Tensor) else type(logits).__name__
        raise TypeError(
            f"logits must be a floating tensor (N, C), the model's output; got {got}"
        )
    if logits.ndim != 2 or logits.shape[1] < 2 or logits.shape[0] < 1:
        raise ValueError(
            f"logits must be (N, C) with N >= 1 and C >= 2; got {tuple(logits.shape)}"
        )
    y = check_labels(
        y, logits.shape[1], name="y", n=logits.shape[0], device=logits.device
    )
    return _margin(logits, y, targeted=False)


class CWResult(NamedTuple):
    """What :func:`cw_l2_details` returns.

    Attributes
    ----------
    x_adv : (N, ...) tensor
        What :func:`cw_l2` returns: for a row where an adversarial example was found,
        the one with the smallest l2 distortion; elsewhere ``x`` itself.
    success : (N,) bool tensor
        ``True`` where an adversarial example was found (``x_adv[i]`` differs from
        ``x[i]``).
    l2 : (N,) tensor
        ‖ x_adv - x ‖_2 of each successful row; ``inf`` where none was found.
    """

    x_adv: Tensor
    success: Tensor
    l2: Tensor


def cw_l2(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    confidence: float = 0.0,
    c_init: float = 1e-3,
    search_steps: int = 9,
    steps: int = 200,
    lr: float = 1e-2,
    targeted: bool = False,
    check_input: bool = True,
) -> Tensor:
    """The l2 attack of Carlini and Wagner (2017).

    With the change of variables x' = 1/2(tanh w + 1), which keeps x' in the
    box without clipping, Adam minimises per row

        ‖ x' - x ‖_2^2 + c · max (Z_y(x') - max_(i ≠ y) Z_i(x'), -κ)

    on the logits Z (the margin is reversed when ``targeted``). A binary search over
    c per row (multiplying by 10 until a first success, then bisecting) looks for the
    smallest perturbation; the best successful x' (smallest l2) over all steps is kept.
    A row where no adversarial example was found comes back as ``x`` itself;
    :func:`cw_l2_details` says which rows succeeded.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits ``(N, C)``.
    x : (N, ...) array or tensor
        Inputs in [0, 1], cast to the model's dtype and device; not modified.
    y : (N,) int array or tensor
        True labels, or target labels when ``targeted``.
    confidence : float
        The margin κ ≥ 0 by which the adversarial class must win.
    c_init : float
        Initial trade-off constant c > 0.
    search_steps : int
        Number of binary-search steps over c, >= 1.
    steps : int
        Adam steps per search step, >= 1 (Carlini and Wagner use up to 10,000 with early
        stopping).
    lr : float
        Adam's learning rate, > 0. Pixels at exactly 0 or 1 sit where tanh is flat (w =
        +-7.25), so images with many saturated pixels (digits, MNIST) converge much
        faster with ``lr=0.1``.
    targeted : bool
        Make the model predict ``y`` instead of anything but ``y``.
    check_input : bool
        Check ``x`` and ``y`` (see the module's docstring). ``False`` trusts them to be
        checked already: ``x`` a tensor in the model's dtype and on its device with
        values in [0, 1], ``y`` an integer tensor of valid classes.

    Returns
    -------
    x_adv : (N, ...) tensor
        Detached; for a row where an adversarial example was found, the one with the
        smallest l2 distortion (misclassified by a margin above ``confidence``);
        elsewhere ``x`` itself.
    """
    return cw_l2_details(
        model,
        x,
        y,
        confidence=confidence,
        c_init=c_init,
        search_steps=search_steps,
        steps=steps,
        lr=lr,
        targeted=targeted,
        check_input=check_input,
    ).x_adv


def cw_l2_details(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    confidence: float = 0.0,
    c_init: float = 1e-3,
    search_steps: int = 9,
    steps: int = 200,
    lr: float = 1e-2,
    targeted: bool = False,
    check_input: bool = True,
) -> CWResult:
    """:func:`cw_l2`, with which rows succeeded and their distortion.

    The same attack and the same parameters as :func:`cw_l2`, which returns this
    result's ``x_adv``. A failed row comes back as ``x`` itself, which looks like an
    unchanged input; ``success`` tells the two apart.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits ``(N, C)``.
    x : (N, ...) array or tensor
        Inputs in [0, 1], cast to the model's dtype and device; not modified.
    y : (N,) int array or tensor
        True labels, or target labels when ``targeted``.
    confidence : float
        The margin κ ≥ 0 by which the adversarial class must win.
    c_init : float
        Initial trade-off constant c > 0.
    search_steps : int
        Number of binary-search steps over c, >= 1.
    steps : int
        Adam steps per search step, >= 1 (Carlini and Wagner use up to 10,000 with early
        stopping).
    lr : float
        Adam's learning rate, > 0. Pixels at exactly 0 or 1 sit where tanh is flat (w =
        +-7.25), so images with many saturated pixels (digits, MNIST) converge much
        faster with ``lr=0.1``.
    targeted : bool
        Make the model predict ``y`` instead of anything but ``y``.
    check_input : bool
        Check ``x`` and ``y`` (see the module's docstring). ``False`` trusts them to be
        checked already: ``x`` a tensor in the model's dtype and on its device with
        values in [0, 1], ``y`` an integer tensor of valid classes.

    Returns
    -------
    CWResult
        ``(x_adv, success, l2)``: the adversarial examples, an (N,) bool tensor of the
        rows where one was found, and their l2 distortions (``inf`` elsewhere).
    """
    _check_model(model)
    if check_input:
        x = _check_input(x, model)
        y = _check_targets(y, x)
    else:
        y = torch.as_tensor(y, dtype=torch.long, device=x.device)
    confidence = check_positive(confidence, "confidence", strict=False)
    c_init = check_positive(c_init, "c_init")
    search_steps = check_int(search_steps, "search_steps", minimum=1)
    steps = check_int(steps, "steps", minimum=1)
    lr = check_positive(lr, "lr")
    return _cw_l2(
        model,
        x,
        y,
        confidence=confidence,
        c_init=c_init,
        search_steps=search_steps,
        steps=steps,
        lr=lr,
        targeted=targeted,
        check_logits=check_input,
    )


def _cw_l2(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    confidence: float,
    c_init: float,
    search_steps: int,
    steps: int,
    lr: float,
    targeted: bool,
    check_logits: bool,
) -> CWResult:
    """The Carlini-Wagner l2 attack on checked inputs and options."""
    n = x.shape[0]
    view = (-1,) + (1,) * (x.ndim - 1)
    dev, dt = x.device, x.dtype
    w0 = torch.atanh((2.0 * x - 1.0) * (1.0 - 1e-6))
    c = torch.full((n,), c_init, device=dev, dtype=dt)
    lower = torch.zeros(n, device=dev, dtype=dt)
    upper = torch.full((n,), 1e10, device=dev, dtype=dt)
    best_l2 = torch.full((n,), float("inf"), device=dev, dtype=dt)
    best = x.clone()
    first = check_logits

    with eval_mode(model), torch.enable_grad():
        for _ in range(search_steps):
            w = w0.clone().requires_grad_(True)
            opt = torch.optim.Adam([w], lr=lr)
            found = torch.zeros(n, dtype=torch.bool, device=dev)
            for _ in range(steps):
                x_new = 0.5 * (torch.tanh(w) + 1.0)
                logits = model(x_new)
                if first:
                    _check_label_range(y, logits)
                    first = False
                margin = _margin(logits, y, targeted)
                l2sq = (x_new - x).flatten(1).pow(2).sum(dim=1)
                loss = l2sq + c * (-margin).clamp(min=-confidence)
                (grad,) = torch.autograd.grad(loss.sum(), w)
                with torch.no_grad():
                    # the logits belong to x_new (before this step): record the best
                    # success so far
                    success = margin > confidence
                    l2 = l2sq.sqrt()
                    improved = success & (l2 < best_l2)
                    best_l2 = torch.where(improved, l2, best_l2)
                    best = torch.where(improved.reshape(view), x_new.detach(), best)
                    found |= success
                w.grad = grad
                opt.step()
            with torch.no_grad():
                upper = torch.where(found, torch.minimum(upper, c), upper)
                lower = torch.where(found, lower, torch.maximum(lower, c))
                bisect = upper < 1e9
                c = torch.where(bisect, 0.5 * (lower + upper), c * 10.0)
    return CWResult(best.detach(), best_l2 < float("inf"), best_l2)


# --------------------------------------------------------------------------------------
# adaptive attacks: BPDA and EOT
# --------------------------------------------------------------------------------------
class _BPDAFunction(torch.autograd.Function):
    """Forward: fn(x); backward: the vector-Jacobian product of approx at x (or the
    identity).
    """

    @staticmethod
    def forward(ctx, x: Tensor, fn: Callable, approx: Optional[Callable]) -> Tensor:
        out = fn(x)
        if not isinstance(out, Tensor):
            raise TypeError(f"fn must return a tensor; got {type(out).__name__}")
        if approx is None and out.shape != x.shape:
            raise ValueError(
                "with the identity as its backward pass, bpda needs fn to keep the "
                f"shape of x; got {tuple(x.shape)} -> {tuple(out.shape)}"
            )
        if out.data_ptr() == x.data_ptr():
            out = out.clone()  # a new tensor: autograd must not see x itself come back
        ctx.approx = approx
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        if ctx.approx is None:
            return grad_out, None, None
        (x,) = ctx.saved_tensors
        with torch.enable_grad():
            x_in = x.detach().requires_grad_(True)
            out = ctx.approx(x_in)
            if not isinstance(out, Tensor) or out.shape != grad_out.shape:
                raise ValueError(
                    "approx must return a tensor of fn's output shape "
                    f"{tuple(grad_out.shape)}; got "
                    f"{tuple(out.shape) if isinstance(out, Tensor) else type(out)}"
                )
            if not out.requires_grad:
                raise ValueError(
                    "approx must be differentiable in x: approx(x) does not depend on "
                    "x through autograd (a constant such as torch.zeros_like, or a "
                    "detached or integer result), so it has no gradient to pass back"
                )
            (grad,) = torch.autograd.grad(out, x_in, grad_out, allow_unused=True)
        return (torch.zeros_like(x) if grad is None else grad), None, None


class _BPDA(nn.Module):
    """An input map with a substitute gradient (made by :func:`bpda`)."""

    def __init__(self, fn: Callable, approx: Optional[Callable]) -> None:
        super().__init__()
        # modules (a learned denoiser, say) are registered so that .to() and .eval()
        # reach them
        self.fn = fn
        self.approx = approx

    def forward(self, x: Tensor) -> Tensor:
        """fn(x), with the approximation's gradient in the backward pass.

        Parameters
        ----------
        x : (N, ...) array or tensor
            A NumPy array becomes a tensor (float64 stays float64).

        Returns
        -------
        tensor
            ``fn(x)``, exactly.
        """
        if not isinstance(x, Tensor):
            x = as_tensor(x, name="x")
        return _BPDAFunction.apply(x, self.fn, self.approx)

    def extra_repr(self) -> str:
        return "approx=identity" if self.approx is None else ""


def bpda(
    fn: Callable[[Tensor], Tensor], approx: Optional[Callable] = None
) -> nn.Module:
    """Backward-pass differentiable approximation (Athalye, Carlini and Wagner, 2018).

    A defense that puts a non-differentiable (or gradient-breaking) map x -> s(x) in
    front of a classifier, such as quantising bits or a median filter, leaves an attack
    without a useful gradient. BPDA runs the real map forward and, in the backward pass,
    uses the gradient of a differentiable approximation a(x) ≈ s(x) instead:

        forward: s(x),    backward: ∂L/∂x ≈ (∂L/∂s) · ∂a/∂x,

    with a(x) = x (the identity: the gradient passes straight through) by default,
    which is a good approximation whenever s(x) ≈ x.

    Parameters
    ----------
    fn : callable
        The map ``s``: ``(N, ...) tensor -> tensor`` (e.g. ``lambda x: bit_depth(x,
        2)``). Without ``approx`` it must keep the input's shape.
    approx : callable, optional
        A differentiable ``a`` with the same output shape as ``fn``; default the
        identity.

    Returns
    -------
    nn.Module
        ``x -> fn(x)`` with the substitute gradient, for use in front of a model:
        ``nn.Sequential(bpda(squeeze), model)``.

    Raises
    ------
    TypeError
        If ``fn`` or ``approx`` is not callable.
    ValueError
        (when called) If ``fn`` changes the shape of ``x`` and ``approx`` is the
        identity, or ``approx`` does not return ``fn``'s output shape; (in the
        backward pass) if ``approx(x)`` does not depend on ``x`` through autograd.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    if approx is not None and not callable(approx):
        raise TypeError(f"approx must be callable or None; got {type(approx).__name__}")
    return _BPDA(fn, approx)


class EOT(nn.Module):
    """Expectation over transformation (Athalye, Engstrom, Ilyas and Kwok, 2018).

    A randomized defense predicts from random draws: a random input map t (noise,
    random resizing) in front of a classifier f, or randomness inside the model (the
    VIB's encoder noise, dropout). Its prediction averages the softmax over draws, and
    an attack must differentiate that average:

        log p(y | x) = log E_t[softmax(f(t(x)))]_y ≈ log 1/L Σ_l softmax(f(t_l(x)))_y.

    ``forward`` returns these log-probabilities (usable as logits) from L independent
    draws per row, with L = ``n_attack`` while gradients are recorded (inside an
    attack) and L = ``n_eval`` under ``torch.no_grad()`` (evaluation, and ``pgd``'s
    choice among restarts), so that attack and evaluation can use different budgets.

    Parameters
    ----------
    model : nn.Module
        Maps a batch ``(B, ...)`` to logits ``(B, C)``; its randomness, if any, must be
        drawn independently for each row of the batch.
    random_map : callable, optional
        A random input map ``t``: ``(B, ...) tensor -> (B, ...) tensor``, drawing
        independently for each row. ``None``: the randomness is inside the model.
    n_attack : int
        Draws per forward pass when gradients are enabled, >= 1.
    n_eval : int
        Draws per forward pass under ``torch.no_grad()``, >= 1.
    model_kwargs : dict, optional
        Keyword arguments for every call of ``model``, e.g. ``{"n_samples": 1}`` for a
        :class:`~statlearn.info.vib.VIB`, whose eval mode otherwise averages its own
        samples.

    Examples
    --------
    >>> one_code = {"n_samples": 1}  # the VIB draws one z per call
    >>> eot = EOT(vib, n_attack=8, n_eval=12, model_kwargs=one_code)  # doctest: +SKIP
    >>> x_adv = pgd(eot, x, y, eps=0.1, steps=40)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: nn.Module,
        random_map: Optional[Callable[[Tensor], Tensor]] = None,
        *,
        n_attack: int = 8,
        n_eval: int = 32,
        model_kwargs: Optional[dict] = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model must be a torch.nn.Module; got {type(model).__name__}"
            )
        if random_map is not None and not callable(random_map):
            raise TypeError(
                f"random_map must be callable or None; got {type(random_map).__name__}"
            )
        if model_kwargs is not None and not isinstance(model_kwargs, dict):
            raise TypeError(
                "model_kwargs must be a dict or None; got "
                f"{type(model_kwargs).__name__}"
            )
        self.model = model
        self.random_map = random_map
        self.n_attack = check_int(n_attack, "n_attack", minimum=1)
        self.n_eval = check_int(n_eval, "n_eval", minimum=1)
        self.model_kwargs = dict(model_kwargs or {})

    def extra_repr(self) -> str:
        return f"n_attack={self.n_attack}, n_eval={self.n_eval}"

    def forward(self, x: Tensor, n_samples: Optional[int] = None) -> Tensor:
        """Log of the softmax averaged over L draws per row.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Inputs, cast to the model's dtype and device (their values are not
            checked: the attack that calls ``forward`` at every step checked them
            once).
        n_samples : int, optional
            L; by default ``n_attack`` when gradients are enabled, else ``n_eval``.

        Returns
        -------
        (N, C) tensor
            log 1/L Σ_l softmax(f(t_l(x))), log-probabilities that act as logits.
        """
        # cast and shape only: an attack calls forward at every step, after checking
        # its input once
        x = to_model(x, self.model, min_ndim=2, allow_nonfinite=True)
        if n_samples is None:
            n_samples = self.n_attack if torch.is_grad_enabled() else self.n_eval
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        n = x.shape[0]
        # draws-major: rows l*N .. (l+1)*N - 1 are draw l of every input
        rep = x.repeat((n_samples,) + (1,) * (x.ndim - 1))
        if self.random_map is not None:
            rep = self.random_map(rep)
        logits = self.model(rep, **self.model_kwargs)
        if logits.ndim != 2 or logits.shape[0] != n * n_samples:
            raise ValueError(
                f"the model must return logits of shape (B, C) = ({n * n_samples}, C); "
                f"got {tuple(logits.shape)}"
            )
        return log_mean_softmax(logits.view(n_samples, n, -1), dim=0)


# --------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------
def robust_accuracy(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    attack: Optional[Attack] = None,
    *,
    batch_size: int = 512,
) -> float:
    """Accuracy of ``model`` on the examples ``attack`` makes from ``(x, y)``.

    ``x`` and ``y`` are checked once, here. An attack with a ``check_input``
    parameter (:func:`fgsm`, :func:`pgd`, :func:`cw_l2` and ``functools.partial``
    objects made from them) is then called with ``check_input=False`` on every batch,
    so the data are checked once in all; any other callable checks its batches itself,
    if it does.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits ``(N, C)``.
    x : (N, ...) array or tensor
        Inputs in [0, 1].
    y : (N,) int array or tensor
        True labels.
    attack : callable, optional
        ``attack(model, x, y) -> x_adv``, e.g. ``functools.partial(pgd, eps=0.1,
        steps=20)`` (an attack returning a tuple ``(x_adv, ...)``, such as
        :func:`cw_l2_details`, works too); ``None`` gives the clean accuracy.
    batch_size : int
        Rows attacked at once, >= 1.

    Returns
    -------
    float
        The fraction of rows whose adversarial example is still classified as ``y``.
    """
    _check_model(model)
    x = _check_input(x, model)
    y = _check_targets(y, x)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if attack is not None and not callable(attack):
        raise TypeError(
            "attack must be a callable (model, x, y) -> x_adv or None; got "
            f"{type(attack).__name__}"
        )
    trusted = attack is not None and accepts_keyword(attack, "check_input")
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    with eval_mode(model):
        # the labels against the model's classes, once, before any attack uses them:
        # one row's logits, computed without moving the random streams a stochastic
        # model draws from
        with torch.no_grad(), torch.random.fork_rng(devices=_cuda_index(x.device)):
            logits = model(x[:1])
        _check_label_range(y[:1], logits)
        check_labels(y, logits.shape[1], name="y")
        for start in range(0, x.shape[0], batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            if trusted:
                xb = attack(model, xb, yb, check_input=False)
            elif attack is not None:
                xb = attack(model, xb, yb)
            if isinstance(xb, tuple):  # e.g. cw_l2_details: (x_adv, success, l2)
                xb = xb[0]
            with torch.no_grad():
                correct += (model(xb).argmax(dim=1) == yb).sum()
    return int(correct) / x.shape[0]


def _cuda_index(device: torch.device) -> list[int]:
    """The CUDA device whose random state ``fork_rng`` must keep (none off CUDA)."""
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]
