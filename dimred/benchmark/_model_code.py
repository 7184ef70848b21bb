"""Entry point MLflow runs when loading a logged dimred model (models from code)."""

from mlflow.models import set_model

from dimred.benchmark._model import TransformModel

set_model(TransformModel())
