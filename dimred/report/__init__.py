"""Reports: benchmark runs in MLflow turned into Markdown tables and figures."""

from dimred.report._report import write_report
from dimred.report._runs import load_runs

__all__ = ["load_runs", "write_report"]
