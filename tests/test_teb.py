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
    TEBLoss,
    linear_gaussian_streams,
    linear_gaussian_transfer_entropy,
    log_likelihood_gain,
    predictor_loss,
    teb_loss,
)
from statlearn.training import fit


def make(seed=0, **kw):
    torch.manual_seed(seed)
    kw.setdefault("hidden", (16,))
    return TEB(3, 3, 1, 2, **kw)


def test_closed_form_transfer_entropy():
    assert linear_gaussian_transfer_entropy(1.0) == pytest.approx(0.5 * math.log(5))
    assert linear_gaussian_transfer_entropy(0.0) == 0.0
    assert linear_gaussian_transfer_entropy(2.0, noise_sd=1.0) == pytest.approx(
        0.5 * math.log(5)
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
    te_hat = 0.5 * math.log(target_only / both)
    assert te_hat == pytest.approx(linear_gaussian_transfer_entropy(1.0), abs=0.02)


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
    assert isinstance(out, TEBLoss)
    with torch.no_grad():
        mu, logvar = model.encode(x_past, y_past)
        mu_r, logvar_r = model.prior(y_past)
    expected = D.kl_divergence(
        D.Normal(mu, (0.5 * logvar).exp()), D.Normal(mu_r, (0.5 * logvar_r).exp())
    ).sum(1)
    assert out.rate.item() == pytest.approx(expected.mean().item(), rel=1e-5)
    assert out.total.item() == pytest.approx(
        (out.distortion + 0.3 * out.rate).item(), rel=1e-6
    )


def test_distortion_is_the_gaussian_nll_of_one_sample():
    x_past, y_past, y_next = linear_gaussian_streams(16, random_state=2)
    model = make()
    torch.manual_seed(5)
    out = model.loss(x_past, y_past, y_next)
    torch.manual_seed(5)
    mu, logvar = model.encode(x_past, y_past)
    z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
    mean = model.predictor(torch.cat([z, y_past], 1))
    sd = (0.5 * model.predictor.logvar).exp()
    nll = -D.Normal(mean, sd).log_prob(y_next).sum(1).mean()
    assert out.distortion.item() == pytest.approx(nll.item(), rel=1e-5)


def test_without_coupling_the_bound_goes_to_zero():
    train = linear_gaussian_streams(2000, c=0.0, random_state=0)
    torch.manual_seed(0)
    model = TEB(3, 3, 1, 2, hidden=(16,), beta=0.1)
    fit(model, train, objective=teb_loss, epochs=8, lr=3e-3, quiet=True, seed=0)
    with torch.no_grad():
        assert model.loss(*train).rate.item() < 0.05


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
    nll = model.predictor.nll(torch.cat([z, y_past], 1), y_next)
    one = model.log_likelihood(x_past, y_past, y_next, n_samples=1, random_state=0)
    torch.testing.assert_close(one, -nll)
    # the average over many samples approaches minus the expected distortion
    many = model.log_likelihood(x_past, y_past, y_next, n_samples=4000, random_state=1)
    torch.manual_seed(2)
    d = torch.stack([model.loss(x_past, y_past, y_next).distortion for _ in range(400)])
    assert many.mean().item() == pytest.approx(-d.mean().item(), abs=0.05)
    base = GaussianPredictor(3, 1, (8,))
    gain = log_likelihood_gain(model, base, x_past, y_past, y_next, random_state=0)
    expected = (
        model.log_likelihood(x_past, y_past, y_next, random_state=0).mean()
        + base.nll(y_past, y_next).mean()
    )
    assert gain == pytest.approx(expected.item(), rel=1e-5)


def test_predictor_loss_and_numpy_input():
    rng = np.random.default_rng(0)
    inputs, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    model = GaussianPredictor(3, 1, (4,))
    loss = predictor_loss(model, inputs, y)
    mean = model(inputs)
    sd = (0.5 * model.logvar).exp()
    expected = -D.Normal(mean, sd).log_prob(torch.as_tensor(y).float()).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_bad_inputs_raise():
    x_past, y_past, y_next = linear_gaussian_streams(8, random_state=0)
    model = make()
    with pytest.raises(ValueError, match="x_past must be"):
        model.loss(x_past[:, :2], y_past, y_next)
    with pytest.raises(ValueError, match="y_past must be"):
        model.loss(x_past, y_past[:, :2], y_next)
    with pytest.raises(ValueError, match="one row per time step"):
        model.loss(x_past, y_past[:5], y_next)
    with pytest.raises(ValueError, match="y must be"):
        model.loss(x_past, y_past, y_next[:5])
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
    with pytest.raises(ValueError):
        linear_gaussian_streams(0)


def test_transfer_entropy_rejects_bad_arguments():
    with pytest.raises(ValueError):
        linear_gaussian_transfer_entropy(1.0, noise_sd=0.0)
    with pytest.raises(ValueError):
        linear_gaussian_transfer_entropy(math.nan)
