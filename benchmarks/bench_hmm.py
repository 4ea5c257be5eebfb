"""Benchmark statlearn.latent.hmm against hmmlearn (and pomegranate when installed).

Workloads (issue 4):

1. batch fit: Gaussian HMM, K=8 states, D=4 (diagonal covariances), 500 sequences of
   200 steps, 10 Baum-Welch iterations (tolerance disabled: every library runs all 10),
   k-means init included;
2. score: total log-likelihood of one 100,000-step sequence with fixed parameters.

Each workload runs on a quiet machine and then under two loads that the script starts
itself (``_common.load``): two pure-Python busy loops, one per core, and one PyTorch
process multiplying 300 x 300 matrices on 2 threads. statlearn and hmmlearn take turns
within each setting, so both meet the same load. Prints the workload, versions, raw
medians, ``ratio = anchor_time / statlearn_time`` per load, and each library's slowdown
under load (loaded time / quiet time) with ``statlearn slowdown / hmmlearn slowdown``
(target <= 1.25).

Run: ``python benchmarks/bench_hmm.py [--quick] [--loads quiet,spin,matmul]``
(``--quick``: one repeat instead of three/five, and no pomegranate).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

import statlearn
from statlearn.latent import GaussianHMM

from _common import (
    LOADS,
    cpu_name,
    describe_loads,
    interleaved,
    load,
    parse_loads,
    report_loads,
)

K, D, N_SEQ, SEQ_LEN, N_ITER, LONG_T = 8, 4, 500, 200, 10, 100_000


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_time(fn, repeats: int, device: torch.device | None = None) -> float:
    times = []
    for _ in range(repeats):
        if device is not None:
            sync(device)
        t0 = time.perf_counter()
        fn()
        if device is not None:
            sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_data(seed: int = 0):
    """A well-separated sticky 8-state Gaussian HMM, its 500 x 200 training set and a
    100,000-step sequence."""
    rng = np.random.default_rng(seed)
    truth = GaussianHMM(K, dtype=torch.float64)
    truth.startprob_ = np.full(K, 1.0 / K)
    A = np.full((K, K), 0.05 / (K - 1))
    np.fill_diagonal(A, 0.95)
    truth.transmat_ = A
    truth.means_ = rng.normal(size=(K, D)) * 3.0
    truth.covars_ = rng.uniform(0.5, 1.5, size=(K, D))
    # NumPy parameters: sample returns NumPy arrays
    X = np.concatenate(
        [truth.sample(SEQ_LEN, random_state=seed * 10_000 + n)[0] for n in range(N_SEQ)]
    )
    X_long = truth.sample(LONG_T, random_state=seed + 1)[0]
    return truth, X, [SEQ_LEN] * N_SEQ, X_long


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat per timing")
    parser.add_argument(
        "--loads",
        default="quiet,spin,matmul",
        help="comma-separated settings among " + ", ".join(LOADS),
    )
    args = parser.parse_args()
    fit_repeats = 1 if args.quick else 3
    score_repeats = 1 if args.quick else 5
    loads = parse_loads(args.loads)

    truth, X, lengths, X_long = make_data()
    X32 = X.astype(np.float32)
    print(
        "workload 1: GaussianHMM fit, K=8, D=4 diag, 500 sequences x 200 steps, 10 "
        "Baum-Welch iterations"
    )
    print(
        "workload 2: score one 100,000-step sequence (K=8, D=4 diag), fixed parameters"
    )
    print(f"machine: {cpu_name()}, torch threads {torch.get_num_threads()}")
    print(
        f"versions: statlearn {statlearn.__version__}, torch {torch.__version__}, "
        f"numpy {np.__version__}"
    )

    # --- statlearn --------------------------------------------------------------------
    Xt = torch.as_tensor(X32)
    params = [
        torch.as_tensor(np.asarray(p), dtype=torch.float32)
        for p in (truth.startprob_, truth.transmat_, truth.means_, truth._covars_)
    ]
    ours = GaussianHMM(K)
    ours.startprob_, ours.transmat_, ours.means_, ours.covars_ = params
    Xl = torch.as_tensor(X_long.astype(np.float32))
    fit_fns = {
        "statlearn": lambda: GaussianHMM(
            K, n_iter=N_ITER, tol=-1.0, random_state=0
        ).fit(Xt, lengths)
    }
    score_fns = {"statlearn": lambda: ours.score(Xl)}
    fit_fns["statlearn"]()  # warm-up
    our_score = ours.score(Xl)

    # --- hmmlearn ---------------------------------------------------------------------
    try:
        import hmmlearn
        from hmmlearn import hmm as hl
    except ImportError:
        print("hmmlearn: not installed, skipped")
    else:
        print(f"hmmlearn {hmmlearn.__version__}")

        def hl_fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hl.GaussianHMM(
                    K,
                    covariance_type="diag",
                    n_iter=N_ITER,
                    tol=-np.inf,
                    random_state=0,
                ).fit(X32, lengths)

        ref = hl.GaussianHMM(K, covariance_type="diag")
        ref.startprob_, ref.transmat_, ref.means_, ref.covars_ = [
            np.asarray(p, dtype=np.float64)
            for p in (truth.startprob_, truth.transmat_, truth.means_, truth._covars_)
        ]
        ref_score = ref.score(X_long)
        fit_fns["hmmlearn"] = hl_fit
        score_fns["hmmlearn"] = lambda: ref.score(X_long)
        print(
            f"score agreement: statlearn (float32) {our_score:.3f}, hmmlearn "
            f"{ref_score:.3f}, "
            f"relative difference {abs(our_score - ref_score) / abs(ref_score):.1e}"
        )

    # --- quiet and loaded runs, the libraries taking turns ----------------------------
    results: dict[str, dict[str, dict[str, float]]] = {}
    for kind in loads:
        with load(kind):
            results[kind] = {
                "fit": interleaved(fit_fns, fit_repeats),
                "score": interleaved(score_fns, score_repeats),
            }

    # --- statlearn (CUDA) and pomegranate, quiet only -----------------------------
    extra: dict[str, dict[str, float]] = {"fit": {}, "score": {}}
    if torch.cuda.is_available():
        dev = torch.device("cuda")
        Xg, Xlg = Xt.to(dev), Xl.to(dev)
        GaussianHMM(K, n_iter=2, tol=-1.0, random_state=0).fit(Xg, lengths)  # warm-up
        extra["fit"]["statlearn cuda"] = median_time(
            lambda: GaussianHMM(K, n_iter=N_ITER, tol=-1.0, random_state=0).fit(
                Xg, lengths
            ),
            fit_repeats,
            dev,
        )
        gpu = GaussianHMM(K)
        gpu.startprob_, gpu.transmat_, gpu.means_, gpu.covars_ = [
            p.to(dev) for p in params
        ]
        gpu.score(Xlg)
        extra["score"]["statlearn cuda"] = median_time(
            lambda: gpu.score(Xlg), score_repeats, dev
        )
        print(f"GPU: {torch.cuda.get_device_name(dev)}")
    else:
        print("statlearn cuda: skipped (no CUDA device)")
    try:
        if args.quick:
            raise RuntimeError("--quick")
        import pomegranate
        from pomegranate.distributions import Normal
        from pomegranate.hmm import DenseHMM
    except (
        Exception
    ) as exc:  # ImportError, or a missing optional dependency such as numba
        print(f"pomegranate: not run ({type(exc).__name__}: {exc}), skipped")
    else:
        print(f"pomegranate {pomegranate.__version__}")
        X3 = torch.as_tensor(X32).reshape(N_SEQ, SEQ_LEN, D)

        def pg_fit():
            model = DenseHMM(
                [Normal(covariance_type="diag") for _ in range(K)],
                max_iter=N_ITER,
                tol=1e-30,
                verbose=False,
                random_state=0,
            )
            model.fit(X3)

        try:
            extra["fit"]["pomegranate"] = median_time(pg_fit, fit_repeats)
        except Exception as exc:  # pragma: no cover - depends on the installed version
            print(f"pomegranate fit failed ({type(exc).__name__}: {exc}), skipped")

    # --- report ---------------------------------------------------------------------
    for work in ("fit", "score"):
        print(f"\n{work}: median seconds")
        report_loads(
            {kind: results[kind][work] for kind in loads}, "statlearn", "hmmlearn"
        )
        for name, t in extra[work].items():
            print(f"  quiet   {name} {t:8.3f}")
            if "quiet" in results:
                q = results["quiet"][work]
                base = q["statlearn"] if name == "pomegranate" else t
                anchor = t if name == "pomegranate" else q.get("hmmlearn")
                if anchor is not None:
                    who = (
                        "pomegranate / statlearn"
                        if name == "pomegranate"
                        else ("hmmlearn / statlearn cuda")
                    )
                    print(f"  ratio = {who} = {anchor / base:.2f}")
    print("\n" + describe_loads(loads))


if __name__ == "__main__":
    main()
