"""The parametric inviscid Burgers problem of model reduction (Rewienski 2003; Carlberg
et al.; Lee & Carlberg, J. Comput. Phys. 2020):

    u_t + (u^2 / 2)_x = 0.02 exp(mu_2 x),   x in [0, 100],  t in [0, 35],
    u(0, t) = mu_1,   u(x, 0) = 1,   mu in [4.25, 5.5] x [0.015, 0.03].

The inflow mu_1 > 1 drives a shock into the domain that moves right while the source
steepens the field behind it. A moving discontinuity is what linear subspaces represent
badly (many modes to follow one shock), so this is where linear and nonlinear reductions
should disagree.

Solved with Godunov's conservative finite-volume scheme: the exact Riemann flux of the
convex flux ``u^2/2`` at every face, forward Euler in time at CFL 0.5, the source taken
at cell centres. All parameters are advanced together, one array row each.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.utils import Bunch

#: The parameter box of the benchmark, (low, high) for mu_1 then mu_2.
MU_RANGE = ((4.25, 5.5), (0.015, 0.03))

#: Test parameters of Lee & Carlberg (2020), off any regular training grid.
TEST_PARAMS = ((4.3, 0.021), (5.15, 0.0285))

_LENGTH, _T_END, _CFL = 100.0, 35.0, 0.5


def make_burgers(
    n_grid: int = 256,
    *,
    n_snapshots: int = 100,
    train_grid: Sequence[int] = (4, 4),
    test_params: Sequence[Sequence[float]] = TEST_PARAMS,
) -> Bunch:
    """Simulate the parametric Burgers problem and split it by parameter.

    Parameters
    ----------
    n_grid : int, default=256
        Finite-volume cells on [0, 100]; ``dx = 100 / n_grid``.
    n_snapshots : int, default=100
        Snapshots per parameter, equally spaced in (0, 35]; the interval is
        ``35 / n_snapshots``.
    train_grid : (int, int), default=(4, 4)
        Training parameters: a regular grid of that many values of mu_1 and mu_2 over
        the parameter box, corners included.
    test_params : sequence of (mu_1, mu_2), default=((4.3, 0.021), (5.15, 0.0285))
        Test parameters, inside the box and not on the training grid.

    Returns
    -------
    data : Bunch
        ``X_train`` ``(n_train_params * n_snapshots, n_grid)`` and ``X_test`` float64
        fields (u at the cell centres); ``params_train`` / ``params_test`` the
        ``(mu_1, mu_2)`` of each snapshot; ``times_train`` / ``times_test`` and
        ``y_train`` / ``y_test`` its time; ``grid`` the cell centres; ``field_shape``
        ``(1, n_grid)`` and ``field_channels`` ``("u",)``; ``description`` with the
        equation, grid, parameters and solver.
    """
    train = _training_grid(train_grid)
    test = _test_params(test_params, train)
    if not (isinstance(n_grid, int | np.integer) and n_grid >= 8):
        raise ValueError(f"n_grid must be an int >= 8, got {n_grid!r}.")
    if not (isinstance(n_snapshots, int | np.integer) and n_snapshots >= 1):
        raise ValueError(f"n_snapshots must be an int >= 1, got {n_snapshots!r}.")
    grid = (np.arange(n_grid) + 0.5) * _LENGTH / n_grid
    times = _T_END * np.arange(1, n_snapshots + 1) / n_snapshots
    fields, n_steps = solve_godunov(np.vstack([train, test]), grid, times)
    n_train = len(train)

    def flat(block: np.ndarray) -> np.ndarray:  # (params, snapshots, grid) -> rows
        return block.reshape(-1, n_grid)

    def per_snapshot(params: np.ndarray) -> np.ndarray:
        return np.repeat(params, n_snapshots, axis=0)

    return Bunch(
        name="burgers",
        X_train=flat(fields[:n_train]),
        X_test=flat(fields[n_train:]),
        params_train=per_snapshot(train),
        params_test=per_snapshot(test),
        param_names=("mu_1", "mu_2"),
        times_train=np.tile(times, n_train),
        times_test=np.tile(times, len(test)),
        # Validation holds out whole trajectories: a parameter's snapshots are kin.
        validation="groups",
        groups_train=np.repeat(np.arange(n_train), len(times)),
        y_train=np.tile(times, n_train),
        y_test=np.tile(times, len(test)),
        grid=grid,
        field_shape=(1, n_grid),
        field_channels=("u",),
        image_shape=None,
        description={
            "equation": "u_t + (u^2/2)_x = 0.02 exp(mu_2 x), x in [0, 100], u(0,t) = mu_1, "
                        "u(x,0) = 1, t in [0, 35]",
            "n_grid": n_grid,
            "dx": _LENGTH / n_grid,
            "snapshot_dt": _T_END / n_snapshots,
            "t_end": _T_END,
            "mu_range": [list(bounds) for bounds in MU_RANGE],
            "train_grid": list(train_grid),
            "test_params": [list(mu) for mu in test],
            "solver": f"Godunov finite volume (exact Riemann flux), forward Euler, CFL {_CFL}",
            "solver_steps": n_steps,
        },
    )


def solve_godunov(
    params: np.ndarray, grid: np.ndarray, times: np.ndarray
) -> tuple[np.ndarray, int]:
    """u at ``times`` for each ``(mu_1, mu_2)`` row of ``params``: an array of shape
    ``(n_params, n_times, n_grid)``, and the number of time steps taken."""
    dx = grid[1] - grid[0]
    inflow = params[:, :1]
    source = 0.02 * np.exp(params[:, 1:] * grid)
    u = np.ones((len(params), grid.size))
    snapshots = np.empty((len(params), times.size, grid.size))
    t, n_steps = 0.0, 0
    for index, t_out in enumerate(times):
        while t < t_out - 1e-12:
            speed = max(float(np.abs(u).max()), float(np.abs(inflow).max()))
            dt = min(_CFL * dx / speed, t_out - t)
            flux = _godunov_flux(np.hstack([inflow, u]))  # faces 0 .. n_grid
            u = u - dt / dx * (flux[:, 1:] - flux[:, :-1]) + dt * source
            t += dt
            n_steps += 1
        snapshots[:, index] = u
    return snapshots, n_steps


def _godunov_flux(u: np.ndarray) -> np.ndarray:
    """Exact Riemann flux of ``f(u) = u^2/2`` between each cell and the next; the last
    cell's right face is a free outflow."""
    left, right = u, np.hstack([u[:, 1:], u[:, -1:]])
    return np.maximum(0.5 * np.maximum(left, 0.0) ** 2, 0.5 * np.minimum(right, 0.0) ** 2)


def _training_grid(train_grid: Sequence[int]) -> np.ndarray:
    sizes = tuple(train_grid)
    if len(sizes) != 2 or not all(isinstance(n, int | np.integer) and n >= 2 for n in sizes):
        raise ValueError(
            f"train_grid must be two ints >= 2 (values of mu_1, of mu_2), got {train_grid!r}."
        )
    mu1 = np.linspace(*MU_RANGE[0], sizes[0])
    mu2 = np.linspace(*MU_RANGE[1], sizes[1])
    return np.array([(a, b) for a in mu1 for b in mu2])


def _test_params(test_params, train: np.ndarray) -> np.ndarray:
    test = np.asarray(test_params, dtype=float)
    if test.ndim != 2 or test.shape[1] != 2 or len(test) == 0:
        raise ValueError(
            f"test_params must be a list of (mu_1, mu_2) pairs, got {test_params!r}."
        )
    low, high = np.array(MU_RANGE).T
    outside = np.any((test < low) | (test > high), axis=1)
    if outside.any():
        raise ValueError(
            f"test_params {test[outside].tolist()} lie outside the parameter box "
            f"mu_1 in {list(MU_RANGE[0])}, mu_2 in {list(MU_RANGE[1])}."
        )
    on_grid = np.any(np.all(np.isclose(test[:, None], train[None]), axis=2), axis=1)
    if on_grid.any():
        raise ValueError(
            f"test_params {test[on_grid].tolist()} are training parameters: the test must "
            "ask about parameters the training grid did not see."
        )
    return test
