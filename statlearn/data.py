"""Datasets for the book's chapters.

Offline, always available: ``digits()``, scikit-learn's bundled 8x8 handwritten digits,
and the toy generators (``gaussian_ring``, ``two_moons``, ``mixture_samples``, and the
noisy manifolds ``tanh_manifold`` and ``sine_manifold`` of chapter 5). Online,
for readers who have torchvision and a network: ``mnist()``, ``fashion_mnist()`` and
``cifar10()``, cached in ``cache_dir()`` (``$STATLEARN_DATA`` or
``~/.cache/statlearn``).

Every loader returns a :class:`Split` of float tensors with pixels in [0, 1] and int64
labels.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any, Callable, NamedTuple

import numpy as np
import torch

from statlearn._checks import (
    as_generator,
    as_tensor,
    check_device,
    check_int,
    check_positive,
    check_probability,
)

__all__ = [
    "Split",
    "DatasetUnavailableError",
    "DATASETS",
    "cache_dir",
    "digits",
    "mnist",
    "fashion_mnist",
    "cifar10",
    "load",
    "gaussian_ring",
    "ring_modes",
    "two_moons",
    "mixture_samples",
    "Manifold",
    "tanh_manifold",
    "sine_manifold",
]


def _numpy_seed(random_state: Any) -> int:
    """An int seed for scikit-learn from any ``random_state``: an int is kept as it is
    (so a split is scikit-learn's for that seed); anything else gives one draw."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(
        random_state, bool
    ):
        seed = check_int(random_state, "random_state", minimum=0)
        if seed < 2**32:
            return seed
    g = as_generator(random_state)
    return int(torch.randint(0, 2**31 - 1, (1,), generator=g).item())


class Split(NamedTuple):
    """A train/test split: inputs in [0, 1] and int64 labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


class DatasetUnavailableError(RuntimeError):
    """An online dataset cannot be loaded here (no torchvision, or no network)."""


def cache_dir() -> pathlib.Path:
    """The folder where downloaded datasets are kept: ``$STATLEARN_DATA`` or
    ``~/.cache/statlearn``.
    """
    env = os.environ.get("STATLEARN_DATA")
    return (
        pathlib.Path(env).expanduser()
        if env
        else pathlib.Path.home() / ".cache" / "statlearn"
    )


def digits(
    *,
    flat: bool = True,
    test_size: float = 0.25,
    binarize: bool = False,
    random_state: Any = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Split:
    """Scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes), split for the
    book.

    The split is stratified by class and fixed by ``random_state``; with the defaults
    it has 1,347 training and 450 test images. Pixels (0 to 16 in the raw data) are
    scaled to [0, 1].

    Parameters
    ----------
    flat : bool
        Return inputs as ``(N, 64)`` vectors; otherwise as ``(N, 1, 8, 8)`` images.
    test_size : float
        Fraction of the data held out for testing, in (0, 1).
    binarize : bool
        Threshold pixels at 0.5, giving values in {0, 1} (for Bernoulli models).
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        Fixes the stratified split (statlearn's randomness rule; default 0, so that
        every chapter splits the digits alike).
    device : torch.device or str, optional
        Where to put the tensors (default: the CPU).
    dtype : torch.dtype
        Floating dtype of the inputs (an integer dtype would truncate the pixels; the
        labels are always int64).

    Returns
    -------
    Split
        ``x_train (N_train, 64)`` or ``(N_train, 1, 8, 8)``, ``y_train (N_train,)``, and
        the same for test.
    """
    test_size = check_probability(test_size, "test_size")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            "dtype must be a floating torch dtype such as torch.float32 (pixels lie "
            f"in [0, 1]); got {dtype!r}"
        )
    device = check_device(device) if device is not None else None
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    n_classes = len(np.unique(y))
    n_test = int(np.ceil(test_size * len(y)))
    if n_test < n_classes or len(y) - n_test < n_classes:
        raise ValueError(
            f"test_size must leave at least {n_classes} images (one per class) on each "
            "side; "
            f"got test_size={test_size}, i.e. {n_test} test and {len(y) - n_test} "
            "training images"
        )
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=_numpy_seed(random_state)
    )

    def prepare(a: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(a, dtype=dtype)
        if binarize:
            t = (t > 0.5).to(dtype)
        if not flat:
            t = t.reshape(-1, 1, 8, 8)
        return t.to(device) if device is not None else t

    def labels(a: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(a, dtype=torch.int64)
        return t.to(device) if device is not None else t

    return Split(prepare(x_tr), labels(y_tr), prepare(x_te), labels(y_te))


def _torchvision_split(
    name: str,
    factory_name: str,
    *,
    flat: bool,
    binarize: bool,
    root: str | os.PathLike | None,
    download: bool,
    device: torch.device | str | None,
) -> Split:
    hint = (
        f"statlearn.data.{name}() needs torchvision and, the first time, a network "
        "connection. "
        "Offline, use statlearn.data.digits() (scikit-learn's bundled 8x8 digits), "
        "which every "
        'chapter runs on by default (DATASET = "digits").'
    )
    try:
        import torchvision
    except Exception as exc:  # ImportError, or torchvision built for another torch
        raise DatasetUnavailableError(
            f"torchvision could not be imported ({exc}). {hint}"
        ) from exc
    device = check_device(device) if device is not None else None
    factory: Callable[..., Any] = getattr(torchvision.datasets, factory_name)
    folder = pathlib.Path(root).expanduser() if root is not None else cache_dir()
    try:
        train = factory(root=str(folder), train=True, download=download)
        test = factory(root=str(folder), train=False, download=download)
    except Exception as exc:  # URLError, RuntimeError("Dataset not found"), ...
        raise DatasetUnavailableError(
            f"could not load {name} into {folder} ({exc}). {hint}"
        ) from exc

    def to_tensors(ds: Any) -> tuple[torch.Tensor, torch.Tensor]:
        data = torch.as_tensor(np.asarray(ds.data))
        x = data.float() / 255.0
        if binarize:
            x = (x > 0.5).float()
        x = x.permute(0, 3, 1, 2) if x.ndim == 4 else x.unsqueeze(1)  # (N, C, H, W)
        if flat:
            x = x.reshape(x.shape[0], -1)
        y = torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)
        return (x.to(device), y.to(device)) if device is not None else (x, y)

    return Split(*to_tensors(train), *to_tensors(test))


def mnist(
    *,
    flat: bool = False,
    binarize: bool = False,
    root: str | os.PathLike | None = None,
    download: bool = True,
    device: torch.device | str | None = None,
) -> Split:
    """MNIST (60,000 + 10,000 images of 28x28 digits) through torchvision, cached in
    ``cache_dir()``.

    Returns ``(N, 1, 28, 28)`` images in [0, 1] (``(N, 784)`` when ``flat``);
    ``binarize`` thresholds pixels at 0.5, as in :func:`digits`.

    Parameters
    ----------
    flat : bool
        Return ``(N, C * H * W)`` vectors instead of ``(N, C, H, W)`` images.
    binarize : bool
        Threshold pixels at 0.5, giving values in {0, 1}.
    root : str or path, optional
        Where the files are kept; default :func:`cache_dir`.
    download : bool
        Download the files when they are missing.
    device : torch.device or str, optional
        Where to put the tensors (default: the CPU); a device this machine lacks is a
        ``ValueError``.

    Returns
    -------
    Split

    Raises
    ------
    DatasetUnavailableError
        If torchvision is missing or the files cannot be downloaded; the message names
        the offline alternative, :func:`digits`.
    """
    return _torchvision_split(
        "mnist",
        "MNIST",
        flat=flat,
        binarize=binarize,
        root=root,
        download=download,
        device=device,
    )


def fashion_mnist(
    *,
    flat: bool = False,
    binarize: bool = False,
    root: str | os.PathLike | None = None,
    download: bool = True,
    device: torch.device | str | None = None,
) -> Split:
    """Fashion-MNIST (28x28 grey images of clothes, 10 classes) through torchvision; see
    :func:`mnist`.

    Parameters
    ----------
    flat : bool
        Return ``(N, C * H * W)`` vectors instead of ``(N, C, H, W)`` images.
    binarize : bool
        Threshold pixels at 0.5, giving values in {0, 1}.
    root : str or path, optional
        Where the files are kept; default :func:`cache_dir`.
    download : bool
        Download the files when they are missing.
    device : torch.device or str, optional
        Where to put the tensors (default: the CPU); a device this machine lacks is a
        ``ValueError``.

    Returns
    -------
    Split
    """
    return _torchvision_split(
        "fashion_mnist",
        "FashionMNIST",
        flat=flat,
        binarize=binarize,
        root=root,
        download=download,
        device=device,
    )


def cifar10(
    *,
    flat: bool = False,
    binarize: bool = False,
    root: str | os.PathLike | None = None,
    download: bool = True,
    device: torch.device | str | None = None,
) -> Split:
    """CIFAR-10 (32x32 colour images, 10 classes) through torchvision, as ``(N, 3, 32,
    32)``; see :func:`mnist`.

    Parameters
    ----------
    flat : bool
        Return ``(N, C * H * W)`` vectors instead of ``(N, C, H, W)`` images.
    binarize : bool
        Threshold pixels at 0.5, giving values in {0, 1}.
    root : str or path, optional
        Where the files are kept; default :func:`cache_dir`.
    download : bool
        Download the files when they are missing.
    device : torch.device or str, optional
        Where to put the tensors (default: the CPU); a device this machine lacks is a
        ``ValueError``.

    Returns
    -------
    Split
    """
    return _torchvision_split(
        "cifar10",
        "CIFAR10",
        flat=flat,
        binarize=binarize,
        root=root,
        download=download,
        device=device,
    )


DATASETS: dict[str, Callable[..., Split]] = {
    "digits": digits,
    "mnist": mnist,
    "fashion_mnist": fashion_mnist,
    "cifar10": cifar10,
}


def load(name: str, **kwargs: Any) -> Split:
    """Load a dataset by name (``"digits"``, ``"mnist"``, ``"fashion_mnist"`` or
    ``"cifar10"``).

    This is what a chapter's ``DATASET`` parameter goes through.

    Parameters
    ----------
    name : str
        The dataset's name, a key of ``DATASETS``.
    **kwargs
        Passed on to the loader (``flat``, ``binarize``, ``random_state``,
        ``device``, ...).

    Returns
    -------
    Split
    """
    if name not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; expected one of "
            f"{', '.join(map(repr, DATASETS))}"
        )
    return DATASETS[name](**kwargs)


def gaussian_ring(
    n_samples: int,
    *,
    n_modes: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    random_state: Any = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples from an equal-weight mixture of ``n_modes`` isotropic Gaussians on a
    circle.

    Mode ``k`` is centred at ``radius * (cos(2 pi k / n_modes), sin(2 pi k /
    n_modes))``.

    Parameters
    ----------
    n_samples : int
        Number of samples, >= 1.
    n_modes : int
        Number of mixture components, >= 1.
    radius : float
        Radius of the circle of centres, > 0.
    std : float
        Standard deviation of each component, >= 0.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        Statlearn's randomness rule; ``None`` follows ``statlearn.seed_everything``.
        Draws on the CPU, so a seed gives the same points wherever they are used.

    Returns
    -------
    x : (n_samples, 2) float32 tensor
    mode : (n_samples,) int64 tensor
        The mode each sample came from.
    """
    n = check_int(n_samples, "n_samples", minimum=1)
    n_modes = check_int(n_modes, "n_modes", minimum=1)
    radius = check_positive(radius, "radius")
    std = check_positive(std, "std", strict=False)
    g = as_generator(random_state)
    mode = torch.randint(n_modes, (n,), generator=g)
    angle = 2 * torch.pi * mode.double() / n_modes
    centres = radius * torch.stack([angle.cos(), angle.sin()], dim=1)
    x = centres + std * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return x.float(), mode


def ring_modes(n_modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The ``(n_modes, 2)`` centres used by :func:`gaussian_ring`.

    Parameters
    ----------
    n_modes : int
        Number of mixture components, >= 1.
    radius : float
        Radius of the circle of centres, > 0.

    Returns
    -------
    (n_modes, 2) float32 tensor
    """
    n_modes = check_int(n_modes, "n_modes", minimum=1)
    radius = check_positive(radius, "radius")
    angle = 2 * torch.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    return (radius * torch.stack([angle.cos(), angle.sin()], dim=1)).float()


def two_moons(
    n_samples: int, *, noise: float = 0.1, random_state: Any = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``), classes
    balanced up to one point.

    Parameters
    ----------
    n_samples : int
        Number of samples, >= 2.
    noise : float
        Standard deviation of the Gaussian noise added to each point, >= 0.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        Statlearn's randomness rule; ``None`` follows ``statlearn.seed_everything``.
        Draws on the CPU, so a seed gives the same points wherever they are used.

    Returns
    -------
    x : (n_samples, 2) float32 tensor
    y : (n_samples,) int64 tensor
        0 for the upper moon, 1 for the lower one.
    """
    n = check_int(n_samples, "n_samples", minimum=2)
    noise = check_positive(noise, "noise", strict=False)
    g = as_generator(random_state)
    n_out = n // 2
    n_in = n - n_out
    t_out = torch.rand(n_out, generator=g, dtype=torch.float64) * torch.pi
    t_in = torch.rand(n_in, generator=g, dtype=torch.float64) * torch.pi
    upper = torch.stack([t_out.cos(), t_out.sin()], dim=1)
    lower = torch.stack([1 - t_in.cos(), 0.5 - t_in.sin()], dim=1)
    x = torch.cat([upper, lower]) + noise * torch.randn(
        n, 2, generator=g, dtype=torch.float64
    )
    y = torch.cat(
        [torch.zeros(n_out, dtype=torch.int64), torch.ones(n_in, dtype=torch.int64)]
    )
    perm = torch.randperm(n, generator=g)
    return x[perm].float(), y[perm]


def mixture_samples(
    n_samples: int,
    weights: Any,
    means: Any,
    covariances: Any,
    *,
    random_state: Any = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw from a Gaussian mixture with full covariances.

    Parameters
    ----------
    n_samples : int
        Number of samples, >= 1.
    weights : (K,) array-like
        Mixture weights, non-negative and summing to one.
    means : (K, D) array-like
    covariances : (K, D, D) array-like
        Symmetric positive-definite matrices (symmetric up to a relative 1e-8).
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        Statlearn's randomness rule; ``None`` follows ``statlearn.seed_everything``.
        The draws are made on the CPU in float64 and moved to ``means``'s device, so a
        seed gives the same samples on every device.

    Returns
    -------
    x : (n_samples, D) tensor
        float64 if ``means`` is float64, else float32; on ``means``'s device.
    z : (n_samples,) int64 tensor
        The component of each sample, on the same device.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    w = as_tensor(weights, name="weights", ndim=1, dtype=torch.float64)
    mu = as_tensor(means, name="means", ndim=2)
    out_dtype, out_device = mu.dtype, mu.device
    mu = mu.double().cpu()
    w = w.cpu()
    cov = as_tensor(
        covariances, name="covariances", ndim=3, dtype=torch.float64, device="cpu"
    )
    K, D = mu.shape
    if w.shape[0] != K or cov.shape != (K, D, D):
        raise ValueError(
            f"weights, means and covariances must have shapes (K,), (K, D), (K, D, D); "
            f"got {tuple(w.shape)}, {tuple(mu.shape)}, {tuple(cov.shape)}"
        )
    if bool((w < 0).any()) or abs(float(w.sum()) - 1.0) > 1e-6:
        raise ValueError(
            "weights must be non-negative and sum to 1; got sum "
            f"{float(w.sum()):.6g} and minimum {float(w.min()):.6g}"
        )
    asym = (cov - cov.transpose(1, 2)).abs().amax(dim=(1, 2))
    scale = cov.abs().amax(dim=(1, 2)).clamp_min(torch.finfo(torch.float64).tiny)
    bad = torch.nonzero(asym > 1e-8 * scale).flatten()
    if bad.numel():
        k = int(bad[0])
        raise ValueError(
            f"covariances must be symmetric; covariances[{k}] differs from its "
            "transpose by up to "
            f"{float(asym[k]):.3g} (a Cholesky factor would silently use its lower "
            "triangle only)"
        )
    chol, info = torch.linalg.cholesky_ex(cov)
    if bool((info != 0).any()):
        raise ValueError("covariances must be symmetric positive-definite")
    g = as_generator(random_state)
    z = torch.multinomial(w, n_samples, replacement=True, generator=g)
    noise = torch.randn(n_samples, D, generator=g, dtype=torch.float64)
    x = mu[z] + torch.einsum("nij,nj->ni", chol[z], noise)
    return x.to(device=out_device, dtype=out_dtype), z.to(out_device)


class Manifold(NamedTuple):
    """Points near a smooth ``latent_dim``-dimensional manifold in ``R^dim``.

    ``x (n, dim)`` the noisy observations (float32); ``u (n, latent_dim)`` the latent
    coordinates that generated them (float32); ``y (n,)`` the label ``1[u_1 > 0]``
    (int64); ``clean (n, dim)`` the noiseless points on the manifold (float32);
    ``noise_std`` the standard deviation of the Gaussian noise added to every
    coordinate, ``x = clean + noise_std * xi``.
    """

    x: torch.Tensor
    u: torch.Tensor
    y: torch.Tensor
    clean: torch.Tensor
    noise_std: float


_MANIFOLD_KINDS = ("tanh", "sine")


def _feature_manifold(
    kind: str,
    n_samples: int,
    *,
    dim: int,
    latent_dim: int,
    hidden: int,
    scale: float,
    scale_name: str,
    noise: float,
    random_state: Any,
) -> Manifold:
    """``x = A^T act(S^T u + b) + noise``: a random one-hidden-layer map of ``u``."""
    n = check_int(n_samples, "n_samples", minimum=1)
    dim = check_int(dim, "dim", minimum=1)
    latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
    hidden = check_int(hidden, "hidden", minimum=1)
    scale = check_positive(scale, scale_name)
    noise = check_positive(noise, "noise", strict=False)
    g = as_generator(random_state, "random_state")
    f64 = torch.float64
    # the map first, so that one random_state gives one manifold whatever n is
    s = scale * torch.randn(latent_dim, hidden, generator=g, dtype=f64)
    if kind == "tanh":
        b = torch.randn(hidden, generator=g, dtype=f64)
    else:
        b = 2 * torch.pi * torch.rand(hidden, generator=g, dtype=f64)
    a = torch.randn(hidden, dim, generator=g, dtype=f64) / hidden**0.5
    u = torch.randn(n, latent_dim, generator=g, dtype=f64)
    pre = u @ s + b
    clean = (torch.tanh(pre) if kind == "tanh" else torch.sin(pre)) @ a
    # noise relative to the signal: the root-mean-square of the coordinates' stds
    signal_std = float(clean.var(dim=0, correction=0).mean().sqrt()) if n > 1 else 0.0
    noise_std = noise * signal_std
    x = clean + noise_std * torch.randn(n, dim, generator=g, dtype=f64)
    y = (u[:, 0] > 0).to(torch.int64)
    return Manifold(x.float(), u.float(), y, clean.float(), noise_std)


def tanh_manifold(
    n_samples: int,
    *,
    dim: int = 50,
    latent_dim: int = 2,
    hidden: int = 16,
    scale: float = 3.0,
    noise: float = 2.0,
    random_state: Any = None,
) -> Manifold:
    """A gently curved manifold: ``x = A^T tanh(S^T u + b) + noise`` with ``u ~ N(0,
    I)``.

    ``S (latent_dim, hidden)`` has entries ``scale * N(0, 1)``, ``b (hidden,)`` entries
    ``N(0, 1)`` and ``A (hidden, dim)`` entries ``N(0, 1 / hidden)``, all drawn once
    from ``random_state`` before the points, so one ``random_state`` fixes one
    manifold whatever ``n`` is. The label is ``y = 1[u_1 > 0]``. Each ``tanh`` bends
    the map along one direction only, and with the defaults the top two principal
    components hold most (about 85 to 90 per cent) of the clean signal's variance: the
    manifold is nearly flat. Draw the unlabelled, labelled and test points in one call
    and split them, so that they share the manifold and the noise level.

    Parameters
    ----------
    n_samples : int
        Number of points, >= 1.
    dim : int
        Dimension ``D`` of the observations, >= 1.
    latent_dim : int
        Dimension of ``u`` (of the manifold), >= 1.
    hidden : int
        Number of ``tanh`` features, >= 1.
    scale : float
        Standard deviation of the entries of ``S``, > 0: larger bends the manifold
        more (the ``tanh`` saturates).
    noise : float
        Noise level relative to the signal, >= 0: ``noise_std = noise * s``, where
        ``s`` is the root-mean-square over the ``dim`` coordinates of the clean
        points' standard deviation, measured on these ``n_samples`` points.
        ``noise = 2`` is noise at twice the signal's standard deviation.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        Seeds the map and the points (statlearn's randomness rule; drawn on the
        CPU); ``None`` follows ``statlearn.seed_everything``.

    Returns
    -------
    Manifold
        ``(x, u, y, clean, noise_std)``.
    """
    return _feature_manifold(
        "tanh",
        n_samples,
        dim=dim,
        latent_dim=latent_dim,
        hidden=hidden,
        scale=scale,
        scale_name="scale",
        noise=noise,
        random_state=random_state,
    )


def sine_manifold(
    n_samples: int,
    *,
    dim: int = 50,
    latent_dim: int = 2,
    hidden: int = 16,
    frequency: float = 1.5,
    noise: float = 2.0,
    random_state: Any = None,
) -> Manifold:
    """A curved manifold: ``x = A^T sin(S^T u + b) + noise`` with ``u ~ N(0, I)``.

    As :func:`tanh_manifold`, with ``sin`` in place of ``tanh``, ``S`` with entries
    ``frequency * N(0, 1)`` and phases ``b`` uniform on ``[0, 2 pi)``. A sine does not
    saturate: each feature keeps oscillating, so the manifold folds over itself and its
    top two principal components hold well under two thirds of the clean signal's
    variance (with the defaults). The label is ``y = 1[u_1 > 0]``.

    Parameters
    ----------
    n_samples : int
        Number of points, >= 1.
    dim : int
        Dimension ``D`` of the observations, >= 1.
    latent_dim : int
        Dimension of ``u`` (of the manifold), >= 1.
    hidden : int
        Number of sine features, >= 1.
    frequency : float
        Standard deviation of the entries of ``S``, > 0: larger folds the manifold
        more.
    noise : float
        Noise level relative to the signal, >= 0, as in :func:`tanh_manifold`.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator
        Seeds the map and the points (statlearn's randomness rule; drawn on the
        CPU); ``None`` follows ``statlearn.seed_everything``.

    Returns
    -------
    Manifold
        ``(x, u, y, clean, noise_std)``.
    """
    return _feature_manifold(
        "sine",
        n_samples,
        dim=dim,
        latent_dim=latent_dim,
        hidden=hidden,
        scale=frequency,
        scale_name="frequency",
        noise=noise,
        random_state=random_state,
    )
