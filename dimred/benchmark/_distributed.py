"""Cells as tasks on a Dask cluster: a LocalCluster, or any scheduler by address.

Each task is one cell, claimed on the store before it starts (``run_cell``): a task
that Dask re-runs after its worker died finds the dead run (closing it as KILLED) and
runs the cell once more, and a cell that another process finished or is running is
left alone. So resume semantics and ``dimred.config_hash`` behave exactly as
in-process. Each task limits torch and the BLAS pools to its worker's share of the
host's cores, so that N workers on one host do not oversubscribe it.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from dimred.benchmark._suite import Cell
from dimred.benchmark._tracking import SuiteTracker, TrackingError

#: Each worker process loads a dataset once, whatever the number of its cells.
_DATASETS: dict[str, Any] = {}


def run_on_dask(cells: list[Cell], scheduler: str, run_cell: Callable, datasets: Callable,
                tracker: SuiteTracker, parent_id: str, data_home: str | Path | None,
                name: str, progress: bool) -> dict:
    """Run ``cells`` as Dask tasks; returns ``{run_name: (outcome, message)}``.

    The executor is handed what it runs, and never imports the runner: ``run_cell(cell,
    data, tracker, parent_id, progress, tags)`` runs one cell (a module-level function,
    so that it pickles by reference), and ``datasets(data_home)`` makes the per-worker
    dataset cache, called with a cell's dataset options.
    """
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local" or scheduler.startswith("local:"):
        n_workers = int(scheduler.partition(":")[2] or os.cpu_count() or 1)
        threads = str(max(1, (os.cpu_count() or 1) // n_workers))
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.ERROR,
            # Set before the worker starts, so that BLAS and OpenMP size their pools.
            env={"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
                 "MKL_NUM_THREADS": threads},
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        workers = client.scheduler_info()["workers"].values()
        slots_per_host = Counter()
        for info in workers:
            slots_per_host[info["host"]] += info["nthreads"]
        futures = {
            client.submit(_cell_task, cell, run_cell, datasets, tracker.uri,
                          tracker.experiment, parent_id, data_home, dict(slots_per_host),
                          key=f"cell-{cell.config_hash}", pure=False): cell
            for cell in cells
        }
        outcomes = {}
        with tqdm(total=len(cells), desc=f"{name} on {scheduler}", unit="cell",
                  disable=not progress) as bar:
            for future in as_completed(futures):
                cell = futures[future]
                try:
                    outcomes[cell.run_name] = future.result()
                except TrackingError:
                    raise
                except Exception as error:  # e.g. KilledWorker: the task killed workers
                    outcomes[cell.run_name] = ("failed", f"{type(error).__name__}: {error}")
                bar.update()
        return outcomes
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _cell_task(cell: Cell, run_cell: Callable, datasets: Callable, tracking_uri: str,
               experiment: str, parent_id: str, data_home,
               slots_per_host: dict[str, int]) -> tuple[str, str]:
    import torch
    from distributed import get_worker

    worker = get_worker()
    host = worker.address.rpartition("://")[2].rpartition(":")[0]
    threads = max(1, (os.cpu_count() or 1) // max(1, slots_per_host.get(host, 1)))
    torch.set_num_threads(threads)
    with threadpool_limits(limits=threads):
        tracker = SuiteTracker(tracking_uri, experiment)
        cache = _DATASETS.setdefault(str(data_home), datasets(data_home))
        return run_cell(cell, cache(cell.dataset_options), tracker, parent_id,
                        progress=False,
                        tags={"dimred.worker": worker.address, "dimred.threads": str(threads)})
