"""The names of the LDS model choices, light enough to import before the engine (no numba)."""
PATH_FAMILY_NAMES = ("structured-markov", "mean-field", "full-rank")
LDS_LIKELIHOOD_NAMES = ("poisson", "bernoulli", "gaussian")
MAX_LATENT_DIM = 100  # K^3 per bin: beyond this the structured E-step is no longer cheap, and no population needs it
