"""Quadratic integrate-and-fire models: QuaIF, AdQuaIF, AdQuaIFRef."""

from typing import Callable

import braintools
import jax.numpy as jnp
import saiunit as u

from .._core.declare import Param
from .._core.units import mV, ms, ohm, per_mV
from .guard import Adaptation, DivergentIF
from .integrate import exp_euler
from .refractory import Refractory

__all__ = ["QuaIF", "AdQuaIF", "AdQuaIFRef"]

_GUARD_NOTE = """
    Numerical guard: ``V_th`` is the cut-off at which the diverging quadratic
    is declared a spike.  The quadratic term is evaluated at ``min(V, V_th)``,
    ``dt * J`` is capped at 30 and a step that overshoots stores exactly
    ``V_th`` (a spike), so nothing overflows and the reset lands on
    ``V_reset`` for soft and hard reset alike; a falling ``V`` stops where the
    true trajectory does instead of undershooting.  Below ``V_th`` the step is
    the reference's exponential-Euler formula unchanged.
"""

_QUA_PARAMS = {"R": Param(ohm, "positive"), "tau": Param(ms, "positive"), "V_th": Param(mV),
               "V_reset": Param(mV), "V_rest": Param(mV), "V_c": Param(mV), "c": Param(per_mV, "positive")}


class QuaIF(DivergentIF):
    r"""Quadratic integrate-and-fire neuron (Ermentrout & Kopell 1986; Latham et al. 2000).

    .. math::

        \tau \frac{dV}{dt} = c (V - V_{rest})(V - V_c) + R\, I(t)

    A spike is emitted when :math:`V \ge V_{th}`; at the start of the next
    step :math:`V \leftarrow V - (V_{th} - V_{reset})` (``'soft'``) or
    :math:`V \leftarrow V_{reset}` (``'hard'``).  Integrated with exponential
    Euler using the analytic Jacobian :math:`J = c (2V - V_{rest} - V_c)/\tau`.
    With constant input above the rheobase ``c ((V_c - V_rest)/2)^2 / R`` the
    neuron fires periodically.
    {guard}
    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 1 ohm
        Membrane resistance (> 0).
    tau : Quantity[time], default 10 ms
        Membrane time constant (> 0).
    V_th : Quantity[voltage], default -30 mV
        Numerical spike cut-off (> ``V_reset``).
    V_reset, V_rest : Quantity[voltage], default -68, -65 mV
        Reset and resting potentials.
    V_c : Quantity[voltage], default -50 mV
        Critical voltage of spike initiation (> ``V_rest``).
    c : Quantity[1/voltage], default 0.07 / mV
        Curvature of the quadratic term (> 0).
    V_initializer : Callable or Quantity, default ``Constant(-65 mV)``
        Initial membrane potential.
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Reset rule.
    name : str, optional
        Module name.

    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> quaif = lapicque.QuaIF(10, tau=10 * u.ms, V_th=-30 * u.mV, V_c=-50 * u.mV)
    >>> quaif.init_state(batch_size=1)
    >>> quaif.update(x=1.5 * u.mA).shape
    (1, 10)
    """

    __module__ = "lapicque"
    _PARAMS = _QUA_PARAMS

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=10. * u.ms,
        V_th=-30. * u.mV,
        V_reset=-68. * u.mV,
        V_rest=-65. * u.mV,
        V_c=-50. * u.mV,
        c=0.07 / u.mV,
        V_initializer: Callable = braintools.init.Constant(-65. * u.mV),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(R=R, tau=tau, V_th=V_th, V_reset=V_reset, V_rest=V_rest, V_c=V_c, c=c)
        self._set_initializers(V_initializer=V_initializer)
        self._check_params()

    def _check_params(self):
        super()._check_params()
        self._require(lambda vc, vr: vc > vr, "V_c must be larger than V_rest", "V_c", "V_rest")

    def _V_step(self, V, I, dI, dt, p):
        Vc = jnp.minimum(V, p["V_th"])
        f = (p["c"] * (Vc - p["V_rest"]) * (Vc - p["V_c"]) + p["R"] * I) / p["tau"]
        J = p["c"] * (2. * Vc - p["V_rest"] - p["V_c"])
        if dI is not None:
            J = J + p["R"] * dI
        V_new = exp_euler(V, f, J / p["tau"], dt, cap=True)
        # a decreasing trajectory (f < 0) stops at the lower root V* of f; exponential Euler
        # linearizes around V and, where dt * J > 0, would overshoot far below V*.
        half = 0.5 * (p["V_c"] - p["V_rest"])
        disc = half * half - p["R"] * I / p["c"]
        root = jnp.sqrt(jnp.maximum(disc, 1e-12))  # not sqrt(max(disc, 0)): its gradient at 0 is inf -> NaN
        V_star = jnp.where(disc >= 0., 0.5 * (p["V_rest"] + p["V_c"]) - root, V)
        return jnp.maximum(V_new, jnp.minimum(V, V_star))


class AdQuaIF(Adaptation, QuaIF):
    r"""Adaptive quadratic integrate-and-fire neuron (Izhikevich 2003 style).

    .. math::

        \tau \frac{dV}{dt} &= c (V - V_{rest})(V - V_c) - R\, w + R\, I(t) \\
        \tau_w \frac{dw}{dt} &= a (V - V_{rest}) - w

    A spike is emitted when :math:`V \ge V_{th}`; at the start of the next
    step ``V`` is reset (soft: :math:`V - (V_{th} - V_{reset})`, hard:
    :math:`V_{reset}`) and :math:`w \leftarrow w + b`.  ``V`` is stepped with
    ``w`` at its post-reset value, then ``w`` with the new ``V``.
    {guard}
    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 1 ohm
        Membrane resistance (> 0).
    tau : Quantity[time], default 10 ms
        Membrane time constant (> 0).
    tau_w : Quantity[time], default 10 ms
        Adaptation time constant (> 0).
    V_th, V_reset, V_rest : Quantity[voltage], default -30, -68, -65 mV
        Spike cut-off, reset and resting potentials.
    V_c : Quantity[voltage], default -50 mV
        Critical voltage (> ``V_rest``).
    c : Quantity[1/voltage], default 0.07 / mV
        Curvature (> 0).
    a : Quantity[conductance], default 1 S
        Subthreshold adaptation.
    b : Quantity[current], default 0.1 mA
        Spike-triggered adaptation increment.
    V_initializer, w_initializer : Callable or Quantity
        Initial ``V`` (default -65 mV) and ``w`` (default 0 mA).
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Reset rule.
    name : str, optional
        Module name.

    Attributes
    ----------
    V, w : brainstate.HiddenState
        Membrane potential (mV) and adaptation current (mA).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> adquaif = lapicque.AdQuaIF(10, tau=10 * u.ms, tau_w=100 * u.ms)
    >>> adquaif.init_state(batch_size=1)
    >>> adquaif.update(x=1.5 * u.mA).shape
    (1, 10)
    """

    __module__ = "lapicque"

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=10. * u.ms,
        tau_w=10. * u.ms,
        V_th=-30. * u.mV,
        V_reset=-68. * u.mV,
        V_rest=-65. * u.mV,
        V_c=-50. * u.mV,
        c=0.07 / u.mV,
        a=1. * u.siemens,
        b=0.1 * u.mA,
        V_initializer: Callable = braintools.init.Constant(-65. * u.mV),
        w_initializer: Callable = braintools.init.Constant(0. * u.mA),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        QuaIF.__init__(self, in_size, R=R, tau=tau, V_th=V_th, V_reset=V_reset, V_rest=V_rest, V_c=V_c, c=c,
                       V_initializer=V_initializer, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(tau_w=tau_w, a=a, b=b)
        self._set_initializers(w_initializer=w_initializer)


class AdQuaIFRef(Refractory, AdQuaIF):
    r"""Adaptive quadratic integrate-and-fire neuron with an absolute refractory period.

    :class:`AdQuaIF` plus the shared refractory mechanism: after a spike ``V``
    and ``w`` are held at their post-reset values while ``k * dt < tau_ref``
    (``k`` steps since the spike, counted exactly).  Needs ``t`` in
    ``brainstate.environ``.
    {guard}
    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 1 ohm
        Membrane resistance (> 0).
    tau, tau_w : Quantity[time], default 10, 10 ms
        Membrane and adaptation time constants (> 0).
    tau_ref : Quantity[time], default 1.7 ms
        Absolute refractory period (>= 0).
    V_th, V_reset, V_rest : Quantity[voltage], default -30, -68, -65 mV
        Spike cut-off, reset and resting potentials.
    V_c : Quantity[voltage], default -50 mV
        Critical voltage (> ``V_rest``).
    c : Quantity[1/voltage], default 0.07 / mV
        Curvature (> 0).
    a : Quantity[conductance], default 1 S
        Subthreshold adaptation.
    b : Quantity[current], default 0.1 mA
        Spike-triggered adaptation increment.
    V_initializer, w_initializer : Callable or Quantity
        Initial ``V`` (default -65 mV) and ``w`` (default 0 mA).
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Reset rule.
    ref_var : bool, default False
        Also keep a boolean ``refractory`` state.
    name : str, optional
        Module name.

    Attributes
    ----------
    V, w : brainstate.HiddenState
        Membrane potential (mV) and adaptation current (mA).
    last_spike_time, ref_steps_left : brainstate.ShortTermState
        Refractory bookkeeping.
    refractory : brainstate.HiddenState
        Refractory flag (only with ``ref_var=True``).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms, t=0. * u.ms)
    >>> neuron = lapicque.AdQuaIFRef(10, tau=10 * u.ms, tau_w=100 * u.ms, tau_ref=2.0 * u.ms, ref_var=True)
    >>> neuron.init_state(batch_size=1)
    >>> neuron.update(x=1.5 * u.mA).shape
    (1, 10)
    """

    __module__ = "lapicque"

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=10. * u.ms,
        tau_w=10. * u.ms,
        tau_ref=1.7 * u.ms,
        V_th=-30. * u.mV,
        V_reset=-68. * u.mV,
        V_rest=-65. * u.mV,
        V_c=-50. * u.mV,
        c=0.07 / u.mV,
        a=1. * u.siemens,
        b=0.1 * u.mA,
        V_initializer: Callable = braintools.init.Constant(-65. * u.mV),
        w_initializer: Callable = braintools.init.Constant(0. * u.mA),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        ref_var: bool = False,
        name: str = None,
    ):
        AdQuaIF.__init__(self, in_size, R=R, tau=tau, tau_w=tau_w, V_th=V_th, V_reset=V_reset, V_rest=V_rest,
                         V_c=V_c, c=c, a=a, b=b, V_initializer=V_initializer, w_initializer=w_initializer,
                         spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._init_refractory(tau_ref, ref_var)


for _cls in (QuaIF, AdQuaIF, AdQuaIFRef):
    if _cls.__doc__:  # None under python -OO
        _cls.__doc__ = _cls.__doc__.replace("{guard}", _GUARD_NOTE)
del _cls
