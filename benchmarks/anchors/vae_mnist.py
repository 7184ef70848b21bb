"""Anchor: VAE test log-likelihood on dynamically binarised MNIST (Burda et al. 2015).

Burda et al. report 86.76 nats NLL for a 1-stochastic-layer VAE (z = 50, two hidden
layers of 200 tanh units, 3280 epochs). This trains the same architecture on a budget
this machine affords and prints the k = 5000 importance-weighted test estimate.

    python benchmarks/anchors/vae_mnist.py [--epochs 100] [--n-test 10000] [--threads 2]
                                          [--schedule burda]

``--schedule burda`` follows Burda et al.'s learning rate, 1e-3 · 10^(-i/7) for 3^i
epochs (i = 0..7, 3280 epochs in all), cut at ``--epochs``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from dimred import VAE
from dimred.datasets import load_mnist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--schedule", default="cosine", choices=["cosine", "constant", "burda"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = load_mnist()
    # The test set is binarised once, with a fixed seed, as is standard for this anchor.
    X_test = np.random.default_rng(0).binomial(1, data.X_test[: args.n_test]).astype(np.float32)
    vae = VAE(
        n_components=50,
        hidden_layer_sizes=(200, 200),
        activation="tanh",
        likelihood="bernoulli",
        dynamic_binarization=True,
        max_epochs=args.epochs,
        batch_size=100,
        learning_rate=1e-3,
        learning_rate_schedule=args.schedule,
        random_state=0,
        verbose=True,
    )
    start = time.perf_counter()
    vae.fit(data.X_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    elbo = vae.score_samples(X_test)
    log_likelihood = vae.log_likelihood(X_test, n_importance_samples=args.k, random_state=0)
    result = {
        "epochs": args.epochs,
        "schedule": args.schedule,
        "threads": args.threads,
        "n_test": len(X_test),
        "k": args.k,
        "test_elbo": float(elbo.mean()),
        "test_log_likelihood": float(log_likelihood.mean()),
        "test_nll": float(-log_likelihood.mean()),
        "fit_seconds": fit_seconds,
        "evaluation_seconds": time.perf_counter() - start,
        "burda_2015_nll": 86.76,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
