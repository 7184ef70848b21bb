"""dimred.testing.check_reducer: passes on the built-ins, fails with a clear message on
a reducer that breaks the contract."""

from __future__ import annotations

import numpy as np
import pytest

from dimred import AE, PCA, POD, VAE
from dimred.testing import ContractError, check_reducer

NEURAL = {"hidden_layer_sizes": (16,), "max_epochs": 20}


@pytest.mark.parametrize("estimator", [POD(2), PCA(2), AE(2, **NEURAL), VAE(2, **NEURAL)],
                         ids=["POD", "PCA", "AE", "VAE"])
def test_the_built_ins_keep_the_contract(estimator):
    # scikit-learn's own checks run over the same methods in test_estimator_checks.py.
    check_reducer(estimator, sklearn_checks=False)


class ScoreInBits(PCA):
    def score_samples(self, X):
        return super().score_samples(X) / np.log(2)


class ScorePerFeature(PCA):
    def score_samples(self, X):
        return super().score_samples(X) / X.shape[1]


class Float64Codes(PCA):
    def transform(self, X):
        return super().transform(X).astype(np.float64)


class ScoreNotItsSamples(POD):
    def score(self, X, y=None):
        return float(np.median(self.score_samples(X)))


@pytest.mark.parametrize(("broken", "message"), [
    (ScoreInBits(2), r"score: score is not a log-likelihood in nats .* moved by -17\.3"),
    (ScorePerFeature(2), r"exceeds minus the data's entropy"),
    (Float64Codes(2), r"dtype_rule: transform of float32 input gives float64"),
    (ScoreNotItsSamples(2), r"is not the mean of score_samples"),
])
def test_a_broken_reducer_is_named_with_its_fault(broken, message):
    with pytest.raises(ContractError, match=message):
        check_reducer(broken, sklearn_checks=False)


def test_scikit_learns_checks_are_part_of_it():
    with pytest.raises(ContractError, match="scikit-learn's check_transformer_preserve_dtypes"):
        check_reducer(Float64Codes(2))
