"""The :class:`Neuron` base class: parameters, states, inputs, update loop.

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
    they are merged along the class hierarchy when the class is created, so
    ``init_state`` / ``reset_state`` / ``state_dict`` / ``load_state_dict``
    have one path for every state.

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
   :mod:`lapicque._refractory`);
6. the new state is stored and ``spk_fun`` of it is returned.

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

import functools
import numbers
import weakref
from typing import Any, Callable, Dict, NamedTuple, Optional

import brainstate
import braintools
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from ._dynamics import Dynamics
from ._timestep import check_time_step
from ._errors import EnvironmentNotSetError, NonFiniteInputError, ParameterError, StateNotInitializedError

__all__ = ["Neuron", "Param", "StateSpec"]

# --------------------------------------------------------------------------
# units
# --------------------------------------------------------------------------
# The internal unit system.  All model math runs on mantissas in these units.
mV, ms, mA, ohm, siemens = u.mV, u.ms, u.mA, u.ohm, u.siemens
per_ms = u.ms ** -1
per_mV = u.mV ** -1
DIMENSIONLESS = None

_UNIT_WORDS = (
    (u.mV, "voltage (e.g. -65. * u.mV)"),
    (u.ms, "time (e.g. 10. * u.ms)"),
    (u.mA, "current (e.g. 1.5 * u.mA)"),
    (u.ohm, "resistance (e.g. 1. * u.ohm)"),
    (u.siemens, "conductance (e.g. 1. * u.siemens)"),
    (u.ms ** -1, "rate, 1/time (e.g. 0.01 / u.ms)"),
    (u.mV ** -1, "inverse voltage (e.g. 0.07 / u.mV)"),
)


def _describe_unit(unit) -> str:
    """Words for the physical dimension of ``unit`` (matched by dimension, not by name)."""
    if unit is DIMENSIONLESS:
        return "a dimensionless number"
    for ref, words in _UNIT_WORDS:
        if u.have_same_dim(1. * ref, 1. * unit):
            return "a quantity with units of " + words
    return f"a quantity with units of {unit}"


class Param(NamedTuple):
    """Declaration of one model parameter (an entry of a model's ``_PARAMS``).

    Attributes
    ----------
    unit : saiunit.Unit or None
        Canonical unit (the math uses mantissas in it); ``None`` for
        dimensionless parameters.
    constraint : str or None
        ``'positive'`` (> 0), ``'nonnegative'`` (>= 0) or ``None``.

    Notes
    -----
    A ``'positive'`` parameter in units of time and a ``'nonnegative'`` one in
    units of 1/time are the model's time scales for the time-step check of
    :mod:`lapicque._timestep` (``tau_ref`` has its own rule there).

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> lapicque.Param(u.ms, "positive")
    Param(unit=Unit("ms"), constraint='positive')
    """

    unit: Any
    constraint: Optional[str] = None


class StateSpec(NamedTuple):
    """Declaration of one state variable (an entry of a model's ``_STATES``).

    Attributes
    ----------
    unit : saiunit.Unit or None
        Unit the state is stored in (``None``: a plain array).
    initializer : str or initializer
        The name of the attribute holding the initializer (a constructor
        argument such as ``V_initializer``), or the initial value itself
        (a number, taken in ``unit``, a quantity or a ``braintools.init``
        initializer).
    kind : type, default ``brainstate.HiddenState``
        The ``brainstate.State`` class holding the variable
        (``brainstate.ShortTermState`` for bookkeeping that is not part of
        the dynamics, e.g. the refractory counter).
    dtype : numpy dtype or None
        Fixed dtype (``jnp.int32``, ``bool``); ``None`` takes the float
        precision of ``brainstate.environ``.
    when : str or None
        Name of a boolean attribute; the state exists only when it is true
        (``refractory`` exists only with ``ref_var=True``).

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> lapicque.StateSpec(u.mV, "V_initializer").kind.__name__
    'HiddenState'
    """

    unit: Any
    initializer: Any
    kind: Any = brainstate.HiddenState
    dtype: Any = None
    when: Optional[str] = None


def _merge_along_mro(cls, attr: str) -> Dict[str, Any]:
    """Union of the ``attr`` dicts the classes of ``cls.__mro__`` declare, bases first."""
    merged: Dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        merged.update(klass.__dict__.get(attr, {}))
    return merged


def _fmt_value(v) -> str:
    try:
        arr = np.asarray(u.get_mantissa(v))
        unit = u.get_unit(v)
        body = repr(arr.item()) if arr.size == 1 else f"array of shape {arr.shape}"
        return body + ("" if unit.is_unitless else f" {unit}")
    except Exception:  # pragma: no cover - repr fallback
        return repr(v)


def _to_mantissa(value, unit, what: str, owner: str, dtype=None):
    """Convert ``value`` to a float array in ``unit``; clear error otherwise."""
    if unit is DIMENSIONLESS:
        if isinstance(value, u.Quantity) and not value.is_unitless:
            raise TypeError(
                f"{owner}: {what} must be {_describe_unit(unit)}; got {_fmt_value(value)}."
            )
        arr = u.get_mantissa(value)
    else:
        if not isinstance(value, u.Quantity) or value.is_unitless:
            got = _fmt_value(value)
            raise TypeError(
                f"{owner}: {what} must be {_describe_unit(unit)}; got the plain number {got}. "
                f"lapicque does not guess units: multiply by a saiunit unit (import saiunit as u)."
            )
        if not u.have_same_dim(value, unit):
            raise TypeError(
                f"{owner}: {what} must be {_describe_unit(unit)}; got {_fmt_value(value)} "
                f"(wrong physical dimension)."
            )
        arr = value.to_decimal(unit)
    arr = jnp.asarray(arr)
    if dtype is not None and not jnp.issubdtype(arr.dtype, jnp.bool_):
        arr = arr.astype(dtype)
    return arr


def _concrete(x):
    """Return a numpy copy of ``x`` if it is concrete (not traced), else None."""
    try:
        return np.asarray(x)
    except Exception:
        return None


# --------------------------------------------------------------------------
# environment
# --------------------------------------------------------------------------
_STATE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_precision(owner: str):
    """Refuse 16-bit float state (brainstate.environ precision 16 / 'bf16')."""
    dtype = np.dtype(brainstate.environ.dftype())
    if dtype not in _STATE_DTYPES:
        raise ParameterError(
            f"{owner}: lapicque needs float32 or float64 state, but the brainstate.environ precision gives "
            f"{dtype.name}. In 16-bit floats a step's increment dt * dV/dt (~0.05 mV) is below the resolution "
            f"of V near -65 mV (0.03 mV in float16, 0.25 mV in bfloat16) and is rounded away. Use "
            f"brainstate.environ.set(precision=32) (or 64 for float64).")


def _env_time_ms(key: str, missing: str, example: str) -> jax.Array:
    """Read the time quantity ``key`` from ``brainstate.environ`` in milliseconds."""
    try:
        value = brainstate.environ.get_dt() if key == "dt" else brainstate.environ.get(key)
    except KeyError:
        raise EnvironmentNotSetError(missing) from None
    if not isinstance(value, u.Quantity) or not u.have_same_dim(value, u.ms):
        raise TypeError(
            f"brainstate.environ '{key}' must be a time quantity such as {example}; got {_fmt_value(value)}.")
    return value.to_decimal(u.ms)


def env_dt_ms() -> jax.Array:
    """The integration step from ``brainstate.environ`` in milliseconds."""
    return _env_time_ms(
        "dt",
        "The time step 'dt' is not set. Set it before calling update(), e.g. "
        "brainstate.environ.set(dt=0.1 * u.ms), or run the model with lapicque.simulate().",
        "0.1 * u.ms")


def env_t_ms() -> jax.Array:
    """The current time from ``brainstate.environ`` in milliseconds."""
    return _env_time_ms(
        "t",
        "The current time 't' is not set; refractory models need it to record spike times. "
        "Set it for each step, e.g. `with brainstate.environ.context(t=i * dt): model.update(x)`, "
        "or run the model with lapicque.simulate().",
        "1.0 * u.ms")


# --------------------------------------------------------------------------
# shared reset rule
# --------------------------------------------------------------------------
def reset_potential(V, spk, V_th, V_reset, mode: str, binary: bool = False):
    """Apply the spike reset to ``V`` given the surrogate spike ``spk``.

    ``soft``: ``V - (V_th - V_reset) * spk``.
    ``hard``: ``V - (stop_gradient(V) - V_reset) * spk`` for gradients; its
    forward value is exactly ``V_reset`` where ``spk > 0.5`` (no rounding
    error) and ``V - (V - V_reset) * spk`` elsewhere (``V`` for ``spk = 0``).
    ``binary=True`` promises spikes in {0, 1} (a ``braintools.surrogate``
    function's forward pass): the forward value is then one select.
    """
    if mode == "soft":
        return V - (V_th - V_reset) * spk
    return _hard_reset(V, spk, V_reset, bool(binary))


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def _hard_reset(V, spk, V_reset, binary):
    # a custom JVP keeps the forward pass to a select (before: the gradient formula plus a
    # stop-gradient correction, seven operations per neuron, which pushed XLA's cost model into
    # splitting the kernel across threads)
    return jnp.where(spk > 0.5, V_reset, V if binary else V - (V - V_reset) * spk)


@_hard_reset.defjvp
def _hard_reset_jvp(binary, primals, tangents):
    V, spk, V_reset = primals
    dV, dspk, dV_reset = tangents
    # the derivative of V - (stop_gradient(V) - V_reset) * spk
    return _hard_reset(V, spk, V_reset, binary), dV - (V - V_reset) * dspk + spk * dV_reset


# --------------------------------------------------------------------------
# which neuron a V state belongs to
# --------------------------------------------------------------------------
#: a neuron's membrane-potential State -> the neuron, both held weakly: an input aimed at ``neuron.V`` (a
#: State, not a prefetch) can reach the neuron's delta-input path
_V_OWNERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def neuron_of(state):
    """The lapicque neuron whose ``V`` is (or was, before an ``init_state``) ``state``; None for any other State."""
    try:
        ref = _V_OWNERS.get(state)
    except TypeError:  # not weak-referenceable
        return None
    return None if ref is None else ref()


# --------------------------------------------------------------------------
# the base class
# --------------------------------------------------------------------------
class Neuron(Dynamics):
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

    #: parameter declarations (name -> Param): each class declares its own,
    #: merged along the class hierarchy by ``__init_subclass__``
    _PARAMS: Dict[str, Param] = {}
    #: state declarations (name -> StateSpec), merged the same way.  After the
    #: merge ``_STATES`` lists the states every instance has; ``_STATE_TABLE``
    #: also those that exist only ``when`` an attribute is true.
    _STATES: Dict[str, StateSpec] = {}
    _STATE_TABLE: Dict[str, StateSpec] = {}
    #: marker for the ``*Ref`` models (set by the Refractory mixin; informative only)
    _REFRACTORY = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._PARAMS = _merge_along_mro(cls, "_PARAMS")
        table: Dict[str, StateSpec] = {}
        for klass in reversed(cls.__mro__):
            own = klass.__dict__.get("_STATE_TABLE", klass.__dict__.get("_STATES", {}))
            table.update(own)
        cls._STATE_TABLE = table
        cls._STATES = {n: spec for n, spec in table.items() if spec.when is None}
        # scalar parameters are compiled into simulate's program by value (see lapicque._tree): XLA folds
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
        in_size = self._check_in_size(in_size, owner)
        super().__init__(in_size=in_size, name=name)
        if spk_reset not in ("soft", "hard"):
            raise ParameterError(f"{owner}: spk_reset must be 'soft' or 'hard'; got {spk_reset!r}.")
        if not callable(spk_fun):
            raise TypeError(
                f"{owner}: spk_fun must be callable (e.g. braintools.surrogate.ReluGrad()); got {spk_fun!r}."
            )
        self.spk_reset = spk_reset
        self.spk_fun = spk_fun

    # ------------------------------------------------------------------
    # construction helpers
    # ------------------------------------------------------------------
    @staticmethod
    def _check_in_size(in_size, owner):
        sizes = in_size if isinstance(in_size, (tuple, list)) else (in_size,)
        ok = len(sizes) > 0 and all(
            isinstance(s, (numbers.Integral, np.integer)) and not isinstance(s, bool) and s > 0
            for s in sizes
        )
        if not ok:
            raise ParameterError(
                f"{owner}: in_size must be a positive int or a non-empty tuple of positive ints; got {in_size!r}."
            )
        return tuple(int(s) for s in sizes) if isinstance(in_size, (tuple, list)) else int(in_size)

    def _set_params(self, **values):
        """Validate, broadcast and store parameters declared in ``_PARAMS``."""
        owner = type(self).__name__
        for name, value in values.items():
            spec = self._PARAMS[name]
            what = f"parameter '{name}'"
            state = value if isinstance(value, brainstate.State) else None
            if state is not None:  # a trainable parameter (e.g. brainstate.ParamState): validate its value
                value = state.value
            try:
                value = braintools.init.param(value, self.varshape)
            except (ValueError, TypeError, AssertionError) as e:
                raise ParameterError(
                    f"{owner}: {what} must be a scalar or broadcastable to the group shape "
                    f"{self.varshape}; got {_fmt_value(value)} ({e})."
                ) from None
            arr = _to_mantissa(value, spec.unit, what, owner)
            shape = tuple(np.shape(arr))
            try:
                if np.broadcast_shapes(shape, self.varshape) != tuple(self.varshape):
                    raise ValueError
            except ValueError:
                raise ParameterError(
                    f"{owner}: {what} has shape {shape}, which does not broadcast to the group shape "
                    f"{self.varshape}."
                ) from None
            conc = _concrete(arr)
            if conc is not None:
                if not np.all(np.isfinite(conc)):
                    raise ParameterError(f"{owner}: {what} must be finite; got {_fmt_value(value)}.")
                if spec.constraint == "positive" and not np.all(conc > 0):
                    raise ParameterError(f"{owner}: {what} must be > 0; got {_fmt_value(value)}.")
                if spec.constraint == "nonnegative" and not np.all(conc >= 0):
                    raise ParameterError(f"{owner}: {what} must be >= 0; got {_fmt_value(value)}.")
            setattr(self, name, value if state is None else state)

    def _require(self, cond_fn, message: str, *names):
        """Cross-parameter check on concrete values (skipped when traced)."""
        vals = [_concrete(self._p(n)) for n in names]
        if any(v is None for v in vals):
            return
        if not np.all(cond_fn(*vals)):
            shown = ", ".join(f"{n}={_fmt_value(getattr(self, n))}" for n in names)
            raise ParameterError(f"{type(self).__name__}: {message}; got {shown}.")

    def _check_params(self):
        """Cross-parameter checks; subclasses extend."""
        if "V_th" in self._PARAMS and "V_reset" in self._PARAMS:
            self._require(lambda a, b: a > b, "V_th must be larger than V_reset", "V_th", "V_reset")

    def _set_initializers(self, **inits):
        for name, init in inits.items():
            if not (callable(init) or isinstance(init, (u.Quantity, numbers.Number, np.ndarray, jax.Array))):
                raise TypeError(
                    f"{type(self).__name__}: {name} must be an initializer (e.g. braintools.init.Constant"
                    f"(-65. * u.mV)) or a quantity; got {init!r}."
                )
            setattr(self, name, init)

    # ------------------------------------------------------------------
    # parameter access in canonical units
    # ------------------------------------------------------------------
    def _p(self, name):
        """Mantissa of parameter ``name`` in its canonical unit."""
        spec = self._PARAMS[name]
        value = getattr(self, name)
        if isinstance(value, brainstate.State):  # trainable parameter
            value = value.value
        return _to_mantissa(value, spec.unit, f"parameter '{name}'", type(self).__name__,
                            dtype=brainstate.environ.dftype())

    def _params(self) -> Dict[str, jax.Array]:
        return {name: self._p(name) for name in self._PARAMS}

    # ------------------------------------------------------------------
    # states
    # ------------------------------------------------------------------
    def _state_table(self) -> Dict[str, StateSpec]:
        """The states this instance has (``when`` conditions applied), in a fixed order."""
        return {n: spec for n, spec in self._STATE_TABLE.items()
                if spec.when is None or getattr(self, spec.when, False)}

    def _init_value(self, name, spec: StateSpec, batch_size):
        init = getattr(self, spec.initializer) if isinstance(spec.initializer, str) else spec.initializer
        if isinstance(init, numbers.Number) and spec.unit is not DIMENSIONLESS and init is spec.initializer:
            init = u.Quantity(init, unit=spec.unit)  # a literal number in the table is in the state's unit
        what = f"the initial value of state '{name}'" + (
            f" ({spec.initializer})" if isinstance(spec.initializer, str) else "")
        shape = (self.varshape if batch_size is None else (batch_size,) + tuple(self.varshape))
        value = braintools.init.param(init, self.varshape, batch_size)
        arr = _to_mantissa(value, spec.unit, what, type(self).__name__)
        arr = jnp.broadcast_to(arr, shape).astype(spec.dtype or brainstate.environ.dftype())
        return arr if spec.unit is DIMENSIONLESS else u.Quantity(arr, unit=spec.unit)

    def init_state(self, batch_size: Optional[int] = None, **kwargs):
        """Create the state variables, optionally with a leading batch axis.

        Parameters
        ----------
        batch_size : int, optional
            Size of a leading batch axis; ``None`` for no batch axis.
        """
        self._check_batch(batch_size)
        _check_precision(type(self).__name__)
        for name, spec in self._state_table().items():
            setattr(self, name, spec.kind(self._init_value(name, spec, batch_size)))
        self.started = brainstate.ShortTermState(jnp.asarray(False))
        self._register_V()

    def _register_V(self):
        if isinstance(getattr(self, "V", None), brainstate.State):
            _V_OWNERS[self.V] = weakref.ref(self)

    def reset_state(self, batch_size: Optional[int] = None, **kwargs):
        """Set every state variable back to its initial value."""
        self._check_batch(batch_size)
        if not self._initialized():
            return self.init_state(batch_size)
        for name, spec in self._state_table().items():
            getattr(self, name).value = self._init_value(name, spec, batch_size)
        self._set_started(False)

    def _set_started(self, value):
        """Whether ``V`` is the result of a step (then ``V >= V_th`` is that step's spike) or a starting value."""
        if isinstance(getattr(self, "started", None), brainstate.State):
            self.started.value = jnp.asarray(value, dtype=bool)
        else:
            self.started = brainstate.ShortTermState(jnp.asarray(value, dtype=bool))

    def _since_start(self, spk):
        """The spikes of the group's own current state: none before its first step (a starting ``V`` at or
        above threshold is not a spike of a step; the first step integrates from it and registers it then)."""
        started = getattr(self, "started", None)
        if not isinstance(started, brainstate.State):
            return spk
        return spk * started.value.astype(jnp.result_type(spk))

    def state_names(self):
        """Names of every state variable this group holds (initialized or not), in a fixed order."""
        return self._state_names()

    def _state_names(self):
        """Names of every state variable this group holds, in a fixed order."""
        return tuple(self._state_table())

    def state_dict(self) -> Dict[str, Any]:
        """The group's state variables by name (quantities keep their units).

        Includes the refractory bookkeeping of ``*Ref`` models, so that
        :meth:`load_state_dict` resumes a simulation exactly.

        Examples
        --------
        >>> import brainstate, saiunit as u, lapicque
        >>> n = lapicque.LIF(3)
        >>> n.init_state()
        >>> sorted(n.state_dict())
        ['V']
        """
        if not self._initialized():
            raise StateNotInitializedError(
                f"{type(self).__name__}: no state to save yet; call `.init_state()` first.")
        out = {name: getattr(self, name).value for name in self._state_names()}
        out["started"] = self._started_value()
        return out

    def _started_value(self):
        started = getattr(self, "started", None)
        return started.value if isinstance(started, brainstate.State) else jnp.asarray(True)

    def load_state_dict(self, state: Dict[str, Any]):
        """Restore the state variables saved by :meth:`state_dict`.

        Names must match exactly; each value must have the stored variable's
        physical dimension (it is converted to the stored unit) and a shape
        equal to the current state's (when the group is initialized) or
        ``varshape`` with an optional leading batch axis.
        """
        owner = type(self).__name__
        table = self._state_table()
        state = dict(state)
        started = state.pop("started", True)  # a state saved without it was saved after a step
        names, given = set(table), set(state)
        if names != given:
            raise ValueError(
                f"{owner}.load_state_dict: state names do not match; missing {sorted(names - given)}, "
                f"unexpected {sorted(given - names)}.")
        prepared = {name: self._prepare_loaded(name, spec, state[name]) for name, spec in table.items()}
        started = self._check_started(started)
        # write only after every entry passed its checks: a failed load leaves the group unchanged
        for name, (current, value) in prepared.items():
            if isinstance(current, brainstate.State):
                current.value = value
            else:
                setattr(self, name, table[name].kind(value))
        self._set_started(started)
        self._register_V()

    def _check_started(self, value):
        arr = value if isinstance(value, jax.core.Tracer) else np.asarray(value)
        if arr.shape != () or arr.dtype != np.bool_:
            raise ValueError(f"{type(self).__name__}.load_state_dict: 'started' must be a scalar bool; got "
                             f"{_fmt_value(value)}.")
        return arr

    def _prepare_loaded(self, name, spec: StateSpec, value):
        """Check one loaded state against the table; return (current State or None, value)."""
        owner = type(self).__name__
        arr = _to_mantissa(value, spec.unit, f"state '{name}'", f"{owner}.load_state_dict")
        current = getattr(self, name, None)
        if isinstance(current, brainstate.State):
            want_shape = tuple(jnp.shape(current.value))
            ok_shape = tuple(jnp.shape(arr)) == want_shape
        else:
            want_shape = tuple(self.varshape)
            shape = tuple(jnp.shape(arr))
            ok_shape = shape[-len(want_shape):] == want_shape and len(shape) - len(want_shape) in (0, 1)
        if not ok_shape:
            raise ValueError(
                f"{owner}.load_state_dict: state '{name}' has shape {tuple(jnp.shape(arr))}; expected "
                f"{want_shape}.")
        dtype = (u.get_mantissa(current.value).dtype if isinstance(current, brainstate.State)
                 else spec.dtype or brainstate.environ.dftype())
        arr = arr.astype(dtype)
        return current, (arr if spec.unit is DIMENSIONLESS else u.Quantity(arr, unit=spec.unit))

    def _check_batch(self, batch_size):
        if batch_size is not None and (
            not isinstance(batch_size, (numbers.Integral, np.integer)) or isinstance(batch_size, bool)
            or batch_size <= 0
        ):
            raise ParameterError(
                f"{type(self).__name__}: batch_size must be None or a positive int; got {batch_size!r}."
            )

    def _initialized(self) -> bool:
        return all(isinstance(getattr(self, n, None), brainstate.State) for n in self._state_table())

    def _read_states(self) -> Dict[str, jax.Array]:
        if not self._initialized():
            raise StateNotInitializedError(
                f"{type(self).__name__}: the state variables do not exist yet; call "
                f"`.init_state()` (or `brainstate.nn.init_all_states(model)`) before update()."
            )
        out = {}
        for name, spec in self._state_table().items():
            v = getattr(self, name).value
            out[name] = v if spec.unit is DIMENSIONLESS else _to_mantissa(v, spec.unit, name, type(self).__name__)
        return out

    def _write_states(self, s: Dict[str, jax.Array]):
        for name, spec in self._state_table().items():
            v = s[name]
            getattr(self, name).value = v if spec.unit is DIMENSIONLESS else u.Quantity(v, unit=spec.unit)

    def _has_callable_currents(self):
        return bool(self._current_inputs) and any(callable(v) for v in self._current_inputs.values())

    def _refuse_nonfinite(self, value, what: str):
        """Raise :class:`NonFiniteInputError` if a *concrete* input holds NaN or inf.

        Traced values (inside ``jit`` / ``for_loop``) are not looked at, so a
        compiled step costs nothing extra.
        """
        arr = u.get_mantissa(value) if isinstance(value, u.Quantity) else value
        if isinstance(arr, jax.core.Tracer) or callable(arr):
            return
        try:
            arr = np.asarray(arr)
        except Exception:  # pragma: no cover - not an array: the unit check reports it
            return
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            bad = np.argwhere(~np.isfinite(arr))
            where = f" at index {tuple(int(i) for i in bad[0])}" if arr.ndim else ""
            raise NonFiniteInputError(
                f"{type(self).__name__}.update: {what} is not finite ({int(bad.shape[0])} of {arr.size} values "
                f"are NaN or inf, the first{where} is {arr[tuple(bad[0])]}); a non-finite input would leave "
                f"the state NaN for good. Check how the input is computed.")

    def _refuse_nonfinite_registry(self, registry, kind: str):
        for key, inp in (registry or {}).items():
            if not callable(inp):
                self._refuse_nonfinite(inp, f"the {kind} input {key!r}")

    def _total_current(self, x, V):
        """Total input current (mA mantissa) and its derivative w.r.t. V.

        The derivative is nonzero only for callable (e.g. conductance-based)
        inputs; it enters the exponential-Euler Jacobian exactly as autodiff
        of the summed input would.  Concrete non-finite inputs are refused.
        """
        owner = type(self).__name__
        shape = jnp.shape(V)
        x_m = _to_mantissa(x, mA, "the input current x", owner)
        self._refuse_nonfinite(x_m, "the input current x")
        try:
            ok = np.broadcast_shapes(jnp.shape(x_m), shape) == tuple(shape)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"{owner}.update: the input current has shape {jnp.shape(x_m)}, which does not broadcast to "
                f"the state shape {shape}."
            )
        if not self._current_inputs:
            return x_m.astype(V.dtype), None
        self._refuse_nonfinite_registry(self._current_inputs, "current")
        if not self._has_callable_currents():
            total = self.sum_current_inputs(u.Quantity(x_m, unit=mA))
            return _to_mantissa(total, mA, "the summed current input", owner).astype(V.dtype), None

        def current_of(v):
            total = self.sum_current_inputs(u.Quantity(x_m, unit=mA), u.Quantity(v, unit=mV))
            return _to_mantissa(total, mA, "the summed current input", owner).astype(V.dtype)

        total, dI = jax.jvp(current_of, (V,), (jnp.ones_like(V),))
        self._refuse_nonfinite(total, "the summed current input (with the callable inputs)")
        return jnp.broadcast_to(total, shape), dI

    def _apply_delta(self, V):
        """``V`` plus the registered delta inputs (mV mantissa); concrete non-finite ones are refused."""
        if not self._delta_inputs:
            return V
        self._refuse_nonfinite_registry(self._delta_inputs, "delta")
        try:
            out = self.sum_delta_inputs(u.Quantity(V, unit=mV))
        except jax.errors.UnexpectedTracerError:
            owner = type(self).__name__
            raise RuntimeError(
                f"{owner}.update: a delta input registered after this group's update in an earlier step of a "
                f"compiled loop is still waiting ({', '.join(map(repr, self._delta_inputs))}): in each step, update "
                f"the inputs and projections (e.g. PoissonInput) first, then {owner}.") from None
        out = _to_mantissa(out, mV, "the summed delta input", type(self).__name__).astype(V.dtype)
        if not isinstance(out, jax.core.Tracer) and not isinstance(V, jax.core.Tracer):
            # only where V itself was finite: an already broken state is not the input's fault
            self._refuse_nonfinite(jnp.where(jnp.isfinite(V), out, 0.), "the summed delta input")
        return out

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
        return u.Quantity(thr, unit=mV)

    def _states_from_args(self, **given):
        """Mantissa state dict for get_spike(..), using current values where not given."""
        s = {}
        for name, value in given.items():
            spec = self._STATES[name]
            if value is None:
                value = self._state_value(name)
            s[name] = value if spec.unit is DIMENSIONLESS else _to_mantissa(
                value, spec.unit, f"argument '{name}'", type(self).__name__)
        return s

    def _state_value(self, name):
        st = getattr(self, name, None)
        if not isinstance(st, brainstate.State):
            raise StateNotInitializedError(
                f"{type(self).__name__}: state '{name}' does not exist yet; call `.init_state()` first."
            )
        return st.value

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
            time scales (see :mod:`lapicque._timestep`).
        """
        s = self._read_states()
        dt = env_dt_ms()
        p = self._params()
        check_time_step(self, dt)
        spk = self._since_start(self._spike(s, p))
        s_reset = {**s, **self._reset(s, spk, p)}
        I, dI = self._total_current(x, s_reset["V"])
        s_new = {**s_reset, **self._step(s_reset, I, dI, dt, p)}
        s_new["V"] = self._bound_V(self._apply_delta(s_new["V"]), p)
        s_new = self._after_V(s_reset, s_new, dt, p)
        self._write_states(s_new)
        if isinstance(getattr(self, "started", None), brainstate.State):
            self.started.value = jnp.asarray(True)
        return self._spike(s_new, p)
