"""The routines the chapters run on ``statlearn.device()``, on an accelerator.

Each test runs twice: on CUDA (marked ``gpu``, skipped without one) and on the
simulated accelerator of tests/simdevice.py, which applies CUDA's device rules on the
CPU. A deterministic routine must agree with its CPU result; a random one must keep
its results on the device. TF32 is pinned off for the ``gpu`` tests (conftest.py), so
float32 agreement holds on the A100, L4 and H100 readers get on Colab.
"""

from __future__ import annotations

import pytest
import torch

import statlearn.data
from simdevice import SimTensor, SimulatedDevice
from statlearn.nets import mlp

DEVICES = [pytest.param("cuda", marks=pytest.mark.gpu), "sim"]


@pytest.fixture(params=DEVICES)
def dev(request):
    """The accelerator: ``cuda``, or the simulated one (entered for the test)."""
    if request.param == "cuda":
        yield torch.device("cuda")
        return
    with SimulatedDevice() as sim:
        yield sim.device


def on(t: torch.Tensor, dev: torch.device) -> bool:
    if dev.type == "cuda":
        return t.device.type == "cuda"
    return isinstance(t, SimTensor)


def close(a: torch.Tensor, b: torch.Tensor, **tol) -> bool:
    return torch.allclose(a.detach().cpu(), b.detach().cpu(), **tol)


def digits(n=32):
    split = statlearn.data.load("digits")
    return split.x_train[:n], split.y_train[:n]


def classifier(seed=0):
    torch.manual_seed(seed)
    return mlp(64, 10, hidden=(16,))


def both(model_fn, call, dev):
    """``call(model, device)`` on the CPU and on ``dev``, with the same weights."""
    cpu = call(model_fn(), torch.device("cpu"))
    gpu = call(model_fn().to(dev), dev)
    return cpu, gpu


def test_data_load_places_the_split_on_the_device(dev):
    cpu = statlearn.data.load("digits")
    out = statlearn.data.load("digits", device=dev)
    for a, b in zip(cpu, out):
        assert on(b, dev) and torch.equal(a, b.cpu())


def test_fit_then_accuracy(dev):
    from statlearn.training import accuracy, fit

    x, y = digits(64)

    def run(model, d):
        fit(
            model,
            (x.to(d), y.to(d)),
            epochs=2,
            batch_size=16,
            quiet=True,
            random_state=0,
        )
        return model(x.to(d)), accuracy(model, x.to(d), y.to(d))

    (lc, ac), (lg, ag) = both(classifier, run, dev)
    assert on(lg, dev) and close(lc, lg, atol=1e-4) and abs(ac - ag) < 1e-6


def test_fgsm_pgd_cw_and_robust_accuracy_agree_with_the_cpu(dev):
    from statlearn.robust import cw_l2, fgsm, pgd, robust_accuracy

    x, y = digits(16)

    def run(model, d):
        xd, yd = x.to(d), y.to(d)
        return (
            fgsm(model, xd, yd, eps=0.1),
            pgd(model, xd, yd, eps=0.1, steps=3, random_start=False),
            cw_l2(model, xd, yd, steps=5, search_steps=2),
            torch.tensor(robust_accuracy(model, xd, yd)),
        )

    cpu, gpu = both(classifier, run, dev)
    for a, b in zip(cpu[:3], gpu[:3]):
        assert on(b, dev) and close(a, b, atol=1e-4)
    assert close(cpu[3], gpu[3])


def test_eot_and_bpda_run_on_the_device(dev):
    from statlearn.robust import EOT, bit_depth, bpda, pgd

    x, y = digits(8)
    model = classifier().to(dev)
    squeezed = torch.nn.Sequential(bpda(lambda t: bit_depth(t, 2)), model)
    eot = EOT(model, lambda t: t + 0.01 * torch.randn_like(t), n_attack=2, n_eval=2)
    for target in (squeezed, eot):
        adv = pgd(target, x.to(dev), y.to(dev), eps=0.1, steps=2, random_state=0)
        assert on(adv, dev)


def test_smoothing_and_certified_accuracy(dev):
    from statlearn.robust import Smooth, certified_accuracy

    x, y = digits(6)
    smooth = Smooth(classifier().to(dev), num_classes=10, sigma=0.25)
    classes, radii = smooth.certify(x.to(dev), 10, 40, 0.01, random_state=0)
    assert on(classes, dev) and on(radii, dev)
    curve = certified_accuracy(radii, y.to(dev), classes, torch.linspace(0, 1, 5))
    assert on(curve, dev)
    expect = certified_accuracy(radii.cpu(), y, classes.cpu(), torch.linspace(0, 1, 5))
    assert close(curve, expect)


def test_relabel_and_invert_representation(dev):
    from statlearn.robust import invert_representation, relabel_adversarially

    x, y = digits(8)
    model = classifier().to(dev)
    x_new, y_new = relabel_adversarially(
        model, x.to(dev), y.to(dev), 0.5, steps=2, random_state=0
    )
    assert on(x_new, dev) and on(y_new, dev)

    def run(m, d):
        return invert_representation(m, x[:2].to(d), x[2:4].to(d), "1", steps=3)

    cpu, gpu = both(classifier, run, dev)
    assert on(gpu, dev) and close(cpu, gpu, atol=1e-4)


def test_theory_routines_follow_the_device(dev):
    from statlearn.robust import (
        linear_robust_error,
        linear_standard_error,
        sample_averaging_learner,
        sample_gaussian_model,
    )

    theta = torch.ones(16, dtype=torch.float64)
    w = torch.linspace(-1, 1, 16, dtype=torch.float64)
    for fn in (
        lambda t, v: linear_robust_error(v, t, 1.0, 0.1),
        lambda t, v: linear_standard_error(v, t, 1.0),
    ):
        a, b = fn(theta, w), fn(theta.to(dev), w.to(dev))
        assert on(b, dev) and close(a, b)
    x, y = sample_gaussian_model(8, theta.to(dev), 1.0, random_state=0)
    assert on(x, dev) and on(y, dev)
    assert on(sample_averaging_learner(8, theta.to(dev), 1.0, random_state=0), dev)


def test_hmm_fits_and_decodes_on_the_device(dev):
    from statlearn.latent import CategoricalHMM

    seq = torch.randint(0, 3, (60, 1), generator=torch.Generator().manual_seed(0))
    hmm = CategoricalHMM(2, n_features=3, n_iter=3, tol=-1, random_state=0)
    hmm.fit(seq.to(dev))
    assert on(hmm.emissionprob_, dev)
    assert on(hmm.predict(seq.to(dev)), dev)


def test_part_two_models_draw_on_the_device(dev):
    from statlearn.info import DVCLUB, TEB, VIB, WynerModel, linear_gaussian_streams

    x, y = digits(16)
    torch.manual_seed(0)
    xd, yd = x.to(dev), y.to(dev)
    outs = [
        VIB(64, 10, 4, hidden=(8,)).to(dev).loss(xd, yd, random_state=0).total,
        DVCLUB(64, 10, 4, hidden=(8,))
        .to(dev)
        .loss(xd, yd, yd % 2, random_state=0)
        .total,
    ]
    wyner = WynerModel(2, 2, 1, 1, hidden=(8,)).to(dev)
    a = torch.randn(8, 2)
    outs.append(wyner.loss(a.to(dev), a.flip(1).to(dev), random_state=0).total)
    streams = [t.to(dev) for t in linear_gaussian_streams(32, random_state=0)[:3]]
    outs.append(TEB(3, 3, hidden=(8,)).to(dev).loss(*streams, random_state=0).total)
    assert all(on(o, dev) and torch.isfinite(o.cpu()) for o in outs)


def test_ddpm_trajectory_stays_on_the_device(dev):
    from statlearn.latent import DDPM, MLPDenoiser

    torch.manual_seed(0)
    model = DDPM(MLPDenoiser(2, hidden=(8,), time_dim=4), timesteps=5).to(dev)
    x, traj = model.sample(3, shape=(2,), random_state=0, return_trajectory=True)
    assert on(x, dev) and on(traj.x, dev) and on(traj.t, dev)


def test_information_bottleneck_results_stay_on_the_device(dev):
    from statlearn.info import information_bottleneck, information_curve

    p = torch.tensor([[0.2, 0.1], [0.05, 0.3], [0.25, 0.1]], dtype=torch.float64)
    cpu = information_bottleneck(p, 0.5, 2, max_iter=20, random_state=0)
    out = information_bottleneck(p.to(dev), 0.5, 2, max_iter=20, random_state=0)
    assert on(out.encoder, dev) and on(out.lagrangian, dev)
    assert close(cpu.encoder, out.encoder) and close(cpu.lagrangian, out.lagrangian)
    curve = information_curve(p.to(dev), [0.2, 1.0], 2, max_iter=20, random_state=0)
    assert all(on(t, dev) for t in curve[:5])


def test_device_picks_mps_only_when_asked(monkeypatch):
    """MPS has no float64: statlearn.device() no longer picks it by itself, and
    asking for it warns which routines fail there."""
    import statlearn
    import statlearn._checks

    monkeypatch.delenv("STATLEARN_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(statlearn._checks, "mps_available", lambda: True)
    monkeypatch.setattr(statlearn, "mps_available", lambda: True, raising=False)
    assert statlearn.device() == torch.device("cpu")
    with pytest.warns(UserWarning, match="no float64"):
        assert statlearn.device("mps").type == "mps"


def test_gpu_tests_run_without_tf32():
    """CPU-GPU agreement (e.g. test_diffusion::test_cpu_and_cuda_agree, whose first
    DDIM step amplifies a TF32 convolution's error about 190 times) needs full
    float32: conftest.exact_float32 turns TF32 off and restores the settings."""
    from conftest import exact_float32

    torch.backends.cudnn.allow_tf32 = True
    try:
        with exact_float32():
            assert not torch.backends.cudnn.allow_tf32
            assert not torch.backends.cuda.matmul.allow_tf32
            assert torch.get_float32_matmul_precision() == "highest"
        assert torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32 = True  # torch's default


@pytest.mark.gpu
def test_tf32_is_off_inside_a_gpu_test():
    assert not torch.backends.cudnn.allow_tf32
    assert not torch.backends.cuda.matmul.allow_tf32
