"""The ``dimred`` command: run benchmark suites and browse their results."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# Only the standard library and dimred's own light modules at import time, so that
# `dimred --help` answers at once: torch and mlflow are imported by the commands.
from dimred import __version__

#: Where runs go unless --tracking-uri or $MLFLOW_TRACKING_URI says otherwise: MLflow's
#: own default, a SQLite file in the working folder.
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dimred`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args)
    except BrokenPipeError:
        # The reader went away (`dimred bench S --dry-run | head`): stop without a
        # traceback, and keep Python from reporting the pipe again at exit (the
        # recipe of Python's signal documentation, exit status 1 included).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dimred",
        description="Compare POD, PCA, AE and VAE: run benchmark suites into MLflow and "
        "browse the results.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", required=True)

    bench = commands.add_parser(
        "bench",
        help="run a benchmark suite",
        description="Run every cell (dataset × method × latent size × seed) of a suite "
        "TOML file, logging each as its own MLflow run. Cells that already have a "
        "FINISHED run with the same config hash are skipped, so an interrupted suite "
        "resumes where it stopped. Exits 1 if any cell failed, 2 if the tracking store "
        "or the suite file did.",
    )
    bench.add_argument("suite", help="suite TOML file, e.g. benchmarks/suites/quick.toml")
    _tracking_argument(bench)
    bench.add_argument("--experiment", help="MLflow experiment name (default: the suite's name)")
    bench.add_argument(
        "--data-dir",
        help="folder holding mnist/, fashion_mnist/, ... (default: $DIMRED_DATA, else "
        "~/.cache/dimred, where missing MNIST files are downloaded)",
    )
    bench.add_argument(
        "--only", metavar="GLOB", action="append",
        help="run only cells whose run name (dataset/method/k=8/seed=0) matches GLOB; "
        "repeat it for several",
    )
    bench.add_argument(
        "--scheduler", metavar="ADDRESS|local[:N]",
        help="run cells as tasks on Dask: local:N starts a LocalCluster of N worker "
        "processes, an address (tcp://host:8786) connects to a running scheduler; the "
        "tracking URI must be reachable from the workers (default: in-process)",
    )
    bench.add_argument("--dry-run", action="store_true",
                       help="list the cells, marking those already done; run nothing")
    bench.add_argument("--no-progress", action="store_true", help="no progress bars")
    bench.add_argument("--debug", action="store_true",
                       help="on a bad suite or data, show the traceback, not one line")
    bench.set_defaults(command=_bench)

    ui = commands.add_parser(
        "ui",
        help="open the MLflow UI on the results",
        description="Start the MLflow UI on 127.0.0.1 over the tracking store and print "
        "the URL of the comparison: an experiment's cell runs, with their method, "
        "dataset, k, seed and main metrics as columns. Stop it with Ctrl-C (or SIGTERM).",
    )
    _tracking_argument(ui)
    ui.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    ui.add_argument("--experiment", metavar="NAME",
                    help="experiment to open on (default: the one run most recently)")
    ui.set_defaults(command=_ui)

    report = commands.add_parser(
        "report",
        help="write a Markdown report of a suite's runs",
        description="Read the cell runs of one or more experiments from MLflow and write "
        "DIR/README.md: per-dataset leaderboards (mean and 95% interval over seeds), "
        "verdicts, error / likelihood / fit time / throughput against latent size, a "
        "speed-accuracy Pareto plot, image galleries, VAE samples, 2-D latent spaces, the "
        "published anchors and the environment, with the PNG figures beside it.",
    )
    _tracking_argument(report)
    report.add_argument("--experiment", action="append", metavar="NAME",
                        help="experiment to report, i.e. a suite's name (repeatable; "
                        "default: every experiment in the store)")
    report.add_argument("--out", metavar="DIR",
                        help="output folder (default: dimred-report/<experiment>, or "
                        "dimred-report/all, in the working folder)")
    report.set_defaults(command=_report)
    return parser


def _tracking_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI),
        help="MLflow tracking URI: a database (sqlite:///mlflow.db, the default) or a "
        "tracking server (http://host:5000)",
    )


def _bench(args: argparse.Namespace) -> int:
    # Imported here so that `dimred --help` answers at once.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from dimred.benchmark import SuiteError, TrackingError, load_suite, run_suite

    # MLflow's INFO lines (one per logged model) would bury the progress bars; set after
    # the import, since importing mlflow configures its logger.
    logging.getLogger("mlflow").setLevel(logging.WARNING)

    try:
        suite = load_suite(args.suite)
        summary = run_suite(
            suite,
            tracking_uri=args.tracking_uri,
            experiment=args.experiment,
            data_home=args.data_dir,
            only=args.only,
            dry_run=args.dry_run,
            progress=not args.no_progress,
            scheduler=args.scheduler,
        )
    except (SuiteError, FileNotFoundError) as error:
        if args.debug:
            raise
        print(f"dimred bench: {error}", file=sys.stderr)
        return 2
    except TrackingError as error:
        print(f"dimred bench: {error}\nFinished cells are saved; run the same command "
              "again once the store is reachable to resume.", file=sys.stderr)
        return 2
    if args.dry_run:
        return 0
    print(summary.report())
    print(f"Browse the runs: dimred ui --tracking-uri {args.tracking_uri}")
    return 0 if summary.ok else 1


def _report(args: argparse.Namespace) -> int:
    if (missing := _missing_store(args.tracking_uri)) is not None:
        print(f"dimred report: {missing}", file=sys.stderr)
        return 2
    from dimred.report import write_report

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    name = "+".join(args.experiment) if args.experiment else "all"
    out = args.out or Path("dimred-report") / name
    try:
        path = write_report(args.tracking_uri, args.experiment, out)
    except ValueError as error:
        print(f"dimred report: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {path}")
    return 0


def _missing_store(tracking_uri: str) -> str | None:
    """Why a command that only reads cannot use ``tracking_uri``: a SQLite file that
    does not exist (opening it would create an empty store); None when it can."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    path = Path(tracking_uri.removeprefix("sqlite:///"))
    if path.is_file():
        return None
    return (f"no tracking store at {path.resolve()}; run `dimred bench` first, or point "
            "--tracking-uri (or $MLFLOW_TRACKING_URI) at the store.")


def _ui(args: argparse.Namespace) -> int:
    if (missing := _missing_store(args.tracking_uri)) is not None:
        print(f"dimred ui: {missing}", file=sys.stderr)
        return 2
    with socket.socket() as probe:
        # As the server will bind: a stopped server's connections in TIME_WAIT are no
        # obstacle, a listening socket is.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", args.port))
        except OSError as error:
            print(f"dimred ui: port {args.port} on 127.0.0.1 is busy ({error.strerror}); "
                  "choose another with --port.", file=sys.stderr)
            return 2
    from dimred.benchmark._browse import comparison_url

    try:
        path = comparison_url(args.tracking_uri, args.experiment)
    except ValueError as error:
        print(f"dimred ui: {error}", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", args.tracking_uri,
               "--host", "127.0.0.1", "--port", str(args.port)]
    # Its own process group, so that stopping dimred stops the server and its workers.
    # Its output goes to our stderr (fd 2): our stdout carries the URL alone.
    server = subprocess.Popen(command, start_new_session=True, stdout=2)

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        # The URL is printed once the server answers, not while its port still refuses
        # connections (up to a minute on a loaded machine).
        if not _answers(f"http://127.0.0.1:{args.port}/health", server):
            print(f"dimred ui: the MLflow server exited with status {server.returncode} "
                  "before it answered.", file=sys.stderr)
            return 2
        url = f"http://127.0.0.1:{args.port}{path}"
        print(f"MLflow UI over {args.tracking_uri}: {url} (Ctrl-C stops)\n"
              f"  its charts, each measure against k: "
              f"{url.replace('compareRunsMode=TABLE', 'compareRunsMode=CHART')}", flush=True)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _answers(url: str, server: subprocess.Popen, poll_seconds: float = 0.25) -> bool:
    """Wait until ``url`` answers HTTP 200; False if ``server`` exits first."""
    import urllib.request

    while server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(poll_seconds)
    return False


if __name__ == "__main__":
    sys.exit(main())
