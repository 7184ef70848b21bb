"""Developer sessions. Every install goes through constraints.txt (torch==2.13.0 CPU)."""

from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "full"]
nox.options.default_venv_backend = "venv"

CONSTRAINTS = ("-c", "constraints.txt")
# Every session runs ``python -m pytest``, which puts the repository root on sys.path:
# the tests import their shared helpers as ``tests._suites``.


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The README's test line: the contract, the runner, doctests and examples (fast).
    MNIST is read from $DIMRED_DATA (default ../shared/data)."""
    session.install(*CONSTRAINTS, "-e", ".[test]")
    session.env.setdefault("DIMRED_DATA", "../shared/data")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python="3.11")
def full(session: nox.Session) -> None:
    """The slow tests the README's line leaves out (marked ``slow``): published
    references, concurrency with real processes, scale. ``.ci/run`` runs it after the
    README's line."""
    session.install(*CONSTRAINTS, "-e", ".[test]")
    session.env.setdefault("DIMRED_DATA", "../shared/data")
    session.run("python", "-m", "pytest", "-m", "slow", *session.posargs)
    if not session.posargs:
        # The float32 bounds must hold whatever BLAS kernel a machine gets.
        for kernel in OPENBLAS_KERNELS:
            session.run("python", "-m", "pytest", "tests/test_pod_precision.py",
                        env={"OPENBLAS_CORETYPE": kernel})
        # Values stored on one processor must hold on another: the tests that read
        # them, under torch kernels other than this machine's default.
        for kernels in TORCH_KERNELS:
            session.run("python", "-m", "pytest", *STORED_VALUE_TESTS, env=kernels)


#: OpenBLAS kernels the float32 precision tests run under (x86-64 machines differ).
OPENBLAS_KERNELS = ("Haswell", "SkylakeX", "Zen")

#: Other torch CPU kernels: ATen's and oneDNN's AVX2 paths (the default picks AVX-512
#: where the CPU has it), and MKL's conditional-numerical-reproducibility path, which
#: sums its float32 products in another order (measured: it moves the legacy AE's codes
#: by 1 ulp on an AMD EPYC).
TORCH_KERNELS = (
    {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
     "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    {"MKL_CBWR": "COMPATIBLE"},
)
#: The tests that compare with values computed elsewhere (tests/fixtures/).
STORED_VALUE_TESTS = ("tests/test_legacy_models.py",)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting-independent checks."""
    session.install(*CONSTRAINTS, "ruff")
    session.run("ruff", "check", "dimred", "tests", "benchmarks", "examples", "noxfile.py")


@nox.session(python="3.11")
def perf(session: nox.Session) -> None:
    """pytest-benchmark suite: prints speed ratios, writes reports/perf.json (the figures
    the README quotes) and keeps a history under .benchmarks/."""
    session.install(*CONSTRAINTS, "-e", ".[test]")
    session.env.setdefault("DIMRED_DATA", "../shared/data")
    session.run(
        "python", "-m", "pytest",
        "benchmarks/performance",
        "-p",
        "no:cacheprovider",
        "--benchmark-autosave",
        "--benchmark-json=reports/perf.json",
        "--benchmark-columns=median,iqr,rounds",
        *session.posargs,
    )


#: The tests that exercise scikit-learn: its estimator checks, PCA, the private APIs
#: behind dimred/_sklearn_compat.py, and its methods run through the suite.
SKLEARN_TESTS = ("tests/test_contract.py", "tests/test_estimator_checks.py",
                 "tests/test_pca.py", "tests/test_pod.py", "tests/test_capabilities.py",
                 "tests/test_plugins.py", "tests/test_suite.py", "tests/test_structure.py")


@nox.session(python="3.11")
@nox.parametrize("sklearn", ["1.6.1", "1.7.2", "1.8.0", "1.9.1"])
def sklearn_range(session: nox.Session, sklearn: str) -> None:
    """The scikit-learn tests on each version pyproject.toml allows (every other pin
    from constraints.txt kept)."""
    pins = [line for line in Path("constraints.txt").read_text().splitlines()
            if not line.startswith("scikit-learn")]
    constraints = Path(session.create_tmp()) / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    session.install("-c", str(constraints), f"scikit-learn=={sklearn}", "-e", ".[test]")
    session.env.setdefault("DIMRED_DATA", "../shared/data")
    session.run("python", "-m", "pytest", *SKLEARN_TESTS, *session.posargs)


@nox.session(python="3.11")
def peer_pythae(session: nox.Session) -> None:
    """dimred's VAE beside pythae 0.1.2's on MNIST, Burda's MLP (``--network mlp``) or
    a convolutional VAE (``--network conv``), in alternating pairs (``--pairs``)
    (benchmarks/peers/pythae_vae.py).
    pythae is installed here only, never as a dependency of dimred."""
    session.install(*CONSTRAINTS, "-e", ".", "pythae==0.1.2")
    session.env.setdefault("DIMRED_DATA", "../shared/data")
    session.run("python", "benchmarks/peers/pythae_vae.py", *session.posargs)


@nox.session(python="3.11")
def peer_ezyrb(session: nox.Session) -> None:
    """dimred's parametric task beside EZyRB's POD-RBF and POD-GPR on the same Burgers
    split (benchmarks/peers/ezyrb_parametric.py); fails unless POD-RBF's predicted
    fields agree to 1e-6. EZyRB lives here only, never in dimred's dependencies."""
    session.install(*CONSTRAINTS, "-e", ".", "ezyrb==1.3.3")
    session.env.setdefault("DIMRED_DATA", "../shared/data")
    session.run("python", "benchmarks/peers/ezyrb_parametric.py", *session.posargs)


@nox.session(python="3.11")
def peer_pydmd(session: nox.Session) -> None:
    """dimred's forecast task (POD codes, DMD on them) beside PyDMD's DMD on the raw
    cylinder snapshots (benchmarks/peers/pydmd_forecast.py); fails unless the forecasts
    agree to 1e-6."""
    session.install(*CONSTRAINTS, "-e", ".")
    session.env.setdefault("DIMRED_DATA", "../shared/data")
    session.run("python", "benchmarks/peers/pydmd_forecast.py", *session.posargs)
