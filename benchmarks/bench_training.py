"""Benchmark: ``statlearn.training.fit`` against a hand-written PyTorch loop.

Workload (issue 32): three objectives of the book on data of the digits' shape (1,797
images of 8 x 8 pixels in [0, 1], binarised for the VAE, ten classes; random pixels, no
download), batch 128, Adam with learning rate 1e-3, a few epochs:

- ``vae``: ``mlp_vae(64, 8, (256,))`` (Bernoulli likelihood) with ``VAE.loss``;
- ``vib``: ``VIB(64, 10, 8, hidden=(256,))`` with ``vib_loss``;
- ``csimclr``: ``ContrastiveNet(64, hidden=(256,), rep_dim=128, head_hidden=(128,),
  latent_dim=16)`` with ``csimclr_loss`` (chapter 9's augmentations, beta = 0.3).

The **bare** loop does the same arithmetic on the same data: shuffle, slice, the same
objective (with ``check_input=False`` where the objective takes it, as ``fit`` passes),
``zero_grad``, ``backward``, ``step``; nothing else. Both start from the same weights.
Prints the median seconds per epoch of each and ``fit / bare`` (target <= 1.10).

Usage::

    python benchmarks/bench_training.py [--quick] [--epochs E] [--repeats R]
"""

from __future__ import annotations

import argparse
import copy
import functools
import platform

import torch

import statlearn
from statlearn.info.contrastive import Augment, ContrastiveNet, csimclr_loss
from statlearn.info.vib import VIB, vib_loss
from statlearn.latent.vae import VAE, mlp_vae
from statlearn._checks import accepts_keyword
from statlearn.training import fit

from _common import cpu_name, interleaved

N, SIDE, CLASSES, BATCH, LR = 1797, 8, 10, 128, 1e-3


def bare(model, data, objective, epochs: int, trusted: dict) -> None:
    """A hand-written training loop: the same arithmetic as ``fit``, nothing else."""
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    g = torch.Generator().manual_seed(0)
    n = data[0].shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        for start in range(0, n, BATCH):
            idx = perm[start : start + BATCH]
            loss = objective(model, *(t[idx] for t in data), **trusted).total
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)

    torch.manual_seed(0)
    x = torch.rand(N, SIDE * SIDE)
    x_binary = (x > 0.5).float()  # the VAE's Bernoulli likelihood wants 0 or 1
    y = torch.randint(0, CLASSES, (N,))
    augment = Augment(
        max_shift=1,
        erase_size=3,
        erase_p=0.5,
        noise_sigma=0.1,
        image_shape=(1, SIDE, SIDE),
    )
    settings = {
        "vae": (
            mlp_vae(SIDE * SIDE, 8, (256,)),
            (x_binary,),
            VAE.loss,
        ),
        "vib": (
            VIB(SIDE * SIDE, CLASSES, 8, hidden=(256,)),
            (x, y),
            vib_loss,
        ),
        "csimclr": (
            ContrastiveNet(
                SIDE * SIDE,
                hidden=(256,),
                rep_dim=128,
                head_hidden=(128,),
                latent_dim=16,
            ),
            (x,),
            functools.partial(csimclr_loss, augment=augment, beta=0.3),
        ),
    }
    print(
        f"workload: fit vs a bare loop, {N} samples of {SIDE * SIDE} features, batch "
        f"{BATCH}, Adam lr {LR}, {args.epochs} epochs per run, median of {repeats}"
    )
    print(f"machine: {cpu_name()}, torch threads {torch.get_num_threads()}")
    print(
        f"versions: python {platform.python_version()}, torch {torch.__version__}, "
        f"statlearn {statlearn.__version__}"
    )
    for name, (model, data, objective) in settings.items():
        # as fit does: an objective that can skip its input checks does
        trusted = (
            {"check_input": False} if accepts_keyword(objective, "check_input") else {}
        )
        init = copy.deepcopy(model.state_dict())

        def run_fit(model=model, data=data, objective=objective, init=init):
            model.load_state_dict(init)
            fit(
                model,
                data if len(data) > 1 else data[0],
                objective=objective,
                epochs=args.epochs,
                batch_size=BATCH,
                lr=LR,
                quiet=True,
                random_state=0,
            )

        def run_bare(
            model=model, data=data, objective=objective, init=init, kw=trusted
        ):
            model.load_state_dict(init)
            bare(model, data, objective, args.epochs, kw)

        fns = {"bare": run_bare, "fit": run_fit}
        for fn in fns.values():  # warm-up
            fn()
        t = interleaved(fns, repeats)
        per = {k: v / args.epochs for k, v in t.items()}
        print(
            f"{name:8s} bare {per['bare'] * 1e3:8.1f} ms/epoch | fit "
            f"{per['fit'] * 1e3:8.1f} ms/epoch | fit / bare = "
            f"{t['fit'] / t['bare']:.3f} (target <= 1.10)",
            flush=True,
        )


if __name__ == "__main__":
    main()
