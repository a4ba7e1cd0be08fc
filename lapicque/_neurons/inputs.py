"""A neuron's inputs, summed once per step: the current (with its derivative in V) and the delta inputs.

The registry itself is :class:`lapicque._core.dynamics.Dynamics`'s; this mixin turns
what projections and inputs registered into the mantissas the step needs, and refuses
a *concrete* NaN or infinity with an error naming the input (traced values inside a
compiled loop are not looked at: no cost).

The units are the model's, declared as two class attributes (data, like ``_PARAMS``):

``_INPUT_UNIT``
    unit of ``x`` and of every current input: mA for most models, mV/ms for the
    Izhikevich model (the units of ``dV/dt``), ``None`` (a plain number) for the
    dimensionless FitzHugh-Nagumo and Hindmarsh-Rose models;
``_V_UNIT``
    unit of ``V``, of the delta inputs added to it and of the ``V`` handed to a
    callable input (mV, or ``None``).

In unitless mode (:mod:`lapicque._neurons.unit_mode`) every one of them is a plain
number read in these units.
"""

from __future__ import annotations

import contextlib
import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._core.errors import NonFiniteInputError
from .._core.units import DIMENSIONLESS, describe_plain, describe_unit, kind_of, mA, mV

__all__ = ["InputSum"]


@functools.lru_cache(maxsize=None)
def _default_input(cls):
    """The default ``x`` of ``cls.update`` (compared by identity: the one input a unitless model reads as 0)."""
    p = inspect.signature(cls.update).parameters.get("x")
    return None if p is None else p.default


class InputSum:
    """Mixin of :class:`~lapicque.Neuron`: the summed current and delta inputs of one step."""

    #: unit of the input ``x`` and of the current inputs (None: a plain number)
    _INPUT_UNIT = mA
    #: unit of ``V`` and of the delta inputs (None: a plain number)
    _V_UNIT = mV

    @property
    def input_unit(self):
        """Unit of the input ``x`` of :meth:`update` (a current for most models; ``None``: a plain number)."""
        return self._INPUT_UNIT

    def _has_callable_currents(self):
        return bool(self._current_inputs) and any(callable(v) for v in self._current_inputs.values())

    def _refuse_nonfinite(self, value, what: str):
        """Raise :class:`NonFiniteInputError` if a *concrete* input holds NaN or inf."""
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

    def _input_words(self) -> str:
        """'the input current x' where the input is a current, else 'the input x'."""
        kind = None if self._INPUT_UNIT is DIMENSIONLESS else kind_of(self._INPUT_UNIT)
        return "the input current x" if kind == "current" else "the input x"

    @contextlib.contextmanager
    def _unit_errors(self, kind: str):
        """A registered input of the wrong dimension: a TypeError that names the model and the unit expected."""
        try:
            yield
        except u.UnitMismatchError as e:
            unit = self._INPUT_UNIT if kind == "current" else self._V_UNIT
            words = describe_plain(unit) if self.unitless else describe_unit(unit)
            raise TypeError(f"{type(self).__name__}: a {kind} input has the wrong dimension; {kind} inputs of this "
                            f"model must be {words} ({e}).") from None

    def _input_of(self, x, shape):
        """The mantissa of the input ``x`` (the default ``x`` of a unitless model is 0), checked."""
        what = self._input_words()
        if self.unitless and x is _default_input(type(self)):
            x = 0.
        x_m = self._mantissa(x, self._INPUT_UNIT, what)
        self._refuse_nonfinite(x_m, what)
        try:
            ok = np.broadcast_shapes(jnp.shape(x_m), shape) == tuple(shape)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{type(self).__name__}.update: {what} has shape {jnp.shape(x_m)}, which does not "
                             f"broadcast to the state shape {shape}.")
        return x_m

    def _total_current(self, x, V):
        """Total input (mantissa in ``_INPUT_UNIT``) and its derivative w.r.t. V.

        The derivative is nonzero only for callable (e.g. conductance-based)
        inputs; it enters the exponential-Euler Jacobian exactly as autodiff
        of the summed input would.  Concrete non-finite inputs are refused.
        """
        shape = jnp.shape(V)
        x_m = self._input_of(x, shape)
        if not self._current_inputs:
            return x_m.astype(V.dtype), None
        self._refuse_nonfinite_registry(self._current_inputs, "current")

        def total_of(v):
            args = () if v is None else (self._with_unit(v, self._V_UNIT),)
            with self._unit_errors("current"):
                total = self.sum_current_inputs(self._with_unit(x_m, self._INPUT_UNIT), *args)
            return self._mantissa(total, self._INPUT_UNIT, "the summed current input").astype(V.dtype)

        if not self._has_callable_currents():
            return jnp.broadcast_to(total_of(None), shape), None
        total, dI = jax.jvp(total_of, (V,), (jnp.ones_like(V),))
        self._refuse_nonfinite(total, "the summed current input (with the callable inputs)")
        return jnp.broadcast_to(total, shape), dI

    def _apply_delta(self, V):
        """``V`` plus the registered delta inputs (mantissa in ``_V_UNIT``); concrete non-finite ones are refused."""
        if not self._delta_inputs:
            return V
        self._refuse_nonfinite_registry(self._delta_inputs, "delta")
        owner = type(self).__name__
        try:
            with self._unit_errors("delta"):
                out = self.sum_delta_inputs(self._with_unit(V, self._V_UNIT))
        except jax.errors.UnexpectedTracerError:
            raise RuntimeError(
                f"{owner}.update: a delta input registered after this group's update in an earlier step of a "
                f"compiled loop is still waiting ({', '.join(map(repr, self._delta_inputs))}): in each step, update "
                f"the inputs and projections (e.g. PoissonInput) first, then {owner}.") from None
        out = self._mantissa(out, self._V_UNIT, "the summed delta input").astype(V.dtype)
        if not isinstance(out, jax.core.Tracer) and not isinstance(V, jax.core.Tracer):
            # only where V itself was finite: an already broken state is not the input's fault
            self._refuse_nonfinite(jnp.where(jnp.isfinite(V), out, 0.), "the summed delta input")
        return out
