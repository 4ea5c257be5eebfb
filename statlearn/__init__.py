"""statlearn: the helper package of the statlearn book.

Small, tested, GPU-ready implementations of the models in the book, grouped as the book is:
``statlearn.latent`` (Part I), ``statlearn.info`` (Part II) and ``statlearn.robust`` (Part III), on top of
shared ``data``, ``nets``, ``training`` and ``plotting`` modules.

``import statlearn`` is cheap: it imports torch and numpy only; scikit-learn, matplotlib and
torchvision are imported by the functions that need them.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__version__ = "0.1.0"

__all__ = ["__version__", "device", "seed_everything"]

_DEVICE_ENV = "STATLEARN_DEVICE"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def device(prefer: str | torch.device | None = None) -> torch.device:
    """The device statlearn computes on.

    Order of choice: ``prefer`` if given, else the environment variable ``STATLEARN_DEVICE``, else
    CUDA when available, then Apple's MPS, then the CPU.

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
        If the requested device is not a device name or is not available on this machine.
    """
    choice = prefer if prefer is not None else os.environ.get(_DEVICE_ENV) or None
    if choice is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    source = "prefer" if prefer is not None else f"${_DEVICE_ENV}"
    try:
        dev = torch.device(choice)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"{source} must name a torch device such as 'cpu' or 'cuda'; got {choice!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{source} asks for {choice!r} but CUDA is not available on this machine; use 'cpu'")
    if dev.type == "mps" and not _mps_available():
        raise ValueError(f"{source} asks for {choice!r} but MPS is not available on this machine; use 'cpu'")
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's random generators (CPU and every CUDA device).

    On the CPU, statlearn's computations are then deterministic run to run. GPU kernels may still
    differ in the last bits between runs.

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
