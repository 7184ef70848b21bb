"""The fitted estimator as an MLflow model whose pyfunc ``predict`` is ``transform``.

Logged as "models from code": MLflow stores :mod:`dimred.benchmark._model_code` (which
names :class:`TransformModel`) and the pickled estimator as an artifact, so no Python
object is cloudpickled and loading needs only dimred installed.
"""

from __future__ import annotations

import pickle
import tempfile
import warnings
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, DataType, Schema, TensorSpec

import dimred

_CODE = Path(__file__).with_name("_model_code.py")


class TransformModel(PythonModel):
    """pyfunc wrapper: ``predict(X)`` returns ``estimator.transform(X)``, with ``X`` cast
    to the dtype the estimator was fitted in (its ``dtype`` model config)."""

    # MLflow's type-hint validation wants list[...] hints, which would turn arrays into
    # Python lists; the logged signature validates the input instead.
    _skip_type_hint_validation = True

    def load_context(self, context) -> None:
        with open(context.artifacts["estimator"], "rb") as stream:
            self.estimator = pickle.load(stream)
        self.dtype = np.dtype((context.model_config or {}).get("dtype", "float64"))

    def predict(self, context, model_input, params=None) -> np.ndarray:
        return self.estimator.transform(np.asarray(model_input, dtype=self.dtype))


def signature(n_features: int, codes: np.ndarray) -> ModelSignature:
    """What the model accepts and returns. The input is one ``double`` column per
    feature rather than a tensor: MLflow checks a tensor's dtype exactly, so a float32
    tensor signature refuses float64 arrays and every CSV, while a double column takes
    float32, float64 and integer arrays, data frames and CSV (safe conversions only).
    The output is the codes tensor, in the model's dtype. MLflow checks such input
    column by column, which costs with width: at 20480 features (the cylinder) logging
    takes 0.7 s and each ``predict`` call 1.7 s whatever its rows; a tensor signature
    would be instant but refuse either float32 or float64 input."""
    return ModelSignature(
        inputs=Schema([ColSpec(DataType.double)] * n_features),
        outputs=Schema([TensorSpec(codes.dtype, (-1, codes.shape[1]))]),
    )


def log_estimator(estimator: Any, X_example: np.ndarray, name: str = "model",
                  code_paths: list[str] | None = None) -> str:
    """Log ``estimator`` to the active run; returns the model URI. ``code_paths``: files
    or folders holding the estimator's module when it is not installed (MLflow puts them
    on ``sys.path`` when it loads the model)."""
    example = np.ascontiguousarray(X_example[:5])
    codes = np.asarray(estimator.transform(example))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "estimator.pkl"
        with open(path, "wb") as stream:
            pickle.dump(estimator, stream, protocol=pickle.HIGHEST_PROTOCOL)
        with warnings.catch_warnings():
            # No input example on purpose: MLflow would run the model on it while logging
            # in every cell; the signature says what the input is.
            warnings.filterwarnings("ignore", message=".*input example was not provided")
            info = _log_model(name, path, codes, example.shape[1], code_paths)
    return info.model_uri


def _log_model(name: str, estimator_path: Path, codes: np.ndarray, n_features: int,
               code_paths: list[str] | None):
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=str(_CODE),
        artifacts={"estimator": str(estimator_path)},
        model_config={"dtype": codes.dtype.name},
        signature=signature(n_features, codes),
        code_paths=code_paths,
        # Stated, not inferred: inference imports the model in a subprocess (seconds).
        pip_requirements=[f"dimred=={dimred.__version__}"],
    )
