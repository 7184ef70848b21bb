"""The neighbours task: what a machine-learning user keeps of the data in the codes.

Trustworthiness and continuity (Venna & Kaski 2006; ``sklearn.manifold.trustworthiness``)
say whether the codes' neighbourhoods are the data's; where the data has class labels,
the k-NN accuracy of the codes (van der Maaten, Postma & van den Herik 2009 compared
reducers by it) and a linear probe's accuracy say whether they keep the classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dimred.schema import TaskMetric
from dimred.tasks._base import Task, TaskResult, _are_classes


class Neighbours(Task):
    """Neighbourhoods and classes in the codes of the test rows.

    Parameters
    ----------
    n_neighbors : int, default=10
        The neighbourhood of trustworthiness and continuity.
    subsample : int, default=2000
        Test rows they are computed on (drawn once with ``random_state``): their cost is
        quadratic in the rows.
    knn : int, default=3
        Neighbours of the k-NN classifier, fitted on the training codes and scored on
        the test codes (3: LeCun's table's k-NN with L2, 3.09% error on MNIST's pixels).
    random_state : int, default=0
    """

    metrics = (TaskMetric.TRUSTWORTHINESS, TaskMetric.CONTINUITY, TaskMetric.KNN_ACCURACY,
               TaskMetric.PROBE_ACCURACY)

    def __init__(self, n_neighbors: int = 10, *, subsample: int = 2000, knn: int = 3,
                 random_state: int = 0):
        for name, value in (("n_neighbors", n_neighbors), ("subsample", subsample),
                            ("knn", knn)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.n_neighbors, self.subsample, self.knn = n_neighbors, subsample, knn
        self.random_state = random_state

    def run(self, reducer: Any, data: Any) -> TaskResult:
        X_test = np.asarray(data["X_test"])
        codes = reducer.transform(X_test)
        rows = np.random.default_rng(self.random_state).permutation(len(X_test))
        rows = np.sort(rows[: self.subsample])
        neighbours = min(self.n_neighbors, len(rows) // 2 - 1)
        metrics = {
            TaskMetric.TRUSTWORTHINESS: trustworthiness(X_test[rows], codes[rows],
                                                        n_neighbors=neighbours),
            TaskMetric.CONTINUITY: trustworthiness(codes[rows], X_test[rows],
                                                   n_neighbors=neighbours),
        }
        if data.get("y_train") is not None and _are_classes(data):
            train_codes = reducer.transform(data["X_train"])
            for name, classifier in (
                    (TaskMetric.KNN_ACCURACY, KNeighborsClassifier(self.knn)),
                    (TaskMetric.PROBE_ACCURACY, make_pipeline(
                        StandardScaler(), LogisticRegression(max_iter=1000)))):
                classifier.fit(train_codes, data["y_train"])
                metrics[name] = classifier.score(codes, data["y_test"])
        return TaskResult({name: float(value) for name, value in metrics.items()})
