r"""Readouts: LeakyRateReadout, the leaky integrator that turns spikes into a trainable continuous output.

``brainpy.state`` 2.9.0 has one readout, :class:`LeakyRateReadout` (brainstate's deprecation table
points ``LeakySpikeReadout`` at ``brainpy.state``, which does not define it).
"""

from __future__ import annotations

import numbers
from typing import Callable, Optional

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._core.declare import Declared, Param, StateSpec, check_param
from .._core.environ import dt_ms
from .._core.errors import ParameterError
from .._core.units import DIMENSIONLESS

__all__ = ["LeakyRateReadout"]


def _size(value, owner: str, what: str):
    """A positive int (or a 1-tuple of one) as a 1-tuple; a clear error otherwise."""
    sizes = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    ok = len(sizes) == 1 and isinstance(sizes[0], (numbers.Integral, np.integer)) and not isinstance(
        sizes[0], bool) and sizes[0] > 0
    if not ok:
        raise ParameterError(f"{owner}: {what} must be a positive int (a readout is a vector); got {value!r}.")
    return (int(sizes[0]),)


class LeakyRateReadout(Declared, brainstate.nn.Module):
    r"""A leaky integrator of weighted inputs: the continuous readout of a spiking network.

    .. math::  r_t = \alpha\, r_{t-1} + x_t W,\qquad \alpha = e^{-\Delta t/\tau}

    so :math:`r` is the input filtered by the exponential kernel
    :math:`r_t = \sum_{s \le t} \alpha^{t-s} x_s W` (a low-pass filter with time constant
    :math:`\tau`; a constant input gives :math:`r \to x W / (1 - \alpha)`).  Its output is
    continuous (no spikes), made for the last layer of a network trained with surrogate
    gradients.

    Parameters
    ----------
    in_size : int
        Size of the input (e.g. the number of spiking neurons read out).
    out_size : int
        Size of the output.
    tau : Quantity (time), default 5 ms
        Time constant (> 0), scalar or one per output.
    w_init : initializer or array, default ``braintools.init.KaimingNormal()``
        Initial weights, shape ``(in_size, out_size)``.
    name : str, optional
        Name of the module.

    Attributes
    ----------
    weight : brainstate.ParamState
        The weights :math:`W` (trainable).
    r : brainstate.HiddenState
        The output (plain numbers), shape ``(out_size,)`` or ``(batch, out_size)``.
    decay : jax.Array
        :math:`\alpha` at the environment's ``dt`` (read at each step; the reference computes it
        once, at construction, so it needs ``dt`` set before the readout is built).

    Examples
    --------
    >>> import brainstate, jax.numpy as jnp, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=1. * u.ms)
    >>> ro = lapicque.LeakyRateReadout(2, 1, tau=5. * u.ms, w_init=jnp.ones((2, 1)))
    >>> ro.init_state()
    >>> [round(float(ro.update(jnp.array([1., 0.]))[0]), 3) for _ in range(3)]   # 1, 1 + a, 1 + a + a^2
    [1.0, 1.819, 2.489]
    """

    __module__ = "lapicque"
    _PARAMS = {"tau": Param(u.ms, "positive")}
    _STATES = {"r": StateSpec(DIMENSIONLESS, 0.)}

    def __init__(self, in_size, out_size, tau=5. * u.ms, w_init: Callable = braintools.init.KaimingNormal(),
                 name: Optional[str] = None):
        super().__init__(name=name)
        owner = type(self).__name__
        self.in_size = _size(in_size, owner, "in_size")
        self.out_size = _size(out_size, owner, "out_size")
        self._set_params(tau=tau)
        shape = (self.in_size[0], self.out_size[0])
        try:
            w = braintools.init.param(w_init, shape)
        except (ValueError, TypeError, AssertionError) as e:
            raise ParameterError(f"{owner}: w_init must be an initializer or an array of shape {shape}; got "
                                 f"{w_init!r} ({e}).") from None
        if u.math.shape(w) != shape:
            raise ParameterError(f"{owner}: w_init must give weights of shape {shape}; got {u.math.shape(w)}.")
        self.weight = brainstate.ParamState(check_param(owner, "w_init", w, Param("any")))

    @property
    def varshape(self):
        """The shape of the output (``out_size``)."""
        return self.out_size

    @property
    def decay(self):
        r""":math:`e^{-\Delta t/\tau}` at the environment's ``dt``."""
        return jnp.exp(-dt_ms(type(self).__name__) / self._p("tau"))

    def update(self, x):
        """Advance by one step with input ``x`` (shape ``(..., in_size)``) and return ``r``."""
        owner = type(self).__name__
        if u.math.shape(x)[-1:] != self.in_size:
            raise ValueError(f"{owner}.update: the input's last axis must have size {self.in_size[0]} (in_size); "
                             f"got an input of shape {u.math.shape(x)}.")
        self.r.value = self.decay * self.r.value + u.math.matmul(x, self.weight.value)
        return self.r.value


__test__ = {"LeakyRateReadout": LeakyRateReadout}
