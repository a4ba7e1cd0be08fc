"""The :class:`Neuron` base class: the update rule of every model, written once.

Design
------
Each model declares *as data* what differs between models:

``_PARAMS``
    ``{name: Param(unit, constraint)}`` -- the physical dimension and sign
    constraint of every constructor parameter.  The base class validates
    them at construction, broadcasts them with :func:`braintools.init.param`
    and stores them as public attributes (saiunit quantities, as the
    reference does).
``_STATES``
    ``{name: StateSpec(unit, initializer, kind, dtype, when)}`` -- every
    state variable, the model's dynamics and any bookkeeping (the refractory
    counter) alike.  Each class (and mixin) declares only its own entries;
    they are merged along the class hierarchy when the class is created
    (:mod:`lapicque._core.declare`, the one declaration system of neurons,
    synapses and inputs), so ``init_state`` / ``reset_state`` /
    ``state_dict`` / ``load_state_dict`` have one path for every state
    (:mod:`lapicque._neurons.states`).

and implements the math once, on plain arrays in one consistent unit system
(mV, ms, mA, ohm, siemens; note 1 ohm * 1 mA = 1 mV and 1 S * 1 mV = 1 mA):

``_threshold(s, p)``   the spike threshold every consumer sees (a parameter,
                       ALIF's ``V_th + beta a`` or Gif's dynamic state)
``_spike_arg(s, p)``   argument of the surrogate function
``_reset(s, spk, p)``  jumps applied at the start of the step after a spike
``_step(s, I, dI, dt, p)``  one exponential-Euler step; returns the new
                       values of the states it advances, ``V`` *before*
                       delta inputs (the base adds them: no model can forget)
``_bound_V(V, p)``     the divergent models' cut-off (identity otherwise)
``_after_V(s_reset, s_new, dt, p)``  states that need the finished ``V``
                       (adaptation currents) and the refractory hold

The update order of every model is defined in :meth:`Neuron.update`:

1. ``spk = spk_fun(spike argument of the previous state)``;
2. reset: ``V <- V - (V_th' - V_reset) * spk`` with ``V_th' = V_th`` (soft)
   or ``stop_gradient(V)`` (hard; lands exactly on ``V_reset``), plus the
   model's own jumps (``w += b``, ``a += 1``, ...);
3. one exponential-Euler step of length ``dt`` with the summed current input;
4. delta inputs are added to ``V`` (always, by the base class), then
   ``_bound_V`` (the cut-off guard of the divergent models);
5. ``_after_V``: adaptation currents see the finished ``V``; refractory
   models hold every state at its post-reset value while refractory (see
   :mod:`lapicque._neurons.refractory`);
6. the new state is stored and ``spk_fun`` of it is returned.

The rooms around it: the reset rule in :mod:`lapicque._neurons.reset`, the
summed inputs and their non-finite guard in :mod:`lapicque._neurons.inputs`,
the unit mode (with units, or unitless where the user gave plain numbers) in
:mod:`lapicque._neurons.unit_mode`, units and the environment's ``dt`` / ``t`` in
:mod:`lapicque._core`.

Writing a model
---------------
A new model is a subclass of :class:`Neuron` that declares ``_PARAMS`` and
``_STATES`` with :class:`Param` / :class:`StateSpec` and implements
``_step`` (and ``_reset`` / ``_threshold`` / ``_spike_arg`` where it differs
from the leaky default); see ``examples/izhikevich.py``.  It then gets the
parameter checks, the input registry, checkpoints, ``lapicque.simulate``
and sharding without further code.
"""

from __future__ import annotations

import inspect
from typing import Callable, Optional

import brainstate
import braintools
import jax.numpy as jnp
import saiunit as u

from .._core.declare import check_in_size
from .._core.dynamics import Dynamics
from .._core.environ import dt_ms
from .._core.errors import ParameterError
from .._core.units import format_value
from .inputs import InputSum
from .reset import reset_potential
from .states import NeuronStates
from .timestep import check_time_step

__all__ = ["Neuron"]


class Neuron(NeuronStates, InputSum, Dynamics):
    r"""Base class of all lapicque spiking neuron models.

    A neuron group holds state variables (``brainstate.HiddenState``) for
    ``in_size`` neurons (optionally with a leading batch axis), advances them
    by one step of ``dt = brainstate.environ.get_dt()`` in :meth:`update` and
    returns spikes.  Spikes pass through a surrogate function: the forward
    value is the Heaviside step ``x >= 0``, the backward pass uses the
    surrogate's smooth derivative, so networks can be trained with BPTT.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group, e.g. ``100`` or ``(28, 28)``.
    spk_fun : Callable, default ``braintools.surrogate.InvSquareGrad()``
        Surrogate spike function (any ``braintools.surrogate`` object).
    spk_reset : {'soft', 'hard'}, default ``'soft'``
        ``'soft'`` subtracts ``V_th - V_reset`` from ``V`` after a spike
        (gradients flow through the reset); ``'hard'`` sets ``V`` to
        ``V_reset`` with ``jax.lax.stop_gradient`` on the reset amount.
    name : str, optional
        Name of the module.

    Notes
    -----
    Inputs are registered with :meth:`add_current_input` /
    :meth:`add_delta_input` (a callable persists and is called with the
    membrane potential at every step; a plain value is used once and then
    dropped) and summed by :meth:`sum_current_inputs` /
    :meth:`sum_delta_inputs`.

    Subclasses either implement ``init_state`` / ``reset_state`` /
    ``get_spike`` / ``update`` themselves (as in the example below) or declare
    ``_PARAMS`` / ``_STATES`` and the model math (see the module docstring).

    Examples
    --------
    >>> import brainstate, braintools
    >>> import saiunit as u
    >>> import lapicque
    >>> class Accumulator(lapicque.Neuron):
    ...     def __init__(self, in_size, V_th=1.0 * u.mV, **kwargs):
    ...         super().__init__(in_size, **kwargs)
    ...         self.V_th = V_th
    ...     def init_state(self, batch_size=None, **kwargs):
    ...         self.V = brainstate.HiddenState(braintools.init.param(
    ...             braintools.init.Constant(0. * u.mV), self.varshape, batch_size))
    ...     def get_spike(self, V=None):
    ...         V = self.V.value if V is None else V
    ...         return self.spk_fun((V - self.V_th) / self.V_th)
    ...     def update(self, x):
    ...         self.V.value += x
    ...         return self.get_spike()
    >>> n = Accumulator(3)
    >>> n.init_state()
    >>> n.update(0.6 * u.mV)
    Array([0., 0., 0.], dtype=float32)
    >>> n.update(0.6 * u.mV)
    Array([1., 1., 1.], dtype=float32)
    """

    __module__ = "lapicque"

    #: marker for the ``*Ref`` models (set by the Refractory mixin; informative only)
    _REFRACTORY = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # scalar parameters are compiled into simulate's program by value (see lapicque._engine.tree): XLA folds
        # exp(-dt / tau) and turns divisions by tau into multiplications
        cls.__lapicque_constants__ = frozenset(cls._PARAMS)

    def __init__(
        self,
        in_size,
        spk_fun: Callable = braintools.surrogate.InvSquareGrad(),
        spk_reset: str = "soft",
        name: Optional[str] = None,
    ):
        owner = type(self).__name__
        super().__init__(in_size=check_in_size(in_size, owner), name=name)
        if spk_reset not in ("soft", "hard"):
            raise ParameterError(f"{owner}: spk_reset must be 'soft' or 'hard'; got {spk_reset!r}.")
        if not callable(spk_fun):
            raise TypeError(
                f"{owner}: spk_fun must be callable (e.g. braintools.surrogate.ReluGrad()); got {spk_fun!r}.")
        self.spk_reset = spk_reset
        self.spk_fun = spk_fun

    def _check_params(self):
        """Cross-parameter checks; subclasses extend."""
        if "V_th" in self._PARAMS and "V_reset" in self._PARAMS:
            rest = f" (e.g. V_reset=V_rest={format_value(self.V_rest)})" if "V_rest" in self._PARAMS else ""
            self._require(lambda a, b: a > b, "V_th must be larger than V_reset, or a spike would reset the neuron "
                          f"above its threshold: pass V_reset=... below V_th{rest}; V_reset defaults to "
                          f"{format_value(self._default('V_reset'))}", "V_th", "V_reset")

    def _default(self, name):
        """The default of constructor parameter ``name`` (for messages)."""
        p = inspect.signature(type(self).__init__).parameters.get(name)
        return None if p is None or p.default is inspect.Parameter.empty else p.default

    # ------------------------------------------------------------------
    # spikes
    # ------------------------------------------------------------------
    def get_spike(self, *args, **kwargs):
        """Surrogate spikes of the given (or current) state.

        The forward value is 1 where the neuron is at or above threshold and 0
        elsewhere; the backward pass uses ``spk_fun``'s surrogate derivative.
        """
        raise NotImplementedError

    def _spike_of(self, **given):
        """``spk_fun`` of the given states (the current value of any not given); the group's own current
        state (nothing given) spikes only after its first step."""
        spk = self.spk_fun(self._spike_arg(self._states_from_args(**given), self._params()))
        return self._since_start(spk) if all(v is None for v in given.values()) else spk

    def _spike_arg(self, s, p):
        """Argument of ``spk_fun``: (V - V_th) / (V_th - V_reset) by default."""
        thr = self._threshold(s, p)
        return (s["V"] - thr) / (thr - p["V_reset"])

    def _spike(self, s, p):
        """Surrogate spikes of state ``s``: ``spk_fun(self._spike_arg(s, p))``."""
        return self.spk_fun(self._spike_arg(s, p))

    def _threshold(self, s, p):
        """The spike threshold (mV mantissa) of state ``s``: the one every consumer uses."""
        return p["V_th"]

    def threshold(self, **states):
        """The spike threshold as a quantity, for the given (or current) state.

        A spike is registered where ``V >= threshold()``: the fixed ``V_th``
        of most models, ``V_th + beta * a`` for ALIF and the dynamic ``V_th``
        of Gif.  Refractory detection, :meth:`get_spike` and plots use it.

        Parameters
        ----------
        **states : Quantity or array, optional
            State values to evaluate it at (e.g. recorded traces ``a=...``);
            the current state for any not given.

        Examples
        --------
        >>> import saiunit as u, lapicque
        >>> alif = lapicque.ALIF(2, V_th=1. * u.mV, beta=0.5 * u.mV)
        >>> alif.init_state()
        >>> print(alif.threshold(a=2.))
        [2. 2.] mV
        """
        names = {n: states.get(n) for n in self._STATES}
        given = {n: v for n, v in names.items() if v is not None or isinstance(
            getattr(self, n, None), brainstate.State)}
        s = self._states_from_args(**given)
        thr = jnp.broadcast_to(self._threshold(s, self._params()), jnp.shape(next(iter(s.values()), 0.)))
        return self._with_unit(thr, self._V_UNIT)

    def _states_from_args(self, **given):
        """Mantissa state dict for get_spike(..), using current values where not given."""
        s = {}
        for name, value in given.items():
            spec = self._STATES[name]
            if value is None:
                value = self._state_value(name)
            s[name] = self._mantissa(value, spec.unit, f"argument '{name}'")
        return s

    # ------------------------------------------------------------------
    # the update
    # ------------------------------------------------------------------
    def _reset(self, s, spk, p):
        """Post-spike jumps; default: reset V only."""
        s = dict(s)
        s["V"] = self._reset_V(s["V"], spk, self._threshold(s, p), p["V_reset"])
        return s

    def _reset_V(self, V, spk, V_th, V_reset):
        """:func:`reset_potential` with this model's reset rule (and binary spikes from a surrogate)."""
        binary = isinstance(self.spk_fun, braintools.surrogate.Surrogate)
        return reset_potential(V, spk, V_th, V_reset, self.spk_reset, binary=binary)

    def _step(self, s, I, dI, dt, p):  # pragma: no cover - abstract
        """One step of the dynamics from the post-reset state ``s`` with total current ``I`` (mA).

        Returns the new values of the states it advances (a dict); ``V`` is
        returned *before* delta inputs, which :meth:`update` adds itself.
        """
        raise NotImplementedError

    def _bound_V(self, V, p):
        """Bound on the finished ``V``: identity here; the divergent models' cut-off."""
        return V

    def _after_V(self, s_reset, s_new, dt, p):
        """States that depend on the finished ``V`` (adaptation) and the refractory hold."""
        return s_new

    def update(self, x=0. * u.mA):
        """Advance the group by one time step and return its spikes.

        Parameters
        ----------
        x : Quantity, default ``0 mA``
            External input current, a scalar or an array broadcastable to the
            state shape, in units of current.  A concrete (not traced) input
            holding NaN or inf raises :class:`~lapicque.NonFiniteInputError`.

        Returns
        -------
        jax.Array
            Surrogate spikes of the new state (forward values in {0, 1}).

        Warns
        -----
        CoarseTimeStepWarning
            Once per model and ``dt`` when ``dt`` is coarse for the model's
            time scales (see :mod:`lapicque._neurons.timestep`).
        """
        s = self._read_states()
        dt = dt_ms(type(self).__name__, plain=self.unitless)
        p = self._params()
        check_time_step(self, dt)
        spk = self._since_start(self._spike(s, p))
        s_reset = {**s, **self._reset(s, spk, p)}
        I, dI = self._total_current(x, s_reset["V"])
        s_new = {**s_reset, **self._step(s_reset, I, dI, dt, p)}
        s_new["V"] = self._bound_V(self._apply_delta(s_new["V"]), p)
        s_new = self._after_V(s_reset, s_new, dt, p)
        self._write_states(s_new)
        self._mark_started()
        return self._spike(s_new, p)
