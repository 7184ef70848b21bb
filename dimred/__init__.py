"""dimred: a comparative dimensionality-reduction benchmark.

Four methods under one scikit-learn contract (``fit`` / ``transform`` /
``inverse_transform`` / ``score`` in nats / ``reconstruction_error``):
:class:`POD`, :class:`PCA`, :class:`AE` and :class:`VAE`.
"""

from importlib.metadata import PackageNotFoundError, version

from dimred._ae import AE
from dimred._pca import PCA
from dimred._pod import POD
from dimred._vae import VAE

#: The methods by name, as suites and the runner refer to them.
ESTIMATORS = {"POD": POD, "PCA": PCA, "AE": AE, "VAE": VAE}

try:
    __version__ = version("dimred")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["AE", "ESTIMATORS", "PCA", "POD", "VAE", "__version__"]
