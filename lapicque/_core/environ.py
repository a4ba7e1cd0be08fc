"""The one reader of the time step ``dt`` and the current time ``t`` in :mod:`brainstate.environ`.

A step reads them in milliseconds; what happens when one is not set is the caller's
choice, said once: ``missing=RAISE`` (a model's step: an error that says how to set
it), or a default value (a run that picks its own step, a file that records it if it
is known).  A value of the wrong dimension is always an error.

A model that runs without units (its parameters were plain numbers) reads them with
``plain=True``: then ``dt`` and ``t`` must be plain numbers too, read in ms (as
``brainstate.environ.set(dt=0.1)`` gives them), and a quantity is the error.
"""

from __future__ import annotations

from typing import Optional

import brainstate
import saiunit as u

from .errors import EnvironmentNotSetError
from .units import format_value, is_plain

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


def _read(key: str, owner: Optional[str], missing, plain: bool = False):
    try:
        value = brainstate.environ.get_dt() if key == "dt" else brainstate.environ.get(key)
    except KeyError:
        if missing is RAISE:
            how = _HOW[key][0]
            if plain:
                how = how.replace(_HOW[key][1], _HOW[key][1].replace(" * u.ms", ""))
            raise EnvironmentNotSetError(f"{owner}: {how}" if owner else how[0].upper() + how[1:]) from None
        return missing
    who = f"{owner}: " if owner else ""
    if plain:
        if is_plain(value):
            return u.get_mantissa(value)
        raise TypeError(
            f"{who}brainstate.environ '{key}' must be a plain number (read in ms) such as "
            f"{_HOW[key][1].replace(' * u.ms', '')}, since {owner or 'the model'} runs without units (its parameters "
            f"were given as plain numbers); got {format_value(value)}. Give the parameters as quantities to run "
            f"with units.")
    if not isinstance(value, u.Quantity) or not u.have_same_dim(value, u.ms):
        hint = (f" To run {owner or 'a model'} without units, give its parameters as plain numbers too."
                if is_plain(value) else "")
        raise TypeError(f"{who}brainstate.environ '{key}' must be a time quantity such as {_HOW[key][1]}; got "
                        f"{format_value(value)}.{hint}")
    return value.to_decimal(u.ms)


def dt_ms(owner: Optional[str] = None, missing=RAISE, plain: bool = False):
    """``dt`` from :mod:`brainstate.environ` in ms (a traced array inside a compiled loop).

    Parameters
    ----------
    owner : str, optional
        Who asks (named in the errors).
    missing : object, default :data:`RAISE`
        Returned when ``dt`` is not set (``RAISE``: an error that says how to set it).
    plain : bool, default False
        Unitless mode: ``dt`` must be a plain number (in ms).

    Examples
    --------
    >>> import brainstate, saiunit as u
    >>> with brainstate.environ.context(dt=0.25 * u.ms):
    ...     print(float(dt_ms()))
    0.25
    >>> with brainstate.environ.context(dt=0.25):
    ...     print(float(dt_ms(plain=True)))
    0.25
    """
    return _read("dt", owner, missing, plain)


def t_ms(owner: Optional[str] = None, missing=RAISE, plain: bool = False):
    """The current time ``t`` from :mod:`brainstate.environ` in ms (``plain``: as for :func:`dt_ms`)."""
    return _read("t", owner, missing, plain)
