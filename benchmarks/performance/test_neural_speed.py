"""AE/VAE training throughput against the machine's float32 matmul rate, measured here.

The fraction of the matmul rate that training reaches is ``6 * parameters * samples/s``
(forward 2, backward 4 flops per weight per sample) over a ``torch.matmul`` rate
measured in the same run. Transform and inverse_transform throughput is reported for
all four methods.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dimred import AE, PCA, POD, VAE
from dimred.neural._vae import _binarised

N_SAMPLES, N_FEATURES, N_COMPONENTS = 10000, 784, 30
HIDDEN = (1000, 500, 250)
_RATE: dict[str, float] = {}


@pytest.fixture(scope="module")
def images():
    """MNIST-shaped data in [0, 1]; throughput does not depend on the values."""
    return np.random.default_rng(0).uniform(size=(N_SAMPLES, N_FEATURES)).astype(np.float32)


def test_matmul_rate(timed, medians):
    """float32 GEMM at the shapes training uses: (batch x 1000) @ (1000 x 784)."""
    a, b = torch.randn(4096, 1024), torch.randn(1024, 1024)
    result = timed("matmul_4096x1024x1024", lambda: torch.matmul(a, b), rounds=20)
    assert result.shape == (4096, 1024)
    _RATE["matmul_flops_per_s"] = 2 * 4096 * 1024 * 1024 / medians["matmul_4096x1024x1024"]


@pytest.mark.parametrize("Estimator", [AE, VAE], ids=["AE", "VAE"])
def test_training_throughput(timed, medians, benchmark, images, Estimator):
    epochs = 2
    model = Estimator(n_components=N_COMPONENTS, hidden_layer_sizes=HIDDEN, max_epochs=epochs,
                      batch_size=128, random_state=0, device="cpu")
    key = f"{Estimator.__name__}_fit_{epochs}_epochs"
    timed(key, lambda: model.fit(images), rounds=3)
    samples_per_s = epochs * N_SAMPLES / medians[key]
    fraction = 6 * model.n_parameters_ * samples_per_s / _RATE["matmul_flops_per_s"]
    benchmark.extra_info.update(
        training_samples_per_s=samples_per_s,
        n_parameters=model.n_parameters_,
        fraction_of_matmul_rate=fraction,
        matmul_gflops=_RATE["matmul_flops_per_s"] / 1e9,
    )
    print(f"\n{Estimator.__name__}: {samples_per_s:.0f} samples/s, {fraction:.2f} of the "
          f"{_RATE['matmul_flops_per_s'] / 1e9:.0f} GFLOP/s matmul rate (target >= 0.6)")


@pytest.mark.parametrize("draw", ["torch.bernoulli", "uniform_below"])
def test_dynamic_binarisation(timed, draw):
    """A batch of 100 MNIST-sized images drawn as Bernoulli pixels: ``torch.bernoulli``
    (the reference, first) against the VAE's ``u < p`` from ``torch.rand``."""
    intensity = torch.rand(100, N_FEATURES, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(1)
    if draw == "torch.bernoulli":
        timed("binarise_bernoulli", lambda: torch.bernoulli(intensity, generator=generator),
              rounds=200)
    else:
        timed("binarise_uniform_below", lambda: _binarised(intensity, generator), rounds=200,
              against={"binarise_bernoulli": None})


LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 1 epoch
def test_conv_training_layout(timed, medians, benchmark, images, layout):
    """The built-in conv AE (MNIST's grid, channels 32-64-128, dense 512, batch 128) for
    one epoch over 5120 images, as built (channels-last) against the same network
    converted to the plain contiguous layout, which runs first as the reference."""
    n_images = 5120
    model = AE(N_COMPONENTS, architecture="conv", input_shape=(1, 28, 28),
               conv_channels=(32, 64, 128), hidden_layer_sizes=(512,), max_epochs=1,
               batch_size=128, warm_start=True, random_state=0).fit(images[:n_images])
    model.network_.to(memory_format=LAYOUTS[layout])
    key = f"conv_AE_epoch_{layout}"
    against = {"conv_AE_epoch_contiguous": None} if layout == "channels_last" else None
    timed(key, lambda: model.fit(images[:n_images]), rounds=3, against=against)
    benchmark.extra_info["training_samples_per_s"] = n_images / medians[key]


METHODS = {
    "POD": lambda: POD(N_COMPONENTS),
    "PCA": lambda: PCA(N_COMPONENTS),
    "AE": lambda: AE(N_COMPONENTS, hidden_layer_sizes=HIDDEN, max_epochs=1, random_state=0),
    "VAE": lambda: VAE(N_COMPONENTS, hidden_layer_sizes=HIDDEN, max_epochs=1, random_state=0),
}


@pytest.mark.parametrize("direction", ["transform", "inverse_transform"])
def test_bare_projection(timed, images, direction):
    """The reference for inference: one float32 matrix product of the same shape as a
    linear method's projection (n × 784 @ 784 × 30, or n × 30 @ 30 × 784)."""
    basis = np.random.default_rng(1).normal(size=(N_FEATURES, N_COMPONENTS)).astype(np.float32)
    codes = images @ basis
    if direction == "transform":
        timed(f"bare_projection_{direction}", lambda: images @ basis, rounds=20)
    else:
        timed(f"bare_projection_{direction}", lambda: codes @ basis.T, rounds=20)


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("direction", ["transform", "inverse_transform"])
def test_inference_throughput(timed, medians, benchmark, images, method, direction):
    model = METHODS[method]().fit(images)
    inputs = images if direction == "transform" else model.transform(images)
    function = getattr(model, direction)
    key = f"{method}_{direction}"
    timed(key, lambda: function(inputs), rounds=5,
          against={f"bare_projection_{direction}": None})
    benchmark.extra_info["samples_per_s"] = N_SAMPLES / medians[key]
