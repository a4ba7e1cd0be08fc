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
    ``{name: StateSpec(unit, initializer attribute)}`` -- the dynamic
    variables.  ``init_state`` / ``reset_state`` are written once here.

and implements the math once, on plain arrays in one consistent unit system
(mV, ms, mA, ohm, siemens; note 1 ohm * 1 mA = 1 mV and 1 S * 1 mV = 1 mA):

``_threshold(s, p)``   spike threshold (a parameter, or Gif's dynamic state)
``_spike_arg(s, p)``   argument of the surrogate function
``_reset(s, spk, p)``  jumps applied at the start of the step after a spike
``_step(s, I, dI, dt, p, finish_V)``  one exponential-Euler step

The update order of every model is defined in :meth:`Neuron.update`:

1. ``spk = spk_fun(spike argument of the previous state)``;
2. reset: ``V <- V - (V_th' - V_reset) * spk`` with ``V_th' = V_th`` (soft)
   or ``stop_gradient(V)`` (hard; lands exactly on ``V_reset``), plus the
   model's own jumps (``w += b``, ``a += 1``, ...);
3. one exponential-Euler step of length ``dt`` with the summed current input;
4. delta inputs are added to ``V`` (and the cut-off guard applied for the
   divergent models);
5. refractory models hold every state at its post-reset value while
   refractory (see :mod:`lapicque._refractory`);
6. the new state is stored and ``spk_fun`` of it is returned.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Dict, NamedTuple, Optional

import brainstate
import braintools
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from ._dynamics import Dynamics
from ._errors import EnvironmentNotSetError, ParameterError, StateNotInitializedError

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
    """Declaration of one model parameter.

    Attributes
    ----------
    unit : saiunit.Unit or None
        Canonical unit (the math uses mantissas in it); ``None`` for
        dimensionless parameters.
    constraint : str or None
        ``'positive'`` (> 0), ``'nonnegative'`` (>= 0) or ``None``.
    """

    unit: Any
    constraint: Optional[str] = None


class StateSpec(NamedTuple):
    """Declaration of one dynamic state variable.

    Attributes
    ----------
    unit : saiunit.Unit or None
        Unit the state is stored in.
    initializer : str
        Name of the attribute holding its initializer.
    """

    unit: Any
    initializer: str


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
def reset_potential(V, spk, V_th, V_reset, mode: str):
    """Apply the spike reset to ``V`` given the surrogate spike ``spk``.

    ``soft``: ``V - (V_th - V_reset) * spk``.
    ``hard``: ``V - (stop_gradient(V) - V_reset) * spk``; the forward value is
    then corrected (without changing gradients) so that a spiking neuron lands
    exactly on ``V_reset`` rather than within a rounding error of it.
    """
    if mode == "soft":
        return V - (V_th - V_reset) * spk
    out = V - (jax.lax.stop_gradient(V) - V_reset) * spk
    exact = jnp.where(spk > 0.5, V_reset - out, jnp.zeros_like(out))
    return out + jax.lax.stop_gradient(exact)


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

    #: parameter declarations (name -> Param); filled in by subclasses
    _PARAMS: Dict[str, Param] = {}
    #: state declarations (name -> StateSpec); filled in by subclasses
    _STATES: Dict[str, StateSpec] = {}
    #: whether the model's V diverges in finite time (ExpIF, QuaIF families):
    #: then the cut-off guard of :mod:`lapicque._integrate` applies.
    _DIVERGENT = False
    #: whether the model has the shared absolute refractory mechanism
    _REFRACTORY = False

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
    def _init_value(self, name, spec: StateSpec, batch_size):
        init = getattr(self, spec.initializer)
        value = braintools.init.param(init, self.varshape, batch_size)
        arr = _to_mantissa(value, spec.unit, f"the initial value of state '{name}' ({spec.initializer})",
                           type(self).__name__, dtype=brainstate.environ.dftype())
        shape = (self.varshape if batch_size is None else (batch_size,) + tuple(self.varshape))
        arr = jnp.broadcast_to(arr, shape)
        return arr if spec.unit is DIMENSIONLESS else u.Quantity(arr, unit=spec.unit)

    def _extra_states(self, batch_size):
        """Additional (name -> (state class, value)) pairs, e.g. refractory."""
        return {}

    def init_state(self, batch_size: Optional[int] = None, **kwargs):
        """Create the state variables, optionally with a leading batch axis.

        Parameters
        ----------
        batch_size : int, optional
            Size of a leading batch axis; ``None`` for no batch axis.
        """
        self._check_batch(batch_size)
        _check_precision(type(self).__name__)
        for name, spec in self._STATES.items():
            setattr(self, name, brainstate.HiddenState(self._init_value(name, spec, batch_size)))
        for name, (cls, value) in self._extra_states(batch_size).items():
            setattr(self, name, cls(value))

    def reset_state(self, batch_size: Optional[int] = None, **kwargs):
        """Set every state variable back to its initial value."""
        self._check_batch(batch_size)
        if not self._initialized():
            return self.init_state(batch_size)
        for name, spec in self._STATES.items():
            getattr(self, name).value = self._init_value(name, spec, batch_size)
        for name, (cls, value) in self._extra_states(batch_size).items():
            getattr(self, name).value = value

    def _state_names(self):
        """Names of every state variable this group holds, in a fixed order."""
        return tuple(self._STATES) + tuple(self._extra_states(None))

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
        return {name: getattr(self, name).value for name in self._state_names()}

    def load_state_dict(self, state: Dict[str, Any]):
        """Restore the state variables saved by :meth:`state_dict`.

        Names must match exactly; each value must have the stored variable's
        physical dimension (it is converted to the stored unit) and a shape
        equal to the current state's (when the group is initialized) or
        ``varshape`` with an optional leading batch axis.
        """
        owner = type(self).__name__
        names = set(self._state_names())
        given = set(state)
        if names != given:
            raise ValueError(
                f"{owner}.load_state_dict: state names do not match; missing {sorted(names - given)}, "
                f"unexpected {sorted(given - names)}.")
        units = {n: spec.unit for n, spec in self._STATES.items()}
        extra = self._extra_states(None)
        prepared = {}
        for name in self._state_names():
            value = state[name]
            if name in units:
                unit = units[name]
            else:
                template = extra[name][1]
                unit = u.get_unit(template) if isinstance(template, u.Quantity) else DIMENSIONLESS
            arr = _to_mantissa(value, unit, f"state '{name}'", f"{owner}.load_state_dict")
            current = getattr(self, name, None)
            if isinstance(current, brainstate.State):
                want_shape = tuple(jnp.shape(current.value))
                want_dtype = u.get_mantissa(current.value).dtype
            else:
                want_shape = None
                want_dtype = extra[name][1].dtype if name in extra else brainstate.environ.dftype()
            shape = tuple(jnp.shape(arr))
            ok_shape = (shape == want_shape) if want_shape is not None else (
                shape[-len(self.varshape):] == tuple(self.varshape) and len(shape) - len(self.varshape) in (0, 1))
            if not ok_shape:
                raise ValueError(
                    f"{owner}.load_state_dict: state '{name}' has shape {shape}; expected "
                    f"{want_shape if want_shape is not None else tuple(self.varshape)}.")
            arr = arr.astype(want_dtype)
            prepared[name] = (current, arr if unit is DIMENSIONLESS else u.Quantity(arr, unit=unit))
        # write only after every entry passed its checks: a failed load leaves the group unchanged
        for name, (current, value) in prepared.items():
            if isinstance(current, brainstate.State):
                current.value = value
            else:
                cls = extra[name][0] if name in extra else brainstate.HiddenState
                setattr(self, name, cls(value))

    def _check_batch(self, batch_size):
        if batch_size is not None and (
            not isinstance(batch_size, (numbers.Integral, np.integer)) or isinstance(batch_size, bool)
            or batch_size <= 0
        ):
            raise ParameterError(
                f"{type(self).__name__}: batch_size must be None or a positive int; got {batch_size!r}."
            )

    def _initialized(self) -> bool:
        return all(isinstance(getattr(self, n, None), brainstate.State) for n in self._STATES)

    def _read_states(self) -> Dict[str, jax.Array]:
        if not self._initialized():
            raise StateNotInitializedError(
                f"{type(self).__name__}: the state variables do not exist yet; call "
                f"`.init_state()` (or `brainstate.nn.init_all_states(model)`) before update()."
            )
        out = {}
        for name, spec in self._STATES.items():
            v = getattr(self, name).value
            out[name] = v if spec.unit is DIMENSIONLESS else _to_mantissa(v, spec.unit, name, type(self).__name__)
        return out

    def _write_states(self, s: Dict[str, jax.Array]):
        for name, spec in self._STATES.items():
            v = s[name]
            getattr(self, name).value = v if spec.unit is DIMENSIONLESS else u.Quantity(v, unit=spec.unit)

    def _has_callable_currents(self):
        return bool(self._current_inputs) and any(callable(v) for v in self._current_inputs.values())

    def _total_current(self, x, V):
        """Total input current (mA mantissa) and its derivative w.r.t. V.

        The derivative is nonzero only for callable (e.g. conductance-based)
        inputs; it enters the exponential-Euler Jacobian exactly as autodiff
        of the summed input would.
        """
        owner = type(self).__name__
        shape = jnp.shape(V)
        x_m = _to_mantissa(x, mA, "the input current x", owner)
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
        if not self._has_callable_currents():
            total = self.sum_current_inputs(u.Quantity(x_m, unit=mA))
            return _to_mantissa(total, mA, "the summed current input", owner).astype(V.dtype), None

        def current_of(v):
            total = self.sum_current_inputs(u.Quantity(x_m, unit=mA), u.Quantity(v, unit=mV))
            return _to_mantissa(total, mA, "the summed current input", owner).astype(V.dtype)

        total, dI = jax.jvp(current_of, (V,), (jnp.ones_like(V),))
        return jnp.broadcast_to(total, shape), dI

    def _apply_delta(self, V):
        if not self._delta_inputs:
            return V
        out = self.sum_delta_inputs(u.Quantity(V, unit=mV))
        return _to_mantissa(out, mV, "the summed delta input", type(self).__name__).astype(V.dtype)

    # ------------------------------------------------------------------
    # spikes
    # ------------------------------------------------------------------
    def get_spike(self, *args, **kwargs):
        """Surrogate spikes of the given (or current) state.

        The forward value is 1 where the neuron is at or above threshold and 0
        elsewhere; the backward pass uses ``spk_fun``'s surrogate derivative.
        """
        raise NotImplementedError

    def _spike_arg(self, s, p):
        """Argument of ``spk_fun``: (V - V_th) / (V_th - V_reset) by default."""
        thr = self._threshold(s, p)
        return (s["V"] - thr) / (thr - p["V_reset"])

    def _threshold(self, s, p):
        return p["V_th"]

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
        V_th = self._threshold(s, p)
        s["V"] = reset_potential(s["V"], spk, V_th, p["V_reset"], self.spk_reset)
        return s

    def _step(self, s, I, dI, dt, p, finish_V):  # pragma: no cover - abstract
        raise NotImplementedError

    def _finish_V(self, V, p):
        """Delta inputs, then (divergent models) the cut-off guard."""
        V = self._apply_delta(V)
        if self._DIVERGENT:
            # same value as minimum(V, V_th), but as a select XLA keeps the V step in one
            # kernel instead of copying it into the fusion that writes the spike record
            V = jnp.where(V >= p["V_th"], p["V_th"], V)
        return V

    def update(self, x=0. * u.mA):
        """Advance the group by one time step and return its spikes.

        Parameters
        ----------
        x : Quantity, default ``0 mA``
            External input current, a scalar or an array broadcastable to the
            state shape, in units of current.

        Returns
        -------
        jax.Array
            Surrogate spikes of the new state (forward values in {0, 1}).
        """
        s = self._read_states()
        dt = env_dt_ms()
        p = self._params()
        t = self._refractory_time()
        spk = self.spk_fun(self._spike_arg(s, p))
        s_reset = self._reset(s, spk, p)
        I, dI = self._total_current(x, s_reset["V"])
        s_new = self._step(s_reset, I, dI, dt, p, lambda V: self._finish_V(V, p))
        s_new = self._after_step(s_reset, s_new, p, dt, t)
        self._write_states(s_new)
        return self.spk_fun(self._spike_arg(s_new, p))

    # refractory hooks (no-ops here; see _refractory.Refractory)
    def _refractory_time(self):
        return None

    def _after_step(self, s_reset, s_new, p, dt, t):
        return s_new
