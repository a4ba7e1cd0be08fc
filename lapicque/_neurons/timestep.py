r"""Is the time step fine enough for the model?  The rule behind :class:`CoarseTimeStepWarning`.

Rule
----
lapicque integrates every model with exponential Euler, exact for the linear
models with input held over the step; the step is still a sampling of time:
spikes are registered on the grid, so rates are capped at :math:`1/\Delta t`
and an input that changes within a step is seen once.  ``update`` therefore
warns, once per model and ``dt``, when

1. :math:`\Delta t > \tau_\mathrm{min} / 10`, where :math:`\tau_\mathrm{min}`
   is the model's fastest time scale: the smallest of its time constants
   (every ``'positive'`` parameter in units of time, e.g. ``tau``, ``tau_a``,
   ``tau_w``) and of the inverse rates (every ``'nonnegative'`` parameter in
   units of 1/time, e.g. Gif's ``k1``, ``k2``, ``b``), over all neurons; or
2. ``tau_ref`` is not a whole number of steps (beyond the
   :data:`~lapicque._neurons.refractory.STEP_TOLERANCE` of ``1e-3`` steps): the
   refractory period is then rounded up to whole steps (a ``tau_ref`` of
   2 ms at ``dt = 0.3`` ms lasts 2.1 ms).

The check runs on concrete values only (``dt`` from
:mod:`brainstate.environ` is concrete even inside ``jit``; traced parameters
are skipped) and adds nothing to the compiled step.

Examples
--------
>>> import warnings, brainstate, saiunit as u, lapicque
>>> lif = lapicque.LIF(1, tau=5 * u.ms)
>>> lif.init_state()
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     with brainstate.environ.context(dt=1. * u.ms):
...         _ = lif.update(0. * u.mA)
>>> [type(w.message).__name__ for w in caught]
['CoarseTimeStepWarning']
"""

from __future__ import annotations

import warnings
import weakref
from typing import List, Optional

import jax
import numpy as np
import saiunit as u

from .._core.errors import CoarseTimeStepWarning

__all__ = ["check_time_step", "coarse_time_step_reasons", "RESOLUTION", "CoarseTimeStepWarning"]

#: ``dt`` must not exceed the fastest time scale divided by this
RESOLUTION = 10.0
#: tolerance (in steps) on ``tau_ref / dt`` being whole (as in the refractory rule)
STEP_TOLERANCE = 1e-3

# model -> set of dt values (ms) already checked; weak, so a deleted model is freed
_CHECKED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _concrete_ms(model, name) -> Optional[np.ndarray]:
    try:
        with jax.ensure_compile_time_eval():  # constants stay concrete inside a jit trace
            value = model._p(name)
    except Exception:  # noqa: BLE001 - a parameter that cannot be read is not checked here
        return None
    if isinstance(value, jax.core.Tracer):
        return None
    return np.asarray(value, dtype=np.float64)


def _time_scales(model):
    """(label, fastest value in ms) of every time scale the model declares."""
    out = []
    for name, spec in getattr(model, "_PARAMS", {}).items():
        if name == "tau_ref" or spec.unit is None:
            continue
        is_time = spec.constraint == "positive" and u.have_same_dim(1. * spec.unit, u.ms)
        is_rate = spec.constraint == "nonnegative" and u.have_same_dim(1. * spec.unit, 1. / u.ms)
        if not (is_time or is_rate):
            continue
        vals = _concrete_ms(model, name)
        if vals is None:
            continue
        if is_rate:
            vals = vals[vals > 0]
            vals = 1.0 / vals if vals.size else vals
        if vals.size:
            out.append((f"1/{name}" if is_rate else name, float(np.min(vals))))
    return out


#: relative slack of the comparison: parameters held in float32 are off their decimal by up to 6e-8
FLOAT32_SLACK = 1e-6


def coarse_time_step_reasons(model, dt_ms: float) -> List[str]:
    """Why ``dt_ms`` is coarse for ``model`` (an empty list when it is not)."""
    reasons = []
    for what, tau in _time_scales(model):
        limit = tau / RESOLUTION
        if dt_ms > limit * (1. + FLOAT32_SLACK):  # 1/k1 for k1 = 0.1/ms in float32 is 9.9999998 ms, not above 10
            reasons.append(f"dt = {dt_ms:g} ms is more than {what} / {RESOLUTION:g} = {limit:.4g} ms")
    if "tau_ref" in getattr(model, "_PARAMS", {}):
        ref = _concrete_ms(model, "tau_ref")
        if ref is not None:
            steps = ref / dt_ms
            # relative slack for the float32 rounding of tau_ref itself (at very fine dt)
            off = np.abs(steps - np.round(steps)) > np.maximum(STEP_TOLERANCE, 1e-6 * steps)
            if np.any(off):
                r = float(np.ravel(ref)[np.argmax(np.ravel(off))])
                reasons.append(f"tau_ref = {r:g} ms is {r / dt_ms:.4g} steps of dt = {dt_ms:g} ms, not a whole "
                               f"number (the refractory period is rounded up to whole steps)")
    return reasons


def check_time_step(model, dt_ms) -> None:
    """Warn with :class:`CoarseTimeStepWarning` once per ``model`` and ``dt`` if the rule above fails.

    Parameters
    ----------
    model : Neuron
        The model (its ``_PARAMS`` declare the time scales).
    dt_ms : float or array
        The step in ms; nothing is checked when it is traced.
    """
    if isinstance(dt_ms, jax.core.Tracer):
        return
    dt = float(np.asarray(dt_ms))
    try:
        seen = _CHECKED.setdefault(model, set())
    except TypeError:  # not weak-referenceable: check every time
        seen = set()
    if dt in seen:
        return
    seen.add(dt)
    reasons = coarse_time_step_reasons(model, dt)
    if reasons:
        warnings.warn(
            f"{type(model).__name__}: the time step is coarse for this model: " + "; ".join(reasons)
            + ". Spikes are registered on the time grid (rates are capped at 1/dt); use a smaller dt, e.g. "
              "brainstate.environ.set(dt=...), or filter lapicque.CoarseTimeStepWarning.",
            CoarseTimeStepWarning, stacklevel=3)
