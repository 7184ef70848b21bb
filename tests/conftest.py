"""Shared fixtures. MNIST comes from $DIMRED_DATA (set by .ci/run) and never skips."""

from __future__ import annotations

import numpy as np
import pytest

from dimred.datasets import load_mnist


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST files through dimred.datasets; a missing file fails loudly."""
    return load_mnist(download=False)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
