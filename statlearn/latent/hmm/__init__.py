"""Hidden Markov models: forward-backward, Viterbi and Baum-Welch (chapter 2).

A hidden Markov model is a mixture whose component depends on the previous one: a Markov
chain of hidden states ``z_t`` with initial distribution ``pi`` (``startprob_``) and
transition matrix ``A`` (``transmat_``), and an emission ``p(x_t | z_t)`` per state.
Inference is the forward-backward algorithm of Baum
et al. (1970) (tutorial: Rabiner, 1989), decoding is the algorithm of Viterbi (1967),
and fitting is Baum-Welch, i.e. EM (Dempster, Laird and Rubin, 1977) with
forward-backward as the E-step; long sequences use the parallel scan of Sarkka and
Garcia-Fernandez (2021).

Three modules:

* :mod:`~statlearn.latent.hmm.inference`, what chapter 2 teaches: ``forward``,
  ``backward``, ``posteriors`` and ``viterbi`` in log space on a padded batch of
  sequences ``log_emission : (N, T, K)`` with ``lengths`` or a left-aligned ``mask``,
  each with a sequential path (a loop over time, batched over sequences) and a parallel
  one (``method="scan"``, O(log T) depth);
* :mod:`~statlearn.latent.hmm.models`, the estimators ``CategoricalHMM`` and
  ``GaussianHMM`` (hmmlearn's contract) and their ``ConvergenceMonitor``;
* ``_fast``, the speed paths of the models' E-step and scoring (rescaled probability
  space), which compute the same numbers as the log-space functions.
"""

from statlearn.latent.hmm.inference import (
    ForwardResult,
    Posteriors,
    ViterbiResult,
    backward,
    forward,
    posteriors,
    viterbi,
)
from statlearn.latent.hmm.models import (
    CategoricalHMM,
    ConvergenceMonitor,
    GaussianHMM,
)

__all__ = [
    "forward",
    "backward",
    "posteriors",
    "viterbi",
    "ForwardResult",
    "Posteriors",
    "ViterbiResult",
    "CategoricalHMM",
    "GaussianHMM",
    "ConvergenceMonitor",
]
