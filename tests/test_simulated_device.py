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


# --- every routine that draws, with every kind of random_state --------------------
#
# The chapters place data with ``statlearn.data.load(..., device=DEVICE)`` and models
# with ``.to(DEVICE)``; a reader may pass any random_state: an int, a NumPy generator,
# a CPU torch.Generator or one on the device (CONTRIBUTING.md, the generator rule).

RANDOM_STATES = ("int", "numpy", "cpu generator", "device generator")


def make_state(kind: str, sim):
    if kind == "int":
        return 3
    if kind == "numpy":
        return np.random.default_rng(3)
    if kind == "cpu generator":
        return torch.Generator().manual_seed(3)
    return torch.Generator(device=sim.device).manual_seed(3)


def tensors_of(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in tensors_of(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in tensors_of(o)]
    return []


def digits(sim, n=64):
    import statlearn.data

    split = statlearn.data.load("digits", device=sim.device)
    return split.x_train[:n], split.y_train[:n]


def classifier(sim, in_features=64, classes=10):
    from statlearn.nets import mlp

    torch.manual_seed(0)
    return mlp(in_features, classes, hidden=(8,)).to(sim.device)


def _vae(sim):
    from statlearn.latent import VAE, GaussianEncoder
    from statlearn.nets import mlp

    torch.manual_seed(0)
    return VAE(GaussianEncoder(64, 2, (8,)), mlp(2, 64, hidden=(8,)), latent_dim=2).to(
        sim.device
    )


def _ddpm(sim):
    from statlearn.latent import DDPM, MLPDenoiser

    torch.manual_seed(0)
    return DDPM(MLPDenoiser(2, hidden=(8,), time_dim=4), timesteps=5).to(sim.device)


def _ring(sim):
    import statlearn.data

    return statlearn.data.gaussian_ring(16, random_state=0)[0].to(sim.device)


def _vib(sim):
    from statlearn.info import VIB

    torch.manual_seed(0)
    return VIB(64, 10, 2, hidden=(8,)).to(sim.device)


def _dvclub(sim):
    from statlearn.info import DVCLUB

    torch.manual_seed(0)
    return DVCLUB(64, 10, 2, hidden=(8,), decoder_hidden=(8,)).to(sim.device)


def _wyner(sim):
    from statlearn.info import WynerModel

    torch.manual_seed(0)
    return WynerModel(2, 2, 1, 1, hidden=(8,)).to(sim.device)


def _teb(sim):
    from statlearn.info import TEB

    torch.manual_seed(0)
    return TEB(3, 3, hidden=(8,)).to(sim.device)


def _streams(sim):
    from statlearn.info import linear_gaussian_streams

    out = linear_gaussian_streams(32, random_state=0)
    return [t.to(sim.device) for t in out[:3]]


def _csimclr(sim, rs):
    from statlearn.info import Augment, ContrastiveNet, csimclr_loss

    torch.manual_seed(0)
    net = ContrastiveNet(64, hidden=(8,), rep_dim=4, head_hidden=(4,), latent_dim=3)
    x, _ = digits(sim, 16)
    return csimclr_loss(
        net.to(sim.device), x, augment=Augment(), beta=0.1, random_state=rs
    )


def _smooth(sim):
    from statlearn.robust import Smooth

    return Smooth(classifier(sim), num_classes=10, sigma=0.25)


def _fit(sim, rs, **kwargs):
    from statlearn.training import fit

    x, y = digits(sim, 32)
    return fit(
        classifier(sim), (x, y), epochs=1, batch_size=16, quiet=True, random_state=rs
    )


def _mixture(sim, rs):
    from statlearn.latent import GaussianMixture

    import statlearn.data

    x, _ = statlearn.data.two_moons(40, random_state=0)
    gm = GaussianMixture(2, max_iter=3, random_state=rs).fit(x.double().to(sim.device))
    return gm.sample(5, random_state=rs)


def _hmm(sim, rs):
    from statlearn.latent import CategoricalHMM

    hmm = CategoricalHMM(2, n_features=3, n_iter=2, random_state=0)
    seq = torch.randint(0, 3, (30, 1)).to(sim.device)
    hmm.fit(seq)
    return hmm.sample(5, random_state=rs)


def _mixture_samples(sim, rs):
    import statlearn.data

    weights = torch.tensor([0.3, 0.7], dtype=torch.float64).to(sim.device)
    means = torch.zeros(2, 2, dtype=torch.float64).to(sim.device)
    covs = torch.eye(2, dtype=torch.float64).repeat(2, 1, 1).to(sim.device)
    return statlearn.data.mixture_samples(8, weights, means, covs, random_state=rs)


def _ib(sim, rs):
    from statlearn.info import information_bottleneck, information_curve

    p = torch.tensor([[0.2, 0.1], [0.05, 0.3], [0.25, 0.1]], dtype=torch.float64)
    p = p.to(sim.device)
    one = information_bottleneck(p, 0.5, 2, max_iter=5, random_state=rs)
    curve = information_curve(p, [0.2, 1.0], 2, max_iter=5, random_state=rs)
    return [one.encoder, one.lagrangian, *curve[:5]]


ROUTINES = {
    "data.load": lambda sim, rs: statlearn_data().load(
        "digits", device=sim.device, random_state=rs
    ),
    "fit": _fit,
    "GaussianMixture": _mixture,
    "CategoricalHMM": _hmm,
    "mixture_samples": _mixture_samples,
    "reparameterize": lambda sim, rs: latent().reparameterize(
        torch.zeros(4, 2).to(sim.device),
        torch.zeros(4, 2).to(sim.device),
        random_state=rs,
    ),
    "corrupt": lambda sim, rs: latent().corrupt(
        digits(sim, 4)[0], 0.2, random_state=rs
    ),
    "VAE.loss": lambda sim, rs: _vae(sim).loss(
        digits(sim, 8)[0].round(), random_state=rs
    ),
    "VAE.iwae": lambda sim, rs: _vae(sim).iwae(
        digits(sim, 4)[0].round(), 3, random_state=rs
    ),
    "VAE.sample": lambda sim, rs: _vae(sim).sample(3, random_state=rs),
    "DDPM.loss": lambda sim, rs: _ddpm(sim).loss(_ring(sim), random_state=rs),
    "DDPM.forward_trajectory": lambda sim, rs: _ddpm(sim).forward_trajectory(
        _ring(sim), random_state=rs
    ),
    "DDPM.sample": lambda sim, rs: _ddpm(sim).sample(
        3, shape=(2,), random_state=rs, return_trajectory=True
    ),
    "DDPM.sample(steps)": lambda sim, rs: _ddpm(sim).sample(
        3, shape=(2,), steps=2, eta=1.0, random_state=rs, return_trajectory=True
    ),
    "information_bottleneck": _ib,
    "VIB.loss": lambda sim, rs: _vib(sim).loss(*digits(sim, 8), random_state=rs),
    "DVCLUB.loss": lambda sim, rs: _dvclub(sim).loss(
        *digits(sim, 8), digits(sim, 8)[1] % 2, random_state=rs
    ),
    "WynerModel.loss": lambda sim, rs: _wyner(sim).loss(
        torch.randn(8, 2).to(sim.device),
        torch.randn(8, 2).to(sim.device),
        random_state=rs,
    ),
    "WynerModel.sample": lambda sim, rs: _wyner(sim).sample(4, random_state=rs),
    "TEB.loss": lambda sim, rs: _teb(sim).loss(*_streams(sim), random_state=rs),
    "TEB.log_likelihood": lambda sim, rs: _teb(sim).log_likelihood(
        *_streams(sim), n_samples=2, random_state=rs
    ),
    "csimclr_loss": _csimclr,
    "vmf_sample": lambda sim, rs: info().vmf_sample(
        torch.nn.functional.normalize(torch.ones(4, 3)).to(sim.device),
        10.0,
        random_state=rs,
    ),
    "pgd": lambda sim, rs: robust().pgd(
        classifier(sim), *digits(sim, 8), eps=0.1, steps=2, random_state=rs
    ),
    "relabel_adversarially": lambda sim, rs: robust().relabel_adversarially(
        classifier(sim), *digits(sim, 8), 0.5, steps=2, random_state=rs
    ),
    "noise_augmentation": lambda sim, rs: robust().noise_augmentation(
        0.25, random_state=rs
    )(None, *digits(sim, 8)),
    "Smooth.certify": lambda sim, rs: _smooth(sim).certify(
        digits(sim, 3)[0], 10, 20, 0.01, random_state=rs
    ),
    "Smooth.predict": lambda sim, rs: _smooth(sim).predict(
        digits(sim, 3)[0], 20, 0.01, random_state=rs
    ),
    "Smooth.forward": lambda sim, rs: _smooth(sim)(digits(sim, 3)[0], random_state=rs),
}


def statlearn_data():
    import statlearn.data

    return statlearn.data


def latent():
    import statlearn.latent

    return statlearn.latent


def info():
    import statlearn.info

    return statlearn.info


def robust():
    import statlearn.robust

    return statlearn.robust


@pytest.mark.parametrize("kind", RANDOM_STATES)
@pytest.mark.parametrize("routine", sorted(ROUTINES))
def test_routine_takes_every_random_state_on_the_device(routine, kind, sim):
    out = ROUTINES[routine](sim, make_state(kind, sim))
    tensors = tensors_of(out)
    if routine not in ("GaussianMixture", "CategoricalHMM", "fit"):
        assert tensors, f"{routine} returned no tensor"
    off = [tuple(t.shape) for t in tensors if not on_sim(t)]
    assert not off, f"{routine} returned tensors off the device: {off}"


# --- host syncs per training step ---------------------------------------------------
#
# fit sums the loss terms on the device and reads them once per epoch; the objectives
# may validate their batch with at most one host read. The cost of one step is the
# difference between an epoch of 16 steps and one of 8, so the per-epoch reads cancel.


def _plain():
    from statlearn.nets import mlp

    return mlp(64, 10, hidden=(8,)), None, "xy"


def _vae_case():
    from statlearn.latent import VAE, GaussianEncoder
    from statlearn.nets import mlp

    vae = VAE(GaussianEncoder(64, 2, (8,)), mlp(2, 64, hidden=(8,)), latent_dim=2)
    return vae, VAE.loss, "binary x"


def _vib_case():
    from statlearn.info import VIB, vib_loss

    return VIB(64, 10, 4, hidden=(8,)), vib_loss, "xy"


def _csimclr_case():
    import functools

    from statlearn.info import Augment, ContrastiveNet, csimclr_loss

    net = ContrastiveNet(64, hidden=(8,), rep_dim=8, head_hidden=(8,), latent_dim=4)
    return net, functools.partial(csimclr_loss, augment=Augment(), beta=0.1), "x"


def _smooth_training_case():
    from statlearn.nets import mlp
    from statlearn.robust import noise_augmentation

    return mlp(64, 10, hidden=(8,)), None, "xy", noise_augmentation(0.25)


def _adversarial_case():
    import functools

    from statlearn.nets import mlp
    from statlearn.robust import adversarial_transform, pgd

    attack = functools.partial(pgd, eps=0.1, steps=3)
    return mlp(64, 10, hidden=(8,)), None, "xy", adversarial_transform(attack)


def _wyner_case():
    from statlearn.info import WynerModel, wyner_loss

    model = WynerModel(32, 32, common_dim=2, local_dim=2, hidden=(8,))
    return model, wyner_loss, "halves"


def _teb_case():
    from statlearn.info import TEB, teb_loss

    return TEB(3, 3, 1, latent_dim=2, hidden=(8,)), teb_loss, "windows"


SYNC_CASES = {
    "plain fit": _plain,
    "VAE": _vae_case,
    "VIB": _vib_case,
    "C-SimCLR": _csimclr_case,
    "noise-augmented fit (Smooth's base classifier)": _smooth_training_case,
    "adversarial training (PGD-3)": _adversarial_case,
    "Wyner": _wyner_case,
    "TEB": _teb_case,
}


def _one_epoch(case, steps: int):
    import statlearn.data
    from statlearn.training import fit

    made = case()
    model, objective, data = made[:3]
    transform = made[3] if len(made) > 3 else None
    split = statlearn.data.load("digits")
    n = 16 * steps
    x, y = split.x_train[:n], split.y_train[:n]
    with SimulatedDevice() as sim:
        torch.manual_seed(0)
        model = model.to(sim.device)
        x, y = x.to(sim.device), y.to(sim.device)
        train = {
            "xy": (x, y),
            "x": x,
            "binary x": x.round(),
            "halves": (x[:, :32], x[:, 32:]),
            "windows": (x[:, :3], x[:, 3:6], x[:, 6:7]),
        }[data]
        before = dict(sim.counts)
        fit(
            model,
            train,
            objective=objective,
            epochs=1,
            batch_size=16,
            transform=transform,
            quiet=True,
            random_state=0,
        )
        return {k: sim.counts[k] - before.get(k, 0) for k in ("sync", "h2d")}


@pytest.mark.parametrize("case", list(SYNC_CASES.values()), ids=list(SYNC_CASES))
def test_fit_reads_the_host_at_most_once_per_step(case):
    short, long = _one_epoch(case, 4), _one_epoch(case, 8)
    syncs_per_step = (long["sync"] - short["sync"]) / 4
    copies_per_step = (long["h2d"] - short["h2d"]) / 4
    assert syncs_per_step <= 1, f"{syncs_per_step} host syncs per training step"
    # random draws (augmentations, noise) are made on the device, never copied in
    assert copies_per_step == 0, f"{copies_per_step} host-to-device copies per step"


def test_smoothing_draws_its_noise_on_the_device(sim):
    from statlearn.nets import mlp
    from statlearn.robust import Smooth, pgd

    import statlearn.data

    split = statlearn.data.load("digits", device=sim.device)
    torch.manual_seed(0)
    smooth = Smooth(mlp(64, 10, hidden=(8,)).to(sim.device), 10, 0.25, num_noise=4)
    x, y = split.x_test[:8], split.y_test[:8]
    copies = []
    for steps in (2, 6):
        before = sim.counts["h2d"]
        pgd(smooth, x, y, eps=0.5, steps=steps, norm="l2", random_state=0)
        copies.append(sim.counts["h2d"] - before)
    assert copies[1] == copies[0], "Smooth copies noise to the device every step"
    for n in (20, 60):
        before = sim.counts["h2d"]
        smooth.certify(x, 10, n, 0.01, batch_size=10, random_state=0)
        copies.append(sim.counts["h2d"] - before)
    assert copies[3] == copies[2], "certify copies noise to the device per batch"


def _dvclub_epoch(steps: int) -> dict[str, int]:
    import statlearn.data
    from statlearn.info import DVCLUB, fit_dvclub

    split = statlearn.data.load("digits")
    n = 16 * steps
    x, y = split.x_train[:n], split.y_train[:n]
    with SimulatedDevice() as sim:
        torch.manual_seed(0)
        model = DVCLUB(
            64, 10, 4, hidden=(8,), adversary_hidden=(8,), x_decoder_hidden=(8,)
        ).to(sim.device)
        data = (x.to(sim.device), y.to(sim.device), (y % 2).to(sim.device))
        before = dict(sim.counts)
        fit_dvclub(model, data, epochs=1, batch_size=16, random_state=0, quiet=True)
        return {k: sim.counts[k] - before.get(k, 0) for k in ("sync", "h2d")}


def test_dvclub_training_reads_the_host_once_per_epoch():
    """DVCLUB's own alternating loop sums its terms on the device, like fit."""
    short, long = _dvclub_epoch(4), _dvclub_epoch(8)
    assert long["sync"] == short["sync"], "host syncs grow with the steps"
    assert long["h2d"] == short["h2d"]
