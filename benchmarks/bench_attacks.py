"""Benchmark: PGD (20 steps, batch 512), statlearn against bare cost and torchattacks.

Workload (issue 7): an l-infinity PGD attack (eps = 8/255, step 2/255, 20 steps, random
start) on a batch of 512 inputs, for two models:

- ``mlp``: ``statlearn.nets.mlp(784, 10, hidden=(512, 512))`` on (512, 784) inputs;
- ``cnn``: ``statlearn.nets.cnn((1, 28, 28), 10)`` on (512, 1, 28, 28) inputs.

The inputs are uniform random pixels (no dataset download). PGD costs about 20 forward
and backward passes; the **bare cost** is exactly 20 x (forward +
``torch.autograd.grad`` with respect to the input) on the same batch, with nothing
else. We print ``statlearn / bare`` (target <= 1.1: the projection, sign and clipping
add little) and, when torchattacks is installed (``pip install --no-deps
torchattacks``), ``ratio = torchattacks_time / statlearn_time`` on the same model and
batch.

On a CPU the MLP runs again under two loads that the script starts itself
(``_common.load``: two pure-Python busy loops, one per core; one PyTorch process
multiplying 300 x 300 matrices on 2 threads), the three taking turns, with each one's
slowdown (loaded / quiet) and ``statlearn slowdown / torchattacks slowdown`` (target
<= 1.25).

Usage::

    python benchmarks/bench_attacks.py [--quick] [--repeats R] [--device cpu|cuda]
    [--loads quiet,spin,matmul]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F

import statlearn
from statlearn.nets import cnn, mlp
from statlearn.robust import pgd

from _common import cpu_name, describe_loads, load, parse_loads, report_loads

EPS, ALPHA, STEPS, BATCH = 8 / 255, 2 / 255, 20, 512


def timed(fns: dict, repeats: int, device: torch.device) -> tuple[dict, dict]:
    """Median wall time and median process CPU time of each function.

    The functions take turns, so load on a shared machine hits all of them alike; on a
    CPU the process CPU time is printed too, as it is far less sensitive to other
    processes than the wall clock.
    """

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    wall: dict = {name: [] for name in fns}
    cpu: dict = {name: [] for name in fns}
    for fn in fns.values():  # warm-up
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            sync()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)

    def med(d: dict) -> dict:
        return {name: statistics.median(t) for name, t in d.items()}

    return med(wall), med(cpu)


def bare(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """20 forward passes and 20 backward passes to the input, nothing else."""
    for _ in range(STEPS):
        xr = x.detach().requires_grad_(True)
        loss = F.cross_entropy(model(xr), y, reduction="sum")
        torch.autograd.grad(loss, xr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats, the MLP only"
    )
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--loads",
        default="quiet,spin,matmul",
        help="loads for the MLP's loaded comparison on a CPU ('' skips it)",
    )
    args = parser.parse_args(argv)
    loads = parse_loads(args.loads)
    device = statlearn.device(args.device)
    repeats = args.repeats or (3 if args.quick else 9)

    try:
        import torchattacks
    except Exception as exc:  # not installed, or it fails to import beside this torch
        torchattacks = None
        why = f"{type(exc).__name__}: {exc}"

    print(
        f"workload: PGD-linf, eps = 8/255, step 2/255, {STEPS} steps, random start, "
        f"batch {BATCH}; median of {repeats}"
    )
    chip = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    print(f"device: {device} ({chip}), torch threads: {torch.get_num_threads()}")
    ta_version = torchattacks.__version__ if torchattacks else "not installed"
    print(
        f"versions: python {platform.python_version()}, torch {torch.__version__}, "
        f"statlearn {statlearn.__version__}, torchattacks {ta_version}"
    )
    if torchattacks is None:
        print(
            f"torchattacks skipped ({why}); "
            "install it with: pip install --no-deps torchattacks"
        )

    models = {"mlp": (mlp(784, 10, hidden=(512, 512)), (784,))}
    if not args.quick:
        models["cnn"] = (cnn((1, 28, 28), 10), (1, 28, 28))
    for name, (model, shape) in models.items():
        torch.manual_seed(0)
        model = model.to(device).eval()
        x = torch.rand((BATCH,) + shape, device=device)
        y = torch.randint(0, 10, (BATCH,), device=device)

        fns = {
            "bare": lambda: bare(model, x, y),
            "statlearn": lambda: pgd(
                model, x, y, eps=EPS, steps=STEPS, step_size=ALPHA
            ),
        }
        if torchattacks is not None:
            attack = torchattacks.PGD(
                model, eps=EPS, alpha=ALPHA, steps=STEPS, random_start=True
            )
            fns["torchattacks"] = lambda: attack(x, y)
        wall, cpu = timed(fns, repeats, device)
        for clock, t in [("wall", wall)] + (
            [("cpu", cpu)] if device.type == "cpu" else []
        ):
            line = (
                f"{name} [{clock:>4}]: bare 20 x (fwd + bwd) {t['bare'] * 1e3:8.1f} ms"
                f" | statlearn pgd {t['statlearn'] * 1e3:8.1f} ms"
                f" | statlearn / bare = {t['statlearn'] / t['bare']:.3f}"
            )
            if torchattacks is not None:
                line += (
                    f" | torchattacks {t['torchattacks'] * 1e3:8.1f} ms | "
                    "ratio = torchattacks / statlearn = "
                    f"{t['torchattacks'] / t['statlearn']:.3f}"
                )
            print(line, flush=True)
        if name == "mlp" and device.type == "cpu" and loads:
            results = {}
            for kind in loads:
                with load(kind):
                    results[kind], _ = timed(fns, repeats, device)
            print(f"{name} under load, wall clock, ms")
            report_loads(
                results,
                "statlearn",
                "torchattacks" if torchattacks is not None else "bare",
                unit=1e3,
                label="ms",
            )
    if loads and device.type == "cpu":
        print(describe_loads(loads))


if __name__ == "__main__":
    main()
