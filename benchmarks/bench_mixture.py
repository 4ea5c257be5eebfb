"""Benchmark: EM for a full-covariance Gaussian mixture, statlearn against scikit-learn and pomegranate.

Workload (issue 3): N = 100,000 samples, D = 16, K = 16 components, full covariances, exactly 20 EM
iterations (tol disabled) from the same initial parameters in every library. The data are float32
drawn from a random 16-component mixture; scikit-learn also runs on float64 against statlearn on float64.

Usage::

    python benchmarks/bench_mixture.py [--quick] [--repeats R] [--device cpu|cuda] [--threads T]

``--threads T`` caps torch's and NumPy's BLAS thread pools at ``T`` in every library. On a machine shared
with other work, ``--threads 1`` gives the steadier comparison: a two-thread torch pool waits at every
barrier for a thread the OS has descheduled, which can slow the many blocked operations of EM by 10x.

Prints the workload, the versions, raw median times and ``ratio = anchor_time / statlearn_time``.
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

from _common import cpu_name


def make_data(n: int, d: int, k: int, seed: int = 0) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * 3.0
    A = rng.normal(size=(k, d, d)) / np.sqrt(d) + np.eye(d)
    z = rng.integers(k, size=n)
    X = centers[z] + np.einsum("nij,nj->ni", A[z], rng.normal(size=(n, d)))
    # the common initial parameters: K random rows, equal weights, the data's precision for every component
    means = X[rng.choice(n, size=k, replace=False)]
    prec = np.linalg.inv(np.cov(X.T))
    init = dict(weights=np.full(k, 1.0 / k), means=means, precisions=np.stack([prec] * k))
    return X, init



def timed(fn, repeats: int, sync=None) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        if sync:
            sync()
        t0 = time.perf_counter()
        out = fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run_statlearn(X, init, iters: int, device: str):
    gm = GaussianMixture(
        init["means"].shape[0], covariance_type="full", tol=0.0, max_iter=iters,
        weights_init=init["weights"], means_init=init["means"], precisions_init=init["precisions"],
        device=device,
    )
    return gm.fit(X)


def run_sklearn(X, init, iters: int):
    from sklearn.mixture import GaussianMixture as SkGM

    gm = SkGM(
        init["means"].shape[0], covariance_type="full", tol=0.0, max_iter=iters,
        weights_init=init["weights"], means_init=init["means"], precisions_init=init["precisions"],
    )
    return gm.fit(X)


def run_pomegranate(X, init, iters: int):
    from pomegranate.distributions import Normal
    from pomegranate.gmm import GeneralMixtureModel

    covs = np.linalg.inv(init["precisions"]).astype(np.float32)
    dists = [
        Normal(means=init["means"][k].astype(np.float32), covs=covs[k], covariance_type="full")
        for k in range(len(covs))
    ]
    # tol=-inf: pomegranate stops when the improvement falls below tol, so this runs all iterations
    model = GeneralMixtureModel(dists, priors=init["weights"].astype(np.float32), max_iter=iters, tol=-np.inf)
    return model.fit(torch.from_numpy(X))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 20,000 and one repeat")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per library (median)")
    parser.add_argument("--device", default=None, help="statlearn's device (default: statlearn.device())")
    parser.add_argument("--threads", type=int, default=None, help="cap torch and BLAS threads (default: no cap)")
    args = parser.parse_args()
    limits = None  # noqa: F841
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(args.threads)  # noqa: F841  (BLAS pools, kept for the whole run)

    def set_threads() -> None:
        if args.threads is not None:
            torch.set_num_threads(args.threads)

    set_threads()

    n = 20_000 if args.quick else 100_000
    d, k, iters = 16, 16, 20
    repeats = args.repeats or (1 if args.quick else 3)
    device = str(statlearn.device(args.device))
    warnings.simplefilter("ignore")  # tol=0 makes every library warn that EM did not converge

    import sklearn

    print(f"workload: GaussianMixture full covariance, N={n:,} D={d} K={k}, {iters} EM iterations, "
          f"same initial parameters, median of {repeats}")
    print(f"machine: {cpu_name()}, torch threads {torch.get_num_threads()}, "
          f"statlearn device {device}" + (f" ({torch.cuda.get_device_name()})" if device.startswith("cuda") else ""))
    print(f"versions: statlearn {statlearn.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
          f"scikit-learn {sklearn.__version__}")

    X64, init = make_data(n, d, k)
    X32 = X64.astype(np.float32)
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    statlearn_f32 = None
    for label, X in (("float32", X32), ("float64", X64)):
        Xt = torch.from_numpy(X).to(device)
        set_threads()
        run_statlearn(Xt[:1000], init, 2, device)  # warm-up (kernels, allocator)
        t_sl, gm = timed(lambda: run_statlearn(Xt, init, iters, device), repeats, sync)
        t_sk, sk = timed(lambda: run_sklearn(X, init, iters), repeats)
        assert gm.n_iter_ == sk.n_iter_ == iters
        gap = abs(gm.lower_bound_ - sk.lower_bound_)
        print(f"[{label}] statlearn {t_sl:.3f} s   scikit-learn {t_sk:.3f} s   ratio = {t_sk / t_sl:.1f}   "
              f"(final mean log-likelihoods {gm.lower_bound_:.6f} vs {sk.lower_bound_:.6f}, gap {gap:.1e})",
              flush=True)
        statlearn_f32 = statlearn_f32 or t_sl

    # pomegranate last: fitting it resets torch's thread count, which would skew whatever ran after it
    try:
        import pomegranate
    except ImportError:
        print("[float32] pomegranate: not installed, skipped (pip install pomegranate --no-deps)")
        return
    set_threads()
    run_pomegranate(X32, init, 1)  # warm-up on the full data (small samples break its Cholesky)
    t_pg, pg = timed(lambda: (set_threads(), run_pomegranate(X32, init, iters))[1], repeats)
    print(f"[float32] pomegranate {pomegranate.__version__} {t_pg:.3f} s   ratio = {t_pg / statlearn_f32:.1f}   "
          f"(pomegranate / statlearn float32)")


if __name__ == "__main__":
    main()
