"""The fitted estimator as an MLflow model whose pyfunc ``predict`` is ``transform``.

Logged as "models from code": MLflow stores :mod:`dimred.benchmark._model_code` (which
names :class:`TransformModel`) and the pickled estimator as an artifact, so no Python
object is cloudpickled and loading needs only dimred installed.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel

import dimred

_CODE = Path(__file__).with_name("_model_code.py")


class TransformModel(PythonModel):
    """pyfunc wrapper: ``predict(X)`` returns ``estimator.transform(X)``."""

    # MLflow's type-hint validation wants list[...] hints, which would turn arrays into
    # Python lists; the logged tensor signature validates the input instead.
    _skip_type_hint_validation = True

    def load_context(self, context) -> None:
        with open(context.artifacts["estimator"], "rb") as stream:
            self.estimator = pickle.load(stream)

    def predict(self, context, model_input, params=None) -> np.ndarray:
        return self.estimator.transform(np.asarray(model_input))


def log_estimator(estimator: Any, X_example: np.ndarray, name: str = "model") -> str:
    """Log ``estimator`` to the active run; returns the model URI."""
    example = np.ascontiguousarray(X_example[:5])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "estimator.pkl"
        with open(path, "wb") as stream:
            pickle.dump(estimator, stream, protocol=pickle.HIGHEST_PROTOCOL)
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=str(_CODE),
            artifacts={"estimator": str(path)},
            signature=infer_signature(example, estimator.transform(example)),
            input_example=example,
            # Stated, not inferred: inference imports the model in a subprocess (seconds).
            pip_requirements=[f"dimred=={dimred.__version__}"],
        )
    return info.model_uri
