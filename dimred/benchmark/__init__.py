"""The benchmark: suites of cells, run once each and logged to MLflow."""

from dimred.benchmark._evaluation import CellResult, fit_and_evaluate
from dimred.benchmark._runner import SuiteSummary, run_suite
from dimred.benchmark._suite import Cell, Suite, SuiteError, load_suite
from dimred.benchmark._tracking import TrackingError

__all__ = [
    "Cell",
    "CellResult",
    "Suite",
    "SuiteError",
    "SuiteSummary",
    "TrackingError",
    "fit_and_evaluate",
    "load_suite",
    "run_suite",
]
