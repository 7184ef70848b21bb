"""Cells as tasks on a Dask cluster: a LocalCluster, or any scheduler by address.

Each task is one cell, claimed on the store before it starts (by the work it runs): a task
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

from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from dimred.benchmark._suite import Cell
from dimred.benchmark._tracking import TrackingError
from dimred.schema import Tag


def execute(cells: list[Cell], work: Callable[..., tuple[str, str]], *, address: str,
            label: str, progress: bool) -> dict[str, tuple[str, str]]:
    """Run ``work(cell, tags=...)`` for each cell as a Dask task; returns
    ``{run_name: (outcome, message)}``.

    ``work`` must pickle by reference (a module-level function, or a
    :func:`functools.partial` of one over picklable values): it is what each task runs,
    and this module never imports the runner. ``address`` is ``"local:N"`` (or
    ``"local"``) for a LocalCluster of N single-threaded worker processes, each pinned
    to its share of the cores, or a running scheduler's address (``tcp://host:8786``).
    """
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address == "local" or address.startswith("local:"):
        n_workers = int(address.partition(":")[2] or os.cpu_count() or 1)
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
        client = Client(address)
    try:
        workers = client.scheduler_info()["workers"].values()
        slots_per_host = Counter()
        for info in workers:
            slots_per_host[info["host"]] += info["nthreads"]
        futures = {
            client.submit(_task, work, cell, dict(slots_per_host),
                          key=f"cell-{cell.config_hash}", pure=False): cell
            for cell in cells
        }
        outcomes = {}
        with tqdm(total=len(cells), desc=f"{label} on {address}", unit="cell",
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


def _task(work: Callable[..., tuple[str, str]], cell: Cell,
          slots_per_host: dict[str, int]) -> tuple[str, str]:
    import dask
    import torch
    from distributed import get_worker

    worker = get_worker()
    host = worker.address.rpartition("://")[2].rpartition(":")[0]
    threads = max(1, (os.cpu_count() or 1) // max(1, slots_per_host.get(host, 1)))
    torch.set_num_threads(threads)
    # A streamed data set is dask arrays over its file: computed inside this task with
    # the worker's scheduler, each block would wait for a thread of the worker that the
    # task itself holds (a one-thread worker never gets it). The cell is the unit of
    # parallelism: its blocks are read in this thread.
    with threadpool_limits(limits=threads), dask.config.set(scheduler="synchronous"):
        return work(cell, tags={Tag.WORKER: worker.address, Tag.THREADS: str(threads)})
