"""The names of the model choices, in a module light enough to import before the engine.

Presets and the window's forms need these names at start-up; importing them
from here keeps numba and scipy off the path to the first window.
"""
LIKELIHOOD_NAMES = ("poisson", "bernoulli", "gaussian")
FAMILY_NAMES = ("mean-field", "full-rank", "structured")
ESTIMATOR_NAMES = ("exact", "reparam")
