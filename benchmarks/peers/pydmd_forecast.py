"""Peer: dimred's forecast task (POD codes, PyDMD's DMD on them) beside PyDMD's DMD at
the same rank on the cylinder's raw training snapshots, forecasting the 48 test
snapshots from the last training snapshot.

PyDMD: ``DMD(svd_rank=r).fit(X_train.T)``, then ``DMD.predict`` applied once per step
from the last training snapshot. dimred: ``POD(n_components=r, center=False)`` fitted on
the training snapshots but the last (the snapshots PyDMD's SVD sees), then
``Forecast("dmd")`` on its codes. The two are one model in two coordinates: the
forecasts must agree to 1e-6 relative (exit 1 otherwise). dimred's default, POD on
every training snapshot with the mean removed, is printed beside them.

    nox -s peer_pydmd
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from pydmd import DMD

from dimred import POD
from dimred.datasets import load_dataset
from dimred.tasks import Forecast


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[2, 4, 8, 12, 20])
    arguments = parser.parse_args()
    data = load_dataset("cylinder")
    X_train = np.asarray(data.X_train, dtype=np.float64)
    X_test = np.asarray(data.X_test, dtype=np.float64)
    worst = 0.0
    print("| r | PyDMD forecast error | dimred, PyDMD's setting | relative difference | "
          "PyDMD s | dimred s | dimred default (centred POD) |")
    print("|---|---|---|---|---|---|---|")
    for rank in arguments.ranks:
        start = time.perf_counter()
        dmd = DMD(svd_rank=rank).fit(X_train.T)
        state, theirs = X_train[-1][:, None], []
        for _ in range(len(X_test)):
            state = dmd.predict(state).real
            theirs.append(state[:, 0])
        theirs = np.array(theirs)
        their_seconds = time.perf_counter() - start
        start = time.perf_counter()
        pod = POD(n_components=rank, center=False).fit(X_train[:-1])
        ours = pod.inverse_transform(Forecast("dmd").roll(pod.transform(X_train), len(X_test)))
        our_seconds = time.perf_counter() - start
        difference = float(np.linalg.norm(ours - theirs) / np.linalg.norm(theirs))
        worst = max(worst, difference)
        default = Forecast("dmd").run(POD(n_components=rank).fit(X_train), data).metrics
        error = lambda forecast: np.linalg.norm(X_test - forecast) / np.linalg.norm(X_test)  # noqa: E731
        print(f"| {rank} | {error(theirs):.4g} | {error(ours):.4g} | {difference:.1e} | "
              f"{their_seconds:.2f} | {our_seconds:.2f} | {default['forecast_error']:.4g} |",
              flush=True)
    print(f"largest relative difference over r: {worst:.2e}")
    return 0 if worst <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
