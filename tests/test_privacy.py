"""Tests for statlearn.info.privacy: the deep variational CLUB and the leakage probe
(chapter 10).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import distributions as D
from torch.nn import functional as F

from statlearn._checks import as_generator
from statlearn.info.privacy import DVCLUB, DVCLUBLoss, Leakage, fit_dvclub, leakage


def batch(n=48, d=12, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g)
    y = torch.randint(0, c, (n,), generator=g)
    s = torch.randint(0, 2, (n,), generator=g)
    return x, y, s


def standard_noise(shape):
    """The N(0, I) noise a model draws with random_state=None right after
    torch.manual_seed: from a generator seeded by torch's global one."""
    return torch.randn(shape, generator=as_generator(None))


def make(seed=0, **kw):
    torch.manual_seed(seed)
    kw.setdefault("latent_dim", 3)
    kw.setdefault("hidden", (16,))
    kw.setdefault("adversary_hidden", (8,))
    kw.setdefault("x_decoder_hidden", (8,))
    return DVCLUB(12, 4, **kw)


def test_complexity_is_the_closed_form_gaussian_kl_in_bits():
    x, y, s = batch()
    model = make(beta=0.5)
    mu, logvar = model.encode(x)
    q = D.Normal(mu, (0.5 * logvar).exp())
    expected = D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(1).mean() / math.log(2)
    out = model.loss(x, y, s)
    assert isinstance(out, DVCLUBLoss)
    assert out.rate.item() == pytest.approx(expected.item(), rel=1e-5)


def test_without_weights_the_model_is_a_plain_classifier():
    x, y, s = batch()
    model = make(beta=0.0, beta_s=0.0)
    model.train()
    torch.manual_seed(1)
    out = model.loss(x, y, s)
    torch.manual_seed(1)
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * standard_noise(mu.shape)
    ce = F.cross_entropy(model.decoder(z), y) / math.log(2)
    assert out.total.item() == pytest.approx(ce.item(), rel=1e-6)
    assert out.total.item() == pytest.approx(out.distortion.item(), rel=1e-6)
    # same gradients as the plain cross-entropy, and none reach the adversary
    params = model.main_parameters()
    g_total = torch.autograd.grad(out.total, params, allow_unused=True)
    g_ce = torch.autograd.grad(ce, params, allow_unused=True)
    for a, b in zip(g_total, g_ce):
        assert (a is None and b is None) or torch.allclose(a, b, atol=1e-7)
    adv = [p for p in model.parameters() if not any(p is q for q in params)]
    assert adv and len(params) + len(adv) == len(list(model.parameters()))


def test_adversarial_leakage_is_minus_the_adversary_cross_entropy():
    x, y, s = batch()
    model = make(beta=0.1, beta_s=2.0)
    torch.manual_seed(3)
    out = model.loss(x, y, s)
    torch.manual_seed(3)
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * standard_noise(mu.shape)
    adv = F.cross_entropy(model.adversary(z), s) / math.log(2)
    assert out.leakage.item() == pytest.approx(-adv.item(), rel=1e-5)
    total = out.distortion + 0.1 * out.rate + 2.0 * out.leakage
    assert out.total.item() == pytest.approx(total.item(), rel=1e-5)
    assert out.reconstruction.item() == 0.0


@pytest.mark.parametrize("conditional", [True, False])
def test_decoder_bound_is_rate_plus_gaussian_reconstruction(conditional):
    x, y, s = batch()
    model = make(leakage="decoder", conditional=conditional, sigma_x=0.2, beta_s=1.0)
    assert model.adversary is None
    torch.manual_seed(4)
    out = model.loss(x, y, s)
    torch.manual_seed(4)
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * standard_noise(mu.shape)
    inp = torch.cat([z, F.one_hot(s, 2).float()], 1) if conditional else z
    nll = -D.Normal(model.x_decoder(inp), 0.2).log_prob(x).sum(1).mean()
    assert out.reconstruction.item() == pytest.approx(nll.item() / math.log(2), 1e-5)
    assert out.leakage.item() == pytest.approx(
        (out.rate + out.reconstruction).item(), rel=1e-5
    )


def test_decoder_sees_s_only_when_conditional():
    assert make(leakage="decoder").x_decoder[1].in_features == 3 + 2
    assert make(leakage="decoder", conditional=False).x_decoder[1].in_features == 3


def test_alternating_training_teaches_the_adversary_and_the_decoder():
    x, y, s = batch(n=128)
    s = (x[:, 0] > 0.5).long()  # S is part of the utility label, so z keeps it
    y = 2 * s + (x[:, 1] > 0.5).long()
    model = make(latent_dim=4)
    before = [p.detach().clone() for p in model.adversary.parameters()]
    history = fit_dvclub(
        model, (x, y, s), epochs=40, batch_size=32, lr=1e-2, random_state=0
    )
    assert set(history) == {
        "loss",
        "distortion",
        "rate",
        "leakage",
        "reconstruction",
        "adversary",
    }
    assert history.epochs == 40 and not model.training
    assert history["adversary"][-1] < 0.5 * history["adversary"][0]
    assert history["distortion"][-1] < history["distortion"][0]
    after = list(model.adversary.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))


def test_training_is_reproducible_and_accepts_numpy():
    x, y, s = batch()
    runs = []
    for _ in range(2):
        model = make(beta_s=0.5)
        fit_dvclub(model, (x.numpy(), y.numpy(), s.numpy()), epochs=2, random_state=0)
        runs.append(model.release(x, random_state=0))
    assert torch.equal(runs[0], runs[1])


def weights(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("kind", ["adversary", "decoder"])
def test_one_random_state_repeats_a_whole_dvclub_run(kind):
    """The shuffle, the adversary's samples of z and the encoder's all follow
    random_state: the global generator is moved between the runs and does not matter."""
    x, y, s = batch()
    runs = {}
    for run, state in enumerate((0, 0, 1)):
        model = make(beta=0.1, beta_s=0.5, leakage=kind)
        torch.manual_seed(100 + run)  # a different global state before each run
        history = fit_dvclub(
            model,
            (x, y, s),
            epochs=2,
            batch_size=16,
            adversary_steps=2,
            random_state=state,
        )
        runs.setdefault(state, []).append((weights(model), history))
    (w0, h0), (w1, h1) = runs[0]
    assert all(torch.equal(a, b) for a, b in zip(w0, w1))
    assert h0 == h1 and h0.units == "bits"
    ((w2, _),) = runs[1]
    assert any(not torch.equal(a, b) for a, b in zip(w0, w2))


def test_eot_with_one_draw_per_call_works_on_the_vib_and_the_dvclub():
    from statlearn.info.vib import VIB
    from statlearn.robust.attacks import EOT

    assert DVCLUB.forward is VIB.forward  # one implementation of the prediction
    x, y, _ = batch()
    torch.manual_seed(0)
    for model in (VIB(12, 4, latent_dim=3, hidden=(16,)), make()):
        model.eval()
        eot = EOT(model, n_attack=3, n_eval=5, model_kwargs={"n_samples": 1})
        with torch.no_grad():
            probs = eot(x).exp()
        assert probs.shape == (48, 4)
        assert torch.allclose(probs.sum(1), torch.ones(48), atol=1e-5)
        xr = x.clone().requires_grad_(True)
        eot(xr).gather(1, y[:, None]).sum().backward()
        assert xr.grad is not None and xr.grad.abs().sum() > 0
        # one draw per call: a single draw is the log-softmax of one sample's logits
        torch.manual_seed(1)
        one = model(x, n_samples=1)
        torch.manual_seed(1)
        mu, logvar = model.encode(x)
        z = mu + (0.5 * logvar).exp() * standard_noise(mu.shape)
        assert torch.allclose(one, F.log_softmax(model.decode(z), 1), atol=1e-6)


def test_an_explicit_random_state_repeats_the_loss_and_the_adversary_loss():
    x, y, s = batch()
    model = make(beta=0.1, beta_s=0.5)
    assert torch.equal(
        model.loss(x, y, s, random_state=2).total,
        model.loss(x, y, s, random_state=2).total,
    )
    a = model.adversary_cross_entropy(x, s, random_state=3)
    assert torch.equal(a, model.adversary_cross_entropy(x, s, random_state=3))
    assert not torch.equal(a, model.adversary_cross_entropy(x, s, random_state=4))


def test_the_dvclub_loss_checks_its_batch_once(monkeypatch):
    x, y, s = batch()
    model = make(beta=0.1, beta_s=0.5)
    calls = []
    original = torch.isfinite

    def counting(t):
        calls.append(tuple(t.shape))
        return original(t)

    monkeypatch.setattr(torch, "isfinite", counting)
    model.loss(x, y, s)
    assert len(calls) <= 1, calls


def test_release_mean_and_sample():
    x, _, _ = batch()
    model = make()
    mu, _ = model.encode(x)
    assert torch.equal(model.release(x, mean=True), mu.detach())
    a, b = model.release(x, random_state=5), model.release(x, random_state=5)
    assert torch.equal(a, b) and not torch.equal(a, mu)
    assert not a.requires_grad


def test_eval_forward_averages_probabilities():
    x, _, _ = batch()
    model = make(n_samples_eval=7).eval()
    out = model(x)
    assert out.shape == (48, 4)
    assert torch.allclose(out.exp().sum(1), torch.ones(48), atol=1e-5)


def test_leakage_reaches_one_when_z_contains_s_and_chance_when_independent():
    g = torch.Generator().manual_seed(0)
    n = 800
    s = torch.randint(0, 2, (n,), generator=g)
    z = torch.randn(n, 4, generator=g)
    z_with_s = torch.cat([z, s[:, None].float() * 3.0], 1)
    full = leakage(z_with_s, s, random_state=0)
    assert isinstance(full, Leakage)
    assert full.accuracy == 1.0
    none = leakage(z, s, random_state=0)
    assert abs(none.accuracy - 0.5) < 0.1
    assert none.accuracy <= none.chance + 0.08
    assert 1 <= none.epochs <= 200


def test_leakage_floor_from_the_utility_label():
    g = torch.Generator().manual_seed(1)
    n = 600
    y = torch.randint(0, 10, (n,), generator=g)
    flip = torch.rand(n, generator=g) < 0.1
    s = (y % 2) ^ flip.long()
    z = F.one_hot(y, 10).float() + 0.05 * torch.randn(n, 10, generator=g)
    out = leakage(
        z[:400], s[:400], z_test=z[400:], s_test=s[400:], y=y[:400], y_test=y[400:]
    )
    expected = ((y[400:] % 2) == s[400:]).float().mean().item()
    assert out.floor == pytest.approx(expected)
    # a representation that holds Y (and nothing else about S) reaches the floor only
    assert out.accuracy == pytest.approx(out.floor, abs=0.03)
    assert math.isnan(leakage(z, s, random_state=0).floor)


def test_leakage_accepts_numpy_and_is_reproducible():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 3))
    s = (z[:, 0] > 0).astype(int)
    a = leakage(z, s, random_state=3)
    b = leakage(torch.from_numpy(z), torch.from_numpy(s), random_state=3)
    assert (a.accuracy, a.chance, a.epochs) == (b.accuracy, b.chance, b.epochs)
    assert a.accuracy > 0.9


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(leakage="both"), "leakage must be one of"),
        (dict(beta=-1.0), "beta must be >= 0"),
        (dict(beta_s=-0.1), "beta_s must be >= 0"),
        (dict(sigma_x=0.0), "sigma_x must be > 0"),
        (dict(num_sensitive=1), "num_sensitive must be >= 2"),
        (dict(num_classes=1), "num_classes must be >= 2"),
        (dict(n_samples_eval=0), "n_samples_eval must be >= 1"),
    ],
)
def test_constructor_errors(kw, match):
    args = dict(in_features=12, num_classes=4, latent_dim=3)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        DVCLUB(**args)


def test_loss_and_fit_errors():
    x, y, s = batch()
    model = make()
    with pytest.raises(ValueError, match="s must hold labels"):
        model.loss(x, y, s + 2)
    with pytest.raises(ValueError, match="y must have 48 labels"):
        model.loss(x, y[:5], s)
    with pytest.raises(ValueError, match="beta_s must be >= 0"):
        model.loss(x, y, s, beta_s=-1.0)
    with pytest.raises(TypeError, match="random_state"):
        fit_dvclub(model, (x, y, s), random_state="zero")
    with pytest.raises(ValueError, match="beta must be >= 0"):
        model.loss(x, y, s, beta=-1.0)
    with pytest.raises(ValueError, match="x must be a batch"):
        model.encode(torch.rand(12))
    with pytest.raises(ValueError, match="needs leakage='adversary'"):
        make(leakage="decoder").adversary_cross_entropy(x, s)
    with pytest.raises(ValueError, match=r"train must be a tuple \(x, y, s\)"):
        fit_dvclub(model, (x, y))
    with pytest.raises(ValueError, match="adversary_steps must be >= 1"):
        fit_dvclub(model, (x, y, s), adversary_steps=0)
    with pytest.raises(ValueError, match="adversary_lr must be > 0"):
        fit_dvclub(model, (x, y, s), adversary_lr=0.0)
    with pytest.raises(ValueError, match=r"train\[2\] \(s\) must have 48"):
        fit_dvclub(model, (x, y, s[:3]))
    with pytest.raises(ValueError, match="train\\[0\\] \\(x\\) must be"):
        fit_dvclub(model, (torch.rand(12), y, s))
    with pytest.raises(TypeError, match="model must be a DVCLUB"):
        fit_dvclub(torch.nn.Linear(2, 2), (x, y, s))


def test_leakage_errors():
    z, s = torch.randn(50, 2), torch.arange(50) % 2
    with pytest.raises(ValueError, match="z must be 2-D"):
        leakage(torch.randn(50), s)
    with pytest.raises(ValueError, match="s must have 50 labels"):
        leakage(z, s[:10])
    with pytest.raises(ValueError, match="given together"):
        leakage(z, s, z_test=z)
    with pytest.raises(ValueError, match="width of z"):
        leakage(z, s, z_test=torch.randn(5, 3), s_test=s[:5])
    with pytest.raises(ValueError, match="at least two sensitive values"):
        leakage(z, torch.zeros(50, dtype=torch.long))
    with pytest.raises(ValueError, match="y_test must be given"):
        leakage(z, s, z_test=z, s_test=s, y=s)
    with pytest.raises(ValueError, match="val_fraction must be in"):
        leakage(z, s, val_fraction=1.0)
    with pytest.raises(ValueError, match="test_fraction must be in"):
        leakage(z, s, test_fraction=0.0)
    with pytest.raises(ValueError, match="patience must be >= 1"):
        leakage(z, s, patience=0)
    with pytest.raises(ValueError, match="max_epochs must be >= 1"):
        leakage(z, s, max_epochs=0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        leakage(z, s, lr=-1.0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        leakage(z, s, batch_size=0)
    with pytest.raises(ValueError, match="no training rows"):
        leakage(z[:2], s[:2], test_fraction=0.9)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(y=[math.nan] + [0] * 49), "y must hold integer class labels"),
        (dict(y=[0.5] * 50), "y must hold integer class labels"),
        (dict(y=[-1] * 50), "y must hold class labels >= 0"),
        (dict(s=np.r_[np.nan, np.arange(49) % 2]), "s must hold integer class labels"),
        (dict(s=np.arange(50) % 2 - 1), "s must hold class labels >= 0"),
        (dict(s=["a", "b"] * 25), "s must hold integer class labels"),
        (
            dict(z_test=np.zeros((4, 2)), s_test=[0, 1, 0.5, 1]),
            "s_test must hold integer",
        ),
    ],
)
def test_leakage_names_the_bad_labels(kw, match):
    args = dict(z=torch.randn(50, 2), s=torch.arange(50) % 2) | kw
    z, s = args.pop("z"), args.pop("s")
    with pytest.raises((ValueError, TypeError), match=match):
        leakage(z, s, max_epochs=1, **args)
