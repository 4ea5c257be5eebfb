"""statlearn on a simulated accelerator (tests/simdevice.py): CUDA's device rules,
checked on a machine without a GPU.

Every routine the chapters run on ``statlearn.device()`` runs here with its data,
models and generators on the simulated device ``sim``, as a chapter places them with
``DEVICE``: a CPU tensor meeting a device tensor, a generator on the wrong device, or a
device tensor handed to NumPy or matplotlib fails the test, as it would on CUDA. The
simulation also counts host synchronisations, so a training step's syncs are held to
the budget in CONTRIBUTING.md. These tests complement the ``gpu`` tests, which need a
real GPU.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

from simdevice import DeviceMismatch, SimTensor, SimulatedDevice


@pytest.fixture
def sim():
    with SimulatedDevice() as s:
        yield s


def on_sim(t) -> bool:
    return isinstance(t, SimTensor)


# --- the simulator itself --------------------------------------------------------


def test_the_simulator_applies_cudas_rules(sim):
    x = torch.randn(4, 3).to(sim.device)
    assert x.device == sim.device and on_sim(x * 2 + 1)
    with pytest.raises(DeviceMismatch, match="same device"):
        x + torch.ones(3)
    assert on_sim(x + torch.tensor(2.0))  # a 0-d CPU scalar passes, as on CUDA
    with pytest.raises(DeviceMismatch, match="generator on cpu"):
        torch.randn(2, device=sim.device, generator=torch.Generator().manual_seed(0))
    g = torch.Generator(device=sim.device).manual_seed(0)
    assert g.device == sim.device and on_sim(
        torch.randn(2, device=x.device, generator=g)
    )
    with pytest.raises(DeviceMismatch, match="cannot draw tensors on cpu"):
        torch.randn(2, generator=g)
    with pytest.raises(TypeError, match="Tensor.cpu"):
        x.numpy()
    with pytest.raises(TypeError, match="Tensor.cpu"):
        np.asarray(x)
    before = sim.counts["sync"]
    float(x.sum())
    x.cpu()
    assert sim.counts["sync"] == before + 2


def test_a_model_trains_on_the_simulated_device(sim):
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)
    )
    net = net.to(sim.device)
    assert all(on_sim(p) for p in net.parameters())
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    x = torch.randn(8, 3, device=sim.device)
    loss = net(x).square().mean()
    loss.backward()
    opt.step()
    assert all(on_sim(p.grad) for p in net.parameters())
    assert torch.Generator is not torch._C.Generator  # patched while it runs


def test_the_simulator_restores_torch():
    real = torch.Generator, torch.randn, torch.Tensor.normal_
    with SimulatedDevice():
        assert torch.Generator is not real[0]
    assert (torch.Generator, torch.randn, torch.Tensor.normal_) == real
