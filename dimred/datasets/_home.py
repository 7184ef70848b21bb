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


def get_cache_home() -> Path:
    """Folder for data sets that dimred simulates and caches (``cylinder/``):
    ``$DIMRED_CACHE``, else ``~/.cache/dimred``. Apart from :func:`get_data_home`, which
    may be a read-only shared folder."""
    return Path(os.environ.get("DIMRED_CACHE") or Path.home() / ".cache" / "dimred").expanduser()
