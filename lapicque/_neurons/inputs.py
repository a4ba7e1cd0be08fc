"""A neuron's inputs, summed once per step: the current (with its derivative in V) and the delta inputs.

The registry itself is :class:`lapicque._core.dynamics.Dynamics`'s; this mixin turns
what projections and inputs registered into the mantissas the step needs, and refuses
a *concrete* NaN or infinity with an error naming the input (traced values inside a
compiled loop are not looked at: no cost).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._core.errors import NonFiniteInputError
from .._core.units import mA, mV, to_mantissa

__all__ = ["InputSum"]


class InputSum:
    """Mixin of :class:`~lapicque.Neuron`: the summed current and delta inputs of one step."""

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

    def _total_current(self, x, V):
        """Total input current (mA mantissa) and its derivative w.r.t. V.

        The derivative is nonzero only for callable (e.g. conductance-based)
        inputs; it enters the exponential-Euler Jacobian exactly as autodiff
        of the summed input would.  Concrete non-finite inputs are refused.
        """
        owner = type(self).__name__
        shape = jnp.shape(V)
        x_m = to_mantissa(x, mA, "the input current x", owner)
        self._refuse_nonfinite(x_m, "the input current x")
        try:
            ok = np.broadcast_shapes(jnp.shape(x_m), shape) == tuple(shape)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{owner}.update: the input current has shape {jnp.shape(x_m)}, which does not "
                             f"broadcast to the state shape {shape}.")
        if not self._current_inputs:
            return x_m.astype(V.dtype), None
        self._refuse_nonfinite_registry(self._current_inputs, "current")
        if not self._has_callable_currents():
            total = self.sum_current_inputs(u.Quantity(x_m, unit=mA))
            return to_mantissa(total, mA, "the summed current input", owner).astype(V.dtype), None

        def current_of(v):
            total = self.sum_current_inputs(u.Quantity(x_m, unit=mA), u.Quantity(v, unit=mV))
            return to_mantissa(total, mA, "the summed current input", owner).astype(V.dtype)

        total, dI = jax.jvp(current_of, (V,), (jnp.ones_like(V),))
        self._refuse_nonfinite(total, "the summed current input (with the callable inputs)")
        return jnp.broadcast_to(total, shape), dI

    def _apply_delta(self, V):
        """``V`` plus the registered delta inputs (mV mantissa); concrete non-finite ones are refused."""
        if not self._delta_inputs:
            return V
        self._refuse_nonfinite_registry(self._delta_inputs, "delta")
        owner = type(self).__name__
        try:
            out = self.sum_delta_inputs(u.Quantity(V, unit=mV))
        except jax.errors.UnexpectedTracerError:
            raise RuntimeError(
                f"{owner}.update: a delta input registered after this group's update in an earlier step of a "
                f"compiled loop is still waiting ({', '.join(map(repr, self._delta_inputs))}): in each step, update "
                f"the inputs and projections (e.g. PoissonInput) first, then {owner}.") from None
        out = to_mantissa(out, mV, "the summed delta input", owner).astype(V.dtype)
        if not isinstance(out, jax.core.Tracer) and not isinstance(V, jax.core.Tracer):
            # only where V itself was finite: an already broken state is not the input's fault
            self._refuse_nonfinite(jnp.where(jnp.isfinite(V), out, 0.), "the summed delta input")
        return out
