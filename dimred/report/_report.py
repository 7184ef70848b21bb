"""``dimred report``: MLflow runs to a Markdown report with PNG figures beside it."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from dimred.benchmark._figures import image_rows, latent_scatters
from dimred.report import _plots
from dimred.report._fields import field_section
from dimred.report._runs import gallery_k, load_examples, load_runs

#: Published figures, and how to find this project's run that measures the same thing.
ANCHORS = (
    {
        "what": "PCA, k = 30: test squared error per image",
        "source": "Hinton & Salakhutdinov (2006)", "published": 13.87,
        "estimator": "PCA", "k": 30, "binarize": "False", "metric": "test_sse_per_sample",
        "sign": 1,
    },
    {
        "what": "AE 784-1000-500-250-30: test squared error per image",
        "source": "Hinton & Salakhutdinov (2006)", "published": 3.00,
        "estimator": "AE", "k": 30, "binarize": "False", "metric": "test_sse_per_sample",
        "sign": 1,
    },
    {
        "what": "VAE z = 50, binarised MNIST: test NLL, nats",
        "source": "Burda et al. (2015), k = 5000", "published": 86.76,
        "estimator": "VAE", "k": 50, "binarize": "dynamic", "metric": "test_log_likelihood",
        "sign": -1,
    },
)

#: Leaderboard columns: (metric, header, format).
LEADERBOARD = (
    ("test_mse", "test MSE", "{:.4g}"),
    ("test_relative_error", "test rel. error", "{:.3g}"),
    ("test_elbo", "test ELBO / pPCA, nats", "{:.2f}"),
    ("test_log_likelihood", "test IWAE log-lik., nats", "{:.2f}"),
    ("fit_seconds", "fit, s", "{:.3g}"),
    ("transform_samples_per_s", "transform, samples/s", "{:.3g}"),
)


def write_report(tracking_uri: str, experiments: list[str] | None, out: str | Path) -> Path:
    """Write ``out/README.md`` and its figures from the cell runs of ``experiments``
    (None: every experiment in the store but MLflow's ``Default``).

    Failed cells and missing metrics (the AE has no ELBO) appear as gaps, never errors.

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
    finished = runs[runs.status == "FINISHED"]
    n_failed = int((runs.status == "FAILED").sum())
    n_unfinished = int(runs.status.isin(["RUNNING", "KILLED"]).sum())
    colours = _plots.method_colours(runs.method.dropna().unique())
    lines = [
        f"# dimred report: {', '.join(experiments)}",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `dimred report` from "
        f"`{tracking_uri}`: {len(runs)} cell runs, {len(finished)} finished, "
        f"{n_failed} failed, {n_unfinished} running or killed. Values are mean ± std "
        "over seeds; a blank is a metric the method does not have, or a cell that did "
        "not finish.",
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
        lines += _latent_size_needed(rows)
        lines += _figure(_plots.measures_figure(rows, dataset, colours), out,
                         f"{dataset}_measures.png", f"{dataset}: measures against latent size")
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
    lines = [
        "## Anchors", "",
        "Published MNIST figures beside this store's runs of the same measure (full "
        "60000 / 10000 split).", "",
        "| measure | published | source | measured here | run |",
        "|---|---|---|---|---|",
    ]
    full = finished[(finished["dataset.source"] == "mnist") & (finished.n_train == "60000")
                    & (finished.n_test == "10000")]
    for anchor in ANCHORS:
        match = full[(full.estimator == anchor["estimator"]) & (full.n_components == anchor["k"])
                     & (full.binarize.astype(str) == anchor["binarize"])]
        match = match.dropna(subset=[anchor["metric"]])
        if match.empty:
            measured, where = "no run", ""
        else:
            values = anchor["sign"] * match[anchor["metric"]]
            measured = _mean_std(values, "{:.2f}")
            where = f"{match.dataset.iloc[0]}/{match.method.iloc[0]}, {len(match)} seed(s)"
        lines.append(f"| {anchor['what']} | {anchor['published']:.2f} | {anchor['source']} | "
                     f"{measured} | {where} |")
    return [*lines, ""]


def _leaderboard(rows: pd.DataFrame) -> list[str]:
    header = ["method", "k", *(title for _, title, _ in LEADERBOARD), "seeds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (method, k), group in rows.groupby(["method", "n_components"], sort=True):
        cells = [method, str(k)]
        cells += [_mean_std(group[metric], fmt) for metric, _, fmt in LEADERBOARD]
        cells.append(str(group.seed.nunique()))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


#: Relative test errors whose smallest sufficient latent size the report states.
ERROR_TARGETS = (0.1, 0.01)


def _latent_size_needed(rows: pd.DataFrame) -> list[str]:
    """The smallest swept k at which each method's mean relative test error is within
    each of :data:`ERROR_TARGETS`; "> k_max" when none is."""
    errors = rows.groupby(["method", "n_components"]).test_relative_error.mean().dropna()
    if errors.empty:
        return []
    header = [f"k for ≤ {target:.0%}" for target in ERROR_TARGETS]
    lines = ["Smallest latent size k, among those run, that reaches a relative test error "
             "‖X − X̂‖ / ‖X‖ (mean over seeds):", "",
             "| method | " + " | ".join(header) + " | error at the largest k |",
             "|---|" + "---|" * (len(header) + 1)]
    for method, by_k in errors.groupby(level="method"):
        by_k = by_k.droplevel("method").sort_index()
        cells = []
        for target in ERROR_TARGETS:
            reached = by_k[by_k <= target]
            cells.append(str(reached.index.min()) if len(reached) else f"> {by_k.index.max()}")
        lines.append(f"| {method} | " + " | ".join(cells)
                     + f" | {by_k.iloc[-1]:.3g} (k = {by_k.index.max()}) |")
    return [*lines, ""]


def _mean_std(values: pd.Series, fmt: str) -> str:
    values = values.dropna()
    if values.empty:
        return ""
    mean = fmt.format(values.mean())
    if len(values) < 2 or not math.isfinite(values.std()):
        return mean
    return f"{mean} ± {values.std():.2g}"


def _image_figures(rows: pd.DataFrame, dataset: str, tracking_uri: str, out: Path) -> list[str]:
    """Gallery and samples (image data, as the cells' ``image_shape`` says) and the 2-D
    latent scatter (any labelled data) from the runs' logged examples."""
    def examples_of(row) -> dict[str, np.ndarray]:
        return load_examples(row.artifact_uri, tracking_uri)

    lines = []
    image_shape = examples_of(rows.sort_values(["method", "seed"]).iloc[0]).get("image_shape")
    if image_shape is not None:
        lines += _galleries(rows, dataset, tuple(image_shape), examples_of, out)
    at_two = rows[rows.n_components == 2].sort_values(["method", "seed"]).drop_duplicates("method")
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
    chosen = rows[rows.n_components == k].sort_values(["method", "seed"]).drop_duplicates("method")
    examples = {r.method: examples_of(r) for r in chosen.itertuples()}
    if examples:
        gallery = {"original": next(iter(examples.values()))["originals"]}
        gallery.update({m: e["reconstructions"] for m, e in examples.items()})
        figure = image_rows(gallery, image_shape,
                            title=f"{dataset}: test images and their reconstructions at k = {k}")
        lines += _figure(figure, out, f"{dataset}_gallery.png",
                         f"{dataset} reconstructions at k = {k}")
    # Every method that can sample (its cells logged samples), at each of its k.
    cells = rows.sort_values(["method", "n_components", "seed"]).drop_duplicates(
        ["method", "n_components"])
    samples = {f"{r.method}, k={r.n_components}": examples_of(r).get("samples")
               for r in cells.itertuples()}
    samples = {label: s for label, s in samples.items() if s is not None}
    if samples:
        figure = image_rows(samples, image_shape,
                            title=f"{dataset}: samples from the prior (decoder means)")
        lines += _figure(figure, out, f"{dataset}_samples.png", f"{dataset} VAE samples")
    return lines


def _figure(figure, out: Path, name: str, alt: str) -> list[str]:
    figure.savefig(out / name, dpi=110)
    return [f"![{alt}]({name})", ""]


def _failures(runs: pd.DataFrame) -> list[str]:
    failed = runs[runs.status != "FINISHED"]
    if failed.empty:
        return []
    lines = ["## Cells that did not finish", "", "| cell | status | error |", "|---|---|---|"]
    for r in failed.sort_values(["dataset", "method", "n_components"]).itertuples():
        error = str(r.error).splitlines()[0][:200] if isinstance(r.error, str) else ""
        lines.append(f"| {r.dataset}/{r.method}/k={r.n_components}/seed={r.seed} | "
                     f"{r.status} | {error} |")
    return [*lines, ""]
