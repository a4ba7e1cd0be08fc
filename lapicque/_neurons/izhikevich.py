"""The Izhikevich (2003) model: Izhikevich, IzhikevichRef."""

from typing import Callable

import braintools
import jax.numpy as jnp
import saiunit as u

from .._core.declare import Param, StateSpec
from .._core.units import mV, ms, per_ms
from .guard import DivergentIF
from .integrate import exp_euler
from .refractory import Refractory
from .reset import threshold_argument

__all__ = ["Izhikevich", "IzhikevichRef"]

#: units of the input, of ``u`` and of ``d``: those of dV/dt
mV_per_ms = mV / ms
#: the quadratic's coefficients (Izhikevich 2003): 0.04 / (mV ms), 5 / ms, 140 mV / ms
P2, P1, P0 = 0.04, 5.0, 140.0


_DOC = r"""
    .. math::

        \frac{dV}{dt} &= 0.04\,V^2 + 5\,V + 140 - u + I(t) \\
        \frac{du}{dt} &= a\,(b\,V - u)

    with :math:`V` in mV, :math:`t` in ms, and :math:`u`, :math:`I` and
    :math:`d` in mV/ms (the units of :math:`dV/dt`; the constants are
    0.04 / (mV ms), 5 / ms and 140 mV/ms).  A spike is emitted when
    :math:`V \ge V_{th}`; at the start of the next step :math:`V \leftarrow c`
    and :math:`u \leftarrow u + d`.

    Update order (as brainpy.state): reset; ``V`` is stepped with the
    post-reset ``u``; delta inputs are added to ``V``; then ``u`` is stepped
    with the new ``V``.

    Integrator: exponential Euler, as the reference, with the analytic
    Jacobian :math:`J = 0.08\,V + 5` (per ms; plus the derivative of a
    conductance-like input).  The linearisation takes the stiff part of the
    quadratic, so the step stays stable at the paper's 0.5..1 ms steps, and
    the ``u`` equation (linear in ``u`` for a given ``V``) is integrated
    exactly.

    Numerical guard: the quadratic reaches infinity in finite time and
    ``V_th`` is its cut-off.  The quadratic is evaluated at
    :math:`\min(V, V_{th})`, ``dt J`` is capped at 30, a step that passes
    ``V_th`` stores exactly ``V_th`` (a spike), and a falling ``V`` stops at
    the lower root of the right-hand side, where the true trajectory stops.
    Below ``V_th`` a resolved step is the reference's formula unchanged; no
    ``dt`` up to 1 ms gives inf or NaN.

    Reset: with the default ``spk_reset='hard'`` ``V`` lands exactly on ``c``
    (the reference always resets to ``c``); ``'soft'`` subtracts
    ``V_th - c``, which lands on ``c`` as well, since a spiking ``V`` is
    stored as exactly ``V_th``; the two differ only in their gradients.
    The surrogate's argument is :math:`(V - V_{th}) / |V_{th}|` (the
    reference's :math:`(V - V_{th}) / V_{th}`; ``|.|`` keeps the sign right
    for a negative threshold).
"""

_PARAMS_DOC = """    in_size : int or tuple of int
        Shape of the neuron group.
    a : Quantity[1/time], default 0.02 / ms
        Rate of the recovery variable ``u``.
    b : Quantity[1/time], default 0.2 / ms
        Sensitivity of ``u`` to ``V``.
    c : Quantity[voltage], default -65 mV
        Reset potential (< ``V_th``).
    d : Quantity[voltage / time], default 8 mV/ms
        Jump of ``u`` after a spike.
    V_th : Quantity[voltage], default 30 mV
        Spike cut-off (the peak of the spike).
"""

_TAIL_DOC = """    V_initializer : Callable or Quantity, default ``Constant(-65 mV)``
        Initial membrane potential.
    u_initializer : Callable or Quantity, default ``Constant(0 mV/ms)``
        Initial recovery variable (the paper starts from ``b * V``).
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function.
    spk_reset : {'hard', 'soft'}, default 'hard'
        Reset rule (see above).
"""

_PARAMS = {"a": Param(per_ms), "b": Param(per_ms), "c": Param(mV), "d": Param(mV_per_ms), "V_th": Param(mV)}


class Izhikevich(DivergentIF):
    r"""Izhikevich (2003) neuron: quadratic voltage, linear recovery, reset to ``c``.
    {doc}
    Parameters
    ----------
{params}{tail}    name : str, optional
        Module name.

    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).
    u : brainstate.HiddenState
        Recovery variable (mV/ms).

    See Also
    --------
    IzhikevichRef : with an absolute refractory period.

    References
    ----------
    Izhikevich, E. M. (2003). Simple model of spiking neurons. IEEE Trans.
    Neural Netw. 14(6), 1569-1572.

    Examples
    --------
    The paper's regular-spiking cell (the defaults) under a 10 mV/ms step:

    >>> import brainstate, saiunit as u, lapicque
    >>> izh = lapicque.Izhikevich(1, u_initializer=-13. * u.mV / u.ms)
    >>> res = lapicque.simulate(izh, lambda t: 10. * u.mV / u.ms, 200. * u.ms, 0.1 * u.ms)
    >>> int(res.spike_count[0])
    5
    """

    __module__ = "lapicque"
    _INPUT_UNIT = mV_per_ms
    _PARAMS = _PARAMS
    _STATES = {"u": StateSpec(mV_per_ms, "u_initializer")}

    def __init__(
        self,
        in_size,
        a=0.02 / u.ms,
        b=0.2 / u.ms,
        c=-65. * u.mV,
        d=8. * u.mV / u.ms,
        V_th=30. * u.mV,
        V_initializer: Callable = braintools.init.Constant(-65. * u.mV),
        u_initializer: Callable = braintools.init.Constant(0. * u.mV / u.ms),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'hard',
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(a=a, b=b, c=c, d=d, V_th=V_th)
        self._set_initializers(V_initializer=V_initializer, u_initializer=u_initializer)
        self._check_params()

    def _check_params(self):
        super()._check_params()
        self._require(lambda th, c: th > c, "V_th must be larger than the reset potential c", "V_th", "c")

    def update(self, x=0. * u.mV / u.ms):
        """Advance the group by one step with input ``x`` (mV/ms) and return its spikes.

        Parameters
        ----------
        x : Quantity[voltage / time], default 0 mV/ms
            External input (added to ``dV/dt``), broadcastable to the state shape.

        Returns
        -------
        jax.Array
            Surrogate spikes of the new state (forward values in {0, 1}).
        """
        return super().update(x)

    def get_spike(self, V=None):
        """Surrogate spikes ``spk_fun((V - V_th) / |V_th|)`` (default: current ``V``)."""
        return self._spike_of(V=V)

    def _spike_arg(self, s, p):
        return threshold_argument(s["V"], p["V_th"])

    def _reset(self, s, spk, p):
        return {"V": self._reset_V(s["V"], spk, p["V_th"], p["c"]), "u": s["u"] + p["d"] * spk}

    def _step(self, s, I, dI, dt, p):
        # V sees the post-reset u (as a current subtracted from the input); u is stepped in _after_V
        return super()._step(s, I - s["u"], dI, dt, p)

    def _V_step(self, V, I, dI, dt, p):
        Vc = jnp.minimum(V, p["V_th"])
        f = P2 * Vc * Vc + P1 * Vc + P0 + I
        J = 2. * P2 * Vc + P1
        if dI is not None:
            J = J + dI
        V_new = exp_euler(V, f, J, dt, cap=True)
        # a falling V (f < 0, between the roots) stops at the lower root V*; the linearised step
        # (dt * J > 0 there) would overshoot below it
        disc = P1 * P1 - 4. * P2 * (P0 + I)
        root = jnp.sqrt(jnp.maximum(disc, 1e-12))  # not sqrt(max(disc, 0)): its gradient at 0 is inf
        V_star = jnp.where(disc >= 0., (-P1 - root) / (2. * P2), V)
        return jnp.maximum(V_new, jnp.minimum(V, V_star))

    def _after_V(self, s_reset, s_new, dt, p):
        # u sees the finished V (after delta inputs and the cut-off)
        s = super()._after_V(s_reset, s_new, dt, p)
        uu = s_reset["u"]
        s["u"] = exp_euler(uu, p["a"] * (p["b"] * s["V"] - uu), -p["a"], dt)
        return s


class IzhikevichRef(Refractory, Izhikevich):
    r"""Izhikevich (2003) neuron with an absolute refractory period.

    :class:`Izhikevich` plus the shared refractory mechanism: after a spike
    ``V`` and ``u`` are held at their post-reset values (``c`` and
    ``u + d``) while ``k * dt < tau_ref`` for the ``k``-th step after it,
    counted exactly in whole steps (see :mod:`lapicque._neurons.refractory`).
    ``tau_ref = 0`` (the default, as in the reference) is :class:`Izhikevich`.
    Needs ``t`` in ``brainstate.environ``.
    {doc}
    Parameters
    ----------
{params}    tau_ref : Quantity[time], default 0 ms
        Absolute refractory period (>= 0).
{tail}    ref_var : bool, default False
        Also keep a boolean ``refractory`` state.
    name : str, optional
        Module name.

    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).
    u : brainstate.HiddenState
        Recovery variable (mV/ms).
    last_spike_time, ref_steps_left : brainstate.ShortTermState
        Refractory bookkeeping (ms; int32).
    refractory : brainstate.HiddenState
        ``True`` while refractory or spiking (only with ``ref_var=True``).

    Examples
    --------
    A fast-spiking cell (a = 0.1 / ms, d = 2 mV/ms) with and without 10 ms of
    refractoriness:

    >>> import brainstate, saiunit as u, lapicque
    >>> fs = dict(a=0.1 / u.ms, d=2. * u.mV / u.ms, u_initializer=-13. * u.mV / u.ms)
    >>> drive = lambda t: 10. * u.mV / u.ms
    >>> free = lapicque.simulate(lapicque.IzhikevichRef(1, **fs), drive, 200. * u.ms, 0.1 * u.ms)
    >>> held = lapicque.simulate(lapicque.IzhikevichRef(1, tau_ref=10. * u.ms, **fs), drive, 200. * u.ms,
    ...                          0.1 * u.ms)
    >>> int(free.spike_count[0]), int(held.spike_count[0])
    (27, 12)
    """

    __module__ = "lapicque"

    def __init__(
        self,
        in_size,
        a=0.02 / u.ms,
        b=0.2 / u.ms,
        c=-65. * u.mV,
        d=8. * u.mV / u.ms,
        V_th=30. * u.mV,
        tau_ref=0. * u.ms,
        V_initializer: Callable = braintools.init.Constant(-65. * u.mV),
        u_initializer: Callable = braintools.init.Constant(0. * u.mV / u.ms),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'hard',
        ref_var: bool = False,
        name: str = None,
    ):
        Izhikevich.__init__(self, in_size, a=a, b=b, c=c, d=d, V_th=V_th, V_initializer=V_initializer,
                            u_initializer=u_initializer, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._init_refractory(tau_ref, ref_var)


for _cls in (Izhikevich, IzhikevichRef):
    if _cls.__doc__:  # None under python -OO
        _cls.__doc__ = _cls.__doc__.replace("{doc}", _DOC).replace("{params}", _PARAMS_DOC).replace(
            "{tail}", _TAIL_DOC)
del _cls
