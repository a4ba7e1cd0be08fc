"""Running patterns: one compiled :func:`lapicque.simulate` run per model, dt and precision."""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from ._tables import PATTERNS, Pattern, _family, _ms, _n_steps, get

__all__ = ["PatternResult", "run", "run_all"]


@dataclasses.dataclass(eq=False)
class PatternResult:
    """A simulated pattern.

    Attributes
    ----------
    pattern : Pattern
        What was run.
    dt_ms : float
        Time step (ms).
    t : numpy.ndarray
        Sample times ``0, dt, ..., n dt`` (ms), shape ``(n + 1,)``; sample 0 is the
        initial state.
    current : numpy.ndarray
        Input of each step, shape ``(n,)``, in ``pattern.current_unit``.
    traces : dict
        State name -> samples, shape ``(n + 1,)``; in :attr:`units`.
    units : dict
        State name -> unit string (``V``, ``V_th``: mV; ``w``: pA; ``I1``, ``I2``: mA).
    spike_times : numpy.ndarray
        Spike times (ms), float64.
    precision : int
        Floating-point precision of the run (32 or 64).
    """

    pattern: Pattern
    dt_ms: float
    t: np.ndarray
    current: np.ndarray
    traces: Dict[str, np.ndarray]
    units: Dict[str, str]
    spike_times: np.ndarray
    precision: int = 32

    @property
    def V(self) -> np.ndarray:
        """Membrane potential samples (mV)."""
        return self.traces["V"]

    @property
    def n_spikes(self) -> int:
        return int(self.spike_times.size)

    def __repr__(self):
        return (f"PatternResult({self.pattern.key!r}, dt={self.dt_ms:g} ms, {self.n_spikes} spikes, "
                f"float{self.precision})")


_RECORD = {"AdExIF": ("V", "w"), "Gif": ("V", "V_th", "I1", "I2")}
_TRACE_UNITS = {"V": u.mV, "V_th": u.mV, "w": u.pA, "I1": u.mA, "I2": u.mA}


def _stack_params(patterns: Sequence[Pattern]) -> Dict[str, Any]:
    out = {}
    for name in patterns[0].params:
        unit = u.get_unit(patterns[0].params[name])
        vals = np.array([float(np.asarray(p.params[name].to_decimal(unit))) for p in patterns])
        out[name] = u.Quantity(vals, unit=unit)
    for name in patterns[0].initial:
        unit = u.get_unit(patterns[0].initial[name])
        vals = np.array([float(np.asarray(p.initial[name].to_decimal(unit))) for p in patterns])
        out[f"{name}_initializer"] = u.Quantity(vals, unit=unit)
    return out


def _batch_model(patterns: Sequence[Pattern]):
    from .. import MODELS

    kwargs = _stack_params(patterns)
    kwargs["spk_reset"] = "hard"
    return MODELS[patterns[0].model](len(patterns), **kwargs)


def _run_loop(model, I_mA: np.ndarray, dt_ms: float, record: Sequence[str]):
    """Run ``model`` over the current array ``I_mA`` (n_steps, n) with :func:`lapicque.simulate`.

    Returns the spike steps and neurons (int arrays) and the traces, shape (n_steps, n).
    """
    from .. import simulate

    n_steps = I_mA.shape[0]
    current = u.Quantity(jnp.asarray(I_mA, dtype=brainstate.environ.dftype()), unit=u.mA)
    res = simulate(model, current, n_steps * dt_ms * u.ms, dt=dt_ms * u.ms, record=tuple(record),
                   time_varying=True, progress=False)
    steps, neurons = res.spike_steps
    traces = {k: np.asarray(u.Quantity(res.traces[k]).to_decimal(_TRACE_UNITS[k])).reshape(n_steps, -1)
              for k in record}
    return (np.asarray(steps), np.asarray(neurons)), traces


@contextlib.contextmanager
def _precision(precision: Optional[int]):
    """Run in brainstate/JAX ``precision`` (32 or 64); restore both flags afterwards."""
    current = brainstate.environ.get_precision()
    if precision is None or int(precision) == int(current):
        yield
        return
    x64_before = bool(jax.config.jax_enable_x64)
    try:
        with brainstate.environ.context(precision=int(precision)):
            yield
    finally:
        jax.config.update("jax_enable_x64", x64_before)


def _current_precision() -> int:
    return 64 if np.dtype(brainstate.environ.dftype()) == np.float64 else 32


def _run_batch(patterns: Sequence[Pattern], dt_ms: float, precision: Optional[int]) -> List[PatternResult]:
    model_name = patterns[0].model
    if any(p.model != model_name for p in patterns):
        raise ValueError("patterns: one batch must use one model class.")
    record = _RECORD[model_name]
    lengths = [_n_steps(p.duration_ms, dt_ms) for p in patterns]
    n_max = max(lengths)
    scale = {"pA": 1e-9, "mA": 1.0}
    I_mA = np.zeros((n_max, len(patterns)))
    for j, p in enumerate(patterns):
        I_mA[:lengths[j], j] = p.current_array(dt_ms) * scale[p.current_unit]
    with _precision(precision):
        prec = _current_precision()
        model = _batch_model(patterns)
        with brainstate.environ.context(dt=dt_ms * u.ms):
            model.init_state()
            init = {k: np.asarray(getattr(model, k).value.to_decimal(_TRACE_UNITS[k])).reshape(-1)
                    for k in record}
        (spike_steps, spike_neurons), traces = _run_loop(model, I_mA, dt_ms, record)
    out = []
    for j, p in enumerate(patterns):
        n = lengths[j]
        steps = np.sort(spike_steps[(spike_neurons == j) & (spike_steps < n)])
        times = np.round((steps + 1.0) * dt_ms, 9)  # a start at threshold is a spike of the first step
        tr = {k: np.concatenate([[init[k][j]], traces[k][:n, j]]).astype(np.float64) for k in record}
        out.append(PatternResult(pattern=p, dt_ms=float(dt_ms), t=np.arange(n + 1) * float(dt_ms),
                                 current=p.current_array(dt_ms), traces=tr,
                                 units={k: str(_TRACE_UNITS[k]) for k in record}, spike_times=times,
                                 precision=prec))
    return out


_PRECISIONS = (None, "auto", 32, 64)


def _check_precision(patterns: Sequence[Pattern]) -> None:
    have = _current_precision()
    low = [p.key for p in patterns if p.precision > have]
    if low:
        warnings.warn(f"patterns {low} need float{max(PATTERNS[k].precision for k in low)} to show their "
                      f"behaviour but run in float{have}; pass precision='auto' (the default) or 64.",
                      UserWarning, stacklevel=4)


def _precision_of(p: Pattern, precision) -> Optional[int]:
    """The precision to switch to for ``p`` (None: keep the current one)."""
    if precision == "auto":
        return p.precision if p.precision > _current_precision() else None
    return precision


def run_all(kind: Optional[str] = None, dt=None, *, keys: Optional[Iterable[str]] = None,
            precision: Union[None, int, str] = "auto") -> Dict[str, PatternResult]:
    """Run every pattern of a family (or the given ``keys``) and return ``{key: PatternResult}``.

    Patterns with the same model, dt and precision share one compiled run of
    :func:`lapicque.simulate` (one neuron per pattern, per-neuron parameter
    arrays, zero input after a pattern's end).

    Parameters
    ----------
    kind : {'adex', 'gif'}, optional
        The family; ``None`` with ``keys`` given runs those.
    dt : Quantity or float (ms), optional
        Step for all; default: each pattern's :attr:`Pattern.dt_ms`.
    keys : iterable of str, optional
        Run only these patterns (keys, names or :class:`Pattern` objects).
    precision : 'auto', None, 32 or 64
        ``'auto'`` (default) runs each pattern in the precision it needs
        (:attr:`Pattern.precision`: panel B in float64, the others in the
        current precision); ``None`` runs everything in the current
        environment (with a warning for patterns that need more); 32/64 runs
        everything in that precision.  Switching uses
        ``brainstate.environ.context(precision=...)`` and restores JAX's
        ``jax_enable_x64`` flag afterwards, so nothing leaks into later code.
    """
    if precision not in _PRECISIONS:
        raise ValueError(f"patterns: precision must be 'auto', None, 32 or 64; got {precision!r}.")
    if keys is None:
        if kind is None:
            raise ValueError("patterns.run_all: give kind ('adex' or 'gif') or keys.")
        pats = list(_family(kind).values())
    else:
        pats = [get(k) for k in keys]
        if kind is not None:
            pats = [p for p in pats if p.family == kind]
    if precision is None:
        _check_precision(pats)
    groups: Dict[Tuple[str, float, Optional[int]], List[Pattern]] = {}
    for p in pats:
        dt_ms = p.dt_ms if dt is None else _ms(dt)
        groups.setdefault((p.model, float(dt_ms), _precision_of(p, precision)), []).append(p)
    results: Dict[str, PatternResult] = {}
    for (_, dt_ms, prec), group in groups.items():
        for r in _run_batch(group, dt_ms, prec):
            results[r.pattern.key] = r
    return {p.key: results[p.key] for p in pats}


def run(pattern: Union[str, Pattern], dt=None, *, precision: Union[None, int, str] = "auto") -> PatternResult:
    """Run one pattern (key, name or :class:`Pattern`) and return its :class:`PatternResult`.

    ``dt`` defaults to the pattern's :attr:`Pattern.dt_ms`; ``precision``
    (default ``'auto'``: the precision the pattern needs) as in :func:`run_all`.

    Examples
    --------
    >>> from lapicque import patterns
    >>> r = patterns.run("T")                       # spike latency, dt = 0.1 ms
    >>> r.spike_times, r.precision
    (array([16.5]), 32)
    """
    p = get(pattern)
    return run_all(keys=[p], dt=dt, precision=precision)[p.key]
