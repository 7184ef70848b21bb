"""``dimred report``: MLflow runs to a Markdown report with PNG figures beside it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from dimred import references
from dimred.figures._drawing import image_rows, latent_scatters
from dimred.report import _plots
from dimred.report._fields import field_section
from dimred.report._runs import (
    CELL,
    first_per_method,
    gallery_k,
    latest_finished,
    load_examples,
    load_runs,
    load_trials,
)
from dimred.report._tasks import task_section
from dimred.report._tuning import tuning_figure
from dimred.report._verdicts import mean_and_interval, verdict_table
from dimred.schema import Metric, Param

#: Leaderboard columns: (metric, header, format).
LEADERBOARD = (
    (Metric.TEST_MSE, "test MSE", "{:.4g}"),
    (Metric.TEST_RELATIVE_ERROR, "test rel. error", "{:.3g}"),
    (Metric.TEST_ELBO, "test log-lik. (exact or ELBO), nats", "{:.2f}"),
    (Metric.TEST_LOG_LIKELIHOOD, "test IWAE log-lik., nats", "{:.2f}"),
    (Metric.FIT_SECONDS, "fit, s", "{:.3g}"),
    (Metric.TRANSFORM_SAMPLES_PER_S, "transform, samples/s", "{:.3g}"),
)


def write_report(tracking_uri: str, experiments: list[str] | None, out: str | Path) -> Path:
    """Write ``out/README.md`` and its figures from the cell runs of ``experiments``
    (None: every experiment in the store but MLflow's ``Default``).

    Failed cells and metrics a method cannot have (a likelihood, without one) appear
    as gaps, never errors.

    Returns
    -------
    path : Path
        The Markdown file written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not experiments:
        experiments = [e.name for e in mlflow.MlflowClient(tracking_uri).search_experiments()
                       if e.name != "Default"]
    runs = load_runs(tracking_uri, experiments)
    trials = load_trials(tracking_uri, experiments)
    finished = latest_finished(runs)
    n_finished = int((runs.status == "FINISHED").sum())
    n_superseded = n_finished - len(finished)
    n_failed = int((runs.status == "FAILED").sum())
    n_unfinished = int(runs.status.isin(["RUNNING", "KILLED"]).sum())
    n_retried = len(runs) - n_finished - len(_never_finished(runs))
    colours = _plots.method_colours(runs.method.dropna().unique())
    lines = [
        f"# dimred report: {', '.join(experiments)}",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `dimred report` from "
        f"`{tracking_uri}`: {len(runs)} cell runs, {n_finished} finished, "
        f"{n_failed} failed, {n_unfinished} running or killed"
        + (f" ({n_retried} of these cells were run again and finished)" if n_retried else "")
        + (f"; {n_superseded} earlier finished run(s) of a cell that finished again later "
           "left out" if n_superseded else "")
        + ". Values are the mean over "
        "seeds ± the half-width of its 95% Student-t interval (the mean alone for one "
        "seed); a blank is a metric the method does not have, or a cell that did not "
        "finish.",
        "",
    ]
    lines += _environment(runs)
    lines += _anchors(finished)
    for dataset in sorted(runs.dataset.dropna().unique()):
        rows = finished[finished.dataset == dataset]
        lines += [f"## {dataset}", ""]
        if rows.empty:
            lines += ["No finished cell.", ""]
            continue
        lines += _leaderboard(rows)
        lines += verdict_table(rows)
        lines += task_section(rows, dataset, colours, tracking_uri,
                              lambda figure, name, alt: _figure(figure, out, name, alt))
        lines += _latent_size_needed(rows)
        lines += _latent_use(rows, dataset, colours, out)
        lines += _figure(_plots.measures_figure(rows, dataset, colours), out,
                         f"{dataset}_measures.png", f"{dataset}: measures against latent size")
        lines += _tuning_section(trials[trials.dataset == dataset], dataset, colours, out)
        lines += _image_figures(rows, dataset, tracking_uri, out)
        lines += field_section(rows, dataset, tracking_uri,
                               lambda figure, name, alt: _figure(figure, out, name, alt))
    if not finished.empty:
        lines += ["## Speed against accuracy", ""]
        lines += _figure(_plots.pareto_figure(finished, colours), out, "pareto.png",
                         "fit time against test error, every cell")
    lines += _failures(runs)
    path = out / "README.md"
    path.write_text("\n".join(lines))
    return path


def _environment(runs: pd.DataFrame) -> list[str]:
    def values(column):
        return ", ".join(sorted(runs[column].dropna().astype(str).unique())) or "unknown"

    times = pd.to_datetime(runs.start_time.dropna(), utc=True)
    dates = (f"{times.min():%Y-%m-%d %H:%M} to {times.max():%Y-%m-%d %H:%M} UTC"
             if len(times) else "unknown")
    return [
        "## Environment", "",
        "| | |", "|---|---|",
        f"| runs started | {dates} |",
        f"| dimred | {values('version')} (commit {values('git_commit')}) |",
        f"| torch / scikit-learn / numpy | {values('torch_version')} / "
        f"{values('sklearn_version')} / {values('numpy_version')} |",
        f"| CPU | {values('cpu')} |",
        f"| GPU | {values('gpu')} |",
        f"| torch threads | {values('threads')} |",
        f"| device | {values('device')} |",
        "",
    ]


def _anchors(finished: pd.DataFrame) -> list[str]:
    """The published MNIST figures beside this store's runs on the full split; nothing
    for a store without such runs (a suite on other data has no anchor to meet)."""
    full = finished[(finished[Param.DATASET_SOURCE] == "mnist") & (finished.n_train == "60000")
                    & (finished.n_test == "10000")]
    if full.empty:
        return []
    lines = [
        "## Anchors", "",
        "Published MNIST figures beside this store's runs of the same measure (full "
        "60000 / 10000 split).", "",
        "| measure | published | source | measured here | run |",
        "|---|---|---|---|---|",
    ]
    for anchor in references.MNIST:
        match = full[(full.estimator == anchor.estimator)
                     & (full.n_components == anchor.n_components)
                     & (full.binarize.astype(str) == anchor.binarize)]
        shaped = [anchor.measured_by(row.get("hidden_layer_sizes"), row.get("architecture"))
                  for _, row in match.iterrows()]
        match = match.loc[shaped].dropna(subset=[anchor.metric])
        if match.empty:
            measured, where = "no run", ""
        else:
            measured = mean_and_interval(anchor.sign * match[anchor.metric], "{:.2f}")
            where = f"{match.dataset.iloc[0]}/{match.method.iloc[0]}, {len(match)} seed(s)"
        lines.append(f"| {anchor.what} | {anchor.published:.2f} | {anchor.source} | "
                     f"{measured} | {where} |")
    return [*lines, ""]


def _leaderboard(rows: pd.DataFrame) -> list[str]:
    header = [Param.METHOD, "k", *(title for _, title, _ in LEADERBOARD), "seeds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (method, k), group in rows.groupby([Param.METHOD, Param.N_COMPONENTS], sort=True):
        cells = [method, str(k)]
        cells += [mean_and_interval(group[metric], fmt) for metric, _, fmt in LEADERBOARD]
        cells.append(str(group.seed.nunique()))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


#: Relative test errors whose smallest sufficient latent size the report states.
ERROR_TARGETS = (0.1, 0.01)


def _latent_size_needed(rows: pd.DataFrame) -> list[str]:
    """The smallest swept k at which each method's mean relative test error is within
    each of :data:`ERROR_TARGETS`; "> k_max" when none is."""
    errors = rows.groupby([Param.METHOD, Param.N_COMPONENTS]).test_relative_error.mean().dropna()
    if errors.empty:
        return []
    header = [f"k for ≤ {target:.0%}" for target in ERROR_TARGETS]
    lines = ["Smallest latent size k, among those run, that reaches a relative test error "
             "‖X − X̂‖ / ‖X‖ (mean over seeds):", "",
             "| method | " + " | ".join(header) + " | error at the largest k |",
             "|---|" + "---|" * (len(header) + 1)]
    for method, by_k in errors.groupby(level=Param.METHOD):
        by_k = by_k.droplevel(Param.METHOD).sort_index()
        cells = []
        for target in ERROR_TARGETS:
            reached = by_k[by_k <= target]
            cells.append(str(reached.index.min()) if len(reached) else f"> {by_k.index.max()}")
        lines.append(f"| {method} | " + " | ".join(cells)
                     + f" | {by_k.iloc[-1]:.3g} (k = {by_k.index.max()}) |")
    return [*lines, ""]


#: The latent-use table: (metric, header, format).
LATENT_USE = (
    (Metric.TEST_MSE, "test MSE", "{:.4g}"),
    (Metric.TEST_ACTIVE_UNITS, "active units", "{:.3g}"),
    (Metric.TEST_RATE, "rate, nats", "{:.2f}"),
    (Metric.TEST_DISTORTION, "distortion, nats", "{:.2f}"),
)


def _latent_use(rows: pd.DataFrame, dataset: str, colours: dict, out: Path) -> list[str]:
    """For the methods that report how they use their code (their cells logged active
    units): how many of the k dimensions carry information, and the ELBO's split."""
    rows = rows[rows.groupby(Param.METHOD)[Metric.TEST_ACTIVE_UNITS].transform(
        lambda values: values.notna().any())]
    if rows.empty:
        return []
    lines = ["How the methods with an encoder distribution use their latent space: active "
             "units are dimensions whose posterior mean varies over the test set (variance "
             "> 0.01, Burda et al. 2015); the others have collapsed to the prior. Rate is "
             "KL(q(z|x) ‖ p(z)), distortion −E_q log p(x|z), both nats per sample; "
             "−(rate + distortion) is the ELBO.", "",
             "| method | k | " + " | ".join(title for _, title, _ in LATENT_USE) + " |",
             "|---|---|" + "---|" * len(LATENT_USE)]
    for (method, k), group in rows.groupby([Param.METHOD, Param.N_COMPONENTS], sort=True):
        cells = [mean_and_interval(group[metric], fmt) for metric, _, fmt in LATENT_USE]
        lines.append(f"| {method} | {k} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines + _figure(_plots.latent_use_figure(rows, dataset, colours), out,
                           f"{dataset}_latent_use.png", f"{dataset}: latent use against k")


def _tuning_section(trials: pd.DataFrame, dataset: str, colours: dict,
                    out: Path) -> list[str]:
    """For tuned methods: the expected best validation error after n trials."""
    if trials.empty:
        return []
    n_studies = trials.groupby("method").study.nunique()
    lines = ["Tuning: each study (a latent size and seed, or a latent size whose seeds share "
             "their trials) ran its trials on the training set (fitted without its "
             "validation split, scored on it); the figure is the expected best validation "
             "error after n of them (Dodge et al. 2019), from the trials run, averaged over "
             "the method's studies ("
             + ", ".join(f"{method}: {count}" for method, count in n_studies.items()) + ").",
             ""]
    return lines + _figure(tuning_figure(trials, dataset, colours), out,
                           f"{dataset}_tuning.png", f"{dataset}: expected best validation "
                           "error against trials and tuning time")


def _image_figures(rows: pd.DataFrame, dataset: str, tracking_uri: str, out: Path) -> list[str]:
    """Gallery and samples (image data, as the cells' ``image_shape`` says) and the 2-D
    latent scatter (any labelled data) from the runs' logged examples."""
    def examples_of(row) -> dict[str, np.ndarray]:
        return load_examples(row.artifact_uri, tracking_uri)

    lines = []
    image_shape = examples_of(first_per_method(rows).iloc[0]).get("image_shape")
    if image_shape is not None:
        lines += _galleries(rows, dataset, tuple(image_shape), examples_of, out)
    at_two = first_per_method(rows[rows.n_components == 2])
    codes = {}
    for r in at_two.itertuples():
        e = examples_of(r)
        if "latent_codes" in e:
            codes[r.method] = (e["latent_codes"], e["latent_labels"])
    if codes:
        figure = latent_scatters(
            codes, title=f"{dataset}: test set in each method's 2-D latent space (k = 2)")
        lines += _figure(figure, out, f"{dataset}_latent.png",
                         f"{dataset} latent spaces at k = 2")
    return lines


def _galleries(rows, dataset: str, image_shape: tuple, examples_of, out: Path) -> list[str]:
    """The reconstruction gallery at the shared k, and samples of the methods that
    sample."""
    lines = []
    k = gallery_k(rows)
    chosen = first_per_method(rows[rows.n_components == k])
    examples = {r.method: examples_of(r) for r in chosen.itertuples()}
    if examples:
        gallery = {"original": next(iter(examples.values()))["originals"]}
        gallery.update({m: e["reconstructions"] for m, e in examples.items()
                        if "reconstructions" in e})
        figure = image_rows(gallery, image_shape,
                            title=f"{dataset}: test images and their reconstructions at k = {k}")
        lines += _figure(figure, out, f"{dataset}_gallery.png",
                         f"{dataset} reconstructions at k = {k}")
    # Every method that can sample (its cells logged samples), at each of its k.
    cells = rows.sort_values([Param.METHOD, Param.N_COMPONENTS, Param.SEED]).drop_duplicates(
        [Param.METHOD, Param.N_COMPONENTS])
    samples = {f"{r.method}, k={r.n_components}": examples_of(r).get("samples")
               for r in cells.itertuples()}
    samples = {label: s for label, s in samples.items() if s is not None}
    if samples:
        figure = image_rows(samples, image_shape,
                            title=f"{dataset}: samples from the prior (decoder means)")
        lines += _figure(figure, out, f"{dataset}_samples.png", f"{dataset} samples")
    return lines


def _figure(figure, out: Path, name: str, alt: str) -> list[str]:
    figure.savefig(out / name, dpi=110)
    return [f"![{alt}]({name})", ""]


def _never_finished(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that did not finish, less those whose cell a later run finished."""
    done = set(runs[runs.status == "FINISHED"][CELL].itertuples(index=False, name=None))
    failed = runs[runs.status != "FINISHED"]
    return failed[[key not in done for key in failed[CELL].itertuples(index=False, name=None)]]


def _failures(runs: pd.DataFrame) -> list[str]:
    failed = _never_finished(runs)
    if failed.empty:
        return []
    lines = ["## Cells that did not finish", "", "| cell | status | error |", "|---|---|---|"]
    for r in failed.sort_values([Param.DATASET, Param.METHOD, Param.N_COMPONENTS]).itertuples():
        error = str(r.error).splitlines()[0][:200] if isinstance(r.error, str) else ""
        lines.append(f"| {r.dataset}/{r.method}/k={r.n_components}/seed={r.seed} | "
                     f"{r.status} | {error} |")
    return [*lines, ""]
