"""Reduced excitable models without a reset: FitzHughNagumo, HindmarshRose.

Both are dimensionless polynomial models whose ``V`` rides a continuous
trajectory through each spike, so a spike is the *upward crossing* of
``V_th``: the step where ``V`` reaches ``V_th`` from below (as brainpy.state
defines it), never the steps it then stays above.
"""

from typing import Callable

import braintools
import jax.numpy as jnp
import saiunit as u

from .._core.declare import Param, StateSpec
from .._core.units import DIMENSIONLESS, ms
from .base import Neuron
from .integrate import exp_euler
from .reset import threshold_argument

__all__ = ["FitzHughNagumo", "HindmarshRose"]

_PLAIN = Param(DIMENSIONLESS)


class _NoReset(Neuron):
    """Dimensionless states and input, no reset, spikes on the upward crossing of ``V_th``."""

    _INPUT_UNIT = DIMENSIONLESS
    _V_UNIT = DIMENSIONLESS

    def get_spike(self, V=None):
        """Surrogate of ``V >= V_th``: ``spk_fun((V - V_th) / |V_th|)`` (default: current ``V``).

        This is the level, not the crossing: :meth:`update` returns the
        crossing, ``get_spike(V_new) * (1 - get_spike(V_old))``.
        """
        return self._spike_of(V=V)

    def _spike_arg(self, s, p):
        return threshold_argument(s["V"], p["V_th"])

    def _reset(self, s, spk, p):
        return {}

    def update(self, x=0.):
        """Advance the group by one step with input ``x`` (dimensionless) and return its spikes.

        Parameters
        ----------
        x : float or array, default 0
            External input (dimensionless, added to the ``V`` equation),
            broadcastable to the state shape.

        Returns
        -------
        jax.Array
            1 where ``V`` crossed ``V_th`` upwards in this step (surrogate:
            ``spk_fun`` of the new state times ``1 - spk_fun`` of the old one;
            the group's starting state counts as below threshold).
        """
        before = self._spike_of(V=None)
        return super().update(x) * (1. - before)


class FitzHughNagumo(_NoReset):
    r"""FitzHugh-Nagumo neuron (FitzHugh 1961; Nagumo et al. 1962).

    .. math::

        \tau \frac{dV}{dt} &= V - \frac{V^3}{3} - w + I(t) \\
        \tau_w \frac{dw}{dt} &= V + a - b\, w

    ``V``, ``w``, ``a``, ``b``, ``V_th`` and the input are dimensionless;
    ``tau`` and ``tau_w`` set the time scale.  There is no reset: a spike is
    the step in which ``V`` crosses ``V_th`` upwards (one spike per
    excursion, however long ``V`` stays above).  With the defaults the rest
    state is stable for ``I = 0`` and a limit cycle exists for ``I`` between
    about 0.33 and 1.42 (Hopf bifurcations).

    Update order (as brainpy.state): ``V`` and ``w`` are both stepped from
    the previous state (``V`` with the old ``w``, ``w`` with the old ``V``),
    then delta inputs are added to ``V``.

    Integrator: exponential Euler with the analytic Jacobian
    :math:`(1 - V^2)/\tau` (plus the derivative of a ``V``-dependent input)
    for ``V`` and :math:`-b/\tau_w` for ``w``, as the reference: the cubic
    is linearised where it is stiff (large :math:`|V|`) so no step
    overshoots, and the ``w`` equation, linear in ``w``, is integrated
    exactly for ``V`` held over the step.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    a : float, default 0.7
        Recovery offset.
    b : float, default 0.8
        Recovery coupling (>= 0; a negative ``b`` makes ``w`` grow without
        bound).
    tau : Quantity[time], default 1 ms
        Time constant of ``V`` (> 0).
    tau_w : Quantity[time], default 12.5 ms
        Time constant of ``w`` (> 0).
    V_th : float, default 1.0
        Threshold of the spike (upward crossing).
    V_initializer, w_initializer : Callable or float
        Initial ``V`` (default -1.2) and ``w`` (default -0.62).
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function; argument ``(V - V_th) / |V_th|``.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Kept for the reference's signature; the model has no reset.
    name : str, optional
        Module name.

    Attributes
    ----------
    V, w : brainstate.HiddenState
        Fast (voltage-like) and slow (recovery) variables, dimensionless.

    References
    ----------
    FitzHugh, R. (1961). Impulses and physiological states in theoretical
    models of nerve membrane. Biophys. J. 1(6), 445-466.

    Examples
    --------
    Periodic firing under a constant input of 0.5:

    >>> import brainstate, saiunit as u, lapicque
    >>> fhn = lapicque.FitzHughNagumo(1)
    >>> res = lapicque.simulate(fhn, lambda t: 0.5, 500. * u.ms, 0.05 * u.ms)
    >>> int(res.spike_count[0])
    13
    """

    __module__ = "lapicque"
    _PARAMS = {"a": _PLAIN, "b": Param(DIMENSIONLESS, "nonnegative"), "tau": Param(ms, "positive"),
               "tau_w": Param(ms, "positive"), "V_th": _PLAIN}
    _STATES = {"V": StateSpec(DIMENSIONLESS, "V_initializer"), "w": StateSpec(DIMENSIONLESS, "w_initializer")}

    def __init__(
        self,
        in_size,
        a=0.7,
        b=0.8,
        tau=1. * u.ms,
        tau_w=12.5 * u.ms,
        V_th=1.0,
        V_initializer: Callable = braintools.init.Constant(-1.2),
        w_initializer: Callable = braintools.init.Constant(-0.62),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(a=a, b=b, tau=tau, tau_w=tau_w, V_th=V_th)
        self._set_initializers(V_initializer=V_initializer, w_initializer=w_initializer)
        self._check_params()

    def _step(self, s, I, dI, dt, p):
        V, w = s["V"], s["w"]
        J = 1. - V * V if dI is None else 1. - V * V + dI
        V_new = exp_euler(V, (V - V * V * V / 3. - w + I) / p["tau"], J / p["tau"], dt)
        w_new = exp_euler(w, (V + p["a"] - p["b"] * w) / p["tau_w"], -p["b"] / p["tau_w"], dt)
        return {"V": V_new, "w": w_new}


class HindmarshRose(_NoReset):
    r"""Hindmarsh-Rose bursting neuron (Hindmarsh & Rose 1984).

    .. math::

        \tau \frac{dV}{dt} &= y - a V^3 + b V^2 - z + I(t) \\
        \tau \frac{dy}{dt} &= c - d V^2 - y \\
        \tau \frac{dz}{dt} &= r\, (s\, (V - V_r) - z)

    All variables, parameters and the input are dimensionless; ``tau`` sets
    the time scale and the small rate ``r`` makes ``z`` a slow adaptation
    that switches the fast ``(V, y)`` subsystem between spiking and rest:
    with the standard ``r = 0.006, s = 4, V_r = -1.6`` and ``I`` near 3 the
    neuron fires bursts (periodic bursts of 2 spikes at ``I = 2``, of 3 at
    ``I = 2.5``, irregular bursts of 1..4 at ``I = 3``).  There is no reset:
    a spike is the step in which ``V`` crosses ``V_th`` upwards.

    Time step: the bursts need ``dt <= 0.01 tau``.  The first-order step
    shifts the fast subsystem's bifurcations by O(dt): at ``dt = 0.05 tau``
    the neuron fires tonically at ``I = 3`` (as the reference does) and the
    burst period at ``I = 2`` is 7 % long; at ``0.01 tau`` sizes match the
    exact ODE and periods are within 2.5 %.

    Update order (as brainpy.state): ``V``, ``y`` and ``z`` are all stepped
    from the previous state, then delta inputs are added to ``V``.

    Integrator: exponential Euler with the analytic Jacobians
    :math:`(-3aV^2 + 2bV)/\tau` (plus the derivative of a ``V``-dependent
    input), :math:`-1/\tau` and :math:`-r/\tau`, as the reference: the
    stiff cubic is linearised, and ``y`` and ``z`` (linear in themselves)
    are integrated exactly for ``V`` held over the step.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    a : float, default 1.0
        Cubic coefficient (> 0: the cubic bounds ``V``).
    b, c, d : float, default 3.0, 1.0, 5.0
        Polynomial coefficients.
    r : float, default 0.006
        Rate of the slow variable ``z`` (>= 0).
    s : float, default 4.0
        Coupling of ``z`` to ``V``.
    V_r : float, default -1.6
        Resting value of ``V`` in the ``z`` equation.
    tau : Quantity[time], default 1 ms
        Time scale (> 0).
    V_th : float, default 1.0
        Threshold of the spike (upward crossing).
    V_initializer, y_initializer, z_initializer : Callable or float
        Initial ``V`` (default -1.6), ``y`` (default -10) and ``z``
        (default 0).
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function; argument ``(V - V_th) / |V_th|``.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Kept for the reference's signature; the model has no reset.
    name : str, optional
        Module name.

    Attributes
    ----------
    V, y, z : brainstate.HiddenState
        Fast variable (``x`` in Hindmarsh & Rose), fast recovery and slow
        adaptation, dimensionless.

    References
    ----------
    Hindmarsh, J. L., & Rose, R. M. (1984). A model of neuronal bursting
    using three coupled first order differential equations. Proc. R. Soc.
    Lond. B 221, 87-102.

    Examples
    --------
    Bursts under the standard input I = 3 (spikes, and bursts: groups
    separated by more than 50 ms of silence):

    >>> import numpy as np, saiunit as u, lapicque
    >>> hr = lapicque.HindmarshRose(1)
    >>> res = lapicque.simulate(hr, lambda t: 3.0, 2000. * u.ms, 0.01 * u.ms)
    >>> t = np.asarray(res.spike_times[0].to_decimal(u.ms))
    >>> len(t), int(np.sum(np.diff(t) > 50.)) + 1
    (76, 15)
    """

    __module__ = "lapicque"
    _PARAMS = {"a": Param(DIMENSIONLESS, "positive"), "b": _PLAIN, "c": _PLAIN, "d": _PLAIN,
               "r": Param(DIMENSIONLESS, "nonnegative"), "s": _PLAIN, "V_r": _PLAIN,
               "tau": Param(ms, "positive"), "V_th": _PLAIN}
    _STATES = {"V": StateSpec(DIMENSIONLESS, "V_initializer"), "y": StateSpec(DIMENSIONLESS, "y_initializer"),
               "z": StateSpec(DIMENSIONLESS, "z_initializer")}

    def __init__(
        self,
        in_size,
        a=1.0,
        b=3.0,
        c=1.0,
        d=5.0,
        r=0.006,
        s=4.0,
        V_r=-1.6,
        tau=1. * u.ms,
        V_th=1.0,
        V_initializer: Callable = braintools.init.Constant(-1.6),
        y_initializer: Callable = braintools.init.Constant(-10.),
        z_initializer: Callable = braintools.init.Constant(0.),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(a=a, b=b, c=c, d=d, r=r, s=s, V_r=V_r, tau=tau, V_th=V_th)
        self._set_initializers(V_initializer=V_initializer, y_initializer=y_initializer,
                               z_initializer=z_initializer)
        self._check_params()

    def _step(self, st, I, dI, dt, p):
        V, y, z = st["V"], st["y"], st["z"]
        tau = p["tau"]
        J = -3. * p["a"] * V * V + 2. * p["b"] * V
        if dI is not None:
            J = J + dI
        V_new = exp_euler(V, (y - p["a"] * V * V * V + p["b"] * V * V - z + I) / tau, J / tau, dt)
        y_new = exp_euler(y, (p["c"] - p["d"] * V * V - y) / tau, -1. / tau, dt)
        z_new = exp_euler(z, p["r"] * (p["s"] * (V - p["V_r"]) - z) / tau, -p["r"] / tau, dt)
        return {"V": V_new, "y": y_new, "z": z_new}
