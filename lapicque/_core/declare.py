"""Parameters and states declared as data: one system for neurons, synapses, plasticity, outputs and inputs.

A model class says what differs between models in two tables, and :class:`Declared`
does the rest -- validation at construction, storage, mantissas in canonical units for
the math, creation and reset of the states:

``_PARAMS``
    ``{name: Param(unit, constraint)}`` -- every constructor parameter's physical
    dimension and sign constraint (checked at construction, with an error naming the
    class, the parameter and what was expected);
``_STATES``
    ``{name: StateSpec(unit, initializer, kind, dtype, when)}`` -- every state
    variable (dynamics and bookkeeping alike).

Each class (and mixin) declares only its own entries; they are merged along the class
hierarchy when the class is created.

Unitless mode: a class may run on plain numbers where its user gave plain numbers
(the neurons do, see :mod:`lapicque._neurons.unit_mode`).  Its hook
:meth:`Declared._settle_mode` sets ``_plain``; from then on parameters and states
are plain arrays read in the canonical units, and a quantity is the error.
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, NamedTuple, Optional

import brainstate
import braintools
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .errors import ParameterError
from .units import ANY_UNIT, DIMENSIONLESS, concrete, format_value, to_mantissa, with_unit

__all__ = ["Param", "StateSpec", "Declared", "draw_param", "check_param", "param_mantissa", "check_in_size",
           "merge_along_mro"]


class Param(NamedTuple):
    """Declaration of one parameter (an entry of a class's ``_PARAMS``).

    Attributes
    ----------
    unit : saiunit.Unit, None or ``'any'``
        Canonical unit (the math uses mantissas in it); ``None`` for a
        dimensionless parameter, ``'any'`` when any dimension is accepted
        (only finiteness is checked).
    constraint : str or None
        ``'positive'`` (> 0), ``'nonnegative'`` (>= 0), ``'fraction'``
        (0 < x <= 1) or ``None``.
    attr : str or None
        The attribute the value is stored under, where it differs from the
        parameter's name.
    plain_unit : saiunit.Unit or None
        The unit a plain number is taken in (only where the reference's
        defaults are plain numbers).

    Notes
    -----
    A ``'positive'`` parameter in units of time and a ``'nonnegative'`` one in
    units of 1/time are a neuron's time scales for the time-step check of
    :mod:`lapicque._neurons.timestep` (``tau_ref`` has its own rule there).

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> lapicque.Param(u.ms, "positive")
    Param(unit=Unit("ms"), constraint='positive', attr=None, plain_unit=None)
    """

    unit: Any
    constraint: Optional[str] = None
    attr: Optional[str] = None
    plain_unit: Any = None


class StateSpec(NamedTuple):
    """Declaration of one state variable (an entry of a class's ``_STATES``).

    Attributes
    ----------
    unit : saiunit.Unit, None or ``'any'``
        Unit the state is stored in (``None``: a plain array; ``'any'``: the
        unit its initializer gives, e.g. a synapse's conductance or current).
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


def merge_along_mro(cls, attr: str) -> Dict[str, Any]:
    """Union of the ``attr`` dicts the classes of ``cls.__mro__`` declare, bases first."""
    merged: Dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        merged.update(klass.__dict__.get(attr, {}))
    return merged


_CONSTRAINTS = {
    "positive": (lambda a: a > 0, "> 0"),
    "nonnegative": (lambda a: a >= 0, ">= 0"),
    "fraction": (lambda a: (a > 0) & (a <= 1), "in (0, 1]"),
}


def param_mantissa(owner: str, name: str, value, spec: Param, dtype=None, plain: bool = False):
    """The mantissa of ``value`` in ``spec``'s canonical unit (clear error on a wrong dimension).

    ``plain=True`` (unitless mode): ``value`` must be a plain number, taken in that unit.
    """
    if isinstance(value, brainstate.State):  # a trainable parameter
        value = value.value
    if spec.unit is ANY_UNIT or (spec.plain_unit is not None and not isinstance(value, u.Quantity)):
        arr = jnp.asarray(u.get_mantissa(value))
    else:
        arr = to_mantissa(value, spec.unit, f"parameter '{name}'", owner, plain=plain)
    if dtype is not None and not jnp.issubdtype(arr.dtype, jnp.bool_):
        arr = arr.astype(dtype)
    return arr


def draw_param(owner: str, name: str, value, shape=None):
    """``value`` broadcast to ``shape`` by :func:`braintools.init.param` (initializers are drawn here).

    A ``brainstate.State`` (e.g. a trainable ``ParamState``) is returned as it is.
    """
    if isinstance(value, brainstate.State) or shape is None:
        return value
    try:
        return braintools.init.param(value, shape)
    except (ValueError, TypeError, AssertionError) as e:
        raise ParameterError(
            f"{owner}: parameter '{name}' must be a scalar or broadcastable to the group shape {tuple(shape)}; "
            f"got {format_value(value)} ({e}).") from None


def check_param(owner: str, name: str, value, spec: Param, shape=None, plain: bool = False):
    """Validate one parameter: dimension, shape (broadcast to ``shape``), finiteness, constraint.

    Returns the value to store (broadcast by :func:`braintools.init.param` when
    ``shape`` is given, so initializers are drawn here; a ``brainstate.State``,
    e.g. a trainable ``ParamState``, is validated and kept as it is).
    ``plain=True`` (unitless mode): the value must be a plain number.
    """
    value = draw_param(owner, name, value, shape)
    state = value if isinstance(value, brainstate.State) else None
    raw = state.value if state is not None else value
    if raw is None or isinstance(raw, (str, bytes, bool)):
        raise TypeError(f"{owner}: parameter '{name}' must be a number or quantity; got {raw!r}.")
    arr = param_mantissa(owner, name, raw, spec, plain=plain)
    if shape is not None:
        try:
            ok = np.broadcast_shapes(np.shape(arr), tuple(shape)) == tuple(shape)
        except ValueError:
            ok = False
        if not ok:
            raise ParameterError(f"{owner}: parameter '{name}' has shape {np.shape(arr)}, which does not broadcast "
                                 f"to the group shape {tuple(shape)}.")
    _check_values(owner, name, raw, arr, spec)
    return raw if state is None else state


def _check_values(owner: str, name: str, raw, arr, spec: Param):
    """Finiteness and sign constraint of a concrete parameter (traced values are checked at run time)."""
    conc = concrete(arr)
    if conc is None:
        return
    if not np.all(np.isfinite(conc)):
        raise ParameterError(f"{owner}: parameter '{name}' must be finite; got {format_value(raw)}.")
    if spec.constraint is not None:
        test, words = _CONSTRAINTS[spec.constraint]
        if not np.all(test(conc)):
            raise ParameterError(f"{owner}: parameter '{name}' must be {words}; got {format_value(raw)}.")


def check_in_size(in_size, owner: str):
    """``in_size`` as an int or tuple of positive ints; clear error otherwise."""
    sizes = tuple(in_size) if isinstance(in_size, (tuple, list)) else (in_size,)
    ok = len(sizes) > 0 and all(
        isinstance(s, (numbers.Integral, np.integer)) and not isinstance(s, bool) and s > 0 for s in sizes)
    if not ok:
        raise ParameterError(
            f"{owner}: in_size must be a positive int or a non-empty tuple of positive ints; got {in_size!r}.")
    return tuple(int(s) for s in sizes) if isinstance(in_size, (tuple, list)) else int(in_size)


class Declared:
    """Mixin: parameters and states from the class's ``_PARAMS`` / ``_STATES`` tables.

    Goes before a ``brainstate`` dynamics class (it needs ``varshape``).  After
    the merge along the class hierarchy, ``_STATES`` lists the states every
    instance has and ``_STATE_TABLE`` also those that exist only ``when`` an
    attribute is true.
    """

    _PARAMS: Dict[str, Param] = {}
    _STATES: Dict[str, StateSpec] = {}
    _STATE_TABLE: Dict[str, StateSpec] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._PARAMS = merge_along_mro(cls, "_PARAMS")
        table: Dict[str, StateSpec] = {}
        for klass in reversed(cls.__mro__):
            table.update(klass.__dict__.get("_STATE_TABLE", klass.__dict__.get("_STATES", {})))
        cls._STATE_TABLE = table
        cls._STATES = {n: spec for n, spec in table.items() if spec.when is None}

    #: unitless mode (parameters and states are plain arrays in the canonical units); set by _settle_mode
    _plain = False

    @property
    def unitless(self) -> bool:
        """Whether this object runs without units (its parameters were given as plain numbers)."""
        return self._plain

    #: bookkeeping of the unit mode, not shown by ``repr`` (``unitless`` tells the mode)
    _REPR_HIDDEN = ("_plain", "_votes")

    def __pretty_repr_item__(self, name, value):
        if name in self._REPR_HIDDEN:
            return None
        return super().__pretty_repr_item__(name, value)

    # --- parameters -------------------------------------------------------
    def _set_params(self, **values):
        """Validate, broadcast to the group shape and store parameters declared in ``_PARAMS``."""
        owner, shape = type(self).__name__, tuple(self.varshape)
        drawn = {name: draw_param(owner, name, value, shape) for name, value in values.items()}
        drawn = self._settle_mode(values, drawn)
        for name, value in drawn.items():
            spec = self._PARAMS[name]
            setattr(self, spec.attr or name, check_param(owner, name, value, spec, shape, plain=self._plain))

    def _settle_mode(self, given, drawn):
        """Hook: decide the unit mode from the parameters (``given`` as passed, ``drawn`` broadcast).

        Returns the values to validate and store.  Here: quantities, always
        (``_plain`` stays False); :class:`lapicque._neurons.unit_mode.UnitMode`
        lets a neuron run on plain numbers.
        """
        return drawn

    def _is_default_init(self, attr: str) -> bool:
        """Hook: whether initializer attribute ``attr`` holds its constructor default (no vote on units)."""
        return False

    def _mantissa(self, value, unit, what: str):
        """``value`` as a mantissa in ``unit`` in this object's unit mode (clear error naming ``what``)."""
        return to_mantissa(value, unit, what, type(self).__name__, plain=self._plain)

    def _with_unit(self, arr, unit):
        """A mantissa in ``unit`` as this object shows values: a quantity, or plain in unitless mode."""
        return with_unit(arr, unit, self._plain)

    def _p(self, name):
        """Mantissa of parameter ``name`` in its canonical unit, in the float precision of the environment."""
        spec = self._PARAMS[name]
        return param_mantissa(type(self).__name__, name, getattr(self, spec.attr or name), spec,
                              dtype=brainstate.environ.dftype(), plain=self._plain)

    def _params(self) -> Dict[str, jax.Array]:
        return {name: self._p(name) for name in self._PARAMS}

    def _require(self, cond_fn, message: str, *names):
        """Cross-parameter check on concrete values (skipped when traced)."""
        vals = [concrete(self._p(n)) for n in names]
        if any(v is None for v in vals):
            return
        if not np.all(cond_fn(*vals)):
            shown = ", ".join(f"{n}={format_value(getattr(self, self._PARAMS[n].attr or n))}" for n in names)
            raise ParameterError(f"{type(self).__name__}: {message}; got {shown}.")

    def _set_initializers(self, **inits):
        for name, init in inits.items():
            if not (callable(init) or isinstance(init, (u.Quantity, numbers.Number, np.ndarray, jax.Array))):
                raise TypeError(f"{type(self).__name__}: {name} must be an initializer (e.g. "
                                f"braintools.init.Constant(0. * u.mV)) or a quantity; got {init!r}.")
            setattr(self, name, init)

    # --- states -----------------------------------------------------------
    def _state_table(self) -> Dict[str, StateSpec]:
        """The states this instance has (``when`` conditions applied), in a fixed order."""
        return {n: spec for n, spec in self._STATE_TABLE.items()
                if spec.when is None or getattr(self, spec.when, False)}

    def _init_value(self, name, spec: StateSpec, batch_size):
        """The initial value of one state: drawn, checked for its unit, broadcast, in its dtype."""
        init = getattr(self, spec.initializer) if isinstance(spec.initializer, str) else spec.initializer
        literal = isinstance(init, numbers.Number) and init is spec.initializer
        if literal and spec.unit not in (DIMENSIONLESS, ANY_UNIT) and not self._plain:
            init = u.Quantity(init, unit=spec.unit)  # a literal number in the table is in the state's unit
        shape = tuple(self.varshape) if batch_size is None else (batch_size,) + tuple(self.varshape)
        value = braintools.init.param(init, self.varshape, batch_size)
        if spec.unit is ANY_UNIT:
            value = u.math.broadcast_to(value, shape)
            if spec.dtype is not None or not jnp.issubdtype(u.math.asarray(value).dtype, jnp.floating):
                value = u.math.asarray(value, dtype=spec.dtype or brainstate.environ.dftype())
            return value
        what = f"the initial value of state '{name}'" + (
            f" ({spec.initializer})" if isinstance(spec.initializer, str) else "")
        # unitless mode: a default initializer (a quantity) is read in the state's unit like a default parameter
        by_default = literal or (isinstance(spec.initializer, str) and self._is_default_init(spec.initializer))
        plain = self._plain and not (by_default and isinstance(value, u.Quantity))
        arr = to_mantissa(value, spec.unit, what, type(self).__name__, plain=plain)
        arr = jnp.broadcast_to(arr, shape).astype(spec.dtype or brainstate.environ.dftype())
        return self._with_unit(arr, spec.unit)

    def init_state(self, batch_size: Optional[int] = None, **kwargs):
        """Create the state variables, optionally with a leading batch axis."""
        for name, spec in self._state_table().items():
            setattr(self, name, spec.kind(self._init_value(name, spec, batch_size)))

    def reset_state(self, batch_size: Optional[int] = None, **kwargs):
        """Set every state variable back to its initial value."""
        for name, spec in self._state_table().items():
            getattr(self, name).value = self._init_value(name, spec, batch_size)
