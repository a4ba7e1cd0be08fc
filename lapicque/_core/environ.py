"""The one reader of the time step ``dt`` and the current time ``t`` in :mod:`brainstate.environ`.

A step reads them in milliseconds; what happens when one is not set is the caller's
choice, said once: ``missing=RAISE`` (a model's step: an error that says how to set
it), or a default value (a run that picks its own step, a file that records it if it
is known).  A value of the wrong dimension is always an error.
"""

from __future__ import annotations

from typing import Optional

import brainstate
import saiunit as u

from .errors import EnvironmentNotSetError
from .units import format_value

__all__ = ["RAISE", "dt_ms", "t_ms"]

#: ``missing=RAISE``: a value that is not set is an :class:`EnvironmentNotSetError`
RAISE = object()

_HOW = {
    "dt": ("the time step 'dt' is not set. Set it before calling update(), e.g. "
           "brainstate.environ.set(dt=0.1 * u.ms), or run the model with lapicque.simulate().", "0.1 * u.ms"),
    "t": ("the current time 't' is not set; it times refractory periods and transmitter pulses. Set it for "
          "each step, e.g. `with brainstate.environ.context(t=i * dt): model.update(x)`, or run the model with "
          "lapicque.simulate().", "1.0 * u.ms"),
}


def _read(key: str, owner: Optional[str], missing):
    try:
        value = brainstate.environ.get_dt() if key == "dt" else brainstate.environ.get(key)
    except KeyError:
        if missing is RAISE:
            how = _HOW[key][0]
            raise EnvironmentNotSetError(f"{owner}: {how}" if owner else how[0].upper() + how[1:]) from None
        return missing
    if not isinstance(value, u.Quantity) or not u.have_same_dim(value, u.ms):
        raise TypeError(f"brainstate.environ '{key}' must be a time quantity such as {_HOW[key][1]}; got "
                        f"{format_value(value)}.")
    return value.to_decimal(u.ms)


def dt_ms(owner: Optional[str] = None, missing=RAISE):
    """``dt`` from :mod:`brainstate.environ` in ms (a traced array inside a compiled loop).

    Examples
    --------
    >>> import brainstate, saiunit as u
    >>> with brainstate.environ.context(dt=0.25 * u.ms):
    ...     print(float(dt_ms()))
    0.25
    """
    return _read("dt", owner, missing)


def t_ms(owner: Optional[str] = None, missing=RAISE):
    """The current time ``t`` from :mod:`brainstate.environ` in ms."""
    return _read("t", owner, missing)
