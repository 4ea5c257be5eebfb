"""Tests of statlearn.robust.defenses: adversarial training as a batch transform,
defensive distillation.
"""

from __future__ import annotations

import functools
import math

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

    return digits(random_state=0)


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
        standard,
        (split.x_train, split.y_train),
        epochs=30,
        lr=3e-3,
        quiet=True,
        random_state=0,
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
        random_state=0,
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
        standard,
        (split.x_train, split.y_train),
        epochs=30,
        lr=1e-2,
        quiet=True,
        random_state=0,
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
        random_state=0,
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


# --------------------------------------------------------------------------------------
# feature squeezing (chapter 15)
# --------------------------------------------------------------------------------------
def _unit(shape, seed=0, dtype=torch.float32):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@settings(max_examples=30, deadline=None)
@given(bits=st.integers(1, 8), seed=st.integers(0, 10_000))
def test_bit_depth_is_idempotent_and_stays_in_the_unit_interval(bits, seed):
    from statlearn.robust import bit_depth

    x = _unit((5, 1, 4, 4), seed)
    x[0, 0, 0, :2] = torch.tensor([0.0, 1.0])  # the end points stay where they are
    squeezed = bit_depth(x, bits)
    assert squeezed.shape == x.shape and squeezed.dtype == x.dtype
    assert squeezed.min() >= 0 and squeezed.max() <= 1
    assert torch.equal(bit_depth(squeezed, bits), squeezed)
    assert squeezed.unique().numel() <= 2**bits
    assert (squeezed - x).abs().max() <= 0.5 / (2**bits - 1) + 1e-6
    assert squeezed[0, 0, 0, 0] == 0 and squeezed[0, 0, 0, 1] == 1


def test_bit_depth_values():
    from statlearn.robust import bit_depth

    eight_bit = torch.arange(256, dtype=torch.float32) / 255
    assert torch.equal(bit_depth(eight_bit, 8), eight_bit)
    x = torch.tensor([0.0, 0.2, 0.26, 0.5, 0.74, 0.8, 1.0])
    assert torch.equal(bit_depth(x, 1), torch.tensor([0.0, 0, 0, 0, 1, 1, 1]))
    expected = torch.tensor([0.0, 1, 1, 2, 2, 2, 3]) / 3  # 0.5 * 3 = 1.5 ties to 2
    torch.testing.assert_close(bit_depth(x, 2), expected)
    # NumPy in, float64 kept
    import numpy as np

    out = bit_depth(np.array([0.1, 0.9]), 1)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    assert out.tolist() == [0.0, 1.0]


def test_bit_depth_errors():
    from statlearn.robust import bit_depth

    x = _unit((2, 4))
    for bits in (0, 9, -1):
        with pytest.raises(ValueError, match="bits"):
            bit_depth(x, bits)
    with pytest.raises(TypeError):
        bit_depth(x, 2.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bit_depth(x * 2, 2)


@pytest.mark.parametrize("mode", ["reflect", "nearest", "mirror", "wrap"])
@pytest.mark.parametrize("size", [1, 2, 3, (2, 3), 4, 9])
def test_median_filter_equals_scipy(mode, size):
    """Same windows (origin 0: a 2x2 window covers rows i-1, i and columns j-1, j), same
    border mode, same median for an even count (the upper middle value)."""
    import numpy as np
    from scipy import ndimage

    from statlearn.robust import median_filter

    x = np.random.default_rng(0).random((3, 2, 6, 7))
    window = (1, 1) + ((size, size) if isinstance(size, int) else size)
    expected = ndimage.median_filter(x, size=window, mode=mode)
    got = median_filter(torch.from_numpy(x), size, mode=mode)
    assert got.dtype == torch.float64
    np.testing.assert_array_equal(got.numpy(), expected)
    # flat input with the image shape: the same numbers, returned flat
    flat = median_filter(x.reshape(3, -1), size, image_shape=(2, 6, 7), mode=mode)
    assert flat.shape == (3, 84)
    np.testing.assert_array_equal(flat.numpy(), expected.reshape(3, -1))


def test_median_filter_two_by_two_alignment():
    from statlearn.robust import median_filter

    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    # output (i, j) is the upper median of rows i-1..i and columns j-1..j, with the
    # border reflected: (0, 0) sees only x[0, 0]; (1, 1) sees 1, 2, 3, 4 and takes 3
    expected = torch.tensor([[1.0, 2.0], [3.0, 3.0]])
    assert torch.equal(median_filter(x.reshape(1, 1, 2, 2), 2)[0, 0], expected)
    assert torch.equal(
        median_filter(x.reshape(1, 4), 2, image_shape=(2, 2)), expected.reshape(1, 4)
    )


def test_median_filter_gradient_goes_to_the_selected_pixels():
    from statlearn.robust import median_filter

    x = _unit((2, 1, 5, 5)).requires_grad_(True)
    out = median_filter(x, 3)
    (grad,) = torch.autograd.grad(out.sum(), x)
    # each output pixel passes a gradient of one to the input pixel it selected
    assert grad.sum() == out.numel() and (grad >= 0).all()
    assert torch.equal(grad.round(), grad)


def test_median_filter_errors():
    from statlearn.robust import median_filter

    x = _unit((2, 1, 4, 4))
    for size in (0, (2, 0), -1):
        with pytest.raises(ValueError, match="size"):
            median_filter(x, size)
    with pytest.raises(ValueError, match="pair"):
        median_filter(x, (2, 2, 2))
    with pytest.raises(TypeError):
        median_filter(x, 2.5)
    with pytest.raises(ValueError, match="mode"):
        median_filter(x, 2, mode="constant")
    with pytest.raises(ValueError, match="image_shape"):
        median_filter(x.reshape(2, 16), 2)  # flat without the image shape
    with pytest.raises(ValueError, match="prod"):
        median_filter(x.reshape(2, 16), 2, image_shape=(5, 5))
    with pytest.raises(ValueError, match="image_shape"):
        median_filter(x.reshape(2, 16), 2, image_shape=(16,))
    with pytest.raises(ValueError, match="image_shape"):
        median_filter(x.reshape(2, 16), 2, image_shape=(0, 4, 4))


def _squeezing_setup():
    import functools

    from statlearn.robust import FeatureSqueezing, bit_depth, median_filter

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 12), nn.Tanh(), nn.Linear(12, 3))
    squeezers = [
        functools.partial(bit_depth, bits=1),
        functools.partial(median_filter, size=2, image_shape=(4, 4)),
    ]
    return model, squeezers, FeatureSqueezing(model, squeezers)


def test_feature_squeezing_score_is_the_largest_l1_distance():
    model, squeezers, detector = _squeezing_setup()
    x = _unit((30, 16))
    model.train()
    score = detector.score(x)
    assert model.training, "the model's mode is restored"
    assert score.shape == (30,) and score.min() >= 0 and score.max() <= 2
    with torch.no_grad():
        p = torch.softmax(model(x), dim=1)
        per = torch.stack(
            [(p - torch.softmax(model(s(x)), dim=1)).abs().sum(1) for s in squeezers], 1
        )
    torch.testing.assert_close(detector.distances(x), per)
    torch.testing.assert_close(score, per.amax(1))
    assert score.requires_grad  # not detached


def test_feature_squeezing_score_is_differentiable_through_the_median():
    from statlearn.robust import FeatureSqueezing, median_filter

    model = _squeezing_setup()[0].double()
    detector = FeatureSqueezing(
        model, [lambda x: median_filter(x, 2, image_shape=(4, 4))]
    )
    x = _unit((4, 16), dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: detector.score(t), (x,))
    assert all(p.grad is None for p in model.parameters())


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 120),
    fpr=st.floats(0.01, 0.5),
    seed=st.integers(0, 1000),
)
def test_calibrated_fpr_on_its_calibration_set(n, fpr, seed):
    model, _, detector = _squeezing_setup()
    x = _unit((n, 16), seed)
    assert detector.calibrate(x, fpr=fpr) is detector
    flagged = detector.detect(x)
    assert flagged.dtype == torch.bool and flagged.shape == (n,)
    assert flagged.float().mean().item() <= fpr + 1 / n
    assert detector.fpr_ == fpr and detector.n_calibration_ == n
    scores = detector.score(x).detach()
    assert torch.equal(flagged, scores > detector.threshold_)
    if n < 1 / fpr - 1:  # too few inputs for the conformal rank: nothing is flagged
        assert detector.threshold_ == math.inf and not flagged.any()
    else:  # the threshold is one of the clean scores: nothing below it is flagged
        assert torch.isclose(scores, torch.tensor(detector.threshold_)).any()


@pytest.mark.parametrize("n, fpr", [(10, 0.2), (30, 0.1)])
def test_calibrated_fpr_on_fresh_clean_inputs_is_at_most_the_target(n, fpr):
    """The conformal rank k = ceil((1 - fpr)(n + 1)): over repeated calibrations, the
    expected fraction of *fresh* clean inputs flagged is (n - k + 1) / (n + 1) <= fpr.
    The plain quantile ceil((1 - fpr) n) gives 3/11 = 0.27 > 0.2 and 4/31 = 0.13 > 0.1
    at these settings, which this simulation tells apart."""
    model, _, detector = _squeezing_setup()
    gen = torch.Generator().manual_seed(1)
    rates = []
    for _ in range(500):
        detector.calibrate(torch.rand((n, 16), generator=gen), fpr=fpr)
        fresh = torch.rand((1000, 16), generator=gen)  # never seen by calibrate
        rates.append(detector.detect(fresh).float().mean().item())
    rates = torch.tensor(rates, dtype=torch.float64)
    mean, se = rates.mean().item(), rates.std().item() / math.sqrt(len(rates))
    k = math.ceil((1 - fpr) * (n + 1))
    assert mean <= fpr + 3 * se
    assert abs(mean - (n - k + 1) / (n + 1)) < 4 * se


def test_feature_squeezing_flags_a_change_that_squeezing_removes():
    """On binary images, a perturbation of at most 0.3 per pixel is undone by 1-bit
    squeezing: the detector sees the whole change of the softmax that it caused."""
    import functools

    from statlearn.robust import FeatureSqueezing, bit_depth

    torch.manual_seed(0)
    model = nn.Linear(16, 3)
    detector = FeatureSqueezing(model, [functools.partial(bit_depth, bits=1)])
    binary = (_unit((60, 16)) > 0.5).float()
    detector.calibrate(binary[:30], fpr=0.1)
    assert detector.threshold_ == 0.0  # squeezing leaves binary images unchanged
    assert not detector.detect(binary[30:]).any()
    x = binary[30:].clone().requires_grad_(True)
    top = torch.log_softmax(model(x), dim=1).amax(dim=1).sum()
    (grad,) = torch.autograd.grad(top, x)
    x_adv = (binary[30:] - 0.3 * grad.sign()).clamp(0, 1)  # lower the top class
    assert torch.equal(bit_depth(x_adv, 1), binary[30:])
    with torch.no_grad():
        moved = (model(x_adv).softmax(1) - model(binary[30:]).softmax(1)).abs().sum(1)
    torch.testing.assert_close(detector.score(x_adv).detach(), moved)
    assert detector.detect(x_adv).all()


def test_feature_squeezing_errors():
    from sklearn.exceptions import NotFittedError

    from statlearn.robust import FeatureSqueezing, bit_depth

    model, squeezers, detector = _squeezing_setup()
    x = _unit((10, 16))
    with pytest.raises(ValueError, match="calibrate"):
        detector.detect(x)
    with pytest.raises(NotFittedError):
        detector.detect(x)
    for fpr in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="fpr"):
            detector.calibrate(x, fpr=fpr)
    with pytest.raises(ValueError, match="at least one"):
        FeatureSqueezing(model, [])
    with pytest.raises(TypeError):
        FeatureSqueezing(model, ["bit_depth"])
    with pytest.raises(TypeError):
        FeatureSqueezing(model, bit_depth)
    with pytest.raises(TypeError):
        FeatureSqueezing("model", squeezers)
    with pytest.raises(ValueError, match="shape"):
        FeatureSqueezing(model, [lambda t: t[:, :8]]).score(x)
    with pytest.raises(ValueError, match="batch"):
        detector.score(x[0])


def test_feature_squeezing_accepts_numpy_float64():
    import numpy as np

    model, _, detector = _squeezing_setup()
    x = np.random.default_rng(0).random((40, 16))
    detector.calibrate(x[:20])
    assert detector.score(x).dtype == torch.float32
    torch.testing.assert_close(
        detector.score(x), detector.score(torch.tensor(x, dtype=torch.float32))
    )
    assert detector.detect(x[20:]).shape == (20,)


@pytest.mark.gpu
def test_feature_squeezing_on_cuda_matches_cpu():
    model, _, detector = _squeezing_setup()
    x = _unit((50, 16))
    detector.calibrate(x)
    cpu = detector.score(x).detach()
    from statlearn.robust import median_filter

    model.cuda()
    gpu = detector.score(x.cuda()).detach()
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=1e-5)
    assert torch.equal(detector.detect(x.cuda()).cpu(), cpu > detector.threshold_)
    images = _unit((3, 2, 6, 7))
    assert torch.equal(median_filter(images.cuda(), 3).cpu(), median_filter(images, 3))


# --------------------------------------------------------------------------------------
# one set of conventions: fit(random_state=) repeats adversarial training; the
# attack checks the first batch, then trusts fit's batches
# --------------------------------------------------------------------------------------
def test_adversarial_training_repeats_for_a_random_state():
    """PGD's random start draws with random_state=None inside the transform, so
    fit(random_state=...) repeats the whole run, whatever the global state."""
    x, y = toy(48)
    transform = adversarial_transform(
        functools.partial(pgd, eps=0.2, steps=2), weight=0.5
    )

    def run(global_seed):
        model = toy_model()
        torch.manual_seed(global_seed)
        fit(
            model,
            (x, y),
            epochs=2,
            batch_size=16,
            transform=transform,
            quiet=True,
            random_state=3,
        )
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    first = run(1)
    assert torch.equal(first, run(2))
    other = toy_model()
    fit(other, (x, y), epochs=2, batch_size=16, transform=transform, quiet=True)
    assert not torch.equal(
        first, torch.cat([p.detach().flatten() for p in other.parameters()])
    )


def test_transform_checks_the_first_batch_then_trusts_the_rest():
    """The first batch goes through the attack's checks; later ones skip them
    (check_input=False): no host synchronisation per training step for the checks."""
    seen = []

    def attack(model, x, y, *, check_input=True):
        seen.append(check_input)
        return x

    transform = adversarial_transform(attack, weight=0.5)
    x, y = toy(8)
    for _ in range(3):
        transform(toy_model(), x, y)
    assert seen == [True, False, False]
    # a callable without check_input is always called plainly
    plain = []
    adversarial_transform(lambda m, a, b: plain.append(a) or a)(toy_model(), x, y)
    assert len(plain) == 1
    # the first batch is checked: pixels outside [0, 1] are an error there
    checked = adversarial_transform(functools.partial(fgsm, eps=0.1), weight=1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        checked(toy_model(), x + 2.0, y)


def test_tempered_loss_declares_its_unit():
    out = tempered_cross_entropy(2.0)(toy_model(), *toy())
    assert out.units == "nats" and out._fields[0] == "total"


@pytest.mark.parametrize("image_shape", [(8.9, 8.2), "88", (8.0, 8.0), 64])
def test_median_filter_refuses_an_image_shape_that_is_not_ints(image_shape):
    from statlearn.robust import median_filter

    with pytest.raises(TypeError, match="image_shape must be"):
        median_filter(torch.rand(2, 64), image_shape=image_shape)


def test_median_only_feature_squeezing_refuses_pixels_outside_the_unit_interval():
    from statlearn.robust import FeatureSqueezing, median_filter

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 3))
    detector = FeatureSqueezing(
        model, [functools.partial(median_filter, size=2, image_shape=(8, 8))]
    )
    digits_0_16 = torch.randint(0, 17, (4, 64)).float()
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        detector.score(digits_0_16)
    assert detector.score(digits_0_16 / 16).shape == (4,)
