"""The parametric task: a non-intrusive reduced-order model (EZyRB's job).

The codes of the training rows are regressed on their parameters (and time, where the
data has both), the regression is evaluated at the test parameters, and its codes are
decoded. Lee & Carlberg 2020 and Fresca & Manzoni's POD-DL-ROM report this error at
unseen parameters, not the projection error: a reducer whose codes reconstruct well
may still regress badly.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
from scipy.interpolate import RBFInterpolator
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from dimred.arrays._streams import relative_error
from dimred.schema import TaskMetric
from dimred.tasks._base import Task, TaskResult, held_out

REGRESSORS = ("rbf", "gpr", "knn", "mlp")
#: Rows the GPR's kernel is fitted on, at most (it is then conditioned on all).
KERNEL_ROWS = 200
#: What ``search`` may choose, per regressor.
SEARCHABLE = {"rbf": ("kernel", "epsilon", "smoothing"), "knn": ("n_neighbors",),
              "gpr": (), "mlp": ()}


class Parametric(Task):
    """Regress the codes on the parameters μ, decode at the test μ.

    Parameters
    ----------
    regressor : {"rbf", "gpr", "knn", "mlp"}, default="rbf"
        ``"rbf"``: scipy's ``RBFInterpolator`` (``kernel``, ``epsilon``,
        ``smoothing``). ``"gpr"``: scikit-learn's ``GaussianProcessRegressor`` with a
        constant times an anisotropic RBF kernel plus white noise, its hyper-parameters
        fitted by marginal likelihood, one process per code (on at most 400 rows,
        then conditioned on all). ``"knn"``: ``KNeighborsRegressor``
        (``n_neighbors``, distance-weighted). ``"mlp"``: a small network,
        ``MLPRegressor`` (64, 64) on standardised codes.
    with_time : bool, default=True
        Regress on (μ, t) where the data has times as well as parameters (a trajectory
        per μ, as Burgers'), else on μ alone.
    scale_inputs : bool, default=True
        Map each input to [0, 1] over the training rows first, so that a distance in
        (μ_1, μ_2, t) does not depend on their units (μ_2 = 0.02 beside t = 35).
        EZyRB does not; ``False`` reproduces its POD-RBF.
    kernel, epsilon, smoothing : RBFInterpolator's, for ``"rbf"``.
        Defaults as EZyRB's ``RBF``: thin-plate spline, epsilon 1, interpolation.
    n_neighbors : int, default=5
        For ``"knn"``.
    search : dict of str to list, optional
        Options to choose among, by the error of the reduced-order model at held-out
        parameters: ``kernel``, ``epsilon`` and ``smoothing`` for ``"rbf"``,
        ``n_neighbors`` for ``"knn"`` (``"gpr"`` fits its kernel by marginal likelihood).
        The split is ``data["validation_split"]`` (fit rows, validation rows) where the
        data carries one (a suite's cell gives its tuning split, whole μ held out), else
        a fifth of the training parameter points, drawn with ``random_state``. Every
        combination is tried, each regressed from the fit rows' codes; the chosen one
        is refitted on all training rows. The test rows are not seen.
    random_state : int, default=0
        For ``"gpr"``'s optimizer restarts, ``"mlp"``'s initialisation and the search's
        split.
    """

    needs = ("params",)
    decodes = True
    metrics = (TaskMetric.ROM_ERROR, TaskMetric.PROJECTION_ERROR, TaskMetric.REGRESSION_ERROR,
               TaskMetric.VALIDATION_ROM_ERROR)

    def __init__(self, regressor: str = "rbf", *, with_time: bool = True,
                 scale_inputs: bool = True, kernel: str = "thin_plate_spline",
                 epsilon: float = 1.0, smoothing: float = 0.0, n_neighbors: int = 5,
                 search: dict[str, list] | None = None, random_state: int = 0):
        if regressor not in REGRESSORS:
            raise ValueError(f"regressor must be one of {REGRESSORS}, got {regressor!r}")
        for name, values in (search or {}).items():
            if name not in SEARCHABLE[regressor]:
                raise ValueError(f"search: {name!r} is not an option of regressor "
                                 f"{regressor!r} to search; it has {SEARCHABLE[regressor]}")
            if not isinstance(values, list) or not values:
                raise ValueError(f"search: {name} must be a non-empty list of values")
        self.search = dict(search or {})
        self.regressor, self.with_time, self.scale_inputs = regressor, with_time, scale_inputs
        self.kernel, self.epsilon, self.smoothing = kernel, float(epsilon), float(smoothing)
        self.n_neighbors, self.random_state = int(n_neighbors), random_state

    def inputs(self, data: Any, split: str) -> np.ndarray:
        """The regression's inputs of the ``split`` ("train" or "test") rows."""
        columns = [np.asarray(data[f"params_{split}"], dtype=np.float64).reshape(
            len(data[f"X_{split}"]), -1)]
        if self.with_time and data.get(f"times_{split}") is not None:
            columns.append(np.asarray(data[f"times_{split}"], dtype=np.float64)[:, None])
        return np.hstack(columns)

    def regression(self, inputs: np.ndarray, codes: np.ndarray):
        """The fitted map from inputs to codes: a callable on new inputs."""
        codes = np.asarray(codes, dtype=np.float64)
        if self.regressor == "rbf":
            return RBFInterpolator(inputs, codes, kernel=self.kernel, epsilon=self.epsilon,
                                   smoothing=self.smoothing)
        model = {
            "gpr": lambda: _GaussianProcess(inputs.shape[1], self.random_state),
            "knn": lambda: KNeighborsRegressor(self.n_neighbors, weights="distance"),
            "mlp": lambda: TransformedTargetRegressor(
                MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=2000,
                             random_state=self.random_state),
                transformer=StandardScaler()),
        }[self.regressor]()
        return model.fit(inputs, codes).predict

    def predict_codes(self, codes: np.ndarray, data: Any) -> np.ndarray:
        """The codes at the test inputs, regressed from the training rows' ``codes``:
        shape ``(n_test, k)``, in the dtype of ``codes``."""
        train, test = self.inputs(data, "train"), self.inputs(data, "test")
        if self.scale_inputs:
            scaler = MinMaxScaler().fit(train)
            train, test = scaler.transform(train), scaler.transform(test)
        predicted = self.regression(train, codes)(test)
        return np.asarray(predicted, dtype=codes.dtype).reshape(len(test), -1)

    def run(self, reducer: Any, data: Any) -> TaskResult:
        # Codes and fields as numpy: a streamed (dask) data set's test block is read here.
        codes = np.asarray(reducer.transform(data["X_train"]))
        X_test = np.asarray(data["X_test"])
        chosen, validation_error = self.choose(reducer, codes, data)
        task = self.with_options(chosen)
        model = np.asarray(reducer.inverse_transform(task.predict_codes(codes, data)))
        projected = np.asarray(reducer.inverse_transform(reducer.transform(X_test)))
        norm = np.linalg.norm(np.asarray(X_test, dtype=np.float64))
        metrics = {
            TaskMetric.ROM_ERROR: relative_error(X_test, model),
            TaskMetric.PROJECTION_ERROR: relative_error(X_test, projected),
            TaskMetric.REGRESSION_ERROR: float(np.linalg.norm(
                np.asarray(projected, dtype=np.float64) - model) / norm),
        }
        if self.search:
            metrics[TaskMetric.VALIDATION_ROM_ERROR] = validation_error
        return TaskResult(metrics, chosen=chosen)

    def with_options(self, options: dict[str, Any]) -> Parametric:
        """This task with ``options`` set, and no search."""
        settings = {name: getattr(self, name) for name in (
            "with_time", "scale_inputs", "kernel", "epsilon", "smoothing", "n_neighbors",
            "random_state")}
        return Parametric(self.regressor, **{**settings, **options})

    def choose(self, reducer: Any, codes: np.ndarray, data: Any) -> tuple[dict, float]:
        """The combination of :attr:`search` whose reduced-order model, regressed from the
        fit rows, has the lowest error at the validation rows, and that error; ``({},
        nan)`` without a search."""
        if not self.search:
            return {}, math.nan
        fit_rows, validation_rows = data.get("validation_split") or self._split(data)
        view = held_out(data, fit_rows, validation_rows)
        X_validation = np.asarray(view["X_test"])
        errors = {}
        for values in itertools.product(*self.search.values()):
            options = dict(zip(self.search, values, strict=True))
            predicted = self.with_options(options).predict_codes(codes[fit_rows], view)
            errors[tuple(values)] = relative_error(
                X_validation, np.asarray(reducer.inverse_transform(predicted)))
        best = min(errors, key=errors.get)  # the first of equals: the order given
        return dict(zip(self.search, best, strict=True)), errors[best]

    def _split(self, data: Any) -> tuple[np.ndarray, np.ndarray]:
        """A fifth of the training parameter points (at least one), held out whole."""
        points, group = np.unique(self.inputs(dict(data, times_train=None), "train"),
                                  axis=0, return_inverse=True)
        if len(points) < 2:
            raise ValueError("a search needs at least two training parameter points")
        held = np.random.default_rng(self.random_state).choice(
            len(points), max(1, len(points) // 5), replace=False)
        validation = np.isin(group.ravel(), held)
        return np.flatnonzero(~validation), np.flatnonzero(validation)


class _GaussianProcess(RegressorMixin, BaseEstimator):
    """One scikit-learn ``GaussianProcessRegressor`` per code (Guo & Hesthaven 2018's
    POD-GPR), each kernel (a constant times an anisotropic RBF, plus white noise) fitted
    by marginal likelihood on at most :data:`KERNEL_ROWS` rows drawn without
    replacement, then conditioned on every row.

    One kernel per code, not one for all: codes differ in how smooth they are in μ, and
    a shared kernel is set by the roughest (on Burgers at k = 20, the AE started at POD,
    whose codes are POD's whitened, got the mean field: 0.41). The subsample: the
    likelihood's optimiser factors an n × n matrix at each step (20-120 s a cell on
    Burgers' 1600 rows with one kernel for all codes)."""

    def __init__(self, n_inputs: int = 1, random_state: int = 0):
        self.n_inputs, self.random_state = n_inputs, random_state

    def fit(self, inputs: np.ndarray, targets: np.ndarray) -> _GaussianProcess:
        rows = np.arange(len(inputs))
        if len(rows) > KERNEL_ROWS:
            rows = np.sort(np.random.default_rng(self.random_state).choice(
                rows, KERNEL_ROWS, replace=False))
        targets = targets.reshape(len(inputs), -1)
        self.models_ = []
        for column in targets.T:
            # Length scales bounded to the unit box's scale: unbounded, on Burgers' 4 x 4
            # grid of mu they fell to 1e-5, and the process predicted the mean code.
            kernel = (ConstantKernel() * RBF(np.ones(self.n_inputs),
                                             length_scale_bounds=(1e-2, 1e2))
                      + WhiteKernel(1e-6, noise_level_bounds=(1e-12, 1e-1)))
            fitted = GaussianProcessRegressor(kernel, normalize_y=True,
                                              random_state=self.random_state)
            with warnings.catch_warnings():
                # A length scale or noise at its bound is the bound doing its work.
                warnings.simplefilter("ignore", ConvergenceWarning)
                fitted = fitted.fit(inputs[rows], column[rows]).kernel_
            self.models_.append(GaussianProcessRegressor(
                fitted, optimizer=None, normalize_y=True).fit(inputs, column))
        return self

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return np.column_stack([model.predict(inputs) for model in self.models_])


__all__ = ["Parametric"]
