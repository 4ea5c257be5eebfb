"""Tests of statlearn.robust.attacks: the threat-model invariants, closed forms and
every error path.
"""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import statlearn
from statlearn.functional import log_mean_softmax
from statlearn.robust import (
    EOT,
    CWResult,
    bpda,
    cw_l2,
    cw_l2_details,
    fgsm,
    margin_loss,
    pgd,
    robust_accuracy,
)

D, C = 6, 3


def small_model(dtype=torch.float32, dropout=0.0) -> nn.Module:
    torch.manual_seed(0)
    layers = [nn.Linear(D, 16), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(16, C))
    return nn.Sequential(*layers).to(dtype)


def random_batch(
    seed: int, n: int, dtype=torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, D, generator=g, dtype=dtype)
    # some pixels exactly at the box's faces, as in real images
    x = torch.where(
        x < 0.15, torch.zeros_like(x), torch.where(x > 0.85, torch.ones_like(x), x)
    )
    y = torch.randint(0, C, (n,), generator=g)
    return x, y


def no_param_grads(model: nn.Module) -> bool:
    return all(p.grad is None for p in model.parameters())


@pytest.fixture(scope="module")
def digits_split():
    from statlearn.data import digits

    return digits(random_state=0)


@pytest.fixture(scope="module")
def trained(digits_split):
    from statlearn.nets import mlp
    from statlearn.training import fit

    statlearn.seed_everything(0)
    model = mlp(64, 10, (64,))
    fit(
        model,
        (digits_split.x_train, digits_split.y_train),
        epochs=30,
        lr=3e-3,
        quiet=True,
        random_state=0,
    )
    model.zero_grad(set_to_none=True)
    return model


# --------------------------------------------------------------------------------------
# properties over random inputs
# --------------------------------------------------------------------------------------
ATTACKS = {
    "fgsm": lambda m, x, y, eps, tg, g: fgsm(m, x, y, eps=eps, targeted=tg),
    "pgd_linf": lambda m, x, y, eps, tg, g: pgd(
        m, x, y, eps=eps, steps=5, targeted=tg, random_state=g
    ),
    "pgd_l2": lambda m, x, y, eps, tg, g: pgd(
        m, x, y, eps=eps, steps=5, norm="l2", targeted=tg, random_state=g
    ),
    "pgd_l2_restarts": lambda m, x, y, eps, tg, g: pgd(
        m, x, y, eps=eps, steps=3, norm="l2", restarts=3, random_state=g
    ),
    "pgd_linf_fixed_step": lambda m, x, y, eps, tg, g: pgd(
        m, x, y, eps=eps, steps=4, step_size=0.3, random_start=False
    ),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(ATTACKS)),
    seed=st.integers(0, 2**16),
    n=st.integers(1, 6),
    eps=st.floats(0.0, 1.5),
    per_sample=st.booleans(),
    targeted=st.booleans(),
    training=st.booleans(),
    float64=st.booleans(),
)
def test_threat_model_invariants(
    name, seed, n, eps, per_sample, targeted, training, float64
):
    dtype = torch.float64 if float64 else torch.float32
    model = small_model(dtype)
    model.train(training)
    x, y = random_batch(seed, n, dtype)
    x_before = x.clone()
    budget = eps
    if per_sample:
        budget = (
            torch.rand(
                n, generator=torch.Generator().manual_seed(seed + 1), dtype=dtype
            )
            * eps
        )
    eps_rows = budget if per_sample else torch.full((n,), eps, dtype=dtype)
    x_adv = ATTACKS[name](
        model, x, y, budget, targeted, torch.Generator().manual_seed(seed)
    )

    assert torch.equal(x, x_before), "x must not be mutated"
    assert model.training == training, "model.training must be restored"
    assert no_param_grads(model), "no gradient may be left on the parameters"
    assert not x_adv.requires_grad and x_adv.grad_fn is None
    assert (
        x_adv.shape == x.shape and x_adv.dtype == x.dtype and x_adv.device == x.device
    )
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    delta = (x_adv - x).flatten(1)
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    if "l2" in name:
        assert (delta.norm(dim=1) <= eps_rows * (1 + tol) + tol).all()
    else:
        assert (delta.abs().amax(dim=1) <= eps_rows + tol).all()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 5), training=st.booleans())
def test_cw_invariants(seed, n, training):
    model = small_model()
    model.train(training)
    x, y = random_batch(seed, n)
    x_before = x.clone()
    x_adv = cw_l2(model, x, y, search_steps=3, steps=10, lr=0.1)
    assert torch.equal(x, x_before)
    assert model.training == training
    assert no_param_grads(model)
    assert not x_adv.requires_grad
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    # a row is either untouched or misclassified
    changed = (x_adv != x).flatten(1).any(dim=1)
    with torch.no_grad():
        pred = model(x_adv).argmax(dim=1)
    assert (pred[changed] != y[changed]).all()


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("random_start", [True, False])
def test_eps_zero_returns_x(norm, random_start):
    model = small_model()
    x, y = random_batch(3, 8)
    assert torch.equal(fgsm(model, x, y, eps=0.0), x)
    out = pgd(
        model, x, y, eps=0.0, steps=5, norm=norm, random_start=random_start, restarts=2
    )
    assert torch.equal(out, x)
    assert torch.equal(pgd(model, x, y, eps=torch.zeros(8), steps=3, norm=norm), x)


# --------------------------------------------------------------------------------------
# closed forms and consistency
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("targeted", [False, True])
def test_fgsm_on_linear_model_equals_closed_form(targeted):
    torch.manual_seed(1)
    lin = nn.Linear(D, C).double()
    x, y = random_batch(5, 32, torch.float64)
    eps = 0.1
    W, b = lin.weight.detach(), lin.bias.detach()
    p = torch.softmax(x @ W.T + b, dim=1)
    grad = (p - F.one_hot(y, C).double()) @ W  # d/dx of cross-entropy, row by row
    step = -eps if targeted else eps
    expected = (x + step * grad.sign()).clamp(0, 1)
    torch.testing.assert_close(
        fgsm(lin, x, y, eps=eps, targeted=targeted), expected, rtol=0, atol=1e-12
    )


def test_fgsm_on_log_probabilities_equals_fgsm_on_logits():
    model = small_model()
    log_model = nn.Sequential(model, nn.LogSoftmax(dim=1))
    x, y = random_batch(7, 16)
    torch.testing.assert_close(
        fgsm(log_model, x, y, eps=0.2), fgsm(model, x, y, eps=0.2)
    )


def test_fgsm_is_one_pgd_step_without_random_start():
    model = small_model()
    x, y = random_batch(8, 16)
    ref = pgd(model, x, y, eps=0.2, steps=1, step_size=0.2, random_start=False)
    torch.testing.assert_close(fgsm(model, x, y, eps=0.2), ref)


@pytest.mark.parametrize(
    "attack",
    [
        functools.partial(pgd, eps=0.3, steps=6, norm="linf", restarts=2),
        functools.partial(pgd, eps=0.8, steps=6, norm="l2", restarts=2),
        functools.partial(pgd, eps=0.3, steps=6, norm="l2", random_start=True),
    ],
    ids=["linf", "l2", "l2-single"],
)
def test_batch_consistency_with_seeded_generator(attack):
    model = small_model(torch.float64)
    x, y = random_batch(11, 7, torch.float64)
    batch = attack(model, x, y, random_state=torch.Generator().manual_seed(123))
    for i in range(x.shape[0]):
        alone = attack(
            model,
            x[i : i + 1],
            y[i : i + 1],
            random_state=torch.Generator().manual_seed(123),
        )
        torch.testing.assert_close(batch[i : i + 1], alone, rtol=0, atol=1e-9)


def test_batch_consistency_fgsm_and_cw():
    model = small_model(torch.float64)
    x, y = random_batch(12, 5, torch.float64)
    batch_f = fgsm(model, x, y, eps=0.2)
    batch_c = cw_l2(model, x, y, search_steps=3, steps=20, lr=0.1)
    for i in range(x.shape[0]):
        torch.testing.assert_close(
            batch_f[i : i + 1], fgsm(model, x[i : i + 1], y[i : i + 1], eps=0.2)
        )
        alone = cw_l2(
            model, x[i : i + 1], y[i : i + 1], search_steps=3, steps=20, lr=0.1
        )
        torch.testing.assert_close(batch_c[i : i + 1], alone, rtol=0, atol=1e-9)


def test_per_sample_eps_matches_rowwise_attacks():
    model = small_model(torch.float64)
    x, y = random_batch(13, 4, torch.float64)
    eps = torch.tensor([0.0, 0.05, 0.2, 0.4], dtype=torch.float64)
    for norm in ("linf", "l2"):
        out = pgd(
            model,
            x,
            y,
            eps=eps,
            steps=5,
            norm=norm,
            random_state=torch.Generator().manual_seed(0),
        )
        for i in range(4):
            row = pgd(
                model,
                x[i : i + 1],
                y[i : i + 1],
                eps=float(eps[i]),
                steps=5,
                norm=norm,
                random_state=torch.Generator().manual_seed(0),
            )
            torch.testing.assert_close(out[i : i + 1], row, rtol=0, atol=1e-9)


def test_seeded_generator_reproducible_and_random_start_varies():
    model = small_model()
    x, y = random_batch(14, 10)
    a = pgd(
        model,
        x,
        y,
        eps=0.3,
        steps=1,
        step_size=0.01,
        random_state=torch.Generator().manual_seed(5),
    )
    b = pgd(
        model,
        x,
        y,
        eps=0.3,
        steps=1,
        step_size=0.01,
        random_state=torch.Generator().manual_seed(5),
    )
    c = pgd(
        model,
        x,
        y,
        eps=0.3,
        steps=1,
        step_size=0.01,
        random_state=torch.Generator().manual_seed(6),
    )
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, x)


def test_attack_uses_eval_mode_and_works_under_no_grad():
    model = small_model(dropout=0.5)
    x, y = random_batch(15, 16)
    model.train()
    with torch.no_grad():
        in_train = fgsm(model, x, y, eps=0.1)
    assert model.training
    model.eval()
    torch.testing.assert_close(in_train, fgsm(model, x, y, eps=0.1))


def test_input_that_requires_grad():
    model = small_model()
    x, y = random_batch(17, 6)
    x.requires_grad_(True)
    for attack in (
        functools.partial(fgsm, eps=0.1),
        functools.partial(pgd, eps=0.1, steps=3),
        functools.partial(pgd, eps=0.5, steps=3, norm="l2", restarts=2),
        functools.partial(cw_l2, steps=3, search_steps=2),
    ):
        out = attack(model, x, y)
        assert not out.requires_grad and x.grad is None
    assert no_param_grads(model)


def test_numpy_input_and_custom_loss():
    model = small_model()
    x, y = random_batch(16, 6)
    out = pgd(model, x.numpy(), y.numpy(), eps=0.1, steps=3, random_start=False)
    torch.testing.assert_close(
        out, pgd(model, x, y, eps=0.1, steps=3, random_start=False)
    )

    # a margin loss instead of cross-entropy still stays in the ball
    def margin(logits, t):
        return -logits.gather(1, t[:, None]).squeeze(1) + logits.amax(dim=1)

    out = pgd(model, x, y, eps=0.1, steps=3, loss_fn=margin)
    assert (out - x).abs().max() <= 0.1 + 1e-6


# --------------------------------------------------------------------------------------
# strength on a trained model
# --------------------------------------------------------------------------------------
def test_robust_accuracy_ordering(trained, digits_split):
    x, y = digits_split.x_test, digits_split.y_test
    clean = robust_accuracy(trained, x, y)
    from statlearn.training import accuracy

    assert clean == pytest.approx(accuracy(trained, x, y))
    assert clean > 0.9
    for eps in (0.05, 0.1):
        acc_fgsm = robust_accuracy(
            trained, x, y, functools.partial(fgsm, eps=eps), batch_size=128
        )
        acc_pgd = robust_accuracy(
            trained, x, y, functools.partial(pgd, eps=eps, steps=20), batch_size=128
        )
        assert acc_pgd <= acc_fgsm <= clean
        assert acc_pgd < clean - 0.05
    assert no_param_grads(trained)


def test_robust_accuracy_does_not_depend_on_batch_size(trained, digits_split):
    x, y = digits_split.x_test[:100], digits_split.y_test[:100]
    det = functools.partial(pgd, eps=0.1, steps=5, random_start=False)
    assert robust_accuracy(trained, x, y, det, batch_size=7) == robust_accuracy(
        trained, x, y, det, batch_size=100
    )


def test_restarts_never_lose_a_success(trained, digits_split):
    x, y = digits_split.x_test[:200], digits_split.y_test[:200]
    one = pgd(
        trained, x, y, eps=0.08, steps=5, random_state=torch.Generator().manual_seed(0)
    )
    many = pgd(
        trained,
        x,
        y,
        eps=0.08,
        steps=5,
        restarts=4,
        random_state=torch.Generator().manual_seed(0),
    )
    with torch.no_grad():
        fooled_one = trained(one).argmax(1) != y
        fooled_many = trained(many).argmax(1) != y
    assert (fooled_many | ~fooled_one).all(), (
        "the first restart is the single run; its successes are kept"
    )
    assert fooled_many.sum() >= fooled_one.sum()


def test_targeted_pgd_reaches_the_target(trained, digits_split):
    x = digits_split.x_test[:100]
    target = (digits_split.y_test[:100] + 1) % 10
    x_adv = pgd(
        trained,
        x,
        target,
        eps=0.3,
        steps=40,
        targeted=True,
        random_state=torch.Generator().manual_seed(0),
    )
    with torch.no_grad():
        hit = (trained(x_adv).argmax(1) == target).float().mean().item()
    assert hit > 0.9


def test_cw_succeeds_with_no_more_distortion_than_pgd_l2_needs(trained, digits_split):
    x, y = digits_split.x_test[:40], digits_split.y_test[:40]
    with torch.no_grad():
        keep = trained(x).argmax(1) == y
    x, y = x[keep], y[keep]
    x_cw = cw_l2(trained, x, y, lr=0.1, steps=100)
    with torch.no_grad():
        success = trained(x_cw).argmax(1) != y
    assert success.float().mean() >= 0.95
    l2_cw = (x_cw - x).flatten(1).norm(dim=1)

    # smallest PGD-L2 budget that fools each row, by bisection with per-sample eps
    lo, hi = torch.zeros(len(y)), torch.full((len(y),), 4.0)
    for _ in range(12):
        mid = (lo + hi) / 2
        x_pgd = pgd(trained, x, y, eps=mid, steps=30, norm="l2", random_start=False)
        with torch.no_grad():
            fooled = trained(x_pgd).argmax(1) != y
        hi = torch.where(fooled, mid, hi)
        lo = torch.where(fooled, lo, mid)
    both = success & (hi < 4.0)
    assert both.sum() >= 0.9 * len(y)
    # C&W commits to the runner-up class through its margin loss, so on a few rows it
    # lands on a farther class than PGD's cross-entropy does; on average it needs no
    # more than PGD-L2 (within 5%)
    assert l2_cw[both].mean() <= 1.05 * hi[both].mean()
    assert (l2_cw[both] <= hi[both] * 1.02).float().mean() >= 0.7


def test_cw_targeted_and_returns_x_where_it_fails(trained, digits_split):
    x, y = digits_split.x_test[:30], digits_split.y_test[:30]
    target = (y + 3) % 10
    x_adv = cw_l2(trained, x, target, targeted=True, lr=0.1, steps=100)
    with torch.no_grad():
        pred = trained(x_adv).argmax(1)
    changed = (x_adv != x).flatten(1).any(1)
    assert (pred[changed] == target[changed]).all() and changed.float().mean() > 0.9
    # hopeless budget: one Adam step with a tiny c finds nothing, so x comes back
    # unchanged
    # (rows the model already gets wrong are adversarial from the start and come back
    # moved by ~1e-6)
    with torch.no_grad():
        correct = trained(x).argmax(1) == y
    weak = cw_l2(trained, x, y, c_init=1e-9, search_steps=1, steps=1, lr=1e-4)
    assert correct.sum() >= 25 and torch.equal(weak[correct], x[correct])
    assert (weak[~correct] - x[~correct]).abs().max() < 1e-5
    # a confidence margin costs more distortion
    x0 = cw_l2(trained, x, y, lr=0.1, steps=60, search_steps=5)
    x5 = cw_l2(trained, x, y, lr=0.1, steps=60, search_steps=5, confidence=5.0)
    with torch.no_grad():
        logits = trained(x5)
    ok = (x5 != x).flatten(1).any(1)
    z_y = logits.gather(1, y[:, None]).squeeze(1)
    z_other = logits.scatter(1, y[:, None], float("-inf")).amax(1)
    assert ok.float().mean() > 0.9 and (z_other - z_y)[ok].min() > 5.0 - 1e-4
    assert (x5 - x).flatten(1).norm(dim=1)[ok].mean() > (x0 - x).flatten(1).norm(dim=1)[
        ok
    ].mean()


# --------------------------------------------------------------------------------------
# every error path
# --------------------------------------------------------------------------------------
def _calls():
    m = small_model()
    x, y = random_batch(0, 4)
    return m, x, y


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x, y: fgsm(m, x, y, eps=-0.1),
        lambda m, x, y: fgsm(m, x, y, eps=float("nan")),
        lambda m, x, y: pgd(m, x, y, eps=-1e-3, steps=3),
        lambda m, x, y: pgd(m, x, y, eps=torch.tensor([0.1, -0.1, 0.1, 0.1]), steps=3),
        lambda m, x, y: pgd(m, x, y, eps=torch.tensor([0.1, 0.1]), steps=3),
        lambda m, x, y: pgd(
            m, x, y, eps=torch.tensor([0.1, float("inf"), 0.1, 0.1]), steps=3
        ),
        lambda m, x, y: pgd(m, x, y, eps=0.1, steps=3, step_size=-0.1),
        lambda m, x, y: pgd(m, x, y, eps=0.1, steps=-1),
        lambda m, x, y: pgd(m, x, y, eps=0.1, steps=3, restarts=0),
        lambda m, x, y: pgd(m, x, y, eps=0.1, steps=3, norm="l1"),
        lambda m, x, y: pgd(m, x, y, eps=0.1, steps=3, norm="Linf"),
        lambda m, x, y: fgsm(m, x + 1.5, y, eps=0.1),
        lambda m, x, y: fgsm(m, x - 0.5, y, eps=0.1),
        lambda m, x, y: pgd(m, x * 2, y, eps=0.1, steps=3),
        lambda m, x, y: cw_l2(m, x - 1, y),
        lambda m, x, y: robust_accuracy(m, x + 2, y),
        lambda m, x, y: fgsm(m, torch.full_like(x, float("nan")), y, eps=0.1),
        lambda m, x, y: fgsm(m, x[0], y, eps=0.1),
        lambda m, x, y: fgsm(m, x, y + C, eps=0.1),
        lambda m, x, y: fgsm(m, x, y - 10, eps=0.1),
        lambda m, x, y: pgd(m, x, torch.full_like(y, C), eps=0.1, steps=3),
        lambda m, x, y: pgd(m, x, torch.full_like(y, C), eps=0.1, steps=0, restarts=2),
        lambda m, x, y: cw_l2(m, x, y + C),
        lambda m, x, y: robust_accuracy(m, x, y + C),
        lambda m, x, y: fgsm(m, x, y[:2], eps=0.1),
        lambda m, x, y: fgsm(m, x, y.float() + 0.5, eps=0.1),
        lambda m, x, y: fgsm(m, x, y.bool(), eps=0.1),
        lambda m, x, y: fgsm(m, x, y[:, None], eps=0.1),
        lambda m, x, y: cw_l2(m, x, y, confidence=-1.0),
        lambda m, x, y: cw_l2(m, x, y, c_init=0.0),
        lambda m, x, y: cw_l2(m, x, y, lr=0.0),
        lambda m, x, y: cw_l2(m, x, y, search_steps=0),
        lambda m, x, y: cw_l2(m, x, y, steps=0),
        lambda m, x, y: robust_accuracy(m, x, y, batch_size=0),
        lambda m, x, y: pgd(
            m,
            x,
            y,
            eps=0.1,
            steps=2,
            loss_fn=lambda logits, t: F.cross_entropy(logits, t),
        ),
        lambda m, x, y: fgsm(
            nn.Linear(D, 1), x, torch.zeros(4, dtype=torch.long) + 1, eps=0.1
        ),
    ],
)
def test_value_errors(call):
    m, x, y = _calls()
    with pytest.raises(ValueError):
        call(m, x, y)
    assert no_param_grads(m)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x, y: fgsm(m, x, y, eps="0.1"),
        lambda m, x, y: fgsm(lambda t: t, x, y, eps=0.1),
        lambda m, x, y: pgd(m, x, y, eps=0.1, steps=2.5),
        lambda m, x, y: pgd(m, x, y, eps=0.1, steps=2, loss_fn="ce"),
        lambda m, x, y: pgd(m, x, y, eps=0.1, steps=2, random_state="0"),
        lambda m, x, y: pgd(m, x, y, eps=0.1, steps=2, random_state=0.5),
        lambda m, x, y: robust_accuracy(m, x, y, attack="fgsm"),
    ],
)
def test_type_errors(call):
    m, x, y = _calls()
    with pytest.raises(TypeError):
        call(m, x, y)


def test_mode_restored_after_an_error():
    m, x, y = _calls()
    m.train()
    with pytest.raises(ValueError):
        fgsm(m, x, y + C, eps=0.1)
    assert m.training


# --------------------------------------------------------------------------------------
# GPU
# --------------------------------------------------------------------------------------
@pytest.mark.gpu
def test_cpu_and_cuda_agree():
    model = small_model(torch.float64)
    x, y = random_batch(21, 64, torch.float64)

    def gen(dev):
        return torch.Generator(device=dev).manual_seed(0)

    cuda = torch.device("cuda")
    model_c = small_model(torch.float64).to(cuda)
    for attack in (
        functools.partial(fgsm, eps=0.1),
        functools.partial(pgd, eps=0.1, steps=10, random_start=False),
        functools.partial(pgd, eps=0.5, steps=10, norm="l2", random_start=False),
        functools.partial(cw_l2, steps=30, search_steps=3, lr=0.1),
    ):
        a = attack(model, x, y)
        b = attack(model_c, x.to(cuda), y.to(cuda))
        assert b.device.type == "cuda"
        torch.testing.assert_close(a, b.cpu(), rtol=0, atol=1e-6)
    # the random start is drawn on the GPU: a CUDA generator is used as it is (its
    # state advances), a CPU generator or an int seeds one there, repeatably
    g = gen(cuda)
    before = g.get_state()
    out = pgd(model_c, x.to(cuda), y.to(cuda), eps=0.1, steps=3, random_state=g)
    assert not torch.equal(g.get_state(), before)
    assert out.device.type == "cuda" and (out - x.to(cuda)).abs().max() <= 0.1 + 1e-12
    for seed in (gen("cpu"), 0):
        again = [
            pgd(model_c, x.to(cuda), y.to(cuda), eps=0.1, steps=3, random_state=s)
            for s in (seed, gen("cpu") if seed != 0 else 0)
        ]
        assert torch.equal(again[0], again[1])
    assert robust_accuracy(
        model_c, x.to(cuda), y.to(cuda), functools.partial(fgsm, eps=0.1)
    ) == robust_accuracy(model, x, y, functools.partial(fgsm, eps=0.1))


# --------------------------------------------------------------------------------------
# issue 15


def _digits64(n=16):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data[:n] / 16, bunch.target[:n]


@pytest.mark.parametrize("name", ["fgsm", "pgd", "cw_l2", "robust_accuracy"])
def test_numpy_float64_input_meets_a_float32_model(name):
    """Defect: float64 (or NumPy) inputs crashed with "mat1 and mat2 must have the same
    dtype".
    """
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    x, y = _digits64()
    calls = {
        "fgsm": lambda: fgsm(model, x, y, eps=0.1),
        "pgd": lambda: pgd(model, x, y, eps=0.1, steps=2),
        "cw_l2": lambda: cw_l2(model, x, y, steps=3, search_steps=1),
        "robust_accuracy": lambda: robust_accuracy(
            model, x, y, functools.partial(fgsm, eps=0.1)
        ),
    }
    out = calls[name]()
    if name == "robust_accuracy":
        assert 0.0 <= out <= 1.0
    else:
        assert (
            isinstance(out, torch.Tensor)
            and out.dtype == torch.float32
            and out.shape == x.shape
        )
        assert float((out.double() - torch.from_numpy(x)).abs().max()) <= (
            0.1 + 1e-6 if name != "cw_l2" else 1.0
        )


def test_pgd_without_steps_and_with_bad_labels_is_an_error():
    """Defect: pgd(steps=0) returned its starting point silently, and never checked the
    labels.
    """
    model = small_model()
    x, y = random_batch(0, 4)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        pgd(model, x, y, eps=0.1, steps=0)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        pgd(model, x, y + C, eps=0.1, steps=1, random_start=True)


def test_cw_l2_reports_success_per_row():
    """Defect: cw_l2 gave no way to tell a failed row (returned unchanged) from an
    untouched input; then its return type depended on a flag. cw_l2 returns the
    adversarial tensor, cw_l2_details the rows that succeeded and their distortion.
    """
    torch.manual_seed(0)
    model = small_model(torch.float64)
    x, y = random_batch(3, 30, torch.float64)
    result = cw_l2_details(model, x, y, steps=10, search_steps=2)
    assert isinstance(result, CWResult)
    x_adv, success, l2 = result
    assert success.dtype == torch.bool and success.shape == (30,)
    assert 0 < int(success.sum()) < 30  # a short search: some rows succeed, some fail
    with torch.no_grad():
        pred = model(x_adv).argmax(1)
    assert bool((pred[success] != y[success]).all())
    assert torch.equal(x_adv[~success], x[~success])
    torch.testing.assert_close(l2[success], (x_adv - x).norm(dim=1)[success])
    assert bool(torch.isinf(l2[~success]).all())
    # cw_l2 is the same attack, one tensor back
    plain = cw_l2(model, x, y, steps=10, search_steps=2)
    assert isinstance(plain, torch.Tensor) and torch.equal(plain, x_adv)
    assert robust_accuracy(
        model, x, y, functools.partial(cw_l2_details, steps=10, search_steps=2)
    ) == (
        robust_accuracy(model, x, y, functools.partial(cw_l2, steps=10, search_steps=2))
    )


# --------------------------------------------------------------------------------------
# issue 21: adaptive attacks (BPDA, EOT, pgd's success rule)


def _quantise(x):
    """A non-differentiable squeezer: two bits per value (gradient zero almost
    everywhere)."""
    return torch.round(x * 3) / 3


def test_bpda_forward_is_fn_and_backward_the_identity():
    x, _ = random_batch(1, 5)
    x = x.requires_grad_(True)
    w = torch.randn(5, D, generator=torch.Generator().manual_seed(0))
    out = bpda(_quantise)(x)
    assert torch.equal(out, _quantise(x.detach()))
    (grad,) = torch.autograd.grad((w * out).sum(), x)
    assert torch.equal(grad, w)  # identity backward: the upstream gradient itself
    # without BPDA the squeezer's gradient is zero: the attack would be blind
    (blind,) = torch.autograd.grad((w * _quantise(x)).sum(), x)
    assert torch.count_nonzero(blind) == 0


def test_bpda_backward_is_the_approximations_gradient():
    x, _ = random_batch(2, 4, torch.float64)
    x = x.requires_grad_(True)
    w = torch.randn(4, D, dtype=torch.float64)
    layer = bpda(_quantise, approx=lambda t: t**2 + torch.sin(t))
    (grad,) = torch.autograd.grad((w * layer(x)).sum(), x)
    torch.testing.assert_close(grad, w * (2 * x.detach() + torch.cos(x.detach())))
    # fn returning its input unchanged, and use inside a model under pgd
    assert torch.equal(bpda(lambda t: t)(x), x)
    model = nn.Sequential(bpda(_quantise), small_model(torch.float64))
    x_adv = pgd(model, x.detach(), torch.zeros(4, dtype=torch.long), eps=0.2, steps=5)
    assert not torch.equal(x_adv, x.detach())  # the gradient got through


def test_bpda_errors():
    x, _ = random_batch(0, 3)
    with pytest.raises(TypeError):
        bpda("round")
    with pytest.raises(TypeError):
        bpda(_quantise, approx=3)
    with pytest.raises(ValueError, match="keep the shape"):
        bpda(lambda t: t[:, :2])(x)
    layer = bpda(lambda t: t[:, :2], approx=lambda t: t[:, :3])
    with pytest.raises(ValueError, match="output shape"):
        layer(x.requires_grad_(True)).sum().backward()


def test_log_mean_softmax_is_the_log_of_the_mean_softmax():
    logits = torch.randn(5, 7, 4, generator=torch.Generator().manual_seed(0)) * 30
    for dim in (0, 1, -2):
        expected = torch.softmax(logits.double(), -1).mean(dim).log().float()
        torch.testing.assert_close(log_mean_softmax(logits, dim), expected)
    with pytest.raises(ValueError):
        log_mean_softmax(logits, dim=-1)
    with pytest.raises(ValueError):
        log_mean_softmax(torch.zeros(4))


def test_eot_of_a_deterministic_map_is_the_log_softmax():
    model = small_model(torch.float64)
    x, _ = random_batch(3, 6, torch.float64)
    expected = torch.log_softmax(model(x), dim=1)
    for random_map in (None, lambda t: 0.5 * t):
        eot = EOT(model, random_map, n_attack=3, n_eval=5)
        scaled = model(0.5 * x) if random_map is not None else model(x)
        expected = torch.log_softmax(scaled, dim=1)
        torch.testing.assert_close(eot(x), expected)
        with torch.no_grad():
            torch.testing.assert_close(eot(x), expected)


def test_eot_counts_draws_and_averages_the_softmax():
    seen = []

    class Noisy(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = small_model(torch.float64)

        def forward(self, t, scale=1.0):
            seen.append(t.shape[0])
            return self.net(t + scale * torch.randn_like(t))

    x, _ = random_batch(4, 5, torch.float64)
    eot = EOT(Noisy(), n_attack=3, n_eval=7, model_kwargs={"scale": 0.1})
    eot(x)
    with torch.no_grad():
        eot(x)
    eot(x, n_samples=2)
    assert seen == [15, 35, 10]
    # the same draws by hand: L noisy copies, then the log of the mean softmax
    torch.manual_seed(0)
    out = eot(x, n_samples=4)
    torch.manual_seed(0)
    rep = x.repeat(4, 1)
    logits = eot.model.net(rep + 0.1 * torch.randn_like(rep)).view(4, 5, C)
    torch.testing.assert_close(out, torch.softmax(logits, -1).mean(0).log())
    # pgd attacks the average with n_attack draws and restores the wrapped mode
    eot.train()
    x_adv = pgd(eot, x, torch.zeros(5, dtype=torch.long), eps=0.1, steps=2)
    assert eot.training and eot.model.training
    assert (x_adv - x).abs().max() <= 0.1 + 1e-12


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda m, x: EOT(m, n_attack=0), ValueError),
        (lambda m, x: EOT(m, n_eval=0), ValueError),
        (lambda m, x: EOT(m)(x[0]), ValueError),
        (lambda m, x: EOT(m)(x, n_samples=0), ValueError),
        # logits (B, 1, C) are not (B, C)
        (lambda m, x: EOT(nn.Sequential(m, nn.Unflatten(1, (1, C))))(x), ValueError),
        (lambda m, x: EOT(lambda t: t), TypeError),
        (lambda m, x: EOT(m, random_map="noise"), TypeError),
        (lambda m, x: EOT(m, model_kwargs=[1]), TypeError),
    ],
)
def test_eot_errors(call, error):
    m = small_model()
    x, _ = random_batch(0, 4)
    with pytest.raises(error):
        call(m, x)


def test_pgd_success_fn_keeps_a_restart_that_satisfies_the_rule(trained, digits_split):
    x, y = digits_split.x_test[:60], digits_split.y_test[:60]

    def rule(x_adv, y):  # any row-wise rule: here, the first pixels brightened
        return x_adv[:, :8].mean(1) > x[:, :8].mean(1) + 0.02

    runs, g = [], torch.Generator().manual_seed(5)
    for _ in range(4):  # restart r of pgd draws the r-th start from the generator
        runs.append(pgd(trained, x, y, eps=0.1, steps=3, random_state=g))
    best = pgd(
        trained,
        x,
        y,
        eps=0.1,
        steps=3,
        restarts=4,
        success_fn=rule,
        random_state=torch.Generator().manual_seed(5),
    )
    hits = torch.stack([rule(r, y) for r in runs])
    assert 0 < int(hits.any(0).sum()) < 60  # the check below is not vacuous
    assert bool(rule(best, y)[hits.any(0)].all())
    same = torch.stack([(r == best).flatten(1).all(1) for r in runs])
    assert bool(same.any(0).all())  # each row is one of the restarts' rows
    # the default rule is misclassification, as before
    default = pgd(
        trained, x, y, eps=0.1, steps=3, restarts=3, random_state=g.manual_seed(1)
    )

    def misclassified(x_adv, y):
        return trained(x_adv).argmax(1) != y

    explicit = pgd(
        trained,
        x,
        y,
        eps=0.1,
        steps=3,
        restarts=3,
        success_fn=misclassified,
        random_state=g.manual_seed(1),
    )
    assert torch.equal(default, explicit)


def test_pgd_success_fn_errors():
    m, x, y = _calls()
    with pytest.raises(TypeError):
        pgd(m, x, y, eps=0.1, steps=1, restarts=2, success_fn="detected")
    for bad in (
        lambda xa, t: torch.ones(4),  # not bool
        lambda xa, t: torch.ones(3, dtype=torch.bool),  # not (N,)
        lambda xa, t: torch.ones(4, 1, dtype=torch.bool),
    ):
        with pytest.raises(ValueError, match="success_fn"):
            pgd(m, x, y, eps=0.1, steps=1, restarts=2, success_fn=bad)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 5),
    eps=st.floats(0.0, 1.0),
    norm=st.sampled_from(["linf", "l2"]),
    restarts=st.integers(1, 3),
)
def test_adaptive_pgd_stays_in_the_threat_model(seed, n, eps, norm, restarts):
    """PGD through BPDA and EOT with a detector-style success rule never leaves the
    eps-ball or [0, 1]."""
    torch.manual_seed(seed)
    base = small_model()

    def jitter(t):
        return (t + 0.05 * torch.randn_like(t)).clamp(0, 1)

    model = EOT(nn.Sequential(bpda(_quantise), base), jitter, n_attack=2, n_eval=3)
    x, y = random_batch(seed, n)

    def undetected(x_adv, y):
        with torch.no_grad():
            score = (base(x_adv).softmax(1) - base(_quantise(x_adv)).softmax(1)).abs()
        return (model(x_adv).argmax(1) != y) & (score.sum(1) < 0.5)

    x_adv = pgd(
        model,
        x,
        y,
        eps=eps,
        steps=3,
        norm=norm,
        restarts=restarts,
        success_fn=undetected,
        random_state=torch.Generator().manual_seed(seed),
    )
    dist = (x_adv - x).flatten(1)
    dist = dist.abs().amax(1) if norm == "linf" else dist.norm(dim=1)
    assert bool((dist <= eps + 1e-5).all())
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert no_param_grads(base)


def test_margin_loss_is_minus_the_logit_margin():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 3.0, 1.0]], requires_grad=True)
    y = torch.tensor([0, 2])
    loss = margin_loss(logits, y)
    torch.testing.assert_close(loss, torch.tensor([0.5 - 2.0, 3.0 - 1.0]))
    loss.sum().backward()
    expected = torch.tensor([[-1.0, 1.0, 0.0], [0.0, 1.0, -1.0]])
    torch.testing.assert_close(logits.grad, expected)
    with pytest.raises(ValueError, match="logits must be"):
        margin_loss(torch.zeros(3), y)
    with pytest.raises(ValueError, match="y must have 3 labels"):
        margin_loss(torch.zeros(3, 2), y)


# --------------------------------------------------------------------------------------
# one set of conventions: random_state, check once, one return type
# --------------------------------------------------------------------------------------
def _count_calls(monkeypatch, owner, name: str) -> list[int]:
    """Count the calls of ``owner.name`` from now on (each forwards to the original)."""
    calls = [0]
    original = getattr(owner, name)

    def counting(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


def _count_isfinite(monkeypatch) -> list[int]:
    """Count the calls of torch.isfinite from now on."""
    return _count_calls(monkeypatch, torch, "isfinite")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(eps=0.1, steps=3),
        dict(eps=0.3, steps=2, norm="l2", restarts=2, random_state=0),
        dict(eps=torch.full((8,), 0.1), step_size=torch.full((8,), 0.02), steps=2),
    ],
    ids=["linf", "l2-restarts", "tensor-budgets"],
)
def test_one_pgd_call_runs_at_most_one_finiteness_check(monkeypatch, kwargs):
    """Validate once: a pgd call on a batch checks its inputs once, at entry, not at
    every step (torch.isfinite(...).all() is a host synchronisation)."""
    import statlearn.robust.attacks as attacks

    model = small_model()
    x, y = random_batch(30, 8)
    range_checks = _count_calls(monkeypatch, attacks, "check_unit_interval")
    calls = _count_isfinite(monkeypatch)
    pgd(model, x, y, **kwargs)
    assert calls[0] <= 1 and range_checks[0] == 1
    # the check is still there: non-finite inputs and budgets are errors
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            pgd(model, torch.full_like(x, bad), y, **kwargs)
    with pytest.raises(ValueError, match="eps"):
        pgd(model, x, y, eps=torch.full((8,), float("nan")), steps=2)
    with pytest.raises(ValueError, match="eps"):
        pgd(model, x, y, eps=torch.full((8,), float("inf")), steps=2)


@pytest.mark.parametrize(
    "attack",
    [
        None,
        functools.partial(fgsm, eps=0.1),
        functools.partial(pgd, eps=0.1, steps=2, random_state=3),
        functools.partial(pgd, eps=0.3, steps=2, norm="l2", restarts=2),
        functools.partial(cw_l2, steps=2, search_steps=1),
        functools.partial(cw_l2_details, steps=2, search_steps=1),
    ],
    ids=["clean", "fgsm", "pgd", "pgd-l2", "cw_l2", "cw_l2_details"],
)
def test_robust_accuracy_checks_the_data_once(monkeypatch, attack):
    """robust_accuracy checks x and y once, at entry, and runs statlearn's attacks on
    every batch with check_input=False: one finiteness check and one range check per
    call, however many batches."""
    import statlearn.robust.attacks as attacks

    model = small_model()
    x, y = random_batch(31, 40)
    range_checks = _count_calls(monkeypatch, attacks, "check_unit_interval")
    calls = _count_isfinite(monkeypatch)
    acc = robust_accuracy(model, x, y, attack, batch_size=8)  # five batches
    assert 0.0 <= acc <= 1.0
    assert calls[0] <= 1 and range_checks[0] == 1


def test_robust_accuracy_with_another_callable_checks_once_itself(monkeypatch):
    """A callable without check_input is called as it is; it checks its batches
    itself (here pgd through a lambda: once per batch), robust_accuracy once."""
    model = small_model()
    x, y = random_batch(32, 40)
    calls = _count_isfinite(monkeypatch)
    seen = []

    def attack(m, xb, yb):
        seen.append(xb.shape[0])
        return pgd(m, xb, yb, eps=0.1, steps=2, random_state=0)

    robust_accuracy(model, x, y, attack, batch_size=8)
    assert seen == [8] * 5 and calls[0] <= 1


def test_robust_accuracy_trusted_batches_give_the_checked_result():
    """Skipping the per-batch checks changes nothing: the same accuracy as calling the
    attack, with its checks, on each batch."""
    model = small_model(torch.float64)
    x, y = random_batch(33, 40, torch.float64)
    for attack in (
        functools.partial(fgsm, eps=0.2),
        functools.partial(pgd, eps=0.2, steps=3, random_state=4),
        functools.partial(pgd, eps=0.5, steps=3, norm="l2", restarts=2, random_state=4),
    ):
        trusted = robust_accuracy(model, x, y, attack, batch_size=8)
        checked = robust_accuracy(
            model, x, y, lambda m, a, b, f=attack: f(m, a, b), batch_size=8
        )
        assert trusted == checked


def test_robust_accuracy_rejects_bad_labels_before_any_attack():
    model = small_model()
    x, y = random_batch(34, 12)
    called = []

    def attack(m, xb, yb, *, check_input=True):
        called.append(check_input)
        return xb

    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        robust_accuracy(model, x, torch.where(y == 0, C, y), attack, batch_size=4)
    assert called == []
    assert robust_accuracy(model, x, y, attack, batch_size=4) == robust_accuracy(
        model, x, y
    )
    assert called == [False] * 3


@pytest.mark.parametrize("name", ["fgsm", "pgd", "cw_l2"])
def test_check_input_false_trusts_checked_tensors(name):
    model = small_model()
    x, y = random_batch(35, 6)
    attack = {
        "fgsm": functools.partial(fgsm, eps=0.1),
        "pgd": functools.partial(pgd, eps=0.1, steps=2, random_state=1),
        "cw_l2": functools.partial(cw_l2, steps=3, search_steps=1),
    }[name]
    torch.testing.assert_close(
        attack(model, x, y, check_input=False), attack(model, x, y), rtol=0, atol=0
    )
    # labels of another integer dtype are taken as int64
    trusted = attack(model, x, y.int(), check_input=False)
    torch.testing.assert_close(trusted, attack(model, x, y), rtol=0, atol=0)


def test_pgd_random_state_takes_every_kind_of_seed():
    """Defect: pgd(generator=) rejected an int. random_state takes None, an int, a
    NumPy generator or a torch.Generator, and the same seed repeats the attack."""
    import numpy as np

    model = small_model()
    x, y = random_batch(36, 10)

    def run(random_state):
        return pgd(
            model, x, y, eps=0.3, steps=1, step_size=0.01, random_state=random_state
        )

    assert torch.equal(run(5), run(torch.Generator().manual_seed(5)))
    assert not torch.equal(run(5), run(6))
    assert torch.equal(run(np.random.RandomState(2)), run(np.random.RandomState(2)))
    assert torch.equal(run(np.random.default_rng(2)), run(np.random.default_rng(2)))
    torch.manual_seed(0)
    first = run(None)
    torch.manual_seed(0)
    assert torch.equal(first, run(None))  # None follows the global generator
    # without a random start there is nothing to draw
    plain = pgd(model, x, y, eps=0.3, steps=2, random_start=False)
    state = torch.get_rng_state()
    assert torch.equal(plain, pgd(model, x, y, eps=0.3, steps=2, random_start=False))
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize(
    "y, match",
    [
        (torch.tensor([1.7, 0.0]), "integer class labels"),
        (torch.tensor([7, 0]), r"labels in \[0, 3\)"),
        (torch.tensor([-1, 0]), r"labels in \[0, 3\)"),
        ([[0, 1]], "1-D"),
    ],
)
def test_margin_loss_checks_its_labels(y, match):
    with pytest.raises(ValueError, match=match):
        margin_loss(torch.zeros(2, 3), y)


def test_margin_loss_wants_logits_as_a_tensor():
    with pytest.raises(TypeError, match="logits must be a floating tensor"):
        margin_loss([[0.0, 1.0]], [0])


def test_pgd_with_the_margin_loss_checks_labels_once(monkeypatch):
    from statlearn.robust import attacks

    calls = []
    real = attacks.check_labels
    monkeypatch.setattr(
        attacks, "check_labels", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    x, y = torch.rand(5, 4), torch.tensor([0, 1, 2, 0, 1])
    attacks.pgd(model, x, y, eps=0.1, steps=5, loss_fn=margin_loss)
    assert len(calls) == 1


def test_bpda_with_a_constant_approximation_says_so_in_backward():
    layer = bpda(lambda x: x.round(), approx=torch.zeros_like)
    x = torch.rand(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match="approx must be differentiable in x"):
        layer(x).sum().backward()
