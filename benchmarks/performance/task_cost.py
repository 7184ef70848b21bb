"""What the tasks add to a suite's time: the quick suite as it is, and with the
neighbours task on its labelled datasets (digits and the MNIST subset; the swiss roll
has no classes, and none of the three has parameters or times), each into a fresh
SQLite store, one after the other on this machine.

Prints the suites' wall times and their ratio, and from the run with tasks the tasks'
own seconds (``TASK/task_seconds``) over the rest of each cell's seconds, per dataset
and in all: a ratio measured within one run, which the machine's load does not skew.

    OMP_NUM_THREADS=1 DIMRED_DATA=../shared/data python benchmarks/performance/task_cost.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from dimred.benchmark import load_suite, run_suite
from dimred.report._runs import load_runs
from dimred.schema import Metric, Param

QUICK = Path(__file__).parents[1] / "suites" / "quick.toml"
TASKS = """
[tasks.neighbours]
task = "neighbours"
datasets = ["digits", "mnist"]
"""


def run(text: str, folder: Path) -> tuple[float, object]:
    suite = folder / "suite.toml"
    suite.write_text(text)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    start = time.perf_counter()
    summary = run_suite(load_suite(suite), tracking_uri=uri, progress=False)
    seconds = time.perf_counter() - start
    assert summary.ok, summary.report()
    return seconds, load_runs(uri, ["quick"])


if __name__ == "__main__":
    text = QUICK.read_text()
    with tempfile.TemporaryDirectory() as plain, tempfile.TemporaryDirectory() as tasked:
        plain_seconds, _ = run(text, Path(plain))
        task_seconds, runs = run(text + TASKS, Path(tasked))
    print(f"quick suite: {plain_seconds:.1f} s; with the neighbours task: "
          f"{task_seconds:.1f} s ({task_seconds / plain_seconds - 1:+.1%})")
    runs = runs[runs.status == "FINISHED"]
    spent = runs["neighbours/task_seconds"].fillna(0)
    rest = runs[Metric.CELL_SECONDS] - spent
    print("| dataset | cells | task s | rest of the cells s | task / rest |")
    print("|---|---|---|---|---|")
    groups = [*runs.groupby(Param.DATASET).groups.items(), ("all", runs.index)]
    for dataset, index in groups:
        task, other = spent[index].sum(), rest[index].sum()
        print(f"| {dataset} | {len(index)} | {task:.1f} | {other:.1f} | {task / other:.1%} |")
