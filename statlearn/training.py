"""One training loop for every chapter, and the evaluation helpers.

:func:`fit` trains a classifier (cross-entropy by default) or any model with a custom
objective, such as a VAE's negative ELBO or a VIB's distortion + beta * rate. An
objective may return a NamedTuple of named terms; each term's per-epoch mean lands in
the returned :class:`History`, so a chapter can plot rate and distortion separately. A
per-batch ``transform`` is the hook for adversarial training and noise augmentation
(Part III). Used by chapters 3 to 6 and 8 to 20 (:func:`linear_probe` by chapter 5).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from statlearn._checks import (
    accepts_keyword,
    as_generator,
    as_tensor,
    check_device,
    check_int,
    check_labels,
    check_positive,
    model_dtype_device,
    seeded,
    to_model,
)
from statlearn.nets import eval_mode

__all__ = [
    "History",
    "ClassificationLoss",
    "cross_entropy",
    "fit",
    "predict_logits",
    "accuracy",
    "evaluate",
    "Evaluation",
    "linear_probe",
]

Objective = Callable[..., Any]
Transform = Callable[
    [nn.Module, torch.Tensor, "torch.Tensor | None"],
    "tuple[torch.Tensor, torch.Tensor | None]",
]


class History(dict):
    """Per-epoch training history: a dict from a term's name to its list of per-epoch
    means.

    ``history["loss"]`` is always there (the minimised quantity); other keys are the
    objective's named terms, and ``val_<term>`` when validation data was given.
    ``history.units`` is the unit of the terms (``"bits"``, ``"nats"`` or
    ``"squared error"``) as the objective's NamedTuple declares it (its ``units``
    class attribute), or ``None`` when the objective declares none.
    """

    units: str | None = None

    @property
    def epochs(self) -> int:
        """How many epochs were recorded."""
        return len(self.get("loss", []))


class ClassificationLoss(NamedTuple):
    """The default objective's terms: mean cross-entropy (minimised, in nats) and
    accuracy of the batch.
    """

    total: torch.Tensor
    accuracy: torch.Tensor
    units = "nats"


def cross_entropy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> ClassificationLoss:
    """The default objective: cross-entropy of ``model(x)`` against integer labels
    ``y``.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits ``(N, C)``.
    x : (N, ...) tensor
    y : (N,) int64 tensor

    Returns
    -------
    ClassificationLoss
        ``total`` (differentiable mean cross-entropy, in nats) and ``accuracy``
        (detached).

    Raises
    ------
    TypeError
        If ``model`` is not a module.
    ValueError
        If ``x`` is not a non-empty batch, or ``y`` is not one integer label per row.
        These checks read shapes and dtypes only, never values (NaN, labels out of
        range): ``fit`` calls the objective in every step, and reading a value is a
        host synchronisation on a GPU.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[0] == 0:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a non-empty batch tensor (N, ...); got {got}")
    if not isinstance(y, torch.Tensor) or y.shape != x.shape[:1]:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(
            f"y must be a (N,) tensor of labels with N = {x.shape[0]} (one per row of "
            f"x); got {got}"
        )
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"y must hold integer class labels; got dtype {y.dtype}")
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    acc = (logits.detach().argmax(dim=1) == y).float().mean()
    return ClassificationLoss(loss, acc)


def _terms(result: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Split an objective's result into the tensor to minimise and the named terms to
    record, all detached and left on the device (no host sync: the caller sums them
    on the device and reads the sums once per epoch).
    """
    if isinstance(result, torch.Tensor):
        if result.numel() != 1:
            raise ValueError(
                "an objective must return a scalar; got a tensor of shape "
                f"{tuple(result.shape)}"
            )
        return result, {}
    if isinstance(result, tuple) and hasattr(result, "_fields"):
        fields = result._fields
        total = getattr(result, "total") if "total" in fields else result[0]
        first = "total" if "total" in fields else fields[0]
        if not isinstance(total, torch.Tensor) or total.numel() != 1:
            raise ValueError(f"the objective's '{first}' term must be a scalar tensor")
        terms = {}
        for name, value in zip(fields, result):
            if name == first:
                continue
            if isinstance(value, torch.Tensor):
                value = value.detach().mean()
            terms[name] = value
        return total, terms
    raise TypeError(
        "an objective must return a scalar tensor or a NamedTuple whose 'total' (or "
        "first) field is one; "
        f"got {type(result).__name__}"
    )


def _units(result: Any) -> str | None:
    """The unit an objective's NamedTuple declares (its ``units`` class attribute)."""
    units = getattr(type(result), "units", None)
    return units if isinstance(units, str) else None


def _as_data(
    t: Any, name: str, dtype: torch.dtype | None, device: torch.device | None
) -> torch.Tensor:
    """One data array at the boundary: floating data in the model's dtype, integer
    labels as int64, both on the model's device (numpy arrays, lists and tensors
    alike)."""
    if isinstance(t, torch.Tensor):
        integer = not (t.dtype.is_floating_point or t.dtype.is_complex)
    else:
        arr = np.asarray(t)
        integer = arr.dtype.kind in "iub"
        if integer:
            t = torch.from_numpy(np.ascontiguousarray(arr))
    if integer:
        if t.ndim == 0 or t.numel() == 0:
            raise ValueError(
                f"{name} must not be empty and must have a sample axis; got shape "
                f"{tuple(t.shape)}"
            )
        return t.to(device=device) if device is not None else t
    return as_tensor(t, name=name, dtype=dtype, device=device)


def _as_dataset(data: Any, name: str, model: nn.Module) -> tuple[torch.Tensor, ...]:
    """``X``, ``(X, y)``, ... as a tuple of tensors at the model's dtype and device,
    checked.
    """
    if isinstance(data, (torch.Tensor, np.ndarray)):
        data = (data,)
    elif not isinstance(data, (tuple, list)) or not data:
        raise TypeError(
            f"{name} must be an array, a tuple of arrays (x, y), or a DataLoader; got "
            f"{type(data).__name__}"
        )
    dtype, device = model_dtype_device(model)
    tensors = tuple(
        _as_data(t, f"{name}[{i}]", dtype, device) for i, t in enumerate(data)
    )
    sizes = [t.shape[0] for t in tensors]
    if any(k != sizes[0] for k in sizes):
        raise ValueError(
            f"every array in {name} must have the same first dimension (one row per "
            f"sample); got {sizes}"
        )
    return tensors


def _check_class_labels(model: nn.Module, data: tuple[torch.Tensor, ...]) -> None:
    """For the default objective: ``data[1]`` holds one label in {0, ..., C - 1} per
    row, C read from the model's output on one row (once per ``fit``, so that the
    cross-entropy in every step reads no values)."""
    if len(data) < 2:
        raise ValueError(
            "train must be (x, y) for the default cross-entropy objective; got one "
            "array"
        )
    x, y = data[0], data[1]
    with torch.no_grad(), eval_mode(model):
        num_classes = model(x[:1]).shape[-1]
    check_labels(y, num_classes, "train[1]", n=x.shape[0])


def _cast_batch(batch: Any, model: nn.Module) -> tuple[torch.Tensor, ...]:
    """A DataLoader's batch at the model's dtype and device."""
    batch = batch if isinstance(batch, (tuple, list)) else (batch,)
    dtype, device = model_dtype_device(model)
    out = []
    for b in batch:
        if b.dtype.is_floating_point:
            b = b.to(
                device=device if device is not None else b.device,
                dtype=dtype or b.dtype,
                non_blocking=True,
            )
        elif device is not None:
            b = b.to(device, non_blocking=True)
        out.append(b)
    return tuple(out)


def _batches(
    train: Any, batch_size: int, generator: torch.Generator | None, model: nn.Module
) -> tuple[Callable[[], Iterable], int]:
    """Return a function that yields one epoch of batches (tuples of tensors), and the
    dataset size.
    """
    if isinstance(train, DataLoader):
        n = len(train.dataset)  # type: ignore[arg-type]
        if n == 0:
            raise ValueError(
                "train must hold at least one sample; got an empty DataLoader"
            )
        return (lambda: (_cast_batch(b, model) for b in train)), n
    tensors = _as_dataset(train, "train", model)
    n = tensors[0].shape[0]

    def epoch() -> Iterable:
        perm = torch.randperm(n, generator=generator).to(tensors[0].device)
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            yield tuple(t[idx] for t in tensors)

    return epoch, n


def _optimizer(
    name: Any, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    if isinstance(name, torch.optim.Optimizer):
        return name
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(
        "optimizer must be 'adam', 'adamw', 'sgd' or a torch.optim.Optimizer; got "
        f"{name!r}"
    )


def fit(
    model: nn.Module,
    train: Any,
    *,
    objective: Objective | None = None,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    optimizer: str | torch.optim.Optimizer = "adam",
    weight_decay: float = 0.0,
    transform: Transform | None = None,
    val: tuple[torch.Tensor, ...] | None = None,
    grad_clip: float | None = None,
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    device: torch.device | str | None = None,
    quiet: bool = False,
    random_state: Any = None,
) -> History:
    """Train ``model`` by minibatch gradient descent and return the per-epoch history.

    Parameters
    ----------
    model : nn.Module
        The model; moved to ``device`` when one is given, else trained where its
        parameters are.
    train : array, tuple of arrays, or DataLoader
        ``X``, ``(X, y)`` or a loader yielding such tuples; NumPy arrays or tensors.
        Floating arrays are cast once to the model's dtype and device, integer ones
        (labels) moved there as int64. Shuffled each epoch.
    objective : callable, optional
        ``objective(model, *batch)`` returning a scalar tensor, or a NamedTuple whose
        ``total`` (else first) field is minimised; every other field is averaged per
        epoch into the history. Default: :func:`cross_entropy` (needs ``(X, y)``).
        An objective that takes ``check_input`` (statlearn's do) is called with
        ``check_input=False``: ``fit`` checked the data once, at the start.
    epochs : int
        Passes over the data, >= 1.
    batch_size : int
        Samples per gradient step, >= 1.
    lr : float
        Learning rate (ignored if ``optimizer`` is an optimizer instance).
    optimizer : {"adam", "adamw", "sgd"} or torch.optim.Optimizer
        The optimiser, by name or as an instance (SGD has momentum 0.9).
    weight_decay : float
        L2 penalty passed to the optimiser, >= 0.
    transform : callable, optional
        ``transform(model, x, y) -> (x, y)`` applied to each training batch before the
        objective (``y`` is None for unlabelled data): the hook for adversarial training
        and noise augmentation. Not applied to validation data.
    val : tuple of arrays, optional
        Validation data (cast like ``train``), scored with the same objective after each
        epoch (keys ``val_loss``, ``val_<term>``).
    grad_clip : float, optional
        Clip the gradient's global norm to this value.
    scheduler : callable, optional
        ``scheduler(optimizer)`` returning a learning-rate scheduler, stepped once per
        epoch, e.g. ``lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, [30],
        gamma=0.2)``. The per-epoch learning rate is recorded as ``history["lr"]``.
    device : torch.device or str, optional
        Move the model there first (a device this machine lacks is a ``ValueError``); by
        default the model stays where it is and the data follows it.
    quiet : bool
        Hide the progress bar.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        Makes the whole run repeatable: the shuffling order and every draw the
        objective and ``transform`` make from torch's default generators (dropout,
        augmentations, reparameterisation noise, attacks' random starts: every
        statlearn routine called with ``random_state=None``) come from a generator
        seeded by it, and the caller's global random state is restored afterwards
        (see statlearn's randomness rule). ``None`` follows the global state
        (``statlearn.seed_everything``). Model initialisation is the caller's.

    Returns
    -------
    History
        ``history["loss"]`` and each named term, one value per epoch. The model is left
        in eval mode.

    Raises
    ------
    ValueError
        If the data are empty, the arrays disagree in length, or a hyperparameter is out
        of range.
    """
    from tqdm.auto import tqdm

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    weight_decay = check_positive(weight_decay, "weight_decay", strict=False)
    if grad_clip is not None:
        grad_clip = check_positive(grad_clip, "grad_clip")
    if device is not None:
        model.to(check_device(device))
    objective = cross_entropy if objective is None else objective

    shuffle = as_generator(random_state, "random_state")
    if objective is cross_entropy and not isinstance(train, DataLoader):
        train = _as_dataset(train, "train", model)
        _check_class_labels(model, train)
    epoch_batches, _ = _batches(train, batch_size, shuffle, model)
    if val is not None:
        val = _as_dataset(val, "val", model)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params and not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError("model has no trainable parameters")
    opt = _optimizer(optimizer, params, lr, weight_decay)
    sched = scheduler(opt) if scheduler is not None else None

    history = History()
    bar = tqdm(range(epochs), disable=quiet, desc=type(model).__name__, leave=False)
    with seeded(None if random_state is None else shuffle):
        for _ in bar:
            means, units = _train_epoch(
                model, epoch_batches, objective, transform, opt, params, grad_clip
            )
            history.units = history.units or units
            for key, value in means.items():
                history.setdefault(key, []).append(value)
            if not math.isfinite(history["loss"][-1]):
                raise FloatingPointError(
                    f"the training loss became {history['loss'][-1]} in epoch "
                    f"{history.epochs}; lower lr or check the objective"
                )
            if sched is not None:
                history.setdefault("lr", []).append(opt.param_groups[0]["lr"])
                sched.step()
            if val is not None:
                scores = _score(model, objective, val, batch_size=max(batch_size, 1024))
                for key, value in scores.items():
                    history.setdefault("val_" + key, []).append(value)
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}")
    model.eval()
    return history


def _train_epoch(
    model: nn.Module,
    epoch_batches: Callable[[], Iterable],
    objective: Objective,
    transform: Transform | None,
    opt: torch.optim.Optimizer,
    params: list[torch.Tensor],
    grad_clip: float | None,
) -> tuple[dict[str, float], str | None]:
    """One pass over the data: the per-example means of the loss and of each term,
    and the objective's unit. The terms are summed on the device and read once, at
    the end of the epoch: no host synchronisation per step."""
    model.train()
    sums: dict[str, torch.Tensor] = {}
    count = 0
    units = None
    # the data were checked once, when fit began: an objective that can skip its own
    # checks (statlearn's take check_input) does, so that no step reads the device
    trusted = (
        {"check_input": False} if accepts_keyword(objective, "check_input") else {}
    )
    for batch in epoch_batches():
        if transform is not None:
            x, y = transform(model, batch[0], batch[1] if len(batch) > 1 else None)
            batch = (x,) + ((y,) if len(batch) > 1 else ()) + tuple(batch[2:])
            model.train()
        result = objective(model, *batch, **trusted)
        units = units or _units(result)
        total, terms = _terms(result)
        opt.zero_grad(set_to_none=True)
        total.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(params, grad_clip)
        opt.step()
        n = batch[0].shape[0]
        count += n
        _accumulate(sums, "loss", total.detach(), n)
        for key, value in terms.items():
            _accumulate(sums, key, value, n)
    return _means(sums, count), units


def _accumulate(sums: dict[str, torch.Tensor], key: str, value: Any, n: int) -> None:
    """Add ``n`` times a term (a device tensor or a number) to its running sum, kept
    in float64 on the term's device."""
    value = torch.as_tensor(value).detach().to(torch.float64).reshape(())
    sums[key] = sums[key] + value * n if key in sums else value * n


def _means(sums: dict[str, torch.Tensor], count: int) -> dict[str, float]:
    """Every running sum divided by ``count``, read from the device in one copy."""
    if not sums:
        return {}
    keys = list(sums)
    device = sums["loss"].device if "loss" in sums else sums[keys[0]].device
    values = torch.stack([sums[k].to(device) for k in keys]).cpu().tolist()
    return {k: v / max(count, 1) for k, v in zip(keys, values)}


@torch.no_grad()
def _score(
    model: nn.Module,
    objective: Objective,
    data: tuple[torch.Tensor, ...],
    *,
    batch_size: int,
) -> dict[str, float]:
    """Mean of the objective's terms over ``data``, in eval mode (restored after)."""
    n = data[0].shape[0]
    sums: dict[str, torch.Tensor] = {}
    with eval_mode(model):
        for start in range(0, n, batch_size):
            batch = tuple(t[start : start + batch_size] for t in data)
            total, terms = _terms(objective(model, *batch))
            m = batch[0].shape[0]
            _accumulate(sums, "loss", total, m)
            for key, value in terms.items():
                _accumulate(sums, key, value, m)
    return _means(sums, n)


@torch.no_grad()
def predict_logits(model: nn.Module, x: Any, *, batch_size: int = 1024) -> torch.Tensor:
    """The model's outputs on ``x`` in eval mode, computed in batches; the model's mode
    is restored.

    Parameters
    ----------
    model : nn.Module
        The network.
    x : (N, ...) array or tensor
        Inputs; cast to the model's dtype and device.
    batch_size : int
        Rows per forward pass, >= 1.

    Returns
    -------
    (N, C) tensor
        On the model's device.
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    x = to_model(x, model)
    if x.ndim == 0:
        raise ValueError("x must have a sample axis, (N, ...); got a 0-d value")
    with eval_mode(model):
        outs = [model(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)]
    return torch.cat(outs)


def _logits_and_labels(
    model: nn.Module, x: Any, y: Any, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of ``x`` and ``y`` checked against them: one label per row, each in ``[0,
    C)``.
    """
    logits = predict_logits(model, x, batch_size=batch_size)
    if logits.ndim != 2:
        raise ValueError(
            f"the model must return logits of shape (N, C); got {tuple(logits.shape)}"
        )
    return logits, check_labels(
        y, logits.shape[1], n=logits.shape[0], device=logits.device
    )


def accuracy(model: nn.Module, x: Any, y: Any, *, batch_size: int = 1024) -> float:
    """Fraction of ``x`` whose arg-max prediction equals ``y``.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits ``(N, C)``.
    x : (N, ...) array or tensor
        Inputs; cast to the model's dtype and device.
    y : (N,) int array or tensor
        Labels in ``[0, C)``.
    batch_size : int
        Rows per forward pass, >= 1.

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        If ``y`` does not hold one label in ``[0, C)`` per row of ``x``.
    """
    logits, y = _logits_and_labels(model, x, y, batch_size)
    return (logits.argmax(dim=1) == y).float().mean().item()


class Evaluation(NamedTuple):
    """A classifier's scores on a data set: mean cross-entropy (nats) and accuracy."""

    loss: float
    accuracy: float
    units = "nats"


def evaluate(model: nn.Module, x: Any, y: Any, *, batch_size: int = 1024) -> Evaluation:
    """Mean cross-entropy (nats) and accuracy of a classifier on ``(x, y)``.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits ``(N, C)``.
    x : (N, ...) array or tensor
        Inputs; cast to the model's dtype and device.
    y : (N,) int array or tensor
        Labels in ``[0, C)``.
    batch_size : int
        Rows per forward pass, >= 1.

    Returns
    -------
    Evaluation
        ``loss`` (nats) and ``accuracy``, as floats.

    Raises
    ------
    ValueError
        If ``y`` does not hold one label in ``[0, C)`` per row of ``x``.
    """
    logits, y = _logits_and_labels(model, x, y, batch_size)
    loss = F.cross_entropy(logits, y)
    acc = (logits.argmax(dim=1) == y).to(loss.dtype).mean()
    loss, acc = torch.stack([loss, acc]).tolist()
    return Evaluation(loss, acc)


def _as_numpy(value: Any, name: str) -> np.ndarray:
    """A tensor (any device, with or without grad) or array-like as a NumPy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    out = np.asarray(value)
    if out.dtype == object:
        raise ValueError(f"{name} must be numeric; got an object array")
    return out


def _check_cs(Cs: Any) -> int | list[float]:
    """``linear_probe``'s grid: a number of values >= 1, or at least one C > 0."""
    if isinstance(Cs, (int, np.integer)) and not isinstance(Cs, bool):
        return check_int(Cs, "Cs", minimum=1)
    if isinstance(Cs, (str, bytes)) or not isinstance(Cs, Iterable):
        raise TypeError(
            "Cs must be an int (a number of values) or an iterable of floats; got "
            f"{type(Cs).__name__}"
        )
    grid = [check_positive(c, "Cs entry") for c in np.ravel(_as_numpy(list(Cs), "Cs"))]
    if not grid:
        raise ValueError("Cs must hold at least one value of C; got none")
    return grid


def linear_probe(
    features: Any,
    labels: Any,
    *,
    Cs: int | Iterable[float] = 10,
    cv: int = 5,
    standardize: bool = True,
    max_iter: int = 2000,
) -> Any:
    """Fit a linear probe: how much of ``labels`` a frozen representation makes linear.

    Logistic regression (multinomial, L2 penalty) whose inverse regularisation strength
    C is chosen by stratified ``cv``-fold cross-validation of the held-out log-loss on
    the labelled points only: nothing about a test set enters the choice. With very
    few labels the number of folds drops to the smallest class count; with one label
    in some class no cross-validation is possible and C = 1 is used. Features are
    standardised first (mean 0, variance 1 per feature, fitted on the labelled points)
    unless ``standardize=False``. The fit is deterministic (lbfgs).

    Parameters
    ----------
    features : (N, D) array or tensor
        The representation of the labelled points; tensors may live on any device.
    labels : (N,) int array or tensor
        Their classes; at least two classes.
    Cs : int or iterable of float
        Candidate values of C: a number of values on a log grid from 1e-4 to 1e4, or
        the values themselves.
    cv : int
        Folds of the cross-validation, >= 2 (fewer when a class has fewer labels).
    standardize : bool
        Put a ``StandardScaler`` before the logistic regression.
    max_iter : int
        Iterations of lbfgs per fit, >= 1.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted on all labelled points with the chosen C (``probe[-1].C``);
        ``probe.score(features_test, labels_test)`` is the probe's accuracy. The probe
        is a scikit-learn estimator, so it follows scikit-learn's rule, not
        statlearn's: its ``predict`` and ``predict_proba`` take tensors or arrays and
        return NumPy arrays, on the CPU.

    Raises
    ------
    ValueError
        If ``features`` is not 2-d or not finite, the lengths differ, ``labels`` are
        not integer classes, fewer than two classes are labelled, or ``Cs`` is empty or
        holds a value <= 0.
    TypeError
        If ``Cs`` is neither an int nor an iterable of numbers.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(40, 2))
    >>> probe = linear_probe(z, (z[:, 0] > 0).astype(int))
    >>> probe.score(z, (z[:, 0] > 0).astype(int))
    1.0
    """
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = _as_numpy(features, "features")
    y = _as_numpy(labels, "labels")
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(
            f"features must be (N, D), not empty; got shape {tuple(x.shape)}"
        )
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(
            f"labels must be (N,) with N = {x.shape[0]}; got shape {y.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError("features must be finite")
    if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.bool_):
        raise ValueError(f"labels must hold integer classes; got dtype {y.dtype}")
    if not np.isfinite(y).all() or (y != np.round(y)).any():
        raise ValueError("labels must hold integer classes; got non-integer values")
    cv = check_int(cv, "cv", minimum=2)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    grid = _check_cs(Cs)
    _, counts = np.unique(y, return_counts=True)
    if counts.size < 2:
        raise ValueError("labels must hold at least two classes")
    folds = min(cv, int(counts.min()))
    c_best = 1.0
    with warnings.catch_warnings():
        # scikit-learn 1.8-1.9 announce new defaults for l1_ratios (the L2 penalty
        # used here) and for LogisticRegressionCV's fitted attributes; the explicit
        # new values are rejected by older versions, so silence the notices here.
        warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")
        if folds >= 2:
            search = LogisticRegressionCV(
                Cs=grid, cv=folds, scoring="neg_log_loss", max_iter=max_iter
            )
            steps = [StandardScaler(), search] if standardize else [search]
            c_best = float(np.ravel(make_pipeline(*steps).fit(x, y)[-1].C_)[0])
        head = LogisticRegression(C=c_best, max_iter=max_iter)
        steps = [StandardScaler(), head] if standardize else [head]
        return make_pipeline(*steps).fit(x, y)
