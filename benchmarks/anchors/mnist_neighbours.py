"""Anchor of the neighbours task: 3-NN on MNIST's raw pixels (LeCun's table: 3.09% error
for k-NN with L2) beside PCA's codes at k = 30, 8 and 2, by ``Neighbours()``'s defaults
(trustworthiness and continuity at 10 neighbours on 2000 test rows, 3-NN and a
logistic probe on the codes). The identity reducer is scikit-learn's
``FunctionTransformer``.

    OMP_NUM_THREADS=1 python benchmarks/anchors/mnist_neighbours.py
"""

from __future__ import annotations

import time

from sklearn.preprocessing import FunctionTransformer

from dimred import PCA
from dimred.datasets import load_mnist
from dimred.tasks import Neighbours

if __name__ == "__main__":
    data = load_mnist()
    print("| codes | trustworthiness | continuity | 3-NN accuracy | probe accuracy | s |")
    print("|---|---|---|---|---|---|")
    for name, reducer in (("raw pixels", FunctionTransformer()),
                          *((f"PCA-{k}", PCA(n_components=k)) for k in (30, 8, 2))):
        start = time.perf_counter()
        metrics = Neighbours().run(reducer.fit(data.X_train), data).metrics
        values = " | ".join(f"{value:.4g}" for value in metrics.values())
        print(f"| {name} | {values} | {time.perf_counter() - start:.1f} |", flush=True)
