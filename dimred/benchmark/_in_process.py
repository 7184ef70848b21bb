"""The default executor: the cells one after the other, in this process."""

from __future__ import annotations

from collections.abc import Callable

from tqdm.auto import tqdm

from dimred.benchmark._suite import Cell


def execute(cells: list[Cell], work: Callable[[Cell], tuple[str, str]], *, label: str,
            progress: bool) -> dict[str, tuple[str, str]]:
    """Run ``work(cell)`` for each cell; returns ``{run_name: (outcome, message)}``."""
    outcomes = {}
    bar = tqdm(cells, desc=label, unit="cell", disable=not progress)
    for cell in bar:
        bar.set_postfix_str(cell.run_name)
        outcomes[cell.run_name] = work(cell)
    return outcomes
