"""statlearn: the helper package of the statlearn book.

Small, tested, GPU-ready implementations of the models in the book, grouped as the book
is: ``statlearn.latent`` (Part I), ``statlearn.info`` (Part II) and ``statlearn.robust``
(Part III), on top of shared ``data``, ``nets``, ``training``, ``plotting`` and
``functional`` (the formulas every Part uses) modules.

``import statlearn`` is cheap: it imports torch and numpy only; the subpackages and
modules are imported on first use (``statlearn.latent.GaussianMixture`` works after a
bare ``import statlearn``), and scikit-learn, matplotlib and torchvision by the
functions that need them.

Devices: computation follows the input's (or the model's) device, as in PyTorch;
:func:`device` is what the chapters use to place data and models, and a device this
machine lacks is a ``ValueError``. It picks CUDA when there is one, else the CPU;
Apple's MPS only when asked for, as it has no float64, in which several routines
compute.
"""

from __future__ import annotations

import importlib
import os
import random
import warnings
from typing import Any

import numpy as np
import torch

from statlearn._checks import check_device, mps_available  # noqa: F401

__version__ = "0.1.0"

__all__ = ["__version__", "device", "seed_everything"]

_DEVICE_ENV = "STATLEARN_DEVICE"

# subpackages and modules reachable as attributes, imported on first use (PEP 562)
_SUBMODULES = (
    "latent",
    "info",
    "robust",
    "data",
    "nets",
    "training",
    "plotting",
    "book",
    "functional",
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))


def device(prefer: str | torch.device | None = None) -> torch.device:
    """The device statlearn computes on.

    Order of choice: ``prefer`` if given, else the environment variable
    ``STATLEARN_DEVICE``, else CUDA when available, else the CPU.

    Apple's MPS is used only when asked for (``prefer="mps"`` or
    ``STATLEARN_DEVICE=mps``), with a warning: MPS has no float64, and several
    routines compute in float64 on their input's device (the mixture models, the
    HMMs, the information measures), so those fail there; the neural-network
    routines run in float32 and work.

    Parameters
    ----------
    prefer : str or torch.device, optional
        A device such as ``"cpu"``, ``"cuda"`` or ``"cuda:1"``.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If the requested device is not a device name or is not available on this
        machine.
    """
    choice = prefer if prefer is not None else os.environ.get(_DEVICE_ENV) or None
    if choice is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = check_device(choice, "prefer" if prefer is not None else f"${_DEVICE_ENV}")
    if dev.type == "mps":
        warnings.warn(
            "statlearn on Apple's MPS: MPS has no float64, so the routines that "
            "compute in float64 (mixture models, HMMs, information measures) fail "
            "there; the neural networks run. Use the CPU for the others.",
            UserWarning,
            stacklevel=2,
        )
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's random generators (CPU and every CUDA device).

    On the CPU, statlearn's computations are then deterministic run to run. GPU kernels
    may still differ in the last bits between runs.

    Parameters
    ----------
    seed : int
        A non-negative integer below 2**32.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32); got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too
