"""Published figures that this project's runs are held against.

Each names the run that measures the same thing (estimator, latent size, binarisation,
the network's hidden widths, metric on the full MNIST split); the report looks them up
and prints both.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from dimred.schema import Metric


@dataclass(frozen=True)
class PublishedFigure:
    """A published figure and how to find the run that measures it."""

    what: str
    source: str
    published: float
    estimator: str
    n_components: int
    binarize: str
    metric: Metric
    #: +1 when the metric is the figure, -1 when it is its negative (a log-likelihood
    #: against a published negative log-likelihood).
    sign: int = 1
    #: The published network's hidden widths, which a run's multilayer perceptron must
    #: have (another shape at the same k measures something else); None for PCA.
    hidden_layer_sizes: tuple[int, ...] | None = None

    def measured_by(self, hidden_layer_sizes: object, architecture: object) -> bool:
        """Whether a run with these logged parameters (strings as MLflow holds them, or
        missing) has the published network's shape."""
        if self.hidden_layer_sizes is None:
            return True
        if architecture not in ("mlp", None) or not isinstance(hidden_layer_sizes, str):
            return False
        try:
            logged = tuple(ast.literal_eval(hidden_layer_sizes))
        except (ValueError, SyntaxError, TypeError):
            return False
        return logged == self.hidden_layer_sizes


#: Estimator parameters the anchors match on, loaded with every run by the report.
NETWORK_PARAMS = ("hidden_layer_sizes", "architecture")


#: The MNIST anchors: full 60000 / 10000 split.
MNIST = (
    PublishedFigure("PCA, k = 30: test squared error per image",
                    "Hinton & Salakhutdinov (2006)", 13.87, "PCA", 30, "False",
                    Metric.TEST_SSE_PER_SAMPLE),
    PublishedFigure("AE 784-1000-500-250-30: test squared error per image",
                    "Hinton & Salakhutdinov (2006)", 3.00, "AE", 30, "False",
                    Metric.TEST_SSE_PER_SAMPLE, hidden_layer_sizes=(1000, 500, 250)),
    PublishedFigure("VAE z = 50, binarised MNIST: test NLL, nats",
                    "Burda et al. (2015), k = 5000", 86.76, "VAE", 50, "dynamic",
                    Metric.TEST_LOG_LIKELIHOOD, sign=-1, hidden_layer_sizes=(200, 200)),
)
