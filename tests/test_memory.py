"""`peak_memory_mb` is what a cell's fit adds to the process, not the process's size."""

from __future__ import annotations

import numpy as np

from dimred import AE, POD
from dimred.benchmark._evaluation import fit_and_evaluate
from dimred.benchmark._memory import MemoryGrowth
from dimred.datasets import load_dataset


def test_memory_growth_sees_an_allocation_and_not_the_process():
    with MemoryGrowth() as nothing:
        pass
    with MemoryGrowth() as grown:
        block = np.ones(200_000_000 // 8)  # 200 MB, touched
        del block
    assert nothing.megabytes < 5
    assert 190 < grown.megabytes < 230


def test_swiss_roll_pod_cells_take_a_few_megabytes():
    data = load_dataset("swiss_roll", n_samples=2500, n_features=40, noise=0.05)
    for k in (2, 8, 32):
        metrics = fit_and_evaluate(POD(k), data, n_importance_samples=5).metrics
        assert metrics["peak_memory_mb"] < 50, metrics
        assert metrics["evaluation_peak_memory_mb"] < 50, metrics


def test_ae_memory_follows_the_network(mnist):  # the fixture fails loudly without MNIST
    """The optimiser holds 4 copies of the parameters (weights, gradients, Adam's two
    moments): a network 30 MB larger must take at least 60 MB more."""
    data = load_dataset("mnist", n_train=2000, n_test=500)

    def fit(hidden):
        ae = AE(8, hidden_layer_sizes=hidden, max_epochs=1, batch_size=64, random_state=0)
        return fit_and_evaluate(ae, data, n_importance_samples=5).metrics

    fit((64,))  # torch's one-off first-fit allocations, paid before measuring
    small, large = fit((256, 128)), fit((2048, 1024))
    parameters_mb = 4 * (large["n_parameters"] - small["n_parameters"]) / 1e6
    assert large["peak_memory_mb"] - small["peak_memory_mb"] > 2 * parameters_mb, (
        small["peak_memory_mb"], large["peak_memory_mb"], parameters_mb)
    assert small["peak_memory_mb"] < 200
