"""scikit-learn's estimator checks over every method, with no expected-failure list."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from dimred import AE, PCA, POD, VAE


@parametrize_with_checks(
    [
        POD(),
        POD(n_components=1, method="snapshots"),
        POD(n_components=0.9, method="covariance"),
        PCA(),
        AE(max_epochs=5, hidden_layer_sizes=(16,)),
        VAE(max_epochs=5, hidden_layer_sizes=(16,)),
        VAE(max_epochs=3, hidden_layer_sizes=(), noise_variance=0.5, kl_warmup_epochs=2),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
