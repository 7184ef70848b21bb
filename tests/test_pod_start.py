"""Networks that start at POD (``init="pod"``): before any update an AE reconstructs as
POD does and a VAE is probabilistic PCA; training keeps the linear path and learns a
correction; every built-in architecture and input route gets it."""

import pickle

import mlflow
import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA as SklearnPCA

from dimred import AE, POD, VAE
from dimred.benchmark._model import log_estimator
from dimred.neural import _pod_start
from dimred.testing import check_reducer


def curved(n_samples=300, n_features=40, seed=0) -> np.ndarray:
    """Rows on a curved 3-parameter manifold in 40 dimensions, far from the origin: no
    k-dimensional subspace holds them, so POD's error is far above round-off."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, (n_samples, 3))
    return np.hstack([t, t**2, np.sin(3 * t)]) @ rng.standard_normal((9, n_features)) + 5


def started(model, X: np.ndarray):
    """``model`` with the network it starts training from: built, given its data units
    and initialised from ``X``, not yet updated once."""
    X = model._validate_rows(X, reset=True)
    model._check_architecture(X)
    rows = model._rows(X)
    model.network_ = model._new_network(rows, model._statistics(rows), model._generator())
    model.n_components_, model.device_ = model.n_components, "cpu"
    return model


def relative_error(model, X) -> float:
    reconstruction = model.inverse_transform(model.transform(X))
    return float(np.linalg.norm(X - reconstruction) / np.linalg.norm(X))


@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("settings", [
    {},
    {"hidden_layer_sizes": (64, 32), "activation": "tanh"},
    {"architecture": "conv", "input_shape": (1, 40), "conv_channels": (4, 8)},
])
def test_an_ae_started_at_pod_has_pods_training_error_before_its_first_update(k, settings):
    X = curved()
    pod_error = relative_error(POD(n_components=k).fit(X), X)
    model = started(AE(n_components=k, init="pod", random_state=0, **settings), X)
    assert pod_error > 1e-3  # the data is not in a k-dimensional subspace
    assert abs(relative_error(model, X) - pod_error) <= 1e-5 * pod_error
    random_start = started(AE(n_components=k, random_state=0, **settings), X)
    assert abs(relative_error(random_start, X) - pod_error) > 0.1 * pod_error  # planted


def test_the_code_is_pods_whitened():
    X = curved()
    model = started(AE(n_components=3, init="pod", random_state=0), X)
    codes = model.transform(X)
    pod_codes = POD(n_components=3).fit(X).transform(X)
    np.testing.assert_allclose(codes.std(axis=0), 1, rtol=1e-5)
    np.testing.assert_allclose(np.abs(np.sum(codes * pod_codes, axis=0))
                               / np.linalg.norm(codes, axis=0)
                               / np.linalg.norm(pod_codes, axis=0), 1, rtol=1e-6)


def test_a_vae_started_at_pod_is_probabilistic_pca():
    """Its noise variance, posterior mean and posterior variance are Tipping & Bishop's
    maximum-likelihood ones (sklearn's PCA, whose variances divide by n - 1)."""
    X = curved()
    n, k = X.shape[0], 3
    model = started(VAE(n_components=k, init="pod", random_state=0), X)
    pca = SklearnPCA(n_components=k).fit(X)
    noise = pca.noise_variance_ * (n - 1) / n
    variances = pca.explained_variance_ * (n - 1) / n
    assert model.noise_variance_ == pytest.approx(noise, rel=1e-5)
    # posterior mean: M^-1 W^T (x - mean), in whitened codes, up to each code's sign
    expected = pca.transform(X) * np.sqrt(variances - noise) / variances
    codes = model.transform(X)
    np.testing.assert_allclose(np.abs(codes), np.abs(expected), rtol=1e-4, atol=1e-6)
    _, log_variance = model._encode(model.network_, torch.tensor(X, dtype=torch.float32))
    np.testing.assert_allclose(np.exp(log_variance.detach().numpy()),
                               np.broadcast_to(noise / variances, codes.shape), rtol=1e-4)


def test_training_from_pod_lowers_the_training_error():
    X = curved()
    pod_error = relative_error(POD(n_components=3).fit(X), X)
    settings = dict(n_components=3, init="pod", hidden_layer_sizes=(64, 32), random_state=0)
    model = AE(max_epochs=200, **settings).fit(X)
    assert relative_error(model, X) < 0.75 * pod_error
    linear = started(AE(**settings), X).network_
    trained = model.network_
    for name, buffer in linear.named_buffers():  # the POD path is fixed
        torch.testing.assert_close(dict(trained.named_buffers())[name], buffer)


def test_streamed_rows_start_at_the_same_modes(tmp_path, monkeypatch):
    X = curved(n_samples=400)
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    pod_error = relative_error(POD(n_components=4).fit(X), X)
    dense = started(AE(n_components=4, init="pod", random_state=0), X_map)
    assert relative_error(dense, X) == pytest.approx(pod_error, rel=1e-5)
    monkeypatch.setattr(_pod_start, "DENSE_LIMIT", 10)  # 40 features: the randomized route
    randomized = started(AE(n_components=4, init="pod", random_state=0), X_map)
    assert relative_error(randomized, X) == pytest.approx(pod_error, rel=1e-4)


@pytest.mark.parametrize("settings, what", [
    ({"loss": "bce"}, "no logits"),
    ({"output_activation": "sigmoid"}, "no sigmoid"),
    ({"encoder": torch.nn.Linear(40, 2), "decoder": torch.nn.Linear(2, 40)}, "your own"),
])
def test_a_network_that_cannot_start_at_pod_is_refused(settings, what):
    with pytest.raises(ValueError, match=f"init='pod'.*{what}"):
        AE(n_components=2, init="pod", **settings).fit(np.random.default_rng(0).uniform(
            size=(50, 40)))


def test_the_contract_pickle_and_mlflow(tmp_path):
    check_reducer(AE(n_components=2, init="pod", max_epochs=5), sklearn_checks=False)
    check_reducer(VAE(n_components=2, init="pod", max_epochs=5), sklearn_checks=False)
    X = curved().astype(np.float32)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("pod", artifact_location=(tmp_path / "a").as_uri())
    for model in (AE(n_components=2, init="pod", max_epochs=3, random_state=0),
                  VAE(n_components=2, pod_modes=8, init="pod", max_epochs=3, random_state=0)):
        codes = model.fit(X).transform(X)
        again = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(again.transform(X), codes)
        np.testing.assert_array_equal(again.inverse_transform(codes),
                                      model.inverse_transform(codes))
        with mlflow.start_run(experiment_id=experiment):
            uri = log_estimator(model, X[:50])
        np.testing.assert_array_equal(mlflow.pyfunc.load_model(uri).predict(X[:50]),
                                      codes[:50])


# ------------------------------------------------------------ on POD coefficients
def test_a_network_on_pod_coefficients_decodes_in_the_span_of_its_modes():
    X = curved()
    model = AE(n_components=3, pod_modes=12, max_epochs=20, random_state=0).fit(X)
    reconstruction = model.inverse_transform(model.transform(X))
    pod = POD(n_components=12).fit(X)
    inside = pod.inverse_transform(pod.transform(reconstruction))
    np.testing.assert_allclose(inside, reconstruction, atol=1e-4 * np.abs(X).max())
    assert model.n_pod_modes_ == 12
    plain = AE(n_components=3, random_state=0, max_epochs=1).fit(X)
    # the layers are 12 wide at the ends, not 40; the 40 x 12 modes are counted once
    assert model.n_parameters_ == plain.n_parameters_ - 2 * 28 * 256 - 28 + 40 * 12


def test_pod_coefficients_and_a_pod_start_together_start_at_pods_error():
    X = curved()
    pod_error = relative_error(POD(n_components=3).fit(X), X)
    model = started(AE(n_components=3, pod_modes=20, init="pod", random_state=0), X)
    assert abs(relative_error(model, X) - pod_error) <= 1e-5 * pod_error
    trained = AE(n_components=3, pod_modes=20, init="pod", hidden_layer_sizes=(64, 32),
                 max_epochs=200, random_state=0).fit(X)
    assert relative_error(trained, X) < pod_error


def test_pod_modes_are_refused_where_they_cannot_apply():
    X = curved()
    with pytest.raises(ValueError, match="pod_modes=2 must be at least n_components=3"):
        AE(n_components=3, pod_modes=2).fit(X)
    with pytest.raises(ValueError, match="no conv"):
        AE(n_components=2, pod_modes=8, architecture="conv", input_shape=(1, 40)).fit(X)
    few = AE(n_components=2, pod_modes=500, max_epochs=1).fit(X[:30])
    assert few.n_pod_modes_ == 30  # no more modes than rows


def test_the_pod_coefficient_networks_pass_the_contract():
    for Estimator in (AE, VAE):
        check_reducer(Estimator(n_components=2, pod_modes=6, max_epochs=5),
                      sklearn_checks=False)
