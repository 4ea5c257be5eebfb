"""Tests for statlearn.latent.diffusion (chapter 4): schedules, the forward process, the
loss, sampling.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from statlearn.latent import DDPM, cosine_beta_schedule, linear_beta_schedule
from statlearn.latent.diffusion import (
    ConvDenoiser,
    DDPMLoss,
    MLPDenoiser,
    SinusoidalTimeEmbedding,
)


class GaussianEps(nn.Module):
    """The exact epsilon*(x_t, t) = E[epsilon | x_t] for data x_0 ~ N(m, s^2 I).

    x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps is Gaussian with mean sqrt(abar) m and
    variance v = abar s^2 + 1 - abar, and Cov(eps, x_t) = sqrt(1 - abar), so E[eps |
    x_t] = sqrt(1 - abar) (x_t - sqrt(abar) m) / v.
    """

    def __init__(self, alphas_cumprod: torch.Tensor, m: torch.Tensor, s: float) -> None:
        super().__init__()
        self.register_buffer("abar", alphas_cumprod.clone())
        self.register_buffer("m", m.clone())
        self.s = s

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = self.abar.to(x.dtype)[t][:, None]
        v = ab * self.s**2 + 1 - ab
        return (1 - ab).sqrt() * (x - ab.sqrt() * self.m.to(x.dtype)) / v


class RecordingDenoiser(nn.Module):
    """A zero-output denoiser with one parameter that records the time steps it is
    called with.
    """

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.seen.append(t.detach().clone())
        return self.w * x


# --------------------------------------------------------------------------------------
# schedules


def test_linear_schedule_matches_ho_et_al_at_1000_steps():
    betas = linear_beta_schedule(1000)
    assert betas.dtype == torch.float64 and betas.shape == (1000,)
    assert betas[0].item() == pytest.approx(1e-4, rel=1e-12)
    assert betas[-1].item() == pytest.approx(0.02, rel=1e-12)
    assert torch.allclose(
        betas.diff(), torch.full((999,), (0.02 - 1e-4) / 999, dtype=torch.float64)
    )


def test_linear_schedule_scales_with_timesteps():
    betas = linear_beta_schedule(250)
    assert betas[0].item() == pytest.approx(4e-4) and betas[-1].item() == pytest.approx(
        0.08
    )
    # the total noise stays comparable: abar_T is tiny for every T
    for T in (50, 100, 250, 1000):
        abar_T = torch.cumprod(1 - linear_beta_schedule(T), 0)[-1].item()
        assert abar_T < 1e-3
    small = linear_beta_schedule(10)  # 1000/T * 0.02 = 2 > 1: clipped
    assert small.max().item() == pytest.approx(0.999)
    assert bool((small > 0).all())


def test_cosine_schedule_follows_the_cosine_abar():
    T, s = 100, 0.008
    betas = cosine_beta_schedule(T)
    assert betas.dtype == torch.float64 and betas.shape == (T,)
    abar = torch.cumprod(1 - betas, 0)
    t = torch.arange(1, T + 1, dtype=torch.float64)
    f = torch.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
    # identical until the clipped last step
    assert torch.allclose(abar[:-1], (f / f0)[:-1], rtol=1e-10, atol=1e-14)
    assert betas[-1].item() == pytest.approx(0.999)
    assert bool((betas.diff() >= 0).all())


@settings(max_examples=40, deadline=None)
@given(T=st.integers(2, 3000), kind=st.sampled_from(["linear", "cosine"]))
def test_schedule_properties(T, kind):
    betas = (linear_beta_schedule if kind == "linear" else cosine_beta_schedule)(T)
    assert betas.dtype == torch.float64 and betas.shape == (T,)
    assert bool((betas > 0).all()) and bool((betas <= 0.999 + 1e-12).all())
    abar = torch.cumprod(1 - betas, 0)
    assert bool((abar.diff() < 0).all())  # more noise at every step
    assert abar[-1].item() < 0.05  # x_T is close to pure noise


@pytest.mark.parametrize("bad", [1, 0, -5])
@pytest.mark.parametrize("fn", [linear_beta_schedule, cosine_beta_schedule])
def test_schedule_rejects_too_few_steps(fn, bad):
    with pytest.raises(ValueError, match="timesteps"):
        fn(bad)


def test_schedule_rejects_non_integers():
    with pytest.raises(TypeError):
        linear_beta_schedule(10.5)
    with pytest.raises(ValueError, match="s must be"):
        cosine_beta_schedule(10, s=0.0)


# --------------------------------------------------------------------------------------
# construction and errors


def test_ddpm_constants_are_float64_and_survive_dtype_casts():
    model = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=20, schedule="cosine")
    model.double().float()
    for name in (
        "betas",
        "alphas",
        "alphas_cumprod",
        "alphas_cumprod_prev",
        "posterior_variance",
    ):
        assert getattr(model, name).dtype == torch.float64
    assert torch.equal(model.betas, cosine_beta_schedule(20))
    assert model.alphas_cumprod_prev[0].item() == 1.0
    assert torch.allclose(model.alphas_cumprod_prev[1:], model.alphas_cumprod[:-1])
    # the posterior variance q(x_{t-1} | x_t, x_0) lies between 0 and beta_t
    assert bool((model.posterior_variance <= model.betas).all())
    assert model.posterior_variance[0].item() == 0.0


def test_ddpm_value_errors():
    den = MLPDenoiser(2, hidden=(8,))
    with pytest.raises(ValueError, match="timesteps"):
        DDPM(den, timesteps=1)
    with pytest.raises(ValueError, match="schedule"):
        DDPM(den, timesteps=10, schedule="quadratic")
    with pytest.raises(ValueError, match="schedule must have"):
        DDPM(den, timesteps=10, schedule=torch.full((9,), 0.1))
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        DDPM(den, timesteps=3, schedule=torch.tensor([0.1, 1.0, 0.2]))
    with pytest.raises(TypeError, match="denoiser"):
        DDPM(lambda x, t: x, timesteps=10)
    model = DDPM(den, timesteps=10)
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="t must lie"):
        model.q_sample(x, torch.tensor([0, 1, 2, 10]))
    with pytest.raises(ValueError, match="t must lie"):
        model.q_sample(x, -1)
    with pytest.raises(ValueError, match="t must have shape"):
        model.q_sample(x, torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="t must be"):
        model.q_sample(x, torch.tensor([0.5, 1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="noise must have"):
        model.q_sample(x, 3, noise=torch.randn(4, 3))
    with pytest.raises(ValueError, match="noise must have"):
        model.loss(x, noise=torch.randn(4, 3))
    with pytest.raises(ValueError, match="t must lie"):
        model.loss(x, t=torch.full((4,), 10))
    with pytest.raises(ValueError, match="examples of shape"):
        model.loss(torch.randn(4, 3))
    with pytest.raises(ValueError, match="batch"):
        model.loss(torch.randn(2))
    with pytest.raises(ValueError, match="NaN"):
        model.loss(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="n_samples must be"):
        model.sample(0)
    with pytest.raises(ValueError, match="steps"):
        model.sample(3, steps=0)
    with pytest.raises(ValueError, match="steps"):
        model.sample(3, steps=11)
    with pytest.raises(ValueError, match="eta"):
        model.sample(3, steps=5, eta=-1.0)
    with pytest.raises(ValueError, match="variance"):
        model.sample(3, variance="learned")
    with pytest.raises(
        ValueError, match=r"x_T must have shape \(n_samples, \*shape\) = \(3, 2\)"
    ):
        model.sample(3, x_T=torch.randn(4, 2))
    shapeless = DDPM(RecordingDenoiser(), timesteps=5)
    with pytest.raises(ValueError, match="shape is unknown"):
        shapeless.sample(3)


def test_denoiser_value_errors():
    with pytest.raises(ValueError, match="even"):
        SinusoidalTimeEmbedding(7)
    with pytest.raises(ValueError, match="hidden"):
        MLPDenoiser(2, hidden=())
    with pytest.raises(ValueError, match="data_shape"):
        MLPDenoiser((0, 2))
    with pytest.raises(ValueError, match="multiple of 8"):
        ConvDenoiser(1, width=12)
    with pytest.raises(ValueError, match="image_size"):
        ConvDenoiser(1, image_size=7)


# --------------------------------------------------------------------------------------
# forward process


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_q_sample_has_the_closed_form_mean_and_variance(schedule):
    torch.manual_seed(0)
    T, n = 50, 40_000
    model = DDPM(MLPDenoiser(3, hidden=(8,)), timesteps=T, schedule=schedule).double()
    x0 = torch.tensor([[1.5, -2.0, 0.3]], dtype=torch.float64)
    for t in (0, 10, 25, T - 1):
        xt = model.q_sample(x0.expand(n, 3), t)
        assert xt.dtype == torch.float64
        ab = model.alphas_cumprod[t].item()
        se_mean = math.sqrt((1 - ab) / n)
        assert torch.allclose(xt.mean(0), math.sqrt(ab) * x0[0], atol=5 * se_mean)
        # variance of a sample variance of Gaussians: 2 sigma^4 / (n - 1)
        assert torch.allclose(
            xt.var(0),
            torch.full((3,), 1 - ab, dtype=torch.float64),
            atol=5 * (1 - ab) * math.sqrt(2 / n),
        )


def test_q_sample_with_given_noise_is_exact_and_casts_to_the_model_dtype():
    model = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=30)
    x0, noise = torch.randn(5, 2), torch.randn(5, 2)
    t = torch.tensor([0, 3, 7, 15, 29])
    ab = torch.cumprod(1 - linear_beta_schedule(30), 0)[t].float()[:, None]
    assert torch.allclose(
        model.q_sample(x0, t, noise),
        ab.sqrt() * x0 + (1 - ab).sqrt() * noise,
        atol=1e-6,
    )
    assert model.q_sample(x0, t, noise).dtype == torch.float32
    # float64 data meets a float32 model as float32 (the boundary rule), a float64 model
    # keeps it
    assert model.q_sample(x0.double(), t, noise.double()).dtype == torch.float32
    assert (
        model.double().q_sample(x0.double(), t, noise.double()).dtype == torch.float64
    )


def test_forward_markov_chain_matches_the_closed_form_marginal():
    torch.manual_seed(1)
    T, n = 40, 40_000
    model = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=T, schedule="linear").double()
    x0 = torch.tensor([[2.0, -1.0]], dtype=torch.float64).expand(n, 2)
    traj = model.forward_trajectory(x0)
    assert traj.shape == (T + 1, n, 2) and torch.equal(traj[0], x0)
    for t in (5, 20, T - 1):
        ab = model.alphas_cumprod[t].item()
        xt = traj[
            t + 1
        ]  # the state after step t (code index) is x_{t+1} in the paper's indexing
        assert torch.allclose(
            xt.mean(0), math.sqrt(ab) * x0[0], atol=5 * math.sqrt((1 - ab) / n)
        )
        assert torch.allclose(
            xt.var(0),
            torch.full((2,), 1 - ab, dtype=torch.float64),
            atol=5 * (1 - ab) * math.sqrt(2 / n),
        )


# --------------------------------------------------------------------------------------
# the loss


def test_loss_draws_t_uniformly_over_all_steps():
    torch.manual_seed(0)
    T, n = 10, 5000
    den = RecordingDenoiser()
    model = DDPM(den, timesteps=T)
    out = model.loss(torch.randn(n, 2))
    assert isinstance(out, DDPMLoss) and out.total.ndim == 0
    t = torch.cat(den.seen)
    assert t.dtype == torch.int64 and int(t.min()) == 0 and int(t.max()) == T - 1
    counts = torch.bincount(t, minlength=T).double()
    assert counts.shape == (T,)
    # each count is Binomial(n, 1/T): within 5 standard deviations of n/T
    assert bool(((counts - n / T).abs() < 5 * math.sqrt(n / T * (1 - 1 / T))).all())


def test_loss_is_the_epsilon_mse():
    torch.manual_seed(0)
    model = DDPM(MLPDenoiser(2, hidden=(16,)), timesteps=25)
    x0, noise, t = torch.randn(7, 2), torch.randn(7, 2), torch.randint(0, 25, (7,))
    out = model.loss(x0, t=t, noise=noise)
    expected = ((model.denoiser(model.q_sample(x0, t, noise), t) - noise) ** 2).mean()
    assert torch.allclose(out.total, expected)
    # forward is the loss, t and noise drawn alike
    assert torch.equal(
        model(x0, random_state=5).total, model.loss(x0, random_state=5).total
    )
    torch.manual_seed(5)
    via_forward = model(x0).total
    torch.manual_seed(5)
    assert torch.equal(via_forward, model.loss(x0).total)  # None follows the global
    # one generator draws t, then the noise
    g = torch.Generator().manual_seed(11)
    t11 = torch.randint(0, 25, (7,), generator=g)
    noise11 = torch.randn(7, 2, generator=g)
    assert torch.equal(
        model.loss(x0, random_state=11).total,
        model.loss(x0, t=t11, noise=noise11).total,
    )
    out.total.backward()
    assert all(p.grad is not None for p in model.denoiser.parameters())


def test_fit_trains_a_ddpm():
    from statlearn.training import fit

    torch.manual_seed(0)
    x = 0.5 * torch.randn(512, 2) + torch.tensor([1.0, -1.0])
    model = DDPM(MLPDenoiser(2, hidden=(32, 32)), timesteps=20)
    g = torch.Generator().manual_seed(0)
    t, noise = (
        torch.randint(0, 20, (2048,), generator=g),
        torch.randn(2048, 2, generator=g),
    )
    xe = x.repeat(4, 1)
    with torch.no_grad():
        before = model.loss(xe, t=t, noise=noise).total.item()
    history = fit(
        model,
        x,
        objective=lambda m, x: m.loss(x),
        epochs=15,
        batch_size=64,
        lr=3e-3,
        quiet=True,
        random_state=0,
    )
    with torch.no_grad():
        after = model.loss(xe, t=t, noise=noise).total.item()
    assert len(history["loss"]) == 15
    assert after < 0.8 * before


# --------------------------------------------------------------------------------------
# the reverse process


def test_last_reverse_step_adds_no_noise():
    torch.manual_seed(0)
    model = DDPM(MLPDenoiser(2, hidden=(16,)), timesteps=10)
    x = torch.randn(6, 2)
    with torch.no_grad():
        a, b = model.p_sample(x, 0), model.p_sample(x, 0)
        mean, _ = model.p_mean_variance(x, 0)
        c, d = model.p_sample(x, 1), model.p_sample(x, 1)
    assert torch.equal(a, b) and torch.equal(a, mean)
    assert not torch.allclose(c, d)
    # inside a full ancestral run: the final state is the mean of the last step, exactly
    out, traj = model.sample(6, return_trajectory=True)
    assert traj.x.shape == (11, 6, 2) and torch.equal(traj.x[-1], out)
    assert traj.t.tolist() == list(range(9, -2, -1))
    with torch.no_grad():
        last_mean, _ = model.p_mean_variance(traj.x[-2], 0)
    assert torch.equal(out, last_mean)


def test_reverse_mean_matches_ho_et_al_epsilon_form():
    torch.manual_seed(0)
    model = DDPM(MLPDenoiser(2, hidden=(16,)), timesteps=30, schedule="cosine").double()
    x = torch.randn(5, 2, dtype=torch.float64)
    for t in (0, 7, 29):
        tt = torch.full((5,), t)
        with torch.no_grad():
            eps = model.denoiser(x, tt)
            mean, var = model.p_mean_variance(x, t)
        a, ab, beta = model.alphas[t], model.alphas_cumprod[t], model.betas[t]
        ho = (x - beta / (1 - ab).sqrt() * eps) / a.sqrt()
        assert torch.allclose(mean, ho, atol=1e-10)
        assert var.item() == pytest.approx(beta.item())


@pytest.mark.parametrize("variance", ["beta", "posterior"])
def test_ancestral_sampling_with_the_analytic_denoiser_recovers_the_gaussian(variance):
    torch.manual_seed(0)
    T, n, s = 1000, 20_000, 0.5
    m = torch.tensor([1.0, -2.0], dtype=torch.float64)
    model = DDPM(nn.Identity(), timesteps=T, schedule="linear")
    model.denoiser = GaussianEps(model.alphas_cumprod, m, s)
    x = model.sample(n, shape=(2,), dtype=torch.float64, variance=variance)
    assert x.dtype == torch.float64 and x.shape == (n, 2)
    assert torch.allclose(x.mean(0), m, atol=5 * s / math.sqrt(n) + 0.01)
    assert torch.allclose(x.std(0), torch.full((2,), s, dtype=torch.float64), rtol=0.03)
    # and the data's covariance is isotropic: no spurious correlation
    assert abs(torch.corrcoef(x.T)[0, 1].item()) < 0.03


def test_ddim_with_the_analytic_denoiser_recovers_the_gaussian():
    torch.manual_seed(0)
    T, n, s = 1000, 20_000, 0.5
    m = torch.tensor([1.0, -2.0], dtype=torch.float64)
    model = DDPM(nn.Identity(), timesteps=T, schedule="cosine")
    model.denoiser = GaussianEps(model.alphas_cumprod, m, s)
    x, traj = model.sample(
        n, steps=100, shape=(2,), dtype=torch.float64, return_trajectory=True
    )
    assert traj.x.shape == (101, n, 2) and traj.t[-1].item() == -1
    assert torch.allclose(x.mean(0), m, atol=0.02)
    assert torch.allclose(x.std(0), torch.full((2,), s, dtype=torch.float64), rtol=0.03)


def test_ddim_is_deterministic_and_visits_evenly_spaced_steps():
    torch.manual_seed(0)
    den = RecordingDenoiser()
    model = DDPM(den, timesteps=100)
    ts = model.ddim_timesteps(10)
    assert ts[0].item() == 99 and ts[-1].item() == 0 and bool((ts.diff() < 0).all())
    assert torch.equal(model.ddim_timesteps(100), torch.arange(99, -1, -1))
    x_T = torch.randn(4, 2)
    a = model.sample(4, steps=10, x_T=x_T)
    den.seen.clear()
    b = model.sample(4, steps=10, x_T=x_T)
    assert torch.equal(a, b)
    assert [int(t[0]) for t in den.seen] == ts.tolist()
    c = model.sample(4, steps=10, x_T=x_T, eta=1.0)
    assert not torch.allclose(a, c)


def test_denoisers_shapes_and_dtypes():
    torch.manual_seed(0)
    t = torch.randint(0, 50, (5,))
    emb = SinusoidalTimeEmbedding(16)(t)
    assert emb.shape == (5, 16) and bool((emb.abs() <= 1).all())
    mlp = MLPDenoiser(2, hidden=(16, 16))
    assert mlp(torch.randn(5, 2), t).shape == (5, 2)
    flat = MLPDenoiser((1, 8, 8), hidden=(16,))
    assert flat(torch.randn(5, 1, 8, 8), t).shape == (5, 1, 8, 8)
    conv = ConvDenoiser(1, width=16)
    assert conv.data_shape == (1, 8, 8)
    assert conv(torch.randn(5, 1, 8, 8), t).shape == (5, 1, 8, 8)
    assert conv(torch.randn(5, 64), t).shape == (5, 64)
    conv64 = ConvDenoiser(1, width=16).double()
    assert (
        conv64(torch.randn(5, 1, 8, 8, dtype=torch.float64), t).dtype == torch.float64
    )
    # the time input matters: different t, different output
    x = torch.randn(1, 1, 8, 8).expand(2, 1, 8, 8)
    out = conv(x, torch.tensor([0, 40]))
    assert not torch.allclose(out[0], out[1])


def test_sample_shapes_with_the_small_denoisers():
    torch.manual_seed(0)
    model = DDPM(ConvDenoiser(1, width=8), timesteps=8, schedule="cosine")
    x = model.sample(3)
    assert x.shape == (3, 1, 8, 8) and x.dtype == torch.float32
    x, traj = model.sample(3, steps=4, clip=(-1.0, 1.0), return_trajectory=True)
    assert bool((x.abs() <= 1 + 1e-6).all()) and traj.x.shape == (5, 3, 1, 8, 8)
    model.loss(torch.rand(4, 1, 8, 8))
    model64 = DDPM(MLPDenoiser(2, hidden=(8,)).double(), timesteps=5)
    assert model64.sample(2).dtype == torch.float64


@pytest.mark.gpu
def test_cpu_and_cuda_agree():
    torch.manual_seed(0)
    model = DDPM(ConvDenoiser(1, width=16), timesteps=50, schedule="cosine")
    x0, noise, t = (
        torch.rand(8, 1, 8, 8),
        torch.randn(8, 1, 8, 8),
        torch.randint(0, 50, (8,)),
    )
    x_T = torch.randn(8, 1, 8, 8)
    with torch.no_grad():
        cpu_loss = model.loss(x0, t=t, noise=noise).total
        cpu_x = model.sample(8, steps=10, x_T=x_T)
        model.cuda()
        gpu_loss = model.loss(x0.cuda(), t=t.cuda(), noise=noise.cuda()).total
        gpu_x = model.sample(8, steps=10, x_T=x_T.cuda())
    assert gpu_x.device.type == "cuda"
    assert torch.allclose(cpu_loss, gpu_loss.cpu(), rtol=1e-3, atol=1e-5)
    assert torch.allclose(cpu_x, gpu_x.cpu(), rtol=1e-3, atol=1e-3)


# --------------------------------------------------------------------------------------
# issue 15


def test_sample_rejects_an_empty_clip_range():
    """Defect: DDPM.sample(clip=(1, -1)) returned all -1."""
    model = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=10)
    for clip in [(1, -1), (0.5, 0.5)]:
        with pytest.raises(ValueError, match="low < high"):
            model.sample(3, clip=clip)
        with pytest.raises(ValueError, match="low < high"):
            model.sample(3, steps=2, clip=clip)
    assert model.sample(3, clip=(-1, 1)).shape == (3, 2)


def test_sample_rejects_a_wrongly_shaped_x_T():
    """Defect: DDPM.sample with a wrongly shaped x_T failed deep inside a matmul."""
    model = DDPM(MLPDenoiser(64, hidden=(8,)), timesteps=10)
    with pytest.raises(
        ValueError, match=r"x_T must have shape \(n_samples, \*shape\) = \(3, 64\)"
    ):
        model.sample(3, x_T=torch.zeros(3, 5))
    with pytest.raises(ValueError, match="x_T must have shape"):
        model.sample(3, x_T=torch.zeros(64))
    assert model.sample(3, x_T=torch.zeros(3, 1, 8, 8)).shape == (3, 1, 8, 8)


def test_state_dict_carries_the_schedule_and_a_mismatch_is_an_error():
    """Defect: DDPM.state_dict() omitted the schedule and T, so a T = 50 linear
    checkpoint loaded into a T = 1000 cosine model with "All keys matched"."""
    import io

    torch.manual_seed(0)
    saved = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=50, schedule="linear")
    buffer = io.BytesIO()
    torch.save(saved.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer)
    same = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=50, schedule="linear")
    same.load_state_dict(state)
    x = torch.randn(4, 2)
    t = torch.tensor([0, 10, 20, 49])
    assert torch.equal(same.denoiser(x, t), saved.denoiser(x, t))
    for other in (
        DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=1000, schedule="cosine"),
        DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=50, schedule="cosine"),
    ):
        with pytest.raises(ValueError, match="timesteps=50 with the 'linear' schedule"):
            other.load_state_dict(state)


def test_numpy_time_steps_and_float64_data():
    """Defect: q_sample rejected an np.int64 t; float64 data crashed DDPM.loss on a
    float32 model.
    """
    import numpy as np

    model = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=10)
    x0 = np.random.default_rng(0).normal(size=(4, 2))  # float64
    assert model.q_sample(x0, np.int64(3)).dtype == torch.float32
    assert model.q_sample(x0, np.array([0, 1, 2, 9])).shape == (4, 2)
    assert torch.isfinite(model.loss(torch.from_numpy(x0)).total)
    assert model.predict_x0(x0, 5).dtype == torch.float32


# --------------------------------------------------------------------------------------
# one set of conventions: random_state, noise, units, validate once


def test_fit_with_a_random_state_repeats_a_whole_ddpm_run():
    """The loss's draws of t and noise follow fit's random_state, whatever the global
    random state was before the run."""
    from statlearn.training import fit

    x = 0.5 * torch.randn(64, 2, generator=torch.Generator().manual_seed(0))

    def run(outer, random_state):
        torch.manual_seed(0)  # the initialisation is the caller's
        model = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=10)
        torch.manual_seed(outer)  # must not matter
        hist = fit(
            model,
            x,
            objective=lambda m, x: m.loss(x),
            epochs=2,
            batch_size=16,
            quiet=True,
            random_state=random_state,
        )
        assert hist.units == "squared error"
        return {
            k: v.clone() for k, v in model.state_dict().items() if k != "_extra_state"
        }

    a, b, c = run(1, 0), run(2, 0), run(1, 1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def _ddpm_draws(name):
    torch.manual_seed(0)
    model = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=6)
    x = torch.randn(5, 2)
    return {
        "q_sample": lambda rs: model.q_sample(x, 3, random_state=rs),
        "forward_trajectory": lambda rs: model.forward_trajectory(x, random_state=rs),
        "loss": lambda rs: model.loss(x, random_state=rs).total,
        "forward": lambda rs: model(x, random_state=rs).total,
        "p_sample": lambda rs: model.p_sample(x, 4, random_state=rs),
        "sample": lambda rs: model.sample(4, random_state=rs),
        "sample_ddim": lambda rs: model.sample(4, random_state=rs, steps=3, eta=1.0),
    }[name]


@pytest.mark.parametrize(
    "name",
    [
        "q_sample",
        "forward_trajectory",
        "loss",
        "forward",
        "p_sample",
        "sample",
        "sample_ddim",
    ],
)
def test_random_state_accepts_every_kind_and_repeats(name):
    import numpy as np

    draw = _ddpm_draws(name)
    with torch.no_grad():
        same = [draw(7), draw(torch.Generator().manual_seed(7)), draw(np.int64(7))]
        assert all(torch.equal(same[0], s) for s in same[1:])
        assert not torch.equal(draw(7), draw(8))
        for rs in (None, np.random.default_rng(0), np.random.RandomState(0)):
            assert draw(rs).shape == same[0].shape
        g = torch.Generator().manual_seed(7)
        assert not torch.equal(draw(g), draw(g))
        torch.manual_seed(3)
        first = draw(None)
        torch.manual_seed(3)
        assert torch.equal(first, draw(None))
        with pytest.raises(TypeError, match="random_state"):
            draw("seven")


def test_public_api_calls_the_noise_noise_and_samples_n_samples():
    """Rule 1 and 4: `noise` (never `eps`), `random_state` (never `generator` or
    `seed`), `sample(n_samples=1, *, random_state=None, ...)`."""
    import inspect

    from statlearn.latent import diffusion as module

    for name in module.__all__:
        obj = getattr(module, name)
        members = [obj]
        if inspect.isclass(obj):
            members = [
                m
                for n, m in vars(obj).items()
                if callable(m) and (not n.startswith("_") or n == "__init__")
            ]
        for member in members:
            params = set(inspect.signature(member).parameters)
            assert not params & {"generator", "seed", "eps", "n"}, (name, params)
    assert "noise" in inspect.signature(DDPM.predict_x0).parameters
    sig = inspect.signature(DDPM.sample)
    assert list(sig.parameters)[:3] == ["self", "n_samples", "random_state"]
    assert sig.parameters["n_samples"].default == 1
    assert sig.parameters["random_state"].kind is inspect.Parameter.KEYWORD_ONLY
    others = list(sig.parameters.values())[3:]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in others)
    model = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=5)
    assert model.sample().shape == (1, 2)


def test_predict_x0_inverts_q_sample_with_the_given_noise():
    torch.manual_seed(0)
    model = DDPM(MLPDenoiser(3, hidden=(8,)), timesteps=20).double()
    x0, noise = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3)
    t = torch.tensor([0, 5, 10, 19])
    x_t = model.q_sample(x0, t, noise)
    assert torch.allclose(model.predict_x0(x_t, t, noise=noise), x0, atol=1e-8)
    with pytest.raises(ValueError, match="noise must have"):
        model.predict_x0(x_t, t, noise=torch.randn(4, 2))


def test_ddpm_loss_declares_its_units():
    assert DDPMLoss.units == "squared error"  # a mean squared error, not nats
    assert DDPMLoss._fields == ("total",)


def _count_isfinite(monkeypatch):
    calls = []
    real = torch.isfinite

    def counting(t):
        calls.append(1)
        return real(t)

    monkeypatch.setattr(torch, "isfinite", counting)
    return calls


def test_each_public_call_checks_its_input_once(monkeypatch):
    """Rule 3: the loss, a reverse step and a whole sampling run check each tensor
    input once (the loss with a given noise checks x0 and the noise; in training the
    noise is drawn); the per-step cores do not."""
    torch.manual_seed(0)
    model = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=10)
    x = torch.randn(6, 2)
    calls = _count_isfinite(monkeypatch)
    with torch.no_grad():
        for call, checks in (
            (lambda: model.loss(x), 1),
            (lambda: model.loss(x, t=3, noise=torch.randn(6, 2)), 2),
            (lambda: model.p_sample(x, 3), 1),
            (lambda: model.sample(6, x_T=x), 1),
            (lambda: model.sample(6, x_T=x, steps=4, eta=1.0), 1),
        ):
            calls.clear()
            call()
            assert len(calls) == checks
        calls.clear()
        model.sample(6)  # nothing to check: x_T is drawn
        assert len(calls) == 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_any_random_state_with_cuda_data():
    """A CPU generator, an int or a NumPy generator drive the draws on the GPU; an int
    gives what a CUDA generator seeded with it gives."""
    import numpy as np

    torch.manual_seed(0)
    model = DDPM(MLPDenoiser(2, hidden=(8,)), timesteps=10).cuda()
    x = torch.randn(6, 2, device="cuda")
    with torch.no_grad():
        for rs in (
            0,
            np.random.default_rng(0),
            torch.Generator().manual_seed(0),
            torch.Generator("cuda").manual_seed(0),
            None,
        ):
            assert model.loss(x, random_state=rs).total.device.type == "cuda"
            assert model.sample(3, random_state=rs).device.type == "cuda"
            assert model.forward_trajectory(x, random_state=rs).device.type == "cuda"
        a = model.sample(3, random_state=5)
        b = model.sample(3, random_state=torch.Generator("cuda").manual_seed(5))
        assert torch.equal(a, b)
        c = model.p_sample(x, 4, random_state=torch.Generator().manual_seed(2))
        d = model.p_sample(x, 4, random_state=torch.Generator().manual_seed(2))
        assert torch.equal(c, d)
