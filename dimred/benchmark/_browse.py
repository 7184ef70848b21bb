"""The MLflow UI's first view of a suite: its cell runs as a table, with the columns a
comparison needs, and charts of each measure against k, one line per method.

MLflow 3 opens an experiment on its GenAI overview, shows nested runs under one
collapsed parent row (dimred's cell runs are therefore not nested), picks three
attribute columns, and charts the first 10 runs' metrics as bars. Two experiment tags,
which the UI reads, change that: ``mlflow.experimentKind`` selects its model-training
view, and a shared view state (the UI's own "share" mechanism: a JSON tag named
``mlflow.sharedViewState.<key>``, opened by ``?viewStateShareKey=<key>``) filters the
runs to the cells, chooses the table's columns, groups the runs by dataset and method
(mean over seeds), and opens the charts on line charts whose steps are the latent sizes
(a cell logs its metrics at step k). The field names are those of MLflow's
``ExperimentPageUIState`` and ``RunsChartsLineCardConfig`` (its JavaScript), checked
against MLflow 3.x in a real browser.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mlflow.tracking import MlflowClient

from dimred.schema import CELL_KIND, HIGHER_IS_BETTER, Metric, Param, Tag, TaskMetric

#: The experiment kind of MLflow's model-training (not GenAI) view.
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")

#: Share key of the comparison view.
VIEW_KEY = "dimred-comparison"
_VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"

#: The table's columns: what a cell is, then what it measured.
VIEW_PARAMS = (Param.METHOD, Param.DATASET, Param.N_COMPONENTS, Param.SEED)
VIEW_METRICS = (Metric.TEST_MSE, Metric.TEST_RELATIVE_ERROR, Metric.TEST_ELBO,
                Metric.FIT_SECONDS)
#: The charts, each against k, on a log scale where the measure spans decades.
CHARTS = ((Metric.TEST_RELATIVE_ERROR, "log"), (Metric.TEST_MSE, "log"),
          (Metric.TEST_ELBO, "linear"), (Metric.FIT_SECONDS, "log"))
#: One line per dataset and method: the mean over its seeds.
GROUP_BY = (Param.DATASET, Param.METHOD)
_SECTION = "dimred-against-k"


def _line_chart(metric: str, scale: str) -> dict:
    return {
        "uuid": f"dimred-{metric}", "type": "LINE", "metricSectionId": _SECTION,
        "displayName": f"{metric} against k (mean over seeds)", "metricKey": metric,
        "selectedMetricKeys": [metric], "xAxisKey": "step", "useGlobalXaxisKey": False,
        "scaleType": scale, "xAxisScaleType": "log", "displayPoints": True,
        "lineSmoothness": 0, "useGlobalLineSmoothing": False, "runsCountToCompare": 100,
        "deleted": False, "isGenerated": False,
    }


def view_tags(task_metrics: Sequence[str] = ()) -> dict[str, str]:
    """The experiment tags that make the comparison the UI's first view; with a chart
    against k for each of ``task_metrics`` (``TASK/metric``, as the cells log them)."""
    charts = [*CHARTS, *((name, "linear" if name.rpartition("/")[2] in HIGHER_IS_BETTER
                          else "log") for name in task_metrics)]
    columns = ([f"params.`{name}`" for name in VIEW_PARAMS]
               + [f"metrics.`{name}`" for name in VIEW_METRICS])
    state = {
        "searchFilter": f"tags.`{Tag.KIND}` = '{CELL_KIND}'",
        "orderByKey": "attributes.start_time",
        "orderByAsc": True,
        "selectedColumns": columns,
        "columnOrder": ["attributes.`Run Name`", *columns],
        "groupBy": {"aggregateFunction": "average",
                    "groupByKeys": [{"mode": "param", "groupByData": name}
                                    for name in GROUP_BY]},
        "useGroupedValuesInCharts": True,
        "runsHiddenMode": "SHOW_ALL",
        "compareRunCharts": [_line_chart(metric, scale) for metric, scale in charts],
        "compareRunSections": [{"uuid": _SECTION, "name": "against k", "display": True,
                                "isReordered": False, "deleted": False,
                                "isGenerated": False}],
        "isAccordionReordered": True,  # our section first, MLflow's own after it
        "hideEmptyCharts": True,
    }
    return {EXPERIMENT_KIND[0]: EXPERIMENT_KIND[1], _VIEW_TAG: json.dumps(state)}


def comparison_url(tracking_uri: str, experiment: str | None) -> str:
    """The UI path (``/#/experiments/<id>/runs?...``) of ``experiment``'s comparison, or
    of the experiment run most recently when None; its view tags are set if missing,
    with a chart for each task metric its cells logged.

    Raises
    ------
    ValueError
        If the experiment does not exist, or the store holds none but ``Default``.
    """
    client = MlflowClient(tracking_uri)
    if experiment is None:
        found = [e for e in client.search_experiments() if e.name != "Default"]
        if not found:
            raise ValueError(f"{tracking_uri} holds no experiment yet; run `dimred bench`.")
        chosen = max(found, key=lambda e: e.last_update_time or 0)
    else:
        chosen = client.get_experiment_by_name(experiment)
        if chosen is None:
            known = sorted(e.name for e in client.search_experiments())
            raise ValueError(f"no experiment {experiment!r} in {tracking_uri}; it has {known}.")
    cells = client.search_runs([chosen.experiment_id], f"tags.`{Tag.KIND}` = '{CELL_KIND}'",
                               max_results=500)
    task_metrics = sorted({name for run in cells for name in run.data.metrics
                           if "/" in name and not name.endswith(f"/{TaskMetric.TASK_SECONDS}")})
    for key, value in view_tags(task_metrics).items():
        if chosen.tags.get(key) != value:
            client.set_experiment_tag(chosen.experiment_id, key, value)
    return (f"/#/experiments/{chosen.experiment_id}/runs"
            f"?viewStateShareKey={VIEW_KEY}&compareRunsMode=TABLE")
