"""Where datasets live on disk."""

from __future__ import annotations

import os
from pathlib import Path


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Folder that holds ``mnist/``, ``fashion_mnist/`` and the other datasets.

    Resolved, like scikit-learn's ``data_home``, from the argument, then the environment
    variable ``$DIMRED_DATA``, then ``~/.cache/dimred``.
    """
    if data_home is None:
        data_home = os.environ.get("DIMRED_DATA") or Path.home() / ".cache" / "dimred"
    return Path(data_home).expanduser()
