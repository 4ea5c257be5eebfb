"""A student's script: NumPy arrays only, every public routine of the neural side (issue
15).

The data are scikit-learn's digits as a student loads them, ``load_digits().data / 16``
(float64 NumPy) and ``load_digits().target`` (int64 NumPy); nothing is converted by
hand. Every public routine of ``statlearn.training``, ``statlearn.robust`` and
``statlearn.info`` runs on them; the last test
checks that the script below really calls every name those packages export, so a new
routine cannot slip past it.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from statlearn import info, robust, training
from statlearn.nets import mlp

CALLED: set[str] = set()
RAN: set[str] = set()


@pytest.fixture(autouse=True)
def _record(request):
    yield
    RAN.add(request.node.name)


def called(*names: str) -> None:
    CALLED.update(names)


@pytest.fixture(scope="module")
def digits_np():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.data[:240] / 16  # float64 in [0, 1]
    y = bunch.target[:240]  # int64
    assert x.dtype == np.float64 and y.dtype == np.int64
    return x, y


@pytest.fixture(scope="module")
def trained(digits_np):
    x, y = digits_np
    torch.manual_seed(0)
    net = mlp(64, 10, hidden=(32,))
    hist = training.fit(net, (x, y), epochs=15, lr=1e-2, quiet=True, seed=0, val=(x, y))
    called("fit", "History")
    assert len(hist["loss"]) == 15 and hist["loss"][-1] < hist["loss"][0]
    return net


def _is_model_tensor(t, net) -> bool:
    p = next(net.parameters())
    return isinstance(t, torch.Tensor) and t.dtype == p.dtype and t.device == p.device


def test_training(digits_np, trained):
    x, y = digits_np
    logits = training.predict_logits(trained, x)
    assert _is_model_tensor(logits, trained) and logits.shape == (240, 10)
    acc = training.accuracy(trained, x, y)
    ev = training.evaluate(trained, x, y)
    assert 0.6 < acc <= 1 and ev["accuracy"] == pytest.approx(acc)
    out = training.cross_entropy(
        trained, torch.as_tensor(x[:8], dtype=torch.float32), torch.as_tensor(y[:8])
    )
    assert isinstance(out, training.ClassificationLoss)
    called(
        "predict_logits", "accuracy", "evaluate", "cross_entropy", "ClassificationLoss"
    )


def test_attacks(digits_np, trained):
    x, y = digits_np[0][:32], digits_np[1][:32]
    x_f = robust.fgsm(trained, x, y, eps=0.1)
    x_p = robust.pgd(
        trained, x, y, eps=0.1, steps=3, generator=torch.Generator().manual_seed(0)
    )
    x_c, ok = robust.cw_l2(
        trained, x, y, steps=20, search_steps=2, lr=0.1, return_success=True
    )
    for adv in (x_f, x_p, x_c):
        assert _is_model_tensor(adv, trained) and adv.shape == x.shape
        assert float((adv - torch.as_tensor(x, dtype=adv.dtype)).abs().max()) <= 1.0
    assert ok.dtype == torch.bool and ok.shape == (32,)
    clean = robust.robust_accuracy(trained, x, y)
    attacked = robust.robust_accuracy(
        trained, x, y, functools.partial(robust.pgd, eps=0.2, steps=5)
    )
    assert attacked <= clean
    called("fgsm", "pgd", "cw_l2", "robust_accuracy")


def test_defenses(digits_np):
    x, y = digits_np
    torch.manual_seed(0)
    transform = robust.adversarial_transform(
        functools.partial(robust.fgsm, eps=0.1), weight=0.5
    )
    net = mlp(64, 10, hidden=(16,))
    training.fit(net, (x, y), epochs=2, transform=transform, quiet=True)
    objective = robust.tempered_cross_entropy(10.0)
    training.fit(net, (x, y), epochs=1, objective=objective, quiet=True)
    q = robust.soft_labels(net, x, temperature=10.0)
    assert _is_model_tensor(q, net) and torch.allclose(q.sum(1), torch.ones(240))
    d = robust.defensive_distillation(
        mlp(64, 10, hidden=(16,)),
        mlp(64, 10, hidden=(16,)),
        x,
        y,
        temperature=10.0,
        epochs=2,
        quiet=True,
    )
    assert isinstance(d, robust.Distillation) and len(d.student_history["loss"]) == 2
    assert isinstance(
        objective(
            net, torch.as_tensor(x[:4], dtype=torch.float32), torch.as_tensor(y[:4])
        ),
        robust.TemperedLoss,
    )
    called(
        "adversarial_transform",
        "tempered_cross_entropy",
        "soft_labels",
        "defensive_distillation",
        "Distillation",
        "TemperedLoss",
    )


def test_smoothing(digits_np, trained):
    x, y = digits_np[0][:6], digits_np[1][:6]
    torch.manual_seed(0)
    training.fit(
        trained,
        (digits_np[0], digits_np[1]),
        epochs=1,
        transform=robust.noise_augmentation(0.25),
        quiet=True,
    )
    smooth = robust.Smooth(trained, 10, 0.25)
    gen = torch.Generator().manual_seed(0)
    pred = smooth.predict(x, 50, 0.05, generator=gen)
    c, r = smooth.certify(x, 20, 100, 0.05, generator=gen)
    one_c, one_r = smooth.certify(x[0], 20, 100, 0.05, generator=gen)
    assert (
        pred.shape == c.shape == r.shape == (6,)
        and type(one_c) is int
        and type(one_r) is float
    )
    counts = smooth.sample_counts(x, 10, generator=gen)
    assert counts.shape == (6, 10) and bool((counts.sum(1) == 10).all())
    assert _is_model_tensor(smooth(x), trained)
    acc = robust.certified_accuracy(r.numpy(), y, c.numpy(), np.array([0.0, 0.1]))
    assert acc.shape == (2,) and acc[0] >= acc[1]
    assert 0 < smooth.max_radius(100, 0.05) < 1
    assert robust.ABSTAIN == -1
    lcb = robust.lower_confidence_bound(np.array([90, 100]), 100, 0.05)
    pv = robust.binomial_pvalue(np.array([60]), np.array([100]))
    assert 0 < lcb[0] < lcb[1] < 1 and 0 < pv[0] < 1
    called(
        "Smooth",
        "certified_accuracy",
        "noise_augmentation",
        "lower_confidence_bound",
        "binomial_pvalue",
        "ABSTAIN",
    )


def test_information(digits_np):
    x, y = digits_np
    h = x[:, :8]  # a 'representation': eight pixels, float64
    assert 0 < float(info.mi_binning(y, h, bins=4)) <= np.log2(10) + 1e-6
    assert float(info.mi_kde(h, y, noise_variance=0.1)) >= 0
    p_xy = np.histogram2d(y, (x[:, 20] > 0.5).astype(int), bins=(10, 2))[0]
    p_xy = p_xy / p_xy.sum()
    assert float(info.mutual_information(p_xy)) > 0
    assert float(info.entropy(p_xy.sum(1))) == pytest.approx(
        float(np.log2(10)), abs=0.05
    )
    assert float(info.conditional_entropy(p_xy)) >= 0
    assert float(info.kl_divergence(p_xy.sum(1), np.full(10, 0.1))) >= 0
    assert float(info.gaussian_mutual_information(0.5, 2)) > 0
    ib = info.information_bottleneck(p_xy, 5.0, 3, seed=0)
    curve = info.information_curve(p_xy, np.array([0.5, 5.0]), 3, seed=0)
    assert isinstance(ib, info.IBResult) and isinstance(curve, info.InformationCurve)
    called(
        "mi_binning",
        "mi_kde",
        "mutual_information",
        "entropy",
        "conditional_entropy",
        "kl_divergence",
        "gaussian_mutual_information",
        "information_bottleneck",
        "information_curve",
        "IBResult",
        "InformationCurve",
    )


def test_critics_and_bounds(digits_np):
    x, y = digits_np
    onehot = np.eye(10)[y]  # float64
    torch.manual_seed(0)
    for critic, bound in [
        (info.SeparableCritic(64, 10, hidden=(16,), embed_dim=8), "infonce"),
        (info.ConcatCritic(64, 10, hidden=(16,)), "nwj"),
        (info.SeparableCritic(64, 10, hidden=(16,), embed_dim=8), "mine"),
        (info.ConditionalGaussian(64, 10, hidden=(16,)), "club"),
    ]:
        hist = info.train_critic(
            critic, x, onehot, bound=bound, epochs=1, batch_size=40, seed=0
        )
        est = info.evaluate_critic(critic, x, onehot, bound=bound, batch_size=40)
        assert (
            len(hist["mi"]) == 1
            and est.shape == (6,)
            and bool(torch.isfinite(est).all())
        )
        scores = critic(x[:8], onehot[:8])
        assert scores.shape == (8, 8)
    scores = np.random.default_rng(0).normal(size=(8, 8))
    for bound in (info.infonce, info.nwj, info.mine, info.club):
        assert np.isfinite(float(bound(scores)))
    assert set(info.BOUNDS) == {"infonce", "nwj", "mine", "club"}
    obj = info.critic_objective("infonce")
    out = obj(
        info.SeparableCritic(64, 10),
        torch.as_tensor(x[:8], dtype=torch.float32),
        torch.as_tensor(onehot[:8], dtype=torch.float32),
    )
    assert isinstance(out, info.CriticLoss)
    a, b = info.correlated_gaussians(16, 0.5, 2, seed=0)
    assert a.shape == b.shape == (16, 2)
    called(
        "SeparableCritic",
        "ConcatCritic",
        "ConditionalGaussian",
        "train_critic",
        "evaluate_critic",
        "infonce",
        "nwj",
        "mine",
        "club",
        "BOUNDS",
        "critic_objective",
        "CriticLoss",
        "correlated_gaussians",
    )


def test_vib(digits_np):
    x, y = digits_np
    torch.manual_seed(0)
    model = info.VIB(64, 10, latent_dim=4, hidden=(16,), beta=1e-3)
    hist = training.fit(
        model, (x, y), objective=info.vib_loss, epochs=3, lr=1e-2, quiet=True
    )
    terms = model.loss(x[:16], y[:16])
    mu, logvar = model.encode(x[:4])
    assert isinstance(terms, info.VIBLoss) and mu.shape == logvar.shape == (4, 4)
    assert _is_model_tensor(model(x[:4]), model) and {"rate", "distortion"} <= set(hist)
    called("VIB", "vib_loss", "VIBLoss")


def test_every_public_routine_was_called():
    """Runs last (file order): every name that training, robust and info export was
    exercised by the tests above.
    """
    others = {
        name
        for name in globals()
        if name.startswith("test_") and name != "test_every_public_routine_was_called"
    }
    if not others <= RAN:
        pytest.skip("run the whole file: this test checks what the other tests called")
    exported = {f"training.{n}" for n in training.__all__}
    exported |= {f"robust.{n}" for n in robust.__all__} | {
        f"info.{n}" for n in info.__all__
    }
    missing = sorted(name for name in exported if name.split(".", 1)[1] not in CALLED)
    assert not missing, f"the student script does not call {missing}"
