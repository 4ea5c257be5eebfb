import numpy as np
import pytest
import torch

from statlearn._checks import (
    as_tensor,
    check_choice,
    check_int,
    check_labels,
    check_positive,
    check_probability,
    check_unit_interval,
)


def test_as_tensor_dtypes():
    assert as_tensor(np.zeros((2, 3))).dtype == torch.float64
    assert as_tensor(np.zeros((2, 3), dtype=np.float32)).dtype == torch.float32
    assert as_tensor([[1, 2]]).dtype == torch.float32
    assert (
        as_tensor(torch.zeros(2, 2, dtype=torch.float64), dtype=torch.float32).dtype
        == torch.float32
    )


def test_as_tensor_errors():
    with pytest.raises(
        ValueError, match=r"X must be 2-D \(n_samples, n_features\); got shape \(5,\)"
    ):
        as_tensor(np.zeros(5), ndim=2)
    with pytest.raises(ValueError, match="NaN"):
        as_tensor([[np.nan, 1.0]])
    with pytest.raises(ValueError, match="empty"):
        as_tensor(np.zeros((0, 2)))
    with pytest.raises(TypeError):
        as_tensor(np.array(["a", "b"]))
    assert torch.isnan(as_tensor([np.nan], allow_nonfinite=True)).all()


def test_scalar_checks():
    assert check_positive(2, "beta") == 2.0
    assert check_positive(0, "beta", strict=False) == 0.0
    with pytest.raises(ValueError, match="beta must be > 0"):
        check_positive(0, "beta")
    with pytest.raises(TypeError):
        check_positive("1", "beta")
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        check_probability(1.0, "alpha")
    assert check_probability(1.0, "p", open_interval=False) == 1.0
    assert check_int(3, "n", minimum=1) == 3
    with pytest.raises(ValueError):
        check_int(0, "n", minimum=1)
    with pytest.raises(TypeError):
        check_int(1.0, "n")
    with pytest.raises(ValueError, match="norm must be one of"):
        check_choice("l3", "norm", ("linf", "l2"))


def test_check_unit_interval():
    check_unit_interval(torch.rand(4, 3))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_unit_interval(torch.tensor([0.5, 1.5]))


def test_check_labels():
    assert check_labels([0, 2, 1], 3).dtype == torch.int64
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        check_labels([0, 3], 3)
    with pytest.raises(ValueError, match="1-D"):
        check_labels([[0]], 3)
    with pytest.raises(ValueError, match="integer"):
        check_labels([0.5], 3)
    with pytest.raises(ValueError, match="must have 2 labels"):
        check_labels([0, 1, 2], 3, n=2)


def test_as_tensor_keeps_scalars_0d():
    assert as_tensor(0.5).shape == ()
    assert as_tensor(np.float64(2.0)).dtype == torch.float64


def test_as_generator():
    from statlearn._checks import as_generator

    a, b = as_generator(3), as_generator(3)
    assert torch.equal(torch.rand(4, generator=a), torch.rand(4, generator=b))
    g = torch.Generator()
    assert as_generator(g) is g
    torch.manual_seed(0)
    x = torch.rand(2, generator=as_generator(None))
    torch.manual_seed(0)
    assert torch.equal(
        x, torch.rand(2, generator=as_generator(None))
    )  # seed_everything controls None
    with pytest.raises(ValueError):
        as_generator(-1)
    with pytest.raises(TypeError):
        as_generator("seed")


# --------------------------------------------------------------------------------------
# issue 15: the boundary helper and the device helper


def test_to_model_casts_to_the_models_dtype_and_device():
    from statlearn._checks import model_dtype_device, to_model

    net = torch.nn.Linear(3, 2)
    x64 = np.random.default_rng(0).random((4, 3))
    t = to_model(x64, net)
    assert t.dtype == torch.float32 and t.device == net.weight.device
    assert to_model(x64, net.double()).dtype == torch.float64
    same = torch.rand(4, 3, dtype=torch.float64)
    assert to_model(same, net) is same  # already in place: no copy
    # a model without parameters: float64 stays float64, other input becomes float32
    assert to_model(x64, torch.nn.Identity()).dtype == torch.float64
    assert to_model([[1, 2, 3]], torch.nn.Identity()).dtype == torch.float32
    assert model_dtype_device(torch.nn.Identity()) == (None, None)
    with pytest.raises(ValueError, match="NaN"):
        to_model(np.array([[np.nan, 0.0, 0.0]]), net)
    with pytest.raises(ValueError, match="2-D"):
        to_model(np.zeros(3), net, ndim=2)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        to_model(x64, lambda x: x)


def test_check_device():
    from statlearn._checks import check_device

    assert check_device("cpu") == torch.device("cpu")
    assert check_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="must name a torch device"):
        check_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            check_device("cuda:0")
        with pytest.raises(ValueError, match="CUDA is not available"):
            as_tensor(np.zeros(2), device="cuda")
    else:
        with pytest.raises(ValueError, match="CUDA device"):
            check_device(f"cuda:{torch.cuda.device_count()}")


def test_check_labels_moves_to_a_device():
    y = check_labels(np.array([0, 2, 1]), 3, device="cpu")
    assert y.dtype == torch.int64 and y.device.type == "cpu"


def test_as_generator_takes_numpy_random_states():
    """One generator rule for every module: a NumPy state advances by one draw."""
    from statlearn._checks import as_generator

    a = as_generator(np.random.RandomState(0))
    b = as_generator(np.random.RandomState(0))
    assert torch.equal(torch.rand(4, generator=a), torch.rand(4, generator=b))
    shared = np.random.default_rng(0)
    c, d = as_generator(shared), as_generator(shared)
    assert not torch.equal(torch.rand(4, generator=c), torch.rand(4, generator=d))
    with pytest.raises(TypeError, match="random_state"):
        as_generator(True)


def test_as_labels():
    from statlearn._checks import as_labels

    assert as_labels([0, 2, 1]).tolist() == [0, 2, 1]
    assert as_labels(np.array([1.0, 0.0])).dtype == torch.int64
    for bad, match in [
        ([0.5, 1.0], "integer class labels"),
        ([float("nan"), 1.0], "NaN"),
        ([-1, 0], ">= 0"),
        ([[0, 1]], "1-D"),
        ([], "empty"),
        (torch.tensor([True, False]), "integer class labels"),
    ]:
        with pytest.raises(ValueError, match=match):
            as_labels(bad, "s")
    with pytest.raises(TypeError, match="s must hold integer class labels"):
        as_labels(["a", "b"], "s")
    with pytest.raises(ValueError, match="s must have 3 labels"):
        as_labels([0, 1], "s", n=3)
