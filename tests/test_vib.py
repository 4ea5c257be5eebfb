"""Tests for statlearn.info.vib: the deep variational information bottleneck (chapter
8).
"""

from __future__ import annotations

import numpy as np

import functools
import math

import pytest
import torch
from torch import distributions as D
from torch.nn import functional as F

from statlearn._checks import as_generator
from statlearn.info.vib import VIB, VIBLoss, vib_loss
from statlearn.training import fit


def batch(n=32, d=12, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, generator=g), torch.randint(0, c, (n,), generator=g)


def standard_noise(shape):
    """The N(0, I) noise a model draws with random_state=None right after
    torch.manual_seed: from a generator seeded by torch's global one."""
    return torch.randn(shape, generator=as_generator(None))


def make(seed=0, **kw):
    torch.manual_seed(seed)
    kw.setdefault("latent_dim", 3)
    kw.setdefault("hidden", (16,))
    return VIB(12, 4, **kw)


def test_rate_is_the_closed_form_kl_in_bits():
    x, y = batch()
    model = make()
    mu, logvar = model.encode(x)
    expected_nats = (
        D.kl_divergence(D.Normal(mu, (0.5 * logvar).exp()), D.Normal(0.0, 1.0))
        .sum(1)
        .mean()
    )
    by_hand = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
    out = model.loss(x, y)
    assert isinstance(out, VIBLoss)
    assert out.rate.item() == pytest.approx(
        expected_nats.item() / math.log(2), rel=1e-5
    )
    assert out.rate.item() == pytest.approx(by_hand.item() / math.log(2), rel=1e-5)


def test_rate_agrees_with_a_monte_carlo_estimate():
    x, _ = batch(n=4)
    model = make(latent_dim=2)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        q = D.Normal(mu, (0.5 * logvar).exp())
        z = q.sample((200_000,))
        mc = (q.log_prob(z) - D.Normal(0.0, 1.0).log_prob(z)).sum(-1).mean() / math.log(
            2
        )
        closed = model.loss(x, torch.zeros(4, dtype=torch.long)).rate
    assert closed.item() == pytest.approx(mc.item(), rel=0.02, abs=0.01)


def test_distortion_is_the_cross_entropy_of_one_sample_in_bits():
    x, y = batch()
    model = make()
    torch.manual_seed(5)
    out = model.loss(x, y, beta=0.3)
    torch.manual_seed(5)
    mu, logvar = model.encode(x)  # the encoder is deterministic; the sample comes next
    z = mu + (0.5 * logvar).exp() * standard_noise(mu.shape)
    ce_bits = F.cross_entropy(model.decoder(z), y) / math.log(2)
    assert out.distortion.item() == pytest.approx(ce_bits.item(), rel=1e-5)
    assert out.total.item() == pytest.approx(
        out.distortion.item() + 0.3 * out.rate.item(), rel=1e-6
    )


def test_default_beta_comes_from_the_model():
    x, y = batch()
    model = make(beta=0.5)
    torch.manual_seed(1)
    a = vib_loss(model, x, y)
    torch.manual_seed(1)
    b = model.loss(x, y, beta=0.5)
    assert a.total.item() == pytest.approx(b.total.item())


def test_gradient_flows_through_the_sample():
    x, y = batch()
    model = make()
    out = model.loss(x, y, beta=0.0)  # no rate: the encoder is reached only through z
    out.total.backward()
    # the last encoder layer's rows produce mu (first d) and logvar (last d): both get
    # gradient
    last = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]
    d = model.latent_dim
    assert last.weight.grad[:d].abs().sum() > 0
    assert last.weight.grad[d:].abs().sum() > 0


def test_gradient_of_rate_matches_closed_form():
    mu = torch.randn(5, 3, requires_grad=True)
    logvar = torch.randn(5, 3, requires_grad=True)
    from statlearn.functional import gaussian_kl

    (gaussian_kl(mu, logvar).mean() / math.log(2)).backward()
    assert torch.allclose(mu.grad, mu.detach() / 5 / math.log(2))
    assert torch.allclose(
        logvar.grad, 0.5 * (logvar.detach().exp() - 1) / 5 / math.log(2)
    )


def test_training_forward_is_one_sample_and_eval_averages_the_softmax():
    x, _ = batch()
    model = make(n_samples_eval=7)
    model.train()
    a, b = model(x), model(x)
    assert a.shape == (32, 4) and not torch.allclose(a, b)
    model.eval()
    torch.manual_seed(3)
    out = model(x)
    torch.manual_seed(3)
    mu, logvar = model.encode(x)
    z = mu + (0.5 * logvar).exp() * standard_noise((7, *mu.shape))
    avg = F.softmax(model.decoder(z.reshape(-1, 3)).reshape(7, 32, 4), dim=-1).mean(0)
    assert torch.allclose(out.exp(), avg, atol=1e-6)
    assert torch.allclose(out.exp().sum(1), torch.ones(32), atol=1e-5)


def test_many_samples_converge_and_one_sample_is_a_log_softmax():
    x, _ = batch()
    model = make().eval()
    torch.manual_seed(0)
    one = model(x, n_samples=1)
    torch.manual_seed(0)
    mu, logvar = model.encode(x)
    z = mu + (0.5 * logvar).exp() * standard_noise((1, *mu.shape))
    assert torch.allclose(one, F.log_softmax(model.decoder(z[0]), dim=1), atol=1e-6)
    p1 = model(x, n_samples=4000).exp()
    p2 = model(x, n_samples=4000).exp()
    assert (p1 - p2).abs().max() < 0.05


def test_fit_with_vib_loss_records_rate_and_distortion_and_learns():
    x, y = batch(n=256, seed=1)
    w = torch.randn(12, 4, generator=torch.Generator().manual_seed(2))
    y = (x @ w).argmax(1)
    model = make(beta=1e-3, latent_dim=4, hidden=(32,))
    hist = fit(
        model,
        (x, y),
        objective=vib_loss,
        epochs=60,
        lr=1e-2,
        quiet=True,
        random_state=0,
    )
    assert {"loss", "distortion", "rate"} <= set(hist)
    assert hist["distortion"][-1] < 0.6 * hist["distortion"][0]
    assert not model.training
    acc = (model(x).argmax(1) == y).float().mean().item()
    assert acc > 0.8


def test_larger_beta_gives_a_smaller_rate():
    x, y = batch(n=256, seed=3)
    y = (x[:, 0] > 0.5).long()
    rates = []
    for beta in (1e-3, 1.0):
        model = make(seed=0, beta=beta)
        hist = fit(
            model,
            (x, y),
            objective=vib_loss,
            epochs=20,
            lr=1e-2,
            quiet=True,
            random_state=0,
        )
        rates.append(hist["rate"][-1])
    assert rates[1] < 0.5 * rates[0]


def test_fgsm_on_the_averaged_prediction():
    attacks = pytest.importorskip("statlearn.robust.attacks")
    x, y = batch()
    model = make().eval()
    x_adv = attacks.fgsm(model, x, y, eps=0.1)
    assert x_adv.shape == x.shape
    assert (x_adv - x).abs().max() <= 0.1 + 1e-6
    assert not model.training
    assert all(p.grad is None for p in model.parameters())


def test_image_input_and_float64():
    model = make().double()
    x = torch.rand(5, 1, 3, 4, dtype=torch.float64)
    out = model.loss(x, torch.tensor([0, 1, 2, 3, 0]))
    assert out.total.dtype == torch.float64
    assert model.eval()(x).shape == (5, 4)


def test_errors():
    x, y = batch()
    with pytest.raises(ValueError, match="beta"):
        VIB(12, 4, beta=-1.0)
    with pytest.raises(ValueError, match="latent_dim"):
        VIB(12, 4, latent_dim=0)
    with pytest.raises(ValueError, match="n_samples_eval"):
        VIB(12, 4, n_samples_eval=0)
    with pytest.raises(ValueError, match="num_classes"):
        VIB(12, 1)
    model = make()
    with pytest.raises(ValueError, match="beta"):
        model.loss(x, y, beta=-0.1)
    with pytest.raises(ValueError, match="32 labels"):
        model.loss(x, y[:10])
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        model.loss(x, y + 4)
    with pytest.raises(ValueError, match="features"):
        model.loss(torch.rand(32, 5), y)
    with pytest.raises(ValueError, match="shape"):
        model(torch.rand(12))
    with pytest.raises(ValueError, match="n_samples"):
        model(x, n_samples=0)
    with pytest.raises(TypeError, match="VIB"):
        vib_loss(torch.nn.Linear(12, 4), x, y)
    with pytest.raises(TypeError, match="numeric"):
        model(np.array([["a"] * 12] * 2))


def test_the_loss_declares_bits_and_checks_its_batch_once(monkeypatch):
    assert VIBLoss.units == "bits" and VIBLoss._fields[0] == "total"
    x, y = batch()
    model = make(beta=0.1)
    calls = []
    original = torch.isfinite

    def counting(t):
        calls.append(tuple(t.shape))
        return original(t)

    monkeypatch.setattr(torch, "isfinite", counting)
    vib_loss(model, x, y)
    model.loss(x, y, n_samples=3)
    assert len(calls) <= 2, calls  # one per call


def test_fit_repeats_a_run_with_one_random_state():
    x, y = batch(n=64)
    runs = []
    for run in range(2):
        model = make(beta=0.1)
        torch.manual_seed(100 + run)  # the samples of z follow fit's random_state
        hist = fit(
            model,
            (x, y),
            objective=vib_loss,
            epochs=2,
            batch_size=16,
            quiet=True,
            random_state=0,
        )
        runs.append(([p.detach().clone() for p in model.parameters()], hist))
    assert all(torch.equal(a, b) for a, b in zip(runs[0][0], runs[1][0]))
    assert runs[0][1]["rate"] == runs[1][1]["rate"]


def test_an_explicit_random_state_repeats_the_draws():
    x, y = batch()
    model = make(beta=0.1)
    a, b = model.loss(x, y, random_state=3), vib_loss(model, x, y, random_state=3)
    assert torch.equal(a.total, b.total)
    assert not torch.equal(a.distortion, model.loss(x, y, random_state=4).distortion)
    model.eval()
    assert torch.equal(model(x, random_state=5), model(x, random_state=5))
    assert not torch.equal(model(x, random_state=5), model(x, random_state=6))


def test_partial_binds_beta():
    x, y = batch()
    model = make(beta=0.0)
    objective = functools.partial(vib_loss, beta=2.0)
    torch.manual_seed(0)
    out = objective(model, x, y)
    assert out.total.item() == pytest.approx(
        out.distortion.item() + 2.0 * out.rate.item(), rel=1e-6
    )


@pytest.mark.gpu
def test_cuda_matches_cpu():
    x, y = batch()
    model = make().eval()
    torch.manual_seed(0)
    cpu = model.loss(x, y, beta=0.1)
    gpu_model = make().cuda().eval()
    mu_c, lv_c = model.encode(x)
    mu_g, lv_g = gpu_model.encode(x.cuda())
    assert torch.allclose(mu_c, mu_g.cpu(), atol=1e-5) and torch.allclose(
        lv_c, lv_g.cpu(), atol=1e-5
    )
    out = gpu_model.loss(x.cuda(), y.cuda(), beta=0.1)
    assert out.rate.item() == pytest.approx(cpu.rate.item(), rel=1e-4)
    assert gpu_model(x.cuda()).device.type == "cuda"


# --------------------------------------------------------------------------------------
# issue 15


def test_nan_input_is_an_error_not_nan_logits():
    """Defect: VIB on NaN input returned NaN logits."""
    model = VIB(12, 4, latent_dim=3, hidden=(8,))
    x = torch.rand(3, 12)
    x[1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model(x)
    with pytest.raises(ValueError, match="NaN"):
        model.loss(x, torch.tensor([0, 1, 2]))


def test_numpy_float64_is_cast_to_the_model():
    """Defect: VIB rejected NumPy ("x must be a torch.Tensor") and float64 crashed the
    encoder.
    """
    model = VIB(12, 4, latent_dim=3, hidden=(8,))
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 12)), rng.integers(0, 4, 6)
    assert model(x).dtype == torch.float32
    assert model(torch.from_numpy(x)).shape == (6, 4)
    assert torch.isfinite(model.loss(x, y).total)
