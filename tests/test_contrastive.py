"""Tests for statlearn.info.contrastive: SimCLR, the von Mises-Fisher pieces and
C-SimCLR (chapter 9).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from scipy import integrate, special
from torch.nn import functional as F

from statlearn.info.contrastive import (
    Augment,
    ContrastiveLoss,
    ContrastiveNet,
    csimclr_loss,
    gaussian_noise,
    nt_xent,
    random_erase,
    random_shift,
    residual_information,
    simclr_nt_xent,
    vmf_kl,
    vmf_log_normalizer,
    vmf_log_prob,
    vmf_mean_resultant_length,
    vmf_sample,
)
from statlearn.info.estimators import infonce
from statlearn.training import fit

LN2 = math.log(2.0)


def unit(n, d, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g, dtype=dtype), dim=1)


# --- the von Mises-Fisher distribution ------------------------------------------------


@pytest.mark.parametrize("kappa", [0.5, 4.0, 30.0])
def test_vmf_density_integrates_to_one_on_the_sphere_d3(kappa):
    mu = unit(1, 3, seed=1)
    theta = torch.linspace(0, math.pi, 801, dtype=torch.float64)
    phi = torch.linspace(0, 2 * math.pi, 1601, dtype=torch.float64)
    t, p = torch.meshgrid(theta, phi, indexing="ij")
    z = torch.stack([t.sin() * p.cos(), t.sin() * p.sin(), t.cos()], dim=-1).reshape(
        -1, 3
    )
    dens = vmf_log_prob(z, mu, kappa).exp().reshape(t.shape) * t.sin()
    total = torch.trapezoid(torch.trapezoid(dens, phi, dim=1), theta)
    assert float(total) == pytest.approx(1.0, abs=2e-4)


@pytest.mark.parametrize("kappa", [0.1, 3.0, 200.0])
def test_log_normalizer_d3_closed_form(kappa):
    # C_3(kappa) = kappa / (4 pi sinh kappa), written stably for large kappa
    expected = (
        math.log(kappa)
        - math.log(2 * math.pi)
        - kappa
        - math.log1p(-math.exp(-2 * kappa))
    )
    assert vmf_log_normalizer(kappa, 3) == pytest.approx(expected, rel=1e-10)


def test_log_normalizer_integrates_in_d16():
    # the density of w = mu^T z is C_d(k) |S^(d-2)| e^(k w) (1 - w^2)^((d-3)/2)
    d, kappa = 16, 10.0
    area = 2 * math.pi ** ((d - 1) / 2) / math.gamma((d - 1) / 2)
    log_c = vmf_log_normalizer(kappa, d)
    total, _ = integrate.quad(
        lambda w: math.exp(log_c + kappa * w) * area * (1 - w * w) ** ((d - 3) / 2),
        -1,
        1,
    )
    assert total == pytest.approx(1.0, rel=1e-8)


@pytest.mark.parametrize("dim,kappa", [(3, 2.0), (16, 10.0), (16, 256.0), (5, 0.3)])
def test_sampler_mean_resultant_length_matches_bessel_ratio(dim, kappa):
    n = 20000
    mu = unit(n, dim, seed=2).repeat(1, 1)
    z = vmf_sample(mu, kappa, random_state=0)
    assert z.shape == (n, dim)
    assert torch.allclose(z.norm(dim=1), torch.ones(n, dtype=z.dtype), atol=1e-10)
    cos = (z * mu).sum(1)
    a = special.iv(dim / 2, kappa) / special.iv(dim / 2 - 1, kappa)
    assert vmf_mean_resultant_length(kappa, dim) == pytest.approx(a, rel=1e-10)
    se = float(cos.std()) / math.sqrt(n)
    assert abs(float(cos.mean()) - a) < 4 * se + 1e-12


def test_sampler_is_symmetric_about_the_mean_and_seeded():
    mu = unit(1, 4, seed=3).expand(20000, 4)
    z = vmf_sample(mu, 5.0, random_state=1)
    a = vmf_mean_resultant_length(5.0, 4)
    # E[z] = A_d(kappa) mu: the part orthogonal to mu averages out
    assert torch.allclose(z.mean(0), a * mu[0], atol=0.02)
    assert torch.equal(z, vmf_sample(mu, 5.0, random_state=1))
    assert not torch.equal(z, vmf_sample(mu, 5.0, random_state=2))


def test_sampler_is_reparameterised_in_mu():
    raw = torch.randn(8, 6, dtype=torch.float64, requires_grad=True)
    z = vmf_sample(raw, 20.0, random_state=0)
    (z[:, 0].sum()).backward()
    assert raw.grad is not None and torch.isfinite(raw.grad).all()
    assert raw.grad.abs().sum() > 0
    # the same noise, moved with mu: a finite-difference check of dz/dmu
    eps = 1e-6
    bumped = raw.detach().clone()
    bumped[0, 1] += eps
    z1 = vmf_sample(bumped, 20.0, random_state=0)
    fd = (z1[:, 0].sum() - z.detach()[:, 0].sum()) / eps
    assert float(fd) == pytest.approx(float(raw.grad[0, 1]), rel=1e-4, abs=1e-6)


def test_sampler_keeps_dtype_and_handles_mu_at_e1():
    mu = torch.zeros(3, 4)
    mu[:, 0] = 1.0  # the Householder reflection degenerates: identity
    z = vmf_sample(mu, 50.0, random_state=0)
    assert z.dtype == torch.float32
    assert torch.isfinite(z).all()
    assert float((z[:, 0]).min()) > 0.5


def test_kl_closed_form_matches_monte_carlo_and_floor():
    d, ke, kb = 16, 256.0, 10.0
    mu_e = unit(4000, d, seed=4)
    mu_b = F.normalize(mu_e + 0.3 * unit(4000, d, seed=5), dim=1)
    z = vmf_sample(mu_e, ke, random_state=3)
    mc = residual_information(z, mu_e, mu_b, ke, kb)
    exact = vmf_kl(mu_e, ke, mu_b, kb).mean()
    per_sample = (vmf_log_prob(z, mu_e, ke) - vmf_log_prob(z, mu_b, kb)) / LN2
    se = float(per_sample.std()) / math.sqrt(len(z))
    assert abs(float(mc) - float(exact)) < 4 * se
    # with identical means the KL is the floor log C(ke) - log C(kb) + A(ke)(ke - kb)
    floor_nats = (
        vmf_log_normalizer(ke, d)
        - vmf_log_normalizer(kb, d)
        + vmf_mean_resultant_length(ke, d) * (ke - kb)
    )
    at_floor = vmf_kl(mu_e, ke, mu_e, kb)
    assert torch.allclose(at_floor, torch.full_like(at_floor, floor_nats / LN2))
    assert bool((vmf_kl(mu_e, ke, mu_b, kb) > at_floor).all())
    assert floor_nats == pytest.approx(14.84, abs=0.01)  # the chapter's number


def test_residual_information_of_identical_encoders_is_zero():
    mu = unit(50, 8, seed=6)
    z = vmf_sample(mu, 7.0, random_state=0)
    r = residual_information(z, mu, mu, 7.0, 7.0)
    assert float(r) == pytest.approx(0.0, abs=1e-10)
    # and it is the log-density difference in bits
    other = unit(50, 8, seed=7)
    r2 = residual_information(z, mu, other, 7.0, 3.0)
    by_hand = (vmf_log_prob(z, mu, 7.0) - vmf_log_prob(z, other, 3.0)).mean() / LN2
    assert float(r2) == pytest.approx(float(by_hand), rel=1e-12)


# --- losses ---------------------------------------------------------------------------


def test_nt_xent_equals_a_direct_cross_entropy():
    b = 5
    s = torch.randn(2 * b, 2 * b, generator=torch.Generator().manual_seed(0))
    logits = s.clone()
    logits.fill_diagonal_(-1e9)
    targets = torch.cat([torch.arange(b, 2 * b), torch.arange(b)])
    expected = F.cross_entropy(logits, targets) / LN2
    assert float(nt_xent(s)) == pytest.approx(float(expected), rel=1e-6)


def test_simclr_loss_is_cosine_nt_xent_with_temperature():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    for tau in (0.1, 0.5):
        logits = (z @ z.T / tau).fill_diagonal_(float("-inf"))
        targets = torch.cat([torch.arange(6, 12), torch.arange(6)])
        expected = F.cross_entropy(logits, targets) / LN2
        assert float(simclr_nt_xent(z1, z2, tau)) == pytest.approx(
            float(expected), 1e-6
        )
    # scaling the embeddings changes nothing (cosine similarity)
    assert float(simclr_nt_xent(3 * z1, z2, 0.1)) == pytest.approx(
        float(simclr_nt_xent(z1, z2, 0.1)), rel=1e-6
    )


def test_nt_xent_with_one_negative_per_view_is_infonce():
    # B = 1: each anchor has one candidate, its positive; InfoNCE on a 1-column matrix
    # is log 1 = 0, and so is NT-Xent
    assert float(nt_xent(torch.randn(2, 2))) == pytest.approx(0.0, abs=1e-7)
    # infonce is unchanged by the shared core
    s = torch.randn(7, 7, generator=torch.Generator().manual_seed(2))
    direct = (s.diagonal() - s.logsumexp(dim=1)).mean() + math.log(7)
    assert float(infonce(s)) == pytest.approx(float(direct) / LN2, rel=1e-6)


def test_simclr_loss_is_differentiable_and_accepts_numpy():
    z1 = torch.randn(4, 3, requires_grad=True)
    loss = simclr_nt_xent(z1, np.random.default_rng(0).normal(size=(4, 3)), 0.2)
    loss.backward()
    assert torch.isfinite(z1.grad).all()


# --- augmentations --------------------------------------------------------------------


def digits_like(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 8, 8)
    x[:, :, 2:6, 2:6] = torch.rand(n, 1, 4, 4, generator=g)
    return x


def test_random_shift_moves_content_by_at_most_max_shift():
    x = digits_like()
    out = random_shift(x, 1, random_state=0)
    assert out.shape == x.shape
    # content away from the border: nothing is lost, only moved
    assert torch.allclose(out.sum((1, 2, 3)), x.sum((1, 2, 3)))
    for i in range(len(x)):
        hits = [
            (dy, dx)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if torch.equal(out[i], torch.roll(x[i], (dy, dx), (1, 2)))
        ]
        assert hits
    shifts = {
        tuple(torch.nonzero(random_shift(x, 2, random_state=s)[0, 0])[0].tolist())
        for s in range(30)
    }
    assert len(shifts) > 5
    assert torch.equal(random_shift(x, 0), x)
    assert torch.equal(
        random_shift(x, 1, random_state=3), random_shift(x, 1, random_state=3)
    )


def test_random_erase_zeroes_a_square():
    x = torch.ones(20, 1, 8, 8)
    out = random_erase(x, 3, 1.0, random_state=0)
    assert torch.all((1 - out).sum((1, 2, 3)) == 9)
    assert torch.equal(random_erase(x, 3, 0.0, random_state=0), x)
    half = random_erase(torch.ones(400, 1, 8, 8), 3, 0.5, random_state=1)
    frac = float(((1 - half).sum((1, 2, 3)) > 0).float().mean())
    assert 0.4 < frac < 0.6


def test_gaussian_noise_stays_in_pixel_space():
    x = torch.full((100, 64), 0.5)
    out = gaussian_noise(x, 0.1, random_state=0)
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert float((out - x).std()) == pytest.approx(0.1, rel=0.05)
    raw = gaussian_noise(torch.zeros(100, 64), 0.3, clip=False, random_state=0)
    assert float(raw.min()) < 0


def test_augment_flat_and_image_inputs():
    aug = Augment(max_shift=1, erase_size=3, erase_p=0.5, noise_sigma=0.1)
    x = digits_like(10)
    flat = aug(x.reshape(10, 64), random_state=5)
    img = aug(x, random_state=5)
    assert flat.shape == (10, 64) and img.shape == x.shape
    assert torch.equal(flat.reshape(10, 1, 8, 8), img)
    assert not torch.equal(aug(x, random_state=5), aug(x, random_state=6))
    assert "max_shift=1" in repr(aug)
    identity = Augment(max_shift=0, erase_p=0.0, noise_sigma=0.0)
    assert torch.equal(identity(x), x)


# --- the C-SimCLR loss ----------------------------------------------------------------


def small_net(seed=0, **kw):
    torch.manual_seed(seed)
    return ContrastiveNet(64, hidden=(32,), rep_dim=16, head_hidden=(16,), latent_dim=4)


def test_contrastive_net_shapes():
    net = small_net()
    x = digits_like(5).reshape(5, 64)
    assert net.represent(x).shape == (5, 16)
    mu = net(x)
    assert mu.shape == (5, 4)
    assert torch.allclose(mu.norm(dim=1), torch.ones(5), atol=1e-6)


def test_csimclr_without_sampling_is_simclr_on_the_same_views():
    net, aug = small_net(), Augment()
    x = digits_like(8).reshape(8, 64)
    out = csimclr_loss(net, x, augment=aug, sample=False, kappa_b=10.0, random_state=0)
    g = torch.Generator().manual_seed(0)
    v1, v2 = aug(x, random_state=g), aug(x, random_state=g)
    expected = simclr_nt_xent(net(v1), net(v2), temperature=0.1)
    assert isinstance(out, ContrastiveLoss)
    assert out.contrastive.item() == pytest.approx(expected.item(), rel=1e-6)
    assert out.total.item() == pytest.approx(out.contrastive.item())
    assert out.residual.item() > 0


def test_csimclr_total_and_terms():
    net, aug = small_net(), Augment()
    x = digits_like(8).reshape(8, 64)
    out = csimclr_loss(net, x, augment=aug, beta=0.5, random_state=0)
    assert out.total.item() == pytest.approx(
        (out.contrastive + 0.5 * out.residual).item(), rel=1e-6
    )
    out.total.backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # the residual is at least the floor of the two concentrations (in expectation;
    # with 16 samples, allow the Monte Carlo error)
    floor = float(vmf_kl(torch.eye(4)[:1], 256.0, torch.eye(4)[:1], 10.0))
    assert out.residual.item() > floor - 0.5


def test_fit_trains_with_the_loss_drawing_its_views():
    net, aug = small_net(), Augment()
    x = torch.rand(64, 64)
    objective = functools.partial(csimclr_loss, augment=aug, beta=0.1)
    history = fit(
        net, x, objective=objective, epochs=3, batch_size=32, quiet=True, random_state=0
    )
    assert set(history) >= {"loss", "contrastive", "residual"}
    assert len(history["residual"]) == 3


def test_one_random_state_repeats_a_whole_csimclr_run():
    """fit(random_state=...) fixes the shuffle, the views and the vMF samples: the
    global generator is moved before each run and does not matter."""
    x = digits_like(32).reshape(32, 64)
    objective = functools.partial(csimclr_loss, augment=Augment(), beta=0.1)
    runs = []
    for run, state in enumerate((0, 0, 1)):
        net = small_net()
        torch.manual_seed(100 + run)  # a different global state before each run
        history = fit(
            net,
            x,
            objective=objective,
            epochs=2,
            batch_size=8,
            quiet=True,
            random_state=state,
        )
        runs.append(([p.detach().clone() for p in net.parameters()], history))
    (w0, h0), (w1, h1), (w2, _) = runs
    assert all(torch.equal(a, b) for a, b in zip(w0, w1))
    assert h0["loss"] == h1["loss"]
    assert any(not torch.equal(a, b) for a, b in zip(w0, w2))


def test_the_loss_declares_bits():
    assert ContrastiveLoss.units == "bits"
    assert "units" not in ContrastiveLoss._fields
    assert ContrastiveLoss._fields[0] == "total"


@pytest.mark.parametrize(
    "kw", [dict(beta=0.5), dict(beta=0.0), dict(sample=False, kappa_b=5.0)]
)
def test_one_csimclr_loss_call_checks_its_batch_once(monkeypatch, kw):
    net, aug = small_net(), Augment()
    x = digits_like(8).reshape(8, 64)
    calls = []
    original = torch.isfinite

    def counting(t):
        calls.append(tuple(t.shape))
        return original(t)

    monkeypatch.setattr(torch, "isfinite", counting)
    out = csimclr_loss(net, x, augment=aug, random_state=0, **kw)
    assert len(calls) <= 1, calls
    monkeypatch.setattr(torch, "isfinite", original)
    assert torch.isfinite(out.total)


def test_a_callable_augmentation_gets_the_loss_generator():
    seen = []

    def flip(x, *, random_state):
        seen.append(random_state)
        return x.flip(1)

    net = small_net()
    out = csimclr_loss(net, torch.rand(4, 64), augment=flip, random_state=0)
    assert len(seen) == 2 and all(isinstance(g, torch.Generator) for g in seen)
    assert seen[0] is seen[1]
    assert torch.isfinite(out.total)


# --- errors ---------------------------------------------------------------------------


def test_value_errors():
    x = digits_like(4)
    with pytest.raises(ValueError, match="4-D"):
        random_shift(x.reshape(4, 64))
    with pytest.raises(ValueError, match="max_shift"):
        random_shift(x, -1)
    with pytest.raises(ValueError, match="size"):
        random_erase(x, 9)
    with pytest.raises(ValueError, match="p must"):
        random_erase(x, 3, 1.5)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_noise(x, -0.1)
    with pytest.raises(ValueError, match="image_shape"):
        Augment(image_shape=(8, 8))
    with pytest.raises(ValueError, match="C\\*H\\*W"):
        Augment()(torch.rand(3, 60))
    with pytest.raises(ValueError, match="x must be"):
        Augment()(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="kappa"):
        vmf_log_normalizer(0.0, 3)
    with pytest.raises(ValueError, match="dim"):
        vmf_mean_resultant_length(1.0, 1)
    with pytest.raises(ValueError, match="mu must"):
        vmf_log_prob(torch.rand(3, 4), torch.rand(2, 4), 1.0)
    with pytest.raises(ValueError, match="d >= 2"):
        vmf_sample(torch.rand(3, 1), 1.0)
    with pytest.raises(ValueError, match="kappa"):
        vmf_sample(torch.rand(3, 3), -1.0)
    with pytest.raises(ValueError, match="same shape"):
        vmf_kl(torch.rand(3, 4), 1.0, torch.rand(2, 4), 1.0)
    with pytest.raises(ValueError, match="2B, 2B"):
        nt_xent(torch.rand(3, 3))
    with pytest.raises(ValueError, match="2B, 2B"):
        nt_xent(torch.rand(4, 2))
    with pytest.raises(ValueError, match="same shape"):
        simclr_nt_xent(torch.rand(3, 4), torch.rand(4, 4))
    with pytest.raises(ValueError, match="temperature"):
        simclr_nt_xent(torch.rand(3, 4), torch.rand(3, 4), 0.0)
    with pytest.raises(ValueError, match="mu_b must"):
        residual_information(torch.rand(3, 4), torch.rand(3, 4), torch.rand(2, 4), 1, 1)
    with pytest.raises(ValueError, match="kappa_b"):
        residual_information(torch.rand(3, 4), torch.rand(3, 4), torch.rand(3, 4), 1, 0)
    with pytest.raises(ValueError, match="latent_dim"):
        ContrastiveNet(64, latent_dim=1)
    net, aug, flat = small_net(), Augment(), x.reshape(4, 64)
    with pytest.raises(ValueError, match="beta"):
        csimclr_loss(net, flat, augment=aug, beta=-1.0)
    with pytest.raises(ValueError, match="sample=True"):
        csimclr_loss(net, flat, augment=aug, beta=0.1, sample=False)
    with pytest.raises(ValueError, match="kappa_e"):
        csimclr_loss(net, flat, augment=aug, kappa_e=0.0)
    with pytest.raises(ValueError, match="2B"):
        csimclr_loss(torch.nn.Sequential(torch.nn.Flatten(0)), flat, augment=aug)
    with pytest.raises(TypeError, match="augment"):
        csimclr_loss(net, flat, augment=None)


@pytest.mark.gpu
def test_cuda_draws_on_the_device_and_matches_cpu():
    mu = unit(2000, 16, seed=8, dtype=torch.float32)
    gpu = vmf_sample(mu.cuda(), 256.0, random_state=0)
    assert gpu.device.type == "cuda"
    assert torch.equal(gpu, vmf_sample(mu.cuda(), 256.0, random_state=0))
    assert torch.allclose(gpu.norm(dim=1), torch.ones(2000, device="cuda"), atol=1e-5)
    w = (gpu * mu.cuda()).sum(1).mean().item()  # E[mu^T z] = A_d(kappa)
    assert w == pytest.approx(vmf_mean_resultant_length(256.0, 16), abs=2e-3)
    # without random draws (identity views, SimCLR) the loss agrees with the CPU's
    net = small_net()
    x = digits_like(8).reshape(8, 64)
    identity = Augment(max_shift=0, erase_p=0.0, noise_sigma=0.0)
    kw = dict(augment=identity, sample=False, random_state=0)
    a = csimclr_loss(net, x, **kw)
    b = csimclr_loss(net.cuda(), x.cuda(), **kw)
    assert float(b.contrastive) == pytest.approx(float(a.contrastive), rel=1e-4)
    # with draws: finite, on the device, and repeated by one random_state
    c = csimclr_loss(net, x.cuda(), augment=Augment(), beta=0.3, random_state=0)
    d = csimclr_loss(net, x.cuda(), augment=Augment(), beta=0.3, random_state=0)
    assert c.total.device.type == "cuda" and torch.isfinite(c.total)
    assert torch.equal(c.total, d.total)


@pytest.mark.gpu
def test_cuda_fit_repeats_with_one_random_state():
    x = digits_like(32).reshape(32, 64).cuda()
    objective = functools.partial(csimclr_loss, augment=Augment(), beta=0.1)
    runs = []
    for run in range(2):
        net = small_net().cuda()
        torch.manual_seed(100 + run)
        fit(
            net,
            x,
            objective=objective,
            epochs=2,
            batch_size=8,
            quiet=True,
            random_state=0,
        )
        runs.append([p.detach().clone() for p in net.parameters()])
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(*runs))


# --- bad input: off the sphere, zero means, pixels outside [0, 1], non-unit models ---


def test_vmf_rejects_points_off_the_sphere():
    eye = torch.eye(3)
    with pytest.raises(
        ValueError, match=r"z must lie on the unit sphere.*norms in \[5, 5\]"
    ):
        vmf_log_prob(5 * eye, eye, 10.0)
    with pytest.raises(ValueError, match="z must lie on the unit sphere"):
        residual_information(5 * eye, eye, eye, 10.0, 3.0)
    # on the sphere: the closed form of d = 3, log(κ / (4π sinh κ)) + κ at z = μ
    expected = math.log(10 / (4 * math.pi * math.sinh(10))) + 10
    assert torch.allclose(vmf_log_prob(eye, eye, 10.0), torch.full((3,), expected))
    # float32 unit vectors cast to float64 are on the sphere (within 1e-6)
    z = F.normalize(torch.randn(50, 64, generator=torch.Generator().manual_seed(0)))
    assert torch.isfinite(vmf_log_prob(z.double(), z.double(), 5.0)).all()
    with pytest.raises(ValueError, match="unit sphere"):
        vmf_log_prob(z.double() * (1 + 1e-5), z.double(), 5.0)


def test_vmf_rejects_zero_mean_directions():
    eye, zero = torch.eye(3), torch.zeros(1, 3)
    with pytest.raises(ValueError, match="mu must hold mean directions"):
        vmf_log_prob(eye, zero, 1.0)
    with pytest.raises(ValueError, match="mu must hold mean directions.*row 3 is zero"):
        vmf_sample(torch.cat([eye, zero]), 1.0, random_state=0)
    with pytest.raises(ValueError, match="mu_e must hold mean directions"):
        vmf_kl(zero, 1.0, eye[:1], 1.0)
    with pytest.raises(ValueError, match="mu_b must hold mean directions"):
        vmf_kl(eye[:1], 1.0, zero, 1.0)
    with pytest.raises(ValueError, match="mu_b must hold mean directions"):
        residual_information(eye, eye, torch.cat([eye[:2], zero]), 1.0, 1.0)
    # a tiny but nonzero mean is a direction
    z = vmf_sample(1e-20 * eye, 50.0, random_state=0)
    assert torch.allclose(z.norm(dim=1), torch.ones(3))
    assert float((z * eye).sum(1).min()) > 0.5
    # the KL names its concentrations
    with pytest.raises(ValueError, match="kappa_e"):
        vmf_kl(eye, 0.0, eye, 1.0)
    with pytest.raises(ValueError, match="kappa_b"):
        vmf_kl(eye, 1.0, eye, -1.0)


def test_augmentations_reject_pixels_outside_the_unit_interval():
    x = digits_like(4)
    raw = 16 * x  # the digits before scaling: 0..16
    aug = Augment()
    with pytest.raises(
        ValueError, match=r"x must lie in \[0, 1\].*got values in \[0, 15"
    ):
        aug(raw, random_state=0)
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        aug(raw.reshape(4, 64), random_state=0)
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        gaussian_noise(raw, 0.1, random_state=0)
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        gaussian_noise(x - 0.5, 0.1, random_state=0)
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="x must not contain NaN"):
        aug(bad)
    with pytest.raises(ValueError, match="x must not contain NaN"):
        gaussian_noise(bad, 0.1)
    # without clipping any finite values are fine: the noise is only added
    out = gaussian_noise(raw, 0.1, clip=False, random_state=0)
    assert float((out - raw).abs().max()) < 1.0 and float(out.max()) > 1
    assert aug(x, random_state=0).shape == x.shape


def test_csimclr_loss_rejects_pixels_outside_the_unit_interval():
    net, aug = small_net(), Augment()
    x = digits_like(8).reshape(8, 64)
    with pytest.raises(
        ValueError, match=r"x must lie in \[0, 1\].*got values in \[0, 15"
    ):
        csimclr_loss(net, 16 * x, augment=aug, random_state=0)
    bad = x.clone()
    bad[3, 5] = float("inf")
    with pytest.raises(ValueError, match="x must not contain NaN or infinite"):
        csimclr_loss(net, bad, augment=aug, random_state=0)

    # a callable augmentation defines its own input space: finite values suffice
    def jitter(x, *, random_state):
        return x + 0.01 * torch.randn(x.shape, generator=random_state)

    out = csimclr_loss(net, 16 * x, augment=jitter, random_state=0)
    assert torch.isfinite(out.total)
    with pytest.raises(ValueError, match="x must not contain NaN or infinite"):
        csimclr_loss(net, bad, augment=jitter, random_state=0)


class _Scaled(torch.nn.Module):
    def __init__(self, net, scale):
        super().__init__()
        self.net, self.scale = net, scale

    def forward(self, x):
        return self.scale * self.net(x)


def test_csimclr_loss_requires_the_model_to_map_to_the_sphere():
    from statlearn.nets import mlp

    net, aug = small_net(), Augment()
    x = digits_like(8).reshape(8, 64)
    with pytest.raises(
        ValueError, match=r"unit sphere.*ContrastiveNet.*norms in \[3, 3\]"
    ):
        csimclr_loss(_Scaled(net, 3.0), x, augment=aug, random_state=0)
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="must map each input to the unit sphere"):
        csimclr_loss(mlp(64, 4, (16,)), x, augment=aug, random_state=0)
    # a wrapper that keeps unit rows is fine, and equals the network itself
    same = csimclr_loss(_Scaled(net, 1.0), x, augment=aug, random_state=0)
    assert torch.equal(
        same.total, csimclr_loss(net, x, augment=aug, random_state=0).total
    )
    # a diverged network (NaN weights) is a floating-point error, not bad input
    with torch.no_grad():
        net.head[1][-1].weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="NaN"):
        csimclr_loss(net, x, augment=aug, random_state=0)


@pytest.mark.parametrize("kw", [dict(beta=0.5), dict(sample=False)])
def test_one_csimclr_loss_call_reads_the_host_once(monkeypatch, kw):
    """The range, finiteness and unit-norm checks share one host read (a GPU waits
    once per step)."""
    net, aug = small_net(), Augment()
    x = digits_like(8).reshape(8, 64)
    reads = []
    for method in ("tolist", "item", "__bool__", "__float__", "__int__", "__index__"):
        original = getattr(torch.Tensor, method)

        def counting(self, *a, _original=original, _name=method, **k):
            reads.append(_name)
            return _original(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, method, counting)
    csimclr_loss(net, x, augment=aug, random_state=0, **kw)
    monkeypatch.undo()
    assert reads == ["tolist"], reads


def test_csimclr_loss_at_a_large_latent_dimension():
    # d = 512 with the default κ_b = 10: the Bessel function I_255(10) underflows
    torch.manual_seed(0)
    net = ContrastiveNet(
        64, hidden=(32,), rep_dim=16, head_hidden=(16,), latent_dim=512
    )
    out = csimclr_loss(net, digits_like(8).reshape(8, 64), augment=Augment(), beta=0.1)
    assert all(torch.isfinite(t) for t in out)
    out.total.backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


def test_a_single_value_is_not_a_batch():
    net, aug, one = small_net(), Augment(), torch.tensor(0.5)
    with pytest.raises(ValueError, match="x must be a batch"):
        net(one)
    with pytest.raises(ValueError, match="x must be a batch"):
        net.represent(one)
    with pytest.raises(ValueError, match="x must be a batch"):
        csimclr_loss(net, one, augment=aug)
    with pytest.raises(ValueError, match="x must be a batch"):
        gaussian_noise(one, 0.1)
    with pytest.raises(ValueError, match="x must be a batch"):
        gaussian_noise(one, 0.1, clip=False)
    with pytest.raises(ValueError, match="x must be a batch"):
        aug(torch.rand(64))
