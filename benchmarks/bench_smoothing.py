"""Benchmark: randomized-smoothing certification costs ~ n / batch_size forward passes.

    python benchmarks/bench_smoothing.py [--quick] [--device cpu|cuda]

Workload: ``Smooth.certify`` with n0 = 100 selection and n = 100,000 estimation samples
(Cohen et al., 2019), batch size 1000, on the digits CNN (``statlearn.nets.cnn``, inputs
(1, 8, 8)) and on the chapter's MLP. The "bare" cost is the same number of forward
passes of the same model on a fixed, pre-drawn noisy batch, under ``torch.no_grad``:
what any implementation has to pay. Printed:

- ``overhead = certify_time / bare_time`` (target <= 1.1), the median over alternating
  runs: the cost of drawing the noise, counting and bounding on top of the forward
  passes; and, in brackets, certify over the forward passes plus drawing the same noise
  (the part no implementation can avoid);
- per-input certify time, for one input and for a batch of inputs certified in one call.

There is no anchor library (Cohen et al.'s reference code is not a package); the anchor
is the bare forward-pass cost measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import nn

import statlearn
from statlearn.nets import Normalize, cnn, mlp
from statlearn.robust import Smooth

from _common import cpu_name


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn, repeats: int, device: torch.device) -> float:
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_model(
    name: str,
    model: nn.Module,
    shape: tuple[int, ...],
    *,
    n0: int,
    n: int,
    batch_size: int,
    n_inputs: int,
    repeats: int,
    device: torch.device,
) -> None:
    model = model.to(device).eval()
    smooth = Smooth(model, num_classes=10, sigma=0.25, input_shape=shape)
    gen = torch.Generator(device=device).manual_seed(0)
    x_one = torch.rand(shape, generator=gen, device=device)
    x_many = torch.rand((n_inputs,) + shape, generator=gen, device=device)

    # bare: ceil((n0 + n) / batch_size) forward passes on one pre-drawn noisy batch
    # (per input)
    passes = -(-(n0 + n) // batch_size)
    fixed = (
        x_one + 0.25 * torch.randn((batch_size,) + shape, generator=gen, device=device)
    ).clamp(0, 1)

    def bare(k: int = 1) -> None:
        with torch.no_grad():
            for _ in range(k * passes):
                model(fixed).argmax(1)

    def bare_noise(k: int = 1) -> None:
        # the forward passes plus drawing the noise they need
        with torch.no_grad():
            for _ in range(k * passes):
                torch.randn((batch_size,) + shape, generator=gen, device=device)
                model(fixed).argmax(1)

    def certify_one() -> None:
        smooth.certify(x_one, n0, n, 0.001, batch_size=batch_size, random_state=gen)

    def certify_many() -> None:
        smooth.certify(x_many, n0, n, 0.001, batch_size=batch_size, random_state=gen)

    bare()  # warm-up
    certify_one()
    if repeats > 1:  # cheap models: more alternating pairs, so that the medians settle
        repeats = max(
            repeats, min(25, int(3.0 / max(_median_time(bare, 1, device), 1e-3)))
        )
    # bare and certify alternate, so that load from other processes hits both alike
    one = [
        (
            _median_time(bare, 1, device),
            _median_time(certify_one, 1, device),
            _median_time(bare_noise, 1, device),
        )
        for _ in range(repeats)
    ]
    many = [
        (
            _median_time(lambda: bare(n_inputs), 1, device),
            _median_time(certify_many, 1, device),
            _median_time(lambda: bare_noise(n_inputs), 1, device),
        )
        for _ in range(max(1, repeats // 2))
    ]
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"\n{name}: input {shape}, {n_params:,} parameters, "
        f"{passes} forward passes of {batch_size} per input"
    )
    for label, pairs, k in (
        ("one input", one, 1),
        (f"{n_inputs} inputs", many, n_inputs),
    ):
        t_bare = statistics.median(b for b, _, _ in pairs)
        t_cert = statistics.median(c for _, c, _ in pairs)
        ratio = statistics.median(c / b for b, c, _ in pairs)
        ratio_noise = statistics.median(c / bn for _, c, bn in pairs)
        print(
            f"  {label:10s}: bare {t_bare * 1e3:9.1f} ms   "
            f"certify {t_cert * 1e3:9.1f} ms   "
            f"overhead = certify / bare = {ratio:.3f}   "
            f"(certify / (bare + noise) = {ratio_noise:.3f})   "
            f"per input {t_cert / k * 1e3:.1f} ms"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="n = 10,000 and one repeat (a smoke run)"
    )
    parser.add_argument(
        "--device", default=None, help="cpu or cuda (default: statlearn.device())"
    )
    args = parser.parse_args(argv)
    device = statlearn.device(args.device)
    n = 10_000 if args.quick else 100_000
    repeats = 1 if args.quick else 5
    n_inputs = 2 if args.quick else 4
    torch.manual_seed(0)

    print(
        "bench_smoothing: "
        f"Smooth.certify(n0=100, n={n:,}, alpha=0.001, batch_size=1000)"
    )
    print(
        f"python {sys.version.split()[0]}, torch {torch.__version__}, "
        f"statlearn {statlearn.__version__}"
    )
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    print(f"device {device} ({where}), torch threads {torch.get_num_threads()}")

    bench_model(
        "digits CNN (statlearn.nets.cnn)",
        cnn((1, 8, 8), 10),
        (1, 8, 8),
        n0=100,
        n=n,
        batch_size=1000,
        n_inputs=n_inputs,
        repeats=repeats,
        device=device,
    )
    chapter_mlp = nn.Sequential(Normalize(0.5, 0.25), mlp(64, 10, hidden=(256,)))
    bench_model(
        "chapter 17 MLP (64-256-10)",
        chapter_mlp,
        (64,),
        n0=100,
        n=n,
        batch_size=1000,
        n_inputs=n_inputs,
        repeats=repeats,
        device=device,
    )


if __name__ == "__main__":
    main()
