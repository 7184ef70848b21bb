"""scikit-learn's estimator checks over every method, with no expected-failure list."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from dimred import PCA, POD


@parametrize_with_checks(
    [
        POD(),
        POD(n_components=1, method="snapshots"),
        POD(n_components=0.9, method="covariance"),
        PCA(),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
