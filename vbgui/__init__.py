"""vbgui: explore variational Bayesian fits of models of neural data."""
from importlib.metadata import PackageNotFoundError, version

from vbgui import numba_cache

numba_cache.configure()

try:
    __version__ = version("vbgui")
except PackageNotFoundError:  # running from a source tree that is not installed, or frozen
    __version__ = "0.1.0"
