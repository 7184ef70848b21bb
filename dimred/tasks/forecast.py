"""The forecast task: dynamics fitted on the training codes, rolled over the test block.

PyDMD forecasts from POD coordinates; here any reducer's codes: DMD on the codes (POD's
codes with DMD are the classical projected DMD, Schmid 2010) or a nonlinear one-step map
for a curved latent space. The roll-out starts from the last training code and steps
once per test snapshot; its decoded fields meet the test block.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from dimred.schema import TaskMetric
from dimred.tasks._base import Task, TaskResult

DYNAMICS = ("dmd", "mlp")


class Forecast(Task):
    """Fit dynamics on the codes of the training rows in time order; forecast the test
    block.

    Parameters
    ----------
    dynamics : {"dmd", "mlp"}, default="dmd"
        ``"dmd"``: PyDMD's ``DMD`` on the codes (snapshots in columns), its one-step
        operator ``Φ Λ Φ⁺`` (``DMD.predict``) applied once per step. ``"mlp"``: a
        one-step map ``z_{t+1} = z_t + f(z_t)``, ``f`` scikit-learn's ``MLPRegressor``
        (``hidden_layer_sizes``) on standardised codes.
    svd_rank : int or float, default=-1
        PyDMD's truncation of the codes: -1 keeps them all (the operator is then the
        least-squares ``Z_2 Z_1⁺``).
    hidden_layer_sizes : tuple of int, default=(64, 64)
    random_state : int, default=0

    The data's times must be evenly spaced and the test block must follow the training
    rows in time (the cylinder's last 48 snapshots).
    """

    needs = ("times",)
    decodes = True
    metrics = (TaskMetric.FORECAST_ERROR_1, TaskMetric.FORECAST_ERROR_10,
               TaskMetric.FORECAST_ERROR)

    def __init__(self, dynamics: str = "dmd", *, svd_rank: float = -1,
                 hidden_layer_sizes: tuple[int, ...] = (64, 64), random_state: int = 0):
        if dynamics not in DYNAMICS:
            raise ValueError(f"dynamics must be one of {DYNAMICS}, got {dynamics!r}")
        self.dynamics, self.svd_rank = dynamics, svd_rank
        self.hidden_layer_sizes, self.random_state = tuple(hidden_layer_sizes), random_state

    def missing(self, data: Any) -> list[str]:
        missing = super().missing(data)
        if missing:
            return missing
        train, test = np.sort(data["times_train"]), np.sort(data["times_test"])
        steps = np.diff(np.concatenate([train, test]))
        if test[0] <= train[-1] or not np.allclose(steps, steps[0], rtol=1e-6):
            return ["a test block that follows the training rows in time, evenly spaced"]
        return []

    def step(self, codes: np.ndarray):
        """The fitted one-step map on codes in time order (rows): a callable."""
        if self.dynamics == "dmd":
            from pydmd import DMD

            dmd = DMD(svd_rank=self.svd_rank).fit(codes.T)
            # PyDMD's one-step prediction is linear: its matrix, applied per step.
            operator = dmd.predict(np.eye(codes.shape[1])).real
            return lambda z: operator @ z
        model = TransformedTargetRegressor(
            MLPRegressor(hidden_layer_sizes=self.hidden_layer_sizes, max_iter=2000,
                         random_state=self.random_state),
            transformer=StandardScaler())
        scaler = StandardScaler().fit(codes)
        steps = np.diff(codes, axis=0)
        # One code: a 1-d target, as scikit-learn's regressors want (a column warns).
        model.fit(scaler.transform(codes[:-1]), steps[:, 0] if steps.shape[1] == 1 else steps)
        return lambda z: z + np.reshape(model.predict(scaler.transform(z[None])), -1)

    def roll(self, codes: np.ndarray, n_steps: int) -> np.ndarray:
        """The codes of the ``n_steps`` steps after the last of ``codes``."""
        step, state, rolled = self.step(codes), codes[-1], []
        for _ in range(n_steps):
            state = step(state)
            rolled.append(state)
        return np.array(rolled)

    def run(self, reducer: Any, data: Any) -> TaskResult:
        order, test_order = np.argsort(data["times_train"]), np.argsort(data["times_test"])
        codes = np.asarray(reducer.transform(data["X_train"]))
        dtype, codes = codes.dtype, codes.astype(np.float64)[order]
        X_test = np.asarray(data["X_test"], dtype=np.float64)[test_order]
        forecast = reducer.inverse_transform(self.roll(codes, len(X_test)).astype(dtype))
        residual = np.linalg.norm(X_test - forecast, axis=1)
        energy = np.linalg.norm(X_test, axis=1)
        within = [float(np.sqrt(np.sum(residual[:h]**2) / np.sum(energy[:h]**2)))
                  for h in (1, 10, len(X_test))]
        return TaskResult(
            {TaskMetric.FORECAST_ERROR_1: within[0], TaskMetric.FORECAST_ERROR_10: within[1],
             TaskMetric.FORECAST_ERROR: within[2]},
            curves={TaskMetric.FORECAST_CURVE: (residual / energy).tolist()})
