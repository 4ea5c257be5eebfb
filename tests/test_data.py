import builtins

import pytest
import torch

from statlearn import data


def test_digits_split_shapes_and_range():
    s = data.digits()
    assert s.x_train.shape == (1347, 64) and s.x_test.shape == (450, 64)
    assert s.x_train.dtype == torch.float32 and s.y_train.dtype == torch.int64
    assert float(s.x_train.min()) >= 0.0 and float(s.x_train.max()) == 1.0
    img = data.digits(flat=False)
    assert img.x_train.shape == (1347, 1, 8, 8)
    assert torch.equal(img.x_train.reshape(1347, 64), s.x_train)


def test_digits_is_stratified_and_fixed():
    a, b = data.digits(random_state=0), data.digits(random_state=0)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    counts = torch.bincount(a.y_test, minlength=10).float()
    assert counts.min() >= 43 and counts.max() <= 47  # ~45 per class out of 450
    c = data.digits(random_state=1)
    assert not torch.equal(a.y_train, c.y_train)
    # no image is in both halves
    tr = {tuple(r.tolist()) for r in a.x_train}
    assert (
        sum(tuple(r.tolist()) in tr for r in a.x_test) < 5
    )  # the raw data has a few duplicates


def test_digits_binarize_and_dtype():
    s = data.digits(binarize=True, dtype=torch.float64)
    assert s.x_train.dtype == torch.float64
    assert set(s.x_train.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_digits_bad_test_size(bad):
    with pytest.raises(ValueError, match="test_size"):
        data.digits(test_size=bad)


def test_digits_test_size_too_small_for_classes():
    with pytest.raises(ValueError, match="one per class"):
        data.digits(test_size=0.001)


def test_load_unknown_name():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        data.load("imagenet")
    assert data.load("digits").x_train.shape == (1347, 64)


def test_online_loader_without_torchvision_names_offline_alternative(
    monkeypatch, tmp_path
):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "torchvision" or name.startswith("torchvision."):
            raise ImportError("No module named 'torchvision'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    for loader in (data.mnist, data.fashion_mnist, data.cifar10):
        with pytest.raises(
            data.DatasetUnavailableError, match=r"statlearn\.data\.digits\(\)"
        ):
            loader(root=tmp_path)


def test_online_loader_download_failure(monkeypatch, tmp_path):
    """With torchvision present but no network (or no files and download=False), the
    error is clear.
    """
    import sys
    import types

    class Failing:
        def __init__(self, *a, **k):
            raise RuntimeError(
                "Dataset not found. You can use download=True to download it"
            )

    fake = types.ModuleType("torchvision")
    fake.datasets = types.SimpleNamespace(
        MNIST=Failing, FashionMNIST=Failing, CIFAR10=Failing
    )
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    with pytest.raises(data.DatasetUnavailableError, match="could not load mnist"):
        data.mnist(root=tmp_path, download=False)


def test_online_loader_converts_to_split(monkeypatch, tmp_path):
    import sys
    import types

    import numpy as np

    class Fake:
        def __init__(self, root, train, download):
            n = 6 if train else 4
            self.data = torch.full((n, 28, 28), 255, dtype=torch.uint8)
            self.targets = torch.arange(n) % 10

    class FakeColour(Fake):
        def __init__(self, root, train, download):
            n = 6 if train else 4
            self.data = np.zeros((n, 32, 32, 3), dtype=np.uint8)
            self.targets = list(range(n))

    fake = types.ModuleType("torchvision")
    fake.datasets = types.SimpleNamespace(
        MNIST=Fake, FashionMNIST=Fake, CIFAR10=FakeColour
    )
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    s = data.mnist(root=tmp_path)
    assert s.x_train.shape == (6, 1, 28, 28) and float(s.x_train.max()) == 1.0
    assert set(
        data.load("mnist", root=tmp_path, binarize=True).x_test.unique().tolist()
    ) == {1.0}
    assert data.fashion_mnist(root=tmp_path, flat=True).x_test.shape == (4, 784)
    c = data.cifar10(root=tmp_path)
    assert c.x_train.shape == (6, 3, 32, 32) and c.y_train.dtype == torch.int64


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("STATLEARN_DATA", str(tmp_path))
    assert data.cache_dir() == tmp_path
    monkeypatch.delenv("STATLEARN_DATA")
    assert data.cache_dir().name == "statlearn"


def test_gaussian_ring():
    x, mode = data.gaussian_ring(4000, n_modes=8, radius=2.0, std=0.05, random_state=0)
    assert x.shape == (4000, 2) and mode.shape == (4000,)
    centres = data.ring_modes(8, 2.0)
    assert (x - centres[mode]).norm(dim=1).max() < 0.4
    counts = torch.bincount(mode, minlength=8)
    assert counts.min() > 400
    x2, _ = data.gaussian_ring(4000, random_state=0)
    assert torch.equal(x, x2)


def test_two_moons():
    x, y = data.two_moons(301, noise=0.0, random_state=0)
    assert x.shape == (301, 2) and set(y.tolist()) == {0, 1}
    upper = x[y == 0]
    assert torch.allclose(upper.norm(dim=1), torch.ones(len(upper)), atol=1e-5)
    with pytest.raises(ValueError):
        data.two_moons(1)


def test_mixture_samples_moments():
    w = [0.3, 0.7]
    mu = torch.tensor([[0.0, 0.0], [5.0, 5.0]], dtype=torch.float64)
    cov = torch.stack([torch.eye(2), torch.tensor([[2.0, 0.5], [0.5, 1.0]])]).double()
    x, z = data.mixture_samples(200_000, w, mu, cov, random_state=0)
    assert x.dtype == torch.float64
    assert abs(float((z == 0).double().mean()) - 0.3) < 0.01
    assert torch.allclose(torch.cov(x[z == 1].T), cov[1], atol=0.05)
    assert torch.allclose(x[z == 0].mean(0), mu[0], atol=0.02)


def test_mixture_samples_errors():
    eye = torch.eye(2).expand(2, 2, 2)
    with pytest.raises(ValueError, match="sum to 1"):
        data.mixture_samples(10, [0.5, 0.6], torch.zeros(2, 2), eye)
    with pytest.raises(ValueError, match="shapes"):
        data.mixture_samples(10, [1.0], torch.zeros(2, 2), eye)
    with pytest.raises(ValueError, match="positive-definite"):
        data.mixture_samples(10, [0.5, 0.5], torch.zeros(2, 2), -eye)


# --------------------------------------------------------------------------------------
# issue 15


def test_mixture_samples_rejects_a_non_symmetric_covariance():
    """Defect: mixture_samples used the lower triangle of a non-symmetric covariance
    silently.
    """
    with pytest.raises(ValueError, match="symmetric"):
        data.mixture_samples(
            10, [1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.0, 1.0]]], random_state=0
        )
    x, z = data.mixture_samples(
        10, [1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.5, 1.0]]], random_state=0
    )
    assert x.shape == (10, 2)


def test_digits_rejects_an_integer_dtype():
    """Defect: digits(dtype=torch.int64) truncated the pixels in [0, 1] to {0, 1}."""
    with pytest.raises(TypeError, match="floating"):
        data.digits(dtype=torch.int64)
    assert data.digits(dtype=torch.float64).x_train.dtype == torch.float64


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_a_value_error():
    """Defect: digits(device="cuda") without CUDA raised torch's raw AssertionError."""
    with pytest.raises(ValueError, match="CUDA is not available"):
        data.digits(device="cuda")


# --------------------------------------------------------------------------------------
# The noisy manifolds of chapter 5
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [data.tanh_manifold, data.sine_manifold])
def test_manifold_shapes_labels_and_determinism(make):
    m = make(300, dim=7, latent_dim=3, hidden=5, random_state=4)
    assert m.x.shape == m.clean.shape == (300, 7) and m.u.shape == (300, 3)
    assert m.x.dtype == m.u.dtype == torch.float32 and m.y.dtype == torch.int64
    assert torch.equal(m.y, (m.u[:, 0] > 0).long())
    again = make(300, dim=7, latent_dim=3, hidden=5, random_state=4)
    assert torch.equal(m.x, again.x) and torch.equal(m.u, again.u)
    other = make(300, dim=7, latent_dim=3, hidden=5, random_state=5)
    assert not torch.equal(m.x, other.x)


@pytest.mark.parametrize("make", [data.tanh_manifold, data.sine_manifold])
@pytest.mark.parametrize("noise", [0.0, 0.5, 2.0])
def test_manifold_has_the_stated_noise_level(make, noise):
    m = make(4000, dim=20, noise=noise, random_state=0)
    signal_std = float(m.clean.double().var(0, correction=0).mean().sqrt())
    assert m.noise_std == pytest.approx(noise * signal_std, rel=1e-5)
    residual = (m.x - m.clean).double()
    if noise == 0:
        assert torch.equal(m.x, m.clean)
    else:  # 80,000 Gaussian draws: the sample std is within 2 per cent
        assert float(residual.std()) == pytest.approx(m.noise_std, rel=0.02)
        assert abs(float(residual.mean())) < 0.02 * m.noise_std


def test_manifold_map_depends_on_the_seed_only():
    """One random_state is one manifold: the clean points of a small draw lie on the
    map of a large draw (same S, b, A), so train and test may be drawn separately."""
    small = data.tanh_manifold(50, noise=0.0, random_state=3)
    big = data.tanh_manifold(500, noise=0.0, random_state=3)
    g = torch.Generator().manual_seed(3)
    s = 3.0 * torch.randn(2, 16, generator=g, dtype=torch.float64)
    b = torch.randn(16, generator=g, dtype=torch.float64)
    a = torch.randn(16, 50, generator=g, dtype=torch.float64) / 4.0
    for m in (small, big):
        expected = torch.tanh(m.u.double() @ s + b) @ a
        torch.testing.assert_close(m.clean.double(), expected, rtol=1e-5, atol=1e-5)


def test_tanh_manifold_is_nearly_flat_and_sine_manifold_is_not():
    def top2(m):
        c = m.clean.double() - m.clean.double().mean(0)
        ev = torch.linalg.svdvals(c).square()
        return float(ev[:2].sum() / ev.sum())

    for seed in range(3):
        assert top2(data.tanh_manifold(2000, random_state=seed)) > 0.8
        assert top2(data.sine_manifold(2000, random_state=seed)) < 0.7


def test_manifold_errors():
    with pytest.raises(ValueError, match="n"):
        data.tanh_manifold(0)
    with pytest.raises(ValueError, match="dim"):
        data.tanh_manifold(10, dim=0)
    with pytest.raises(ValueError, match="latent_dim"):
        data.sine_manifold(10, latent_dim=0)
    with pytest.raises(ValueError, match="hidden"):
        data.sine_manifold(10, hidden=0)
    with pytest.raises(ValueError, match="scale"):
        data.tanh_manifold(10, scale=0.0)
    with pytest.raises(ValueError, match="frequency"):
        data.sine_manifold(10, frequency=-1.0)
    with pytest.raises(ValueError, match="noise"):
        data.tanh_manifold(10, noise=-0.1)
    with pytest.raises((TypeError, ValueError), match="random_state"):
        data.tanh_manifold(10, random_state="seed")
