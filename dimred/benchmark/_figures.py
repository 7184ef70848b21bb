"""The per-cell figures: reconstructions, samples, the 2-D latent space, training curves.

Built on ``matplotlib.figure.Figure`` directly (no pyplot), so no global state or GUI
backend is involved and figures are freed when dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def reconstruction_grid(
    originals: np.ndarray, reconstructions: np.ndarray, image_shape: Sequence[int], *,
    n_images: int = 10, title: str = ""
) -> Figure:
    """Top row: the first ``n_images`` test images; bottom row: their reconstructions."""
    n_images = min(n_images, originals.shape[0])
    figure = Figure(figsize=(1.2 * n_images, 2.8), layout="constrained")
    axes = figure.subplots(2, n_images, squeeze=False)
    for column in range(n_images):
        for row, images in enumerate((originals, reconstructions)):
            _show(axes[row, column], images[column], image_shape)
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstructed")
    figure.suptitle(title)
    return figure


def image_grid(images: np.ndarray, image_shape: Sequence[int], *, n_columns: int = 8,
               title: str = "") -> Figure:
    """Images in a grid, e.g. a VAE's samples (decoded means, intensities in [0, 1])."""
    n_rows = -(-images.shape[0] // n_columns)
    figure = Figure(figsize=(1.2 * n_columns, 1.2 * n_rows + 0.5), layout="constrained")
    axes = figure.subplots(n_rows, n_columns, squeeze=False)
    for index, axis in enumerate(axes.flat):
        if index < images.shape[0]:
            _show(axis, images[index], image_shape)
        else:
            axis.set_axis_off()
    figure.suptitle(title)
    return figure


def latent_scatter(codes: np.ndarray, labels: np.ndarray, *, title: str = "") -> Figure:
    """Test codes in a 2-D latent space, coloured by label (discrete or continuous)."""
    figure = Figure(figsize=(5.5, 4.5), layout="constrained")
    axis = figure.subplots()
    discrete = np.issubdtype(np.asarray(labels).dtype, np.integer)
    points = axis.scatter(codes[:, 0], codes[:, 1], c=labels, s=4, alpha=0.7,
                          cmap="tab10" if discrete else "viridis", rasterized=True)
    colorbar = figure.colorbar(points, ax=axis)
    colorbar.set_label("label" if discrete else "position on the manifold / time")
    axis.set_xlabel("latent 1")
    axis.set_ylabel("latent 2")
    axis.set_title(title)
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


def _show(axis, image: np.ndarray, image_shape: Sequence[int]) -> None:
    axis.imshow(np.reshape(image, image_shape), cmap="gray", vmin=0, vmax=1)
    axis.set_xticks([])
    axis.set_yticks([])
