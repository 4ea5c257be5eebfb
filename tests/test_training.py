from typing import NamedTuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import statlearn
from statlearn import data, nets, training


@pytest.fixture(scope="module")
def digits():
    return data.digits()


def test_fit_classifier_learns_digits(digits):
    statlearn.seed_everything(0)
    model = nets.mlp(64, 10, (64,))
    hist = training.fit(
        model,
        (digits.x_train, digits.y_train),
        epochs=15,
        lr=3e-3,
        val=(digits.x_test, digits.y_test),
        quiet=True,
        random_state=0,
    )
    assert hist.epochs == 15 and set(hist) == {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
    }
    assert hist["loss"][-1] < hist["loss"][0]
    assert not model.training
    acc = training.accuracy(model, digits.x_test, digits.y_test)
    assert acc > 0.9
    ev = training.evaluate(model, digits.x_test, digits.y_test)
    assert ev.accuracy == pytest.approx(acc) and ev.loss == pytest.approx(
        hist["val_loss"][-1], rel=1e-5
    )


def test_fit_is_repeatable(digits):
    def run():
        statlearn.seed_everything(1)
        model = nets.mlp(64, 10, (16,))
        return training.fit(
            model,
            (digits.x_train, digits.y_train),
            epochs=2,
            quiet=True,
            random_state=1,
        )["loss"]

    assert run() == run()


class Terms(NamedTuple):
    total: torch.Tensor
    distortion: torch.Tensor
    rate: torch.Tensor


def test_fit_generic_objective_records_named_terms():
    x = torch.randn(256, 3)
    target = x @ torch.tensor([1.0, -2.0, 0.5])
    model = torch.nn.Linear(3, 1)

    def objective(m, xb, yb):
        distortion = F.mse_loss(m(xb).squeeze(1), yb)
        rate = m.weight.pow(2).sum()
        return Terms(distortion + 1e-3 * rate, distortion, rate)

    hist = training.fit(
        model,
        (x, target),
        objective=objective,
        epochs=60,
        lr=0.05,
        batch_size=64,
        quiet=True,
        val=(x, target),
    )
    assert set(hist) == {
        "loss",
        "distortion",
        "rate",
        "val_loss",
        "val_distortion",
        "val_rate",
    }
    assert hist["distortion"][-1] < 0.01


def test_fit_unlabelled_and_dataloader():
    x = torch.randn(100, 2) + 3.0
    centre = torch.nn.Linear(1, 2, bias=False)  # learns the mean as its weight column

    def objective(m, xb):
        return (xb - m.weight.T).pow(2).sum(1).mean()

    hist = training.fit(centre, x, objective=objective, epochs=100, lr=0.1, quiet=True)
    assert torch.allclose(centre.weight.T.squeeze(0), x.mean(0), atol=0.05)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x), batch_size=10
    )
    hist2 = training.fit(centre, loader, objective=objective, epochs=1, quiet=True)
    assert hist2.epochs == 1 and len(hist["loss"]) == 100


def test_transform_hook_applies_in_training_only(digits):
    seen = []

    def transform(model, x, y):
        seen.append(model.training)
        return torch.zeros_like(x), y

    model = nets.mlp(64, 10, ())
    hist = training.fit(
        model,
        (digits.x_train[:64], digits.y_train[:64]),
        epochs=3,
        transform=transform,
        quiet=True,
        val=(digits.x_test, digits.y_test),
    )
    assert len(seen) == 3
    # trained on blank images only, the model cannot beat guessing on real ones
    assert hist["val_accuracy"][-1] < 0.3


def test_fit_errors(digits):
    model = nets.mlp(64, 10)
    with pytest.raises(ValueError, match="epochs"):
        training.fit(model, (digits.x_train, digits.y_train), epochs=0)
    with pytest.raises(ValueError, match="lr"):
        training.fit(model, (digits.x_train, digits.y_train), lr=-1)
    with pytest.raises(ValueError, match="optimizer"):
        training.fit(
            model, (digits.x_train, digits.y_train), optimizer="rmsprop-ish", quiet=True
        )
    with pytest.raises(ValueError, match="same first dimension"):
        training.fit(model, (digits.x_train, digits.y_train[:10]), quiet=True)
    with pytest.raises(TypeError, match="objective"):
        training.fit(
            model,
            (digits.x_train, digits.y_train),
            objective=lambda m, x, y: "nope",
            quiet=True,
        )
    with pytest.raises(TypeError, match="nn.Module"):
        training.fit(lambda x: x, digits.x_train)
    with pytest.raises(ValueError, match="450 labels, one per input; got 3"):
        training.accuracy(model, digits.x_test, digits.y_test[:3])


def test_fit_nan_loss_is_reported():
    model = torch.nn.Linear(2, 1)
    with pytest.raises(FloatingPointError, match="lower lr"):
        training.fit(
            model,
            torch.randn(8, 2),
            objective=lambda m, x: m(x).sum() * float("nan"),
            quiet=True,
        )


def test_predict_logits_restores_mode(digits):
    model = nets.mlp(64, 10, (8,), dropout=0.5)
    model.train()
    out = training.predict_logits(model, digits.x_test, batch_size=100)
    assert out.shape == (450, 10) and model.training
    assert torch.equal(
        out, training.predict_logits(model, digits.x_test)
    )  # dropout off: deterministic


@pytest.mark.gpu
def test_fit_on_gpu_matches_cpu(digits):
    def run(dev):
        statlearn.seed_everything(0)
        model = nets.mlp(64, 10, (32,))
        training.fit(
            model,
            (digits.x_train, digits.y_train),
            epochs=3,
            quiet=True,
            random_state=0,
            device=dev,
        )
        return training.predict_logits(model, digits.x_test.to(dev)).cpu()

    assert torch.allclose(run("cpu"), run("cuda"), atol=1e-3)


def test_fit_scheduler_steps_per_epoch(digits):
    model = nets.mlp(64, 10, ())
    hist = training.fit(
        model,
        (digits.x_train, digits.y_train),
        epochs=4,
        lr=1e-2,
        quiet=True,
        scheduler=lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, [2], gamma=0.1),
    )
    assert hist["lr"] == pytest.approx([1e-2, 1e-2, 1e-3, 1e-3])
    assert "lr" not in training.fit(
        model, (digits.x_train, digits.y_train), epochs=1, quiet=True
    )


# --------------------------------------------------------------------------------------
# issue 15: NumPy and float64 at the boundary, no silent wrong answers, one device rule


def _numpy_digits(n=120):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data[:n] / 16, bunch.target[:n]  # float64, int64 NumPy arrays


def test_numpy_float64_is_cast_to_the_model():
    """Defect: fit rejected NumPy ("train must be a tensor"); accuracy, evaluate and
    predict_logits raised AttributeError '.to' on NumPy arrays."""
    x, y = _numpy_digits()
    model = nets.mlp(64, 10, (16,))
    hist = training.fit(model, (x, y), epochs=2, quiet=True, random_state=0, val=(x, y))
    assert hist.epochs == 2 and "val_accuracy" in hist
    logits = training.predict_logits(model, x)
    assert logits.dtype == torch.float32 and logits.shape == (120, 10)
    acc = training.accuracy(model, x, y)
    assert training.evaluate(model, x, y).accuracy == pytest.approx(acc)
    # a float64 model keeps float64, whatever comes in
    model64 = nets.mlp(64, 10, (16,)).double()
    assert training.predict_logits(model64, x.astype("float32")).dtype == torch.float64


def test_labels_out_of_range_are_an_error():
    """Defect: accuracy with labels out of range returned 0.0 instead of an error."""
    x, y = _numpy_digits(10)
    model = nets.mlp(64, 10, (16,))
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 10\)"):
        training.accuracy(model, x, y + 10)
    with pytest.raises(ValueError, match=r"labels in \[0, 10\)"):
        training.evaluate(model, x, y - 1)


def test_fit_on_empty_data_is_a_clear_error():
    """Defect: fit on empty data raised KeyError: 'loss'."""
    model = nets.mlp(64, 10, (16,))
    with pytest.raises(ValueError, match="empty"):
        training.fit(
            model, (torch.zeros(0, 64), torch.zeros(0, dtype=torch.long)), quiet=True
        )
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.zeros(0, 64)), batch_size=4
    )
    with pytest.raises(ValueError, match="empty"):
        training.fit(model, loader, objective=lambda m, x: m(x).sum(), quiet=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_a_value_error():
    """Defect: device="cuda" without CUDA raised torch's raw AssertionError."""
    model = nets.mlp(64, 10, (16,))
    with pytest.raises(ValueError, match="CUDA is not available"):
        training.fit(
            model,
            (torch.zeros(4, 64), torch.zeros(4, dtype=torch.long)),
            device="cuda",
            quiet=True,
        )
    with pytest.raises(ValueError, match="must name a torch device"):
        training.fit(
            model,
            (torch.zeros(4, 64), torch.zeros(4, dtype=torch.long)),
            device="gpu0",
            quiet=True,
        )


@pytest.mark.gpu
def test_data_follow_the_model_to_the_gpu():
    x, y = _numpy_digits(64)
    model = nets.mlp(64, 10, (16,)).to("cuda")
    training.fit(model, (x, y), epochs=1, quiet=True)
    assert training.predict_logits(model, x).device.type == "cuda"
    cpu = nets.mlp(64, 10, (16,))
    cpu.load_state_dict(model.state_dict())
    torch.testing.assert_close(
        training.predict_logits(cpu, x), training.predict_logits(model, x).cpu()
    )


# --- linear_probe -------------------------------------------------------------------


def test_linear_probe_separable_data_reaches_one():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 4))
    y = (z[:, 0] + 0.5 * z[:, 1] > 0).astype(int)
    probe = training.linear_probe(z, y)
    z_test = rng.normal(size=(2000, 4))
    y_test = (z_test[:, 0] + 0.5 * z_test[:, 1] > 0).astype(int)
    assert probe.score(z, y) == 1.0
    assert probe.score(z_test, y_test) > 0.97


def test_linear_probe_shuffled_labels_stay_near_chance():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(400, 8))
    y = rng.integers(0, 4, size=400)
    probe = training.linear_probe(z, y)
    z_test = rng.normal(size=(4000, 8))
    y_test = rng.integers(0, 4, size=4000)
    assert abs(probe.score(z_test, y_test) - 0.25) < 0.04


def test_linear_probe_accepts_tensors_and_few_labels():
    rng = np.random.default_rng(2)
    centres = rng.normal(scale=4.0, size=(3, 5))
    y = np.repeat(np.arange(3), 2)
    z = centres[y] + rng.normal(size=(6, 5))
    probe = training.linear_probe(torch.tensor(z, requires_grad=True), torch.tensor(y))
    assert probe.score(z, y) == 1.0
    one = training.linear_probe(z[::2], y[::2])  # one label per class: C = 1, no CV
    assert one[-1].C == 1.0


def test_linear_probe_selects_c_on_labelled_points_only():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(120, 3))
    y = (z[:, 0] > 0).astype(int)
    a = training.linear_probe(z, y, Cs=[0.01, 0.1, 1.0])
    b = training.linear_probe(z, y, Cs=[0.01, 0.1, 1.0])
    assert a[-1].C == b[-1].C and a[-1].C in (0.01, 0.1, 1.0)
    np.testing.assert_allclose(a[-1].coef_, b[-1].coef_)
    assert len(training.linear_probe(z, y, standardize=False)) == 1


@pytest.mark.parametrize(
    "features, labels, match",
    [
        (np.zeros(5), np.zeros(5), "features must be"),
        (np.zeros((5, 2)), np.zeros(4), "labels must be"),
        (np.zeros((5, 2)), np.zeros(5), "two classes"),
        (np.full((4, 2), np.nan), np.array([0, 1, 0, 1]), "finite"),
    ],
)
def test_linear_probe_rejects_bad_input(features, labels, match):
    with pytest.raises(ValueError, match=match):
        training.linear_probe(features, labels)


@pytest.mark.parametrize(
    "Cs, exc, match",
    [
        ([], ValueError, "Cs must hold at least one value"),
        ((), ValueError, "Cs must hold at least one value"),
        ([0.1, -1.0], ValueError, "Cs entry must be > 0"),
        ("abc", TypeError, "Cs must be an int"),
        (0, ValueError, "Cs must be >= 1"),
        (1.5, TypeError, "Cs must be an int"),
    ],
)
def test_linear_probe_checks_its_grid_before_fitting(Cs, exc, match):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20, 2))
    y = (z[:, 0] > 0).astype(int)
    with pytest.raises(exc, match=match):
        training.linear_probe(z, y, Cs=Cs)
    with pytest.raises(exc, match=match):  # also when no cross-validation is run
        training.linear_probe(z[:2], np.array([0, 1]), Cs=Cs)


def test_linear_probe_wants_integer_labels_and_returns_an_sklearn_estimator():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="labels must hold integer classes"):
        training.linear_probe(z, np.linspace(0, 1, 20))
    with pytest.raises(ValueError, match="labels must hold integer classes"):
        training.linear_probe(z, np.r_[np.nan, np.zeros(19)])
    probe = training.linear_probe(torch.tensor(z), torch.tensor(z[:, 0] > 0).long())
    assert isinstance(probe.predict(torch.tensor(z)), np.ndarray)
