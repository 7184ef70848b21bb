"""The results schema: every metric, parameter and tag name a cell run carries in MLflow.

This module is the one place these names are spelled. The runner logs them, the report
and the UI view read them, docs/benchmark.md's tables are :func:`markdown_table` of them and the
tests check both against this module. Each name is a ``str`` (a :class:`enum.StrEnum`
member), so it goes straight into MLflow calls and pandas columns; each has a unit and a
meaning.

A metric a method cannot have (a likelihood for a method without one, reconstruction
errors for one without ``inverse_transform``) is absent from its run, a blank in the
report, never a failed cell.
"""

from __future__ import annotations

from enum import StrEnum


class _Name(StrEnum):
    """A name with its unit and meaning."""

    def __new__(cls, value: str, unit: str, meaning: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.unit = unit
        member.meaning = meaning
        return member


class Metric(_Name):
    """Metrics of a cell run (one value each) and its curves (one value per epoch)."""

    TRAIN_MSE = ("train_mse", "squared units of X",
                 "mean squared reconstruction error per entry on the training set")
    TEST_MSE = ("test_mse", "squared units of X",
                "mean squared reconstruction error per entry on the test set")
    TEST_SSE_PER_SAMPLE = ("test_sse_per_sample", "squared units of X",
                           "squared error summed over features, mean over test samples "
                           "(the MNIST papers' figure)")
    TEST_RELATIVE_ERROR = ("test_relative_error", "1",
                           "‖X − X̂‖_F / ‖X‖_F on the test set; 1 is the zero predictor")
    TEST_EXPLAINED_VARIANCE = ("test_explained_variance", "1",
                               "variance-weighted explained variance of the test set")
    TEST_ELBO = ("test_elbo", "nats / sample",
                 "score(X_test) of a method whose score is a log-likelihood: exact, or the "
                 "ELBO lower bound, as the run's dimred.likelihood tag says")
    TEST_LOG_LIKELIHOOD = ("test_log_likelihood", "nats / sample",
                           "importance-weighted log-likelihood (IWAE, k = "
                           "n_importance_samples) of a method with log_likelihood")
    TEST_ACTIVE_UNITS = ("test_active_units", "latent dimensions",
                         "dimensions j with Cov_x(E_q[z_j]) > 0.01 (Burda et al. 2015), "
                         "for a method with an encoder distribution")
    TEST_RATE = ("test_rate", "nats / sample", "KL(q(z|x) ‖ p(z)), mean over the test set")
    TEST_DISTORTION = ("test_distortion", "nats / sample",
                       "−E_q log p(x|z), mean over the test set")
    FIT_SECONDS = ("fit_seconds", "s", "wall time of fit, first-call warm-up excluded")
    FIT_SAMPLES_PER_S = ("fit_samples_per_s", "samples / s", "training rows / fit_seconds")
    TRANSFORM_SAMPLES_PER_S = ("transform_samples_per_s", "samples / s",
                               "test rows encoded per second, after a warm-up call")
    INVERSE_TRANSFORM_SAMPLES_PER_S = ("inverse_transform_samples_per_s", "samples / s",
                                       "codes decoded per second, after a warm-up call")
    PEAK_MEMORY_MB = ("peak_memory_mb", "MB",
                      "resident memory the fit added at its peak, above the process's")
    EVALUATION_PEAK_MEMORY_MB = ("evaluation_peak_memory_mb", "MB",
                                 "the same for the evaluation")
    N_PARAMETERS = ("n_parameters", "scalars",
                    "fitted scalars used to encode and decode (n_parameters_)")
    EVALUATION_SECONDS = ("evaluation_seconds", "s", "wall time of everything after fit")
    CELL_SECONDS = ("cell_seconds", "s",
                    "wall time of the whole cell; minus fit and evaluation, the runner's")
    TUNING_SECONDS = ("tuning_seconds", "s",
                      "wall time of every tuning trial of a tuned cell, summed")
    N_TRIALS_COMPLETE = ("n_trials_complete", "trials", "tuning trials run to the end")
    N_TRIALS_PRUNED = ("n_trials_pruned", "trials",
                       "tuning trials stopped early for a lagging validation loss")
    VALIDATION_RELATIVE_ERROR = ("validation_relative_error", "1",
                                 "a tuning trial's ‖X − X̂‖_F / ‖X‖_F on the validation "
                                 "split of the training set, what tuning minimises")
    TRAIN_LOSS = ("train_loss", "the method's loss", "curve: training loss per epoch")
    VALIDATION_SCORE = ("validation_score", "the method's score",
                        "curve: validation score per epoch")
    VALIDATION_LOSS = ("validation_loss", "the method's loss",
                       "curve: a tuning trial's loss on the validation split per epoch")


class TaskMetric(_Name):
    """Metrics of the tasks a suite names (``[tasks.NAME]``): each is logged into the
    cell's run as ``NAME/metric`` (the MLflow UI groups a task's charts by its name)."""

    ROM_ERROR = ("rom_error", "1",
                 "parametric: ‖X − D(r(μ))‖_F / ‖X‖_F at the test parameters, the codes "
                 "r(μ) regressed on the parameters and decoded")
    PROJECTION_ERROR = ("projection_error", "1",
                        "parametric: ‖X − D(E(X))‖_F / ‖X‖_F, the true codes decoded")
    REGRESSION_ERROR = ("regression_error", "1",
                        "parametric: ‖D(E(X)) − D(r(μ))‖_F / ‖X‖_F, what the regression "
                        "adds (for POD, rom_error² = projection_error² + regression_error²)")
    VALIDATION_ROM_ERROR = ("validation_rom_error", "1",
                            "parametric with a search: rom_error of the chosen options at "
                            "the validation parameters, regressed from the fit rows")
    FORECAST_ERROR_1 = ("forecast_error_h1", "1",
                        "forecast: ‖x − x̂‖ / ‖x‖ of the first test snapshot, rolled one "
                        "step from the last training code")
    FORECAST_ERROR_10 = ("forecast_error_h10", "1",
                         "forecast: the same over the first 10 test snapshots (Frobenius)")
    FORECAST_ERROR = ("forecast_error", "1",
                      "forecast: the same over the whole test block")
    FORECAST_CURVE = ("forecast_error_curve", "1",
                      "curve: forecast: ‖x_t − x̂_t‖ / ‖x_t‖ per test step")
    TRUSTWORTHINESS = ("trustworthiness", "1",
                       "neighbours: sklearn's trustworthiness of the test codes (Venna & "
                       "Kaski 2006), 1 when no false neighbour enters")
    CONTINUITY = ("continuity", "1",
                  "neighbours: trustworthiness with the roles swapped, 1 when no true "
                  "neighbour is lost")
    KNN_ACCURACY = ("knn_accuracy", "1",
                    "neighbours: accuracy on the test codes of k-NN fitted on the "
                    "training codes")
    PROBE_ACCURACY = ("probe_accuracy", "1",
                      "neighbours: accuracy of a logistic-regression probe on the "
                      "standardised codes")
    TASK_SECONDS = ("task_seconds", "s", "wall time of the task in the cell")


#: Task metrics where higher is better (the others are errors: lower is better).
HIGHER_IS_BETTER = frozenset({TaskMetric.TRUSTWORTHINESS, TaskMetric.CONTINUITY,
                              TaskMetric.KNN_ACCURACY, TaskMetric.PROBE_ACCURACY})


class Param(_Name):
    """Parameters of a cell run that say what it is (beside the estimator's own)."""

    DATASET = ("dataset", "", "the suite's label of the dataset")
    DATASET_SOURCE = ("dataset.source", "", "built-in name, file:PATH or module:function")
    METHOD = ("method", "", "the suite's label of the method")
    ESTIMATOR = ("estimator", "", "built-in name, entry-point name or module:Class")
    N_COMPONENTS = ("n_components", "", "latent size k")
    SEED = ("seed", "", "random_state of the estimator")
    N_TRAIN = ("n_train", "rows", "training rows after preprocessing")
    N_TEST = ("n_test", "rows", "test rows after preprocessing")
    N_FEATURES = ("n_features", "columns", "width of X")
    SCALE01 = ("scale01", "", "min-max scaling to [0, 1] with the training range")
    STANDARDIZE = ("standardize", "", "zero mean, unit variance with training statistics")
    BINARIZE = ("binarize", "", "False, static or dynamic Bernoulli binarisation")
    N_IMPORTANCE_SAMPLES = ("n_importance_samples", "", "k of test_log_likelihood")


class Tag(_Name):
    """Tags of runs. Cell runs carry ``KIND = cell``; an invocation's run ``suite``."""

    KIND = ("dimred.kind", "", "cell, trial (of a tuned cell), or suite for an "
            "invocation's run")
    CONFIG_HASH = ("dimred.config_hash", "", "hash of everything that defines the result")
    SUITE_RUN_ID = ("dimred.suite_run_id", "", "run id of the invocation that ran the cell")
    SUITE_CELL = ("dimred.suite_cell", "", "dataset/method/k=K/seed=S")
    SUITE = ("dimred.suite", "", "the suite's name, on an invocation's run")
    LIKELIHOOD = ("dimred.likelihood", "",
                  "exact or lower bound: what test_elbo is, for a method with one")
    ERROR = ("dimred.error", "", "the exception of a FAILED cell")
    MODEL_URI = ("dimred.model_uri", "", "the fitted estimator as an MLflow model")
    TUNED = ("dimred.tuned", "", "the parameters tuning chose, as JSON, on a tuned cell")
    TASK_CHOSEN = ("dimred.task_chosen", "", "the options each task chose on the validation "
                   "split (its search), as JSON by task name")
    TRIAL = ("dimred.trial", "", "a tuning trial's number within its cell")
    TRIAL_OF = ("dimred.trial_of", "", "a trial's Optuna study: config hash of the tuning cell")
    DEVICE = ("dimred.device", "", "torch device of a neural method")
    WORKER = ("dimred.worker", "", "Dask worker address")
    THREADS = ("dimred.threads", "", "torch / BLAS threads")
    VERSION = ("dimred.version", "", "dimred version")
    GIT_COMMIT = ("dimred.git_commit", "", "commit of a source checkout")
    TORCH_VERSION = ("dimred.torch_version", "", "")
    SKLEARN_VERSION = ("dimred.sklearn_version", "", "")
    NUMPY_VERSION = ("dimred.numpy_version", "", "")
    PYTHON_VERSION = ("dimred.python_version", "", "")
    CPU = ("dimred.cpu", "", "CPU model")
    CPU_COUNT = ("dimred.cpu_count", "", "")
    GPU = ("dimred.gpu", "", "GPU model, or none")
    HOST = ("dimred.host", "", "host name")
    PID = ("dimred.pid", "", "process that ran the cell (to recover dead claims)")
    PROCESS_START = ("dimred.process_start", "", "that process's start time")


#: Values of :attr:`Tag.KIND`.
CELL_KIND, SUITE_KIND, TRIAL_KIND = "cell", "suite", "trial"

#: Values of :attr:`Tag.LIKELIHOOD`.
EXACT, LOWER_BOUND = "exact", "lower bound"


def markdown_table(names: type[_Name]) -> str:
    """A Markdown table of ``names`` (one of :class:`Metric`, :class:`TaskMetric`,
    :class:`Param`, :class:`Tag`): name, unit and meaning, as docs/benchmark.md shows it."""
    rows = ["| name | unit | meaning |", "|---|---|---|"]
    rows += [f"| `{n}` | {n.unit} | {n.meaning} |" for n in names]
    return "\n".join(rows)
