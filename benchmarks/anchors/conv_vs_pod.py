"""Convolutional AE and VAE against POD on simulated fields (Lee & Carlberg 2020).

Lee & Carlberg found that a convolutional autoencoder with as many latent variables as
the problem's intrinsic dimension reconstructs a moving shock far better than POD with
as many modes. This fits POD and the convolutional networks with the estimators'
defaults, setting only ``n_components``, ``architecture``, ``input_shape`` (the
dataset's grid) and ``max_epochs``, and prints each relative test error
``||X - X_hat||_F / ||X||_F`` and its ratio to POD's.

    python benchmarks/anchors/conv_vs_pod.py burgers --k 3 --epochs 300
    python benchmarks/anchors/conv_vs_pod.py cylinder --k 2 4 8 --epochs 300 --methods AE VAE
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from dimred import AE, POD, VAE
from dimred.datasets import load_dataset

METHODS = {"AE": AE, "VAE": VAE}


def relative_error(model, X: np.ndarray) -> float:
    residual = X - model.inverse_transform(model.transform(X))
    return float(np.linalg.norm(residual) / np.linalg.norm(X))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a dataset with a field_shape: burgers, cylinder")
    parser.add_argument("--k", type=int, nargs="+", default=[3])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--methods", nargs="+", default=["AE"], choices=sorted(METHODS))
    args = parser.parse_args()

    data = load_dataset(args.dataset)
    grid = tuple(data.field_shape)
    rows = []
    for k in args.k:
        pod = relative_error(POD(n_components=k).fit(data.X_train), data.X_test)
        for name in args.methods:
            for seed in args.seeds:
                start = time.perf_counter()
                model = METHODS[name](n_components=k, architecture="conv", input_shape=grid,
                                      max_epochs=args.epochs, random_state=seed)
                model.fit(data.X_train)
                error = relative_error(model, data.X_test)
                rows.append({"dataset": args.dataset, "k": k, "method": f"conv {name}",
                             "seed": seed, "epochs": args.epochs, "relative_error": error,
                             "pod_relative_error": pod, "ratio_to_pod": error / pod,
                             "fit_seconds": time.perf_counter() - start,
                             "n_parameters": model.n_parameters_})
                print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
