"""The MLflow UI's first view of a suite: its cell runs as a table, with the columns a
comparison needs.

MLflow 3 opens an experiment on its GenAI overview, shows nested runs under one
collapsed parent row (dimred's cell runs are therefore not nested), and picks three
attribute columns. Two experiment tags, which
the UI reads, change that: ``mlflow.experimentKind`` selects its model-training view,
and a shared view state (the UI's own "share" mechanism: a JSON tag named
``mlflow.sharedViewState.<key>``, opened by ``?viewStateShareKey=<key>``) filters the
table to the cell runs and chooses its columns.
"""

from __future__ import annotations

import json

from mlflow.tracking import MlflowClient

from dimred.schema import CELL_KIND, Metric, Param, Tag

#: The experiment kind of MLflow's model-training (not GenAI) view.
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")

#: Share key of the comparison view.
VIEW_KEY = "dimred-comparison"
_VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"

#: The table's columns: what a cell is, then what it measured.
VIEW_PARAMS = (Param.METHOD, Param.DATASET, Param.N_COMPONENTS, Param.SEED)
VIEW_METRICS = (Metric.TEST_MSE, Metric.TEST_RELATIVE_ERROR, Metric.TEST_ELBO,
                Metric.FIT_SECONDS)


def view_tags() -> dict[str, str]:
    """The experiment tags that make the comparison the UI's first view."""
    columns = ([f"params.`{name}`" for name in VIEW_PARAMS]
               + [f"metrics.`{name}`" for name in VIEW_METRICS])
    state = {
        "searchFilter": f"tags.`{Tag.KIND}` = '{CELL_KIND}'",
        "orderByKey": "attributes.start_time",
        "orderByAsc": True,
        "selectedColumns": columns,
        "columnOrder": ["attributes.`Run Name`", *columns],
    }
    return {EXPERIMENT_KIND[0]: EXPERIMENT_KIND[1], _VIEW_TAG: json.dumps(state)}


def comparison_url(tracking_uri: str, experiment: str | None) -> str:
    """The UI path (``/#/experiments/<id>/runs?...``) of ``experiment``'s comparison, or
    of the experiment run most recently when None; its view tags are set if missing.

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
    for key, value in view_tags().items():
        if chosen.tags.get(key) != value:
            client.set_experiment_tag(chosen.experiment_id, key, value)
    return (f"/#/experiments/{chosen.experiment_id}/runs"
            f"?viewStateShareKey={VIEW_KEY}&compareRunsMode=TABLE")
