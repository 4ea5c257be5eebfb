"""Tests for statlearn.info.teb: the transfer entropy bottleneck (chapter 12)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import distributions as D

from statlearn.info.teb import (
    TEB,
    GaussianPredictor,
    PredictorLoss,
    TEBLoss,
    linear_gaussian_streams,
    linear_gaussian_transfer_entropy,
    log_likelihood_gain,
    predictor_loss,
    teb_loss,
)
from statlearn.training import fit

LN2 = math.log(2.0)


def make(seed=0, **kw):
    torch.manual_seed(seed)
    kw.setdefault("hidden", (16,))
    return TEB(3, 3, 1, 2, **kw)


def test_closed_form_transfer_entropy_in_bits():
    assert linear_gaussian_transfer_entropy(1.0) == pytest.approx(0.5 * math.log2(5))
    assert linear_gaussian_transfer_entropy(0.0) == 0.0
    assert linear_gaussian_transfer_entropy(2.0, noise_sd=1.0) == pytest.approx(
        0.5 * math.log2(5)
    )
    # c = sqrt(3) s: four times the variance, exactly one bit
    assert linear_gaussian_transfer_entropy(math.sqrt(3.0), noise_sd=1.0) == (
        pytest.approx(1.0)
    )


def test_closed_form_matches_least_squares_on_simulated_streams():
    x_past, y_past, y_next = linear_gaussian_streams(
        100_000, c=1.0, history=1, random_state=0
    )
    y = y_next.double().squeeze(1)

    def residual_variance(*columns):
        a = torch.stack([torch.ones_like(y), *columns], 1)
        coef = torch.linalg.lstsq(a, y.unsqueeze(1)).solution
        return (y - (a @ coef).squeeze(1)).var().item()

    target_only = residual_variance(y_past[:, 0].double())
    both = residual_variance(y_past[:, 0].double(), x_past[:, 0].double())
    assert target_only == pytest.approx(1.25, rel=0.02)
    assert both == pytest.approx(0.25, rel=0.02)
    te_hat = 0.5 * math.log2(target_only / both)
    assert te_hat == pytest.approx(
        linear_gaussian_transfer_entropy(1.0), abs=0.02 / LN2
    )


def test_streams_are_consecutive_windows():
    x_past, y_past, y_next = linear_gaussian_streams(
        50, c=0.5, history=4, random_state=1
    )
    assert x_past.shape == y_past.shape == (50, 4) and y_next.shape == (50, 1)
    assert torch.equal(y_past[1:, -1], y_next[:-1, 0])
    assert torch.equal(x_past[1:, :-1], x_past[:-1, 1:])
    again = linear_gaussian_streams(50, c=0.5, history=4, random_state=1)
    assert torch.equal(y_next, again[2])


def test_rate_equals_the_gaussian_closed_form():
    x_past, y_past, y_next = linear_gaussian_streams(64, random_state=0)
    model = make()
    out = model.loss(x_past, y_past, y_next, beta=0.3)
    assert isinstance(out, TEBLoss) and TEBLoss.units == "bits"
    with torch.no_grad():
        mu, logvar = model.encode(x_past, y_past)
        mu_r, logvar_r = model.prior(y_past)
    expected = D.kl_divergence(
        D.Normal(mu, (0.5 * logvar).exp()), D.Normal(mu_r, (0.5 * logvar_r).exp())
    ).sum(1)
    # the closed form in nats, reported in bits
    assert out.rate.item() == pytest.approx(expected.mean().item() / LN2, rel=1e-5)
    assert out.total.item() == pytest.approx(
        (out.distortion + 0.3 * out.rate).item(), rel=1e-6
    )


def test_distortion_is_the_gaussian_nll_of_one_sample():
    x_past, y_past, y_next = linear_gaussian_streams(16, random_state=2)
    model = make()
    out = model.loss(x_past, y_past, y_next, random_state=5)
    g = torch.Generator().manual_seed(5)
    mu, logvar = model.encode(x_past, y_past)
    z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g)
    mean = model.predictor(torch.cat([z, y_past], 1))
    sd = (0.5 * model.predictor.logvar).exp()
    nll = -D.Normal(mean, sd).log_prob(y_next).sum(1).mean()
    assert out.distortion.item() == pytest.approx(nll.item() / LN2, rel=1e-5)


def test_the_loss_follows_random_state_and_the_global_generator():
    batch = linear_gaussian_streams(32, random_state=4)
    model = make()
    with torch.no_grad():
        a = model.loss(*batch, random_state=0).total
        b = teb_loss(model, *batch, random_state=torch.Generator().manual_seed(0))
        c = model.loss(*batch, random_state=1).total
        torch.manual_seed(7)
        d = model.loss(*batch).total
        torch.manual_seed(7)
        e = teb_loss(model, *batch).total
    assert torch.equal(a, b.total) and not torch.equal(a, c) and torch.equal(d, e)


def test_fit_with_random_state_repeats_a_run():
    train = linear_gaussian_streams(256, random_state=0)

    def run(random_state):
        model = make(seed=0)
        history = fit(
            model,
            train,
            objective=teb_loss,
            epochs=2,
            batch_size=64,
            quiet=True,
            random_state=random_state,
        )
        return history, model.predictor.logvar.detach().clone()

    (h1, p1), (h2, p2), (h3, _) = run(0), run(0), run(1)
    assert h1["loss"] == h2["loss"] and torch.equal(p1, p2)
    assert h1["loss"] != h3["loss"]
    assert h1.units == "bits" and set(h1) >= {"distortion", "rate"}


def test_without_coupling_the_bound_goes_to_zero():
    train = linear_gaussian_streams(2000, c=0.0, random_state=0)
    torch.manual_seed(0)
    model = TEB(3, 3, 1, 2, hidden=(16,), beta=0.1)
    fit(
        model,
        train,
        objective=teb_loss,
        epochs=8,
        lr=3e-3,
        quiet=True,
        random_state=0,
    )
    with torch.no_grad():  # below 0.05 nats
        assert model.loss(*train).rate.item() < 0.05 / LN2


def test_log_likelihood_through_the_code_and_the_gain():
    x_past, y_past, y_next = linear_gaussian_streams(40, random_state=3)
    model = make()
    ll = model.log_likelihood(x_past, y_past, y_next, n_samples=4, random_state=0)
    assert ll.shape == (40,)
    again = model.log_likelihood(x_past, y_past, y_next, n_samples=4, random_state=0)
    assert torch.equal(ll, again)
    # one sample of z: minus the distortion of that sample, per example
    g = torch.Generator().manual_seed(0)
    mu, logvar = model.encode(x_past, y_past)
    z = mu + (0.5 * logvar).exp() * torch.randn(1, *mu.shape, generator=g)[0]
    log_p = model.predictor.log_prob(torch.cat([z, y_past], 1), y_next)
    one = model.log_likelihood(x_past, y_past, y_next, n_samples=1, random_state=0)
    torch.testing.assert_close(one, log_p)
    # the average over many samples (nats) approaches minus the expected distortion
    # (bits)
    many = model.log_likelihood(x_past, y_past, y_next, n_samples=4000, random_state=1)
    torch.manual_seed(2)
    d = torch.stack([model.loss(x_past, y_past, y_next).distortion for _ in range(400)])
    assert many.mean().item() == pytest.approx(-d.mean().item() * LN2, abs=0.05)
    base = GaussianPredictor(3, 1, (8,))
    gain = log_likelihood_gain(model, base, x_past, y_past, y_next, random_state=0)
    expected_nats = (
        model.log_likelihood(x_past, y_past, y_next, random_state=0).mean()
        - base.log_prob(y_past, y_next).mean()
    )
    assert gain == pytest.approx(expected_nats.item() / LN2, rel=1e-5)


def test_predictor_loss_and_numpy_input():
    rng = np.random.default_rng(0)
    inputs, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    model = GaussianPredictor(3, 1, (4,))
    loss = predictor_loss(model, inputs, y)
    assert isinstance(loss, PredictorLoss) and PredictorLoss.units == "bits"
    assert loss._fields[0] == "total" and loss.total is loss.distortion
    mean = model(inputs)
    sd = (0.5 * model.logvar).exp()
    expected = -D.Normal(mean, sd).log_prob(torch.as_tensor(y).float()).mean()
    assert loss.total.item() == pytest.approx(expected.item() / LN2, rel=1e-5)
    history = fit(model, (inputs, y), objective=predictor_loss, epochs=2, quiet=True)
    assert history.units == "bits" and "distortion" in history


def test_bad_inputs_raise():
    x_past, y_past, y_next = linear_gaussian_streams(8, random_state=0)
    model = make()
    with pytest.raises(ValueError, match="x_past must be .*in1_features"):
        model.loss(x_past[:, :2], y_past, y_next)
    with pytest.raises(ValueError, match="y_past must be .*in2_features"):
        model.loss(x_past, y_past[:, :2], y_next)
    with pytest.raises(ValueError, match="one row per time step"):
        model.loss(x_past, y_past[:5], y_next)
    with pytest.raises(ValueError, match="y_next must be"):
        model.loss(x_past, y_past, y_next[:5])
    with pytest.raises(ValueError, match="y must be"):
        GaussianPredictor(3).log_prob(y_past, y_next[:5])
    with pytest.raises(ValueError):
        model.loss(x_past, y_past, y_next, beta=-1)
    with pytest.raises(ValueError, match="inputs must be"):
        GaussianPredictor(3)(torch.zeros(2, 4))
    with pytest.raises(ValueError):
        TEB(3, 3, beta=-1)
    with pytest.raises(ValueError):
        model.log_likelihood(x_past, y_past, y_next, n_samples=0)
    with pytest.raises(TypeError, match="TEB"):
        teb_loss(torch.nn.Linear(2, 2), x_past, y_past, y_next)
    with pytest.raises(TypeError, match="GaussianPredictor"):
        predictor_loss(model, y_past, y_next)
    with pytest.raises(TypeError):
        log_likelihood_gain(model, model, x_past, y_past, y_next)
    with pytest.raises(TypeError):
        log_likelihood_gain(GaussianPredictor(3), model, x_past, y_past, y_next)
    with pytest.raises(ValueError, match="target's past"):
        log_likelihood_gain(model, GaussianPredictor(4), x_past, y_past, y_next)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(a=1.0),
        dict(noise_sd=0),
        dict(history=0),
        dict(c=math.inf),
        dict(burn_in=-1),
    ],
)
def test_streams_reject_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        linear_gaussian_streams(10, **kwargs)


def test_streams_need_at_least_one_window():
    with pytest.raises(ValueError, match="n_samples"):
        linear_gaussian_streams(0)


def test_transfer_entropy_rejects_bad_arguments():
    with pytest.raises(ValueError):
        linear_gaussian_transfer_entropy(1.0, noise_sd=0.0)
    with pytest.raises(ValueError):
        linear_gaussian_transfer_entropy(math.nan)


def test_each_input_is_checked_once(monkeypatch):
    batch = linear_gaussian_streams(16, random_state=0)
    model = make()
    base = GaussianPredictor(3, 1, (4,))
    calls = []
    original = torch.isfinite

    def counting(t):
        calls.append(tuple(t.shape))
        return original(t)

    monkeypatch.setattr(torch, "isfinite", counting)
    model.loss(*batch)
    assert len(calls) == 3  # x_past, y_past, y_next; nothing inside the predictor
    calls.clear()
    log_likelihood_gain(model, base, *batch, n_samples=2, random_state=0)
    assert len(calls) == 3


@pytest.mark.gpu
def test_on_cuda_the_loss_draws_on_the_device_and_the_gain_matches_cpu():
    batch = linear_gaussian_streams(64, random_state=0)
    model, base = make(), GaussianPredictor(3, 1, (4,))
    cuda, base_cuda = make().cuda(), GaussianPredictor(3, 1, (4,))
    base_cuda.load_state_dict(base.state_dict())
    base_cuda.cuda()
    out = cuda.loss(*batch, random_state=0)
    assert out.total.device.type == "cuda"
    # the held-out log-likelihood draws on the CPU: the same gain on both devices
    gain = log_likelihood_gain(model, base, *batch, random_state=0)
    gain_cuda = log_likelihood_gain(cuda, base_cuda, *batch, random_state=0)
    assert gain_cuda == pytest.approx(gain, abs=1e-4)
    history = fit(cuda, batch, objective=teb_loss, epochs=1, quiet=True)
    assert history.units == "bits"


@pytest.mark.parametrize("n_samples", [1, 3])
def test_a_short_y_next_is_named_with_its_own_shape(n_samples):
    x_past, y_past, y_next = linear_gaussian_streams(8, random_state=0)
    model = make()
    expected = r"y_next must be \(8, 1\) \(one row per input\); got \(5, 1\)"
    with pytest.raises(ValueError, match=expected):
        model.log_likelihood(x_past, y_past, y_next[:5], n_samples=n_samples)
    with pytest.raises(ValueError, match=expected):
        model.loss(x_past, y_past, y_next[:5])
