"""Adversarial attacks in pixel space (chapters 13 and 14).

Implements the fast gradient sign method (FGSM) of Goodfellow, Shlens and Szegedy
(2015), projected gradient descent (PGD) in the l-infinity and l2 balls of Kurakin,
Goodfellow and Bengio (2017) and Madry et al. (2018), and the Carlini-Wagner l2 attack
of Carlini and Wagner (2017), plus :func:`robust_accuracy`, the accuracy of a model on
the examples an attack returns.

For adaptive attacks on defenses (chapter 16; Athalye, Carlini and Wagner, 2018;
Tramer, Carlini, Brendel and Madry, 2020): :func:`bpda`, backward-pass differentiable
approximation of a non-differentiable input map, :class:`EOT`, expectation over
transformation for randomized inputs maps and stochastic models, and the
``success_fn`` of :func:`pgd`, which decides which restart to keep.

Every attack is a function ``attack(model, x, y, *, eps, ...) -> x_adv`` on a model that
maps inputs in [0, 1]^D to logits (normalisation lives inside the model). Every attack

- accepts NumPy arrays and tensors of any floating dtype, cast once to the model's dtype
  and device, never mutates ``x``, and returns a detached tensor on the model's device
  and in its dtype;
- runs the model in eval mode and restores ``model.training`` afterwards;
- differentiates with respect to the input only (``torch.autograd.grad``), so no
  ``.grad`` is left on the model's parameters;
- stays in the threat model: ‖ x' - x ‖ ≤ ε and x' ∈ [0, 1]^D;
- treats each row independently, so the result for a row does not depend on the batch it
  is in.
"""

from __future__ import annotations

from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from statlearn import _checks
from statlearn.info.vib import log_mean_softmax

__all__ = [
    "fgsm",
    "pgd",
    "cw_l2",
    "robust_accuracy",
    "margin_loss",
    "bpda",
    "EOT",
    "log_mean_softmax",
]

LossFn = Callable[[Tensor, Tensor], Tensor]
SuccessFn = Callable[[Tensor, Tensor], Tensor]
Attack = Callable[[nn.Module, Tensor, Tensor], Tensor]
Budget = Union[float, Tensor]

_NORMS = ("linf", "l2")


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------
def _check_input(x, model: nn.Module) -> Tensor:
    """x at the model's dtype and device, with a batch dimension and all values in [0,
    1].
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    x = _checks.to_model(
        x, model
    ).detach()  # an input that requires grad stays out of the attack's graph
    if x.ndim < 2:
        raise ValueError(
            "x must be a batch of inputs with shape (N, ...) and at least 2 "
            f"dimensions; got shape {tuple(x.shape)}"
        )
    _checks.check_unit_interval(x, name="x")
    return x


def _check_targets(y, x: Tensor) -> Tensor:
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
    _checks.check_labels(y, logits.shape[1], name="y")


def _check_budget(value: Budget, x: Tensor, name: str = "eps") -> Tensor:
    """A float or an (N,) tensor of non-negative budgets, returned broadcastable against
    x.
    """
    view = (-1,) + (1,) * (x.ndim - 1)
    if isinstance(value, Tensor):
        if value.ndim == 0:
            value = value.reshape(1).expand(x.shape[0])
        if value.ndim != 1 or value.shape[0] != x.shape[0]:
            raise ValueError(
                f"{name} must be a float or a (N,) = ({x.shape[0]},) tensor; got shape "
                f"{tuple(value.shape)}"
            )
        value = value.to(device=x.device, dtype=x.dtype)
        if not torch.isfinite(value).all():
            raise ValueError(f"{name} must be finite; got non-finite values")
        if (value < 0).any():
            raise ValueError(f"{name} must be >= 0; got minimum {value.min().item():g}")
        return value.reshape(view)
    value = _checks.check_positive(
        value, name, strict=False
    )  # TypeError for non-numbers, ValueError for NaN
    return torch.full(
        (x.shape[0],) + (1,) * (x.ndim - 1), value, device=x.device, dtype=x.dtype
    )


def _cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(logits, y, reduction="none")


def _rows_norm(t: Tensor) -> Tensor:
    """Per-row l2 norm, shaped (N, 1, ..., 1) to broadcast against t."""
    return t.flatten(1).norm(dim=1).reshape((-1,) + (1,) * (t.ndim - 1))


class _EvalMode:
    """Put the model in eval mode for the attack and restore its training flag
    afterwards.
    """

    def __init__(self, model: nn.Module) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model must be a torch.nn.Module; got {type(model).__name__}"
            )
        self.model = model

    def __enter__(self) -> None:
        self.was_training = self.model.training
        self.model.eval()

    def __exit__(self, *exc) -> None:
        self.model.train(self.was_training)


def _input_grad(
    model: nn.Module, x_adv: Tensor, y: Tensor, loss_fn: LossFn, first: bool
) -> tuple[Tensor, Tensor]:
    """Per-sample losses at x_adv and the gradient of their sum with respect to x_adv
    only.
    """
    x_adv = x_adv.detach().requires_grad_(True)
    logits = model(x_adv)
    if first:
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
    model: nn.Module, x: Tensor, y: Tensor, *, eps: Budget, targeted: bool = False
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

    Returns
    -------
    x_adv : (N, ...) tensor
        Detached adversarial examples with ``|x_adv - x| <= eps`` and values in [0, 1].
    """
    x = _check_input(x, model)
    y = _check_targets(y, x)
    eps_b = _check_budget(eps, x)
    sign = -1.0 if targeted else 1.0
    with _EvalMode(model), torch.enable_grad():
        _, grad = _input_grad(model, x, y, _cross_entropy, first=True)
    return (x + sign * eps_b * grad.sign()).clamp_(0.0, 1.0).detach()


def _random_start(
    x: Tensor, eps_b: Tensor, norm: str, generator: Optional[torch.Generator]
) -> Tensor:
    """A random point of the eps-ball around each x, drawn once and shared by the rows.

    One draw of shape ``x.shape[1:]`` is scaled by each row's budget. Each row's start
    is uniform in its ball, and a row's adversarial example is the same whether it is
    attacked alone or in a batch.
    """
    shape = (1,) + tuple(x.shape[1:])
    device = generator.device if generator is not None else x.device
    if norm == "linf":
        u = torch.rand(shape, generator=generator, device=device, dtype=x.dtype).to(
            x.device
        )
        delta = (2.0 * u - 1.0) * eps_b
    else:
        g = torch.randn(shape, generator=generator, device=device, dtype=x.dtype).to(
            x.device
        )
        r = torch.rand((1,), generator=generator, device=device, dtype=x.dtype).to(
            x.device
        )
        dim = g[0].numel()
        direction = g / _rows_norm(g).clamp_min(torch.finfo(x.dtype).tiny)
        delta = direction * r.pow(1.0 / dim) * eps_b
    return (x + delta).clamp(0.0, 1.0)


def _project(x_adv: Tensor, x: Tensor, eps_b: Tensor, norm: str) -> Tensor:
    """Projection onto the eps-ball around x intersected with the box [0, 1]^D."""
    if norm == "linf":
        x_adv = torch.maximum(torch.minimum(x_adv, x + eps_b), x - eps_b)
    else:
        delta = x_adv - x
        scale = (eps_b / _rows_norm(delta).clamp_min(torch.finfo(x.dtype).tiny)).clamp(
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
    generator: Optional[torch.Generator] = None,
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
    generator : torch.Generator, optional
        Source of the random start (on any device); default torch's global generator.

    Returns
    -------
    x_adv : (N, ...) tensor
        Detached adversarial examples within ``eps`` of ``x`` in ``norm`` and in [0, 1].
    """
    x = _check_input(x, model)
    y = _check_targets(y, x)
    eps_b = _check_budget(eps, x)
    steps = _checks.check_int(steps, "steps", minimum=1)
    restarts = _checks.check_int(restarts, "restarts", minimum=1)
    norm = _checks.check_choice(norm, "norm", _NORMS)
    if step_size is None:
        alpha = eps_b * (2.5 / max(steps, 1))
    else:
        alpha = _check_budget(step_size, x, name="step_size")
    if loss_fn is None:
        loss_fn = _cross_entropy
    elif not callable(loss_fn):
        raise TypeError(
            "loss_fn must be callable (logits, y) -> (N,) losses; got "
            f"{type(loss_fn).__name__}"
        )
    if success_fn is not None and not callable(success_fn):
        raise TypeError(
            "success_fn must be callable (x_adv, y) -> (N,) bool; got "
            f"{type(success_fn).__name__}"
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            "generator must be a torch.Generator or None; got "
            f"{type(generator).__name__}"
        )
    sign = -1.0 if targeted else 1.0
    tiny = torch.finfo(x.dtype).tiny
    step = alpha * sign
    if not isinstance(eps, Tensor) and not isinstance(step_size, Tensor):
        step = float(
            step.flatten()[0]
        )  # one budget for all rows: a scalar step saves a broadcast
    if norm == "linf":
        # the l-infinity ball intersected with the box is itself a box: [lo, hi],
        # computed once
        lo, hi = (x - eps_b).clamp(0.0, 1.0), (x + eps_b).clamp(0.0, 1.0)

    best = best_loss = best_success = None
    first = True
    with _EvalMode(model), torch.enable_grad():
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
                    direction = grad / _rows_norm(grad).clamp_min(tiny)
                    x_adv = _project(x_adv + step * direction, x, eps_b, norm)
            if restarts == 1:
                best = x_adv
                break
            with torch.no_grad():
                logits = model(x_adv)
                if first:
                    _check_label_range(y, logits)
                    first = False
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


def margin_loss(logits: Tensor, y: Tensor) -> Tensor:
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

    Returns
    -------
    (N,) tensor
        ``max_{c != y} f_c(x) - f_y(x)``; differentiable in ``logits``.

    Raises
    ------
    ValueError
        If ``logits`` is not (N, C) with C >= 2 or ``y`` has the wrong length.
    """
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(
            f"logits must be (N, C) with C >= 2; got {tuple(logits.shape)}"
        )
    y = torch.as_tensor(y, dtype=torch.long, device=logits.device)
    if y.shape != (logits.shape[0],):
        raise ValueError(
            f"y must be (N,) with N = {logits.shape[0]}; got {tuple(y.shape)}"
        )
    return _margin(logits, y, targeted=False)


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
    return_success: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """The l2 attack of Carlini and Wagner (2017).

    With the change of variables x' = 1/2(tanh w + 1), which keeps x' in the
    box without clipping, Adam minimises per row

        ‖ x' - x ‖_2^2 + c · max (Z_y(x') - max_(i ≠ y) Z_i(x'), -κ)

    on the logits Z (the margin is reversed when ``targeted``). A binary search over
    c per row (multiplying by 10 until a first success, then bisecting) looks for the
    smallest perturbation; the best successful x' (smallest l2) over all steps is kept.

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
    return_success : bool
        Also return which rows succeeded. A row where no adversarial example was found
        comes back as ``x`` itself, so without this flag a failed row looks like an
        unchanged input.

    Returns
    -------
    x_adv : (N, ...) tensor
        Detached; for a row where an adversarial example was found, the one with the
        smallest l2 distortion (misclassified by a margin above ``confidence``);
        elsewhere ``x`` itself.
    success : (N,) bool tensor, only if ``return_success``
        ``True`` where an adversarial example was found (``x_adv[i]`` differs from
        ``x[i]``).
    """
    x = _check_input(x, model)
    y = _check_targets(y, x)
    confidence = _checks.check_positive(confidence, "confidence", strict=False)
    c_init = _checks.check_positive(c_init, "c_init")
    search_steps = _checks.check_int(search_steps, "search_steps", minimum=1)
    steps = _checks.check_int(steps, "steps", minimum=1)
    lr = _checks.check_positive(lr, "lr")

    n = x.shape[0]
    view = (-1,) + (1,) * (x.ndim - 1)
    dev, dt = x.device, x.dtype
    w0 = torch.atanh((2.0 * x - 1.0) * (1.0 - 1e-6))
    c = torch.full((n,), c_init, device=dev, dtype=dt)
    lower = torch.zeros(n, device=dev, dtype=dt)
    upper = torch.full((n,), 1e10, device=dev, dtype=dt)
    best_l2 = torch.full((n,), float("inf"), device=dev, dtype=dt)
    best = x.clone()
    first = True

    with _EvalMode(model), torch.enable_grad():
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
    if return_success:
        return best.detach(), torch.isfinite(best_l2)
    return best.detach()


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
            x = _checks.as_tensor(x, name="x")
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
        identity, or ``approx`` does not return ``fn``'s output shape.
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
        self.n_attack = _checks.check_int(n_attack, "n_attack", minimum=1)
        self.n_eval = _checks.check_int(n_eval, "n_eval", minimum=1)
        self.model_kwargs = dict(model_kwargs or {})

    def extra_repr(self) -> str:
        return f"n_attack={self.n_attack}, n_eval={self.n_eval}"

    def forward(self, x: Tensor, n_samples: Optional[int] = None) -> Tensor:
        """Log of the softmax averaged over L draws per row.

        Parameters
        ----------
        x : (N, ...) array or tensor
            Inputs, cast to the model's dtype and device.
        n_samples : int, optional
            L; by default ``n_attack`` when gradients are enabled, else ``n_eval``.

        Returns
        -------
        (N, C) tensor
            log 1/L Σ_l softmax(f(t_l(x))), log-probabilities that act as logits.
        """
        x = _checks.to_model(x, self.model)
        if x.ndim < 2:
            raise ValueError(f"x must be a batch (N, ...); got shape {tuple(x.shape)}")
        if n_samples is None:
            n_samples = self.n_attack if torch.is_grad_enabled() else self.n_eval
        n_samples = _checks.check_int(n_samples, "n_samples", minimum=1)
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
        steps=20)`` (an attack returning a tuple ``(x_adv, ...)`` works too); ``None``
        gives the clean accuracy.
    batch_size : int
        Rows attacked at once, >= 1.

    Returns
    -------
    float
        The fraction of rows whose adversarial example is still classified as ``y``.
    """
    x = _check_input(x, model)
    y = _check_targets(y, x)
    batch_size = _checks.check_int(batch_size, "batch_size", minimum=1)
    if attack is not None and not callable(attack):
        raise TypeError(
            "attack must be a callable (model, x, y) -> x_adv or None; got "
            f"{type(attack).__name__}"
        )
    correct = 0
    with _EvalMode(model):
        for start in range(0, x.shape[0], batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            if attack is not None:
                xb = attack(model, xb, yb)
                if isinstance(
                    xb, tuple
                ):  # e.g. cw_l2(..., return_success=True): (x_adv, success)
                    xb = xb[0]
            with torch.no_grad():
                logits = model(xb)
                _check_label_range(yb, logits)
                correct += int((logits.argmax(dim=1) == yb).sum())
    return correct / max(x.shape[0], 1)
