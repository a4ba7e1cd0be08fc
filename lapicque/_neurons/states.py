"""A neuron group's states: created from the table, read as mantissas for the step, saved and loaded.

Beside the per-neuron states of the table (``V``, ``w``, the refractory bookkeeping ...)
every group holds one group-level flag, ``started``: ``False`` after ``init_state`` /
``reset_state``, ``True`` once a step has run.  Only a stepped ``V`` at or above
threshold is a spike (of that step, reset by the next); a *starting* ``V`` there is
not, and the first step integrates from it and registers the spike then -- as Brian2
and NEST do.
"""

from __future__ import annotations

import numbers
import weakref
from typing import Any, Dict, Optional

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._core.declare import StateSpec
from .._core.errors import ParameterError, StateNotInitializedError
from .._core.units import format_value, to_mantissa
from .unit_mode import UnitMode

__all__ = ["NeuronStates", "neuron_of"]

_STATE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

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


def _check_precision(owner: str):
    """Refuse 16-bit float state (brainstate.environ precision 16 / 'bf16')."""
    dtype = np.dtype(brainstate.environ.dftype())
    if dtype not in _STATE_DTYPES:
        raise ParameterError(
            f"{owner}: lapicque needs float32 or float64 state, but the brainstate.environ precision gives "
            f"{dtype.name}. In 16-bit floats a step's increment dt * dV/dt (~0.05 mV) is below the resolution "
            f"of V near -65 mV (0.03 mV in float16, 0.25 mV in bfloat16) and is rounded away. Use "
            f"brainstate.environ.set(precision=32) (or 64 for float64).")


class NeuronStates(UnitMode):
    """Mixin of :class:`~lapicque.Neuron`: its states from the table, the ``started`` flag, state dicts."""

    def init_state(self, batch_size: Optional[int] = None, **kwargs):
        """Create the state variables, optionally with a leading batch axis.

        Parameters
        ----------
        batch_size : int, optional
            Size of a leading batch axis; ``None`` for no batch axis.
        """
        self._check_batch(batch_size)
        _check_precision(type(self).__name__)
        super().init_state(batch_size)
        self.started = brainstate.ShortTermState(jnp.asarray(False))
        self._register_V()

    def reset_state(self, batch_size: Optional[int] = None, **kwargs):
        """Set every state variable back to its initial value."""
        self._check_batch(batch_size)
        if not self._initialized():
            return self.init_state(batch_size)
        super().reset_state(batch_size)
        self._set_started(False)

    def _register_V(self):
        if isinstance(getattr(self, "V", None), brainstate.State):
            _V_OWNERS[self.V] = weakref.ref(self)

    def _check_batch(self, batch_size):
        if batch_size is not None and (
                not isinstance(batch_size, (numbers.Integral, np.integer)) or isinstance(batch_size, bool)
                or batch_size <= 0):
            raise ParameterError(
                f"{type(self).__name__}: batch_size must be None or a positive int; got {batch_size!r}.")

    def _initialized(self) -> bool:
        return all(isinstance(getattr(self, n, None), brainstate.State) for n in self._state_table())

    # --- the start --------------------------------------------------------
    def _set_started(self, value):
        """Whether ``V`` is the result of a step (then ``V >= V_th`` is that step's spike) or a starting value."""
        if isinstance(getattr(self, "started", None), brainstate.State):
            self.started.value = jnp.asarray(value, dtype=bool)
        else:
            self.started = brainstate.ShortTermState(jnp.asarray(value, dtype=bool))

    def _since_start(self, spk):
        """The spikes of the group's own current state: none before its first step."""
        started = getattr(self, "started", None)
        if not isinstance(started, brainstate.State):
            return spk
        return spk * started.value.astype(jnp.result_type(spk))

    def _mark_started(self):
        if isinstance(getattr(self, "started", None), brainstate.State):
            self.started.value = jnp.asarray(True)

    # --- mantissas for the step -------------------------------------------
    def _read_states(self) -> Dict[str, jax.Array]:
        if not self._initialized():
            raise StateNotInitializedError(
                f"{type(self).__name__}: the state variables do not exist yet; call "
                f"`.init_state()` (or `brainstate.nn.init_all_states(model)`) before update().")
        out = {}
        for name, spec in self._state_table().items():
            out[name] = self._mantissa(getattr(self, name).value, spec.unit, f"state '{name}'")
        return out

    def _write_states(self, s: Dict[str, jax.Array]):
        for name, spec in self._state_table().items():
            getattr(self, name).value = self._with_unit(s[name], spec.unit)

    def _state_value(self, name):
        st = getattr(self, name, None)
        if not isinstance(st, brainstate.State):
            raise StateNotInitializedError(
                f"{type(self).__name__}: state '{name}' does not exist yet; call `.init_state()` first.")
        return st.value

    # --- state dicts ------------------------------------------------------
    def state_names(self):
        """Names of every state variable this group holds (initialized or not), in a fixed order."""
        return tuple(self._state_table())

    def state_dict(self) -> Dict[str, Any]:
        """The group's state variables by name (quantities keep their units), then its ``started`` flag.

        Includes the refractory bookkeeping of ``*Ref`` models, so that
        :meth:`load_state_dict` resumes a simulation exactly.

        Examples
        --------
        >>> import brainstate, saiunit as u, lapicque
        >>> n = lapicque.LIF(3)
        >>> n.init_state()
        >>> sorted(n.state_dict())
        ['V', 'started']
        """
        if not self._initialized():
            raise StateNotInitializedError(
                f"{type(self).__name__}: no state to save yet; call `.init_state()` first.")
        out = {name: getattr(self, name).value for name in self.state_names()}
        started = getattr(self, "started", None)
        out["started"] = started.value if isinstance(started, brainstate.State) else jnp.asarray(True)
        return out

    def load_state_dict(self, state: Dict[str, Any]):
        """Restore the state variables saved by :meth:`state_dict`.

        Names must match exactly (``started`` may be missing: such a dict was
        saved after a step); each value must have the stored variable's
        physical dimension (it is converted to the stored unit) and a shape
        equal to the current state's (when the group is initialized) or
        ``varshape`` with an optional leading batch axis.
        """
        owner = type(self).__name__
        table = self._state_table()
        state = dict(state)
        started = self._check_started(state.pop("started", True))
        names, given = set(table), set(state)
        if names != given:
            raise ValueError(
                f"{owner}.load_state_dict: state names do not match; missing {sorted(names - given)}, "
                f"unexpected {sorted(given - names)}.")
        prepared = {name: self._prepare_loaded(name, spec, state[name]) for name, spec in table.items()}
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
                             f"{format_value(value)}.")
        return arr

    def _prepare_loaded(self, name, spec: StateSpec, value):
        """Check one loaded state against the table; return (current State or None, value)."""
        owner = type(self).__name__
        arr = to_mantissa(value, spec.unit, f"state '{name}'", f"{owner}.load_state_dict", plain=self.unitless)
        current = getattr(self, name, None)
        if isinstance(current, brainstate.State):
            want_shape = tuple(jnp.shape(current.value))
            ok_shape = tuple(jnp.shape(arr)) == want_shape
        else:
            want_shape = tuple(self.varshape)
            shape = tuple(jnp.shape(arr))
            ok_shape = shape[-len(want_shape):] == want_shape and len(shape) - len(want_shape) in (0, 1)
        if not ok_shape:
            raise ValueError(f"{owner}.load_state_dict: state '{name}' has shape {tuple(jnp.shape(arr))}; expected "
                             f"{want_shape}.")
        dtype = (u.get_mantissa(current.value).dtype if isinstance(current, brainstate.State)
                 else spec.dtype or brainstate.environ.dftype())
        arr = arr.astype(dtype)
        return current, self._with_unit(arr, spec.unit)
