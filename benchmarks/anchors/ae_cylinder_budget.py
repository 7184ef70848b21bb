"""How many optimizer updates the AE needs on the cylinder wake at k = 2.

Fits ``AE(n_components=2)`` with the default network on the cylinder's 192 training
snapshots and prints the relative test error every 25 epochs (the test set is only
watched, through ``X_validation``: nothing here selects on it) and at the end. The
figures behind ``max_epochs=None``'s budget (docs/measurements.md):

    python benchmarks/anchors/ae_cylinder_budget.py --epochs 1000 --schedule cosine
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dimred import AE
from dimred.datasets import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--schedule", default="cosine", choices=["cosine", "constant"])
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_dataset("cylinder")
    X_test = data.X_test
    energy = float(np.sum(X_test.astype(np.float64) ** 2))
    start = time.perf_counter()

    def report(epoch: int, loss: float) -> None:  # loss: mean squared error per entry
        if (epoch + 1) % 25 == 0:
            error = np.sqrt(loss * X_test.size / energy)
            print(f"epoch {epoch + 1}: {error:.4f} ({time.perf_counter() - start:.0f} s)",
                  flush=True)

    model = AE(n_components=2, max_epochs=args.epochs, learning_rate=args.learning_rate,
               learning_rate_schedule=args.schedule, batch_size=args.batch_size,
               random_state=args.seed)
    model.fit(data.X_train, X_validation=X_test, epoch_callback=report)
    residual = X_test - model.inverse_transform(model.transform(X_test))
    print(f"final: {np.linalg.norm(residual) / np.linalg.norm(X_test):.4f} after "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
