"""Small networks shared by the chapters: MLPs and CNNs for 8x8 digits and 28x28 images.

Every classifier in the book maps pixels in [0, 1] to logits; when a chapter wants
normalised inputs it puts a :class:`Normalize` layer first, so that attacks and
smoothing still work in pixel space.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from statlearn._checks import check_choice, check_int, check_probability

__all__ = ["mlp", "cnn", "Normalize", "ACTIVATIONS"]

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
        mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1)
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(1, -1)
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
