"""The contract every method keeps: bad input is refused clearly, dtypes are preserved."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from sklearn.exceptions import NotFittedError

from dimred import AE, PCA, POD, VAE

ESTIMATORS = {
    "POD": lambda **kw: POD(n_components=2, **kw),
    "PCA": lambda **kw: PCA(n_components=2, **kw),
    "AE": lambda **kw: AE(n_components=2, max_epochs=2, hidden_layer_sizes=(8,), **kw),
    "VAE": lambda **kw: VAE(n_components=2, max_epochs=2, hidden_layer_sizes=(8,), **kw),
}
LINEAR = {"POD", "PCA"}


@pytest.fixture(params=sorted(ESTIMATORS))
def make(request):
    return ESTIMATORS[request.param]


@pytest.fixture(params=sorted(LINEAR))
def make_linear(request):
    return ESTIMATORS[request.param]


def _good(n_samples=20, n_features=5):
    return np.random.default_rng(0).uniform(size=(n_samples, n_features))


def _with(value):
    X = _good()
    X = X.astype(type(value)) if not isinstance(value, float) else X
    X[3, 2] = value
    return X


BAD_DATA = {
    "nan": (_with(np.nan), ValueError, "NaN"),
    "inf": (_with(np.inf), ValueError, "infinity"),
    "empty": (np.empty((0, 5)), ValueError, "0 sample"),
    "no features": (np.empty((5, 0)), ValueError, "0 feature"),
    "1-D": (np.arange(10.0), ValueError, "2D array"),
    "3-D": (np.ones((4, 3, 2)), ValueError, "dim 3"),
    "strings": (np.array([["a", "b"], ["c", "d"], ["e", "f"]]), ValueError, "convert"),
    "object": (np.array([[1.0, "x"], [2.0, None]], dtype=object), (ValueError, TypeError), "float"),
    "complex": (_good().astype(complex) + 1j, ValueError, "Complex"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_is_refused_in_fit(make, case):
    X, error, message = BAD_DATA[case]
    with pytest.raises(error, match=message):
        make().fit(X)


def test_width_mismatch_is_refused(make):
    model = make().fit(_good(n_features=5))
    with pytest.raises(ValueError, match="5 features"):
        model.transform(_good(n_features=4))
    with pytest.raises(ValueError, match="2"):
        model.inverse_transform(np.ones((3, 3)))


def test_transform_before_fit_is_refused(make):
    with pytest.raises(NotFittedError):
        make().transform(_good())


@pytest.mark.parametrize("n_components", [0, -1, 1.5, 0.0, "three", [2]])
def test_bad_n_components_is_refused(make, n_components):
    with pytest.raises((ValueError, TypeError), match="n_components"):
        make().set_params(n_components=n_components).fit(_good(n_features=5, n_samples=20))


@pytest.mark.parametrize("n_components", [6, 21])
def test_more_components_than_the_data_has_is_refused(make_linear, n_components):
    # An autoencoder may be overcomplete; a linear decomposition cannot.
    with pytest.raises(ValueError, match="n_components"):
        make_linear().set_params(n_components=n_components).fit(_good(n_features=5, n_samples=20))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(make, dtype):
    X = _good().astype(dtype)
    model = make().fit(X)
    codes = model.transform(X)
    assert codes.dtype == dtype
    assert model.inverse_transform(codes).dtype == dtype


def test_reconstruction_error_is_mean_squared_error_per_entry(make):
    X = _good()
    model = make().fit(X)
    expected = np.mean((X - model.inverse_transform(model.transform(X))) ** 2)
    assert model.reconstruction_error(X) == pytest.approx(expected, rel=1e-12)
    assert model.reconstruction_error(X) > 0
    assert model.n_parameters_ > 0


def test_pod_refuses_sparse_input_clearly():
    with pytest.raises(TypeError, match=r"[Ss]parse"):
        POD(n_components=2).fit(scipy.sparse.random(20, 5, density=0.5, format="csr"))


def test_pca_accepts_sparse_where_sklearn_does():
    X = scipy.sparse.random(30, 6, density=0.5, format="csr", random_state=0)
    model = PCA(n_components=2, svd_solver="arpack").fit(X)
    dense = PCA(n_components=2, svd_solver="full").fit(X.toarray())
    assert model.reconstruction_error(X) == pytest.approx(dense.reconstruction_error(X.toarray()))


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (-np.ones(5), "strictly positive"),
        (np.r_[1.0, 1, 0, 1, 1], "strictly positive"),
        (np.r_[1.0, 1, np.nan, 1, 1], "NaN"),
        (np.ones(4), "one positive weight per feature"),
        (np.ones((5, 1)), "one positive weight per feature"),
    ],
)
def test_bad_weights_are_refused(weights, message):
    with pytest.raises(ValueError, match=message):
        POD(n_components=2, weights=weights).fit(_good())


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method"):
        POD(method="svd").fit(_good())


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_missing_values_get_a_reducers_advice(make, value):
    """Every built-in says the same, in fit, fit_transform, transform and score."""
    name = type(make()).__name__
    advice = f"X contains NaN or infinity: {name} reduces complete rows"
    for fit in ("fit", "fit_transform"):
        with pytest.raises(ValueError, match=advice) as refused:
            getattr(make(), fit)(_with(value))
        assert "supervised" not in str(refused.value)
        assert "HistGradientBoosting" not in str(refused.value)
    fitted = make().fit(_good())
    for method in ("transform", "score_samples"):
        with pytest.raises(ValueError, match=advice):
            getattr(fitted, method)(_with(value))
