"""Snapshots of the viscous Burgers equation on a periodic grid: POD's home field.

    u_t + u u_x = nu u_xx,   x in [0, 2 pi) periodic.

Spatial derivatives are spectral (``scipy.fft``) with 2/3-rule dealiasing of the
nonlinear term; time is integrated by ``scipy.integrate.solve_ivp`` (RK45, rtol 1e-6).
Each trajectory starts from a random smooth field (the first ``n_modes`` Fourier modes
with 1/k amplitudes), steepens into shocks and decays. A snapshot is the field on the
grid at one time: samples are snapshots and features are grid points, so the matrix is
wide, the setting the method of snapshots is for.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, rfft, rfftfreq
from scipy.integrate import solve_ivp
from sklearn.utils import Bunch, check_random_state


def make_periodic_burgers(
    n_grid: int = 1024,
    *,
    viscosity: float = 0.02,
    n_trajectories: int = 8,
    n_test_trajectories: int = 2,
    n_snapshots: int = 50,
    t_end: float = 2.0,
    n_modes: int = 5,
    random_state: int = 0,
) -> Bunch:
    """Simulate Burgers trajectories and split them by initial condition.

    Parameters
    ----------
    n_grid : int, default=1024
        Grid points on [0, 2 pi); the grid spacing is ``2 pi / n_grid``.
    viscosity : float, default=0.02
        nu, in length² per time unit.
    n_trajectories : int, default=8
        Trajectories (initial conditions) in all, training and test together.
    n_test_trajectories : int, default=2
        Trajectories held out for the test set: the test asks whether the modes
        generalise to initial conditions that were not seen.
    n_snapshots : int, default=50
        Snapshots per trajectory, equally spaced in (0, t_end]; the snapshot interval
        is ``t_end / n_snapshots``.
    t_end : float, default=2.0
    n_modes : int, default=5
        Fourier modes in the random initial fields.
    random_state : int, default=0

    Returns
    -------
    data : Bunch
        ``X_train`` ``(n_snapshots * (n_trajectories - n_test_trajectories), n_grid)``
        and ``X_test`` float64 fields; ``y_train`` / ``y_test`` the snapshot times;
        ``image_shape`` None; ``description`` with the grid, time step and solver.
    """
    if not 0 < n_test_trajectories < n_trajectories:
        raise ValueError(
            f"n_test_trajectories must be in (0, n_trajectories={n_trajectories}), "
            f"got {n_test_trajectories}."
        )
    rng = check_random_state(random_state)
    x = 2 * np.pi * np.arange(n_grid) / n_grid
    wavenumbers = np.arange(1, n_modes + 1)
    amplitudes = rng.standard_normal((n_trajectories, n_modes)) / wavenumbers
    phases = rng.uniform(0, 2 * np.pi, (n_trajectories, n_modes))
    waves = np.cos(wavenumbers[None, :, None] * x + phases[..., None])
    u0 = np.einsum("tm,tmx->tx", amplitudes, waves)
    u0 /= np.abs(u0).max(axis=1, keepdims=True)  # peak speed 1: the same shock time scale

    k = rfftfreq(n_grid, d=1.0 / n_grid)
    dealias = k < (2 / 3) * (n_grid // 2)

    def rhs(_t, flat):
        u = flat.reshape(n_trajectories, n_grid)
        u_hat = rfft(u, axis=1)
        # Conservative form 0.5 (u²)_x, dealiased, keeps energy bounded.
        nonlinear = 0.5 * 1j * k * rfft(u * u, axis=1) * dealias
        return irfft(-nonlinear - viscosity * k**2 * u_hat, n=n_grid, axis=1).ravel()

    times = t_end * np.arange(1, n_snapshots + 1) / n_snapshots
    solution = solve_ivp(
        rhs, (0.0, t_end), u0.ravel(), t_eval=times, method="RK45", rtol=1e-6, atol=1e-8
    )
    if not solution.success:  # pragma: no cover - the defaults integrate cleanly
        raise RuntimeError(f"Burgers integration failed: {solution.message}")
    fields = solution.y.reshape(n_trajectories, n_grid, n_snapshots).transpose(0, 2, 1)
    n_train = n_trajectories - n_test_trajectories
    return Bunch(
        name="burgers_periodic",
        X_train=fields[:n_train].reshape(-1, n_grid),
        X_test=fields[n_train:].reshape(-1, n_grid),
        y_train=np.tile(times, n_train),
        y_test=np.tile(times, n_test_trajectories),
        # Validation holds out whole trajectories, as the test set does.
        validation="groups",
        groups_train=np.repeat(np.arange(n_train), len(times)),
        image_shape=None,
        description={
            "equation": "u_t + u u_x = nu u_xx on [0, 2pi) periodic",
            "n_grid": n_grid,
            "dx": 2 * np.pi / n_grid,
            "viscosity": viscosity,
            "snapshot_dt": t_end / n_snapshots,
            "t_end": t_end,
            "solver": "spectral in x (2/3 dealiasing), solve_ivp RK45 rtol=1e-6 atol=1e-8",
            # RK45 takes 6 right-hand-side evaluations per accepted step.
            "solver_steps": int(solution.nfev // 6),
            "mean_solver_dt": t_end / max(solution.nfev // 6, 1),
        },
    )
