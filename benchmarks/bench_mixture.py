"""Benchmark: EM for a full-covariance Gaussian mixture, statlearn against scikit-learn
and pomegranate.

Workloads (issues 3 and 14): N = 50,000 and 100,000 samples, D = 16, K = 16 components,
full covariances, exactly 10 and 20 EM iterations (tol disabled) from the same initial
parameters in every library: four settings, each in float64 (what a NumPy user gets) and
in float32. The data are drawn from a random 16-component mixture. Both libraries get
NumPy arrays, as a user would give them (so statlearn's times include its conversions in
and out); pomegranate runs on the float32 data of the largest setting.

Then one setting (N = 50,000, 10 iterations, float64 and float32) again under two loads
that the script starts itself (``_common.load``: two pure-Python busy loops, one per
core; one PyTorch process multiplying 300 x 300 matrices on 2 threads), the libraries
taking turns, with each library's slowdown (loaded / quiet) and ``statlearn slowdown /
scikit-learn slowdown`` (target <= 1.25).

Usage::

    python benchmarks/bench_mixture.py [--quick] [--repeats R] [--device cpu|cuda]
    [--threads T] [--loads quiet,spin,matmul]

``--threads T`` caps torch's and NumPy's BLAS thread pools at ``T`` in every library. On
a machine shared with other work, ``--threads 1`` gives the steadier comparison: a
two-thread torch pool waits at every barrier for a thread the OS has descheduled, which
can slow the many blocked operations of EM by 10x.

``--clock cpu`` (with ``--threads 1``) times each fit by the CPU time of the process
instead of the wall clock: on a machine
whose load swings during the run (other jobs starting and stopping), the wall-clock
ratios can move by 2x from one setting to the next, while CPU times still compare the
work each library does. On a quiet machine, use the default wall clock.

Prints the workload, the versions, raw median times and ``ratio = anchor_time /
statlearn_time`` for every setting and dtype, then a summary table of the ratios.
pomegranate is skipped with a message when it is not installed.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

import statlearn
from statlearn.latent import GaussianMixture

from _common import (
    cpu_name,
    describe_loads,
    interleaved,
    load,
    parse_loads,
    report_loads,
)


def make_data(n: int, d: int, k: int, seed: int = 0) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * 3.0
    A = rng.normal(size=(k, d, d)) / np.sqrt(d) + np.eye(d)
    z = rng.integers(k, size=n)
    X = centers[z] + np.einsum("nij,nj->ni", A[z], rng.normal(size=(n, d)))
    # the common initial parameters: K random rows, equal weights, the data's precision
    # for every component
    means = X[rng.choice(n, size=k, replace=False)]
    prec = np.linalg.inv(np.cov(X.T))
    init = dict(
        weights=np.full(k, 1.0 / k), means=means, precisions=np.stack([prec] * k)
    )
    return X, init


CLOCK = time.perf_counter  # --clock cpu: time.process_time


def timed(fn, repeats: int, sync=None) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        if sync:
            sync()
        t0 = CLOCK()
        out = fn()
        if sync:
            sync()
        times.append(CLOCK() - t0)
    return statistics.median(times), out


def paired(fn_a, fn_b, repeats: int, sync=None) -> tuple[float, object, float, object]:
    """Median times of two workloads run alternately (a, b, a, b, ...), so that a
    machine whose load
    drifts during the run slows both alike."""
    ta, tb, out_a, out_b = [], [], None, None
    for _ in range(repeats):
        t, out_a = timed(fn_a, 1, sync)
        ta.append(t)
        t, out_b = timed(fn_b, 1)
        tb.append(t)
    return statistics.median(ta), out_a, statistics.median(tb), out_b


def run_statlearn(X, init, iters: int, device: str):
    gm = GaussianMixture(
        init["means"].shape[0],
        covariance_type="full",
        tol=0.0,
        max_iter=iters,
        weights_init=init["weights"],
        means_init=init["means"],
        precisions_init=init["precisions"],
        device=None if device == "cpu" else device,
    )
    return gm.fit(X)


def run_sklearn(X, init, iters: int):
    from sklearn.mixture import GaussianMixture as SkGM

    gm = SkGM(
        init["means"].shape[0],
        covariance_type="full",
        tol=0.0,
        max_iter=iters,
        weights_init=init["weights"],
        means_init=init["means"],
        precisions_init=init["precisions"],
    )
    return gm.fit(X)


def run_pomegranate(X, init, iters: int):
    from pomegranate.distributions import Normal
    from pomegranate.gmm import GeneralMixtureModel

    covs = np.linalg.inv(init["precisions"]).astype(np.float32)
    dists = [
        Normal(
            means=init["means"][k].astype(np.float32),
            covs=covs[k],
            covariance_type="full",
        )
        for k in range(len(covs))
    ]
    # tol=-inf: pomegranate stops when the improvement falls below tol, so this runs all
    # iterations
    model = GeneralMixtureModel(
        dists, priors=init["weights"].astype(np.float32), max_iter=iters, tol=-np.inf
    )
    return model.fit(torch.from_numpy(X))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="N = 20,000 and one repeat"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per library (median)"
    )
    parser.add_argument(
        "--device",
        default=None,
        help="statlearn's device (default: statlearn.device())",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="cap torch and BLAS threads (default: no cap)",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall-clock time (default) or the process's CPU time (with --threads 1)",
    )
    parser.add_argument(
        "--loads",
        default="quiet,spin,matmul",
        help="loads for the loaded comparison (default quiet,spin,matmul; '' skips it)",
    )
    args = parser.parse_args()
    loads = parse_loads(args.loads)
    global CLOCK
    if args.clock == "cpu":
        if args.threads != 1:
            parser.error(
                "--clock cpu needs --threads 1 (CPU time adds up every thread)"
            )
        CLOCK = time.process_time
    limits = None  # noqa: F841
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        # the BLAS pools, capped for the whole run
        limits = threadpool_limits(args.threads)  # noqa: F841

    def set_threads() -> None:
        if args.threads is not None:
            torch.set_num_threads(args.threads)

    set_threads()

    sizes = (20_000,) if args.quick else (50_000, 100_000)
    d, k = 16, 16
    iter_counts = (10, 20)
    repeats = args.repeats or (1 if args.quick else 3)
    device = str(statlearn.device(args.device))
    # tol=0 makes every library warn that EM did not converge
    warnings.simplefilter("ignore")

    import sklearn

    print(
        f"workload: GaussianMixture full covariance, N in {sizes} D={d} K={k}, "
        f"{iter_counts} EM iterations, same initial parameters, NumPy input, "
        f"median of {repeats}, {args.clock} clock"
    )
    print(
        f"machine: {cpu_name()}, torch threads {torch.get_num_threads()}, "
        f"statlearn device {device}"
        + (f" ({torch.cuda.get_device_name()})" if device.startswith("cuda") else "")
    )
    print(
        f"versions: statlearn {statlearn.__version__}, torch {torch.__version__}, "
        f"numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )

    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    ratios = {}
    statlearn_f32 = None
    for n in sizes:
        X64, init = make_data(n, d, k)
        X32 = X64.astype(np.float32)
        for iters in iter_counts:
            for label, X in (("float64", X64), ("float32", X32)):
                set_threads()
                run_statlearn(X[:1000], init, 2, device)  # warm-up (kernels, allocator)
                t_sl, gm, t_sk, sk = paired(
                    lambda: run_statlearn(X, init, iters, device),
                    lambda: run_sklearn(X, init, iters),
                    repeats,
                    sync,
                )
                assert gm.n_iter_ == sk.n_iter_ == iters
                gap = abs(gm.lower_bound_ - sk.lower_bound_)
                ratios[n, iters, label] = t_sk / t_sl
                print(
                    f"[N={n:,} iters={iters} {label}] statlearn {t_sl:.3f} s   "
                    f"scikit-learn {t_sk:.3f} s   "
                    f"ratio = {t_sk / t_sl:.1f}   (final mean log-likelihoods "
                    f"{gm.lower_bound_:.6f} vs "
                    f"{sk.lower_bound_:.6f}, gap {gap:.1e})",
                    flush=True,
                )
                if n == sizes[-1] and iters == iter_counts[-1] and label == "float32":
                    statlearn_f32 = t_sl
    print(
        "\nratio = scikit-learn time / statlearn time "
        "(targets: float64 >= 5, float32 >= 9)"
    )
    print("| N | iterations | float64 | float32 |")
    print("|---|---|---|---|")
    for n in sizes:
        for iters in iter_counts:
            print(
                f"| {n:,} | {iters} | {ratios[n, iters, 'float64']:.1f} "
                f"| {ratios[n, iters, 'float32']:.1f} |"
            )
    X32 = X64.astype(np.float32)
    iters = iter_counts[-1]

    # --- quiet and loaded: one setting, the libraries taking turns -------------------
    if loads:
        n_load, it_load = sizes[0], iter_counts[0]
        XL64, init_l = make_data(n_load, d, k)
        print(
            f"\nunder load: N={n_load:,} iters={it_load}, median of {repeats} "
            "(wall clock), seconds"
        )
        for label, XL in (("float64", XL64), ("float32", XL64.astype(np.float32))):
            fns = {
                "statlearn": lambda XL=XL: run_statlearn(XL, init_l, it_load, device),
                "scikit-learn": lambda XL=XL: run_sklearn(XL, init_l, it_load),
            }
            results = {}
            for kind in loads:
                set_threads()
                with load(kind):
                    results[kind] = interleaved(fns, repeats)
            print(f"[{label}]")
            report_loads(results, "statlearn", "scikit-learn")
        print(describe_loads(loads))

    # pomegranate last: fitting it resets torch's thread count, which would skew
    # whatever ran after it
    try:
        import pomegranate
    except ImportError:
        print(
            "[float32] pomegranate: not installed, skipped "
            "(pip install pomegranate --no-deps)"
        )
        return
    set_threads()
    run_pomegranate(
        X32, init, 1
    )  # warm-up on the full data (small samples break its Cholesky)
    t_pg, pg = timed(
        lambda: (set_threads(), run_pomegranate(X32, init, iters))[1], repeats
    )
    print(
        f"[float32] pomegranate {pomegranate.__version__} {t_pg:.3f} s   "
        f"ratio = {t_pg / statlearn_f32:.1f}   "
        f"(pomegranate / statlearn float32)"
    )


if __name__ == "__main__":
    main()
