r"""The iterative information bottleneck for a discrete joint p(x, y) (chapter 7).

Implements the self-consistent equations of Tishby, Pereira and Bialek (2000), iterated
in log space from a random symmetry-breaking start, and a sweep over the trade-off
parameter that warm-starts each solution from the previous one (deterministic annealing)
to trace the information curve (I(X; Z), I(Z; Y)).

**Which beta.** Everything here takes the book's β, the weight of the *rate* (see the
notation page): the loss minimised over encoders p(z | x) is

.. math::

    L_\beta = H(Y \mid Z) + \beta\, I(X; Z) \quad \text{(bits)},

the distortion H(Y | Z) plus β times the rate I(X; Z). Tishby's
Lagrangian I(X; Z) - β_IB I(Z; Y) has the same minimisers for
β = 1 / β_IB, because
L_β = β [I(X; Z) - β_IB I(Z; Y)] + H(Y). A large
β compresses hard: above a critical value the only solution is the trivial
p(z | x) = p(z) with I(X; Z) = I(Z; Y) = 0.

**Why the reported Lagrangian never increases.** Each iteration is coordinate descent on
the functional (in nats)

.. math::

    \begin{aligned}
    F[p(z \mid x), p(z), p(y \mid z)]
    &= \E_{p(x)\, p(z \mid x)}\Big[\log \frac{p(z \mid x)}{p(z)}\Big] \\
    &\quad + \beta_{\mathrm{IB}}\, \E_{p(x)\, p(z \mid x)}
    \big[\KL(p(y \mid x) \,\|\, p(y \mid z))\big],
    \end{aligned}

minimised exactly in turn over the encoder (the exponential update below), the marginal
p(z) and the decoder p(y | z) (the Bayes-consistent ones). When the last two are
consistent with the encoder, F = I(X; Z) + β_IB [I(X; Y) - I(Z; Y)], so
β F / log 2 = L_β - H(Y | X): the reported
L_β differs from F by a positive factor and a constant and cannot go up
from one iteration to the next (up to rounding).

**Randomness.** The random symmetry-breaking starts follow statlearn's rule
(CONTRIBUTING.md): one ``random_state``, drawn on the CPU in float64 and moved to the
joint's device, so a seed gives the same start on every device.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import torch

from statlearn._checks import as_generator, as_tensor, check_int, check_positive

__all__ = [
    "IBResult",
    "InformationCurve",
    "information_bottleneck",
    "information_curve",
]


class IBResult(NamedTuple):
    """A solution of the information bottleneck at one β.

    Attributes
    ----------
    encoder : (|X|, K) tensor
        p(z | x); rows sum to one.
    marginal : (K,) tensor
        p(z) = Σ_x p(x) p(z | x).
    decoder : (K, |Y|) tensor
        p(y | z), the Bayes-consistent decoder (a uniform row for an unused cluster).
    i_xz : float
        The rate I(X; Z) in bits.
    i_zy : float
        The relevant information I(Z; Y) in bits.
    lagrangian : (n_iter + 1,) tensor
        L_β = H(Y | Z) + β I(X; Z) in bits at the start and after each
        iteration; non-increasing. On ``p_xy``'s device, in float64 (float32 on
        Apple's MPS), as every tensor of the result.
    n_iter : int
        The number of iterations run.
    converged : bool
        Whether the Lagrangian decreased by less than ``tol`` before ``max_iter``.
    beta : float
        The book's β (rate weight) the solution was computed for.

    ``IBResult.units`` (``"bits"``) is the unit of ``i_xz``, ``i_zy`` and
    ``lagrangian``.
    """

    encoder: torch.Tensor
    marginal: torch.Tensor
    decoder: torch.Tensor
    i_xz: float
    i_zy: float
    lagrangian: torch.Tensor
    n_iter: int
    converged: bool
    beta: float
    units = "bits"


class InformationCurve(NamedTuple):
    """The information curve traced by :func:`information_curve`, one entry per β.

    Attributes
    ----------
    betas : (B,) tensor
        The book's β, in the order given. Every tensor of the curve is on ``p_xy``'s
        device; ``betas``, ``i_xz``, ``i_zy`` and ``lagrangian`` are float64 (float32
        on Apple's MPS).
    i_xz, i_zy : (B,) tensors
        I(X; Z) and I(Z; Y) in bits.
    lagrangian : (B,) tensor
        The final L_β in bits.
    encoders : (B, |X|, K) tensor
        The encoders p(z | x).
    i_xy : float
        I(X; Y) in bits, the ceiling of I(Z; Y).

    ``InformationCurve.units`` (``"bits"``) is the unit of ``i_xz``, ``i_zy``,
    ``lagrangian`` and ``i_xy``.
    """

    betas: torch.Tensor
    i_xz: torch.Tensor
    i_zy: torch.Tensor
    lagrangian: torch.Tensor
    encoders: torch.Tensor
    i_xy: float
    units = "bits"


_SUM_TOL = {torch.float64: 1e-8, torch.float32: 1e-4}
_LN2 = math.log(2.0)


def _check_joint(p_xy: Any) -> torch.Tensor:
    t = as_tensor(p_xy, name="p_xy", ndim=2)
    v = t.detach()
    if bool((v < 0).any()):
        raise ValueError(
            "p_xy must be a joint distribution (entries >= 0); got a minimum of "
            f"{float(v.min()):.4g}"
        )
    total = float(v.sum())
    if abs(total - 1.0) > _SUM_TOL.get(t.dtype, 1e-4):
        raise ValueError(
            "p_xy must be a joint distribution (entries summing to 1); got a sum of "
            f"{total:.6g}"
        )
    return t


def _check_beta(beta: Any) -> float:
    return check_positive(beta, "beta", strict=False)


def _work_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def _random_log_encoder(
    n_x: int,
    k: int,
    *,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator,
) -> torch.Tensor:
    """A random, strictly positive encoder (log space): rows are softmax of standard
    normals, drawn on the CPU in float64 (``generator`` is a CPU generator).
    """
    noise = torch.randn(n_x, k, dtype=torch.float64, generator=generator)
    return torch.log_softmax(noise.to(device=device, dtype=dtype), dim=1)


def _mi_bits(p: torch.Tensor) -> float:
    """I(A; B) in bits of a (trusted) joint table, rows A and columns B."""
    p = p / p.sum()
    outer = p.sum(dim=1, keepdim=True) * p.sum(dim=0, keepdim=True)
    terms = torch.xlogy(p, p) - torch.xlogy(p, outer)  # 0 where p = 0
    return float(terms.sum().clamp_min(0.0)) / _LN2


def _entropy_bits(p: torch.Tensor) -> float:
    """H in bits of a (trusted) distribution."""
    return float((-torch.xlogy(p, p).sum()).clamp_min(0.0)) / _LN2


class _Joint:
    """p(x, y) with what the iterations need, restricted to outcomes y with p(y) > 0."""

    def __init__(self, p_xy: torch.Tensor, dtype: torch.dtype) -> None:
        p = p_xy.detach().to(dtype)
        p = p / p.sum()
        p = p[:, p.sum(dim=0) > 0]
        self.p_xy = p
        self.p_x = p.sum(dim=1)
        p_y = p.sum(dim=0)
        # p(y|x); rows of zero mass get p(y) (they carry no weight in any sum)
        safe = torch.where(self.p_x > 0, self.p_x, torch.ones_like(self.p_x))
        py_x = torch.where((self.p_x > 0)[:, None], p / safe[:, None], p_y[None, :])
        self.py_x = py_x
        positive = py_x > 0
        self.log_py_x = torch.where(
            positive,
            torch.log(torch.where(positive, py_x, torch.ones_like(py_x))),
            torch.zeros_like(py_x),
        )
        self.neg_h_y_given_x = (py_x * self.log_py_x).sum(
            dim=1
        )  # sum_y p(y|x) log p(y|x), (|X|,)
        self.log_p_xy = torch.log(p)  # -inf where p(x, y) = 0
        self.log_p_x = torch.log(self.p_x)
        self.h_y = _entropy_bits(p_y)
        self.i_xy = _mi_bits(p)


def _consistent(
    joint: _Joint, log_enc: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """log p(z) (K,), log p(y|z) (K, |Y|) and the empty clusters (K,) of an encoder."""
    log_pz = torch.logsumexp(joint.log_p_x[:, None] + log_enc, dim=0)
    log_pzy = torch.logsumexp(
        log_enc[:, :, None] + joint.log_p_xy[:, None, :], dim=0
    )  # (K, |Y|)
    # a cluster whose mass underflows is empty: its log p(y|z) would be a difference of
    # two huge, imprecise numbers (this happens at a tiny beta, where log p(z|x) reaches
    # -1e30 and below)
    floor = math.log(torch.finfo(log_enc.dtype).tiny)
    empty = log_pz < floor
    log_py_z = log_pzy - torch.where(empty, torch.zeros_like(log_pz), log_pz)[:, None]
    # floor at the smallest normal number so a cross-entropy is huge rather than
    # infinite
    log_py_z = torch.where(
        empty[:, None], torch.zeros_like(log_py_z), log_py_z.clamp_min(floor)
    )
    return log_pz, log_py_z, empty


def _kl_to_clusters(joint: _Joint, log_py_z: torch.Tensor) -> torch.Tensor:
    """KL(p(y|x) || p(y|z)) in nats for every pair, (|X|, K)."""
    cross = joint.py_x @ log_py_z.T  # sum_y p(y|x) log p(y|z); log p(y|z) is finite
    return (joint.neg_h_y_given_x[:, None] - cross).clamp_min(0.0)


def _update(joint: _Joint, log_enc: torch.Tensor, beta: float) -> torch.Tensor:
    """One pass of the self-consistent equations: the new log p(z|x) (|X|, K)."""
    log_pz, log_py_z, empty = _consistent(joint, log_enc)
    kl = _kl_to_clusters(joint, log_py_z)
    kl = torch.where(empty[None, :], torch.full_like(kl, math.inf), kl)
    # subtracting each row's smallest KL leaves the softmax unchanged and keeps a tiny
    # beta finite
    kl = kl - kl.min(dim=1, keepdim=True).values
    if beta > 0:
        scores = log_pz[None, :] - kl / beta  # beta_IB = 1 / beta
        return torch.log_softmax(scores, dim=1)
    # beta = 0 (beta_IB = infinity): hard assignment to the nearest used cluster
    best = kl.argmin(dim=1)
    log_enc = torch.full_like(kl, -math.inf)
    return log_enc.scatter(1, best[:, None], 0.0)


def _measures(
    joint: _Joint, log_enc: torch.Tensor, beta: float
) -> tuple[float, float, float]:
    """I(X;Z), I(Z;Y) and the Lagrangian H(Y|Z) + beta I(X;Z), all in bits."""
    enc = log_enc.exp()
    enc = enc / enc.sum(dim=1, keepdim=True)
    p_xz = joint.p_x[:, None] * enc
    p_zy = enc.T @ joint.p_xy
    i_xz = _mi_bits(p_xz)
    i_zy = _mi_bits(p_zy)
    return i_xz, i_zy, (joint.h_y - i_zy) + beta * i_xz


def _check_init(
    init: Any, n_x: int, n_clusters: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    t = as_tensor(init, name="init", ndim=2).detach().to(device=device, dtype=dtype)
    if tuple(t.shape) != (n_x, n_clusters):
        raise ValueError(
            f"init must be an encoder p(z|x) of shape ({n_x}, {n_clusters}); got "
            f"{tuple(t.shape)}"
        )
    if bool((t < 0).any()):
        raise ValueError(
            "init must be a conditional distribution p(z|x) (entries >= 0)"
        )
    worst = float((t.sum(dim=1) - 1).abs().max())
    if worst > 1e-4:
        raise ValueError(
            "init's rows must sum to 1 (a conditional distribution p(z|x)); got sums "
            f"off by up to {worst:.4g}"
        )
    return torch.log(t / t.sum(dim=1, keepdim=True))


def _run(
    joint: _Joint, log_enc: torch.Tensor, beta: float, max_iter: int, tol: float
) -> tuple[torch.Tensor, list[float], int, bool]:
    history = [_measures(joint, log_enc, beta)[2]]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        log_enc = _update(joint, log_enc, beta)
        history.append(_measures(joint, log_enc, beta)[2])
        if history[-2] - history[-1] <= tol:
            converged = True
            break
    return log_enc, history, n_iter, converged


def _result(
    joint: _Joint,
    log_enc: torch.Tensor,
    history: list[float],
    n_iter: int,
    converged: bool,
    beta: float,
    out_dtype: torch.dtype,
) -> IBResult:
    i_xz, i_zy, _ = _measures(joint, log_enc, beta)
    log_pz, log_py_z, empty = _consistent(joint, log_enc)
    n_y = joint.p_xy.shape[1]
    decoder = torch.where(
        empty[:, None], torch.full_like(log_py_z, 1.0 / n_y), log_py_z.exp()
    )
    decoder = decoder / decoder.sum(dim=1, keepdim=True)
    enc = log_enc.exp()
    enc = enc / enc.sum(dim=1, keepdim=True)
    return IBResult(
        encoder=enc.to(out_dtype),
        marginal=log_pz.exp().to(out_dtype),
        decoder=decoder.to(out_dtype),
        i_xz=i_xz,
        i_zy=i_zy,
        lagrangian=torch.tensor(
            history, dtype=_work_dtype(enc.device), device=enc.device
        ),
        n_iter=n_iter,
        converged=converged,
        beta=beta,
    )


def information_bottleneck(
    p_xy: Any,
    beta: float,
    n_clusters: int,
    *,
    max_iter: int = 1000,
    tol: float = 1e-10,
    init: Any = None,
    random_state: Any = None,
) -> IBResult:
    """Solve the discrete information bottleneck by iterating Tishby's self-consistent
    equations.

    Minimises L_β = H(Y | Z) + β I(X; Z) (bits) over encoders
    p(z | x) with ``n_clusters`` values of z, where β is the **book's**
    rate weight, β = 1 / β_IB for Tishby's
    min I(X; Z) - β_IB I(Z; Y). Each iteration applies, in log space,

        p(z) = Σ_x p(x) p(z | x), p(y | z) = 1/p(z) Σ_x p(x, y) p(z | x), p(z | x) ∝
        p(z) exp (-1/β KL (p(y | x) ‖ p(y | z)))

    (KL in nats). ``beta = 0`` is the limit β_IB → ∞: each
    x goes to its nearest cluster in KL (a hard, k-means-like clustering). The
    iterations never increase L_β (see the module docstring); they stop when it falls by
    less than ``tol`` bits in one iteration, or after ``max_iter``.

    Computation is in float64 on ``p_xy``'s device (float32 on Apple's MPS).

    Parameters
    ----------
    p_xy : (|X|, |Y|) tensor or array-like
        The joint distribution: non-negative entries summing to one.
    beta : float
        The book's rate weight β ≥ 0 (``1 / beta_IB``).
    n_clusters : int
        The number K ≥ 1 of values of z.
    max_iter : int
        The largest number of iterations.
    tol : float
        Stop when the Lagrangian falls by less than ``tol`` bits in one iteration.
    init : (|X|, K) tensor or array-like, optional
        A starting encoder p(z | x) (warm start); rows must sum to one. By default a
        random, strictly positive encoder breaks the symmetry between clusters.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md): the random start (unused
        with ``init``). ``None`` follows ``statlearn.seed_everything``. Draws on the
        CPU, so a seed gives the same start on every device.

    Returns
    -------
    IBResult
        ``encoder`` (|X|, K), ``marginal`` (K,), ``decoder`` (K, |Y|), ``i_xz`` and
        ``i_zy`` (bits), ``lagrangian`` (per iteration, bits), ``n_iter``, ``converged``
        and ``beta``. The encoder comes back in ``p_xy``'s floating dtype. Outcomes of
        ``y`` with zero probability are dropped from ``decoder``.

    Raises
    ------
    ValueError
        If ``p_xy`` is not a 2-D joint distribution, ``beta`` is negative or not finite,
        ``n_clusters < 1``, or ``init`` is not an encoder of the right shape.

    Examples
    --------
    >>> import torch
    >>> p_xy = torch.tensor([[0.4, 0.1], [0.1, 0.4]], dtype=torch.float64)
    >>> res = information_bottleneck(p_xy, beta=0.1, n_clusters=2, random_state=0)
    >>> bool(res.lagrangian.diff().max() <= 1e-12)
    True
    """
    t = _check_joint(p_xy)
    b = _check_beta(beta)
    k = check_int(n_clusters, "n_clusters", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_positive(tol, "tol", strict=False)
    dtype = _work_dtype(t.device)
    joint = _Joint(t, dtype)
    if init is None:
        gen = as_generator(random_state)
        log_enc = _random_log_encoder(
            t.shape[0], k, dtype=dtype, device=t.device, generator=gen
        )
    else:
        log_enc = _check_init(init, t.shape[0], k, dtype, t.device)
    log_enc, history, n_iter, converged = _run(joint, log_enc, b, max_iter, tol)
    return _result(joint, log_enc, history, n_iter, converged, b, t.dtype)


def information_curve(
    p_xy: Any,
    betas: Sequence[float] | torch.Tensor,
    n_clusters: int,
    *,
    max_iter: int = 1000,
    tol: float = 1e-10,
    n_init: int = 1,
    perturbation: float = 0.05,
    random_state: Any = None,
) -> InformationCurve:
    """Trace the information curve by deterministic annealing over the book's β.

    The betas are visited from the largest (strong compression, the trivial solution) to
    the smallest (little compression). Each solution starts from the previous encoder
    mixed with a random one, (1 - ε) p_prev(z | x) + ε p_rand(z | x) with ε =
    ``perturbation``, so that clusters can split at a phase transition; it also runs
    ``n_init`` random starts and keeps the solution with the lowest Lagrangian.

    Parameters
    ----------
    p_xy : (|X|, |Y|) tensor or array-like
        The joint distribution.
    betas : sequence of float or (B,) tensor
        The book's β values (``>= 0``), in any order.
    n_clusters : int
        The number K of values of z.
    max_iter, tol : int, float
        Passed to :func:`information_bottleneck` for every β.
    n_init : int
        Random starts per β besides the warm start (``>= 0``; the first β
        always gets at least one).
    perturbation : float
        The weight ε ∈ [0, 1] of the random encoder mixed into each warm start.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md): resolved once, it draws
        every random start and perturbation of the sweep. ``None`` follows
        ``statlearn.seed_everything``. Draws on the CPU, so a seed gives the same
        starts on every device.

    Returns
    -------
    InformationCurve
        ``betas``, ``i_xz``, ``i_zy``, ``lagrangian`` (B,), ``encoders`` (B, |X|, K), in
        the order of ``betas``, and ``i_xy``.

    Raises
    ------
    ValueError
        If ``p_xy`` is not a joint distribution, a beta is negative or not finite,
        ``betas`` is empty, or ``perturbation`` is outside [0, 1].
    """
    t = _check_joint(p_xy)
    b_all = (
        as_tensor(betas, name="betas", ndim=(0, 1), dtype=torch.float64)
        .detach()
        .cpu()
        .reshape(-1)
    )
    b_list = [_check_beta(b) for b in b_all.tolist()]
    k = check_int(n_clusters, "n_clusters", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_positive(tol, "tol", strict=False)
    n_init = check_int(n_init, "n_init", minimum=0)
    eps = check_positive(perturbation, "perturbation", strict=False)
    if eps > 1:
        raise ValueError(f"perturbation must be in [0, 1]; got {eps}")
    dtype = _work_dtype(t.device)
    joint = _Joint(t, dtype)
    gen = as_generator(random_state)
    n_x = t.shape[0]

    results: dict[int, IBResult] = {}
    prev: torch.Tensor | None = None  # log encoder of the previous beta
    for idx in sorted(range(len(b_list)), key=lambda i: -b_list[i]):
        b = b_list[idx]
        starts = []
        if prev is not None:
            rand = _random_log_encoder(
                n_x, k, dtype=dtype, device=t.device, generator=gen
            ).exp()
            starts.append(torch.log((1 - eps) * prev.exp() + eps * rand))
        for _ in range(max(n_init, 1 if prev is None else 0)):
            starts.append(
                _random_log_encoder(n_x, k, dtype=dtype, device=t.device, generator=gen)
            )
        best = None
        for start in starts:
            log_enc, history, n_iter, converged = _run(joint, start, b, max_iter, tol)
            if best is None or history[-1] < best[1][-1]:
                best = (log_enc, history, n_iter, converged)
        prev = best[0]
        results[idx] = _result(joint, *best, b, t.dtype)

    order = range(len(b_list))

    def curve(values: list[float]) -> torch.Tensor:  # on the joint's device
        return torch.tensor(values, dtype=dtype, device=t.device)

    return InformationCurve(
        betas=curve(b_list),
        i_xz=curve([results[i].i_xz for i in order]),
        i_zy=curve([results[i].i_zy for i in order]),
        lagrangian=torch.stack([results[i].lagrangian[-1] for i in order]),
        encoders=torch.stack([results[i].encoder for i in order]),
        i_xy=joint.i_xy,
    )
