"""Anchor: deep autoencoder test squared error per image on MNIST (Hinton & Salakhutdinov 2006).

Hinton & Salakhutdinov report 3.00 squared error per test image for a 784-1000-500-250-30
autoencoder pretrained as a stack of RBMs. This trains the same architecture from a
random start on the full training set (model selection on a held-out validation split
of it) and prints the test figure; ``--architecture conv`` trains a convolutional AE
at the same latent size instead.

    python benchmarks/anchors/ae_mnist.py [--epochs 50] [--activation logistic]
        [--weight-decay 0.2] [--architecture mlp|conv] [--conv-channels 16 32 64]
        [--hidden 256 128] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from dimred import AE
from dimred.datasets import load_mnist

HINTON_SALAKHUTDINOV_2006 = 3.00  # squared error per test image, 784-1000-500-250-30


def squared_error_per_image(model: AE, X: np.ndarray) -> float:
    """Squared error summed over the 784 pixels, averaged over the images."""
    return float(((model.inverse_transform(model.transform(X)) - X) ** 2).sum(axis=1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--architecture", default="mlp", choices=["mlp", "conv"])
    parser.add_argument("--conv-channels", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--hidden", type=int, nargs="*", default=None,
                        help="dense widths (default: 1000 500 250 for mlp, 256 128 for conv)")
    parser.add_argument("--output-activation", default="sigmoid", choices=["sigmoid", "identity"])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--activation", default="relu")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = load_mnist()
    if args.architecture == "mlp":
        shape = {"hidden_layer_sizes": tuple(args.hidden or (1000, 500, 250))}
    else:
        shape = {"architecture": "conv", "input_shape": (1, 28, 28),
                 "conv_channels": tuple(args.conv_channels),
                 "hidden_layer_sizes": tuple(args.hidden or (256, 128))}
    model = AE(
        n_components=args.k,
        **shape,
        activation=args.activation,
        output_activation=args.output_activation,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        # Model selection: 10% of the training images are held out, and the weights of
        # the epoch with the lowest validation error are kept (tol=0, and patience
        # longer than the run, so no epoch is skipped for a small gain).
        early_stopping=True,
        n_iter_no_change=args.epochs,
        tol=0.0,
        random_state=args.seed,
        verbose=True,
    )
    start = time.perf_counter()
    model.fit(data.X_train)
    fit_seconds = time.perf_counter() - start
    n_pixels = data.X_train.shape[1]
    validation_curve = [-score * n_pixels for score in model.validation_scores_]
    result = {
        "architecture": args.architecture,
        "k": args.k,
        **{name: list(value) for name, value in shape.items() if name != "architecture"},
        "epochs": args.epochs,
        "best_epoch": int(np.argmin(validation_curve)) + 1,
        "activation": args.activation,
        "output_activation": args.output_activation,
        "weight_decay": args.weight_decay,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "threads": args.threads,
        "n_parameters": model.n_parameters_,
        "validation_sse_per_image": [round(v, 3) for v in validation_curve],
        "train_sse_per_image": squared_error_per_image(model, data.X_train),
        "test_sse_per_image": squared_error_per_image(model, data.X_test),
        "fit_seconds": fit_seconds,
        "hinton_salakhutdinov_2006": HINTON_SALAKHUTDINOV_2006,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
