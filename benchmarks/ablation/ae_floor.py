"""What holds the plain AE near 2e-3 relative error on the cylinder at k = 20?

One row per suspected cause: the AE of the scientific suite (batch 32, the default
budget of at least 2000 updates, seed 0) changed in one respect, its training and test
relative errors ``||X - X_hat||_F / ||X||_F`` on the cylinder's split (192 snapshots to
train, the last 48 in time to test), beside POD's at the same k.

    OMP_NUM_THREADS=1 python benchmarks/ablation/ae_floor.py --out ae_floor.jsonl
    python benchmarks/ablation/ae_floor.py --table ae_floor.jsonl

Each row is appended to ``--out`` as it finishes; a rerun skips the rows already there.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dimred import AE, POD
from dimred.arrays._streams import relative_error
from dimred.datasets import load_dataset

K = 20
BASE = dict(n_components=K, batch_size=32, random_state=0, device="cpu")


def lbfgs_finish(ae: AE, X: np.ndarray, iterations: int) -> AE:
    """Full-batch L-BFGS (strong Wolfe line search) from the trained weights, on the
    AE's own loss: the mean squared error in the network's standardised units."""
    network = ae.network_.train()
    rows = torch.tensor(X, dtype=torch.float32)
    optimizer = torch.optim.LBFGS(network.parameters(), lr=1, max_iter=iterations,
                                  history_size=50, line_search_fn="strong_wolfe",
                                  tolerance_grad=0, tolerance_change=0)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(network.decoder(network.encoder(rows)), rows)
        loss.backward()
        return loss

    optimizer.step(closure)
    network.eval()
    return ae


def rows() -> list[tuple[str, str, callable]]:
    """(name, what changed, fit(X_train) -> reducer)."""
    def ae(**changes):
        return lambda X: AE(**{**BASE, **changes}).fit(X)

    def then_lbfgs(iterations):
        return lambda X: lbfgs_finish(AE(**BASE).fit(X), X, iterations)

    return [
        ("pod", "POD, the reference (float32, as the data is stored)",
         lambda X: POD(n_components=K).fit(X)),
        ("baseline", "AE as in the scientific suite (lr 1e-3, cosine to 1%)", ae()),
        ("budget_x5", "five times the epochs", ae(max_epochs=1670)),
        ("constant_lr", "no decay of the learning rate", ae(learning_rate_schedule="constant")),
        ("lr_low", "learning rate 2e-4", ae(learning_rate=2e-4)),
        ("full_batch", "full batch (192 rows), same number of updates",
         ae(batch_size=192, max_epochs=2000)),
        ("wide", "hidden layers (1024, 512)", ae(hidden_layer_sizes=(1024, 512))),
        ("deep", "hidden layers (256, 256, 128)", ae(hidden_layer_sizes=(256, 256, 128))),
        ("tanh", "tanh instead of ReLU (smooth, not piecewise linear)", ae(activation="tanh")),
        ("lbfgs", "then 500 full-batch L-BFGS iterations", then_lbfgs(500)),
        ("standardised", "each feature standardised (StandardScaler), not one scale",
         lambda X: make_pipeline(StandardScaler(), AE(**BASE)).fit(X)),
        ("pod_float64", "POD of the (float32) fields computed in float64",
         lambda X: POD(n_components=K).fit(X.astype(np.float64))),
        ("pod_start", "init='pod': POD's linear path + a correction starting at zero",
         ae(init="pod")),
        ("pod_start_x5", "init='pod', five times the epochs", ae(init="pod", max_epochs=1670)),
    ]


def measure(out: Path, only: set[str] | None) -> None:
    data = load_dataset("cylinder")
    X, X_test = data.X_train, data.X_test
    done = {json.loads(line)["row"] for line in out.read_text().splitlines()} \
        if out.exists() else set()
    for name, what, fit in rows():
        if name in done or (only and name not in only):
            continue
        start = time.perf_counter()
        try:
            reducer = fit(X)
        except TypeError as error:  # an option this checkout does not have
            print(f"{name}: skipped ({error})")
            continue
        seconds = time.perf_counter() - start
        record = {
            "row": name, "what": what, "k": K, "seconds": round(seconds, 1),
            "train": relative_error(X, reducer.inverse_transform(reducer.transform(X))),
            "test": relative_error(X_test, reducer.inverse_transform(reducer.transform(X_test))),
            "epochs": getattr(reducer[-1] if hasattr(reducer, "steps") else reducer,
                              "n_iter_", None),
        }
        print(json.dumps(record), flush=True)
        with out.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


def table(path: Path) -> str:
    lines = ["| row | what changed | train rel. error | test rel. error | epochs | s |",
             "|---|---|---|---|---|---|"]
    for line in path.read_text().splitlines():
        r = json.loads(line)
        lines.append(f"| {r['row']} | {r['what']} | {r['train']:.3g} | {r['test']:.3g} | "
                     f"{r['epochs'] or ''} | {r['seconds']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("ae_floor.jsonl"))
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--table", type=Path)
    arguments = parser.parse_args()
    if arguments.table:
        print(table(arguments.table))
    else:
        measure(arguments.out, set(arguments.only or ()))
