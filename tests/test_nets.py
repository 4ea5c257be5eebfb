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


# --- activation recorder -------------------------------------------------------------


def test_recorder_returns_manual_forward_and_removes_hooks():
    torch.manual_seed(0)
    net = nets.mlp(6, 3, hidden=(5, 4), activation="tanh")
    x = torch.randn(7, 6)
    acts = nets.record_activations(net, x, ["2", "4"], batch_size=3)
    with torch.no_grad():
        h1 = net[2](net[1](net[0](x)))
        h2 = net[4](net[3](h1))
    torch.testing.assert_close(acts["2"], h1)
    torch.testing.assert_close(acts["4"], h2)
    assert list(acts) == ["2", "4"]
    assert all(not m._forward_hooks for m in net.modules())


def test_recorder_keeps_the_graph_when_asked():
    net = nets.mlp(3, 2, hidden=(4,))
    x = torch.randn(2, 3, requires_grad=True)
    with nets.ActivationRecorder(net, ["2"], detach=False) as rec:
        net(x)
    rec.outputs["2"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(not m._forward_hooks for m in net.modules())


def test_recorder_removes_hooks_after_an_error():
    net = nets.mlp(3, 2, hidden=(4,))
    with pytest.raises(RuntimeError):
        with nets.ActivationRecorder(net, ["1"]):
            net(torch.randn(2, 5))
    assert all(not m._forward_hooks for m in net.modules())


def test_recorder_rejects_unknown_layers():
    net = nets.mlp(3, 2, hidden=(4,))
    with pytest.raises(ValueError, match="no submodule named"):
        nets.record_activations(net, torch.zeros(1, 3), ["9"])
    with pytest.raises(ValueError, match="at least one"):
        nets.ActivationRecorder(net, [])


def test_recorder_rejects_a_repeated_layer_name():
    net = nets.mlp(3, 2, hidden=(4,))
    with pytest.raises(ValueError, match=r"layers must name each submodule once.*'2'"):
        nets.record_activations(net, torch.zeros(5, 3), ["2", "2"])
    with pytest.raises(ValueError, match="once"):
        nets.ActivationRecorder(net, ["1", "1"])
    with pytest.raises(TypeError, match="layers must"):
        nets.record_activations(net, torch.zeros(5, 3), [None])
    # an int names a child of an nn.Sequential, as "2" does
    assert set(nets.record_activations(net, torch.zeros(5, 3), [2])) == {"2"}


class _Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.used = torch.nn.Linear(3, 2)
        self.unused = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.used(x)


def test_recorder_names_a_layer_the_forward_pass_does_not_run():
    net = _Branchy()
    with pytest.raises(ValueError, match=r"\['unused'\].*does not run"):
        nets.record_activations(net, torch.zeros(4, 3), ["used", "unused"])
    assert all(not m._forward_hooks for m in net.modules())
    assert net.training


def test_recorder_wants_a_batch_not_one_flat_row():
    net = nets.mlp(3, 2, hidden=(4,))
    with pytest.raises(ValueError, match=r"x must be a batch \(N, \.\.\.\)"):
        nets.record_activations(net, torch.zeros(3), ["2"])
