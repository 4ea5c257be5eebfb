"""Tests for statlearn._arrays: array in, same array out (issue 14)."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pytest
import torch

from statlearn._arrays import Namespace, from_torch, to_torch


@pytest.mark.parametrize(
    "X, dtype",
    [
        (np.arange(6.0).reshape(3, 2), torch.float64),
        (np.arange(6, dtype=np.float32).reshape(3, 2), torch.float32),
        (
            np.arange(6).reshape(3, 2),
            torch.float64,
        ),  # integers: float64, as scikit-learn
        (np.arange(6, dtype=np.int32).reshape(3, 2), torch.float64),
        (np.arange(6).reshape(3, 2) > 2, torch.float64),  # booleans too
        ([[0, 1], [2, 3]], torch.float64),
        ([[0.5, 1.0]], torch.float64),
    ],
)
def test_numpy_and_lists_keep_float_and_promote_integers_to_float64(X, dtype):
    t, ns = to_torch(X)
    assert t.dtype == dtype and ns.dtype == dtype
    assert ns.kind == "numpy" and ns.is_numpy and ns.device == torch.device("cpu")
    np.testing.assert_array_equal(t.numpy(), np.asarray(X, dtype=float))


def test_integer_tensors_become_the_default_float_dtype():
    t, ns = to_torch(torch.arange(6).reshape(3, 2))
    assert t.dtype == torch.get_default_dtype() == torch.float32 and ns.kind == "torch"
    assert to_torch(torch.ones(2, 2, dtype=torch.bool))[0].dtype == torch.float32
    assert to_torch(torch.ones(2, 2, dtype=torch.float64))[0].dtype == torch.float64
    assert to_torch(torch.ones(2, 2, dtype=torch.float16))[0].dtype == torch.float32


def test_dtype_overrides():
    assert to_torch(np.ones((2, 2)), dtype=torch.float32)[0].dtype == torch.float32
    assert to_torch(torch.ones(2, 2), dtype=torch.float64)[0].dtype == torch.float64
    with pytest.raises(TypeError, match="floating"):
        to_torch(np.ones(2), dtype=torch.int64)


def test_contiguous_float_numpy_is_shared_and_readonly_is_copied():
    X = np.ones((4, 3))
    t, _ = to_torch(X)
    assert t.data_ptr() == X.__array_interface__["data"][0]  # no copy
    F = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    np.testing.assert_array_equal(to_torch(F)[0].numpy(), F)
    R = np.arange(6.0).reshape(3, 2)
    R.setflags(write=False)
    with warnings.catch_warnings():  # torch warns on non-writeable arrays; we must not
        warnings.simplefilter("error")
        t, _ = to_torch(R)
    np.testing.assert_array_equal(t.numpy(), R)


def test_gradients_are_detached():
    """Issue 14, defect 2: inputs with grad (a network's output) are detached."""
    w = torch.randn(3, 2, requires_grad=True)
    X = w * 2
    t, ns = to_torch(X)
    assert not t.requires_grad and t.grad_fn is None and ns.kind == "torch"
    out = from_torch((X, {"a": X}), ns)
    assert out[0].grad_fn is None and out[1]["a"].grad_fn is None


def test_tensors_keep_their_device_and_device_moves_numpy():
    t, ns = to_torch(torch.ones(2, 2))
    assert t.device.type == "cpu" and ns.device == torch.device("cpu")
    t, ns = to_torch(np.ones((2, 2)), device="cpu")
    assert t.device.type == "cpu" and ns.kind == "numpy"


def test_rejects_sparse_strings_and_complex():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        to_torch(sparse.csr_matrix(np.eye(3)))
    with pytest.raises(TypeError, match="numeric"):
        to_torch(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="numeric"):
        to_torch(np.array([[1, None]], dtype=object))
    with pytest.raises(ValueError, match="complex"):
        to_torch(np.array([[1 + 2j]]))
    with pytest.raises(ValueError, match="complex"):
        to_torch(torch.ones(2, dtype=torch.complex64))


class Pair(NamedTuple):
    x: torch.Tensor
    n: int


def test_from_torch_follows_what_came_in():
    _, ns_np = to_torch(np.zeros((2, 2)))
    _, ns_t = to_torch(torch.zeros(2, 2))
    r = torch.arange(3.0)
    assert isinstance(from_torch(r, ns_np), np.ndarray)
    assert isinstance(from_torch(r, ns_t), torch.Tensor)
    p = from_torch(Pair(r, 3), ns_np)
    assert isinstance(p, Pair) and isinstance(p.x, np.ndarray) and p.n == 3
    t = from_torch((r, [r], 1.5, None), ns_np)
    assert (
        isinstance(t, tuple)
        and isinstance(t[0], np.ndarray)
        and isinstance(t[1][0], np.ndarray)
    )
    assert t[2] == 1.5 and t[3] is None
    assert isinstance(Namespace("numpy", torch.device("cpu"), torch.float64), tuple)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensor_results_return_to_its_device():
    t, ns = to_torch(torch.ones(2, 2, device="cuda"))
    assert t.device.type == "cuda"
    assert from_torch(t.cpu(), ns).device.type == "cuda"
    t, ns = to_torch(np.ones((2, 2)), device="cuda")
    assert t.device.type == "cuda" and isinstance(from_torch(t, ns), np.ndarray)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize(
    "name", ["GaussianMixture", "KMeans", "BernoulliMixture", "GaussianHMM"]
)
def test_unavailable_device_is_a_clear_value_error(name):
    """Issue 15, devices: device="cuda" without CUDA raised a raw AssertionError."""
    import statlearn.latent as latent

    X = (np.random.default_rng(0).random((40, 3)) > 0.5).astype(float)
    with pytest.raises(ValueError, match="CUDA is not available"):
        getattr(latent, name)(2, device="cuda").fit(X)
