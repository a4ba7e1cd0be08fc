"""Independent reference solutions for the integrate-and-fire models.

Pure NumPy/SciPy: nothing here imports jax or lapicque, so these numbers can be used to
check the library without circularity.

Unit system
-----------
All quantities are plain floats in the coherent system

    voltage: mV, time: ms, current: mA, resistance: ohm, conductance: siemens,

which is consistent because 1 ohm * 1 mA = 1 mV and 1 S * 1 mV = 1 mA.  Conductance-style
parameters (C, g_L in the literature) map onto the seed form as ``tau = C / g_L`` and
``R = 1 / g_L``; helpers for that mapping are at the end of the module.

Contents
--------
* closed forms: LIF period / subthreshold trajectory / time to threshold, the QuaIF
  arctan passage time and tan trajectory, the AdEx saddle-node rheobase, the Gif panel-A
  period, and the bookkeeping of a fixed time grid (first grid step at or after a crossing,
  number of held steps of the ``t - t_last < tau_ref`` refractory rule);
* event-driven simulators built on :func:`scipy.integrate.solve_ivp` (terminal event at the
  threshold crossing, then the reset is applied and the integration restarts) for
  ExpIF/AdEx, QuaIF/AdQuaIF, LIF/ALIF and the Mihalas-Niebur Gif model, with constant or
  piecewise-constant input current;
* literature parameter tables (Naud et al. 2008 AdEx patterns, Mihalas & Niebur 2009 Gif
  behaviours) converted to the seed parametrisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from scipy.integrate import solve_ivp

__all__ = [
    # closed forms
    "lif_subthreshold", "lif_time_to_threshold", "lif_period", "lif_rate",
    "quaif_beta", "quaif_rheobase", "quaif_time_to_threshold", "quaif_trajectory",
    "adex_rheobase", "adex_rheobase_conductance", "adex_steady_state_current",
    "gif_panel_a_period", "GIF_PANEL_A_PERIOD_MS", "passage_time_quadrature",
    "grid_steps_to_cross", "refractory_held_steps", "lifref_grid_isi_steps",
    # simulators
    "HybridResult", "simulate_lif", "simulate_alif", "simulate_adex", "simulate_expif",
    "simulate_quaif", "simulate_adquaif", "simulate_gif", "current_segments",
    # parameter tables
    "conductance_to_seed", "NAUD_2008", "naud_seed_params", "GIF_COMMON", "GIF_PANELS",
    "gif_panel_params",
]

Current = Union[float, Sequence[Tuple[float, float]]]

# --------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------


def lif_subthreshold(t, V0: float, tau: float, R: float, I: float, V_rest: float):
    """V(t) of ``tau dV/dt = -(V - V_rest) + R I`` from ``V(0) = V0`` (no threshold)."""
    t = np.asarray(t, dtype=float)
    V_inf = V_rest + R * I
    return V_inf + (V0 - V_inf) * np.exp(-t / tau)


def lif_time_to_threshold(V0: float, tau: float, R: float, I: float, V_th: float,
                          V_rest: float) -> float:
    """Time for the LIF to go from ``V0`` to ``V_th`` (``inf`` if it never gets there)."""
    drive = R * I
    if drive <= V_th - V_rest:
        return math.inf
    if V0 >= V_th:
        return 0.0
    return tau * math.log((drive - (V0 - V_rest)) / (drive - (V_th - V_rest)))


def lif_period(tau: float, R: float, I: float, V_th: float, V_reset: float,
               V_rest: float, tau_ref: float = 0.0) -> float:
    """Firing period ``tau_ref + tau ln[(R I - (V_reset - V_rest)) / (R I - (V_th - V_rest))]``."""
    free = lif_time_to_threshold(V_reset, tau, R, I, V_th, V_rest)
    return tau_ref + free


def lif_rate(*args, **kwargs) -> float:
    """Firing rate in spikes per ms (``1 / lif_period``; 0 below rheobase)."""
    T = lif_period(*args, **kwargs)
    return 0.0 if math.isinf(T) else 1.0 / T


def quaif_beta(tau: float, c: float, R: float, I: float, V_rest: float, V_c: float) -> float:
    """``beta = sqrt(R I / c - delta^2)`` with ``delta = (V_c - V_rest) / 2`` (``nan`` below rheobase)."""
    delta = 0.5 * (V_c - V_rest)
    b2 = R * I / c - delta * delta
    return math.sqrt(b2) if b2 > 0 else float("nan")


def quaif_rheobase(c: float, R: float, V_rest: float, V_c: float) -> float:
    """Input current at the saddle-node: ``R I = c delta^2``."""
    delta = 0.5 * (V_c - V_rest)
    return c * delta * delta / R


def quaif_time_to_threshold(tau: float, c: float, R: float, I: float, V_rest: float,
                            V_c: float, V_reset: float, V_th: float) -> float:
    """QuaIF passage time from ``V_reset`` to ``V_th`` for suprathreshold constant input.

    ``T = tau / (c beta) * [arctan((V_th - m)/beta) - arctan((V_reset - m)/beta)]``
    with ``m = (V_rest + V_c)/2``.
    """
    beta = quaif_beta(tau, c, R, I, V_rest, V_c)
    if not beta > 0:
        return math.inf
    m = 0.5 * (V_rest + V_c)
    return tau / (c * beta) * (math.atan((V_th - m) / beta) - math.atan((V_reset - m) / beta))


def quaif_trajectory(t, V0: float, tau: float, c: float, R: float, I: float,
                     V_rest: float, V_c: float):
    """Suprathreshold QuaIF trajectory ``V(t) = m + beta tan(c beta t / tau + arctan((V0-m)/beta))``.

    Valid until the argument of ``tan`` reaches pi/2 (the finite-time blow-up).
    """
    beta = quaif_beta(tau, c, R, I, V_rest, V_c)
    if not beta > 0:
        raise ValueError("quaif_trajectory needs suprathreshold input (R I > c delta^2)")
    m = 0.5 * (V_rest + V_c)
    t = np.asarray(t, dtype=float)
    return m + beta * np.tan(c * beta * t / tau + np.arctan((V0 - m) / beta))


def adex_rheobase(R: float, a: float, V_T: float, V_rest: float, delta_T: float) -> float:
    """AdEx saddle-node rheobase in seed units (mA): ``(1/R + a)[V_T - V_rest - dT + dT ln(1 + a R)]``.

    Valid for ``-1/R < a < C / tau_w`` (C = tau / R), where the bifurcation is a saddle-node.
    """
    g_L = 1.0 / R
    return (g_L + a) * (V_T - V_rest - delta_T + delta_T * math.log1p(a / g_L))


def adex_rheobase_conductance(g_L: float, a: float, V_T: float, E_L: float,
                              delta_T: float) -> float:
    """Same formula, conductance form: any consistent units (e.g. nS, mV -> pA)."""
    return (g_L + a) * (V_T - E_L - delta_T + delta_T * math.log1p(a / g_L))


def adex_steady_state_current(V, R: float, a: float, V_T: float, V_rest: float,
                              delta_T: float):
    """Input current that makes ``V`` a fixed point of the AdEx (w at its nullcline).

    ``I(V) = (1/R + a)(V - V_rest) - (delta_T / R) exp((V - V_T)/delta_T)``; its maximum
    over V is the saddle-node rheobase.
    """
    V = np.asarray(V, dtype=float)
    return (1.0 / R + a) * (V - V_rest) - delta_T / R * np.exp((V - V_T) / delta_T)


#: Mihalas & Niebur (2009) panel A: LIF from -70 to -50 mV with R I = 30 mV, tau = 20 ms.
GIF_PANEL_A_PERIOD_MS = 20.0 * math.log(3.0)


def gif_panel_a_period(tau: float = 20.0, R: float = 20.0, I: float = 1.5,
                       V_rest: float = -70.0, V_reset: float = -70.0,
                       V_th: float = -50.0) -> float:
    """Gif period with I1 = I2 = 0 and a fixed threshold: an LIF period (``20 ln 3`` ms)."""
    return lif_period(tau, R, I, V_th, V_reset, V_rest)


def passage_time_quadrature(rhs_V: Callable[[float], float], V_from: float,
                            V_to: float) -> float:
    """``int dV / (dV/dt)`` for a one-dimensional autonomous model (rhs must stay > 0)."""
    from scipy.integrate import quad
    val, _ = quad(lambda v: 1.0 / rhs_V(v), V_from, V_to, epsabs=1e-13, epsrel=1e-13,
                  limit=200)
    return val


# --- grid bookkeeping ------------------------------------------------------------------

def grid_steps_to_cross(T: float, dt: float) -> int:
    """Index k of the first grid point ``k dt`` at or after a crossing at time ``T`` (> 0)."""
    k = math.ceil(T / dt)
    return max(int(k), 1)


def refractory_held_steps(tau_ref: float, dt: float, exact_arithmetic: bool = False) -> int:
    """Update calls after the spiking call that hold the state under ``t - t_last < tau_ref``.

    The spiking call has ``t = t_last``; call ``k`` after it has ``t - t_last = k dt``, so the
    held calls are ``k = 1 .. ceil(tau_ref/dt) - 1``.  If ``tau_ref / dt`` is (almost) an
    integer ``N`` the strict inequality gives ``N - 1`` in exact arithmetic, but a float
    comparison may give ``N``: this raises unless ``exact_arithmetic=True`` asks for the
    exact-arithmetic count.
    """
    x = tau_ref / dt
    if abs(x - round(x)) < 1e-6 and tau_ref > 0:
        if not exact_arithmetic:
            raise ValueError(f"tau_ref/dt = {x} is (almost) an integer: the held count is "
                             "float-fragile; choose another tau_ref")
        return max(int(round(x)) - 1, 0)
    return max(int(math.ceil(x)) - 1, 0)


def lifref_grid_isi_steps(T_free: float, tau_ref: float, dt: float,
                          exact_arithmetic: bool = False) -> int:
    """Steps between two spiking calls of a grid LIFRef with constant input.

    The call after a spike applies the reset; ``refractory_held_steps`` calls hold V at
    V_reset; then V integrates from V_reset and spikes on the first grid step at or after
    the free passage time ``T_free``.
    """
    return (refractory_held_steps(tau_ref, dt, exact_arithmetic)
            + grid_steps_to_cross(T_free, dt))


# --------------------------------------------------------------------------------------
# Event-driven (hybrid) simulation
# --------------------------------------------------------------------------------------


def current_segments(current: Current, t_end: Optional[float] = None
                     ) -> List[Tuple[float, float, float]]:
    """Normalise an input to ``[(t_start, t_stop, amplitude), ...]`` covering ``[0, t_end]``.

    ``current`` is a constant (then ``t_end`` is required) or a list of
    ``(amplitude, duration)`` pairs (``t_end`` then truncates; if it is longer than the
    total duration the remainder gets zero input).
    """
    if np.ndim(current) == 0:
        if t_end is None:
            raise ValueError("t_end is required for a constant current")
        return [(0.0, float(t_end), float(current))]
    segs = []
    t = 0.0
    for amp, dur in current:
        if dur <= 0:
            continue
        segs.append((t, t + float(dur), float(amp)))
        t += float(dur)
    if t_end is not None:
        t_end = float(t_end)
        out = []
        for s0, s1, amp in segs:
            if s0 >= t_end:
                break
            out.append((s0, min(s1, t_end), amp))
        if t < t_end:
            out.append((t, t_end, 0.0))
        segs = out
    return segs


@dataclass
class HybridResult:
    """Output of an event-driven run.

    ``spike_times``: spike (reset) times in ms.  ``t``: the requested sample times;
    ``states``: name -> array of the state at those times.  At a spike time the sample is
    the pre-reset value (the value on the threshold, or above it in grid mode).
    ``crossing_times``: exact threshold-crossing times (equal to ``spike_times`` unless
    ``grid_dt`` was given).
    """
    spike_times: np.ndarray
    crossing_times: np.ndarray
    t: Optional[np.ndarray] = None
    states: Dict[str, np.ndarray] = field(default_factory=dict)


def _hybrid(rhs: Callable[[float, np.ndarray, float], np.ndarray],
            y0: Sequence[float],
            segments: List[Tuple[float, float, float]],
            crossing: Callable[[np.ndarray], float],
            reset: Callable[[np.ndarray], np.ndarray],
            tau_ref: float = 0.0,
            grid_dt: Optional[float] = None,
            sample_times: Optional[np.ndarray] = None,
            method: str = "DOP853",
            rtol: float = 1e-10,
            atol: float = 1e-10,
            max_step: float = np.inf):
    """Integrate a hybrid system (ODE + threshold/reset) through piecewise-constant input.

    * ``crossing(y)`` goes through zero upwards at a spike; the terminal event stops the
      integration there, ``reset(y)`` is applied and the integration restarts.
    * ``tau_ref > 0``: after the reset the whole state is held at its post-reset value for
      ``tau_ref`` (absolute refractoriness).
    * ``grid_dt``: emulate a fixed-step simulator that checks the threshold only on the grid
      ``k * grid_dt``: the state keeps following the ODE past the crossing up to the first
      grid point at or after it, and is reset there.  Input segment boundaries must lie on
      the grid for this to be meaningful.
    """
    y = np.array(y0, dtype=float)
    t = 0.0
    t_end = segments[-1][1]
    spikes: List[float] = []
    crossings: List[float] = []
    pieces: List[Tuple[float, float, Callable]] = []
    ref_end = -math.inf
    seg = 0
    eps_t = 1e-12 * max(1.0, t_end)

    def event(_t, yy):
        return crossing(yy)

    event.terminal = True
    event.direction = 1.0

    def const_piece(yc):
        yc = yc.copy()
        return lambda ts: np.repeat(yc[:, None], np.size(ts), axis=1)

    while t < t_end - eps_t:
        while segments[seg][1] <= t + eps_t:
            seg += 1
        s0, s1, amp = segments[seg]
        if t < ref_end - eps_t:
            t1 = min(ref_end, s1)
            pieces.append((t, t1, const_piece(y)))
            t = t1
            continue
        fun = (lambda a: (lambda tt, yy: rhs(tt, yy, a)))(amp)
        sol = solve_ivp(fun, (t, s1), y, method=method, events=event, dense_output=True,
                        rtol=rtol, atol=atol, max_step=max_step)
        if sol.status == -1:
            raise RuntimeError(f"solve_ivp failed at t={t}: {sol.message}")
        if sol.status == 1 and len(sol.t_events[0]):
            t_star = float(sol.t_events[0][0])
            y_star = np.array(sol.y_events[0][0], dtype=float)
            if t_star > t:
                pieces.append((t, t_star, sol.sol))
            crossings.append(t_star)
            if grid_dt is not None:
                k = math.ceil(t_star / grid_dt - 1e-9)
                tg = k * grid_dt
                if tg > t_star:
                    if tg > s1 + 1e-9 * grid_dt:
                        raise ValueError("input segment boundaries must lie on the grid")
                    sol2 = solve_ivp(fun, (t_star, tg), y_star, method=method,
                                     dense_output=True, rtol=rtol, atol=atol,
                                     max_step=max_step)
                    pieces.append((t_star, tg, sol2.sol))
                    y_star = sol2.y[:, -1].copy()
                t_star = tg
                if crossing(y_star) < 0:  # dipped back below before the grid point
                    crossings.pop()
                    t, y = t_star, y_star
                    continue
            spikes.append(t_star)
            y = np.asarray(reset(y_star.copy()), dtype=float)
            t = t_star
            ref_end = t_star + tau_ref if tau_ref > 0 else -math.inf
        else:
            pieces.append((t, s1, sol.sol))
            y = sol.y[:, -1].copy()
            t = s1

    samples = None
    if sample_times is not None:
        ts = np.asarray(sample_times, dtype=float)
        samples = np.empty((len(y0), ts.size))
        ends = np.array([p[1] for p in pieces])
        idx = np.searchsorted(ends, ts, side="left")  # first piece with t1 >= ts
        idx = np.minimum(idx, len(pieces) - 1)
        for j in np.unique(idx):
            sel = idx == j
            samples[:, sel] = np.asarray(pieces[j][2](ts[sel])).reshape(len(y0), -1)
        zero = ts <= 0.0
        samples[:, zero] = np.asarray(y0, dtype=float)[:, None]
    return np.array(spikes), np.array(crossings), samples


def _finish(spikes, crossings, samples, sample_times, names, scales):
    res = HybridResult(spike_times=spikes, crossing_times=crossings)
    if samples is not None:
        res.t = np.asarray(sample_times, dtype=float)
        res.states = {n: samples[i] / s for i, (n, s) in enumerate(zip(names, scales))}
    return res


_SOLVER_KW = dict(method="DOP853", rtol=1e-10, atol=1e-10)


def simulate_alif(current: Current, t_end: Optional[float] = None, *, tau: float, R: float,
                  V_rest: float, V_reset: float, V_th: float, beta: float = 0.0,
                  tau_a: float = 100.0, V0: Optional[float] = None, a0: float = 0.0,
                  tau_ref: float = 0.0, grid_dt: Optional[float] = None,
                  sample_times=None, **solver_kw) -> HybridResult:
    """LIF / ALIF: ``tau dV/dt = -(V - V_rest) + R I``, ``tau_a da/dt = -a``.

    Spike when ``V >= V_th + beta a``; then ``V <- V_reset``, ``a <- a + 1``.
    States returned: ``V`` (mV), ``a`` (dimensionless).
    """
    kw = {**_SOLVER_KW, **solver_kw}
    V0 = V_rest if V0 is None else V0

    def rhs(_t, y, I):
        return np.array([(-(y[0] - V_rest) + R * I) / tau, -y[1] / tau_a])

    def crossing(y):
        return y[0] - (V_th + beta * y[1])

    def reset(y):
        return np.array([V_reset, y[1] + 1.0])

    out = _hybrid(rhs, [V0, a0], current_segments(current, t_end), crossing, reset,
                  tau_ref=tau_ref, grid_dt=grid_dt, sample_times=sample_times, **kw)
    return _finish(*out, sample_times, ("V", "a"), (1.0, 1.0))


def simulate_lif(current: Current, t_end: Optional[float] = None, *, tau: float, R: float,
                 V_rest: float, V_reset: float, V_th: float, V0: Optional[float] = None,
                 tau_ref: float = 0.0, grid_dt: Optional[float] = None, sample_times=None,
                 **solver_kw) -> HybridResult:
    """LIF / LIFRef (ALIF with ``beta = 0``)."""
    return simulate_alif(current, t_end, tau=tau, R=R, V_rest=V_rest, V_reset=V_reset,
                         V_th=V_th, beta=0.0, tau_a=1.0, V0=V0, tau_ref=tau_ref,
                         grid_dt=grid_dt, sample_times=sample_times, **solver_kw)


def _adaptive_sim(f_V, current, t_end, *, tau, R, V_rest, V_reset, V_th, a, b, tau_w, V0,
                  w0, tau_ref, grid_dt, sample_times, solver_kw):
    """Shared integrator of ``tau dV/dt = f_V(V) - R w + R I``, ``tau_w dw/dt = a(V-V_rest) - w``.

    Internally the adaptation current is carried as ``u = R w`` (mV) so that one absolute
    tolerance fits both components.
    """
    kw = {**_SOLVER_KW, **solver_kw}
    V0 = V_rest if V0 is None else V0

    def rhs(_t, y, I):
        V, uw = y
        return np.array([(f_V(V) - uw + R * I) / tau, (R * a * (V - V_rest) - uw) / tau_w])

    def crossing(y):
        return y[0] - V_th

    def reset(y):
        return np.array([V_reset, y[1] + R * b])

    out = _hybrid(rhs, [V0, R * w0], current_segments(current, t_end), crossing, reset,
                  tau_ref=tau_ref, grid_dt=grid_dt, sample_times=sample_times, **kw)
    return _finish(*out, sample_times, ("V", "w"), (1.0, R))


def simulate_adex(current: Current, t_end: Optional[float] = None, *, tau: float, R: float,
                  V_rest: float, V_reset: float, V_th: float, V_T: float, delta_T: float,
                  a: float = 0.0, b: float = 0.0, tau_w: float = 30.0,
                  V0: Optional[float] = None, w0: float = 0.0, tau_ref: float = 0.0,
                  grid_dt: Optional[float] = None, sample_times=None,
                  **solver_kw) -> HybridResult:
    """ExpIF / AdEx (seed form).

    ``tau dV/dt = -(V - V_rest) + delta_T exp((V - V_T)/delta_T) - R w + R I``,
    ``tau_w dw/dt = a (V - V_rest) - w``; at ``V = V_th`` (the numerical cut-off):
    ``V <- V_reset``, ``w <- w + b``; with ``tau_ref`` both V and w are held at their
    post-reset values for ``tau_ref``.  States returned: ``V`` (mV), ``w`` (mA).
    """
    def f_V(V):
        # the cap only guards against overflow in rejected trial steps; the event stops
        # the integration at V_th, far below it
        return -(V - V_rest) + delta_T * math.exp(min((V - V_T) / delta_T, 700.0))

    return _adaptive_sim(f_V, current, t_end, tau=tau, R=R, V_rest=V_rest, V_reset=V_reset,
                         V_th=V_th, a=a, b=b, tau_w=tau_w, V0=V0, w0=w0, tau_ref=tau_ref,
                         grid_dt=grid_dt, sample_times=sample_times, solver_kw=solver_kw)


def simulate_expif(current: Current, t_end: Optional[float] = None, **kw) -> HybridResult:
    """ExpIF / ExpIFRef = AdEx with ``a = b = 0`` and ``w = 0``."""
    kw.setdefault("a", 0.0)
    kw.setdefault("b", 0.0)
    return simulate_adex(current, t_end, **kw)


def simulate_adquaif(current: Current, t_end: Optional[float] = None, *, tau: float,
                     R: float, V_rest: float, V_reset: float, V_th: float, V_c: float,
                     c: float, a: float = 0.0, b: float = 0.0, tau_w: float = 10.0,
                     V0: Optional[float] = None, w0: float = 0.0, tau_ref: float = 0.0,
                     grid_dt: Optional[float] = None, sample_times=None,
                     **solver_kw) -> HybridResult:
    """QuaIF / AdQuaIF (seed form).

    ``tau dV/dt = c (V - V_rest)(V - V_c) - R w + R I``, ``tau_w dw/dt = a (V - V_rest) - w``;
    at ``V = V_th``: ``V <- V_reset``, ``w <- w + b``.
    """
    def f_V(V):
        return c * (V - V_rest) * (V - V_c)

    return _adaptive_sim(f_V, current, t_end, tau=tau, R=R, V_rest=V_rest, V_reset=V_reset,
                         V_th=V_th, a=a, b=b, tau_w=tau_w, V0=V0, w0=w0, tau_ref=tau_ref,
                         grid_dt=grid_dt, sample_times=sample_times, solver_kw=solver_kw)


def simulate_quaif(current: Current, t_end: Optional[float] = None, **kw) -> HybridResult:
    """QuaIF = AdQuaIF with ``a = b = 0``."""
    kw.setdefault("a", 0.0)
    kw.setdefault("b", 0.0)
    return simulate_adquaif(current, t_end, **kw)


def simulate_gif(current: Current, t_end: Optional[float] = None, *, tau: float = 20.0,
                 R: float = 20.0, V_rest: float = -70.0, V_reset: float = -70.0,
                 V_th_inf: float = -50.0, V_th_reset: float = -60.0, a: float = 0.0,
                 b: float = 0.01, k1: float = 0.2, k2: float = 0.02, R1: float = 0.0,
                 R2: float = 1.0, A1: float = 0.0, A2: float = 0.0,
                 V0: float = -70.0, V_th0: float = -50.0, I1_0: float = 0.0,
                 I2_0: float = 0.0, tau_ref: float = 0.0, grid_dt: Optional[float] = None,
                 sample_times=None, **solver_kw) -> HybridResult:
    """Mihalas-Niebur generalized IF (seed form; defaults are the paper's common values).

    ``dI1/dt = -k1 I1``, ``dI2/dt = -k2 I2``, ``tau dV/dt = -(V - V_rest) + R (I1 + I2 + I)``,
    ``dV_th/dt = a (V - V_rest) - b (V_th - V_th_inf)``.  When ``V >= V_th``:
    ``I1 <- R1 I1 + A1``, ``I2 <- R2 I2 + A2``, ``V <- V_reset``,
    ``V_th <- max(V_th_reset, V_th)``.  States returned: ``V``, ``V_th`` (mV), ``I1``,
    ``I2`` (mA).
    """
    kw = {**_SOLVER_KW, **solver_kw}

    def rhs(_t, y, I):
        V, Vth, J1, J2 = y  # J = R * I_j in mV
        return np.array([
            (-(V - V_rest) + J1 + J2 + R * I) / tau,
            a * (V - V_rest) - b * (Vth - V_th_inf),
            -k1 * J1,
            -k2 * J2,
        ])

    def crossing(y):
        return y[0] - y[1]

    def reset(y):
        return np.array([V_reset, max(V_th_reset, y[1]), R1 * y[2] + R * A1,
                         R2 * y[3] + R * A2])

    out = _hybrid(rhs, [V0, V_th0, R * I1_0, R * I2_0], current_segments(current, t_end),
                  crossing, reset, tau_ref=tau_ref, grid_dt=grid_dt,
                  sample_times=sample_times, **kw)
    return _finish(*out, sample_times, ("V", "V_th", "I1", "I2"), (1.0, 1.0, R, R))


# --------------------------------------------------------------------------------------
# Literature parameter tables (see shared/reference/ORACLES.md)
# --------------------------------------------------------------------------------------


def conductance_to_seed(C_pF: float, g_L_nS: float) -> Tuple[float, float]:
    """``(tau [ms], R [ohm])`` from a capacitance in pF and a leak conductance in nS."""
    return C_pF / g_L_nS, 1e9 / g_L_nS


#: Naud et al. (2008) AdEx firing patterns as adapted in Brian2's example:
#: (C pF, g_L nS, E_L mV, V_T mV, delta_T mV, a nS, tau_w ms, b pA, V_r mV, I pA).
#: V_peak = 0 mV, start at V = E_L, w = 0, no refractory period.
NAUD_2008 = {
    "tonic": (200, 10, -70, -50, 2, 2, 30, 0, -58, 500),
    "adaptation": (200, 12, -70, -50, 2, 2, 300, 60, -58, 500),
    "initial_burst": (130, 18, -58, -50, 2, 4, 150, 120, -50, 400),
    "regular_bursting": (200, 10, -58, -50, 2, 2, 120, 100, -46, 210),
    "delayed_accelerating": (200, 12, -70, -50, 2, -10, 300, 0, -58, 300),
    "delayed_regular_bursting": (100, 10, -65, -50, 2, -10, 90, 30, -47, 110),
    "transient": (100, 10, -65, -50, 2, 10, 90, 100, -47, 180),
    "irregular": (100, 12, -60, -50, 2, -11, 130, 30, -48, 160),
}
NAUD_V_PEAK_MV = 0.0


def naud_seed_params(name: str) -> Dict[str, float]:
    """Seed-form AdEx parameters (mV, ms, ohm, S, mA) and input ``I`` for a Naud pattern."""
    C, gL, EL, VT, dT, a, tau_w, b, Vr, I = NAUD_2008[name]
    tau, R = conductance_to_seed(C, gL)
    return dict(tau=tau, R=R, V_rest=float(EL), V_reset=float(Vr), V_th=NAUD_V_PEAK_MV,
                V_T=float(VT), delta_T=float(dT), a=a * 1e-9, b=b * 1e-9,
                tau_w=float(tau_w), V0=float(EL), w0=0.0, I=I * 1e-9)


#: Mihalas & Niebur (2009) common parameters in seed units (R in ohm, rates in 1/ms);
#: with tau = 20 ms and R = 20 ohm, 1 V/s of "I/C" is 1 mA.
GIF_COMMON = dict(tau=20.0, R=20.0, V_rest=-70.0, V_reset=-70.0, V_th_inf=-50.0,
                  V_th_reset=-60.0, b=0.01, k1=0.2, k2=0.02, R1=0.0, R2=1.0)

#: panel -> (a [1/s], A1/C [V/s], A2/C [V/s], input [mA or list of (mA, s)], length s)
GIF_PANELS = {
    "A": (0, 0, 0, 1.5, 0.2),
    "B": (0, 0, 0, 1 + 1e-6, 0.5),
    "C": (5, 0, 0, 2.0, 0.2),
    "D": (5, 0, 0, 1.5, 0.5),
    "E": (5, 0, 0, [(1.5, .1), (0, .5), (0.5, .1), (1, .1), (1.5, .1), (0, .1)], 1.0),
    "F": (5, 0, 0, [(1.5, .02), (0, .18), (-1.5, .025), (0, .025), (1.5, .025),
                    (0, .125)], 0.4),
    "G": (5, 0, 0, [(0, .05), (-3.5, .756), (0, .194)], 1.0),
    "K": (30, 0, 0, -1.0, 0.4),
    "M": (5, 10, -0.6, 2.0, 0.5),
    "N": (5, 10, -0.6, 1.5, 0.5),
    "P": (5, 5, -0.3, 2.0, 0.5),
    "Q": (5, 5, -0.3, [(2.0, .015), (0, .185)], 0.2),
}


def gif_panel_params(panel: str):
    """``(params, current, t_end_ms)`` for a Mihalas-Niebur panel in seed units.

    ``current`` is a constant in mA or a list of ``(mA, ms)`` pairs.
    """
    a, A1, A2, inp, length = GIF_PANELS[panel]
    p = dict(GIF_COMMON, a=a * 1e-3, A1=float(A1), A2=float(A2))
    if np.ndim(inp) == 0:
        cur = float(inp)
    else:
        cur = [(float(amp), dur * 1e3) for amp, dur in inp]
    return p, cur, length * 1e3
