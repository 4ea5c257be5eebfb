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
        "information_plane",
        "InformationPlane",
        "PLANE_ESTIMATORS",
    ],
    "bottleneck": [
        "information_bottleneck",
        "information_curve",
        "IBResult",
        "InformationCurve",
    ],
    "vib": ["StochasticClassifier", "VIB", "VIBLoss", "vib_loss"],
    "privacy": ["DVCLUB", "DVCLUBLoss", "fit_dvclub", "Leakage", "leakage"],
    "wyner": [
        "WynerModel",
        "WynerLoss",
        "wyner_loss",
        "rotated_mixture_pairs",
    ],
    "teb": [
        "TEB",
        "TEBLoss",
        "teb_loss",
        "GaussianPredictor",
        "PredictorLoss",
        "predictor_loss",
        "log_likelihood_gain",
        "linear_gaussian_streams",
        "linear_gaussian_transfer_entropy",
    ],
    "contrastive": [
        "random_shift",
        "random_erase",
        "gaussian_noise",
        "Augment",
        "vmf_log_normalizer",
        "vmf_mean_resultant_length",
        "vmf_log_prob",
        "vmf_sample",
        "vmf_kl",
        "nt_xent",
        "simclr_nt_xent",
        "residual_information",
        "ContrastiveNet",
        "ContrastiveLoss",
        "csimclr_loss",
    ],
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
