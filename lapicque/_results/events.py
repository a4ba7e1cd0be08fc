"""Spikes as events from a result or a raw raster: what the analysis and the plots read."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import saiunit as u

from .result import SimulationResult

__all__ = ["as_events", "time_ms"]


def time_ms(value, what) -> float:
    """A time quantity in ms, as a float; a TypeError naming ``what`` otherwise."""
    if not isinstance(value, u.Quantity) or not u.have_same_dim(value, u.ms) or value.is_unitless:
        raise TypeError(f"{what} must be a time quantity such as 10 * u.ms; got {value!r}.")
    return float(np.asarray(value.to_decimal(u.ms)).reshape(()))


def _raster(spikes, dt, t0):
    """(bool raster (T, M), shape, dt_ms, t0_ms) from an array; SimulationResult is handled by callers."""
    if dt is None:
        raise TypeError("a raw spike raster needs its time step: pass dt=... (e.g. dt=0.1 * u.ms).")
    arr = np.asarray(u.get_mantissa(spikes))
    if arr.ndim < 1:
        raise ValueError(f"spikes must have a leading time axis; got shape {arr.shape}.")
    shape = arr.shape[1:]
    return arr.reshape(arr.shape[0], -1) > 0, shape, time_ms(dt, "dt"), time_ms(t0, "t0")


def _network_message(res) -> str:
    """What to pass instead of a network's result: one of its populations' results."""
    names = list(res.keys())
    first = names[0] if names else "pop"
    return (f"this is the result of a network ({type(res).__name__}), one result per population "
            f"({', '.join(repr(n) for n in names) or 'none'}): pass one population's result, e.g. "
            f"res[{first!r}] (a SimulationResult, which carries its own dt).")


def as_events(spikes, dt, t0):
    """Return (steps, neurons, n_steps, shape, dt_ms, t0_ms) for a result or a raster.

    Examples
    --------
    >>> class Net(dict):  # a mapping of population results, as NetworkResult is
    ...     pass
    >>> as_events(Net(pop=None, exc=None), None, 0. * u.ms)
    Traceback (most recent call last):
    ...
    TypeError: this is the result of a network (Net), one result per population ('pop', 'exc'): pass one ...
    """
    if isinstance(spikes, SimulationResult):
        steps, neurons = spikes.spike_steps
        return steps, neurons, spikes.n_steps, spikes.shape, spikes.dt_ms, spikes.t0_ms
    if isinstance(spikes, Mapping) or type(spikes).__name__ == "NetworkResult":
        raise TypeError(_network_message(spikes))
    raster, shape, dt_ms, t0_ms = _raster(spikes, dt, t0)
    steps, neurons = np.nonzero(raster)
    return steps, neurons, raster.shape[0], shape, dt_ms, t0_ms
