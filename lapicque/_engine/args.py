"""Checks of :func:`lapicque.simulate`'s arguments: times, the step, the input current.

Every check raises a clear error naming the argument, what was expected and
what was given; nothing here touches the model.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._core import environ
from .drives import ConstantDrive, Drive, FunctionDrive, NoDrive, SeriesDrive

__all__ = ["DEFAULT_DT", "resolve_dt", "check_time", "n_steps_of", "prepare_current", "broadcasts"]

#: the step used when neither ``dt=`` nor ``brainstate.environ`` gives one
DEFAULT_DT = 0.1 * u.ms


def require_dim(value, unit, no_unit_msg: str, wrong_dim_msg: str):
    """TypeError (prefixed 'simulate: ') unless ``value`` is a quantity with ``unit``'s dimension."""
    if not isinstance(value, u.Quantity) or value.is_unitless:
        raise TypeError("simulate: " + no_unit_msg)
    if not u.have_same_dim(value, unit):
        raise TypeError("simulate: " + wrong_dim_msg)


def check_time(value, what: str, positive: bool = True, allow_zero: bool = False) -> float:
    """Return ``value`` in ms as a python float; clear errors for bad input."""
    require_dim(value, u.ms,
                f"{what} must be a time quantity such as 100 * u.ms; got {value!r}. "
                f"lapicque does not guess units (import saiunit as u).",
                f"{what} must be a time quantity such as 100 * u.ms; got {value} (wrong physical dimension).")
    arr = np.asarray(value.to_decimal(u.ms), dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"simulate: {what} must be a scalar; got shape {arr.shape}.")
    ms = float(arr.reshape(()))
    if not math.isfinite(ms):
        raise ValueError(f"simulate: {what} must be finite; got {value}.")
    if positive and (ms < 0 or (ms == 0 and not allow_zero)):
        raise ValueError(f"simulate: {what} must be {'>= 0' if allow_zero else '> 0'}; got {value}.")
    return ms


def resolve_dt(dt) -> float:
    """The step of a run in ms: an explicit ``dt`` wins, else ``brainstate.environ``'s, else :data:`DEFAULT_DT`."""
    if dt is not None:
        return check_time(dt, "dt")
    env = environ.dt_ms(missing=None)
    if env is None:
        return check_time(DEFAULT_DT, "dt")
    return check_time(float(np.asarray(env).reshape(())) * u.ms, "the dt set in brainstate.environ")


def n_steps_of(duration_ms: float, dt_ms: float) -> int:
    """Number of steps of a run; the duration must be a whole number of steps."""
    n = duration_ms / dt_ms
    steps = int(round(n))
    if steps < 1:
        raise ValueError(
            f"simulate: duration ({duration_ms} ms) is shorter than one time step (dt = {dt_ms} ms).")
    if abs(n - steps) > 1e-6 * max(1.0, n):
        raise ValueError(
            f"simulate: duration ({duration_ms} ms) is not a whole number of time steps (dt = {dt_ms} ms): "
            f"{n:.6g} steps.")
    return steps


def broadcasts(shape, target) -> bool:
    try:
        return tuple(np.broadcast_shapes(tuple(shape), tuple(target))) == tuple(target)
    except ValueError:
        return False


def _check_finite(current):
    """Refuse a concrete current with NaN or infinity (it would silently kill the neurons it reaches)."""
    try:
        arr = np.asarray(current.mantissa)
    except Exception:  # traced: nothing to check here
        return
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))
        where = tuple(int(i) for i in bad[0]) if bad.size else ()
        raise ValueError(
            f"simulate: the current contains {int((~np.isfinite(arr)).sum())} non-finite value(s) (NaN or "
            f"infinity), the first at index {where}: {arr[where] if where else arr} {current.unit}. A non-finite "
            f"input makes the neurons it reaches NaN for the rest of the run.")


def _check_input_unit(current, unit):
    """The input in the model's input unit: a current (``u.mA``), another dimension, or plain (``None``)."""
    if unit is None:  # a dimensionless model (FitzHughNagumo, HindmarshRose): plain numbers
        if isinstance(current, u.Quantity) and not current.is_unitless:
            raise TypeError(f"simulate: this model's input is a plain number (dimensionless); got {current}.")
        return u.Quantity(jnp.asarray(u.get_mantissa(current) if isinstance(current, u.Quantity) else current))
    what, example = ("current", "5 * u.mA") if u.have_same_dim(unit, u.mA) else \
        (f"{unit} (this model's input)", f"5 * {unit}")
    require_dim(current, unit,
                f"current must be a quantity with units of {what} (e.g. {example}), an array of them over time, "
                f"or a function of time returning one; got {current!r}.",
                f"current must have units of {what} (e.g. {example}); got unit {getattr(current, 'unit', None)}.")
    return current


def prepare_current(current, n_steps: int, shape, time_varying: Optional[bool], unit=u.mA) -> Drive:
    """``current`` checked and classified as the run's :class:`~lapicque._engine.drives.Drive`.

    ``unit`` is the model's input unit (:attr:`lapicque.Neuron.input_unit`; ``None`` for plain numbers).
    """
    if current is None:
        return NoDrive()
    if callable(current) and not isinstance(current, (u.Quantity, np.ndarray, jax.Array)):
        return FunctionDrive(current)
    current = _check_input_unit(current, unit)
    _check_finite(current)
    if shape is None:  # a network: the current goes to its update() as given
        return ConstantDrive(current)
    cshape = tuple(np.shape(current.mantissa))
    as_const = broadcasts(cshape, shape)
    as_series = len(cshape) >= 1 and cshape[0] == n_steps and broadcasts(cshape[1:], shape)
    if time_varying is None:
        if as_const and as_series and cshape[0] != 1:
            raise ValueError(
                f"simulate: the current of shape {cshape} could be one value per neuron (state shape {shape}) "
                f"or one value per time step ({n_steps} steps); pass time_varying=True or False.")
        time_varying = as_series and not as_const
    if time_varying:
        if not as_series:
            raise ValueError(
                f"simulate: a current over time needs shape ({n_steps}, ...) with the rest broadcastable to the "
                f"state shape {shape}; got {cshape}.")
        return SeriesDrive(current)
    if not as_const:
        raise ValueError(
            f"simulate: the current has shape {cshape}, which neither broadcasts to the state shape {shape} "
            f"nor has one row per time step ({n_steps} steps).")
    return ConstantDrive(current)
