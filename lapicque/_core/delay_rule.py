r"""The delay rule in whole steps, for every delay in lapicque: projections and delayed reads.

A delay ``d`` read with time step ``dt`` lasts

.. math::

    D = \lfloor d / dt + 1/2 \rfloor \qquad (\text{round half up, in whole steps}),

computed for the numbers the user wrote: ``d`` and ``dt`` are the decimals that their
floats print as, so ``0.15 ms / 0.1 ms`` is exactly ``3/2`` (``D = 2``) although the float
quotient is ``1.4999999999999998``, and ``0.07 ms / 0.01 ms`` is exactly 7 although the
float64 quotient is ``7.000000000000001`` (brainstate's ``ceil`` makes that 8).

This is the ground floor's copy of the rule so that :class:`lapicque.Dynamics`
(``prefetch_delay``) and the network layer's delay lines
(:mod:`lapicque._network.delays`, which documents the timing) count steps the same way;
the network layer imports it from here.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import saiunit as u

__all__ = ["as_written", "check_delay", "delay_steps"]


def check_delay(delay, owner: str, n_pre=None):
    """Validate a projection delay at construction; return it in ms (numpy) or ``None``.

    Parameters
    ----------
    delay : Quantity or None
        A non-negative, finite time: a scalar, or one value per presynaptic element.
    owner : str
        The projection's name, for error messages.
    n_pre : int, optional
        Number of presynaptic elements, when known, to check a per-element delay.
    """
    if delay is None:
        return None
    if not isinstance(delay, u.Quantity):
        if np.ndim(delay) == 0 and isinstance(delay, (int, float, np.number)) and delay == 0:
            return np.zeros(())
        raise TypeError(
            f"{owner}: delay must be a time such as 1.5 * u.ms (or None for no delay); got {delay!r}. "
            f"lapicque does not guess units.")
    if not u.have_same_dim(delay, u.ms):
        raise TypeError(f"{owner}: delay must be a time such as 1.5 * u.ms; got {delay} (wrong physical dimension).")
    d = np.asarray(delay.to_decimal(u.ms), dtype=float)
    if d.ndim > 1:
        raise ValueError(f"{owner}: delay must be a scalar or a 1-D array (one per presynaptic element); "
                         f"got shape {d.shape}.")
    if d.ndim == 1 and n_pre is not None and d.shape[0] != n_pre:
        raise ValueError(f"{owner}: a per-element delay needs one value per presynaptic element ({n_pre}); "
                         f"got {d.shape[0]} values.")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError(f"{owner}: delay must be finite and non-negative; got {delay}.")
    return d


#: quotients d/dt within this relative distance of a half step are rounded in exact rational
#: arithmetic: float32 values are off their decimal by up to 2**-24 = 6e-8 each, so 1e-6 has a
#: margin of 8; float64 values (and the quotient) by ~1.1e-16 each, so 1e-12 has a margin of 3000.
NEAR_HALF_RTOL = {"float32": 1e-6, "float64": 1e-12}


def as_written(x) -> Fraction:
    """The decimal number behind the float ``x``, exactly: its shortest representation.

    A value that is exactly a float32 (a float32 array cast to float64 on its way
    here, or a binary fraction such as 0.25 whose two representations agree) is
    read with float32's shortest representation, so ``float32(0.35)``
    (= 0.3499999940395355) is 7/20.

    Examples
    --------
    >>> from lapicque._core.delay_rule import as_written
    >>> as_written(0.15), as_written(0.1), as_written(0.35)
    (Fraction(3, 20), Fraction(1, 10), Fraction(7, 20))
    """
    x = float(x)
    x32 = np.float32(x) if abs(x) < 3e38 else np.float32(np.inf)
    shortest = x32 if float(x32) == x else np.float64(x)
    return Fraction(np.format_float_scientific(shortest, unique=True))


def delay_steps(delay_ms, dt_ms) -> np.ndarray:
    """The delay rule: ``floor(d / dt + 1/2)`` whole steps (numpy int64), exact for the decimals written.

    Parameters
    ----------
    delay_ms : float or array of float
        Delays in ms, finite and >= 0.
    dt_ms : float
        The time step in ms, finite and > 0.

    Examples
    --------
    >>> from lapicque._core.delay_rule import delay_steps
    >>> delay_steps([0.05, 0.15, 0.25, 0.3, 0.35], 0.1).tolist()   # 0.15 / 0.1 = 1.4999999999999998 in floats
    [1, 2, 3, 3, 4]
    """
    d = np.asarray(delay_ms, dtype=np.float64)
    dt = float(dt_ms)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"delay_steps: dt must be a finite time > 0 ms; got {dt_ms!r}.")
    q = d / dt
    if q.size and not np.all(q < 2.**62):
        raise ValueError(f"delay_steps: a delay of {np.max(d):g} ms is {np.max(q):.3g} steps of dt = {dt:g} ms, "
                         f"more than any buffer can hold.")
    steps = np.array(np.floor(q + 0.5), dtype=np.float64)
    with np.errstate(over="ignore"):
        f32 = (d.astype(np.float32).astype(np.float64) == d) | (float(np.float32(dt)) == dt)
    rtol = np.where(f32, NEAR_HALF_RTOL["float32"], NEAR_HALF_RTOL["float64"])
    near = np.abs(q - np.floor(q) - 0.5) <= rtol * np.maximum(q, 1.)
    if np.any(near):
        dt_exact, half = as_written(dt), Fraction(1, 2)
        values, where = np.unique(d[near], return_inverse=True)
        exact = np.array([math.floor(as_written(v) / dt_exact + half) for v in values], dtype=np.float64)
        steps[near] = exact[where.reshape(-1)]
    return steps.astype(np.int64)
