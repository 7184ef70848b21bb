"""Published figures that this project's runs are held against.

Each names the run that measures the same thing (estimator, latent size, binarisation,
metric on the full MNIST split); the report looks them up and prints both.
"""

from __future__ import annotations

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


#: The MNIST anchors: full 60000 / 10000 split.
MNIST = (
    PublishedFigure("PCA, k = 30: test squared error per image",
                    "Hinton & Salakhutdinov (2006)", 13.87, "PCA", 30, "False",
                    Metric.TEST_SSE_PER_SAMPLE),
    PublishedFigure("AE 784-1000-500-250-30: test squared error per image",
                    "Hinton & Salakhutdinov (2006)", 3.00, "AE", 30, "False",
                    Metric.TEST_SSE_PER_SAMPLE),
    PublishedFigure("VAE z = 50, binarised MNIST: test NLL, nats",
                    "Burda et al. (2015), k = 5000", 86.76, "VAE", 50, "dynamic",
                    Metric.TEST_LOG_LIKELIHOOD, sign=-1),
)
