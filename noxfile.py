"""Developer sessions. Every install goes through constraints.txt (torch==2.13.0 CPU)."""

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"

CONSTRAINTS = ("-c", "constraints.txt")


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The test suite; MNIST is read from $DIMRED_DATA (default ../shared/data)."""
    session.install(*CONSTRAINTS, "-e", ".[test]")
    session.env.setdefault("DIMRED_DATA", "../shared/data")
    session.run("pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting-independent checks."""
    session.install(*CONSTRAINTS, "ruff")
    session.run("ruff", "check", "dimred", "tests", "benchmarks", "noxfile.py")


@nox.session(python="3.11")
def perf(session: nox.Session) -> None:
    """pytest-benchmark suite: prints speed ratios, writes reports/perf.json (the figures
    the README quotes) and keeps a history under .benchmarks/."""
    session.install(*CONSTRAINTS, "-e", ".[test]")
    session.env.setdefault("DIMRED_DATA", "../shared/data")
    session.run(
        "pytest",
        "benchmarks",
        "-p",
        "no:cacheprovider",
        "--benchmark-autosave",
        "--benchmark-json=reports/perf.json",
        "--benchmark-columns=median,iqr,rounds",
        *session.posargs,
    )
