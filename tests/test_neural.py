"""AE and VAE behaviour: determinism, divergence, persistence, continuation, bounds."""

from __future__ import annotations

import itertools
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from dimred import AE, VAE
from dimred.arrays._streams import column_statistics
from dimred.neural.networks._layers import Standardise

SMALL = {"hidden_layer_sizes": (16,), "max_epochs": 5, "random_state": 0}


@pytest.fixture(scope="module")
def digits01():
    """sklearn digits scaled to [0, 1]: 1797 x 64, fast to train on."""
    return (load_digits().data / 16.0).astype(np.float32)


@pytest.mark.parametrize("Estimator", [AE, VAE])
def test_same_random_state_gives_identical_results(Estimator, digits01):
    first = Estimator(n_components=3, **SMALL).fit(digits01)
    second = Estimator(n_components=3, **SMALL).fit(digits01)
    other = Estimator(n_components=3, **{**SMALL, "random_state": 1}).fit(digits01)
    np.testing.assert_array_equal(first.transform(digits01), second.transform(digits01))
    assert first.loss_curve_ == second.loss_curve_
    assert not np.array_equal(first.transform(digits01), other.transform(digits01))


@pytest.mark.parametrize("Estimator", [AE, VAE])
def test_training_reduces_the_loss(Estimator, digits01):
    model = Estimator(n_components=4, **{**SMALL, "max_epochs": 15}).fit(digits01)
    assert model.n_iter_ == 15 == len(model.loss_curve_)
    assert model.loss_curve_[-1] < 0.8 * model.loss_curve_[0]
    assert model.n_parameters_ == sum(p.numel() for p in model.network_.parameters())


def test_an_ae_that_learns_nothing_says_so(digits01):
    # Data far from the network's starting outputs, and a rate too small to reach it:
    # the loss stays above the mean predictor's, as for a network stuck at one output.
    with pytest.warns(ConvergenceWarning, match="no better than predicting every row"):
        AE(n_components=2, **{**SMALL, "learning_rate": 1e-9}).fit(digits01 + 5.0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*no better than predicting",
                                category=ConvergenceWarning)
        AE(n_components=8, **{**SMALL, "max_epochs": 60}).fit(digits01)


@pytest.mark.parametrize("Estimator", [AE, VAE])
@pytest.mark.parametrize(
    ("scale", "learning_rate"), [(1e20, 1e-3), (1.0, 1e12)], ids=["unscaled", "high-lr"]
)
def test_divergence_stops_with_a_clear_error_and_no_nan_model(
    Estimator, digits01, scale, learning_rate
):
    model = Estimator(n_components=2, learning_rate=learning_rate, **SMALL)
    with pytest.raises(FloatingPointError, match=r"learning rate.*scaled"):
        model.fit(digits01.astype(np.float64) * scale)
    with pytest.raises(NotFittedError):
        model.transform(digits01)


@pytest.mark.parametrize("Estimator", [AE, VAE])
@pytest.mark.parametrize("dump", [pickle.dumps, lambda m: _joblib_bytes(m)],
                         ids=["pickle", "joblib"])
def test_persistence_reproduces_transform_exactly(Estimator, digits01, dump, tmp_path):
    model = Estimator(n_components=3, **SMALL).fit(digits01)
    restored = pickle.loads(dump(model))
    for X in (digits01, digits01.astype(np.float64)):
        np.testing.assert_array_equal(restored.transform(X), model.transform(X))
        np.testing.assert_array_equal(restored.score_samples(X), model.score_samples(X))
    # The pickle carries plain arrays, not torch objects.
    assert b"torch._utils" not in pickle.dumps(model)


def _joblib_bytes(model):
    import io

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    return pickle.dumps(joblib.load(buffer))


@pytest.mark.parametrize("Estimator", [AE, VAE])
def test_partial_fit_runs_one_epoch_per_call_and_learns(Estimator, digits01):
    model = Estimator(n_components=3, **SMALL)
    for _ in range(6):
        model.partial_fit(digits01)
    assert model.n_iter_ == 6
    assert model.loss_curve_[-1] < model.loss_curve_[0]


@pytest.mark.parametrize("Estimator", [AE, VAE])
def test_warm_start_continues_from_the_fitted_weights(Estimator, digits01):
    cold = Estimator(n_components=3, **SMALL).fit(digits01)
    warm = Estimator(n_components=3, warm_start=True, **SMALL).fit(digits01)
    first_loss_again = cold.fit(digits01).loss_curve_[0]
    warm.fit(digits01)
    assert warm.n_iter_ == 2 * SMALL["max_epochs"]
    assert warm.loss_curve_[SMALL["max_epochs"]] < first_loss_again


def test_early_stopping_records_validation_scores_and_stops(digits01):
    model = AE(n_components=3, early_stopping=True, n_iter_no_change=2, tol=10.0,
               **{**SMALL, "max_epochs": 50}).fit(digits01)
    assert model.n_iter_ == 3  # tol is so large that no epoch counts as an improvement
    assert len(model.validation_scores_) == model.n_iter_
    assert all(score < 0 for score in model.validation_scores_)


def test_verbose_shows_a_progress_bar_with_the_loss(digits01, capsys):
    AE(n_components=2, verbose=True, **SMALL).fit(digits01)
    assert "loss=" in capsys.readouterr().err


def test_sample_and_interpolate_shapes(digits01):
    vae = VAE(n_components=3, likelihood="bernoulli", **SMALL).fit(digits01)
    samples = vae.sample(7, random_state=0)
    assert samples.shape == (7, 64)
    assert np.all((samples >= 0) & (samples <= 1))  # Bernoulli means
    np.testing.assert_array_equal(samples, vae.sample(7, random_state=0))
    path = vae.interpolate(digits01[:4], digits01[4:8], n_steps=6)
    assert path.shape == (4, 6, 64)
    np.testing.assert_allclose(path[:, 0], vae.inverse_transform(vae.transform(digits01[:4])),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="n_samples"):
        vae.sample(0)
    with pytest.raises(ValueError, match="same number of rows"):
        vae.interpolate(digits01[:4], digits01[:3])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_epochs": 0}, "max_epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": -1e-3}, "learning_rate"),
        ({"hidden_layer_sizes": (16, 0)}, "hidden_layer_sizes"),
        ({"activation": "swish"}, "activation"),
        ({"device": "tpu"}, "device"),
        ({"beta": -1.0}, "beta"),
        ({"likelihood": "poisson"}, "likelihood"),
        ({"noise_variance": 0.0}, "noise_variance"),
        ({"likelihood": "bernoulli", "output_activation": "identity"}, "output_activation"),
        ({"dynamic_binarization": True}, "bernoulli"),
    ],
)
def test_bad_hyper_parameters_are_refused(params, message, digits01):
    with pytest.raises((ValueError, TypeError), match=message):
        VAE(**{**SMALL, **params}).fit(digits01)


def test_cuda_without_a_gpu_is_refused(digits01):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")  # only GPU machines; CI has none
    with pytest.raises(ValueError, match="cuda"):
        AE(device="cuda", **SMALL).fit(digits01)


def test_bernoulli_needs_data_in_the_unit_interval(digits01):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        VAE(likelihood="bernoulli", **SMALL).fit(digits01 * 2.0)
    fitted = VAE(likelihood="bernoulli", **SMALL).fit(digits01)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fitted.score_samples(digits01 - 0.5)


@pytest.fixture(scope="module")
def binary_vae(digits01):
    binary = (digits01 > 0.5).astype(np.float32)
    vae = VAE(n_components=4, likelihood="bernoulli", hidden_layer_sizes=(64,),
              max_epochs=30, random_state=0).fit(binary)
    return vae, binary[:400]


def test_importance_weighted_bound_with_one_sample_is_the_elbo(binary_vae):
    vae, X = binary_vae
    elbo = vae.score_samples(X)
    iwae_1 = vae.log_likelihood(X, n_importance_samples=1, random_state=0)
    difference = iwae_1 - elbo
    standard_error = difference.std(ddof=1) / np.sqrt(len(difference))
    assert abs(difference.mean()) < 4 * standard_error + 1e-3


def test_importance_weighted_bound_tightens_with_more_samples(binary_vae):
    vae, X = binary_vae
    elbo = vae.score_samples(X).mean()
    estimates = [
        vae.log_likelihood(X, n_importance_samples=k, random_state=0).mean()
        for k in (1, 10, 100, 1000)
    ]
    assert estimates[-1] >= elbo
    assert all(b >= a for a, b in itertools.pairwise(estimates))
    assert estimates[-1] > estimates[0] + 0.1  # a real tightening, not noise


def test_elbo_is_not_the_decoded_mean(binary_vae):
    """Decoding only z = mean overstates the ELBO: the sampled expectation is lower."""
    import torch

    vae, X = binary_vae
    with torch.no_grad():
        x = torch.tensor(X)
        mean, log_variance = vae._encode(vae.network_, x)
        from dimred.neural._vae import _kl_to_prior

        at_mean = (vae._log_px(vae.network_, x, mean) - _kl_to_prior(mean, log_variance)).numpy()
    assert at_mean.mean() > vae.score_samples(X).mean()


def test_burdas_schedule_runs_3_to_the_i_epochs_at_10_to_the_minus_i_over_7(digits01):
    from dimred.neural._training import lr_factor

    factors = [lr_factor(epoch, 3280, "burda") for epoch in range(3300)]
    stages = [factors.count(10.0 ** (-i / 7)) for i in range(8)]
    assert stages[:7] == [3**i for i in range(7)] and sum(stages) == 3300
    assert lr_factor(100, 100, "constant") == 1.0
    with pytest.raises(ValueError, match="learning_rate_schedule"):
        AE(learning_rate_schedule="step", max_epochs=1).fit(digits01)


def test_the_cross_entropy_trains_an_ae_on_data_in_the_unit_interval(digits01):
    bce = AE(n_components=4, loss="bce", **{**SMALL, "max_epochs": 15}).fit(digits01)
    reconstruction = bce.inverse_transform(bce.transform(digits01))
    assert 0 <= reconstruction.min() and reconstruction.max() <= 1  # the sigmoid mean
    # Nats per entry, below the mean predictor's cross-entropy, and a fair reconstruction.
    assert bce.loss_curve_[-1] < bce._mean_predictor_loss(column_statistics(digits01))
    mse = AE(n_components=4, **{**SMALL, "max_epochs": 15}).fit(digits01)
    assert bce.reconstruction_error(digits01) < 1.5 * mse.reconstruction_error(digits01)
    with pytest.raises(ValueError, match=r"loss='bce' needs data in \[0, 1\]"):
        AE(loss="bce", max_epochs=1).fit(digits01 * 2)
    with pytest.raises(ValueError, match="output_activation must be None or 'sigmoid'"):
        AE(loss="bce", output_activation="identity", max_epochs=1).fit(digits01)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("Estimator", [AE, VAE])
def test_a_fit_does_not_depend_on_the_datas_origin_and_unit(Estimator, architecture,
                                                              digits01):
    """With a linear output the built-in networks work in standardised units: data
    moved far from the origin and rescaled (Burgers' velocity is 3.8 +/- 1.7) trains to
    the same codes, and decodes to the same rows in its own units."""
    # One epoch: over more, Adam's epsilon, fixed in the gradient's units, weighs on
    # the AE's smallest gradients differently when its squared error is 64x larger.
    settings = {**SMALL, "max_epochs": 1, "architecture": architecture,
                "input_shape": (1, 8, 8)}
    # Powers of two: the moved data is exact in float32, so only the rounding of the
    # standardisation separates the two fits.
    moved = 64.0 + 8.0 * digits01
    plain = Estimator(n_components=3, **settings).fit(digits01)
    shifted = Estimator(n_components=3, **settings).fit(moved)
    codes = plain.transform(digits01)
    np.testing.assert_allclose(shifted.transform(moved), codes, atol=1e-4 * np.abs(codes).max())
    np.testing.assert_allclose(shifted.inverse_transform(codes),
                               64.0 + 8.0 * plain.inverse_transform(codes), atol=1e-3)


@pytest.mark.parametrize("settings", [{"output_activation": "sigmoid"}, {"loss": "bce"}])
def test_a_decoder_of_probabilities_takes_the_data_as_it_is(settings, digits01):
    """Data in [0, 1] has fixed units: a sigmoid or logit decoder's network has no
    standardisation; a linear one has it on both ends."""
    model = AE(n_components=2, **SMALL, **settings).fit(digits01)
    assert not [m for m in model.network_.modules() if isinstance(m, Standardise)]
    linear = AE(n_components=2, **SMALL).fit(digits01)
    assert len([m for m in linear.network_.modules() if isinstance(m, Standardise)]) == 2


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_a_sigmoid_output_starts_at_the_datas_mean(digits01, architecture):
    """The output bias starts at the logit of the mean (per pixel, or per channel for a
    convolution), so that the first epoch starts near the mean predictor, far from the
    sigmoid's saturation."""
    settings = {"architecture": architecture, "input_shape": (1, 8, 8),
                "output_activation": "sigmoid", "random_state": 0}
    model = AE(n_components=2, max_epochs=1, **settings)
    model._validate_rows(digits01, reset=True)
    model._check_architecture(digits01)
    rows = model._rows(digits01)
    network = model._new_network(rows, rows.statistics(), model._generator())
    bias = [m.bias for m in network.decoder.modules()
            if isinstance(getattr(m, "bias", None), torch.Tensor)][-1]
    mean = np.clip(digits01.mean(axis=0, dtype=np.float64), 1e-4, 1 - 1e-4)
    logit = np.log(mean / (1 - mean))
    expected = logit if architecture == "mlp" else [logit.mean()]
    np.testing.assert_allclose(bias.detach().numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("Estimator", [AE, VAE])
def test_bf16_training_reaches_float32s_loss(Estimator, digits01):
    """Autocast to bfloat16 for the forward pass and the loss: a close loss, float32
    weights and float32 codes."""
    settings = {**SMALL, "max_epochs": 15}
    single = Estimator(n_components=4, **settings).fit(digits01)
    half = Estimator(n_components=4, precision="bf16", **settings).fit(digits01)
    assert all(p.dtype == torch.float32 for p in half.network_.parameters())
    assert half.transform(digits01).dtype == np.float32
    assert half.loss_curve_[-1] < 0.8 * half.loss_curve_[0]
    np.testing.assert_allclose(half.loss_curve_[-1], single.loss_curve_[-1], rtol=0.05)
    assert half.loss_curve_ != single.loss_curve_  # it did change the arithmetic


def test_dynamic_binarization_draws_bernoulli_pixels_of_the_given_intensity():
    from dimred.neural._vae import _binarised

    intensity = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0]).repeat(40_000, 1)
    draws = _binarised(intensity, torch.Generator().manual_seed(0))
    assert draws.dtype == intensity.dtype
    assert set(draws.unique().tolist()) == {0.0, 1.0}
    assert draws[:, 0].sum() == 0 and draws[:, -1].sum() == len(draws)
    # Each column's frequency within 5 standard errors of its probability.
    standard_error = (intensity[0] * (1 - intensity[0]) / len(draws)).sqrt()
    assert torch.all((draws.mean(0) - intensity[0]).abs() <= 5 * standard_error + 1e-12)
    # Draw for draw what torch.bernoulli gives from the same generator state, so the
    # faster draw leaves every published dynamically binarised figure as it was.
    reference = torch.bernoulli(intensity, generator=torch.Generator().manual_seed(0))
    assert torch.equal(draws, reference)
    assert not torch.equal(draws, _binarised(intensity, torch.Generator().manual_seed(1)))
