import pytest
import torch

from statlearn import nets


def test_mlp_shapes_and_linear_case():
    m = nets.mlp(64, 10, (32, 16))
    assert m(torch.rand(5, 1, 8, 8)).shape == (5, 10)
    lin = nets.mlp(64, 10, ())
    assert sum(isinstance(layer, torch.nn.Linear) for layer in lin) == 1
    assert nets.mlp(784, 10, (8,), activation="tanh", dropout=0.1)(
        torch.rand(2, 784)
    ).shape == (2, 10)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_cnn_shapes(shape):
    m = nets.cnn(shape, 10)
    assert m(torch.rand(4, *shape)).shape == (4, 10)


def test_errors():
    with pytest.raises(ValueError, match="activation must be one of"):
        nets.mlp(4, 2, activation="swish2")
    with pytest.raises(ValueError, match="in_features"):
        nets.mlp(0, 2)
    with pytest.raises(ValueError, match="too small"):
        nets.cnn((1, 2, 2), 10, channels=(4, 4, 4))
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        nets.cnn((8, 8), 10)
    with pytest.raises(ValueError, match="std"):
        nets.Normalize(0.5, 0.0)


def test_normalize_per_channel():
    norm = nets.Normalize([0.5, 0.0], [0.5, 2.0])
    x = torch.ones(3, 2, 4, 4)
    out = norm(x)
    assert torch.allclose(out[:, 0], torch.ones(3, 4, 4)) and torch.allclose(
        out[:, 1], torch.full((3, 4, 4), 0.5)
    )
    flat = nets.Normalize(0.5, 0.25)(torch.full((2, 6), 0.75))
    assert torch.allclose(flat, torch.ones(2, 6))
    assert norm.to(torch.float64)(x.double()).dtype == torch.float64
