"""Tests for statlearn.latent.vae (chapter 3): the Gaussian encoder pieces, the ELBO and
the IWAE bound.

The linear-Gaussian model (probabilistic PCA, Tipping & Bishop 1999) is the reference:
its marginal log-likelihood and exact posterior are known in closed form, so the ELBO's
gap can be checked exactly.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from statlearn.functional import gaussian_kl
from statlearn.latent import (
    ELBO,
    VAE,
    GaussianEncoder,
    VAELoss,
    mlp_decoder,
    mlp_vae,
    reparameterize,
)
from statlearn.training import fit

DTYPE = torch.float64


# --------------------------------------------------------------------------------------
# Gaussian encoder pieces
# --------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 6),
    d=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(0.1, 5.0),
)
def test_gaussian_kl_equals_torch_distributions(
    n: int, d: int, seed: int, scale: float
) -> None:
    g = torch.Generator().manual_seed(seed)
    mu = scale * torch.randn(n, d, generator=g, dtype=DTYPE)
    logvar = scale * torch.randn(n, d, generator=g, dtype=DTYPE)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    ours = gaussian_kl(mu, logvar)
    assert ours.shape == (n,)
    torch.testing.assert_close(ours, kl_divergence(q, p), rtol=1e-10, atol=1e-10)
    assert bool((ours >= 0).all())


def test_gaussian_kl_zero_at_prior_and_gradients() -> None:
    mu = torch.zeros(3, 4, requires_grad=True)
    logvar = torch.zeros(3, 4, requires_grad=True)
    kl = gaussian_kl(mu, logvar)
    assert torch.equal(kl, torch.zeros(3))
    kl.sum().backward()  # the prior is the minimiser: zero gradient there
    assert torch.equal(mu.grad, torch.zeros(3, 4)) and torch.equal(
        logvar.grad, torch.zeros(3, 4)
    )


def test_reparameterize_shapes_moments_and_gradient() -> None:
    mu = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=DTYPE, requires_grad=True)
    logvar = torch.tensor(
        [[0.0, math.log(4.0)], [math.log(0.25), 1.0]], dtype=DTYPE, requires_grad=True
    )
    g = torch.Generator().manual_seed(0)
    assert reparameterize(mu, logvar, random_state=g).shape == (2, 2)
    z = reparameterize(mu, logvar, 20000, random_state=g)
    assert z.shape == (20000, 2, 2) and z.dtype == DTYPE
    torch.testing.assert_close(z.mean(0), mu.detach(), atol=0.05, rtol=0)
    torch.testing.assert_close(z.var(0), logvar.detach().exp(), rtol=0.05, atol=0)
    z.mean(0).sum().backward()  # d/dmu of E[z] is one
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    assert logvar.grad is not None and bool(torch.isfinite(logvar.grad).all())
    # a random_state makes draws reproducible
    a = reparameterize(mu, logvar, 3, random_state=torch.Generator().manual_seed(7))
    b = reparameterize(mu, logvar, 3, random_state=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_gaussian_encoder_flattens_and_shapes() -> None:
    enc = GaussianEncoder(64, 3, hidden=(16,))
    mu, logvar = enc(torch.rand(5, 1, 8, 8))
    assert mu.shape == (5, 3) and logvar.shape == (5, 3)
    mu2, _ = enc(torch.rand(5, 64))
    assert mu2.shape == (5, 3)
    with pytest.raises(ValueError, match="64 features"):
        enc(torch.rand(5, 63))


# --------------------------------------------------------------------------------------
# Probabilistic PCA: exact log-likelihood and exact posterior
# --------------------------------------------------------------------------------------


def _ppca(D: int = 5, d: int = 2, sigma: float = 0.5, seed: int = 0):
    """A PPCA model x = W z + b + sigma * eps with orthogonal columns of W (so the exact
    posterior is diagonal), the VAE that implements it, and the analytic optimal
    (posterior) encoder."""
    g = torch.Generator().manual_seed(seed)
    U, _ = torch.linalg.qr(torch.randn(D, d, generator=g, dtype=DTYPE))
    s = torch.linspace(2.0, 1.0, d, dtype=DTYPE)
    W = U * s  # W^T W = diag(s^2)
    b = torch.randn(D, generator=g, dtype=DTYPE)
    decoder = nn.Linear(d, D).to(DTYPE)
    encoder = GaussianEncoder(D, d, hidden=()).to(DTYPE)
    with torch.no_grad():
        decoder.weight.copy_(W)
        decoder.bias.copy_(b)
        # posterior: q(z | x) = N(M^{-1} W^T (x - b), sigma^2 M^{-1}), M = W^T W +
        # sigma^2 I (diagonal)
        m_diag = s**2 + sigma**2
        A = W.T / m_diag[:, None]
        lin = encoder.net[-1]
        lin.weight.zero_()
        lin.bias.zero_()
        lin.weight[:d] = A
        lin.bias[:d] = -A @ b
        lin.bias[d:] = torch.log(sigma**2 / m_diag)
    vae = VAE(encoder, decoder, latent_dim=d, likelihood="gaussian", sigma=sigma).to(
        DTYPE
    )
    marginal = MultivariateNormal(b, W @ W.T + sigma**2 * torch.eye(D, dtype=DTYPE))
    post_cov = sigma**2 / m_diag
    x = marginal.sample((40,))
    post_mu = (x - b) @ A.T
    return vae, marginal, x, post_mu, post_cov


def _kl_diag(mu_q, var_q, mu_p, var_p):
    return 0.5 * (
        torch.log(var_p / var_q) + (var_q + (mu_q - mu_p) ** 2) / var_p - 1
    ).sum(-1)


def test_ppca_iwae_weights_are_exact_at_the_posterior() -> None:
    torch.manual_seed(0)
    vae, marginal, x, _, _ = _ppca()
    exact = marginal.log_prob(x)
    # with q = p(z | x), every importance weight p(x, z) / q(z | x) equals p(x)
    log_w = vae.log_weights(x, 7, random_state=torch.Generator().manual_seed(1))
    torch.testing.assert_close(log_w, exact.expand(7, -1), rtol=0, atol=1e-10)
    torch.testing.assert_close(vae.iwae(x, 3), exact, rtol=0, atol=1e-10)


def test_ppca_elbo_below_exact_and_reaches_it_at_the_optimal_encoder() -> None:
    torch.manual_seed(0)
    vae, marginal, x, post_mu, post_cov = _ppca()
    exact = marginal.log_prob(x)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        at_opt = vae.elbo(x, 20000, random_state=g)
    assert isinstance(at_opt, ELBO)
    torch.testing.assert_close(at_opt.elbo, -(at_opt.distortion + at_opt.rate))
    # the analytic rate at the posterior, and the ELBO equal to log p(x) up to Monte-
    # Carlo error
    torch.testing.assert_close(
        at_opt.rate, _kl_diag(post_mu, post_cov, 0.0, 1.0), rtol=1e-10, atol=1e-10
    )
    assert (at_opt.elbo - exact).abs().max() < 0.1
    assert abs((at_opt.elbo - exact).mean()) < 0.02

    # perturb the encoder: the ELBO drops by exactly KL(q || posterior)
    lin = vae.encoder.net[-1]
    with torch.no_grad():
        lin.bias[:2] += torch.tensor([0.7, -0.4], dtype=DTYPE)
        lin.bias[2:] += torch.tensor([0.5, -0.8], dtype=DTYPE)
        mu_q, logvar_q = vae.encode(x)
        gap = _kl_diag(mu_q, logvar_q.exp(), post_mu, post_cov)
        off = vae.elbo(x, 20000, random_state=g)
    assert bool((gap > 0.2).all())
    assert bool((off.elbo < exact - gap / 2).all())
    assert (off.elbo - (exact - gap)).abs().max() < 0.15
    assert abs((off.elbo - (exact - gap)).mean()) < 0.03
    # the importance-weighted bounds sit between the ELBO and the exact log-likelihood,
    # and tighten with k
    with torch.no_grad():
        bounds = [
            torch.stack([vae.iwae(x, k, random_state=g) for _ in range(50)]).mean(0)
            for k in (10, 1000)
        ]
    assert off.elbo.mean() < bounds[0].mean() < bounds[1].mean() < exact.mean()
    assert (exact - bounds[1]).mean() < 0.2 * gap.mean()


def test_ppca_training_the_encoder_closes_the_gap() -> None:
    torch.manual_seed(0)
    vae, marginal, x, post_mu, post_cov = _ppca()
    exact = marginal.log_prob(x).mean()
    nn.init.normal_(vae.encoder.net[-1].weight, std=0.1)
    nn.init.zeros_(vae.encoder.net[-1].bias)
    for p in vae.decoder.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(vae.encoder.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.StepLR(opt, 150, 0.3)
    with torch.no_grad():
        before = vae.elbo(x, 256).elbo.mean().item()
    for _ in range(450):
        opt.zero_grad()
        (-vae.elbo(x, 32).elbo.mean()).backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        mu, logvar = vae.encode(x)
        after = vae.elbo(x, 4000).elbo.mean().item()
    assert before < exact.item() - 1.0
    assert (
        exact.item() - 0.1 < after < exact.item() + 0.02
    )  # the gap closes (up to Monte-Carlo error)
    torch.testing.assert_close(mu, post_mu, atol=0.03, rtol=0)
    ratio = (logvar.exp() / post_cov).median(0).values
    torch.testing.assert_close(ratio, torch.ones_like(ratio), atol=0.15, rtol=0)


# --------------------------------------------------------------------------------------
# IWAE and gradients on a Bernoulli VAE
# --------------------------------------------------------------------------------------


def _binary_data(n: int = 200, D: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    protos = (torch.rand(3, D, generator=g) < 0.5).float()
    flips = (torch.rand(n, D, generator=g) < 0.1).float()
    return (protos[torch.randint(3, (n,), generator=g)] + flips) % 2


def test_iwae_non_decreasing_in_k_on_average() -> None:
    torch.manual_seed(0)
    x = _binary_data()
    vae = mlp_vae(16, 2, hidden=(32,))
    fit(
        vae,
        x,
        objective=VAE.loss,
        epochs=20,
        batch_size=50,
        lr=1e-2,
        quiet=True,
        random_state=0,
    )
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        elbo = torch.stack([vae.elbo(x, random_state=g).elbo for _ in range(20)]).mean()
        bounds = [
            torch.stack([vae.iwae(x, k, random_state=g) for _ in range(20)]).mean()
            for k in (1, 4, 16, 64)
        ]
    # L_1 is the ELBO (up to Monte-Carlo error), and L_k grows with k
    assert abs(bounds[0] - elbo) < 0.1
    diffs = torch.stack(bounds).diff()
    assert bool((diffs > 0).all()), diffs
    assert bounds[-1] - bounds[0] > 0.1


def test_iwae_chunking_is_the_same_estimate() -> None:
    torch.manual_seed(0)
    x = _binary_data(20)
    vae = mlp_vae(16, 3, hidden=(8,))
    with torch.no_grad():
        a = vae.iwae(x, 10, random_state=torch.Generator().manual_seed(5))
        b = vae.iwae(
            x, 10, chunk_size=10, random_state=torch.Generator().manual_seed(5)
        )
        c = vae.iwae(x, 10, chunk_size=3)
    torch.testing.assert_close(a, b)
    assert c.shape == (20,) and bool(torch.isfinite(c).all())


def test_encoder_receives_gradient_from_the_reconstruction_term() -> None:
    torch.manual_seed(0)
    x = _binary_data(32)
    vae = mlp_vae(16, 4, hidden=(8,))
    vae.elbo(x).distortion.mean().backward()
    for name, p in vae.encoder.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    last = vae.encoder.net[-1]
    assert (
        last.weight.grad[:4].abs().sum() > 0 and last.weight.grad[4:].abs().sum() > 0
    )  # mu and logvar heads
    # the rate alone does not reach the decoder
    vae.zero_grad(set_to_none=True)
    vae.elbo(x).rate.mean().backward()
    assert all(
        p.grad is None or p.grad.abs().sum() == 0 for p in vae.decoder.parameters()
    )


def test_elbo_terms_shapes_and_bernoulli_likelihood() -> None:
    torch.manual_seed(0)
    x = _binary_data(10)
    vae = mlp_vae(16, 2, hidden=(8,))
    terms = vae.elbo(x, 5)
    assert all(t.shape == (10,) for t in terms)
    assert bool((terms.rate >= 0).all()) and bool((terms.distortion > 0).all())
    # the distortion at one sample matches torch's Bernoulli log-probability
    g = torch.Generator().manual_seed(0)
    mu, logvar = vae.encode(x)
    z = reparameterize(mu, logvar, random_state=g)
    expected = -torch.distributions.Bernoulli(logits=vae.decoder(z)).log_prob(x).sum(-1)
    torch.testing.assert_close(
        vae.elbo(x, random_state=torch.Generator().manual_seed(0)).distortion, expected
    )


def test_gaussian_likelihood_matches_torch_normal() -> None:
    torch.manual_seed(0)
    x = torch.randn(6, 5)
    vae = VAE(
        GaussianEncoder(5, 2, (8,)),
        mlp_decoder(2, 5, (8,)),
        latent_dim=2,
        likelihood="gaussian",
        sigma=0.3,
    )
    mu, logvar = vae.encode(x)
    z = reparameterize(mu, logvar, random_state=torch.Generator().manual_seed(1))
    expected = -Normal(vae.decoder(z), 0.3).log_prob(x).sum(-1)
    got = vae.elbo(x, random_state=torch.Generator().manual_seed(1)).distortion
    torch.testing.assert_close(got, expected)
    learned = mlp_vae(5, 2, (8,), likelihood="gaussian")
    assert any(name == "log_sigma" for name, _ in learned.named_parameters())


def test_fit_trains_the_vae_and_records_terms() -> None:
    torch.manual_seed(0)
    x = _binary_data(128)
    vae = mlp_vae(16, 2, hidden=(32,))
    hist = fit(
        vae,
        x,
        objective=VAE.loss,
        epochs=30,
        batch_size=32,
        lr=1e-2,
        quiet=True,
        random_state=0,
    )
    assert {"loss", "distortion", "rate"} <= set(hist)
    assert hist["loss"][-1] < hist["loss"][0] - 1.0
    # labelled data and a beta other than one
    y = torch.zeros(128, dtype=torch.long)
    hist2 = fit(
        vae,
        (x, y),
        objective=functools.partial(VAE.loss, beta=4.0),
        epochs=2,
        quiet=True,
    )
    assert len(hist2["rate"]) == 2
    out = VAE.loss(vae, x, beta=0.0)
    assert isinstance(out, VAELoss)
    torch.testing.assert_close(out.total, out.distortion)


def test_sample_decode_reconstruct_shapes_images_float64() -> None:
    torch.manual_seed(0)
    vae = mlp_vae(64, 2, hidden=(16,), out_shape=(1, 8, 8)).to(DTYPE)
    x = (torch.rand(7, 1, 8, 8) < 0.5).to(DTYPE)
    assert vae.reconstruct(x).shape == (7, 1, 8, 8)
    s = vae.sample(5)
    assert (
        s.shape == (5, 1, 8, 8)
        and s.dtype == DTYPE
        and bool(((s >= 0) & (s <= 1)).all())
    )
    draws = vae.sample(5, mean=False)
    assert bool(((draws == 0) | (draws == 1)).all())
    assert vae.decode(torch.zeros(3, 2)).shape == (3, 1, 8, 8)
    assert vae.elbo(x).elbo.dtype == DTYPE
    assert vae.iwae(x, 4).shape == (7,)
    a = vae.sample(4, random_state=torch.Generator().manual_seed(0))
    b = vae.sample(4, random_state=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


def test_value_errors() -> None:
    enc, dec = GaussianEncoder(16, 2, (8,)), mlp_decoder(2, 16, (8,))
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(enc, dec, latent_dim=0)
    with pytest.raises(ValueError, match="latent_dim"):
        GaussianEncoder(16, 0)
    with pytest.raises(ValueError, match="latent_dim"):
        mlp_decoder(0, 16)
    with pytest.raises(ValueError, match="latent_dim"):
        mlp_vae(16, -1)
    with pytest.raises(ValueError, match="likelihood"):
        VAE(enc, dec, latent_dim=2, likelihood="poisson")
    with pytest.raises(ValueError, match="sigma"):
        VAE(enc, dec, latent_dim=2, likelihood="bernoulli", sigma=1.0)
    with pytest.raises(ValueError, match="sigma"):
        VAE(enc, dec, latent_dim=2, likelihood="gaussian", sigma=0.0)
    with pytest.raises(ValueError, match="out_shape"):
        mlp_decoder(2, 16, out_shape=(1, 8, 8))
    with pytest.raises(TypeError):
        VAE(enc, "decoder", latent_dim=2)

    vae = VAE(enc, dec, latent_dim=2)
    x = _binary_data(8)
    with pytest.raises(ValueError, match="binary"):
        vae.elbo(x * 0.5)
    with pytest.raises(ValueError, match="binary"):
        vae.iwae(x + 0.1, 4)
    with pytest.raises(ValueError, match="binary"):
        vae.loss(torch.rand(8, 16))
    with pytest.raises(ValueError, match="NaN"):
        vae.elbo(torch.full((2, 16), float("nan")))
    with pytest.raises(ValueError, match="batch"):
        vae.elbo(x[0])
    with pytest.raises(ValueError, match="n_samples"):
        vae.elbo(x, 0)
    with pytest.raises(ValueError, match="n_samples must be"):
        vae.iwae(x, 0)
    with pytest.raises(ValueError, match="n_samples must be"):
        vae.log_weights(x, 0)
    with pytest.raises(ValueError, match="chunk_size"):
        vae.iwae(x, 4, chunk_size=0)
    with pytest.raises(ValueError, match="n_samples must be"):
        vae.sample(0)
    with pytest.raises(ValueError, match="z must be"):
        vae.decode(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="n_samples"):
        reparameterize(torch.zeros(2, 2), torch.zeros(2, 2), 0)
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl(torch.zeros(2, 2), torch.zeros(2, 3))
    with pytest.raises(TypeError):
        gaussian_kl([0.0], [0.0])
    # an encoder or decoder that does not fit latent_dim or the data
    with pytest.raises(ValueError, match="encoder must return"):
        VAE(enc, mlp_decoder(3, 16), latent_dim=3).elbo(x)
    with pytest.raises(ValueError, match="decoder must return"):
        VAE(enc, mlp_decoder(2, 15), latent_dim=2).elbo(x)
    # Gaussian data is fine for a Gaussian decoder
    gvae = VAE(
        GaussianEncoder(16, 2, (8,)),
        mlp_decoder(2, 16, (8,)),
        latent_dim=2,
        likelihood="gaussian",
    )
    assert gvae.elbo(torch.randn(4, 16)).elbo.shape == (4,)


# --------------------------------------------------------------------------------------
# GPU
# --------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    torch.manual_seed(0)
    x = _binary_data(64)
    vae = mlp_vae(16, 3, hidden=(32,))
    eps = torch.randn(64, 3)
    mu, logvar = vae.encode(x)
    cpu = (
        gaussian_kl(mu, logvar),
        vae._log_px_given_z(mu + eps * (0.5 * logvar).exp(), x),
    )
    vae_gpu = vae.to("cuda")
    mu_g, logvar_g = vae_gpu.encode(x.cuda())
    gpu = (
        gaussian_kl(mu_g, logvar_g),
        vae_gpu._log_px_given_z(mu_g + eps.cuda() * (0.5 * logvar_g).exp(), x.cuda()),
    )
    for a, b in zip(cpu, gpu):
        torch.testing.assert_close(a, b.cpu(), rtol=1e-4, atol=1e-4)
    terms = vae_gpu.elbo(x.cuda(), 4)
    assert terms.elbo.device.type == "cuda"
    assert vae_gpu.iwae(x.cuda(), 8, chunk_size=3).device.type == "cuda"
    assert vae_gpu.sample(3).device.type == "cuda"
    hist = fit(vae_gpu, x.cuda(), objective=VAE.loss, epochs=2, quiet=True)
    assert len(hist["loss"]) == 2


# --------------------------------------------------------------------------------------
# issue 15


def test_loss_rejects_a_nan_or_negative_beta():
    """Defect: VAE.loss(beta=nan) returned NaN and beta=-1 was accepted (rewarding a
    larger rate).
    """
    vae = mlp_vae(4, 2, (8,))
    x = torch.bernoulli(torch.full((5, 4), 0.5))
    for bad in (float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError, match="beta"):
            vae.loss(x, beta=bad)
    assert torch.isfinite(vae.loss(x, beta=0.0).total)


def test_numpy_float64_is_cast_to_the_model():
    """Issue 15's boundary rule (already kept by the VAE): NumPy float64 data meet a
    float32 VAE.
    """
    import numpy as np

    vae = mlp_vae(4, 2, (8,))
    x = (np.random.default_rng(0).random((5, 4)) > 0.5).astype(np.float64)
    terms = vae.loss(x)
    assert terms.total.dtype == torch.float32
    assert vae.decode(np.zeros((3, 2))).shape == (3, 4)


# --------------------------------------------------------------------------------------
# Autoencoder and denoising autoencoder (chapter 5)
# --------------------------------------------------------------------------------------


def test_linear_autoencoder_reaches_the_pca_reconstruction_error() -> None:
    """Baldi and Hornik (1989): a linear autoencoder with a d-dimensional code can do no
    better than PCA's d components, and at its optimum it does as well."""
    from statlearn.latent import mlp_autoencoder

    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 6, generator=g, dtype=DTYPE) * torch.tensor(
        [3.0, 2.0, 1.0, 0.5, 0.3, 0.1], dtype=DTYPE
    )
    x = x @ torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=DTYPE))[0]
    x = x - x.mean(0)
    ev = torch.linalg.svdvals(x).square() / x.shape[0]
    pca_error = float(ev[2:].sum())  # per-sample squared error of the best rank-2 fit
    torch.manual_seed(0)
    ae = mlp_autoencoder(6, 2, hidden=()).to(DTYPE)
    with torch.no_grad():
        start = float(ae.loss(x).distortion)
    opt = torch.optim.LBFGS(
        ae.parameters(), max_iter=500, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        loss = ae.loss(x).total
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        final = float(ae.loss(x).distortion)
    assert final >= pca_error - 1e-8  # never better than PCA
    assert final == pytest.approx(pca_error, rel=1e-3) and start > 2 * pca_error


def test_autoencoder_shapes_loss_and_numpy_input() -> None:
    from statlearn.latent import AELoss, Autoencoder, mlp_autoencoder

    torch.manual_seed(1)
    ae = mlp_autoencoder(64, 3, hidden=(16,), out_shape=(1, 8, 8))
    assert isinstance(ae, Autoencoder) and ae.latent_dim == 3
    x = torch.rand(5, 1, 8, 8)
    assert ae.encode(x).shape == (5, 3) and ae(x).shape == (5, 1, 8, 8)
    terms = ae.loss(x)
    assert isinstance(terms, AELoss)
    expected = (ae(x) - x).square().sum((1, 2, 3)).mean()
    torch.testing.assert_close(terms.total, expected)
    torch.testing.assert_close(terms.distortion, terms.total)
    flat = mlp_autoencoder(4, 2, hidden=(8,))
    z = flat.encode(x.reshape(5, 64)[:, :4].double().numpy())  # numpy float64 is cast
    assert z.dtype == torch.float32 and z.shape == (5, 2)


def test_denoising_loss_sees_the_corrupted_input_and_trains() -> None:
    from statlearn.latent import mlp_autoencoder

    torch.manual_seed(2)
    ae = mlp_autoencoder(8, 2, hidden=(16,))
    x = torch.randn(64, 8)
    clean = ae.loss(x)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    noisy = ae.loss(x, noise=0.5, random_state=g1)
    assert noisy.total.item() != pytest.approx(clean.total.item())
    # the same random_state gives the same corruption, hence the same loss
    torch.testing.assert_close(
        noisy.total, ae.loss(x, noise=0.5, random_state=g2).total
    )
    # the target is the clean x: a decoder that outputs x~ itself would not score zero
    history = fit(
        ae,
        x,
        objective=functools.partial(type(ae).loss, noise=0.3, corruption="mask"),
        epochs=30,
        batch_size=64,
        lr=1e-2,
        quiet=True,
        random_state=0,
    )
    assert history["distortion"][-1] < 0.8 * history["distortion"][0]


def test_corrupt_gaussian_and_mask() -> None:
    from statlearn.latent import corrupt

    x = torch.ones(200, 50, dtype=DTYPE)
    assert corrupt(x, 0.0) is x
    g = torch.Generator().manual_seed(0)
    noisy = corrupt(x, 0.5, random_state=g)
    assert noisy.dtype == DTYPE and noisy.shape == x.shape
    assert float((noisy - x).std()) == pytest.approx(0.5, rel=0.03)
    masked = corrupt(x, 0.3, corruption="mask", random_state=g)
    assert set(masked.unique().tolist()) <= {0.0, 1.0}
    assert float((masked == 0).double().mean()) == pytest.approx(0.3, abs=0.02)
    assert torch.equal(corrupt(x, 0.0, corruption="mask"), x)


def test_autoencoder_value_errors() -> None:
    from statlearn.latent import Autoencoder, corrupt, mlp_autoencoder

    x = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="corruption"):
        corrupt(x, 0.1, corruption="salt")
    with pytest.raises(ValueError, match="noise"):
        corrupt(x, -0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        corrupt(x, 1.0, corruption="mask")
    with pytest.raises(TypeError, match="tensor"):
        corrupt(x.numpy(), 0.1)
    with pytest.raises(TypeError, match="nn.Module"):
        Autoencoder(lambda v: v, nn.Identity(), latent_dim=2)
    with pytest.raises(ValueError, match="latent_dim"):
        mlp_autoencoder(4, 0)
    with pytest.raises(ValueError, match="in_features"):
        mlp_autoencoder(0, 2)
    with pytest.raises(ValueError, match="in_features"):
        Autoencoder(nn.Identity(), nn.Identity(), latent_dim=2, in_features=0)
    ae = mlp_autoencoder(4, 2, hidden=(8,))
    with pytest.raises(ValueError, match="batch"):
        ae.encode(torch.zeros(4))
    with pytest.raises(ValueError, match="4 features per sample"):
        ae.encode(torch.zeros(3, 5))
    wrong_code = Autoencoder(nn.Linear(4, 3), nn.Linear(2, 4), latent_dim=2)
    with pytest.raises(ValueError, match="latent_dim"):
        wrong_code.encode(x)
    wrong_out = Autoencoder(nn.Linear(4, 2), nn.Linear(2, 5), latent_dim=2)
    with pytest.raises(ValueError, match="values per sample"):
        wrong_out.loss(x)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_autoencoder_cuda_matches_cpu() -> None:
    from statlearn.latent import corrupt, mlp_autoencoder

    torch.manual_seed(0)
    ae = mlp_autoencoder(16, 3, hidden=(32,))
    x = torch.randn(64, 16)
    cpu_code, cpu_loss = ae.encode(x), ae.loss(x).total
    ae_gpu = ae.to("cuda")
    torch.testing.assert_close(
        ae_gpu.encode(x.numpy()).cpu(), cpu_code, rtol=1e-4, atol=1e-4
    )
    torch.testing.assert_close(
        ae_gpu.loss(x.cuda()).total.cpu(), cpu_loss, rtol=1e-4, atol=1e-4
    )
    for kind in ("gaussian", "mask"):
        assert corrupt(x.cuda(), 0.3, corruption=kind).device.type == "cuda"
    hist = fit(ae_gpu, x.cuda(), objective=type(ae).loss, epochs=2, quiet=True)
    assert len(hist["loss"]) == 2


# --------------------------------------------------------------------------------------
# One set of conventions: random_state, units, validate once
# --------------------------------------------------------------------------------------


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("kind", ["vae", "dae"])
def test_fit_with_a_random_state_repeats_a_whole_run(kind: str) -> None:
    """The objective's draws (reparameterisation, corruption) follow fit's random_state,
    whatever the global random state was before the run."""
    from statlearn.latent import Autoencoder, mlp_autoencoder

    x = _binary_data(64)

    def run(outer: int, random_state: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)  # the initialisation is the caller's
        if kind == "vae":
            model, objective = mlp_vae(16, 2, hidden=(8,)), VAE.loss
        else:
            model = mlp_autoencoder(16, 2, hidden=(8,))
            objective = functools.partial(Autoencoder.loss, noise=0.3)
        torch.manual_seed(outer)  # must not matter
        fit(
            model,
            x,
            objective=objective,
            epochs=2,
            batch_size=16,
            quiet=True,
            random_state=random_state,
        )
        return _state(model)

    a, b, c = run(1, 0), run(2, 0), run(1, 1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def _draws(name: str):
    """A routine of vae.py that draws, as a function of random_state."""
    from statlearn.latent import corrupt, mlp_autoencoder

    torch.manual_seed(0)
    vae = mlp_vae(16, 2, hidden=(8,)).to(DTYPE)
    ae = mlp_autoencoder(16, 2, hidden=(8,)).to(DTYPE)
    x = _binary_data(6).to(DTYPE)
    mu, logvar = vae.encode(x)
    return {
        "reparameterize": lambda rs: reparameterize(mu, logvar, 3, random_state=rs),
        "elbo": lambda rs: vae.elbo(x, random_state=rs).elbo,
        "forward": lambda rs: vae(x, random_state=rs).elbo,
        "loss": lambda rs: vae.loss(x, random_state=rs).total,
        "log_weights": lambda rs: vae.log_weights(x, 4, random_state=rs),
        "iwae": lambda rs: vae.iwae(x, 4, chunk_size=3, random_state=rs),
        "sample": lambda rs: vae.sample(3, random_state=rs, mean=False),
        "corrupt": lambda rs: corrupt(x, 0.5, random_state=rs),
        "ae_loss": lambda rs: ae.loss(x, noise=0.5, random_state=rs).total,
    }[name]


@pytest.mark.parametrize(
    "name",
    [
        "reparameterize",
        "elbo",
        "forward",
        "loss",
        "log_weights",
        "iwae",
        "sample",
        "corrupt",
        "ae_loss",
    ],
)
def test_random_state_accepts_every_kind_and_repeats(name: str) -> None:
    import numpy as np

    draw = _draws(name)
    same = [
        draw(7),
        draw(torch.Generator().manual_seed(7)),  # an int seeds a generator alike
        draw(np.int64(7)),
    ]
    assert all(torch.equal(same[0], s) for s in same[1:])
    assert not torch.equal(draw(7), draw(8))
    for rs in (None, np.random.default_rng(0), np.random.RandomState(0)):
        assert draw(rs).shape == same[0].shape
    # a torch generator advances as it draws; None follows torch's global state
    g = torch.Generator().manual_seed(7)
    assert not torch.equal(draw(g), draw(g))
    torch.manual_seed(3)
    first = draw(None)
    torch.manual_seed(3)
    assert torch.equal(first, draw(None))
    with pytest.raises(TypeError, match="random_state"):
        draw("seven")


def test_public_api_names_random_state_and_in_features() -> None:
    """Rule 1 and 4: no `generator` or `seed` argument, `n_samples` counts draws,
    `sample(n_samples=1, *, random_state=None, ...)`, `in_features` for input sizes."""
    import inspect

    from statlearn.latent import vae as module

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
            assert not params & {"generator", "seed", "n", "k", "eps"}, (name, params)
            assert not params & {"x_dim", "x_features", "input_dim"}, (name, params)
    sig = inspect.signature(VAE.sample)
    names = list(sig.parameters)
    assert names[:3] == ["self", "n_samples", "random_state"]
    assert sig.parameters["n_samples"].default == 1
    assert sig.parameters["random_state"].kind is inspect.Parameter.KEYWORD_ONLY
    assert sig.parameters["random_state"].default is None
    assert mlp_vae(5, 2, (4,)).sample().shape == (1, 5)
    for fn in (GaussianEncoder, mlp_vae):
        assert next(iter(inspect.signature(fn).parameters)) == "in_features"


def test_loss_tuples_declare_their_units() -> None:
    from statlearn.latent import AELoss

    assert VAELoss.units == "nats" and ELBO.units == "nats"
    assert AELoss.units == "squared error"  # not a log-likelihood
    for cls in (VAELoss, AELoss):
        assert cls._fields[0] == "total" and "units" not in cls._fields
    x = _binary_data(32)
    torch.manual_seed(0)
    hist = fit(mlp_vae(16, 2, (8,)), x, objective=VAE.loss, epochs=1, quiet=True)
    assert hist.units == "nats"


def _count_isfinite(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = torch.isfinite

    def counting(t: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return real(t)

    monkeypatch.setattr(torch, "isfinite", counting)
    return calls


def test_each_public_call_checks_its_input_once(monkeypatch) -> None:
    """Rule 3: a loss or a chunked IWAE checks x once (a Bernoulli VAE's binary check
    covers finiteness); inner cores do not re-validate."""
    from statlearn.latent import mlp_autoencoder

    torch.manual_seed(0)
    bern = mlp_vae(16, 2, (8,))
    gauss = mlp_vae(16, 2, (8,), likelihood="gaussian")
    ae = mlp_autoencoder(16, 2, (8,))
    x = _binary_data(8)
    calls = _count_isfinite(monkeypatch)
    for call in (
        lambda: gauss.loss(x, n_samples=3),
        lambda: gauss.iwae(x, 8, chunk_size=2),
        lambda: gauss.elbo(x, 2),
        lambda: ae.loss(x, noise=0.3),
    ):
        calls.clear()
        call()
        assert len(calls) == 1
    for call in (lambda: bern.loss(x), lambda: bern.iwae(x, 8, chunk_size=2)):
        calls.clear()
        call()
        assert len(calls) == 0  # the binary check is the one check
    with pytest.raises(ValueError, match="NaN"):
        bern.loss(torch.full((2, 16), float("inf")))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_any_random_state_with_cuda_data() -> None:
    """A CPU generator, an int or a NumPy generator drive draws on the GPU; an int
    gives what a CUDA generator seeded with it gives."""
    import numpy as np

    from statlearn.latent import corrupt

    torch.manual_seed(0)
    vae = mlp_vae(16, 3, hidden=(32,)).cuda()
    x = _binary_data(16).cuda()
    for rs in (
        0,
        np.random.default_rng(0),
        torch.Generator().manual_seed(0),
        torch.Generator("cuda").manual_seed(0),
        None,
    ):
        assert vae.elbo(x, random_state=rs).elbo.device.type == "cuda"
        assert vae.sample(2, random_state=rs, mean=False).device.type == "cuda"
        assert corrupt(x, 0.3, random_state=rs).device.type == "cuda"
    torch.testing.assert_close(
        vae.iwae(x, 5, random_state=4),
        vae.iwae(x, 5, random_state=torch.Generator("cuda").manual_seed(4)),
    )
    a = vae.elbo(x, random_state=torch.Generator().manual_seed(1)).elbo
    b = vae.elbo(x, random_state=torch.Generator().manual_seed(1)).elbo
    assert torch.equal(a, b)
    hist = fit(vae, x, objective=VAE.loss, epochs=1, quiet=True, random_state=0)
    assert hist.units == "nats"
