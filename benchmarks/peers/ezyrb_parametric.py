"""Peer: dimred's parametric task beside EZyRB 1.3.3's POD-RBF and POD-GPR, on
dimred's Burgers split (a 4 x 4 grid of (mu_1, mu_2) to train, two off-grid mu to
test, 100 snapshots each; the regression's inputs are (mu_1, mu_2, t)).

For each k it prints EZyRB's relative test error (``ReducedOrderModel.test_error``'s
definition is a mean of per-snapshot relative errors; both columns here are dimred's
Frobenius ||X - X_hat|| / ||X||, computed on each library's predicted fields), the time
each took, and the largest difference between the two libraries' predicted fields,
relative to the fields' norm. It fails (exit 1) when POD-RBF's differ by more than 1e-6.

The settings that make them equal: EZyRB's POD does not subtract the mean snapshot
(dimred's ``POD(center=False)``), and its RBF neither rescales the inputs
(``Parametric(scale_inputs=False)``) nor changes scipy's thin-plate spline (epsilon 1,
degree 1, no smoothing), which are also dimred's defaults. dimred's own defaults centre
the snapshots and map each input to [0, 1]: both are printed, as dimred runs them. The
GPR columns fit the kernel's hyper-parameters once, without restarts (EZyRB's default
restarts its optimizer 20 times; on 1600 points that is minutes per k).

EZyRB is never a dependency of dimred; it lives in the nox session's environment:

    nox -s peer_ezyrb
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from ezyrb import GPR, POD, RBF, Database, ReducedOrderModel

from dimred import POD as DimredPOD
from dimred.datasets import load_dataset
from dimred.tasks import Parametric


def relative(X, estimate) -> float:
    return float(np.linalg.norm(X - estimate) / np.linalg.norm(X))


def ezyrb_fields(train, test, X_train, k, approximation):
    rom = ReducedOrderModel(Database(train, X_train), POD("svd", rank=k), approximation)
    rom.fit()
    return np.asarray(rom.predict(test))


def dimred_fields(task: Parametric, data, k, center: bool):
    pod = DimredPOD(n_components=k, center=center).fit(data.X_train)
    codes = task.predict_codes(pod.transform(data.X_train), data)
    return pod.inverse_transform(codes), task.run(pod, data).metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    arguments = parser.parse_args()
    data = load_dataset("burgers")
    as_ezyrb = Parametric("rbf", scale_inputs=False)
    train, test = as_ezyrb.inputs(data, "train"), as_ezyrb.inputs(data, "test")
    X_test, worst = data.X_test, 0.0
    print("| k | EZyRB POD-RBF | dimred, EZyRB's settings | max difference | EZyRB s | "
          "dimred s | EZyRB POD-GPR | dimred defaults: RBF | GPR |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k in arguments.ks:
        start = time.perf_counter()
        theirs = ezyrb_fields(train, test, data.X_train, k, RBF())
        their_seconds = time.perf_counter() - start
        start = time.perf_counter()
        ours, _ = dimred_fields(as_ezyrb, data, k, center=False)
        our_seconds = time.perf_counter() - start
        difference = float(np.abs(ours - theirs).max() / np.linalg.norm(X_test, axis=1).max())
        worst = max(worst, float(np.linalg.norm(ours - theirs) / np.linalg.norm(X_test)))
        gpr = ezyrb_fields(train, test, data.X_train, k, GPR(optimization_restart=0))
        _, rbf_default = dimred_fields(Parametric("rbf"), data, k, center=True)
        _, gpr_default = dimred_fields(Parametric("gpr"), data, k, center=True)
        print(f"| {k} | {relative(X_test, theirs):.4g} | {relative(X_test, ours):.4g} | "
              f"{difference:.1e} | {their_seconds:.2f} | {our_seconds:.2f} | "
              f"{relative(X_test, gpr):.4g} | {rbf_default['rom_error']:.4g} | "
              f"{gpr_default['rom_error']:.4g} |", flush=True)
    print(f"largest ||dimred - EZyRB|| / ||X_test|| over k: {worst:.2e}")
    return 0 if worst <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
