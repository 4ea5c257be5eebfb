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
from statlearn.functional import log_mean_softmax
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
    hist = training.fit(
        net, (x, y), epochs=15, lr=1e-2, quiet=True, random_state=0, val=(x, y)
    )
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
    assert 0.6 < acc <= 1 and ev.accuracy == pytest.approx(acc)
    assert isinstance(ev, training.Evaluation)
    out = training.cross_entropy(
        trained, torch.as_tensor(x[:8], dtype=torch.float32), torch.as_tensor(y[:8])
    )
    assert isinstance(out, training.ClassificationLoss)
    called(
        "predict_logits",
        "accuracy",
        "evaluate",
        "Evaluation",
        "cross_entropy",
        "ClassificationLoss",
    )


def test_attacks(digits_np, trained):
    x, y = digits_np[0][:32], digits_np[1][:32]
    x_f = robust.fgsm(trained, x, y, eps=0.1)
    x_p = robust.pgd(
        trained, x, y, eps=0.1, steps=3, random_state=torch.Generator().manual_seed(0)
    )
    x_c = robust.cw_l2(trained, x, y, steps=20, search_steps=2, lr=0.1)
    details = robust.cw_l2_details(trained, x, y, steps=20, search_steps=2, lr=0.1)
    assert isinstance(details, robust.CWResult) and torch.equal(details.x_adv, x_c)
    ok = details.success
    for adv in (x_f, x_p, x_c):
        assert _is_model_tensor(adv, trained) and adv.shape == x.shape
        assert float((adv - torch.as_tensor(x, dtype=adv.dtype)).abs().max()) <= 1.0
    assert ok.dtype == torch.bool and ok.shape == (32,)
    clean = robust.robust_accuracy(trained, x, y)
    attacked = robust.robust_accuracy(
        trained, x, y, functools.partial(robust.pgd, eps=0.2, steps=5)
    )
    assert attacked <= clean
    called("fgsm", "pgd", "cw_l2", "cw_l2_details", "CWResult", "robust_accuracy")


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
    pred = smooth.predict(x, 50, 0.05, random_state=gen)
    c, r = smooth.certify(x, 20, 100, 0.05, random_state=gen)
    one_c, one_r = smooth.certify(x[0], 20, 100, 0.05, random_state=gen)
    assert (
        pred.shape == c.shape == r.shape == (6,)
        and type(one_c) is int
        and type(one_r) is float
    )
    counts = smooth.sample_counts(x, 10, random_state=gen)
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
    ib = info.information_bottleneck(p_xy, 5.0, 3, random_state=0)
    curve = info.information_curve(p_xy, np.array([0.5, 5.0]), 3, random_state=0)
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
            critic, x, onehot, bound=bound, epochs=1, batch_size=40, random_state=0
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
    a, b = info.correlated_gaussians(16, 0.5, 2, random_state=0)
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
    assert isinstance(model, info.StochasticClassifier) and hist.units == "bits"
    called("VIB", "vib_loss", "VIBLoss", "StochasticClassifier")


def test_linear_probe(digits_np, trained):
    x, y = digits_np
    probe = training.linear_probe(x[:160], y[:160], Cs=3, cv=3)
    assert probe.score(x[160:], y[160:]) > 0.6
    logits = training.predict_logits(trained, x)  # a tensor with the model's dtype
    on_logits = training.linear_probe(logits[:160], y[:160], Cs=3, cv=3)
    assert on_logits.score(logits[160:].numpy(), y[160:]) > 0.5
    called("linear_probe")


def test_augmentations_and_vmf(digits_np):
    x = digits_np[0][:16]
    images = x.reshape(16, 1, 8, 8)  # float64 NumPy images
    shifted = info.random_shift(images, 1, random_state=0)
    erased = info.random_erase(images, 3, 1.0, random_state=0)
    noisy = info.gaussian_noise(x, 0.1, random_state=0)
    for out, shape in ((shifted, images.shape), (erased, images.shape)):
        assert out.shape == shape and out.dtype == torch.float64
    assert noisy.shape == x.shape and noisy.dtype == torch.float64
    assert float(noisy.min()) >= 0 and float(noisy.max()) <= 1
    assert bool((erased <= torch.as_tensor(images)).all())
    assert float(shifted.sum()) <= float(images.sum()) + 1e-9  # zeros come in
    augment = info.Augment(max_shift=1, erase_size=3, erase_p=0.5, noise_sigma=0.1)
    view = augment(x, random_state=0)
    assert view.shape == (16, 64) and not torch.equal(view, torch.as_tensor(x))
    assert np.isfinite(info.vmf_log_normalizer(10.0, 8))
    assert 0 < info.vmf_mean_resultant_length(10.0, 8) < 1
    mu = np.random.default_rng(0).normal(size=(16, 8))  # float64 mean directions
    z = info.vmf_sample(mu, 50.0, random_state=0)
    assert z.shape == (16, 8) and z.dtype == torch.float64
    assert torch.allclose(z.norm(dim=1), torch.ones(16, dtype=torch.float64))
    log_p = info.vmf_log_prob(z, mu, 50.0)
    kl = info.vmf_kl(mu, 50.0, mu, 10.0)
    assert log_p.shape == kl.shape == (16,) and bool(torch.isfinite(log_p).all())
    assert bool((kl > 0).all())  # kappa_e != kappa_b: a floor above zero
    residual = info.residual_information(z, mu, mu, 50.0, 10.0)
    assert residual.ndim == 0 and bool(torch.isfinite(residual))
    assert float(info.residual_information(z, mu, mu, 50.0, 50.0)) == pytest.approx(0)
    scores = np.random.default_rng(1).normal(size=(8, 8))
    assert np.isfinite(float(info.nt_xent(scores)))
    loss = info.simclr_nt_xent(mu[:8], mu[8:], temperature=0.5)
    assert loss.ndim == 0 and float(loss) > 0
    called(
        "random_shift",
        "random_erase",
        "gaussian_noise",
        "Augment",
        "vmf_log_normalizer",
        "vmf_mean_resultant_length",
        "vmf_sample",
        "vmf_log_prob",
        "vmf_kl",
        "residual_information",
        "nt_xent",
        "simclr_nt_xent",
    )


def test_contrastive(digits_np):
    x, y = digits_np
    torch.manual_seed(0)
    net = info.ContrastiveNet(
        64, hidden=(32,), rep_dim=16, head_hidden=(16,), latent_dim=8
    )
    augment = info.Augment(max_shift=1, erase_size=3, erase_p=0.5, noise_sigma=0.1)
    objective = functools.partial(info.csimclr_loss, augment=augment, beta=0.1)
    hist = training.fit(
        net, x, objective=objective, epochs=8, batch_size=60, lr=1e-2, quiet=True
    )
    assert {"contrastive", "residual"} <= set(hist)
    # at the start no better than chance among the 2B - 1 = 119 other views
    assert hist["contrastive"][0] == pytest.approx(np.log2(119), abs=0.1)
    assert hist["loss"][-1] < hist["loss"][0]
    out = info.csimclr_loss(net, x[:16], augment=augment, beta=0.1, random_state=0)
    assert isinstance(out, info.ContrastiveLoss)
    assert _is_model_tensor(out.total, net) and out.total.ndim == 0
    mu = net(x[:4])
    assert _is_model_tensor(mu, net) and mu.shape == (4, 8)
    probe = training.linear_probe(net.represent(x[:160]), y[:160], Cs=3, cv=3)
    assert probe.score(net.represent(x[160:]).detach().numpy(), y[160:]) > 0.3
    called("ContrastiveNet", "csimclr_loss", "ContrastiveLoss")


def test_privacy(digits_np):
    x, y = digits_np
    s = (y % 2).astype(np.int64)  # the sensitive attribute: the digit's parity
    torch.manual_seed(0)
    model = info.DVCLUB(
        64,
        10,
        latent_dim=4,
        hidden=(32,),
        adversary_hidden=(16,),
        beta=1e-3,
        beta_s=0.5,
        n_samples_eval=4,
    )
    hist = info.fit_dvclub(
        model, (x, y, s), epochs=4, batch_size=60, lr=1e-2, random_state=0
    )
    assert len(hist["loss"]) == 4 and {"adversary", "rate", "leakage"} <= set(hist)
    assert hist["distortion"][-1] < hist["distortion"][0]
    terms = model.loss(x[:16], y[:16], s[:16])
    assert isinstance(terms, info.DVCLUBLoss) and _is_model_tensor(terms.total, model)
    assert _is_model_tensor(model(x[:4]), model)
    z = model.release(x, random_state=0)
    assert _is_model_tensor(z, model) and z.shape == (240, 4)
    leak = info.leakage(z, s, y=y, hidden=(), max_epochs=20, patience=5, random_state=0)
    raw = info.leakage(
        x[:160],
        s[:160],
        z_test=x[160:],
        s_test=s[160:],
        y=y[:160],
        y_test=y[160:],
        hidden=(),
        max_epochs=20,
        patience=5,
        random_state=0,
    )
    for result in (leak, raw):
        assert isinstance(result, info.Leakage) and 0 <= result.accuracy <= 1
        assert 0 < result.chance <= 1 and result.floor == pytest.approx(1.0)
    assert raw.accuracy > raw.chance
    called("DVCLUB", "fit_dvclub", "DVCLUBLoss", "leakage", "Leakage")


def test_wyner(digits_np):
    images = digits_np[0].reshape(240, 8, 8)
    left = images[:, :, :4].reshape(240, 32)  # two views of one digit, float64
    right = images[:, :, 4:].reshape(240, 32)
    torch.manual_seed(0)
    model = info.WynerModel(32, 32, common_dim=2, local_dim=2, hidden=(32,))
    hist = training.fit(
        model,
        (left, right),
        objective=info.wyner_loss,
        epochs=5,
        lr=1e-2,
        quiet=True,
        random_state=0,
    )
    assert hist["loss"][-1] < hist["loss"][0] and "common_rate" in set(hist)
    terms = info.wyner_loss(model, left[:16], right[:16], beta=0.5)
    assert isinstance(terms, info.WynerLoss) and _is_model_tensor(terms.total, model)
    y_hat = model.sample_y_given_x(left[:4], random_state=0)
    assert _is_model_tensor(y_hat, model) and y_hat.shape == (4, 32)
    a, b, k = info.rotated_mixture_pairs(100, random_state=0)
    assert a.shape == b.shape == (100, 2) and k.dtype == torch.int64
    assert set(k.tolist()) <= {0, 1, 2, 3}
    called("WynerModel", "wyner_loss", "WynerLoss", "rotated_mixture_pairs")


def test_transfer_entropy():
    # the student simulates y_(t+1) = 0.8 y_t + x_t + 0.5 xi_t in NumPy (float64)
    rng = np.random.default_rng(0)
    source = rng.normal(size=204)
    target = np.zeros(204)
    for t in range(203):
        target[t + 1] = 0.8 * target[t] + source[t] + 0.5 * rng.normal()
    windows = np.lib.stride_tricks.sliding_window_view
    x_past, y_past = windows(source, 3)[:200], windows(target, 3)[:200]
    y_next = target[3:203, None]
    torch.manual_seed(0)
    teb = info.TEB(3, 3, 1, latent_dim=2, hidden=(16,), beta=0.1)
    hist = training.fit(
        teb,
        (x_past, y_past, y_next),
        objective=info.teb_loss,
        epochs=8,
        lr=1e-2,
        quiet=True,
        random_state=0,
    )
    assert hist["loss"][-1] < hist["loss"][0] and "rate" in hist
    base = info.GaussianPredictor(3, 1, (16,))
    base_hist = training.fit(
        base,
        (y_past, y_next),
        objective=info.predictor_loss,
        epochs=8,
        lr=1e-2,
        quiet=True,
        random_state=0,
    )
    assert base_hist["loss"][-1] < base_hist["loss"][0] and base_hist.units == "bits"
    assert isinstance(info.predictor_loss(base, y_past, y_next), info.PredictorLoss)
    terms = info.teb_loss(teb, x_past[:16], y_past[:16], y_next[:16])
    assert isinstance(terms, info.TEBLoss) and _is_model_tensor(terms.total, teb)
    assert _is_model_tensor(base(y_past[:4]), base)
    gain = info.log_likelihood_gain(
        teb, base, x_past, y_past, y_next, n_samples=4, random_state=0
    )
    te = info.linear_gaussian_transfer_entropy(1.0, noise_sd=0.5)
    assert te == pytest.approx(0.5 * np.log2(5.0)) and np.isfinite(gain)
    xs, ys, yn = info.linear_gaussian_streams(50, c=1.0, history=3, random_state=0)
    assert xs.shape == ys.shape == (50, 3) and yn.shape == (50, 1)
    assert torch.equal(yn[:-1, 0], ys[1:, -1])  # y_next is the next window's last
    called(
        "TEB",
        "teb_loss",
        "TEBLoss",
        "GaussianPredictor",
        "predictor_loss",
        "PredictorLoss",
        "log_likelihood_gain",
        "linear_gaussian_transfer_entropy",
        "linear_gaussian_streams",
    )


def test_information_plane(digits_np, trained):
    x, y = digits_np
    for estimator in info.PLANE_ESTIMATORS:
        plane = info.information_plane(trained, x, y, ["2", "3"], estimator)
        assert isinstance(plane, info.InformationPlane)
        assert plane.layers == ("2", "3")
        for values, top in ((plane.i_xz, np.log2(240)), (plane.i_zy, np.log2(10))):
            assert values.shape == (2,) and values.dtype == torch.float64
            assert values.device == next(trained.parameters()).device
            assert bool((values >= -1e-6).all() and (values <= top + 1e-6).all())
    called("information_plane", "InformationPlane", "PLANE_ESTIMATORS")


def test_adaptive_attacks(digits_np, trained):
    x, y = digits_np[0][:32], digits_np[1][:32]
    noise = functools.partial(info.gaussian_noise, sigma=0.1)
    eot = robust.EOT(trained, noise, n_attack=4, n_eval=8)
    with torch.no_grad():
        log_p = eot(x)
    assert _is_model_tensor(log_p, trained) and log_p.shape == (32, 10)
    assert torch.allclose(log_p.exp().sum(1), torch.ones(32))
    x_adv = robust.pgd(eot, x, y, eps=0.1, steps=2)
    assert _is_model_tensor(x_adv, trained) and x_adv.shape == x.shape
    # the averaged prediction of draws, as the model's logits (tensors)
    draws = torch.stack([training.predict_logits(trained, noise(x)) for _ in range(3)])
    avg = log_mean_softmax(draws, dim=0)
    expected = torch.softmax(draws, -1).mean(0).log()
    assert avg.shape == (32, 10) and torch.allclose(avg, expected, atol=1e-5)
    squeeze = functools.partial(robust.bit_depth, bits=2)
    defended = torch.nn.Sequential(robust.bpda(squeeze), trained)
    x_t = torch.as_tensor(x, dtype=torch.float32).requires_grad_(True)
    out = robust.bpda(squeeze)(x_t)
    out.sum().backward()
    assert torch.equal(out, squeeze(x_t.detach()))
    assert torch.equal(x_t.grad, torch.ones_like(x_t))  # the identity's gradient
    x_bpda = robust.pgd(defended, x, y, eps=0.1, steps=3)
    assert _is_model_tensor(x_bpda, trained) and x_bpda.shape == x.shape
    assert robust.robust_accuracy(defended, x_bpda, y) <= 1
    x_margin = robust.pgd(trained, x, y, eps=0.1, steps=3, loss_fn=robust.margin_loss)
    margins = robust.margin_loss(training.predict_logits(trained, x_margin), y)
    assert margins.shape == (len(y),) and bool(torch.isfinite(margins).all())
    called("EOT", "bpda", "margin_loss")


def test_feature_squeezing(digits_np, trained):
    x, y = digits_np
    two_bits = robust.bit_depth(x, 2)
    assert two_bits.shape == x.shape and two_bits.dtype == torch.float64
    assert set(robust.bit_depth(x, 1).unique().tolist()) <= {0.0, 1.0}
    assert float((two_bits - torch.as_tensor(x)).abs().max()) <= 1 / 6 + 1e-12
    median = robust.median_filter(x, 2, image_shape=(8, 8))
    from scipy import ndimage

    expected = ndimage.median_filter(x.reshape(240, 8, 8), size=(1, 2, 2))
    assert median.dtype == torch.float64
    assert np.array_equal(median.numpy(), expected.reshape(240, 64))
    squeezers = [
        functools.partial(robust.bit_depth, bits=2),
        functools.partial(robust.median_filter, size=2, image_shape=(8, 8)),
    ]
    detector = robust.FeatureSqueezing(trained, squeezers).calibrate(x[160:], 0.1)
    assert 0 <= detector.threshold_ <= 2 and detector.n_calibration_ == 80
    distances = detector.distances(x[:16])
    scores = detector.score(x[:16])
    assert _is_model_tensor(scores, trained) and distances.shape == (16, 2)
    assert torch.allclose(scores, distances.amax(1))
    x_adv = robust.fgsm(trained, x[:16], y[:16], eps=0.2)
    flags = detector.detect(x_adv)
    assert flags.dtype == torch.bool and flags.shape == (16,)
    assert int(detector.detect(x[160:]).sum()) <= 8  # fpr 0.1 of 80 clean rows
    called("bit_depth", "median_filter", "FeatureSqueezing")


def test_gaussian_model_theory():
    theta = np.ones(10)  # theta* of chapter 18, float64
    rng = np.random.default_rng(0)
    labels = rng.choice([-1, 1], size=200)  # the student's own Gaussian-model draw
    points = labels[:, None] * theta + rng.normal(size=(200, 10))
    w = robust.averaging_learner(points, labels)
    assert w.shape == (10,) and w.dtype == torch.float64
    x_g, y_g = robust.sample_gaussian_model(200, theta, 1.0, random_state=0)
    assert x_g.shape == (200, 10) and x_g.dtype == torch.float64
    assert set(y_g.tolist()) <= {-1, 1}
    w_g = robust.averaging_learner(x_g, y_g)
    assert float((w_g - torch.as_tensor(theta)).abs().max()) < 0.5
    standard = robust.linear_standard_error(w, theta, 1.0)
    robust_err = robust.linear_robust_error(w, theta, 1.0, 0.1)
    assert standard.ndim == 0 and 0 < float(standard) < float(robust_err) < 1
    ws = robust.sample_averaging_learner(200, theta, 1.0, draws=50, random_state=0)
    assert ws.shape == (50, 10) and ws.dtype == torch.float64
    errors = robust.linear_robust_error(ws, theta, 1.0, 0.1, norm="l2")
    assert errors.shape == (50,) and bool(((errors > 0) & (errors < 1)).all())
    n_standard = robust.samples_needed(
        10, 1.0, 0.1, 0.05, robust=False, draws=20, random_state=0
    )
    n_robust = robust.samples_needed(10, 1.0, 0.1, 0.05, draws=20, random_state=0)
    both = robust.samples_needed(
        np.array([4, 10]), 1.0, 0.1, 0.05, draws=20, random_state=0
    )
    assert 1 <= n_standard <= n_robust and both.shape == (2,)
    called(
        "averaging_learner",
        "sample_gaussian_model",
        "linear_standard_error",
        "linear_robust_error",
        "sample_averaging_learner",
        "samples_needed",
    )


def test_robust_and_nonrobust_features(digits_np, trained):
    x, y = digits_np[0][:16], digits_np[1][:16]
    for mode in ("rand", "det"):
        x_adv, target = robust.relabel_adversarially(
            trained, x, y, 1.0, mode, steps=10, random_state=0
        )
        assert _is_model_tensor(x_adv, trained) and target.dtype == torch.int64
        assert x_adv.shape[0] == target.shape[0] <= 16 and x_adv.shape[1:] == (64,)
        assert bool((training.predict_logits(trained, x_adv).argmax(1) == target).all())
    start = digits_np[0][16:32]
    inverted = robust.invert_representation(trained, x, start, "2", steps=10)
    assert _is_model_tensor(inverted, trained) and inverted.shape == (16, 64)
    assert float(inverted.min()) >= 0 and float(inverted.max()) <= 1
    called("relabel_adversarially", "invert_representation")


def test_bpda_takes_numpy(digits_np):
    x = digits_np[0][:8]
    squeeze = functools.partial(robust.bit_depth, bits=2)
    out = robust.bpda(squeeze)(x)
    assert out.dtype == torch.float64
    np.testing.assert_array_equal(out.numpy(), np.asarray(squeeze(x)))


def test_log_mean_softmax_takes_numpy():
    logits = np.random.default_rng(0).normal(size=(3, 4, 10))  # 3 draws, float64
    out = log_mean_softmax(logits, dim=0)
    assert out.shape == (4, 10) and out.dtype == torch.float64
    expected = np.log(np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).mean(0)
    assert not np.allclose(out.numpy(), expected)  # log of the mean, not mean of logs
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(out.numpy(), np.log(probs.mean(0)), rtol=1e-12)


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
