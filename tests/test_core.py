import subprocess
import sys

import numpy as np
import pytest
import torch

import statlearn


def test_version():
    assert statlearn.__version__ == "0.1.0"


def test_import_is_light():
    code = (
        "import sys, statlearn, statlearn.latent, statlearn.info, statlearn.robust; "
        "heavy = [m for m in ('sklearn', 'matplotlib', 'torchvision', 'scipy') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_device_default_is_available(monkeypatch):
    monkeypatch.delenv("STATLEARN_DEVICE", raising=False)
    dev = statlearn.device()
    expected = "cuda" if torch.cuda.is_available() else ("mps" if statlearn._mps_available() else "cpu")
    assert dev.type == expected
    torch.zeros(1, device=dev)


def test_device_override(monkeypatch):
    monkeypatch.setenv("STATLEARN_DEVICE", "cpu")
    assert statlearn.device() == torch.device("cpu")
    assert statlearn.device("cpu") == torch.device("cpu")


def test_device_bad_values(monkeypatch):
    monkeypatch.setenv("STATLEARN_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="STATLEARN_DEVICE"):
        statlearn.device()
    monkeypatch.delenv("STATLEARN_DEVICE")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            statlearn.device("cuda")


def test_seed_everything_repeats():
    statlearn.seed_everything(123)
    a = (torch.randn(3), np.random.rand(3), __import__("random").random())
    statlearn.seed_everything(123)
    b = (torch.randn(3), np.random.rand(3), __import__("random").random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_seed_everything_range(bad):
    with pytest.raises(ValueError):
        statlearn.seed_everything(bad)


def test_seed_everything_type():
    with pytest.raises(TypeError):
        statlearn.seed_everything(1.5)


def test_lazy_exports_resolve():
    import importlib

    for pkg in ("statlearn.latent", "statlearn.info", "statlearn.robust"):
        module = importlib.import_module(pkg)
        assert set(module.__all__) <= set(dir(module))
        with pytest.raises(AttributeError):
            module.no_such_name
