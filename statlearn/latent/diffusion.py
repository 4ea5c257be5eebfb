r"""Denoising diffusion probabilistic models (chapter 4, "Diffusion models").

Implements the DDPM of Ho, Jain and Abbeel (2020), building on Sohl-Dickstein et al.
(2015): a fixed Gaussian forward process that turns data into noise in ``T`` steps,

.. math::

    \begin{aligned}
    q(x_t \mid x_{t-1}) &= \N\big(x_t; \sqrt{1 - \beta_t}\, x_{t-1}, \beta_t I\big), \\
    q(x_t \mid x_0) &= \N\big(x_t; \sqrt{\bar\alpha_t}\, x_0, (1 - \bar\alpha_t) I\big),
    \\
    \bar\alpha_t &= \textstyle\prod_{s \le t} (1 - \beta_s),
    \end{aligned}

and a learned reverse process parameterised by a denoiser ``xi_theta(x_t, t)`` that
predicts the noise ``xi ~ N(0, I)`` (Ho et al. write epsilon; the book keeps that letter
for the attack budget of Part III, and the code calls the noise ``noise``), trained with
the "simple" loss ``E ||xi - xi_theta(x_t, t)||^2``. Sampling is ancestral (Ho et al.,
Algorithm 2, with no noise at the last step) or deterministic by DDIM (Song, Meng and
Ermon, 2021, ``eta = 0``) on a subsequence of the time steps. Noise schedules: the
linear one of Ho et al. and the cosine one of Nichol and Dhariwal (2021).

Time indexing: the code's ``t = 0, ..., T-1`` is the paper's ``t = 1, ..., T``; ``x_0``
is data.

Randomness: every routine that draws takes ``random_state`` (statlearn's randomness
rule) and draws on the data's device; :meth:`DDPM.loss` draws with
``random_state=None`` by default, so that ``statlearn.training.fit(random_state=...)``
repeats a whole run. The loss is a mean squared error of the predicted noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from statlearn._checks import (
    as_float,
    as_generator,
    as_tensor,
    check_choice,
    check_device,
    check_int,
    check_positive,
    to_model,
)

__all__ = [
    "linear_beta_schedule",
    "cosine_beta_schedule",
    "DDPM",
    "DDPMLoss",
    "Trajectory",
    "SinusoidalTimeEmbedding",
    "MLPDenoiser",
    "ConvDenoiser",
]

_MAX_BETA = 0.999
_SCHEDULES = ("linear", "cosine")


# --------------------------------------------------------------------------------------
# noise schedules


def linear_beta_schedule(timesteps: int) -> torch.Tensor:
    """The linear noise schedule of Ho et al. (2020), scaled to ``timesteps`` steps.

    Ho et al. use ``beta_t`` linear from ``1e-4`` to ``0.02`` over ``T = 1000`` steps.
    For other ``T`` both ends are multiplied by ``1000 / T`` (as in Nichol and
    Dhariwal's code), so that the total amount of noise ``sum_t beta_t``, and hence
    ``abar_T``, stays about the same. For ``T < 50`` the scaled end point exceeds one;
    the betas are then clipped at ``0.999`` (the same cap as the cosine schedule), so
    ``x_T`` is still almost pure noise, but the steps are coarse.

    Parameters
    ----------
    timesteps : int
        The number of diffusion steps ``T >= 2``.

    Returns
    -------
    betas : (T,) float64 tensor
        ``beta_1, ..., beta_T``, increasing, in ``(0, 0.999]``.

    Raises
    ------
    ValueError
        If ``timesteps < 2``.
    """
    T = check_int(timesteps, "timesteps", minimum=2)
    scale = 1000.0 / T
    betas = torch.linspace(scale * 1e-4, scale * 0.02, T, dtype=torch.float64)
    return betas.clamp(max=_MAX_BETA)


def cosine_beta_schedule(timesteps: int, *, s: float = 0.008) -> torch.Tensor:
    """The cosine noise schedule of Nichol and Dhariwal (2021).

    ``abar(t) = f(t) / f(0)`` with ``f(t) = cos^2(pi/2 * (t/T + s) / (1 + s))`` and
    ``beta_t = 1 - abar(t) / abar(t - 1)``, clipped at ``0.999`` to avoid the
    singularity at ``t = T``.

    Parameters
    ----------
    timesteps : int
        The number of diffusion steps ``T >= 2``.
    s : float
        The small offset that keeps ``beta_1`` from being vanishingly small.

    Returns
    -------
    betas : (T,) float64 tensor
        In ``(0, 0.999]``.

    Raises
    ------
    ValueError
        If ``timesteps < 2`` or ``s <= 0``.
    """
    T = check_int(timesteps, "timesteps", minimum=2)
    s = check_positive(s, "s")
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    alphas_cumprod = f / f[0]
    betas = 1 - alphas_cumprod[1:] / alphas_cumprod[:-1]
    return betas.clamp(min=0.0, max=_MAX_BETA)


def _check_clip(clip: object) -> tuple[float, float] | None:
    """``clip`` as ``(low, high)`` with finite ``low < high``, or None."""
    if clip is None:
        return None
    try:
        low, high = clip  # type: ignore[misc]
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"clip must be a pair (low, high) or None; got {clip!r}"
        ) from exc
    low, high = as_float(low, "clip[0]"), as_float(high, "clip[1]")
    if not low < high:
        raise ValueError(
            f"clip must be (low, high) with low < high, e.g. (-1, 1); got {clip!r}"
        )
    return low, high


# --------------------------------------------------------------------------------------
# denoisers


class SinusoidalTimeEmbedding(nn.Module):
    """Sinusoidal features of the time step (Vaswani et al.'s positional encoding, as in
    Ho et al.).

    Parameters
    ----------
    dim : int
        Number of features (even, >= 2): ``dim / 2`` sines and ``dim / 2`` cosines at
        frequencies spaced geometrically from 1 to ``1 / max_period``.
    max_period : float
        The longest period.
    """

    def __init__(self, dim: int, *, max_period: float = 10_000.0) -> None:
        super().__init__()
        dim = check_int(dim, "dim", minimum=2)
        if dim % 2:
            raise ValueError(f"dim must be even; got {dim}")
        self.dim = dim
        half = dim // 2
        freqs = torch.exp(
            -math.log(check_positive(max_period, "max_period"))
            * torch.arange(half)
            / half
        )
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """Embed time steps.

        Parameters
        ----------
        t : (N,) tensor
            Time steps (integers, or floats).

        Returns
        -------
        (N, dim) tensor
        """
        args = t.to(self.freqs.dtype)[:, None] * self.freqs[None, :]
        return torch.cat([args.sin(), args.cos()], dim=1)


def _time_dim(time_dim: Any) -> int:
    """The size of the time features: an even int >= 2, checked under its own name."""
    time_dim = check_int(time_dim, "time_dim", minimum=2)
    if time_dim % 2:
        raise ValueError(f"time_dim must be even; got {time_dim}")
    return time_dim


def _check_denoiser_input(x: Any, t: Any) -> None:
    """Shapes only (no value is read, so no host sync in a training step): ``x`` a
    non-empty batch, ``t`` one time step per row."""
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[0] == 0:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a non-empty batch (N, ...); got {shape}")
    if not isinstance(t, torch.Tensor) or t.shape != x.shape[:1]:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(
            f"t must hold one time step per row of x, shape ({x.shape[0]},); got "
            f"{shape}"
        )


def _shape_tuple(shape: int | Sequence[int], name: str) -> tuple[int, ...]:
    if isinstance(shape, (int,)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        out = tuple(check_int(s, name, minimum=1) for s in shape)
    except TypeError as exc:
        raise TypeError(
            f"{name} must be an int or a tuple of ints; got {shape!r}"
        ) from exc
    if not out:
        raise ValueError(f"{name} must not be empty")
    return out


class MLPDenoiser(nn.Module):
    """A small time-conditioned MLP ``xi_theta(x_t, t)`` for 2-D points and flat data.

    The input is flattened, mapped to ``hidden[0]`` units, and every hidden layer adds a
    learned projection of sinusoidal time features before its SiLU; the output has the
    input's shape.

    Parameters
    ----------
    data_shape : int or tuple of int
        The shape of one example, e.g. ``2`` or ``(64,)`` or ``(1, 8, 8)``.
    hidden : sequence of int
        Hidden widths.
    time_dim : int
        Number of sinusoidal time features.
    """

    def __init__(
        self,
        data_shape: int | Sequence[int],
        *,
        hidden: Sequence[int] = (128, 128, 128),
        time_dim: int = 32,
    ) -> None:
        super().__init__()
        self.data_shape = _shape_tuple(data_shape, "data_shape")
        hidden = tuple(check_int(h, "hidden", minimum=1) for h in hidden)
        if not hidden:
            raise ValueError("hidden must name at least one layer width")
        D = math.prod(self.data_shape)
        time_dim = _time_dim(time_dim)
        self.time_embedding = SinusoidalTimeEmbedding(time_dim)
        widths = (D,) + hidden
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])
        )
        self.time_proj = nn.ModuleList(nn.Linear(time_dim, h) for h in hidden)
        self.out = nn.Linear(hidden[-1], D)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Predict the noise.

        Parameters
        ----------
        x : (N, *data_shape) tensor
            Noisy inputs ``x_t``.
        t : (N,) int64 tensor
            Time steps in ``[0, T)``.

        Returns
        -------
        (N, *data_shape) tensor
        """
        _check_denoiser_input(x, t)
        emb = self.time_embedding(t).to(x.dtype)
        h = x.reshape(x.shape[0], -1)
        for layer, proj in zip(self.layers, self.time_proj):
            h = self.act(layer(h) + proj(emb))
        return self.out(h).reshape(x.shape)


class ConvDenoiser(nn.Module):
    """A small time-conditioned convolutional ``xi_theta(x_t, t)`` for 8x8 images.

    Three 3x3 convolutions at full resolution (a receptive field of 7x7, with padding),
    one strided convolution to 4x4 and back by a transposed convolution with a skip
    connection; each block adds a per-channel projection of the sinusoidal time features
    and uses GroupNorm and SiLU.

    Parameters
    ----------
    in_channels : int
        Image channels (1 for digits).
    width : int
        Channels of the hidden feature maps (a multiple of 8).
    time_dim : int
        Number of sinusoidal time features.
    image_size : int
        Height and width of the (square) images, even; 8 for the digits.
    """

    def __init__(
        self,
        in_channels: int = 1,
        *,
        width: int = 32,
        time_dim: int = 32,
        image_size: int = 8,
    ) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        width = check_int(width, "width", minimum=8)
        if width % 8:
            raise ValueError(
                f"width must be a multiple of 8 (GroupNorm with 8 groups); got {width}"
            )
        image_size = check_int(image_size, "image_size", minimum=2)
        if image_size % 2:
            raise ValueError(f"image_size must be even; got {image_size}")
        self.data_shape = (in_channels, image_size, image_size)
        time_dim = _time_dim(time_dim)
        self.time_embedding = SinusoidalTimeEmbedding(time_dim)
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, width), nn.SiLU())
        self.conv_in = nn.Conv2d(in_channels, width, 3, padding=1)
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.down = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.mid = nn.Conv2d(2 * width, 2 * width, 3, padding=1)
        self.up = nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(2 * width, width, 3, padding=1)
        self.conv_out = nn.Conv2d(width, in_channels, 3, padding=1)
        self.proj = nn.ModuleList(
            nn.Linear(width, c) for c in (width, width, 2 * width, width)
        )
        self.norms = nn.ModuleList(
            nn.GroupNorm(8, c) for c in (width, width, 2 * width, width)
        )
        self.act = nn.SiLU()

    def _block(self, h: torch.Tensor, emb: torch.Tensor, i: int) -> torch.Tensor:
        return self.act(self.norms[i](h + self.proj[i](emb)[:, :, None, None]))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Predict the noise.

        Parameters
        ----------
        x : (N, C, H, W) or (N, C*H*W) tensor
            Noisy images ``x_t`` (flat input is reshaped and the output flattened back).
        t : (N,) int64 tensor
            Time steps in ``[0, T)``.

        Returns
        -------
        tensor of the input's shape
        """
        _check_denoiser_input(x, t)
        h = x.reshape(x.shape[0], *self.data_shape)
        emb = self.time_mlp(self.time_embedding(t).to(x.dtype))
        h0 = self._block(self.conv_in(h), emb, 0)
        h1 = self._block(self.conv1(h0), emb, 1)
        h2 = self._block(self.mid(self.act(self.down(h1))), emb, 2)
        h3 = self._block(self.conv2(torch.cat([self.up(h2), h1], dim=1)), emb, 3)
        return self.conv_out(h3).reshape(x.shape)


# --------------------------------------------------------------------------------------
# the model


class DDPMLoss(NamedTuple):
    """The simple noise-prediction loss of Ho et al. (their eq. 14).

    total : scalar tensor
        Mean over the batch and the data dimensions of ``(xi - xi_theta(x_t, t))^2``:
        a squared error in the data's units, not a log-likelihood (the reweighted ELBO
        of Ho et al. without its constants), as ``units`` says.
    """

    total: torch.Tensor
    units = "squared error"


class Trajectory(NamedTuple):
    """States of a sampling run, for plotting.

    x : (S + 1, N, *data_shape) tensor
        ``x[0]`` is the starting noise ``x_T``, ``x[-1]`` the returned samples, in
        between the states after each reverse step.
    t : (S + 1,) int64 tensor
        The code time step of each state: ``x[i]`` is the paper's ``x_{t[i] + 1}``, so
        ``t[0] = T - 1`` (pure noise ``x_T``) and ``t[-1] = -1`` (the samples ``x_0``).
        Ancestral sampling visits every step (``S = T``); DDIM with ``steps=k`` visits
        ``k`` of them (``S = k``).
    """

    x: torch.Tensor
    t: torch.Tensor


class DDPM(nn.Module):
    """A denoising diffusion probabilistic model (Ho et al., 2020).

    The schedule constants (``betas``, ``alphas``, ``alphas_cumprod``, ...) are computed
    and kept in float64 on the CPU, unaffected by ``.to()``, ``.float()`` or
    ``.half()``; every use casts them to the data's dtype and device. The trainable
    parameters are the denoiser's.

    Parameters
    ----------
    denoiser : nn.Module
        ``denoiser(x_t, t) -> noise_hat`` with ``x_t : (N, *data_shape)``, ``t :
        (N,)`` int64 in ``[0, T)``, returning the input's shape. If it has an attribute
        ``data_shape``, ``sample`` uses it; otherwise the shape last seen by ``loss``
        (or ``shape=``) is used.
    timesteps : int
        The number of diffusion steps ``T >= 2``.
    schedule : {"linear", "cosine"} or (T,) tensor
        The noise schedule, or the betas themselves (each in ``(0, 1)``).

    Notes
    -----
    ``state_dict()`` holds the denoiser's weights and, as extra state, ``T``, the
    schedule's name and its betas; ``load_state_dict`` raises a ``ValueError`` when they
    differ from this model's.

    Attributes
    ----------
    betas, alphas, alphas_cumprod, alphas_cumprod_prev, posterior_variance : tensors
        (T,) float64: ``beta_t``, ``alpha_t = 1 - beta_t``, ``abar_t``, ``abar_{t-1}``
        (1 at the first step) and ``tilde beta_t = (1 - abar_{t-1}) / (1 - abar_t) *
        beta_t``.

    Raises
    ------
    ValueError
        If ``timesteps < 2``, the schedule is unknown, or given betas are not in ``(0,
        1)`` or do not have ``T`` entries.
    """

    def __init__(
        self,
        denoiser: nn.Module,
        *,
        timesteps: int = 1000,
        schedule: str | torch.Tensor = "linear",
    ) -> None:
        super().__init__()
        if not isinstance(denoiser, nn.Module):
            raise TypeError(
                "denoiser must be an nn.Module mapping (x_t, t) to noise; got "
                f"{type(denoiser).__name__}"
            )
        T = check_int(timesteps, "timesteps", minimum=2)
        if isinstance(schedule, str):
            check_choice(schedule, "schedule", _SCHEDULES)
            betas = (
                linear_beta_schedule(T)
                if schedule == "linear"
                else cosine_beta_schedule(T)
            )
        else:
            betas = (
                as_tensor(schedule, name="schedule", ndim=1, dtype=torch.float64)
                .detach()
                .cpu()
            )
            if betas.shape[0] != T:
                raise ValueError(
                    f"schedule must have timesteps={T} betas; got {betas.shape[0]}"
                )
            if not bool(((betas > 0) & (betas < 1)).all()):
                raise ValueError("schedule betas must lie in (0, 1)")
        self.denoiser = denoiser
        self.timesteps = T
        self.schedule = schedule if isinstance(schedule, str) else "custom"
        self.data_shape: tuple[int, ...] | None = getattr(denoiser, "data_shape", None)
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.alphas_cumprod_prev = torch.cat(
            [torch.ones(1, dtype=torch.float64), self.alphas_cumprod[:-1]]
        )
        self.posterior_variance = (
            betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        )
        self._cache: dict[tuple[str, torch.device, torch.dtype], torch.Tensor] = {}

    # -- state
    # ----------------------------------------------------------------------------------

    def get_extra_state(self) -> dict:
        """What ``state_dict()`` saves besides the denoiser's weights: ``T``, the
        schedule's name and its betas, so that a checkpoint says which forward process
        its denoiser was trained for."""
        return {
            "timesteps": self.timesteps,
            "schedule": self.schedule,
            "betas": self.betas.clone(),
        }

    def set_extra_state(self, state: dict) -> None:
        """Check a checkpoint's forward process against this model's
        (``load_state_dict`` calls it).

        Parameters
        ----------
        state : dict
            What :meth:`get_extra_state` saved.

        Raises
        ------
        ValueError
            If the checkpoint's ``T`` or betas differ from this model's: its denoiser
            predicts the noise of another forward process, and sampling with it would be
            silently wrong.
        """
        if not isinstance(state, dict) or not {"timesteps", "betas"} <= set(state):
            raise ValueError(
                "this is not a DDPM checkpoint: its extra state lacks 'timesteps' and "
                "'betas'"
            )
        T, name = int(state["timesteps"]), state.get("schedule", "custom")
        betas = torch.as_tensor(state["betas"], dtype=torch.float64).cpu()
        if (
            T != self.timesteps
            or betas.shape != self.betas.shape
            or not torch.allclose(betas, self.betas, rtol=1e-9, atol=0)
        ):
            raise ValueError(
                f"the checkpoint was trained for timesteps={T} with the {name!r} "
                "schedule, but this DDPM has "
                f"timesteps={self.timesteps} with the {self.schedule!r} schedule; "
                "build "
                f"DDPM(denoiser, timesteps={T}, schedule=...) with the checkpoint's "
                "schedule to load it"
            )

    # -- helpers
    # ----------------------------------------------------------------------------------

    def _const(self, name: str, like: torch.Tensor) -> torch.Tensor:
        key = (name, like.device, like.dtype)
        if key not in self._cache:
            self._cache[key] = getattr(self, name).to(dtype=like.dtype).to(like.device)
        return self._cache[key]

    def _at(self, name: str, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``name[t]`` shaped to broadcast against ``like`` (N, ...)."""
        c = self._const(name, like)[t.to(like.device)]
        return c.reshape(-1, *([1] * (like.ndim - 1)))

    def _check_t(
        self, t: torch.Tensor | int, n: int, device: torch.device
    ) -> torch.Tensor:
        if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
            t = int(t)
            if not 0 <= t < self.timesteps:
                raise ValueError(f"t must lie in [0, {self.timesteps}); got {t}")
            return torch.full((n,), t, dtype=torch.long, device=device)
        if isinstance(t, np.ndarray) and t.dtype.kind in "iu":
            t = torch.from_numpy(np.ascontiguousarray(t))
        if (
            not isinstance(t, torch.Tensor)
            or t.dtype.is_floating_point
            or t.dtype == torch.bool
        ):
            raise TypeError(
                "t must be an int or an integer tensor of time steps; got "
                f"{type(t).__name__}"
            )
        if t.ndim == 0:
            t = t.expand(n)
        if t.shape != (n,):
            raise ValueError(
                f"t must have shape ({n},), one time step per example; got "
                f"{tuple(t.shape)}"
            )
        if int(t.min()) < 0 or int(t.max()) >= self.timesteps:
            raise ValueError(
                f"t must lie in [0, {self.timesteps}); got values in [{int(t.min())}, "
                f"{int(t.max())}]"
            )
        return t.long().to(device)

    def _param_like(self) -> torch.Tensor:
        """A floating parameter of the denoiser (for its device and dtype), else an
        empty float32 tensor.
        """
        for p in self.denoiser.parameters():
            if p.dtype.is_floating_point:
                return p
        return torch.empty(0)

    def _check_x(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """``x`` at the denoiser's dtype and device, with examples of the data's
        shape."""
        x = to_model(x, self.denoiser, name=name, min_ndim=2)
        if self.data_shape is not None and math.prod(x.shape[1:]) != math.prod(
            self.data_shape
        ):
            raise ValueError(
                f"{name} must have examples of shape {tuple(self.data_shape)}; got "
                f"shape {tuple(x.shape)}"
            )
        return x

    # -- forward process
    # ----------------------------------------------------------------------------------

    def q_sample(
        self,
        x0: torch.Tensor,
        t: torch.Tensor | int,
        noise: torch.Tensor | None = None,
        *,
        random_state: Any = None,
    ) -> torch.Tensor:
        """Draw ``x_t ~ q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)`` in closed
        form.

        Parameters
        ----------
        x0 : (N, *data_shape) tensor
            Data.
        t : (N,) int64 tensor or int
            Time steps in ``[0, T)`` (code indexing: ``t = 0`` is one step of noise).
        noise : (N, *data_shape) tensor, optional
            The standard normal noise ``xi``; drawn if not given.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws ``noise`` (when
            not given) on the denoiser's device.

        Returns
        -------
        x_t : (N, *data_shape) tensor
        """
        x0 = self._check_x(x0, "x0")
        t = self._check_t(t, x0.shape[0], x0.device)
        if noise is None or random_state is not None:
            generator = as_generator(random_state, device=x0.device)
        if noise is None:
            noise = torch.randn(
                x0.shape, generator=generator, dtype=x0.dtype, device=x0.device
            )
        else:
            noise = self._check_noise(noise, x0)
        return self._q_sample(x0, t, noise)

    @staticmethod
    def _check_noise(noise: Any, x0: torch.Tensor) -> torch.Tensor:
        """Given noise at ``x0``'s dtype and device, with ``x0``'s shape."""
        if not isinstance(noise, torch.Tensor):
            raise TypeError(f"noise must be a tensor; got {type(noise).__name__}")
        if noise.shape != x0.shape:
            raise ValueError(
                f"noise must have x0's shape {tuple(x0.shape)}; got "
                f"{tuple(noise.shape)}"
            )
        return as_tensor(noise, name="noise", dtype=x0.dtype, device=x0.device)

    def _q_sample(
        self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor
    ) -> torch.Tensor:
        ab = self._at("alphas_cumprod", t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def forward_trajectory(
        self, x0: torch.Tensor, *, random_state: Any = None
    ) -> torch.Tensor:
        """Run the forward Markov chain ``x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t)
        xi_t``.

        Parameters
        ----------
        x0 : (N, *data_shape) tensor
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws on the denoiser's
            device.

        Returns
        -------
        (T + 1, N, *data_shape) tensor
            ``x_0`` (data), then the state after each of the ``T`` steps.
        """
        x = self._check_x(x0, "x0")
        generator = as_generator(random_state, device=x.device)
        alphas = self._const("alphas", x)
        betas = self._const("betas", x)
        out = [x]
        for t in range(self.timesteps):
            noise = torch.randn(
                x.shape, generator=generator, dtype=x.dtype, device=x.device
            )
            x = alphas[t].sqrt() * x + betas[t].sqrt() * noise
            out.append(x)
        return torch.stack(out)

    # -- training
    # ----------------------------------------------------------------------------------

    def loss(
        self,
        x0: torch.Tensor,
        t: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
        *,
        random_state: Any = None,
    ) -> DDPMLoss:
        """The simple loss ``E_{t, x_0, xi} ||xi - xi_theta(x_t, t)||^2`` (Ho et al.,
        eq. 14).

        Parameters
        ----------
        x0 : (N, *data_shape) tensor
            A batch of data.
        t : (N,) int64 tensor, optional
            Time steps; by default drawn uniformly from all ``T`` steps ``0, ..., T-1``.
        noise : (N, *data_shape) tensor, optional
            The standard normal noise ``xi``; drawn if not given.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws ``t`` and
            ``noise`` (those not given) from one generator on the denoiser's device.
            Leave it ``None`` inside ``fit``, so that ``fit(random_state=...)``
            repeats the run.

        Returns
        -------
        DDPMLoss
            ``total``: the mean squared error over the batch and the data dimensions.
        """
        x0 = self._check_x(x0, "x0")
        if getattr(self.denoiser, "data_shape", None) is None:
            self.data_shape = tuple(x0.shape[1:])
        if noise is not None:
            noise = self._check_noise(noise, x0)
        if t is not None:
            t = self._check_t(t, x0.shape[0], x0.device)
        if t is None or noise is None or random_state is not None:
            generator = as_generator(random_state, device=x0.device)
        if t is None or noise is None:
            # uniform over all T steps; drawn here, so no validation (no device sync)
            if t is None:
                t = torch.randint(
                    0,
                    self.timesteps,
                    (x0.shape[0],),
                    generator=generator,
                    device=x0.device,
                )
            if noise is None:
                noise = torch.randn(
                    x0.shape, generator=generator, dtype=x0.dtype, device=x0.device
                )
        x_t = self._q_sample(x0, t, noise)
        noise_hat = self.denoiser(x_t, t)
        return DDPMLoss(total=((noise_hat - noise) ** 2).mean())

    def forward(self, x0: torch.Tensor, *, random_state: Any = None) -> DDPMLoss:
        """Same as :meth:`loss`, so ``statlearn.training.fit`` can use
        ``objective=lambda m, x, *_: m(x)``.

        Parameters
        ----------
        x0 : (N, *data_shape) array or tensor
            A batch of data, cast to the denoiser's dtype and device.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            As in :meth:`loss`.

        Returns
        -------
        DDPMLoss
        """
        return self.loss(x0, random_state=random_state)

    # -- reverse process
    # ----------------------------------------------------------------------------------

    def predict_x0(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor | int,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The denoised estimate ``x_0 = (x_t - sqrt(1 - abar_t) xi_theta(x_t, t)) /
        sqrt(abar_t)``.

        Parameters
        ----------
        x_t : (N, *data_shape) tensor
        t : (N,) int64 tensor or int
        noise : (N, *data_shape) tensor, optional
            The (predicted) noise; the denoiser's ``xi_theta(x_t, t)`` if not given.

        Returns
        -------
        (N, *data_shape) tensor
        """
        x_t = self._check_x(x_t, "x_t")
        t = self._check_t(t, x_t.shape[0], x_t.device)
        if noise is None:
            noise = self.denoiser(x_t, t)
        else:
            noise = self._check_noise(noise, x_t)
        return self._predict_x0(x_t, t, noise)

    def _predict_x0(
        self, x_t: torch.Tensor, t: torch.Tensor, noise: torch.Tensor
    ) -> torch.Tensor:
        ab = self._at("alphas_cumprod", t, x_t)
        return (x_t - (1 - ab).sqrt() * noise) / ab.sqrt()

    def p_mean_variance(
        self,
        x_t: torch.Tensor,
        t: int,
        *,
        clip: tuple[float, float] | None = None,
        variance: str = "beta",
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance of one reverse step ``p_theta(x_{t-1} | x_t)``.

        The mean is the forward posterior's mean ``tilde mu_t(x_t, hat x_0)`` at the
        denoiser's ``hat x_0`` (equal to Ho et al.'s ``(x_t - beta_t / sqrt(1 - abar_t)
        xi_theta) / sqrt(alpha_t)`` when ``clip`` is None); the variance is
        ``beta_t`` (``variance="beta"``) or ``tilde beta_t`` (``"posterior"``), both as
        in Ho et al.

        Parameters
        ----------
        x_t : (N, *data_shape) tensor
        t : int
            The time step, in ``[0, T)``.
        clip : (low, high), optional
            Clip ``hat x_0`` to this range (Ho et al. clip images to [-1, 1]).
        variance : {"beta", "posterior"}

        Returns
        -------
        mean : (N, *data_shape) tensor
        var : scalar tensor
        """
        check_choice(variance, "variance", ("beta", "posterior"))
        clip = _check_clip(clip)
        x_t = self._check_x(x_t, "x_t")
        t = self._check_step(t)
        return self._p_mean_variance(x_t, t, clip, variance)

    def _check_step(self, t: int) -> int:
        t = check_int(t, "t", minimum=0)
        if t >= self.timesteps:
            raise ValueError(f"t must lie in [0, {self.timesteps}); got {t}")
        return t

    def _p_mean_variance(
        self, x_t: torch.Tensor, t: int, clip: tuple[float, float] | None, variance: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`p_mean_variance` on checked arguments."""
        tt = torch.full((x_t.shape[0],), t, dtype=torch.long, device=x_t.device)
        noise_hat = self.denoiser(x_t, tt)
        x0_hat = self._predict_x0(x_t, tt, noise_hat)
        if clip is not None:
            x0_hat = x0_hat.clamp(*clip)
        ab = self._const("alphas_cumprod", x_t)[t]
        ab_prev = self._const("alphas_cumprod_prev", x_t)[t]
        beta = self._const("betas", x_t)[t]
        c0 = ab_prev.sqrt() * beta / (1 - ab)
        ct = (1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)
        mean = c0 * x0_hat + ct * x_t
        var = beta if variance == "beta" else self._const("posterior_variance", x_t)[t]
        return mean, var

    def p_sample(
        self,
        x_t: torch.Tensor,
        t: int,
        *,
        random_state: Any = None,
        clip: tuple[float, float] | None = None,
        variance: str = "beta",
    ) -> torch.Tensor:
        """One ancestral step ``x_{t-1} ~ p_theta(x_{t-1} | x_t)``; at ``t = 0`` the
        mean, without noise.

        Parameters
        ----------
        x_t : (N, *data_shape) tensor
        t : int
            The time step, in ``[0, T)``.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). Draws on the
            denoiser's device.
        clip, variance
            As in :meth:`p_mean_variance`.

        Returns
        -------
        (N, *data_shape) tensor
        """
        check_choice(variance, "variance", ("beta", "posterior"))
        clip = _check_clip(clip)
        x_t = self._check_x(x_t, "x_t")
        t = self._check_step(t)
        generator = as_generator(random_state, device=x_t.device)
        return self._p_sample(x_t, t, clip, variance, generator)

    def _p_sample(
        self,
        x_t: torch.Tensor,
        t: int,
        clip: tuple[float, float] | None,
        variance: str,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """:meth:`p_sample` on checked arguments."""
        mean, var = self._p_mean_variance(x_t, t, clip, variance)
        if t == 0:
            return mean
        noise = torch.randn(
            x_t.shape, generator=generator, dtype=x_t.dtype, device=x_t.device
        )
        return mean + var.sqrt() * noise

    def ddim_timesteps(self, steps: int) -> torch.Tensor:
        """The ``steps`` time steps DDIM visits: evenly spaced over ``[0, T-1]``,
        largest first.

        Parameters
        ----------
        steps : int
            In ``[1, T]``.

        Returns
        -------
        (steps,) int64 tensor
            Strictly decreasing, ending at 0 and (for ``steps >= 2``) starting at ``T -
            1``.
        """
        return self._ddim_timesteps(self._check_steps(steps))

    def _check_steps(self, steps: Any) -> int:
        steps = check_int(steps, "steps", minimum=1)
        if steps > self.timesteps:
            raise ValueError(
                f"steps must be at most timesteps={self.timesteps}; got {steps}"
            )
        return steps

    def _ddim_timesteps(self, steps: int) -> torch.Tensor:
        """:meth:`ddim_timesteps` on a checked ``steps``."""
        if steps == 1:
            return torch.tensor([self.timesteps - 1])
        ts = (
            torch.linspace(0, self.timesteps - 1, steps, dtype=torch.float64)
            .round()
            .long()
        )
        return ts.flip(0)

    @torch.no_grad()
    def sample(
        self,
        n_samples: int = 1,
        *,
        random_state: Any = None,
        steps: int | None = None,
        eta: float = 0.0,
        shape: Sequence[int] | None = None,
        x_T: torch.Tensor | None = None,
        clip: tuple[float, float] | None = None,
        variance: str = "beta",
        return_trajectory: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Trajectory]:
        """Draw samples by running the reverse process from ``x_T ~ N(0, I)``.

        With ``steps=None``: ancestral sampling through all ``T`` steps (Ho et al.,
        Algorithm 2), adding noise at every step but the last. With ``steps=k``: DDIM
        (Song et al., 2021) on ``k`` evenly spaced steps, deterministic for
        ``eta = 0``::

            x_s = sqrt(abar_s) hat x_0
                  + sqrt(1 - abar_s - sigma^2) xi_theta(x_t, t) + sigma xi,
            sigma = eta sqrt((1 - abar_s) / (1 - abar_t)) sqrt(1 - abar_t / abar_s),

        with ``abar_s = 1`` after the last step, so the last state is ``hat x_0``.

        Parameters
        ----------
        n_samples : int, default 1
            Number of samples.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md). One generator on the
            sampling device draws ``x_T`` (when not given) and every step's noise.
        steps : int, optional
            Use DDIM with this many steps (``1 <= steps <= T``).
        eta : float
            DDIM's stochasticity (0: deterministic; 1: a DDPM-like sampler on the
            subsequence).
        shape : sequence of int, optional
            Shape of one example; default the denoiser's ``data_shape`` or the shape
            ``loss`` last saw.
        x_T : (n_samples, *shape) tensor, optional
            The starting noise; drawn if not given.
        clip : (low, high), optional
            Clip the predicted ``hat x_0`` at every step.
        variance : {"beta", "posterior"}
            Ancestral sampling's step variance (``beta_t`` or ``tilde beta_t``).
        return_trajectory : bool
            Also return every intermediate state.
        device, dtype : optional
            Default: the denoiser's parameters' device and dtype (float32 if it has
            none).

        Returns
        -------
        x : (n_samples, *shape) tensor
        trajectory : Trajectory, only if ``return_trajectory``

        Raises
        ------
        ValueError
            If ``n_samples < 1``, ``steps`` is out of range, ``eta < 0``, or the shape
            is unknown.
        """
        n = check_int(n_samples, "n_samples", minimum=1)
        eta = check_positive(eta, "eta", strict=False)
        check_choice(variance, "variance", ("beta", "posterior"))
        clip = _check_clip(clip)
        if steps is not None:
            steps = self._check_steps(steps)
        like = self._param_like()
        device = check_device(device) if device is not None else like.device
        if dtype is not None and (
            not isinstance(dtype, torch.dtype) or not dtype.is_floating_point
        ):
            raise TypeError(f"dtype must be a floating torch dtype; got {dtype!r}")
        dtype = dtype or (like.dtype if like.numel() else torch.float32)
        shape = _shape_tuple(shape, "shape") if shape is not None else self.data_shape
        if x_T is not None:
            x = as_tensor(x_T, name="x_T", dtype=dtype, device=device)
            want = (
                f"({n}, {', '.join(map(str, shape))})"
                if shape is not None
                else f"({n}, ...)"
            )
            if (
                x.ndim < 2
                or x.shape[0] != n
                or (shape is not None and math.prod(x.shape[1:]) != math.prod(shape))
            ):
                raise ValueError(
                    f"x_T must have shape (n_samples, *shape) = {want}, one starting "
                    f"point per sample; got shape {tuple(x.shape)}"
                )
        elif shape is None:
            raise ValueError(
                "the data shape is unknown: pass shape=, or train with loss() first"
            )
        generator = as_generator(random_state, device=device)
        if x_T is None:
            x = torch.randn(
                (n, *shape), generator=generator, dtype=dtype, device=device
            )
        states, times = [x], [self.timesteps - 1]
        if steps is None:
            for t in range(self.timesteps - 1, -1, -1):
                x = self._p_sample(x, t, clip, variance, generator)
                if return_trajectory:
                    states.append(x)
                    times.append(t - 1)
        else:
            ts = self._ddim_timesteps(steps).tolist()
            abar = self._const("alphas_cumprod", x)
            one = torch.ones((), dtype=x.dtype, device=x.device)
            for i, t in enumerate(ts):
                s = ts[i + 1] if i + 1 < len(ts) else -1
                tt = torch.full((n,), t, dtype=torch.long, device=x.device)
                noise_hat = self.denoiser(x, tt)
                x0_hat = self._predict_x0(x, tt, noise_hat)
                if clip is not None:
                    x0_hat = x0_hat.clamp(*clip)
                    noise_hat = (x - abar[t].sqrt() * x0_hat) / (1 - abar[t]).sqrt()
                ab_s = abar[s] if s >= 0 else one
                sigma = eta * ((1 - ab_s) / (1 - abar[t]) * (1 - abar[t] / ab_s)).sqrt()
                x = (
                    ab_s.sqrt() * x0_hat
                    + (1 - ab_s - sigma**2).clamp(min=0).sqrt() * noise_hat
                )
                if eta > 0 and s >= 0:
                    x = x + sigma * torch.randn(
                        x.shape, generator=generator, dtype=x.dtype, device=x.device
                    )
                if return_trajectory:
                    states.append(x)
                    times.append(s)
        if return_trajectory:
            # the times beside the states, on their device
            times_t = torch.tensor(times, dtype=torch.long, device=x.device)
            return x, Trajectory(torch.stack(states), times_t)
        return x
