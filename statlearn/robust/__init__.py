"""Part III: adversarial robustness (attacks, defenses, randomized smoothing).

Names are imported lazily from their modules on first use.
"""

from statlearn._lazy import lazy_exports

_EXPORTS = {
    "attacks": [
        "fgsm",
        "pgd",
        "cw_l2",
        "cw_l2_details",
        "CWResult",
        "robust_accuracy",
        "margin_loss",
        "bpda",
        "EOT",
    ],
    "defenses": [
        "adversarial_transform",
        "tempered_cross_entropy",
        "soft_labels",
        "defensive_distillation",
        "Distillation",
        "TemperedLoss",
        "bit_depth",
        "median_filter",
        "FeatureSqueezing",
    ],
    "theory": [
        "sample_gaussian_model",
        "averaging_learner",
        "sample_averaging_learner",
        "linear_standard_error",
        "linear_robust_error",
        "samples_needed",
    ],
    "features": ["relabel_adversarially", "invert_representation"],
    "smoothing": [
        "Smooth",
        "ABSTAIN",
        "certified_accuracy",
        "lower_confidence_bound",
        "binomial_pvalue",
        "noise_augmentation",
    ],
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
