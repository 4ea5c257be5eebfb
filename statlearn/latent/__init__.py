"""Part I: latent-variable models (mixtures and EM, hidden Markov models, the VAE,
diffusion).

Names are imported lazily from their modules on first use.
"""

from statlearn._lazy import lazy_exports

_EXPORTS = {
    "kmeans": ["KMeans"],
    "mixture": [
        "GaussianMixture",
        "BernoulliMixture",
        "ConvergenceWarning",
        "NotFittedError",
    ],
    "hmm": [
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
    ],
    "vae": [
        "VAE",
        "ELBO",
        "VAELoss",
        "reparameterize",
        "GaussianEncoder",
        "mlp_decoder",
        "mlp_vae",
        "AELoss",
        "Autoencoder",
        "corrupt",
        "mlp_autoencoder",
    ],
    "diffusion": [
        "DDPM",
        "DDPMLoss",
        "Trajectory",
        "linear_beta_schedule",
        "cosine_beta_schedule",
        "SinusoidalTimeEmbedding",
        "MLPDenoiser",
        "ConvDenoiser",
    ],
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
