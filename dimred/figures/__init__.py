"""matplotlib figures that the benchmark draws per cell and the report composes: image
rows, latent scatters, and the modal view of snapshot data."""
