"""Small networks shared by the chapters: MLPs and CNNs for 8x8 digits and 28x28 images.

Every classifier in the book maps pixels in [0, 1] to logits; when a chapter wants
normalised inputs it puts a :class:`Normalize` layer first, so that attacks and
smoothing still work in pixel space.

Used by chapters 6, 8 and 13 to 20. The activation recorder
(:class:`ActivationRecorder`, :func:`record_activations`) serves chapters 19
(representation inversion) and 20 (the information plane); :func:`eval_mode` is the
package's one eval-mode guard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from statlearn._checks import (
    as_tensor,
    check_choice,
    check_int,
    check_probability,
    to_model,
)

__all__ = [
    "mlp",
    "cnn",
    "Normalize",
    "ACTIVATIONS",
    "ActivationRecorder",
    "record_activations",
    "eval_mode",
]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
    "sigmoid": nn.Sigmoid,
}


class Normalize(nn.Module):
    """Subtract a mean and divide by a standard deviation, per channel or per feature.

    Parameters
    ----------
    mean, std : float or sequence of float
        Broadcast against the input's channel axis (axis 1).
    """

    def __init__(
        self, mean: float | Sequence[float], std: float | Sequence[float]
    ) -> None:
        super().__init__()
        mean_t = as_tensor(mean, name="mean", ndim=(0, 1)).float().reshape(1, -1)
        std_t = as_tensor(std, name="std", ndim=(0, 1)).float().reshape(1, -1)
        if bool((std_t <= 0).any()):
            raise ValueError(f"std must be > 0; got {std_t.flatten().tolist()}")
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` per channel.

        Parameters
        ----------
        x : (N, C, ...) or (N, C) tensor
            Inputs in [0, 1].

        Returns
        -------
        tensor of ``x``'s shape
            ``(x - mean) / std``.
        """
        channels = self.mean.shape[1]
        if channels > 1 or self.std.shape[1] > 1:
            channels = max(channels, self.std.shape[1])
            if x.ndim < 2 or x.shape[1] != channels:
                raise ValueError(
                    f"x must be (N, C, ...) with C = {channels} channels, one per "
                    f"mean and std; got shape {tuple(x.shape)}"
                )
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return (x - self.mean.reshape(shape).to(x.dtype)) / self.std.reshape(shape).to(
            x.dtype
        )


def mlp(
    in_features: int,
    out_features: int,
    hidden: Sequence[int] = (128,),
    *,
    activation: str = "relu",
    dropout: float = 0.0,
) -> nn.Sequential:
    """A multilayer perceptron that flattens its input first.

    Parameters
    ----------
    in_features : int
        Input size after flattening (64 for 8x8 digits, 784 for MNIST).
    out_features : int
        Output size (the number of classes for a classifier).
    hidden : sequence of int
        Widths of the hidden layers; ``()`` gives a linear model (softmax regression).
    activation : str
        One of ``ACTIVATIONS``.
    dropout : float
        Dropout probability after each hidden activation, in [0, 1).

    Returns
    -------
    nn.Sequential
        Maps ``(N, ...)`` inputs with ``in_features`` values each to ``(N,
        out_features)``.
    """
    in_features = check_int(in_features, "in_features", minimum=1)
    out_features = check_int(out_features, "out_features", minimum=1)
    check_choice(activation, "activation", ACTIVATIONS)
    if dropout != 0.0:
        check_probability(dropout, "dropout")
    widths = [check_int(h, "hidden width", minimum=1) for h in hidden]
    layers: list[nn.Module] = [nn.Flatten()]
    prev = in_features
    for width in widths:
        layers += [nn.Linear(prev, width), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        prev = width
    layers.append(nn.Linear(prev, out_features))
    return nn.Sequential(*layers)


def cnn(
    in_shape: Sequence[int] = (1, 8, 8),
    num_classes: int = 10,
    *,
    channels: Sequence[int] = (16, 32),
    hidden: int = 64,
    activation: str = "relu",
) -> nn.Sequential:
    """A small convolutional classifier for 8x8 digits, 28x28 MNIST or 32x32 CIFAR
    images.

    Each stage is a 3x3 convolution (padding 1), the activation and a 2x2 max-pool; then
    a hidden linear layer and the output layer.

    Parameters
    ----------
    in_shape : (C, H, W)
        Shape of one input image.
    num_classes : int
    channels : sequence of int
        Output channels of each stage; H and W must stay >= 1 after ``len(channels)``
        halvings.
    hidden : int
        Width of the hidden linear layer.
    activation : str
        One of ``ACTIVATIONS``.

    Returns
    -------
    nn.Sequential
        Maps ``(N, C, H, W)`` to ``(N, num_classes)``.
    """
    if len(in_shape) != 3:
        raise ValueError(f"in_shape must be (C, H, W); got {tuple(in_shape)}")
    c, h, w = (check_int(v, "in_shape entry", minimum=1) for v in in_shape)
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    hidden = check_int(hidden, "hidden", minimum=1)
    check_choice(activation, "activation", ACTIVATIONS)
    if h >> len(channels) < 1 or w >> len(channels) < 1:
        raise ValueError(
            f"in_shape {tuple(in_shape)} is too small for {len(channels)} pooling "
            "stages"
        )
    layers: list[nn.Module] = []
    prev = c
    for ch in channels:
        ch = check_int(ch, "channels entry", minimum=1)
        layers += [
            nn.Conv2d(prev, ch, 3, padding=1),
            ACTIVATIONS[activation](),
            nn.MaxPool2d(2),
        ]
        prev = ch
        h, w = h // 2, w // 2
    layers += [
        nn.Flatten(),
        nn.Linear(prev * h * w, hidden),
        ACTIVATIONS[activation](),
        nn.Linear(hidden, num_classes),
    ]
    return nn.Sequential(*layers)


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for a block and restore its train/eval flags after.

    Every module's own ``training`` flag is restored, also when the block raises, so a
    model with some submodules frozen in eval mode comes back exactly as it was. This
    is the one eval-mode guard of the package: attacks, smoothing, evaluation and the
    activation recorder use it.

    Parameters
    ----------
    model : nn.Module
        The model.

    Yields
    ------
    nn.Module
        ``model`` itself, in eval mode.

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module``.

    Examples
    --------
    >>> net = mlp(4, 2)
    >>> with eval_mode(net):
    ...     net.training
    False
    >>> net.training
    True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes:
            m.training = mode


class ActivationRecorder:
    """Keep the outputs of named layers during forward passes: a context manager.

    Forward hooks go on the submodules named as in ``model.named_modules()`` when the
    ``with`` block opens and are removed when it closes, even on an error. The model is
    not copied. After each forward pass, ``outputs[name]`` holds that layer's output
    for the batch. With ``detach=False`` the outputs stay in the autograd graph, so a
    loss on a hidden layer can be differentiated with respect to the input (chapter
    19's representation inversion); with ``detach=True`` they are detached.

    Parameters
    ----------
    model : nn.Module
        The network to observe.
    layers : iterable of str
        Names from ``model.named_modules()``, e.g. ``["2", "4"]`` for an
        ``nn.Sequential``.
    detach : bool
        Detach the recorded outputs from the autograd graph.

    Raises
    ------
    ValueError
        If a name is not a submodule of ``model`` or is repeated, or no name is given.
    TypeError
        If ``layers`` does not hold names (str).

    Examples
    --------
    >>> net = mlp(4, 2, hidden=(3,))
    >>> with ActivationRecorder(net, ["2"]) as rec:
    ...     _ = net(torch.zeros(5, 4))
    >>> rec.outputs["2"].shape
    torch.Size([5, 3])
    """

    def __init__(
        self, model: nn.Module, layers: Iterable[str], *, detach: bool = True
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model must be a torch.nn.Module; got {type(model).__name__}"
            )
        self.model = model
        self.layers = _check_layers(model, layers)
        self.detach = bool(detach)
        self.outputs: dict[str, torch.Tensor] = {}
        self._handles: list[Any] = []

    def _hook(self, name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if not isinstance(output, torch.Tensor):
                raise TypeError(
                    f"layer {name!r} returned {type(output).__name__}, not a tensor"
                )
            self.outputs[name] = output.detach() if self.detach else output

        return hook

    def __enter__(self) -> ActivationRecorder:
        modules = dict(self.model.named_modules())
        self.outputs = {}
        self._handles = [
            modules[name].register_forward_hook(self._hook(name))
            for name in self.layers
        ]
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def _check_layers(model: nn.Module, layers: Iterable[str]) -> list[str]:
    """``layers`` as a list of names of ``model``'s submodules, in the order given."""
    if isinstance(layers, str):
        layers = [layers]
    try:
        names = list(layers)
    except TypeError:
        raise TypeError(
            f"layers must be a str or an iterable of str; got {type(layers).__name__}"
        ) from None
    if not names:
        raise ValueError("layers must name at least one submodule")
    for name in names:
        # an int names a child of an nn.Sequential as well ("2" or 2)
        if isinstance(name, bool) or not isinstance(name, (str, int)):
            raise TypeError(
                f"layers must hold submodule names (str); got {type(name).__name__} "
                f"{name!r}"
            )
    names = [str(name) for name in names]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"layers must name each submodule once; repeated: {repeated}")
    known = {name for name, _ in model.named_modules()}
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(repr(n) for n in sorted(known) if n)
        raise ValueError(f"no submodule named {unknown}; the model has {listed}")
    return names


@torch.no_grad()
def record_activations(
    model: nn.Module, x: Any, layers: Iterable[str], *, batch_size: int = 1024
) -> dict[str, torch.Tensor]:
    """The outputs of named layers on ``x``, in eval mode and in batches.

    Parameters
    ----------
    model : nn.Module
        The network; its train/eval mode is restored afterwards.
    x : (N, ...) array or tensor
        Inputs; cast to the model's dtype and device.
    layers : iterable of str
        Names from ``model.named_modules()``.
    batch_size : int
        Rows per forward pass, >= 1.

    Returns
    -------
    dict of str to (N, ...) tensor
        Each layer's output for every row of ``x``, on the model's device, in the order
        of ``layers``.

    Raises
    ------
    ValueError
        If a name is not a submodule of ``model``, is repeated or names a layer the
        forward pass does not run, or ``x`` is not a batch ``(N, ...)`` of at least
        2 dimensions.
    TypeError
        If ``layers`` does not hold names (str).
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    x = to_model(x, model, min_ndim=2)
    names = _check_layers(model, layers)
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    with eval_mode(model), ActivationRecorder(model, names) as rec:
        for start in range(0, x.shape[0], batch_size):
            rec.outputs = {}
            model(x[start : start + batch_size])
            missing = [name for name in names if name not in rec.outputs]
            if missing:
                raise ValueError(
                    f"layers {missing} are submodules of the model that its forward "
                    "pass does not run, so they have no output to record"
                )
            for name in names:
                parts[name].append(rec.outputs[name])
    return {name: torch.cat(chunks) for name, chunks in parts.items()}
