"""Exponential integrate-and-fire models: ExpIF, ExpIFRef, AdExIF, AdExIFRef."""

from typing import Callable

import braintools
import jax.numpy as jnp
import saiunit as u

from .._core.declare import Param
from .._core.units import mV, ms, ohm
from .guard import Adaptation, DivergentIF
from .integrate import EXP_ARG_MAX, exp_euler
from .refractory import Refractory

__all__ = ["ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef"]

_GUARD_NOTE = """
    Numerical guard: ``V_th`` is the cut-off at which the diverging exponential
    is declared a spike (NEST's ``V_peak``).  The exponential is evaluated at
    ``min(V, V_th)``, ``dt * J`` is capped at 30 and a step that overshoots
    stores exactly ``V_th`` (a spike), so no value ever overflows and the
    reset lands on ``V_reset`` for soft and hard reset alike; a falling ``V``
    stops at ``V_rest + R I`` instead of undershooting.  Below ``V_th`` the
    step is the reference's exponential-Euler formula unchanged.  The
    parameters must satisfy ``(V_th - V_T) / delta_T <= 40``.
"""


class ExpIF(DivergentIF):
    r"""Exponential integrate-and-fire neuron (Fourcaud-Trocmé et al. 2003).

    .. math::

        \tau \frac{dV}{dt} = -(V - V_{rest})
            + \Delta_T \exp\!\left(\frac{V - V_T}{\Delta_T}\right) + R\, I(t)

    A spike is emitted when :math:`V \ge V_{th}`; at the start of the next
    step :math:`V \leftarrow V - (V_{th} - V_{reset})` (``'soft'``) or
    :math:`V \leftarrow V_{reset}` (``'hard'``).  Integrated with exponential
    Euler using the analytic Jacobian
    :math:`J = (e^{(V - V_T)/\Delta_T} - 1)/\tau`.
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
    V_reset : Quantity[voltage], default -68 mV
        Reset potential.
    V_rest : Quantity[voltage], default -65 mV
        Resting potential.
    V_T : Quantity[voltage], default -59.9 mV
        Threshold of the exponential term (soft threshold).
    delta_T : Quantity[voltage], default 3.48 mV
        Slope factor (> 0).
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
    >>> expif = lapicque.ExpIF(10, tau=10 * u.ms, V_th=-30 * u.mV)
    >>> expif.init_state(batch_size=1)
    >>> spikes = expif.update(x=1.5 * u.mA)
    >>> spikes.shape
    (1, 10)
    """

    __module__ = "lapicque"
    _PARAMS = {"R": Param(ohm, "positive"), "tau": Param(ms, "positive"), "V_th": Param(mV),
               "V_reset": Param(mV), "V_rest": Param(mV), "V_T": Param(mV), "delta_T": Param(mV, "positive")}

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=10. * u.ms,
        V_th=-30. * u.mV,
        V_reset=-68. * u.mV,
        V_rest=-65. * u.mV,
        V_T=-59.9 * u.mV,
        delta_T=3.48 * u.mV,
        V_initializer: Callable = braintools.init.Constant(-65. * u.mV),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(R=R, tau=tau, V_th=V_th, V_reset=V_reset, V_rest=V_rest, V_T=V_T, delta_T=delta_T)
        self._set_initializers(V_initializer=V_initializer)
        self._check_params()

    def _check_params(self):
        super()._check_params()
        self._require(
            lambda th, vt, dT: (th - vt) / dT <= EXP_ARG_MAX,
            f"(V_th - V_T) / delta_T must be <= {EXP_ARG_MAX:g}, else the exponential term overflows float32 "
            f"near the cut-off; lower V_th (the spike cut-off) or raise delta_T",
            "V_th", "V_T", "delta_T")

    def _V_step(self, V, I, dI, dt, p):
        E = jnp.exp((jnp.minimum(V, p["V_th"]) - p["V_T"]) / p["delta_T"])
        # f = (-(V - V_rest) + delta_T E + R I) / tau, written with E entering once (through J_E):
        # XLA then fuses the reset, this step and the guard into one kernel (two separate uses of E
        # made it split the reset into a kernel of its own: 3 kernels per step instead of 2)
        J_E = (E - 1.) / p["tau"]
        f = (p["delta_T"] - (V - p["V_rest"]) + p["R"] * I) / p["tau"] + p["delta_T"] * J_E
        J = J_E if dI is None else J_E + p["R"] * dI / p["tau"]
        V_new = exp_euler(V, f, J, dt, cap=True)
        # the exponential term is positive, so the trajectory never falls below the linear
        # model's: V(t) >= min(V, V_rest + R I).  Exponential Euler linearizes around V and, where
        # dt * J > 0 meets f < 0, would overshoot far below that (to -3e6 mV at dt/tau = 1).
        return jnp.maximum(V_new, jnp.minimum(V, p["V_rest"] + p["R"] * I))


class ExpIFRef(Refractory, ExpIF):
    r"""Exponential integrate-and-fire neuron with an absolute refractory period.

    :class:`ExpIF` plus the shared refractory mechanism: after a spike every
    state is held at its post-reset value while ``k * dt < tau_ref`` (``k``
    steps since the spike, counted exactly).  Needs ``t`` in
    ``brainstate.environ``.
    {guard}
    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 1 ohm
        Membrane resistance (> 0).
    tau : Quantity[time], default 10 ms
        Membrane time constant (> 0).
    tau_ref : Quantity[time], default 1.7 ms
        Absolute refractory period (>= 0).
    V_th, V_reset, V_rest : Quantity[voltage], default -30, -68, -65 mV
        Spike cut-off, reset and resting potentials.
    V_T : Quantity[voltage], default -59.9 mV
        Threshold of the exponential term.
    delta_T : Quantity[voltage], default 3.48 mV
        Slope factor (> 0).
    V_initializer : Callable or Quantity, default ``Constant(-65 mV)``
        Initial membrane potential.
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
    V : brainstate.HiddenState
        Membrane potential (mV).
    last_spike_time : brainstate.ShortTermState
        Time of the last spike (ms).
    ref_steps_left : brainstate.ShortTermState
        Remaining refractory steps (int32).
    refractory : brainstate.HiddenState
        Refractory flag (only with ``ref_var=True``).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms, t=0. * u.ms)
    >>> expif = lapicque.ExpIFRef(10, tau=10 * u.ms, tau_ref=1.7 * u.ms)
    >>> expif.init_state(batch_size=1)
    >>> expif.update(x=1.5 * u.mA).shape
    (1, 10)
    """

    __module__ = "lapicque"

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=10. * u.ms,
        tau_ref=1.7 * u.ms,
        V_th=-30. * u.mV,
        V_reset=-68. * u.mV,
        V_rest=-65. * u.mV,
        V_T=-59.9 * u.mV,
        delta_T=3.48 * u.mV,
        V_initializer: Callable = braintools.init.Constant(-65. * u.mV),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        ref_var: bool = False,
        name: str = None,
    ):
        ExpIF.__init__(self, in_size, R=R, tau=tau, V_th=V_th, V_reset=V_reset, V_rest=V_rest, V_T=V_T,
                       delta_T=delta_T, V_initializer=V_initializer, spk_fun=spk_fun, spk_reset=spk_reset,
                       name=name)
        self._init_refractory(tau_ref, ref_var)


class AdExIF(Adaptation, ExpIF):
    r"""Adaptive exponential integrate-and-fire neuron (AdEx; Brette & Gerstner 2005).

    .. math::

        \tau \frac{dV}{dt} &= -(V - V_{rest})
            + \Delta_T \exp\!\left(\frac{V - V_T}{\Delta_T}\right) - R\, w + R\, I(t) \\
        \tau_w \frac{dw}{dt} &= a (V - V_{rest}) - w

    A spike is emitted when :math:`V \ge V_{th}`; at the start of the next
    step ``V`` is reset (soft: :math:`V - (V_{th} - V_{reset})`, hard:
    :math:`V_{reset}`) and :math:`w \leftarrow w + b`.  ``V`` is stepped with
    ``w`` at its post-reset value, then ``w`` with the new ``V`` (exponential
    Euler for both).
    {guard}
    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 1 ohm
        Membrane resistance (> 0); ``R = 1 / g_L``.
    tau : Quantity[time], default 10 ms
        Membrane time constant (> 0); ``tau = C / g_L``.
    tau_w : Quantity[time], default 30 ms
        Adaptation time constant (> 0).
    V_th : Quantity[voltage], default -55 mV
        Numerical spike cut-off (``V_peak``; > ``V_reset``).
    V_reset, V_rest : Quantity[voltage], default -68, -65 mV
        Reset and resting potentials.
    V_T : Quantity[voltage], default -59.9 mV
        Threshold of the exponential term.
    delta_T : Quantity[voltage], default 3.48 mV
        Slope factor (> 0).
    a : Quantity[conductance], default 1 S
        Subthreshold adaptation.
    b : Quantity[current], default 1 mA
        Spike-triggered adaptation increment.
    V_initializer : Callable or Quantity, default ``Constant(-65 mV)``
        Initial membrane potential.
    w_initializer : Callable or Quantity, default ``Constant(0 mA)``
        Initial adaptation current.
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
    w : brainstate.HiddenState
        Adaptation current (mA).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> adexif = lapicque.AdExIF(10, tau=10 * u.ms)
    >>> adexif.init_state(batch_size=1)
    >>> adexif.update(x=1.5 * u.mA).shape
    (1, 10)
    """

    __module__ = "lapicque"

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=10. * u.ms,
        tau_w=30. * u.ms,
        V_th=-55. * u.mV,
        V_reset=-68. * u.mV,
        V_rest=-65. * u.mV,
        V_T=-59.9 * u.mV,
        delta_T=3.48 * u.mV,
        a=1. * u.siemens,
        b=1. * u.mA,
        V_initializer: Callable = braintools.init.Constant(-65. * u.mV),
        w_initializer: Callable = braintools.init.Constant(0. * u.mA),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        ExpIF.__init__(self, in_size, R=R, tau=tau, V_th=V_th, V_reset=V_reset, V_rest=V_rest, V_T=V_T,
                       delta_T=delta_T, V_initializer=V_initializer, spk_fun=spk_fun, spk_reset=spk_reset,
                       name=name)
        self._set_params(tau_w=tau_w, a=a, b=b)
        self._set_initializers(w_initializer=w_initializer)


class AdExIFRef(Refractory, AdExIF):
    r"""Adaptive exponential integrate-and-fire neuron with an absolute refractory period.

    :class:`AdExIF` plus the shared refractory mechanism: after a spike ``V``
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
    tau : Quantity[time], default 10 ms
        Membrane time constant (> 0).
    tau_w : Quantity[time], default 30 ms
        Adaptation time constant (> 0).
    tau_ref : Quantity[time], default 1.7 ms
        Absolute refractory period (>= 0).
    V_th, V_reset, V_rest : Quantity[voltage], default -55, -68, -65 mV
        Spike cut-off, reset and resting potentials.
    V_T : Quantity[voltage], default -59.9 mV
        Threshold of the exponential term.
    delta_T : Quantity[voltage], default 3.48 mV
        Slope factor (> 0).
    a : Quantity[conductance], default 1 S
        Subthreshold adaptation.
    b : Quantity[current], default 1 mA
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
    >>> adexif_ref = lapicque.AdExIFRef(10, tau=10 * u.ms, tau_ref=2 * u.ms)
    >>> adexif_ref.init_state(batch_size=1)
    >>> adexif_ref.update(x=1.5 * u.mA).shape
    (1, 10)
    """

    __module__ = "lapicque"

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=10. * u.ms,
        tau_w=30. * u.ms,
        tau_ref=1.7 * u.ms,
        V_th=-55. * u.mV,
        V_reset=-68. * u.mV,
        V_rest=-65. * u.mV,
        V_T=-59.9 * u.mV,
        delta_T=3.48 * u.mV,
        a=1. * u.siemens,
        b=1. * u.mA,
        V_initializer: Callable = braintools.init.Constant(-65. * u.mV),
        w_initializer: Callable = braintools.init.Constant(0. * u.mA),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        ref_var: bool = False,
        name: str = None,
    ):
        AdExIF.__init__(self, in_size, R=R, tau=tau, tau_w=tau_w, V_th=V_th, V_reset=V_reset, V_rest=V_rest,
                        V_T=V_T, delta_T=delta_T, a=a, b=b, V_initializer=V_initializer,
                        w_initializer=w_initializer, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._init_refractory(tau_ref, ref_var)


for _cls in (ExpIF, ExpIFRef, AdExIF, AdExIFRef):
    if _cls.__doc__:  # None under python -OO
        _cls.__doc__ = _cls.__doc__.replace("{guard}", _GUARD_NOTE)
del _cls
