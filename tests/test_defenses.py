"""Tests of statlearn.robust.defenses: adversarial training as a batch transform,
defensive distillation.
"""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import statlearn
from statlearn.nets import mlp
from statlearn.robust import (
    adversarial_transform,
    defensive_distillation,
    fgsm,
    pgd,
    robust_accuracy,
    soft_labels,
    tempered_cross_entropy,
)
from statlearn.training import accuracy, fit


@pytest.fixture(scope="module")
def split():
    from statlearn.data import digits

    return digits(seed=0)


def toy(n=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)


def toy_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


# --------------------------------------------------------------------------------------
# adversarial training
# --------------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 12), weight=st.floats(0.0, 1.0), training=st.booleans())
def test_transform_replaces_a_weighted_fraction(n, weight, training):
    model = toy_model()
    model.train(training)
    x, y = toy(n)
    attack = functools.partial(fgsm, eps=0.2)
    x_before = x.clone()
    x_mix, y_mix = adversarial_transform(attack, weight=weight)(model, x, y)
    k = int(round(weight * n))
    assert torch.equal(x, x_before) and y_mix is y and x_mix.shape == x.shape
    assert not x_mix.requires_grad
    torch.testing.assert_close(x_mix[:k], attack(model, x[:k], y[:k]) if k else x[:0])
    assert torch.equal(x_mix[k:], x[k:])
    assert model.training == training
    assert all(p.grad is None for p in model.parameters())


def test_transform_errors():
    with pytest.raises(ValueError):
        adversarial_transform(functools.partial(fgsm, eps=0.1), weight=1.5)
    with pytest.raises(ValueError):
        adversarial_transform(functools.partial(fgsm, eps=0.1), weight=-0.1)
    with pytest.raises(TypeError):
        adversarial_transform("fgsm")
    x, _ = toy()
    with pytest.raises(ValueError):
        adversarial_transform(functools.partial(fgsm, eps=0.1))(toy_model(), x, None)


def test_adversarial_training_with_fit_makes_the_model_robust(split):
    x, y = split.x_test, split.y_test
    statlearn.seed_everything(0)
    standard = mlp(64, 10, (64,))
    fit(
        standard, (split.x_train, split.y_train), epochs=30, lr=3e-3, quiet=True, seed=0
    )
    statlearn.seed_everything(0)
    robust = mlp(64, 10, (64,))
    transform = adversarial_transform(functools.partial(fgsm, eps=0.1), weight=0.5)
    hist = fit(
        robust,
        (split.x_train, split.y_train),
        epochs=30,
        lr=3e-3,
        quiet=True,
        seed=0,
        transform=transform,
    )
    assert len(hist["loss"]) == 30 and not robust.training
    attack = functools.partial(pgd, eps=0.1, steps=10)
    acc_standard = robust_accuracy(standard, x, y, attack)
    acc_robust = robust_accuracy(robust, x, y, attack)
    assert accuracy(robust, x, y) > 0.9
    assert acc_robust > acc_standard + 0.2


# --------------------------------------------------------------------------------------
# tempered cross-entropy and soft labels
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("temperature", [1.0, 3.0, 100.0])
def test_tempered_cross_entropy_hard_and_soft(temperature):
    model = toy_model()
    x, y = toy(16)
    objective = tempered_cross_entropy(temperature)
    out = objective(model, x, y)
    logits = model(x)
    torch.testing.assert_close(out.total, F.cross_entropy(logits / temperature, y))
    assert out.accuracy == (logits.argmax(1) == y).float().mean()
    soft = objective(model, x, F.one_hot(y, 3).float())
    torch.testing.assert_close(soft.total, out.total)
    q = torch.softmax(torch.randn(16, 3), dim=1)
    expected = -(q * F.log_softmax(logits / temperature, dim=1)).sum(1).mean()
    torch.testing.assert_close(objective(model, x, q).total, expected)
    # the loss is differentiable for fit
    objective(model, x, q).total.backward()
    assert model[0].weight.grad is not None


def test_tempered_cross_entropy_errors():
    with pytest.raises(ValueError):
        tempered_cross_entropy(0.0)
    with pytest.raises(ValueError):
        tempered_cross_entropy(-1.0)
    x, _ = toy(4)
    with pytest.raises(ValueError):
        tempered_cross_entropy(2.0)(toy_model(), x, torch.full((4, 5), 0.2))


def test_soft_labels():
    model = toy_model()
    model.train()
    x, _ = toy(20)
    q = soft_labels(model, x, temperature=5.0)
    assert q.shape == (20, 3) and model.training
    torch.testing.assert_close(q.sum(1), torch.ones(20))
    with torch.no_grad():
        torch.testing.assert_close(q, torch.softmax(model(x) / 5.0, dim=1))
    hot = soft_labels(model, x, temperature=0.01)
    flat = soft_labels(model, x, temperature=1e4)
    assert hot.amax(1).mean() > q.amax(1).mean() > flat.amax(1).mean()
    with pytest.raises(ValueError):
        soft_labels(model, x, temperature=0)


# --------------------------------------------------------------------------------------
# defensive distillation
# --------------------------------------------------------------------------------------
def zero_gradient_fraction(model, x, y):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y, reduction="sum"), x)
    return (g.flatten(1).abs().amax(1) == 0).float().mean().item()


def test_defensive_distillation_saturates_and_masks_gradients(split):
    x, y = split.x_test, split.y_test
    statlearn.seed_everything(0)
    standard = mlp(64, 10, (64,))
    fit(
        standard, (split.x_train, split.y_train), epochs=30, lr=1e-2, quiet=True, seed=0
    )
    statlearn.seed_everything(0)
    result = defensive_distillation(
        mlp(64, 10, (64,)),
        mlp(64, 10, (64,)),
        split.x_train,
        split.y_train,
        temperature=100.0,
        epochs=30,
        lr=1e-2,
        quiet=True,
        seed=0,
    )
    student = result.student
    assert (
        len(result.teacher_history["loss"]) == 30
        and len(result.student_history["loss"]) == 30
    )
    assert accuracy(student, x, y) > 0.9 and accuracy(result.teacher, x, y) > 0.9
    with torch.no_grad():
        spread_student = student(x).std(1).mean()
        spread_standard = standard(x).std(1).mean()
    assert spread_student > 10 * spread_standard, (
        "logits at T = 1 are about tau times larger"
    )
    assert zero_gradient_fraction(student, x, y) > 0.5
    assert zero_gradient_fraction(standard, x, y) < 0.05
    attack = functools.partial(fgsm, eps=0.1)
    assert (
        robust_accuracy(student, x, y, attack)
        > robust_accuracy(standard, x, y, attack) + 0.2
    )


def test_defensive_distillation_errors(split):
    x, y = split.x_train[:50], split.y_train[:50]

    def make():
        return mlp(64, 10, (8,))

    with pytest.raises(ValueError):
        defensive_distillation(
            make(), make(), x, y, temperature=0.0, epochs=1, quiet=True
        )
    with pytest.raises(ValueError):
        defensive_distillation(make(), make(), x * 3, y, epochs=1, quiet=True)
    with pytest.raises(ValueError):
        defensive_distillation(make(), make(), x, y + 10, epochs=1, quiet=True)
    with pytest.raises(ValueError):
        defensive_distillation(make(), make(), x, y[:10], epochs=1, quiet=True)
    with pytest.raises(TypeError):
        defensive_distillation(
            make(), make(), x, y, epochs=1, quiet=True, objective=None
        )


# --------------------------------------------------------------------------------------
# issue 15


def test_soft_labels_and_distillation_accept_numpy_float64():
    """Defect: soft_labels raised AttributeError '.to' on NumPy input; float64 crashed
    the teacher.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    x, y = rng.random((40, 6)), rng.integers(0, 3, 40)
    torch.manual_seed(0)
    teacher = nn.Sequential(nn.Linear(6, 3))
    q = soft_labels(teacher, x, temperature=5.0)
    assert q.dtype == torch.float32 and torch.allclose(q.sum(1), torch.ones(40))
    out = defensive_distillation(
        nn.Sequential(nn.Linear(6, 3)),
        nn.Sequential(nn.Linear(6, 3)),
        x,
        y,
        temperature=5.0,
        epochs=1,
        quiet=True,
    )
    assert out.student_history.epochs == 1
