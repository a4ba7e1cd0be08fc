r"""Short-term plasticity: STP (Tsodyks-Markram facilitation and depression) and STD.

Both take presynaptic spikes and return, at each spike, the fraction of
resources released (0 between spikes); a projection multiplies its weights
by it: placed before a lapicque connectivity,
``AlignPostProj(STP(n_pre, U=0.1), comm=FixedOutDegree(...), syn=..., out=..., post=...)``
delivers ``weight x u+ x-`` per spike (the connectivity's event path visits
only the rows that spiked and scales each by its value).  brainstate's
``EventFixedProb`` counts every value > 0 as a whole spike, so after STP it
delivers the full weight, in brainpy.state as here; use a lapicque
connectivity (or a dense comm) after STP.

Between spikes the variables relax exactly (one exponential factor
per step); at a spike the jumps follow the reference's order:

1. relax ``u`` and ``x`` over the step;
2. facilitate: :math:`u^+ = u + U(1 - u)` (STP only);
3. release :math:`u^+ x` (STP) or :math:`x` (STD) -- the resources *before* this spike;
4. deplete: :math:`x \leftarrow x - u^+ x` (STP) or :math:`x - U x` (STD).

Difference from the reference
------------------------------
The reference writes the jumps with the values stored at the previous step
(``U (1 - u_prev)``, ``x - u^+ x_prev``), i.e. before this step's relaxation,
while the event-driven Tsodyks-Markram recurrence uses the relaxed values.
The two differ by one step's relaxation: per spike at most
:math:`U u\,(1 - e^{-\Delta t/\tau_f})` in ``u`` and
:math:`u^+ (1 - x)(1 - e^{-\Delta t/\tau_d})` in ``x`` (1e-5 and 5e-4 of the
variables at dt = 0.1 ms with the defaults).  lapicque follows the recurrence.
"""

from __future__ import annotations

from typing import Optional

import brainstate
import braintools
import jax.numpy as jnp
import saiunit as u

from .._core.declare import Param, StateSpec
from .._core.environ import dt_ms
from .._core.units import ANY_UNIT
from .synapses import Synapse, decay_factor

__all__ = ["STP", "STD"]

_TAU = Param(u.ms, "positive")
_U = Param(None, "fraction")


def _spike_amount(pre_spike):
    """Presynaptic spikes as floats (bool spikes become 0/1)."""
    s = jnp.asarray(u.get_mantissa(pre_spike))
    return s.astype(brainstate.environ.dftype()) if not jnp.issubdtype(s.dtype, jnp.floating) else s


class STP(Synapse):
    r"""Tsodyks-Markram short-term facilitation and depression.

    .. math::

        \frac{du}{dt} = -\frac{u}{\tau_f} + U (1 - u^-)\,\delta(t - t_k),\qquad
        \frac{dx}{dt} = \frac{1 - x}{\tau_d} - u^+ x^-\,\delta(t - t_k),

    and a spike releases :math:`u^+ x^-` (superscripts: just before / after the
    spike).  Between spikes ``u`` decays to 0 (the reference's formulation, as in
    Tsodyks, Pawelzik & Markram 1998) and ``x`` recovers to 1, both exactly:
    :math:`u \leftarrow u e^{-\Delta t/\tau_f}`,
    :math:`x \leftarrow 1 + (x - 1) e^{-\Delta t/\tau_d}`.  See the module notes for
    the update order and the (small) difference from the reference.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the group (one per presynaptic neuron).
    name : str, optional
        Name of the module.
    U : float, default 0.15
        Increment of ``u`` per spike and its initial value, in (0, 1].
    tau_f : Quantity, default 1500 ms
        Facilitation time constant (> 0).
    tau_d : Quantity, default 200 ms
        Recovery (depression) time constant (> 0).

    Attributes
    ----------
    u : brainstate.HiddenState
        Utilization (starts at ``U``).
    x : brainstate.HiddenState
        Available resources (starts at 1).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> stp = lapicque.STP(1, U=0.2, tau_f=100. * u.ms, tau_d=50. * u.ms)
    >>> stp.init_state()
    >>> first = stp.update(True)     # u relaxes one step from 0.2, then u+ = u + 0.2 (1 - u); x- = 1
    >>> [round(float(v), 4) for v in (first[0], stp.u.value[0], stp.x.value[0])]
    [0.3598, 0.3598, 0.6402]
    """

    __module__ = "lapicque"
    _PARAMS = {"U": _U, "tau_f": _TAU, "tau_d": _TAU}
    _STATES = {"x": StateSpec(ANY_UNIT, "_x_init"), "u": StateSpec(ANY_UNIT, "U")}
    _x_init = braintools.init.Constant(1.)

    def __init__(self, in_size, name: Optional[str] = None, U=0.15, tau_f=1500. * u.ms, tau_d=200. * u.ms):
        super().__init__(in_size, name=name)
        self._set_params(U=U, tau_f=tau_f, tau_d=tau_d)

    def update(self, pre_spike):
        """Relax, then apply this step's spikes; return the released fraction ``u+ x-`` (0 without spike)."""
        dt = dt_ms()
        s = _spike_amount(pre_spike)
        uu = self.u.value * decay_factor(self._p("tau_f"), dt)
        x = 1. + (self.x.value - 1.) * decay_factor(self._p("tau_d"), dt)
        uu = uu + s * self._p("U") * (1. - uu)
        released = uu * x
        self.u.value = uu
        self.x.value = x - s * released
        return released * s


class STD(Synapse):
    r"""Short-term depression: each spike releases the fraction ``x`` of resources and uses ``U x``.

    .. math::

        \frac{dx}{dt} = \frac{1 - x}{\tau} - U x^-\,\delta(t - t_k)

    Between spikes ``x`` recovers exactly,
    :math:`x \leftarrow 1 + (x - 1) e^{-\Delta t/\tau}`; a spike returns :math:`x^-`
    (the first spike of a train transmits undepressed) and then sets
    :math:`x \leftarrow (1 - U) x^-`.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the group.
    name : str, optional
        Name of the module.
    tau : Quantity, default 200 ms
        Recovery time constant (> 0).
    U : float, default 0.07
        Fraction of the resources used per spike, in (0, 1].

    Attributes
    ----------
    x : brainstate.HiddenState
        Available resources (starts at 1).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> std = lapicque.STD(1, tau=200. * u.ms, U=0.5)
    >>> std.init_state()
    >>> [round(float(std.update(True)[0]), 4) for _ in range(3)]   # 1, then about halved each spike
    [1.0, 0.5002, 0.2505]
    """

    __module__ = "lapicque"
    _PARAMS = {"tau": _TAU, "U": _U}
    _STATES = {"x": StateSpec(ANY_UNIT, "_x_init")}
    _x_init = braintools.init.Constant(1.)

    def __init__(self, in_size, name: Optional[str] = None, tau=200. * u.ms, U=0.07):
        super().__init__(in_size, name=name)
        self._set_params(tau=tau, U=U)

    def update(self, pre_spike):
        """Recover, then apply this step's spikes; return the released fraction ``x-`` (0 without spike)."""
        s = _spike_amount(pre_spike)
        x = 1. + (self.x.value - 1.) * decay_factor(self._p("tau"), dt_ms())
        self.x.value = x - s * self._p("U") * x
        return x * s


__test__ = {name: globals()[name] for name in __all__}
