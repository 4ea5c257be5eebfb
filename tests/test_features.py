"""Tests of statlearn.robust.features: the non-robust datasets D_rand and D_det, and
representation inversion (D_R, D_NR).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import statlearn
from statlearn.nets import mlp, record_activations
from statlearn.robust import invert_representation, relabel_adversarially
from statlearn.training import fit

LAYER = "4"  # the last ReLU of mlp(64, 10, hidden=(32, 16))


@pytest.fixture(scope="module")
def setup():
    from statlearn.data import digits

    data = digits(random_state=0)
    statlearn.seed_everything(0)
    model = mlp(64, 10, hidden=(32, 16))
    fit(
        model,
        (data.x_train, data.y_train),
        epochs=15,
        lr=3e-3,
        quiet=True,
        random_state=0,
    )
    model.zero_grad(set_to_none=True)  # training leaves gradients; attacks must not
    return model, data.x_test[:60], data.y_test[:60]


def _no_param_grads(model):
    return all(p.grad is None for p in model.parameters())


# --------------------------------------------------------------------------------------
# relabel_adversarially
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["rand", "det"])
def test_relabelled_rows_stay_in_the_ball_and_are_classified_as_target(setup, mode):
    model, x, y = setup
    x_before = x.clone()
    model.train()
    x_adv, target = relabel_adversarially(
        model, x, y, 1.0, mode, steps=30, random_state=0
    )
    assert model.training and _no_param_grads(model)
    assert torch.equal(x, x_before)
    assert 0 < len(x_adv) <= len(x) and target.shape == (len(x_adv),)
    assert target.dtype == torch.long and not x_adv.requires_grad
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
    with torch.no_grad():
        assert torch.equal(model.eval()(x_adv).argmax(1), target)
    # which rows were kept: each adversarial example is within eps of its own input
    # (rows keep their order, so match every kept row to its nearest input)
    dist = torch.cdist(x_adv, x)
    assert float(dist.min(dim=1).values.max()) <= 1.0 + 1e-5


def test_det_targets_are_the_next_class(setup):
    model, x, y = setup
    # a budget of 3 in l2 on 8x8 digits reaches the next class for every row here, so
    # the rows can be compared one to one
    x_adv, target = relabel_adversarially(model, x, y, 3.0, "det", steps=30)
    assert len(x_adv) == len(x)
    assert torch.equal(target, (y + 1) % 10)
    assert float((x_adv - x).norm(dim=1).max()) <= 3.0 + 1e-5


def test_rand_targets_are_reproducible_and_spread_over_classes(setup):
    model, x, y = setup
    x_big = x.repeat(5, 1)
    y_big = y.repeat(5)
    a, ta = relabel_adversarially(
        model, x_big, y_big, 3.0, "rand", steps=20, random_state=1
    )
    b, tb = relabel_adversarially(
        model, x_big, y_big, 3.0, "rand", steps=20, random_state=1
    )
    assert torch.equal(a, b) and torch.equal(ta, tb)
    counts = torch.bincount(ta, minlength=10)
    assert int((counts > 0).sum()) == 10  # uniform targets cover every class
    # at eps = 0 nothing moves: exactly the rows already classified as their target
    # are kept
    x0, t0 = relabel_adversarially(model, x, y, 0.0, "rand", steps=5, random_state=2)
    with torch.no_grad():
        assert torch.equal(model(x0).argmax(1), t0)
    assert float(torch.cdist(x0, x).min(dim=1).values.max()) < 1e-6


def test_relabel_does_not_depend_on_batch_size_and_accepts_numpy(setup):
    model, x, y = setup
    a, ta = relabel_adversarially(model, x, y, 1.0, "det", steps=20)
    b, tb = relabel_adversarially(
        model,
        x.numpy().astype(np.float64),
        y.numpy(),
        1.0,
        "det",
        steps=20,
        batch_size=7,
    )
    assert b.dtype == torch.float32
    assert torch.equal(ta, tb) and torch.allclose(a, b, atol=1e-6)


def test_relabel_errors(setup):
    model, x, y = setup
    with pytest.raises(ValueError, match="mode"):
        relabel_adversarially(model, x, y, 1.0, "cyclic")
    with pytest.raises(ValueError, match="eps"):
        relabel_adversarially(model, x, y, -0.1)
    with pytest.raises(ValueError, match="steps"):
        relabel_adversarially(model, x, y, 1.0, steps=0)
    with pytest.raises(ValueError, match="batch_size"):
        relabel_adversarially(model, x, y, 1.0, batch_size=0)
    with pytest.raises(ValueError, match="x"):
        relabel_adversarially(model, x + 2.0, y, 1.0)
    with pytest.raises(ValueError, match="x"):
        relabel_adversarially(model, x[0], y, 1.0)
    with pytest.raises(ValueError, match="y"):
        relabel_adversarially(model, x, y[:-1], 1.0)
    with pytest.raises(ValueError, match="y"):
        relabel_adversarially(model, x, y + 10, 1.0)
    with pytest.raises(TypeError, match="model"):
        relabel_adversarially(lambda t: t, x, y, 1.0)


# --------------------------------------------------------------------------------------
# invert_representation
# --------------------------------------------------------------------------------------
def _distance(model, x, x_target, layer=LAYER):
    z = record_activations(model, x, [layer])[layer]
    z_t = record_activations(model, x_target, [layer])[layer]
    return (z - z_t).flatten(1).norm(dim=1)


def test_inversion_lowers_the_representation_distance(setup):
    model, x, _ = setup
    x_start = x.roll(1, dims=0)  # a different image for every row
    before = _distance(model, x_start, x)
    model.train()
    x_inv = invert_representation(model, x, x_start, LAYER, 100, step_size=0.05)
    assert model.training and _no_param_grads(model)
    after = _distance(model, x_inv, x)
    assert x_inv.shape == x.shape and not x_inv.requires_grad
    assert float(x_inv.min()) >= 0.0 and float(x_inv.max()) <= 1.0
    assert bool((after <= before + 1e-6).all())  # the best iterate is kept
    assert float(after.median()) < 0.2 * float(before.median())
    # more steps never hurt, since each row keeps its best iterate
    x_more = invert_representation(model, x, x_start, LAYER, 200, step_size=0.05)
    assert bool((_distance(model, x_more, x) <= after + 1e-6).all())


def test_inversion_of_an_injective_layer_recovers_the_target():
    # an invertible linear layer: matching its output means matching the input
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 3))
    g = torch.Generator().manual_seed(0)
    x_target = torch.rand(5, 6, generator=g) * 0.8 + 0.1
    x_start = torch.rand(5, 6, generator=g)
    x_inv = invert_representation(
        model, x_target, x_start, "0", 400, step_size=0.01, batch_size=2
    )
    assert torch.allclose(x_inv, x_target, atol=0.02)


def test_inversion_does_not_depend_on_batch_size(setup):
    model, x, _ = setup
    x_start = x.flip(0)
    a = invert_representation(model, x, x_start, LAYER, 20)
    b = invert_representation(
        model, x.numpy(), x_start.numpy(), LAYER, 20, batch_size=8
    )
    assert torch.allclose(a, b, atol=1e-6)


def test_inversion_errors(setup):
    model, x, _ = setup
    with pytest.raises(ValueError, match="submodule"):
        invert_representation(model, x, x, "head", 5)
    with pytest.raises(TypeError, match="layer"):
        invert_representation(model, x, x, 4, 5)
    with pytest.raises(ValueError, match="same shape"):
        invert_representation(model, x, x[:-1], LAYER, 5)
    with pytest.raises(ValueError, match="x_start"):
        invert_representation(model, x, x - 1.0, LAYER, 5)
    with pytest.raises(ValueError, match="x_target"):
        invert_representation(model, x[0], x[0], LAYER, 5)
    with pytest.raises(ValueError, match="steps"):
        invert_representation(model, x, x, LAYER, 0)
    with pytest.raises(ValueError, match="step_size"):
        invert_representation(model, x, x, LAYER, 5, step_size=0.0)
    with pytest.raises(ValueError, match="batch_size"):
        invert_representation(model, x, x, LAYER, 5, batch_size=0)


# --------------------------------------------------------------------------------------
# one set of conventions
# --------------------------------------------------------------------------------------
def test_relabel_checks_the_data_once(setup, monkeypatch):
    """relabel_adversarially checks x once and runs pgd on its batches without pgd's
    own checks: one range check and no finiteness pass, however many batches."""
    import statlearn.robust.attacks as attacks
    import statlearn.robust.features as features

    model, x, y = setup
    counts = {"range": 0, "isfinite": 0}

    def counting(key, fn):
        def wrapped(*args, **kwargs):
            counts[key] += 1
            return fn(*args, **kwargs)

        return wrapped

    for module in (attacks, features):
        monkeypatch.setattr(
            module,
            "check_unit_interval",
            counting("range", module.check_unit_interval),
        )
    monkeypatch.setattr(torch, "isfinite", counting("isfinite", torch.isfinite))
    relabel_adversarially(model, x, y, 1.0, "det", steps=2, batch_size=10)  # 6 batches
    assert counts == {"range": 1, "isfinite": 0}
    with pytest.raises(ValueError, match="x"):
        relabel_adversarially(model, torch.full_like(x, float("nan")), y, 1.0)


def test_relabel_targets_follow_the_randomness_rule(setup):
    model, x, y = setup
    by_int = relabel_adversarially(model, x, y, 0.0, "rand", steps=1, random_state=4)
    by_gen = relabel_adversarially(
        model, x, y, 0.0, "rand", steps=1, random_state=torch.Generator().manual_seed(4)
    )
    assert torch.equal(by_int[1], by_gen[1])
    with pytest.raises(TypeError):
        relabel_adversarially(model, x, y, 1.0, "rand", random_state="four")


def test_relabel_adversarially_says_which_rows_it_kept(setup):
    model, x, y = setup
    x_adv, target, index = relabel_adversarially(
        model, x, y, 1.0, "det", steps=20, batch_size=17, return_index=True
    )
    plain, plain_t = relabel_adversarially(model, x, y, 1.0, "det", steps=20)
    torch.testing.assert_close(x_adv, plain)
    assert torch.equal(target, plain_t)
    assert index.dtype == torch.int64 and index.shape == target.shape
    assert bool((index[1:] > index[:-1]).all())
    # each kept row lies within eps of the row it comes from; det targets are y + 1
    assert bool((target == (y[index] + 1) % 10).all())
    dist = (x_adv - x[index]).flatten(1).norm(dim=1)
    assert bool((dist <= 1.0 + 1e-4).all())
    assert 0 < len(index) < len(x) or len(index) == len(x)
    with pytest.raises(TypeError, match="return_index must be a bool"):
        relabel_adversarially(model, x, y, 1.0, steps=1, return_index="yes")
