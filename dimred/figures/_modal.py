"""The modal view of a cell: energy spectrum, leading spatial modes, modal coefficients.

What a flow scientist looks at first (PyDMD's ``plot_summary`` is the model). It is
drawn for any estimator with linear ``components_`` fitted on data that lies on a grid
(a dataset Bunch with ``field_shape``), whatever the method's name. The arrays behind
the figures go into the cell's ``examples.npz`` under the keys below, so a user can
redraw them without the data or the model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.utils import Bunch

from dimred.arrays._streams import column_statistics, is_streamed, row_batches
from dimred.figures import _drawing

#: Leading modes kept in the examples and drawn.
N_MODES = 4

#: Cumulative-energy levels whose ranks the spectrum marks.
ENERGY_LEVELS = (0.9, 0.99, 0.999)

#: The full training spectrum needs the eigenvalues of the smaller of the two centred
#: Gram matrices; above this size on both sides it is left out (the method's own
#: ``explained_variance_`` is still drawn).
SPECTRUM_MAX_SIDE = 4096

#: Per-row arrays of a dataset Bunch that say where a snapshot sits in time or
#: parameter space, copied into the examples beside the coefficients.
_COORDINATES = ("times", "params")


def training_spectrum(X: np.ndarray) -> np.ndarray | None:
    """Every eigenvalue of the training set's sample covariance, in decreasing order.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        In memory, memory-mapped or dask (read a block at a time).

    Returns
    -------
    spectrum : ndarray of shape (min(n_samples, n_features),), float64, or None
        Variances (squared units of X), clipped at zero; None when both sides exceed
        :data:`SPECTRUM_MAX_SIDE`.
    """
    n_samples, n_features = X.shape
    if min(n_samples, n_features) > SPECTRUM_MAX_SIDE or n_samples < 2:
        return None
    if is_streamed(X):  # a file or dask array: the covariance a block at a time
        if n_features > SPECTRUM_MAX_SIDE:
            return None
        mean = column_statistics(X).mean
        gram = np.zeros((n_features, n_features))
        for block in row_batches(X, dtype=np.float64):
            block -= mean
            gram += block.T @ block
    else:
        X = np.asarray(X, dtype=np.float64)
        centred = X - X.mean(axis=0)
        # The smaller Gram matrix has the same non-zero eigenvalues as the other.
        gram = centred.T @ centred if n_features <= n_samples else centred @ centred.T
    eigenvalues = np.linalg.eigvalsh(gram)[::-1] / (n_samples - 1)
    return np.clip(eigenvalues, 0.0, None)


def energy_ranks(spectrum: np.ndarray, levels=ENERGY_LEVELS) -> dict[float, int]:
    """The number of leading modes whose energy reaches each fraction in ``levels``."""
    cumulative = np.cumsum(spectrum) / np.sum(spectrum)
    return {level: int(np.searchsorted(cumulative, level - 1e-12) + 1) for level in levels}


def example_rows(n_rows: int, n_examples: int, *, spread: bool) -> np.ndarray:
    """Indices of the test rows kept as examples: the first ``n_examples`` (images), or
    ``n_examples`` spread evenly over the set (snapshots, so that they span the time
    and parameter range rather than its first instants)."""
    if not spread or n_rows <= n_examples:
        return np.arange(min(n_rows, n_examples))
    return np.unique(np.linspace(0, n_rows - 1, n_examples).round().astype(int))


def field_examples(data: Bunch, rows: np.ndarray) -> dict[str, np.ndarray]:
    """How to draw the data set's snapshots, or ``{}`` when they do not lie on a grid.

    Keys: ``field_shape`` (channels, *grid), ``field_channels`` (their names),
    ``grid_<axis>`` (node coordinates per grid axis, when the dataset gives them) and
    ``example_times`` / ``example_params`` (where the example test ``rows`` sit).
    """
    field_shape = data.get("field_shape")
    if field_shape is None:
        return {}
    examples = {
        "field_shape": np.asarray(field_shape),
        "field_channels": np.asarray(data.get("field_channels") or (), dtype=str),
    }
    grid = data.get("grid")
    if grid is not None:
        axes = (grid,) if np.ndim(grid[0]) == 0 else tuple(grid)
        for name, coordinates in zip("xyz", axes, strict=False):
            examples[f"grid_{name}"] = np.asarray(coordinates)
    for coordinate in _COORDINATES:
        values = data.get(f"{coordinate}_test")
        if values is not None:
            examples[f"example_{coordinate}"] = np.asarray(values)[rows]
    return examples


def modal_examples(estimator: Any, data: Bunch, codes_train: np.ndarray,
                   codes_test: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays of the modal view, or ``{}`` when the estimator has no linear modes or
    the data no grid.

    Keys: ``modes`` (N_MODES, n_features), ``coefficients_train`` /
    ``coefficients_test`` (the codes of the leading modes), ``times_*`` / ``params_*``
    (where each snapshot sits), ``spectrum`` (the training set's full covariance
    spectrum) and ``explained_variance`` (the method's own).
    """
    field_shape = data.get("field_shape")
    components = getattr(estimator, "components_", None)
    if field_shape is None or components is None:
        return {}
    components = np.asarray(components)
    if components.ndim != 2 or components.shape[1] != math.prod(field_shape):
        return {}
    n_modes = min(N_MODES, components.shape[0])
    examples = {
        "modes": components[:n_modes],
        "coefficients_train": np.asarray(codes_train)[:, :n_modes],
        "coefficients_test": np.asarray(codes_test)[:, :n_modes],
    }
    for coordinate in _COORDINATES:
        for split in ("train", "test"):
            values = data.get(f"{coordinate}_{split}")
            if values is not None:
                examples[f"{coordinate}_{split}"] = np.asarray(values)
    spectrum = training_spectrum(data.X_train)
    if spectrum is not None:
        examples["spectrum"] = spectrum
    if getattr(estimator, "explained_variance_", None) is not None:
        examples["explained_variance"] = np.asarray(estimator.explained_variance_)
    return examples


#: Snapshots drawn side by side in a reconstruction figure.
N_SNAPSHOTS_DRAWN = 4


def snapshot_figure(examples: dict[str, np.ndarray], rows: dict[str, np.ndarray], *,
                    title: str) -> Figure:
    """A few example test snapshots (``rows["original"]``) beside their reconstructions
    (the other entries of ``rows``), on the grid described by ``examples``."""
    n_rows = len(next(iter(rows.values())))
    chosen = example_rows(n_rows, N_SNAPSHOTS_DRAWN, spread=True)
    labels = []
    for i in chosen:
        label = []
        if "example_params" in examples:
            label.append(_parameter_label(examples["example_params"][i]))
        if "example_times" in examples:
            label.append(f"t = {examples['example_times'][i]:.3g}")
        labels.append(", ".join(label) or f"test row {i}")
    return _drawing.field_snapshots(
        {name: np.asarray(values)[chosen] for name, values in rows.items()},
        examples["field_shape"], grid_of(examples), labels=labels,
        channel_names=list(examples.get("field_channels", ())), title=title)


def modal_figures(examples: dict[str, np.ndarray], *, title: str) -> dict[str, Figure]:
    """``spectrum.png``, ``modes.png`` and ``coefficients.png`` from the arrays of
    :func:`modal_examples` (``{}`` when they are absent)."""
    if "modes" not in examples:
        return {}
    kept = {"the method's modes": examples["explained_variance"]} if (
        "explained_variance" in examples) else {}
    figures = {
        "modes.png": _drawing.field_modes(
            examples["modes"], examples["field_shape"], grid_of(examples),
            channel_names=list(examples.get("field_channels", ())),
            title=f"leading spatial modes, {title}"),
        "coefficients.png": _drawing.modal_coefficients(
            coefficient_trajectories(examples), x_label=_x_label(examples),
            title=f"modal coefficients, {title}"),
    }
    if "spectrum" in examples:
        figures["spectrum.png"] = _drawing.energy_spectrum(
            examples["spectrum"], kept, levels=ENERGY_LEVELS,
            title=f"training-set energy spectrum, {title}")
    return figures


def grid_of(examples: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """The grid's node coordinates per axis, as stored by :func:`modal_examples`."""
    return tuple(examples[f"grid_{n}"] for n in "xyz" if f"grid_{n}" in examples)


def coefficient_trajectories(examples: dict[str, np.ndarray]
                             ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Modal coefficients as trajectories in time, labelled: one per test parameter
    when snapshots carry parameters (the training grid's would crowd the figure), or
    the training then the test stretch of one trajectory when they do not."""
    trajectories = {}
    splits = ("test",) if "params_test" in examples else ("train", "test")
    for split in splits:
        coefficients = examples[f"coefficients_{split}"]
        t = examples.get(f"times_{split}", np.arange(len(coefficients)))
        params = examples.get(f"params_{split}")
        if params is None:
            trajectories[split] = (t, coefficients)
            continue
        params = np.reshape(params, (len(params), -1))
        for value in np.unique(params, axis=0):
            rows = np.all(params == value, axis=1)
            trajectories[f"{split} {_parameter_label(value)}"] = (t[rows], coefficients[rows])
    return trajectories


def _parameter_label(value) -> str:
    """``μ = (4.3, 0.021)``: one snapshot's parameters, as figures label them."""
    return "μ = (" + ", ".join(f"{v:.4g}" for v in np.atleast_1d(value)) + ")"


def _x_label(examples: dict[str, np.ndarray]) -> str:
    return "time" if "times_test" in examples else "snapshot"
