"""Figures of a cell's results: image rows (reconstructions, samples), 2-D latent
spaces, and the modal view of snapshot data (spectrum, modes, snapshots, coefficients).
The runner draws them per cell; reports compose them across cells.

Built on ``matplotlib.figure.Figure`` directly (no pyplot), so no global state or GUI
backend is involved and figures are freed when dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure


def image_rows(rows: dict[str, np.ndarray], image_shape: Sequence[int], *, title: str = "",
               n_columns: int = 10) -> Figure:
    """Labelled rows of images (intensities in [0, 1]), the first ``n_columns`` of each:
    originals above reconstructions, or one row of samples per model.

    Drawn as one mosaic in one axes: a grid of axes per image takes ten times longer to
    lay out and render, and the runner draws this figure for every image cell.
    """
    height, width = image_shape
    pad = max(1, height // 14)
    mosaic = np.full((len(rows) * (height + pad) - pad, n_columns * (width + pad) - pad),
                     np.nan)
    for row, images in enumerate(rows.values()):
        for column, image in enumerate(images[:n_columns]):
            top, left = row * (height + pad), column * (width + pad)
            mosaic[top:top + height, left:left + width] = np.reshape(image, image_shape)
    figure = Figure(figsize=(0.9 * n_columns + 1.4, 0.95 * len(rows) + 0.5),
                    layout="constrained")
    axis = figure.subplots()
    colours = matplotlib.colormaps["gray"].with_extremes(bad="white")
    axis.imshow(mosaic, cmap=colours, vmin=0, vmax=1, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([row * (height + pad) + height / 2 for row in range(len(rows))],
                    list(rows), fontsize=10)
    axis.tick_params(length=0)
    for spine in axis.spines.values():
        spine.set_visible(False)
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


def energy_spectrum(spectrum: np.ndarray | None, kept: dict[str, np.ndarray], *,
                    levels: Sequence[float], title: str = "") -> Figure:
    """The energy spectrum: each mode's share of the variance, and the share the
    leading r modes leave out, with the ranks that reach ``levels`` marked (log scales).

    ``spectrum`` is the training set's full covariance spectrum (None: unknown);
    ``kept`` maps a method to the variances of the modes it kept, drawn as markers on
    the same axes, so that a method whose energies leave the curve shows it.
    """
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    share, left_out = figure.subplots(1, 2)
    total = np.sum(spectrum) if spectrum is not None else None
    if spectrum is not None:
        ranks = np.arange(1, len(spectrum) + 1)
        positive = spectrum > 0
        share.loglog(ranks[positive], spectrum[positive] / total, color="0.3", lw=1.2,
                     label="training set, every mode")
        # The energy a rank leaves out, on a log scale, separates 99% from 99.9%; the
        # cumulative share itself would crowd them against 1.
        residual = np.clip(1 - np.cumsum(spectrum) / total, 0, None)
        left_out.loglog(ranks[residual > 0], residual[residual > 0], color="0.3", lw=1.2)
        for level, style in zip(levels, (":", "--", "-."), strict=False):
            rank = int(np.searchsorted(1 - residual, level - 1e-12) + 1)
            left_out.axhline(1 - level, color="0.6", ls=style, lw=0.8)
            left_out.axvline(rank, color="tab:red", ls=style, lw=0.8,
                             label=f"{level:.1%} of the energy at r = {rank}")
        left_out.legend(fontsize=8, loc="lower left")
    for index, (label, variances) in enumerate(kept.items()):
        if total is not None and len(variances):
            share.loglog(np.arange(1, len(variances) + 1), np.asarray(variances) / total,
                         ls="none", marker="os^D"[index % 4], ms=5, mfc="none", label=label)
    share.set_xlabel("mode i (log)")
    share.set_ylabel("energy share λᵢ / Σλ (log)")
    share.grid(alpha=0.3, which="both")
    share.legend(fontsize=8)
    left_out.set_xlabel("number of modes r (log)")
    left_out.set_ylabel("energy left out, 1 − Σᵢ≤ᵣ λᵢ / Σλ (log)")
    left_out.grid(alpha=0.3, which="both")
    figure.suptitle(title)
    return figure


def field_modes(modes: np.ndarray, field_shape: Sequence[int],
                grid: Sequence[np.ndarray] = (), *, channel_names: Sequence[str] = (),
                title: str = "") -> Figure:
    """Leading spatial modes on the data set's grid: curves for 1-D fields (one axis,
    every channel), images for 2-D fields (one row per channel, one column per mode)."""
    channels, *shape = field_shape
    fields = np.reshape(modes, (len(modes), channels, *shape))
    if len(shape) == 1:
        figure = Figure(figsize=(7, 3.6), layout="constrained")
        axis = figure.subplots()
        x = grid[0] if len(grid) else np.arange(shape[0])
        for i, field in enumerate(fields):
            for c in range(channels):
                channel = f", {_channel(channel_names, c)}" if channels > 1 else ""
                axis.plot(x, field[c], lw=1.1, label=f"mode {i + 1}{channel}")
        axis.axhline(0, color="0.7", lw=0.6)
        axis.set_xlabel("x")
        axis.set_ylabel("mode value (unit norm)")
        axis.legend(fontsize=8)
    else:
        figure = _images(fields, [f"mode {i + 1}" for i in range(len(fields))], grid,
                         diverging=True,
                         row_labels=[_channel(channel_names, c) for c in range(channels)])
    figure.suptitle(title)
    return figure


def field_snapshots(rows: dict[str, np.ndarray], field_shape: Sequence[int],
                    grid: Sequence[np.ndarray] = (), *, labels: Sequence[str] = (),
                    channel_names: Sequence[str] = (), title: str = "") -> Figure:
    """Snapshots and their reconstructions on the grid. 1-D: one panel per snapshot,
    one curve per row of ``rows``; 2-D: one row of images per entry of ``rows``.
    Only the first channel is drawn."""
    channels, *shape = field_shape
    if len(shape) == 1:
        first = next(iter(rows.values()))
        figure = Figure(figsize=(3.2 * len(first) + 0.5, 3.2), layout="constrained")
        axes = np.atleast_1d(figure.subplots(1, len(first), sharey=True))
        x = grid[0] if len(grid) else np.arange(shape[0])
        for label, fields in rows.items():
            fields = np.reshape(fields, (len(fields), channels, *shape))
            for axis, field in zip(axes, fields, strict=False):
                axis.plot(x, field[0], lw=1.6 if label == "original" else 1.0, label=label,
                          color="black" if label == "original" else None)
        for axis, label in zip(axes, labels, strict=False):
            axis.set_title(label, fontsize=9)
            axis.set_xlabel("x")
        axes[0].set_ylabel(_channel(channel_names, 0))
        axes[-1].legend(fontsize=8)
    else:
        # (snapshot, row of ``rows``, ny, nx): the first channel of each.
        panels = np.stack([np.reshape(v, (len(v), channels, *shape))[:, 0]
                           for v in rows.values()], axis=1)
        figure = _images(panels, list(labels), grid, diverging=False, row_labels=list(rows))
        title = f"{title} ({_channel(channel_names, 0)})"
    figure.suptitle(title)
    return figure


def modal_coefficients(trajectories: dict[str, tuple[np.ndarray, np.ndarray]], *,
                       x_label: str = "time", title: str = "") -> Figure:
    """Coefficient of each leading mode against time (or parameter), one line per
    trajectory: ``trajectories`` maps a label to ``(t, coefficients)``."""
    n_modes = next(iter(trajectories.values()))[1].shape[1]
    figure = Figure(figsize=(3.1 * n_modes + 0.5, 3.2), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, n_modes))
    for label, (t, coefficients) in trajectories.items():
        for i, axis in enumerate(axes):
            axis.plot(t, coefficients[:, i], lw=1.0, label=label)
    for i, axis in enumerate(axes):
        axis.set_title(f"mode {i + 1}", fontsize=10)
        axis.set_xlabel(x_label)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("modal coefficient aᵢ")
    axes[-1].legend(fontsize=7)
    figure.suptitle(title)
    return figure


def _images(fields: np.ndarray, column_labels: Sequence[str], grid: Sequence[np.ndarray],
            *, diverging: bool, row_labels: Sequence[str] = ()) -> Figure:
    """Images of ``fields`` (n_columns, n_rows, ny, nx) on the grid ``(x, y)``: one
    column per field, one row per channel (or per ``row_labels``)."""
    n_columns, n_rows, ny, nx = fields.shape
    extent = ((grid[0][0], grid[0][-1], grid[1][0], grid[1][-1]) if len(grid) >= 2
              else (0, nx, 0, ny))
    aspect_width = 2.8 * nx / max(nx, ny) + 0.3
    figure = Figure(figsize=(aspect_width * n_columns + 1.2,
                             2.8 * ny / max(nx, ny) * n_rows + 0.9), layout="constrained")
    axes = figure.subplots(n_rows, n_columns, squeeze=False)
    for column in range(n_columns):
        # A snapshot and its reconstructions share one colour scale, so that they compare;
        # a mode's sign is arbitrary, so it gets a symmetric one.
        low, high = float(np.min(fields[column])), float(np.max(fields[column]))
        for row in range(n_rows):
            image = fields[column, row]
            if diverging:
                high = float(np.max(np.abs(image))) or 1.0
                low = -high
            axes[row, column].imshow(image, origin="lower", extent=extent, vmin=low, vmax=high,
                                     cmap="RdBu_r" if diverging else "viridis")
            axes[row, column].tick_params(labelsize=7)
        if column < len(column_labels):
            axes[0, column].set_title(column_labels[column], fontsize=9)
    for row in range(n_rows):
        axes[row, 0].set_ylabel(_channel(row_labels, row), fontsize=9)
    return figure


def _channel(names: Sequence[str], index: int) -> str:
    return str(names[index]) if index < len(names) else f"channel {index}"
