"""Figures of a cell's results: image rows (reconstructions, samples), 2-D latent
spaces, training curves. The runner draws them per cell; reports compose them across
cells.

Built on ``matplotlib.figure.Figure`` directly (no pyplot), so no global state or GUI
backend is involved and figures are freed when dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def image_rows(rows: dict[str, np.ndarray], image_shape: Sequence[int], *, title: str = "",
               n_columns: int = 10) -> Figure:
    """Labelled rows of images (intensities in [0, 1]), the first ``n_columns`` of each:
    originals above reconstructions, or one row of samples per model."""
    figure = Figure(figsize=(1.0 * n_columns + 1.4, 1.05 * len(rows) + 0.5),
                    layout="constrained")
    axes = figure.subplots(len(rows), n_columns, squeeze=False)
    for row, (label, images) in enumerate(rows.items()):
        for column, axis in enumerate(axes[row]):
            if column < len(images):
                axis.imshow(np.reshape(images[column], image_shape), cmap="gray", vmin=0,
                            vmax=1)
                axis.set_xticks([])
                axis.set_yticks([])
            else:
                axis.set_axis_off()
        axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=10)
    figure.suptitle(title)
    return figure


def latent_scatters(codes: dict[str, tuple[np.ndarray, np.ndarray]], *,
                    title: str = "") -> Figure:
    """One panel per model: its 2-D test codes, coloured by label (discrete or
    continuous)."""
    figure = Figure(figsize=(3.9 * len(codes) + 0.8, 4.0), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(codes)))
    for axis, (label, (z, y)) in zip(axes, codes.items(), strict=True):
        discrete = np.issubdtype(np.asarray(y).dtype, np.integer)
        points = axis.scatter(z[:, 0], z[:, 1], c=y, s=4, alpha=0.7, rasterized=True,
                              cmap="tab10" if discrete else "viridis")
        axis.set_title(label)
        axis.set_xlabel("latent 1")
        axis.set_ylabel("latent 2")
    colorbar = figure.colorbar(points, ax=list(axes), shrink=0.9)
    colorbar.set_label("label" if discrete else "position on the manifold / time")
    figure.suptitle(title)
    return figure


def training_curves(curves: dict[str, list[float]], *, title: str = "") -> Figure:
    """Loss per epoch (and validation score when early stopping ran)."""
    figure = Figure(figsize=(5.5, 3.5), layout="constrained")
    axis = figure.subplots()
    for name, values in curves.items():
        axis.plot(np.arange(1, len(values) + 1), values, label=name)
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss per sample (method's objective)")
    axis.set_title(title)
    axis.legend()
    return figure
