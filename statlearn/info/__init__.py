"""Part II: representations and information (measures, MI estimators, IB, VIB, ...).

Names are imported lazily from their modules on first use.
"""

from statlearn._lazy import lazy_exports

_EXPORTS = {
    "measures": [
        "entropy",
        "conditional_entropy",
        "kl_divergence",
        "mutual_information",
        "gaussian_mutual_information",
    ],
    "estimators": [
        "mi_binning",
        "mi_kde",
        "infonce",
        "nwj",
        "mine",
        "club",
        "correlated_gaussians",
        "SeparableCritic",
        "ConcatCritic",
        "ConditionalGaussian",
        "CriticLoss",
        "critic_objective",
        "train_critic",
        "evaluate_critic",
        "BOUNDS",
    ],
    "bottleneck": [
        "information_bottleneck",
        "information_curve",
        "IBResult",
        "InformationCurve",
    ],
    "vib": ["VIB", "VIBLoss", "vib_loss"],
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
