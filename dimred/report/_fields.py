"""The report's figures for snapshot data on a grid (a dataset with ``field_shape``):
a few test snapshots beside every method's reconstruction, and the modal view (energy
spectrum, leading modes, modal coefficients) of the methods that have linear modes.

Which methods have modes is read from what their cells logged, never from their names.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from matplotlib.figure import Figure

from dimred.figures import _drawing, _modal
from dimred.report._runs import first_per_method, gallery_k, load_examples
from dimred.schema import Param

#: Saves a figure beside the report and returns its Markdown lines.
Save = Callable[[Figure, str, str], list[str]]


def field_section(rows: pd.DataFrame, dataset: str, tracking_uri: str, save: Save) -> list[str]:
    """Markdown lines and figures for ``dataset``'s finished cell ``rows``; nothing
    when its snapshots do not lie on a grid."""
    def examples_of(row):
        return load_examples(row.artifact_uri, tracking_uri)

    ordered = rows.sort_values([Param.METHOD, Param.SEED])
    if "field_shape" not in examples_of(ordered.iloc[0]):
        return []
    lines = []
    k = gallery_k(rows)
    at_k = first_per_method(rows[rows.n_components == k])
    examples = {r.method: examples_of(r) for r in at_k.itertuples()}
    first = next(iter(examples.values()))
    snapshots = {"original": first["originals"]}
    snapshots.update({m: e["reconstructions"] for m, e in examples.items()
                      if "reconstructions" in e})
    lines += save(_modal.snapshot_figure(
        first, snapshots, title=f"{dataset}: test snapshots and their reconstructions at k = {k}"),
        f"{dataset}_snapshots.png", f"{dataset} reconstructions at k = {k}")

    # Each method's largest-k cell: the most modes, the spectrum's longest stretch.
    largest = ordered.sort_values(Param.N_COMPONENTS, ascending=False, kind="stable")
    linear = {}
    for r in largest.drop_duplicates(Param.METHOD).sort_values(Param.METHOD).itertuples():
        e = examples_of(r)
        if "modes" in e:
            linear[f"{r.method}, k = {r.n_components}"] = e
    if not linear:
        return lines
    label, shown = next(iter(linear.items()))
    if "spectrum" in shown:
        ranks = _modal.energy_ranks(shown["spectrum"])
        lines += ["Training-set energy spectrum: " + ", ".join(
            f"{level:.1%} of the energy in {rank} modes" for level, rank in ranks.items())
            + ".", ""]
        kept = {name: e["explained_variance"] for name, e in linear.items()
                if "explained_variance" in e}
        lines += save(_drawing.energy_spectrum(
            shown["spectrum"], kept, levels=_modal.ENERGY_LEVELS,
            title=f"{dataset}: energy spectrum of the training snapshots, with each "
                  "linear method's modes"), f"{dataset}_spectrum.png", f"{dataset} spectrum")
    figures = _modal.modal_figures(shown, title=f"{label}, {dataset}")
    for name in ("modes.png", "coefficients.png"):
        lines += save(figures[name], f"{dataset}_{name}", f"{dataset} {name[:-4]}, {label}")
    return lines
