"""scikit-learn's estimator checks over every method and network configuration.

The built-in architectures pass every check. A user-defined network has the fixed input
width it was built for, so the checks that fit data of other widths do not apply to it;
they are listed, with that reason, and every other check must pass.
"""

import torch
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from dimred import AE, PCA, POD, VAE, QuadraticManifold

#: The width of the user-defined networks below.
WIDTH = 10


def _user_network(cls, **settings):
    k = 2
    n_outputs = 2 * k if cls is VAE else k
    return cls(n_components=k, max_epochs=3,
               encoder=torch.nn.Sequential(torch.nn.Linear(WIDTH, 8), torch.nn.ReLU(),
                                           torch.nn.Linear(8, n_outputs)),
               decoder=torch.nn.Sequential(torch.nn.Linear(k, 8), torch.nn.ReLU(),
                                           torch.nn.Linear(8, WIDTH)), **settings)


def _other_widths(estimator) -> dict[str, str]:
    """The checks that fit data whose width is not the network's: found by running
    them, and kept only when they fail on that width, nothing else."""
    if getattr(estimator, "encoder", None) is None:
        return {}
    reason = f"a user-defined network takes rows of width {WIDTH}; the check uses others"
    failed = {}
    for result in check_estimator(estimator, on_fail=None):
        if result["status"] == "failed" and _is_width_error(result["exception"]):
            failed[result["check_name"]] = reason
    return failed


def _is_width_error(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it was raised from, is dimred refusing rows of the
    wrong width for the network."""
    while error is not None:
        if "the encoder failed on a batch" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


@parametrize_with_checks(
    [
        POD(),
        POD(n_components=1, method="snapshots"),
        POD(n_components=0.9, method="covariance"),
        PCA(),
        QuadraticManifold(n_components=1),
        QuadraticManifold(n_components=1, basis="greedy", regularization=1e-6),
        AE(max_epochs=5, hidden_layer_sizes=(16,)),
        AE(max_epochs=3, hidden_layer_sizes=(16,), init="pod"),
        VAE(max_epochs=3, hidden_layer_sizes=(16,), init="pod"),
        AE(max_epochs=3, hidden_layer_sizes=(16,), pod_modes=3),
        VAE(max_epochs=3, hidden_layer_sizes=(16,), pod_modes=3, init="pod"),
        AE(max_epochs=3, architecture="conv", input_shape=(1, -1), conv_channels=(4,),
           hidden_layer_sizes=(8,), init="pod"),
        VAE(max_epochs=5, hidden_layer_sizes=(16,)),
        VAE(max_epochs=3, hidden_layer_sizes=(), noise_variance=0.5, kl_warmup_epochs=2),
        AE(max_epochs=3, architecture="conv", input_shape=(1, -1), conv_channels=(4,),
           hidden_layer_sizes=(8,)),
        VAE(max_epochs=3, architecture="conv", input_shape=(1, -1), conv_channels=(4, 4),
            padding="circular", hidden_layer_sizes=()),
        _user_network(AE),
        _user_network(VAE),
    ],
    expected_failed_checks=_other_widths,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
