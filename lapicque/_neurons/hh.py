r"""Conductance-based models: HH (Hodgkin & Huxley 1952), WangBuzsakiHH (1996), MorrisLecar (1981).

These models have no reset: the action potential is part of the dynamics, and
``V`` stays above the spike threshold for the top of every action potential
(HH: ~0.6 ms above 20 mV, ~60 steps of 0.01 ms).  A
spike is therefore a *threshold crossing*, as in ``brainpy.state``:

.. math::

    s_n = \Theta(V_n - V_{th})\,\bigl(1 - \Theta(V_{n-1} - V_{th})\bigr)

(forward value; the backward pass differentiates both factors through
``spk_fun``), so one action potential is one spike however many steps it stays
above ``V_th``.  The spikes of the last step are kept in the state ``crossed``,
so that :meth:`get_spike` (what networks and :func:`lapicque.simulate` read)
counts each action potential once too.

Integrator
----------
One step of length ``dt`` in the order of :meth:`Neuron.update` and of ``brainpy.state``:
the current inputs summed at ``V_n``, the step below, delta inputs added to the new ``V``,
the spike of the crossing returned.

*Gating variables first*, from ``V_n`` -- each gate is linear in itself for frozen ``V``:
``dx/dt = (x_inf(V) - x) * k(V)`` with ``k = alpha + beta`` (HH; ``phi (alpha + beta)`` for
Wang-Buzsaki) or ``1 / tau_W`` (Morris-Lecar), so the step

.. math::

    x_{n+1} = x_n + (x_\infty(V_n) - x_n)\,\bigl(1 - e^{-k(V_n)\,\Delta t}\bigr)

(exponential Euler, the Rush-Larsen scheme) is exact for frozen ``V``, stable for any
``dt`` and keeps every gate in ``[0, 1]`` (a convex combination of ``x_n`` and
``x_inf``).  ``brainpy.state`` computes the same number in the form
``x + dt * exprel(-k dt) * f(x)``.  Forward Euler on a gate would need ``dt < 2 / k``
and leaves ``[0, 1]`` beyond it (``k`` reaches ~10 /ms for ``m`` at the peak).

*Then the membrane potential, with the new gates* -- for frozen gates the current
balance ``C dV/dt = sum_i g_i (E_i - V) + I`` is linear in ``V``; it is stepped with
the same exponential-Euler rule (:func:`~lapicque._neurons.integrate.exp_euler`)
with the whole Jacobian ``J = dV'/dV``: ``-(sum_i g_i)/C``, plus ``dI/dV`` of
conductance-based inputs and the slope of an instantaneous activation (``m_inf`` of
Wang-Buzsaki, ``M_inf`` of Morris-Lecar), which makes it the second-order
exponential Rosenbrock-Euler step.  ``V`` relaxes towards the conductance-weighted
reversal potential and cannot overshoot it however large ``dt`` is, where forward
Euler on the stiff sodium current (time constant ``C / g_Na m^3 h`` ~ 0.03 ms at the
peak) would need ``dt < 0.06`` ms to stay stable.

Why this order (``brainpy.state`` steps ``V`` with the *old* gates, a first-order
splitting): a sequence of such gates-then-``V`` steps is a Strang splitting shifted by
half a step, so spike times converge at *second* order in ``dt``.  Measured against
``scipy.integrate.solve_ivp`` (``tests/neurons/test_hh.py``), the largest spike-time
error of HH at 10 uA over 100 ms is 0.28, 0.070, 0.018, 0.0044 ms at
``dt`` = 0.08, 0.04, 0.02, 0.01 ms (a factor 4 per halving; ``brainpy.state``: 2),
Wang-Buzsaki's 0.41 / 0.092 / 0.018 ms at 0.04 / 0.02 / 0.01 ms.  ``dt = 0.01`` ms is
the usual choice for HH; ``dt = 0.05`` ms keeps its spike times within ~0.1 ms.

No NaN
------
The removable singularities of ``alpha_m`` (at -40 mV) and ``alpha_n`` (at
-55 mV; WangBuzsakiHH: -35 and -34 mV) are evaluated with ``exprel``
(:math:`x / (1 - e^{-x}) = 1/\mathrm{exprel}(-x)`), finite with finite
derivatives at the singular point.  The rate functions see ``V`` clipped to
+-:data:`RATE_V_LIMIT` (500 mV), where every rate and its derivative is finite in
float32 (no biological ``V`` comes near; beyond it an exponential rate would
reach ``inf`` and ``inf / inf`` in ``x_inf``), and the Morris-Lecar ``cosh``
argument is capped at :data:`COSH_ARG_MAX` (a relaxation time below
``1e-17 / phi``: ``W`` is at ``W_inf`` within any step either way).  A step that
would still overshoot is kept inside the voltage range that no exact trajectory
leaves (the corner equilibria of the conductances), so a strong input or a coarse
``dt`` stays finite and physical.

Examples
--------
One spike per action potential, although ``V`` stays above ``V_th`` for ~60 steps
of each upstroke:

>>> import brainstate, braintools, jax.numpy as jnp, saiunit as u, lapicque
>>> brainstate.environ.set(dt=0.01 * u.ms)
>>> hh = lapicque.HH(1, V_initializer=braintools.init.Constant(-65. * u.mV))
>>> hh.init_state()
>>> def step(i):
...     return hh.update(10. * u.uA), hh.V.value >= hh.V_th
>>> spikes, above = brainstate.transform.for_loop(step, jnp.arange(2000))  # 20 ms at 10 uA
>>> print(int(spikes.sum()), int(above.sum()) > 100)
2 True
"""

from __future__ import annotations

from typing import Callable, Optional

import itertools

import brainstate
import braintools
import jax
import jax.numpy as jnp
import saiunit as u

from .._core.declare import Param, StateSpec
from .._core.units import DIMENSIONLESS, mV, per_ms
from .base import Neuron
from .integrate import exp_euler, exprel
from .reset import threshold_argument

__all__ = ["HH", "WangBuzsakiHH", "MorrisLecar", "RATE_V_LIMIT", "COSH_ARG_MAX"]

#: |V| (mV) beyond which the rate functions see V clipped (every rate finite in float32 within it)
RATE_V_LIMIT = 500.0
#: cap on the argument of Morris-Lecar's cosh (tau_W = 1 / (phi cosh(.)) stays positive and finite)
COSH_ARG_MAX = 40.0
#: the models' unit system, the reference's: mV, ms, uA, mS, uF (1 mS * 1 mV = 1 uA; 1 uA / 1 uF = 1 mV/ms).
#: The input is declared in uA (``_INPUT_UNIT``), so the base hands the step its mantissa in uA and dI/dV in
#: mS, and a unitless model (plain numbers, as ``brainpy.state`` scripts write them) reads its input in uA.
_UAMP, _MSIEMENS, _UFARAD = u.uA, u.msiemens, u.ufarad


#: the spikes of the last step (bookkeeping, after the model's own states in every table)
_CROSSED = {"crossed": StateSpec(DIMENSIONLESS, 0., kind=brainstate.ShortTermState)}


def _rate_V(V):
    return jnp.clip(V, -RATE_V_LIMIT, RATE_V_LIMIT)


def _relax(x, x_inf, k, dt):
    """Exact step of ``dx/dt = k (x_inf - x)`` for frozen ``x_inf``, ``k``: ``x + (x_inf - x)(1 - e^{-k dt})``."""
    return x + (x_inf - x) * (-jnp.expm1(-k * dt))


def _steady(rates):
    alpha, beta = rates
    return alpha / (alpha + beta)


# --- Hodgkin & Huxley (1952), V in mV (rest at -65 mV), rates in 1/ms ------------------------------------------
def _hh_m(V):
    V = _rate_V(V)
    return 1. / exprel(-(V + 40.) / 10.), 4.0 * jnp.exp(-(V + 65.) / 18.)


def _hh_h(V):
    V = _rate_V(V)
    return 0.07 * jnp.exp(-(V + 65.) / 20.), 1. / (1. + jnp.exp(-(V + 35.) / 10.))


def _hh_n(V):
    V = _rate_V(V)
    return 0.1 / exprel(-(V + 55.) / 10.), 0.125 * jnp.exp(-(V + 65.) / 80.)


# --- Wang & Buzsaki (1996); h and n are further scaled by phi ----------------------------------------------------
def _wb_m(V):
    V = _rate_V(V)
    return 1. / exprel(-0.1 * (V + 35.)), 4. * jnp.exp(-(V + 60.) / 18.)


def _wb_h(V):
    V = _rate_V(V)
    return 0.07 * jnp.exp(-(V + 58.) / 20.), 1. / (jnp.exp(-0.1 * (V + 28.)) + 1.)


def _wb_n(V):
    V = _rate_V(V)
    return 0.1 / exprel(-0.1 * (V + 34.)), 0.125 * jnp.exp(-(V + 44.) / 80.)


def _invariant_bounds(leak, channels, I):
    """``(V_lo, V_hi)``: outside them ``dV/dt`` points back for *every* conductance ``0 <= g_i <= gmax_i``.

    ``C dV/dt = sum_i g_i (E_i - V) + g_L (E_L - V) + I`` is linear in each ``g_i``, so its sign over the box
    of conductances is decided at the corners: ``V_hi`` is the largest and ``V_lo`` the smallest corner
    equilibrium ``(sum_S gmax_i E_i + g_L E_L + I) / (sum_S gmax_i + g_L)`` over the subsets ``S`` of open
    channels.  (A corner without conductance does not bound ``V``: +-inf in the direction of ``I``.)
    """
    gL, EL = leak
    lo = hi = None
    for corner in itertools.product((False, True), repeat=len(channels)):
        num, den = gL * EL + I, gL
        for is_open, (_, gmax, E) in zip(corner, channels):
            if is_open:
                num, den = num + gmax * E, den + gmax
        safe = jnp.where(den > 0., den, 1.)
        c_hi = jnp.where(den > 0., num / safe, jnp.where(num > 0., jnp.inf, -jnp.inf))
        c_lo = jnp.where(den > 0., num / safe, jnp.where(num < 0., -jnp.inf, jnp.inf))
        hi = c_hi if hi is None else jnp.maximum(hi, c_hi)
        lo = c_lo if lo is None else jnp.minimum(lo, c_lo)
    return lo, hi


def _V_step(V, I, dI, dt, C, leak, channels, dg=0.):
    """One exponential-Euler step of ``C dV/dt = sum_i g_i (E_i - V) + g_L (E_L - V) + I``, guarded.

    ``channels`` is ``((g_i, gmax_i, E_i), ...)`` with the conductances of the step; ``dg`` is
    ``sum_i (dg_i/dV) (E_i - V)`` for conductances that depend on ``V`` instantaneously (``m_inf``,
    ``M_inf``), so that ``J = df/dV`` is the whole derivative (lapicque's rule).  ``I`` (uA) and ``dI`` (mS)
    come from the base class; conductances are in mS, ``C`` in uF, ``V`` in mV.  The result is kept within
    :func:`_invariant_bounds` (widened to include ``V``): the exact flow never leaves them, so the guard acts
    only on an unresolved step that would overshoot.
    """
    gL, EL = leak
    g_sum = gL + sum(g for g, _, _ in channels)
    f = (gL * EL + sum(g * E for g, _, E in channels) + I - g_sum * V) / C
    J = (dg - g_sum) / C if dI is None else (dg - g_sum + dI) / C
    lo, hi = _invariant_bounds(leak, channels, I)
    return jnp.clip(exp_euler(V, f, J, dt, cap=True), jnp.minimum(V, lo), jnp.maximum(V, hi))


class _CrossingNeuron(Neuron):
    """Shared by the conductance-based models: no reset, spikes at upward threshold crossings, the V step."""

    #: the input current is in uA (the reference's unit system: a plain number is read in uA)
    _INPUT_UNIT = _UAMP

    # --- spikes -----------------------------------------------------------
    def _spike_arg(self, s, p):
        return threshold_argument(s["V"], p["V_th"])

    def _level(self, V, p):
        return self.spk_fun(self._spike_arg({"V": V}, p))

    def _spike(self, s, p):
        """The spikes of a state: the crossings of the step that produced it."""
        return s["crossed"]

    def get_spike(self, V=None, V_prev=None):
        """Surrogate spikes.

        Parameters
        ----------
        V, V_prev : Quantity[voltage], optional
            With neither given: the spikes of the last step (upward threshold
            crossings, ``0`` before the first step), what ``update`` returned.
            With ``V`` only: ``spk_fun((V - V_th) / |V_th|)``, the level test
            of the reference's ``get_spike(V)`` (1 wherever ``V >= V_th``).
            With ``V_prev`` too: the crossings from ``V_prev`` to ``V`` (the
            current ``V`` where ``V`` is not given).
        """
        if V is None and V_prev is None:
            return self._state_value("crossed")
        p = self._params()
        level = self._level(self._states_from_args(V=V)["V"], p)
        if V_prev is None:
            return level
        prev = self._mantissa(V_prev, mV, "argument 'V_prev'")
        return level * (1. - self._level(prev, p))

    def _reset(self, s, spk, p):
        return {}  # no reset: the action potential is part of the dynamics

    def _after_V(self, s_reset, s_new, dt, p):
        s_new = dict(s_new)
        s_new["crossed"] = self._level(s_new["V"], p) * (1. - self._level(s_reset["V"], p))
        return s_new

    # --- helpers for the public rate methods ---------------------------------
    def _mV(self, V):
        """``V`` (a voltage; a plain number in mV for a unitless model) as its mV mantissa."""
        return self._mantissa(V, mV, "argument 'V'")

    def _per_ms(self, rate):
        """A rate mantissa (1/ms) as this model shows values: a quantity, or plain when unitless."""
        return self._with_unit(rate, per_ms)


_HH_PARAMS = {
    "ENa": Param(mV), "gNa": Param(_MSIEMENS, "nonnegative"), "EK": Param(mV), "gK": Param(_MSIEMENS, "nonnegative"),
    "EL": Param(mV), "gL": Param(_MSIEMENS, "nonnegative"), "V_th": Param(mV), "C": Param(_UFARAD, "positive"),
}
_HH_GATES = {"m": _hh_m, "h": _hh_h, "n": _hh_n}


class HH(_CrossingNeuron):
    r"""Hodgkin-Huxley neuron (squid giant axon, Hodgkin & Huxley 1952; potentials shifted to rest at -65 mV).

    .. math::

        C \frac{dV}{dt} &= -\bar g_{Na} m^3 h (V - E_{Na}) - \bar g_K n^4 (V - E_K)
                           - g_L (V - E_L) + I(t) \\
        \frac{dx}{dt} &= \alpha_x(V) (1 - x) - \beta_x(V) x, \qquad x \in \{m, h, n\}

    with (``V`` in mV, rates in 1/ms)

    .. math::

        \alpha_m &= \frac{0.1 (V + 40)}{1 - e^{-(V + 40)/10}}, &
        \beta_m &= 4 e^{-(V + 65)/18}, \\
        \alpha_h &= 0.07 e^{-(V + 65)/20}, &
        \beta_h &= \frac{1}{1 + e^{-(V + 35)/10}}, \\
        \alpha_n &= \frac{0.01 (V + 55)}{1 - e^{-(V + 55)/10}}, &
        \beta_n &= 0.125 e^{-(V + 65)/80}.

    Conductances and capacitance are per neuron (the paper's per-cm^2 values
    for 1 cm^2 of membrane), so the input is in uA (``10 * u.uA``).  With
    the paper's ``gL = 0.3 mS`` a current step of 2.3 uA fires one spike,
    and a sustained train starts between 6.2 and 6.3 uA at ~53 Hz (class II:
    not from zero), rising to ~117 Hz at 50 uA and ~165 Hz at 140 uA before
    the depolarization block.  There is no reset: a spike
    is the step in which ``V`` crosses ``V_th`` upwards (see
    :mod:`lapicque._neurons.hh`).  Integrator: exponential Euler, first for
    each gate from ``V_n`` (exact for frozen ``V``, gates stay in [0, 1]),
    then for ``V`` with the new gates (exact for frozen gates, no overshoot
    for any ``dt``); spike times converge at second order in ``dt`` (see the
    module notes: 0.0044 ms off at ``dt = 0.01`` ms, 0.07 ms at 0.04 ms).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    ENa, EK, EL : Quantity[voltage], default 50, -77, -54.387 mV
        Reversal potentials of the sodium, potassium and leak currents.
    gNa, gK, gL : Quantity[conductance], default 120, 36, 0.03 mS
        Maximal conductances (>= 0).  (The reference's ``gL`` is 0.03 mS,
        a tenth of the paper's 0.3 mS/cm^2; both are the reference's defaults
        here, pass ``gL=0.3 * u.msiemens`` for the paper's.)
    V_th : Quantity[voltage], default 20 mV
        Spike threshold (upward crossing).
    C : Quantity[capacitance], default 1 uF
        Membrane capacitance (> 0).
    V_initializer : Callable or Quantity, default ``Uniform(-70 mV, -60 mV)``
        Initial membrane potential.
    m_initializer, h_initializer, n_initializer : Callable, Quantity or None
        Initial gates; ``None`` (default): the steady state at the initial ``V``.
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function; its argument is ``(V - V_th) / |V_th|``.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Accepted for the reference's signature; without a reset it has no effect.
    name : str, optional
        Module name.

    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).
    m, h, n : brainstate.HiddenState
        Sodium activation, sodium inactivation, potassium activation.
    crossed : brainstate.ShortTermState
        The spikes of the last step (lapicque's; what :meth:`get_spike` returns).

    Examples
    --------
    >>> import brainstate, braintools, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.01 * u.ms)
    >>> hh = lapicque.HH(1, V_initializer=braintools.init.Constant(-65. * u.mV))
    >>> res = lapicque.simulate(hh, 10. * u.uA, 50. * u.ms)
    >>> print(res.spike_count[0])   # ~68 Hz at 10 uA: one spike per action potential
    4
    """

    __module__ = "lapicque"
    _PARAMS = _HH_PARAMS
    _STATES = {"V": StateSpec(mV, "V_initializer"), "m": StateSpec(DIMENSIONLESS, "m_initializer"),
               "h": StateSpec(DIMENSIONLESS, "h_initializer"), "n": StateSpec(DIMENSIONLESS, "n_initializer"),
               **_CROSSED}

    def __init__(
        self,
        in_size,
        ENa=50. * u.mV,
        gNa=120. * u.msiemens,
        EK=-77. * u.mV,
        gK=36. * u.msiemens,
        EL=-54.387 * u.mV,
        gL=0.03 * u.msiemens,
        V_th=20. * u.mV,
        C=1.0 * u.ufarad,
        V_initializer: Callable = braintools.init.Uniform(-70. * u.mV, -60. * u.mV),
        m_initializer: Optional[Callable] = None,
        h_initializer: Optional[Callable] = None,
        n_initializer: Optional[Callable] = None,
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: Optional[str] = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(ENa=ENa, gNa=gNa, EK=EK, gK=gK, EL=EL, gL=gL, V_th=V_th, C=C)
        gates = {"m_initializer": m_initializer, "h_initializer": h_initializer, "n_initializer": n_initializer}
        self._set_initializers(V_initializer=V_initializer, **{k: v for k, v in gates.items() if v is not None})
        for k, v in gates.items():
            if v is None:
                setattr(self, k, None)
        self._check_params()

    def _init_value(self, name, spec, batch_size):
        """Gates with a ``None`` initializer start at their steady state for the initial ``V``."""
        if name in _HH_GATES and getattr(self, f"{name}_initializer") is None:
            V = self._mantissa(self.V.value, mV, "V")
            return _steady(_HH_GATES[name](V)).astype(brainstate.environ.dftype())
        return super()._init_value(name, spec, batch_size)

    def _step(self, s, I, dI, dt, p):
        V = s["V"]
        out = {}
        for x, rates in _HH_GATES.items():  # the gates first, from V_n ...
            alpha, beta = rates(V)
            out[x] = _relax(s[x], alpha / (alpha + beta), alpha + beta, dt)
        channels = ((p["gNa"] * out["m"] ** 3 * out["h"], p["gNa"], p["ENa"]),  # ... then V with the new gates
                    (p["gK"] * out["n"] ** 4, p["gK"], p["EK"]))
        out["V"] = _V_step(V, I, dI, dt, p["C"], (p["gL"], p["EL"]), channels)
        return out

    # --- the reference's public rate functions (V a voltage quantity; rates in 1/ms) ---------------
    def m_alpha(self, V):
        """:math:`\\alpha_m(V)` (1/ms)."""
        return self._per_ms(_hh_m(self._mV(V))[0])

    def m_beta(self, V):
        """:math:`\\beta_m(V)` (1/ms)."""
        return self._per_ms(_hh_m(self._mV(V))[1])

    def m_inf(self, V):
        """Steady-state sodium activation :math:`\\alpha_m / (\\alpha_m + \\beta_m)`."""
        return _steady(_hh_m(self._mV(V)))

    def h_alpha(self, V):
        """:math:`\\alpha_h(V)` (1/ms)."""
        return self._per_ms(_hh_h(self._mV(V))[0])

    def h_beta(self, V):
        """:math:`\\beta_h(V)` (1/ms)."""
        return self._per_ms(_hh_h(self._mV(V))[1])

    def h_inf(self, V):
        """Steady-state sodium inactivation."""
        return _steady(_hh_h(self._mV(V)))

    def n_alpha(self, V):
        """:math:`\\alpha_n(V)` (1/ms)."""
        return self._per_ms(_hh_n(self._mV(V))[0])

    def n_beta(self, V):
        """:math:`\\beta_n(V)` (1/ms)."""
        return self._per_ms(_hh_n(self._mV(V))[1])

    def n_inf(self, V):
        """Steady-state potassium activation."""
        return _steady(_hh_n(self._mV(V)))


_WB_PARAMS = {**_HH_PARAMS, "phi": Param(DIMENSIONLESS, "positive")}


class WangBuzsakiHH(_CrossingNeuron):
    r"""Wang-Buzsaki model of a hippocampal fast-spiking interneuron (Wang & Buzsaki 1996).

    .. math::

        C \frac{dV}{dt} &= -g_{Na} m_\infty^3(V) h (V - E_{Na}) - g_K n^4 (V - E_K)
                           - g_L (V - E_L) + I(t) \\
        \frac{dh}{dt} &= \phi\,(\alpha_h (1 - h) - \beta_h h), \qquad
        \frac{dn}{dt} = \phi\,(\alpha_n (1 - n) - \beta_n n)

    with the sodium activation instantaneous,
    :math:`m_\infty = \alpha_m / (\alpha_m + \beta_m)`, and (``V`` in mV,
    rates in 1/ms)

    .. math::

        \alpha_m &= \frac{0.1 (V + 35)}{1 - e^{-0.1 (V + 35)}}, &
        \beta_m &= 4 e^{-(V + 60)/18}, \\
        \alpha_h &= 0.07 e^{-(V + 58)/20}, &
        \beta_h &= \frac{1}{1 + e^{-0.1 (V + 28)}}, \\
        \alpha_n &= \frac{0.01 (V + 34)}{1 - e^{-0.1 (V + 34)}}, &
        \beta_n &= 0.125 e^{-(V + 44)/80}.

    A class I neuron: it fires from about 0.16 uA (per 1 uF of membrane, the
    paper's uA/cm^2) at arbitrarily low rates.  No reset: a spike is an upward
    crossing of ``V_th``.  Integrator: exponential Euler, first for ``h`` and
    ``n`` from ``V_n`` (exact for frozen ``V``), then for ``V`` with the new
    gates and the slope of ``m_inf`` in its Jacobian (exponential
    Rosenbrock-Euler); spike times converge at second order in ``dt`` (see
    :mod:`lapicque._neurons.hh`).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    ENa, EK, EL : Quantity[voltage], default 55, -90, -65 mV
        Reversal potentials.
    gNa, gK, gL : Quantity[conductance], default 35, 9, 0.1 mS
        Maximal conductances (>= 0).
    V_th : Quantity[voltage], default 20 mV
        Spike threshold (upward crossing).
    phi : float, default 5.0
        Temperature factor of the ``h`` and ``n`` kinetics (dimensionless, > 0).
    C : Quantity[capacitance], default 1 uF
        Membrane capacitance (> 0).
    V_initializer : Callable or Quantity, default ``Constant(-65 mV)``
        Initial membrane potential.
    h_initializer, n_initializer : Callable or number, default ``Constant(0.6)``, ``Constant(0.32)``
        Initial gates.
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function; its argument is ``(V - V_th) / |V_th|``.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Accepted for the reference's signature; without a reset it has no effect.
    name : str, optional
        Module name.

    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).
    h, n : brainstate.HiddenState
        Sodium inactivation, potassium activation.
    crossed : brainstate.ShortTermState
        The spikes of the last step.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> wb = lapicque.WangBuzsakiHH(1)
    >>> res = lapicque.simulate(wb, 1. * u.uA, 200. * u.ms, dt=0.01 * u.ms)
    >>> print(res.spike_count[0])   # ~60 Hz at 1 uA
    12
    """

    __module__ = "lapicque"
    _PARAMS = _WB_PARAMS
    _STATES = {"V": StateSpec(mV, "V_initializer"), "h": StateSpec(DIMENSIONLESS, "h_initializer"),
               "n": StateSpec(DIMENSIONLESS, "n_initializer"), **_CROSSED}

    def __init__(
        self,
        in_size,
        ENa=55. * u.mV,
        gNa=35. * u.msiemens,
        EK=-90. * u.mV,
        gK=9. * u.msiemens,
        EL=-65. * u.mV,
        gL=0.1 * u.msiemens,
        V_th=20. * u.mV,
        phi=5.0,
        C=1.0 * u.ufarad,
        V_initializer: Callable = braintools.init.Constant(-65. * u.mV),
        h_initializer: Callable = braintools.init.Constant(0.6),
        n_initializer: Callable = braintools.init.Constant(0.32),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: Optional[str] = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(ENa=ENa, gNa=gNa, EK=EK, gK=gK, EL=EL, gL=gL, V_th=V_th, phi=phi, C=C)
        self._set_initializers(V_initializer=V_initializer, h_initializer=h_initializer,
                               n_initializer=n_initializer)
        self._check_params()

    def _step(self, s, I, dI, dt, p):
        V = s["V"]
        out = {}
        for x, rates in (("h", _wb_h), ("n", _wb_n)):  # the gates first, from V_n ...
            alpha, beta = rates(V)
            out[x] = _relax(s[x], alpha / (alpha + beta), p["phi"] * (alpha + beta), dt)
        # ... then V with the new gates; m = m_inf(V) is instantaneous, its slope enters J
        m, dm = jax.jvp(lambda v: _steady(_wb_m(v)), (V,), (jnp.ones_like(V),))
        g_Na = p["gNa"] * m ** 3 * out["h"]
        dg = 3. * p["gNa"] * m ** 2 * dm * out["h"] * (p["ENa"] - V)
        channels = ((g_Na, p["gNa"], p["ENa"]), (p["gK"] * out["n"] ** 4, p["gK"], p["EK"]))
        out["V"] = _V_step(V, I, dI, dt, p["C"], (p["gL"], p["EL"]), channels, dg)
        return out

    def m_inf(self, V):
        """Instantaneous sodium activation :math:`m_\\infty(V)`."""
        return _steady(_wb_m(self._mV(V)))

    def h_alpha(self, V):
        """:math:`\\alpha_h(V)` (1/ms, without ``phi``)."""
        return self._per_ms(_wb_h(self._mV(V))[0])

    def h_beta(self, V):
        """:math:`\\beta_h(V)` (1/ms, without ``phi``)."""
        return self._per_ms(_wb_h(self._mV(V))[1])

    def h_inf(self, V):
        """Steady-state sodium inactivation."""
        return _steady(_wb_h(self._mV(V)))

    def n_alpha(self, V):
        """:math:`\\alpha_n(V)` (1/ms, without ``phi``)."""
        return self._per_ms(_wb_n(self._mV(V))[0])

    def n_beta(self, V):
        """:math:`\\beta_n(V)` (1/ms, without ``phi``)."""
        return self._per_ms(_wb_n(self._mV(V))[1])

    def n_inf(self, V):
        """Steady-state potassium activation."""
        return _steady(_wb_n(self._mV(V)))


class MorrisLecar(_CrossingNeuron):
    r"""Morris-Lecar neuron (barnacle muscle fibre, Morris & Lecar 1981; Rinzel & Ermentrout 1989).

    .. math::

        C \frac{dV}{dt} &= -g_{Ca} M_\infty(V) (V - V_{Ca}) - g_K W (V - V_K)
                           - g_{leak} (V - V_{leak}) + I(t) \\
        \frac{dW}{dt} &= \frac{W_\infty(V) - W}{\tau_W(V)}

    with

    .. math::

        M_\infty &= \tfrac12 \bigl(1 + \tanh\tfrac{V - V_1}{V_2}\bigr), \qquad
        W_\infty = \tfrac12 \bigl(1 + \tanh\tfrac{V - V_3}{V_4}\bigr), \\
        \tau_W &= \frac{1}{\phi \cosh\bigl((V - V_3) / (2 V_4)\bigr)}.

    The defaults are Rinzel & Ermentrout's Hopf set (class II: firing starts at
    a nonzero rate) with ``V_Ca = 130`` mV (theirs is 120 mV);
    ``V_Ca=120 mV, g_Ca=4 mS, V3=12 mV, V4=17.4 mV, phi=1/15 /ms`` is their
    saddle-node set (class I: firing from arbitrarily low rates).  No reset: a
    spike is an upward crossing of ``V_th``.  Integrator: exponential Euler,
    first for ``W`` from ``V_n`` (exact for frozen ``V``), then for ``V`` with
    the new ``W`` and the slope of ``M_inf`` in its Jacobian (see
    :mod:`lapicque._neurons.hh`).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    V_Ca, V_K, V_leak : Quantity[voltage], default 130, -84, -60 mV
        Reversal potentials.
    g_Ca, g_K, g_leak : Quantity[conductance], default 4.4, 8, 2 mS
        Maximal conductances (>= 0).
    C : Quantity[capacitance], default 20 uF
        Membrane capacitance (> 0).
    V1, V2 : Quantity[voltage], default -1.2, 18 mV
        Half-activation and slope (> 0) of :math:`M_\infty`.
    V3, V4 : Quantity[voltage], default 2, 30 mV
        Half-activation and slope (> 0) of :math:`W_\infty`.
    phi : Quantity[rate], default 0.04 / ms
        Rate factor of ``W`` (> 0).
    V_th : Quantity[voltage], default 10 mV
        Spike threshold (upward crossing).
    V_initializer : Callable or Quantity, default ``Uniform(-70 mV, -60 mV)``
        Initial membrane potential.
    W_initializer : Callable or number, default ``Constant(0.02)``
        Initial recovery variable.
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function; its argument is ``(V - V_th) / |V_th|``.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Accepted for the reference's signature; without a reset it has no effect.
    name : str, optional
        Module name.

    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).
    W : brainstate.HiddenState
        Recovery variable (fraction of open potassium channels).
    crossed : brainstate.ShortTermState
        The spikes of the last step.

    Examples
    --------
    >>> import braintools, saiunit as u, lapicque
    >>> ml = lapicque.MorrisLecar(1, V_initializer=braintools.init.Constant(-60. * u.mV))
    >>> res = lapicque.simulate(ml, 150. * u.uA, 1000. * u.ms, dt=0.05 * u.ms)
    >>> print(res.spike_count[0])   # 15 Hz at 150 uA (solve_ivp: 15 spikes in 1 s)
    15
    """

    __module__ = "lapicque"
    _PARAMS = {
        "V_Ca": Param(mV), "g_Ca": Param(_MSIEMENS, "nonnegative"), "V_K": Param(mV),
        "g_K": Param(_MSIEMENS, "nonnegative"), "V_leak": Param(mV), "g_leak": Param(_MSIEMENS, "nonnegative"),
        "C": Param(_UFARAD, "positive"), "V1": Param(mV), "V2": Param(mV, "positive"), "V3": Param(mV),
        "V4": Param(mV, "positive"), "phi": Param(per_ms, "positive"), "V_th": Param(mV),
    }
    _STATES = {"V": StateSpec(mV, "V_initializer"), "W": StateSpec(DIMENSIONLESS, "W_initializer"), **_CROSSED}

    def __init__(
        self,
        in_size,
        V_Ca=130. * u.mV,
        g_Ca=4.4 * u.msiemens,
        V_K=-84. * u.mV,
        g_K=8. * u.msiemens,
        V_leak=-60. * u.mV,
        g_leak=2. * u.msiemens,
        C=20. * u.ufarad,
        V1=-1.2 * u.mV,
        V2=18. * u.mV,
        V3=2. * u.mV,
        V4=30. * u.mV,
        phi=0.04 / u.ms,
        V_th=10. * u.mV,
        V_initializer: Callable = braintools.init.Uniform(-70. * u.mV, -60. * u.mV),
        W_initializer: Callable = braintools.init.Constant(0.02),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: Optional[str] = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(V_Ca=V_Ca, g_Ca=g_Ca, V_K=V_K, g_K=g_K, V_leak=V_leak, g_leak=g_leak, C=C,
                         V1=V1, V2=V2, V3=V3, V4=V4, phi=phi, V_th=V_th)
        self._set_initializers(V_initializer=V_initializer, W_initializer=W_initializer)
        self._check_params()

    def _step(self, s, I, dI, dt, p):
        V = s["V"]
        W_inf = 0.5 * (1. + jnp.tanh((V - p["V3"]) / p["V4"]))  # W first, from V_n ...
        k_W = p["phi"] * jnp.cosh(jnp.clip((V - p["V3"]) / (2. * p["V4"]), -COSH_ARG_MAX, COSH_ARG_MAX))
        W = _relax(s["W"], W_inf, k_W, dt)
        # ... then V with the new W; M = M_inf(V) is instantaneous, its slope enters J
        tanh_M = jnp.tanh((V - p["V1"]) / p["V2"])
        g_Ca = p["g_Ca"] * 0.5 * (1. + tanh_M)
        dg = p["g_Ca"] * 0.5 * (1. - tanh_M ** 2) / p["V2"] * (p["V_Ca"] - V)
        channels = ((g_Ca, p["g_Ca"], p["V_Ca"]), (p["g_K"] * W, p["g_K"], p["V_K"]))
        return {"V": _V_step(V, I, dI, dt, p["C"], (p["g_leak"], p["V_leak"]), channels, dg), "W": W}
