"""Vortex shedding behind a circular cylinder at Re = 100: the canonical POD data set.

Simulated with a lattice-Boltzmann solver written here (D2Q9, two-relaxation-time
collision with the "magic" parameter 1/4, full-way bounce-back on the cylinder, an
equilibrium inflow of speed U on the left, a zero-gradient outflow on the right, and a
periodic lateral direction: an infinite row of cylinders ``height`` apart, blockage
``D / height``). The established packages were weighed and not taken: lbmpy generates
and compiles C kernels through pystencils and sympy, a large toolchain for what is here
some 60 lines of numpy.

The flow starts uniform with a small transverse kick, sheds after a transient, and is
then recorded over several shedding periods. The Strouhal number ``St = f D / U`` is
measured from the zero crossings of the transverse velocity at a probe 2 D behind the
cylinder; Williamson (1996) gives 0.164-0.166 at Re = 100 in an unbounded flow.
Generation takes minutes, so the result is cached on disk, keyed by its parameters.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from dimred.datasets._home import get_cache_home

# D2Q9 velocities, weights and the opposite of each direction.
_C = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1], [1, 1], [-1, 1], [-1, -1], [1, -1]])
_W = np.array([4 / 9] + [1 / 9] * 4 + [1 / 36] * 4)
_OPPOSITE = np.array([0, 3, 4, 1, 2, 7, 8, 5, 6])
#: TRT "magic" parameter: puts the bounce-back wall halfway between nodes for any
#: viscosity (Ginzburg et al. 2008).
_MAGIC = 0.25

#: Below this relaxation time the lattice under-resolves the wake: D = 8 (0.524) blows
#: up and D = 12 (0.536) rings at the probe (St 1.1); D = 16 (0.548) sheds at 0.177.
_MIN_TAU = 0.545
#: Steps between checks that the flow has not blown up, and the lattice speed that
#: says it has (the flow never exceeds about 2 U, and U <= 0.2).
_HEALTH_EVERY = 100
_DIVERGED = 0.6


def make_cylinder(
    diameter: int = 16,
    *,
    reynolds: float = 100.0,
    velocity: float = 0.1,
    height: int = 10,
    upstream: int = 5,
    downstream: int = 15,
    transient: float = 120.0,
    n_snapshots: int = 240,
    snapshots_per_period: int = 24,
    stride: int = 2,
    test_fraction: float = 0.2,
    cache: bool = True,
) -> Bunch:
    """Simulate (or read from the cache) the cylinder wake and split it in time.

    Parameters
    ----------
    diameter : int, default=16
        Cylinder diameter D in lattice cells.
    reynolds : float, default=100
        Re = U D / nu.
    velocity : float, default=0.1
        Inflow speed U in lattice units (Mach number U * sqrt(3)).
    height, upstream, downstream : int, default=10, 5, 15
        Domain height and the lengths before and after the cylinder's centre, in D.
    transient : float, default=120
        Convective times ``t U / D`` simulated before recording.
    n_snapshots : int, default=240
        Snapshots recorded, ``snapshots_per_period`` per expected shedding period
        (taken as ``D / (0.165 U)``): 10 periods by default.
    stride : int, default=2
        Every ``stride``-th lattice node in each direction is kept in the fields.
    test_fraction : float, default=0.2
        The last snapshots in time are the test set: later periods of the same cycle.
    cache : bool, default=True
        Read and write the result under ``get_cache_home() / "cylinder"``.

    Returns
    -------
    data : Bunch
        ``X_train`` / ``X_test`` float32 snapshots, each the velocity ``(u, v) / U`` on
        the kept nodes of the wake window (from 1 D before the cylinder to the outflow),
        flattened in C order from shape ``field_shape = (2, ny, nx)``
        (``field_channels`` names them); ``times_train`` /
        ``times_test`` and ``y_train`` / ``y_test`` in convective units ``t U / D``;
        ``grid`` the ``(x, y)`` node coordinates in D, centred on the cylinder;
        ``description`` with Re, the domain, the blockage, the resolution, the time step
        and the measured ``strouhal``.
    """
    options = {
        "diameter": diameter, "reynolds": reynolds, "velocity": velocity, "height": height,
        "upstream": upstream, "downstream": downstream, "transient": transient,
        "n_snapshots": n_snapshots, "snapshots_per_period": snapshots_per_period,
        "stride": stride,
    }
    _check(options, test_fraction)
    key = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:16]
    path = get_cache_home() / "cylinder" / f"cylinder-{key}.npz"
    if cache and path.exists():
        with np.load(path, allow_pickle=False) as stored:
            fields, times, probe_times, probe = (stored[name] for name in
                                                 ("fields", "times", "probe_times", "probe"))
    else:
        fields, times, probe_times, probe = simulate(**options)
        if cache:
            _save_atomically(path, fields=fields, times=times, probe_times=probe_times,
                             probe=probe)
    strouhal = strouhal_number(probe_times, probe)
    n_test = max(1, round(test_fraction * n_snapshots))
    flat = fields.reshape(n_snapshots, -1)
    _, ny, nx = fields.shape[1:]
    x = (np.arange(nx) * stride - diameter) / diameter
    y = (np.arange(ny) * stride - height * diameter / 2) / diameter
    return Bunch(
        name="cylinder",
        X_train=flat[:-n_test], X_test=flat[-n_test:],
        times_train=times[:-n_test], times_test=times[-n_test:],
        y_train=times[:-n_test], y_test=times[-n_test:],
        # Validation is the last block of training time, as the test set is of all time.
        validation="time block",
        grid=(x, y), field_shape=(2, ny, nx), field_channels=("u / U", "v / U"),
        image_shape=None,
        description={
            "equation": "incompressible Navier-Stokes past a circular cylinder, Re = U D / nu",
            "reynolds": reynolds,
            "domain_D": [upstream + downstream, height],
            "blockage": 1 / height,
            "lateral_boundary": "periodic (a row of cylinders `height` D apart)",
            "cells_per_D": diameter,
            "node_spacing_D": stride / diameter,
            "mach": velocity * np.sqrt(3),
            "snapshot_dt": float(times[1] - times[0]),
            "solver": "lattice Boltzmann D2Q9, TRT (magic 1/4), bounce-back cylinder",
            "strouhal": strouhal,
            "strouhal_reference": "0.164-0.166 (Williamson 1996)",
        },
    )


def simulate(*, diameter, reynolds, velocity, height, upstream, downstream, transient,
             n_snapshots, snapshots_per_period, stride):
    """Run the lattice-Boltzmann solver; return the recorded fields ``(n, 2, ny, nx)``
    (float32, velocity over U), their times and the probe's transverse velocity at every
    recorded step (times in convective units)."""
    nx, ny = (upstream + downstream) * diameter, height * diameter
    nu = velocity * diameter / reynolds
    omega_plus = 1.0 / (3.0 * nu + 0.5)
    omega_minus = 1.0 / (_MAGIC / (1.0 / omega_plus - 0.5) + 0.5)
    cx, cy = upstream * diameter, ny / 2
    X, Y = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")
    solid = (X - cx + 0.5) ** 2 + (Y - cy + 0.5) ** 2 <= (diameter / 2) ** 2

    ux = np.full((ny, nx), velocity)
    # A transverse kick behind the cylinder breaks the symmetry, so shedding starts soon.
    uy = 0.1 * velocity * np.exp(-((X - cx - diameter) ** 2 + (Y - cy) ** 2) / diameter**2)
    ux[solid] = uy[solid] = 0.0
    f = _equilibrium(np.ones((ny, nx)), ux, uy)
    inflow_ux, inflow_uy = np.full((ny, 1), velocity), np.zeros((ny, 1))

    steps_per_time = diameter / velocity  # lattice steps per convective time D / U
    every = max(1, round(steps_per_time / (0.165 * snapshots_per_period)))
    start = round(transient * steps_per_time)
    probe_x, probe_y = int(cx + 2 * diameter), int(cy)
    window = (slice(None, None, stride), slice(int(cx - diameter), None, stride))
    fields, times, probe, probe_times = [], [], [], []
    for step in range(start + every * n_snapshots):
        rho = f.sum(axis=0)
        ux = (f[[1, 5, 8]].sum(axis=0) - f[[3, 6, 7]].sum(axis=0)) / rho
        uy = (f[[2, 5, 6]].sum(axis=0) - f[[4, 7, 8]].sum(axis=0)) / rho
        if step % _HEALTH_EVERY == 0 and not np.all(np.abs(ux) < _DIVERGED):
            raise ValueError(
                f"cylinder: the simulation diverged at t U / D = {step / steps_per_time:.1f} "
                f"(diameter={diameter}, velocity={velocity}, reynolds={reynolds}); raise "
                "diameter (resolution) or lower reynolds.")
        if step >= start:
            probe.append(uy[probe_y, probe_x] / velocity)
            probe_times.append(step / steps_per_time)
            if (step - start) % every == 0:
                fields.append(np.stack([ux[window], uy[window]]) / velocity)
                times.append(step / steps_per_time)
        f = _collide(f, rho, ux, uy, omega_plus, omega_minus)
        f[:, solid] = f[_OPPOSITE][:, solid]  # full-way bounce-back
        for direction, (step_x, step_y) in enumerate(_C):
            f[direction] = np.roll(f[direction], (step_y, step_x), axis=(0, 1))
        # Inflow at speed U with the density of the next column, so that pressure waves
        # leave through the inlet instead of reflecting from a fixed density.
        f[:, :, :1] = _equilibrium(f[:, :, 1:2].sum(axis=0), inflow_ux, inflow_uy)
        f[[3, 6, 7], :, -1] = f[[3, 6, 7], :, -2]  # zero-gradient outflow: the unknowns
    return (np.asarray(fields, dtype=np.float32), np.asarray(times),
            np.asarray(probe_times), np.asarray(probe))


def _equilibrium(rho, ux, uy):
    cu = 3.0 * (_C[:, 0, None, None] * ux + _C[:, 1, None, None] * uy)
    usq = 1.5 * (ux * ux + uy * uy)
    return _W[:, None, None] * rho * (1.0 + cu + 0.5 * cu * cu - usq)


def _collide(f, rho, ux, uy, omega_plus, omega_minus):
    """Two-relaxation-time collision: the even and odd parts of ``f - f_eq`` relax at
    their own rates (the even one sets the viscosity)."""
    non_equilibrium = f - _equilibrium(rho, ux, uy)
    mirrored = non_equilibrium[_OPPOSITE]
    even, odd = 0.5 * (non_equilibrium + mirrored), 0.5 * (non_equilibrium - mirrored)
    return f - omega_plus * even - omega_minus * odd


def strouhal_number(times: np.ndarray, signal: np.ndarray) -> float:
    """``f D / U`` from the mean interval between upward zero crossings of ``signal``
    (times in convective units ``t U / D``, so the frequency is already ``f D / U``)."""
    centred = signal - signal.mean()
    upward = np.nonzero((centred[:-1] < 0) & (centred[1:] >= 0))[0]
    if len(upward) < 3:
        return float("nan")  # no shedding recorded
    # Linear interpolation of each crossing between its two samples.
    crossings = times[upward] - centred[upward] * (
        (times[upward + 1] - times[upward]) / (centred[upward + 1] - centred[upward])
    )
    return float((len(crossings) - 1) / (crossings[-1] - crossings[0]))


def _check(options: dict, test_fraction: float) -> None:
    positive_ints = ("diameter", "height", "upstream", "downstream", "n_snapshots",
                     "snapshots_per_period", "stride")
    for name in positive_ints:
        value = options[name]
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"cylinder: {name} must be a positive int, got {value!r}.")
    if options["diameter"] < 6:
        raise ValueError(f"cylinder: diameter must be >= 6 cells, got {options['diameter']}.")
    for name in ("reynolds", "velocity", "transient"):
        if not isinstance(options[name], int | float) or options[name] <= 0:
            raise ValueError(f"cylinder: {name} must be a positive number, "
                             f"got {options[name]!r}.")
    if options["velocity"] > 0.2:
        raise ValueError(f"cylinder: velocity={options['velocity']} is too fast for the "
                         "lattice (Mach > 0.35); use <= 0.2.")
    tau = 3 * options["velocity"] * options["diameter"] / options["reynolds"] + 0.5
    if tau < _MIN_TAU:
        raise ValueError(f"cylinder: relaxation time 3 U D / Re + 1/2 = {tau:.4f} < "
                         f"{_MIN_TAU} under-resolves the wake; raise diameter or velocity, "
                         "or lower reynolds.")
    if options["upstream"] < 2 or options["downstream"] < 4 or options["height"] < 4:
        raise ValueError("cylinder: the domain needs upstream >= 2, downstream >= 4 and "
                         "height >= 4 diameters.")
    if not 0 < test_fraction < 1:
        raise ValueError(f"cylinder: test_fraction must be in (0, 1), got {test_fraction}.")


def _save_atomically(path: Path, **arrays) -> None:
    """Write to a temporary name and rename, so a concurrent reader never sees half a
    file and a killed generation leaves none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    np.savez_compressed(partial, **arrays)
    os.replace(partial, path)
