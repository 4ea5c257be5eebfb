"""Tests for statlearn.info.wyner: the variational Wyner model (chapter 11)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import distributions as D

from statlearn.info.wyner import (
    WynerLoss,
    WynerModel,
    rotated_mixture_pairs,
    wyner_loss,
)
from statlearn.functional import gaussian_kl
from statlearn.training import fit

LN2 = math.log(2.0)


def make(seed=0, **kw):
    torch.manual_seed(seed)
    kw.setdefault("hidden", (16,))
    return WynerModel(2, 3, common_dim=2, local_dim=1, **kw)


def pairs(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g), torch.randn(n, 3, generator=g)


def test_rates_equal_their_closed_forms():
    x, y = pairs()
    model = make().eval()
    out = model.loss(x, y, beta=0.5, random_state=1)
    assert isinstance(out, WynerLoss) and WynerLoss.units == "bits"
    with torch.no_grad():
        mu_w, lv_w = model.encode_common(x, y)
        mu_c, lv_c = model.encoder_w_x(x)
    common = D.kl_divergence(
        D.Normal(mu_w, (0.5 * lv_w).exp()), D.Normal(0.0, 1.0)
    ).sum(1)
    cond = D.kl_divergence(
        D.Normal(mu_w, (0.5 * lv_w).exp()), D.Normal(mu_c, (0.5 * lv_c).exp())
    ).sum(1)
    # closed forms in nats, reported in bits
    assert out.common_rate.item() == pytest.approx(common.mean().item() / LN2, rel=1e-5)
    assert out.conditional.item() == pytest.approx(cond.mean().item() / LN2, rel=1e-5)
    expected_total = out.distortion + out.local_rate + 0.5 * out.common_rate
    expected_total = expected_total + out.conditional
    assert out.total.item() == pytest.approx(expected_total.item(), rel=1e-6)
    assert out.weight.item() == 1.0


def test_the_local_rate_and_distortion_match_a_by_hand_computation():
    x, y = pairs(n=8)
    model = make()
    out = model.loss(x, y, random_state=3)
    g = torch.Generator().manual_seed(3)  # w, u and v are drawn in that order
    mu_w, lv_w = model.encoder_w(torch.cat([x, y], 1))
    w = mu_w + (0.5 * lv_w).exp() * torch.randn(mu_w.shape, generator=g)
    mu_u, lv_u = model.encoder_u(torch.cat([x, w], 1))
    mu_v, lv_v = model.encoder_v(torch.cat([y, w], 1))
    u = mu_u + (0.5 * lv_u).exp() * torch.randn(mu_u.shape, generator=g)
    v = mu_v + (0.5 * lv_v).exp() * torch.randn(mu_v.shape, generator=g)
    px = D.Normal(model.decoder_x(torch.cat([w, u], 1)), (0.5 * model.logvar_x).exp())
    py = D.Normal(model.decoder_y(torch.cat([w, v], 1)), (0.5 * model.logvar_y).exp())
    nll = -(px.log_prob(x).sum(1) + py.log_prob(y).sum(1)).mean()
    local = (gaussian_kl(mu_u, lv_u) + gaussian_kl(mu_v, lv_v)).mean()
    assert out.distortion.item() == pytest.approx(nll.item() / LN2, rel=1e-5)
    assert out.local_rate.item() == pytest.approx(local.item() / LN2, rel=1e-5)


def test_the_loss_follows_random_state_and_the_global_generator():
    x, y = pairs()
    model = make().eval()
    with torch.no_grad():
        a = model.loss(x, y, random_state=0).total
        b = model.loss(x, y, random_state=torch.Generator().manual_seed(0)).total
        c = model.loss(x, y, random_state=1).total
        torch.manual_seed(5)
        d = model.loss(x, y).total
        torch.manual_seed(5)
        e = wyner_loss(model, x, y).total
    assert torch.equal(a, b) and not torch.equal(a, c) and torch.equal(d, e)


def test_fit_with_random_state_repeats_a_run():
    x, y, _ = rotated_mixture_pairs(256, random_state=0)

    def run(random_state):
        torch.manual_seed(0)  # the same initial model
        model = WynerModel(2, 2, hidden=(16,))
        history = fit(
            model,
            (x, y),
            objective=wyner_loss,
            epochs=2,
            batch_size=64,
            quiet=True,
            random_state=random_state,
        )
        return history, model.logvar_x.detach().clone()

    (h1, p1), (h2, p2), (h3, _) = run(0), run(0), run(1)
    assert h1["loss"] == h2["loss"] and torch.equal(p1, p2)
    assert h1["loss"] != h3["loss"]
    assert h1.units == "bits"


def test_the_conditional_term_trains_only_the_conditional_encoder():
    x, y = pairs()
    model = make()
    model.loss(x, y).conditional.backward()
    for name, p in model.named_parameters():
        if name.startswith("encoder_w_x."):
            assert p.grad is not None and p.grad.abs().sum() > 0
        else:
            assert p.grad is None or p.grad.abs().sum() == 0, name


def test_warmup_rises_linearly_and_counts_only_training_steps():
    x, y = pairs()
    model = make(warmup_steps=4)
    weights = [model.loss(x, y).weight.item() for _ in range(6)]
    assert weights == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    model.eval()
    steps = int(model.steps_)
    model.loss(x, y)
    with torch.no_grad():
        model.train().loss(x, y)
    assert int(model.steps_) == steps


def test_joint_samples_have_the_right_shapes_and_follow_the_seed():
    model = make()
    assert [t.shape for t in model.sample()] == [(1, 2), (1, 3)]
    x1, y1 = model.sample(7, random_state=0)
    x2, y2 = model.sample(7, random_state=0)
    x3, _ = model.sample(7, random_state=1)
    assert x1.shape == (7, 2) and y1.shape == (7, 3)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    xm, ym = model.sample(n_samples=7, random_state=0, noise=False)
    assert xm.shape == (7, 2) and ym.shape == (7, 3)
    with pytest.raises(TypeError):
        model.sample(7, 0)  # random_state is keyword-only


def test_conditional_samples_have_the_right_shape_and_follow_the_seed():
    model = make()
    x = np.random.default_rng(0).normal(size=(5, 2))  # numpy float64 accepted
    y1 = model.sample_y_given_x(x, random_state=0)
    y2 = model.sample_y_given_x(torch.as_tensor(x), random_state=0)
    assert y1.shape == (5, 3) and y1.dtype == torch.float32
    assert torch.equal(y1, y2)
    assert not torch.equal(y1, model.sample_y_given_x(x, random_state=1))


def test_a_large_beta_leaves_the_common_latent_empty():
    x, y, _ = rotated_mixture_pairs(512, random_state=0)
    torch.manual_seed(0)
    model = WynerModel(2, 2, hidden=(32,), beta=20.0)
    fit(
        model,
        (x, y),
        objective=wyner_loss,
        epochs=15,
        lr=3e-3,
        quiet=True,
        random_state=0,
    )
    with torch.no_grad():  # below 0.05 nats
        assert model.loss(x, y).common_rate.item() < 0.05 / LN2


def test_rotated_mixture_pairs():
    x, y, k = rotated_mixture_pairs(400, sd=0.1, random_state=0)
    assert x.shape == y.shape == (400, 2) and k.shape == (400,)
    angles = 2 * math.pi * torch.arange(4) / 4
    means = 2 * torch.stack([angles.cos(), angles.sin()], 1)
    assert torch.equal(torch.cdist(x, means).argmin(1), k)
    assert torch.equal(torch.cdist(y, means).argmin(1), (k + 1) % 4)
    again = rotated_mixture_pairs(400, sd=0.1, random_state=0)
    assert torch.equal(x, again[0])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_samples=0),
        dict(n_samples=5, n_components=1),
        dict(n_samples=5, radius=0),
        dict(n_samples=5, sd=-1),
    ],
)
def test_rotated_mixture_pairs_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        rotated_mixture_pairs(**kwargs)


def test_bad_inputs_and_hyperparameters_raise():
    x, y = pairs()
    model = make()
    with pytest.raises(ValueError, match="must be"):
        model.loss(x[:, :1], y)
    with pytest.raises(ValueError, match="same number"):
        model.loss(x, y[:5])
    with pytest.raises(ValueError, match="2-D"):
        model.loss(x[0], y[0])
    with pytest.raises(ValueError):
        model.loss(x, y, beta=-1.0)
    with pytest.raises(ValueError, match="in1_features"):
        model.sample_y_given_x(torch.zeros(3, 5))
    with pytest.raises(ValueError):
        model.sample(0)
    with pytest.raises(ValueError):
        WynerModel(2, 2, beta=-0.1)
    with pytest.raises(ValueError):
        WynerModel(2, 2, warmup_steps=-1)
    with pytest.raises(ValueError, match="in1_features"):
        WynerModel(0, 2)
    with pytest.raises(ValueError, match="in2_features"):
        WynerModel(2, 0)
    with pytest.raises(TypeError, match="WynerModel"):
        wyner_loss(torch.nn.Linear(2, 2), x, y)


def test_float64_model_and_exported_names():
    import statlearn.info as info

    model = make().double()
    x, y = pairs()
    out = model.loss(x, y)
    assert out.total.dtype == torch.float64
    assert info.WynerModel is WynerModel


def test_each_input_is_checked_once(monkeypatch):
    x, y = pairs()
    model = make(warmup_steps=3)
    calls = []
    original = torch.isfinite

    def counting(t):
        calls.append(tuple(t.shape))
        return original(t)

    monkeypatch.setattr(torch, "isfinite", counting)
    model.loss(x, y)
    assert len(calls) == 2


@pytest.mark.gpu
def test_on_cuda_the_loss_draws_on_the_device_and_samples_match_cpu():
    x, y = pairs()
    model = make()
    cuda = make().cuda()
    out = cuda.loss(x, y, random_state=0)
    assert out.total.device.type == "cuda" and out.weight.device.type == "cuda"
    g = torch.Generator(device="cuda").manual_seed(0)
    assert torch.equal(cuda.loss(x, y, random_state=g).total, out.total)
    # the samplers draw on the CPU: one seed, the same pairs on both devices
    a, b = model.sample(5, random_state=1), cuda.sample(5, random_state=1)
    torch.testing.assert_close(b[0].cpu(), a[0], rtol=1e-4, atol=1e-5)
    history = fit(cuda, (x, y), objective=wyner_loss, epochs=1, quiet=True)
    assert history.units == "bits"
