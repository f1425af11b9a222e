"""vbgui: explore variational Bayesian fits of models of neural data."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vbgui")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"
